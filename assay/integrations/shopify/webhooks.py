from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def shopify_webhook(request: HttpRequest, brand: str) -> HttpResponse:
    return HttpResponse(status=501)
