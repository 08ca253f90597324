"""The JSON API at /api/v1/: bearer-token auth, brand-scoped, errors as {"detail": "..."}."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from assay.api.auth import TokenAuth
from assay.api.orders import router as orders_router
from assay.api.products import router as products_router
from assay.api.webhook_events import router as webhook_events_router
from assay.core.errors import DomainError

api = NinjaAPI(
    title="Assay API",
    version="1.0.0",
    description=(
        "Post-purchase operations for fine-jewellery brands. Authenticate with `Authorization: Bearer <token>`."
    ),
    auth=TokenAuth(),
    urls_namespace="api-v1",
)


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return api.create_response(request, {"detail": exc.message}, status=exc.status_code)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(request, {"detail": "a valid bearer token is required"}, status=401)


@api.exception_handler(NinjaValidationError)
def _invalid(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    parts = []
    for err in exc.errors[:10]:
        where = ".".join(str(p) for p in err.get("loc", []) if p not in ("body", "query", "path"))
        parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else str(err.get("msg", "invalid")))
    return api.create_response(request, {"detail": "; ".join(parts) or "invalid request"}, status=422)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc)}, status=exc.status_code)


api.add_router("/orders", orders_router, tags=["orders"])
api.add_router("/products", products_router, tags=["products"])
api.add_router("/webhook-events", webhook_events_router, tags=["webhook events"])
