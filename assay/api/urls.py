"""The JSON API at /api/v1/: bearer-token auth, brand-scoped, errors as {"detail": "..."}."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.urls import URLPattern, URLResolver, re_path
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from assay.api.auth import TokenAuth
from assay.api.credit import router as credit_router
from assay.api.orders import router as orders_router
from assay.api.policies import router as policies_router
from assay.api.portal import router as portal_router
from assay.api.products import router as products_router
from assay.api.returns import router as returns_router
from assay.api.webhook_events import router as webhook_events_router
from assay.core.errors import DomainError

View = Callable[..., HttpResponseBase]


def _json_method_not_allowed(view: View, *, only: set[str] | None = None) -> View:
    """Answer an undeclared method with 405 and {"detail": ...} (ninja's own 405 is plain text).

    `only` restricts a view that would otherwise answer any method (the schema and docs pages).
    """

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if only is not None and request.method not in only:
            allowed = ", ".join(sorted(only))
        else:
            response = view(request, *args, **kwargs)
            if response.status_code != 405 or response.get("Content-Type", "").startswith("application/json"):
                return response
            allowed = response.get("Allow", "")
        answer = JsonResponse(
            {"detail": f"method {request.method} is not allowed on {request.path}; allowed: {allowed}"}, status=405
        )
        answer["Allow"] = allowed
        return answer

    wrapped.csrf_exempt = True  # type: ignore[attr-defined]  # bearer tokens, not cookies
    return wrapped


def _no_such_path(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    return JsonResponse({"detail": f"no API endpoint at {request.path}; see /api/v1/docs"}, status=404)


_no_such_path.csrf_exempt = True  # type: ignore[attr-defined]


class AssayAPI(NinjaAPI):
    """NinjaAPI whose every answer under /api/v1/ is JSON: 405 and unknown paths included."""

    @property
    def urls(self) -> tuple[list[URLResolver | URLPattern], str, str]:
        patterns, app_name, namespace = super().urls
        for pattern in patterns:
            if not isinstance(pattern, URLPattern):
                continue
            if pattern.name == "api-root":
                # Kept by name: ninja reverses it to learn the API's prefix.
                pattern.callback = _no_such_path
            elif pattern.name in ("openapi-json", "openapi-view"):
                pattern.callback = _json_method_not_allowed(pattern.callback, only={"GET", "HEAD"})
            else:
                pattern.callback = _json_method_not_allowed(pattern.callback)
        patterns.append(re_path(r"^.*$", _no_such_path, name="not-found"))
        return patterns, app_name, namespace


api = AssayAPI(
    title="Assay API",
    version="1.0.0",
    description=(
        "Post-purchase operations for fine-jewellery brands. Authenticate with `Authorization: Bearer <token>`; "
        "every call acts for the token's brand, and another brand's object answers 404 as if it did not exist. "
        'Lists answer `{"items": [...], "count": N}` with `limit` (1-200, default 50) and `offset`. '
        'Errors answer `{"detail": "..."}` with a 4xx status. Money is a decimal string in the currency\'s minor '
        "units."
    ),
    auth=TokenAuth(),
    urls_namespace="api-v1",
)


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return api.create_response(request, {"detail": exc.message}, status=exc.status_code)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = api.create_response(request, {"detail": "a valid bearer token is required"}, status=401)
    response["WWW-Authenticate"] = 'Bearer realm="assay"'
    return response


@api.exception_handler(NinjaValidationError)
def _invalid(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    parts = []
    for err in exc.errors[:10]:
        where = ".".join(str(p) for p in err.get("loc", []) if p not in ("body", "query", "path", "filters"))
        message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return api.create_response(request, {"detail": "; ".join(parts) or "invalid request"}, status=422)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc)}, status=exc.status_code)


api.add_router("/orders", orders_router, tags=["orders"])
api.add_router("/products", products_router, tags=["products"])
api.add_router("/webhook-events", webhook_events_router, tags=["webhook events"])
api.add_router("/returns", returns_router, tags=["returns"])
api.add_router("/policy", policies_router, tags=["return policy"])
api.add_router("/portal", portal_router, tags=["shopper portal"])
api.add_router("/store-credit", credit_router, tags=["store credit"])
