"""The `Idempotency-Key` header: a retry of a mutating call gets the first call's answer, byte for byte.

Usage, below the router's decorator:

    @router.post("/{rma}/approve", response={200: ReturnDetailOut, **ERRORS})
    @idempotent()
    def approve(request, rma: str, body: ApproveIn) -> dict: ...

    @idempotent(scope=lambda request: f"portal:{request.auth.order_id}")   # another kind of caller

Rules (also in the header's OpenAPI description):
- no header: the call runs as usual, nothing is remembered;
- first use of a key: the call runs in one transaction with the key's row; its answer (a success or a
  refusal such as 404/409/422 raised by the domain) is stored with the request's fingerprint;
- the same key again with the same method, path and body (JSON compared canonically): the stored
  status and body are answered again, with `Idempotent-Replayed: true`, and nothing runs twice;
- the same key with another request: 409, saying so;
- a concurrent duplicate waits for the first to finish, then gets its answer;
- requests that never started (bad token, invalid body) or crashed are not remembered;
- keys are forgotten after 24 hours.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from ninja import Header, Status
from ninja.operation import Operation, ResponseObject
from ninja.responses import NinjaJSONEncoder
from ninja.utils import contribute_operation_args, contribute_operation_callback

from assay.api.auth import caller
from assay.core.errors import DomainError
from assay.core.idempotency import (
    KEY_PATTERN,
    MAX_KEY_LENGTH,
    body_fingerprint,
    idempotency_claim,
    idempotency_complete,
    idempotency_key_clean,
)

View = TypeVar("View", bound=Callable[..., Any])
Scope = Callable[[HttpRequest], str]

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_ARG = "idempotency_key"
HEADER_DESCRIPTION = (
    "Optional. A unique string per intended change (a UUID is ideal), up to 255 printable ASCII characters. "
    "Retrying with the same key and the same request returns the first answer (same status and body, with "
    "`Idempotent-Replayed: true`) without doing anything twice; the same key with a different request "
    "answers 409. Keys are remembered for 24 hours."
)


def api_token_scope(request: HttpRequest) -> str:
    """Keys of staff API clients are shared by the brand's tokens, so a retry after rotating a token still
    finds its answer, and never seen by another brand."""
    return f"api:{caller(request).brand_id}"


def idempotent(*, scope: Scope = api_token_scope) -> Callable[[View], View]:
    """Honour the `Idempotency-Key` header on a django-ninja operation (see the module's docstring)."""

    def decorate(view: View) -> View:
        source = Header(
            None, alias=HEADER, description=HEADER_DESCRIPTION, max_length=MAX_KEY_LENGTH, pattern=KEY_PATTERN
        )
        contribute_operation_args(view, _ARG, cast("type[Any]", str | None), source)
        # Installed once ninja has read the view's signature (from the view's own module, so its
        # annotations resolve), by swapping the operation's callable rather than wrapping the function.
        contribute_operation_callback(view, lambda operation: _install(operation, scope))
        return view

    return decorate


def _install(operation: Operation, scope: Scope) -> None:
    view = operation.view_func

    def run(request: HttpRequest, **values: Any) -> Any:
        raw = values.pop(_ARG, None)
        if not raw:
            return view(request, **values)
        try:
            return _run_once(operation, view, scope, idempotency_key_clean(raw), request, values)
        except DomainError as exc:  # a bad or reused key: answered, never remembered
            return _answer(exc.status_code, _dumps({"detail": exc.message}), replayed=False)

    run.__name__ = getattr(view, "__name__", "view")
    run.__doc__ = view.__doc__
    operation.view_func = run


def _run_once(
    operation: Operation, view: Callable[..., Any], scope: Scope, key: str, request: HttpRequest, values: Any
) -> HttpResponse:
    with transaction.atomic():
        claim = idempotency_claim(
            scope=scope(request),
            key=key,
            method=request.method or "POST",
            path=request.path,
            fingerprint=body_fingerprint(request.body),
        )
        if claim.record is None:
            return _answer(claim.replay_status, claim.replay_body, replayed=True)
        try:
            # A savepoint: a refusal keeps the key's row (and its answer) but none of the work.
            with transaction.atomic():
                status, body = _render(operation, request, view(request, **values))
        except DomainError as exc:
            status, body = exc.status_code, _dumps({"detail": exc.message})
        idempotency_complete(record=claim.record, status=status, body=body)
    return _answer(status, body, replayed=False)


def _render(operation: Operation, request: HttpRequest, result: Any) -> tuple[int, str]:
    """The status and JSON text ninja itself would answer for `result` (Operation._result_to_response)."""
    status = next(iter(operation.response_models)) if len(operation.response_models) == 1 else 200
    if isinstance(result, Status):
        status, result = result.status_code, result.value
    model = operation.response_models.get(status)
    if model is None:
        raise TypeError(f"{operation.view_func.__name__} answered {status}, which its response schemas do not declare")
    context = {"request": request, "response_status": status}
    validated = model.model_validate(ResponseObject(result), context=context)
    data = validated.model_dump(
        by_alias=operation.by_alias,
        exclude_unset=operation.exclude_unset,
        exclude_defaults=operation.exclude_defaults,
        exclude_none=operation.exclude_none,
        context=context,
    )["response"]
    return status, _dumps(data)


def _dumps(data: Any) -> str:
    return json.dumps(data, cls=NinjaJSONEncoder)


def _answer(status: int, body: str, *, replayed: bool) -> HttpResponse:
    response = HttpResponse(body, status=status, content_type="application/json; charset=utf-8")
    if replayed:
        response[REPLAYED_HEADER] = "true"
    return response
