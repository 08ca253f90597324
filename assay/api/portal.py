"""The shopper portal's API, for headless storefronts: look an order up by number + e-mail, start a
return with the short-lived portal token that the lookup answers, and follow it.

No staff API token here: the lookup is public (and rate-limited), the other calls carry the portal
token, which is scoped to the one order that was proved.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.http import HttpRequest, JsonResponse
from ninja import Field, Header, Router, Schema, Status
from ninja.security import HttpBearer
from pydantic import BaseModel

from assay.api.idempotency import idempotent
from assay.api.schemas import MONEY, ErrorOut, decimal_text
from assay.core.audit import Actor
from assay.core.errors import InvalidInput, NotFound
from assay.core.money import money_string
from assay.orders.selectors import PortalOrder
from assay.policies.decision import OrderDecision
from assay.policies.facts import OrderFacts
from assay.resolutions.selectors import shopper_outcome
from assay.resolutions.services import resolutions_due
from assay.returns.exchanges import line_exchange_choices
from assay.returns.portal_access import (
    OrderGrant,
    TooManyAttempts,
    brand_id_for_slug,
    client_address,
    only_brand_id,
    order_token_issue,
    order_token_read,
    portal_lookup_eligibility,
)
from assay.returns.selectors import ReturnSummary, return_for_rma, return_timeline
from assay.returns.services import return_request_cancel, return_request_create
from assay.returns.types import ReturnLineRequest

Reason = Literal[
    "size_too_small", "size_too_large", "not_as_described", "damaged", "changed_mind", "style", "arrived_late", "other"
]
ResolutionCode = Literal["refund", "store_credit", "exchange"]
ExchangeKindCode = Literal["size", "variant", "product"]
MethodCode = Literal["mail", "drop_off", "in_store"]


class PortalToken(HttpBearer):
    """The token POST /portal/lookup answers: `Authorization: Bearer <token>`, one order, 30 minutes."""

    def authenticate(self, request: HttpRequest, token: str) -> OrderGrant:
        return order_token_read(token)  # PortalTokenInvalid answers 401 with why


router = Router()


def grant(request: HttpRequest) -> OrderGrant:
    auth = getattr(request, "auth", None)
    if not isinstance(auth, OrderGrant):  # pragma: no cover - ninja runs PortalToken first
        raise TypeError("the operation ran without PortalToken")
    return auth


# --- schemas -----------------------------------------------------------------------------------


class LookupIn(Schema):
    order_number: str = Field(..., max_length=64, description="as on the order confirmation, with or without '#'")
    email: str = Field(..., max_length=254, description="the e-mail address the order was placed with, any case")
    brand: str | None = Field(
        None,
        max_length=50,
        description="the brand's slug (as in /returns/<brand>/); may instead come in the X-Assay-Brand header, and "
        "may be left out altogether where Assay serves a single brand",
    )


# The lookup's answer schemas are plain pydantic models: ninja's Schema wraps every nested object
# in its ORM getter while validating the response, a tenth of a lookup's Python for dicts that
# need none of it. The OpenAPI document is the same either way.
class EligibilityOut(BaseModel):
    eligible: bool
    reason: str = Field(description="in the shopper's words: why not, or the terms")
    resolutions: list[ResolutionCode] = Field(description="what the shopper may choose; empty when not eligible")
    exchange_kinds: list[ExchangeKindCode] = Field(description="for an exchange: size, variant and/or product")
    methods: list[MethodCode] = Field(description="how the item may travel back")
    refund_until: datetime | None
    exchange_until: datetime | None


class LookupLineOut(BaseModel):
    id: int = Field(description="the order line's id: `line_id` when starting a return")
    sku: str
    title: str
    variant_title: str
    quantity: int = Field(description="units bought")
    returnable_quantity: int = Field(description="units not yet part of a return")
    personalised: bool = Field(description="engraved or made to the customer's specification")
    eligibility: EligibilityOut


class LookupOrderOut(BaseModel):
    number: str
    currency: str
    placed_at: datetime
    lines: list[LookupLineOut]


class LookupOut(BaseModel):
    token: str = Field(description="send as `Authorization: Bearer <token>`; valid for this order only")
    expires_at: datetime = Field(description="30 minutes after the lookup; then look the order up again")
    order: LookupOrderOut


class ReturnLineIn(Schema):
    line_id: int = Field(..., description="an `id` from the lookup's lines")
    quantity: int = Field(1, ge=1, le=10_000)
    reason: Reason
    resolution: ResolutionCode
    exchange_sku: str = Field(
        "",
        max_length=100,
        description="for an exchange: the SKU wanted (another ring size of the same piece, another variant, or "
        "another piece)",
    )
    exchange_kind: ExchangeKindCode | None = Field(
        None, description="optional: size, variant or product; found from `exchange_sku` when left out"
    )
    size_wanted: Decimal | None = Field(
        None, gt=0, lt=20, description="US ring size; for a size exchange it may replace `exchange_sku`"
    )
    comment: str = Field("", max_length=2000)


class ReturnIn(Schema):
    lines: list[ReturnLineIn] = Field(..., min_length=1, max_length=100)
    method: MethodCode
    submission_key: str = Field(
        "",
        max_length=64,
        description="optional: a key unique to this submission; sending it again returns the request it created "
        "(the Idempotency-Key header does the same for the whole answer)",
    )


class ReturnLineOut(Schema):
    id: int
    line_id: int = Field(description="the order line")
    sku: str
    title: str
    quantity: int
    status: str
    reason: str
    resolution: str
    exchange_kind: str
    exchange_sku: str
    size_wanted: str | None = Field(description="US ring size, e.g. '7.5'")


class ReturnOut(Schema):
    rma: str = Field(description="e.g. 'R-100123'; shown to the shopper as 'RMA R-100123'")
    status: str = Field(
        description="requested, pending_review, authorised, rejected, awaiting_shipment, in_transit, received, "
        "inspected, resolved, closed, cancelled or expired"
    )
    method: str
    order_number: str
    currency: str
    value: str = Field(description=MONEY)
    requested_at: datetime
    ship_by: datetime | None = Field(description="an authorised return expires if nothing is shipped by then")
    cancellable: bool = Field(description="the shopper may still cancel (until the parcel is on its way)")
    lines: list[ReturnLineOut]


class TimelineEntryOut(Schema):
    at: datetime
    status: str
    headline: str
    by: str = Field(description="'You', 'Our team', or empty for automatic steps")
    detail: str
    line_id: int | None = Field(description="the return line it concerns; null for the whole return")


class ShopperPayoutOut(Schema):
    what: str = Field(description="e.g. 'Refund to your original payment', 'Store credit'")
    amount: str = Field(description=MONEY)
    currency: str
    done: bool
    state: str = Field(description="'Issued on 3 May 2026' or 'In progress'")
    code_hint: str = Field(description="the last characters of a gift card or coupon code; empty otherwise")


class ShopperExchangeOut(Schema):
    title: str
    sku: str
    quantity: int
    status: str = Field(description="awaiting_hold, awaiting_payment, awaiting_stock, ready, shipped, cancelled")
    difference: str = Field(description=f"> 0 the shopper pays it; {MONEY}")
    payment_url: str = Field(description="where to pay the difference or authorise the hold, while one is open")


class CreditBalanceOut(Schema):
    currency: str
    amount: str = Field(description=MONEY)


class ReturnStatusOut(ReturnOut):
    timeline: list[TimelineEntryOut] = Field(description="oldest first, in the shopper's words")
    payouts: list[ShopperPayoutOut] = Field(description="what the shopper gets back")
    exchanges: list[ShopperExchangeOut] = Field(description="replacements, and any payment they wait for")
    store_credit: list[CreditBalanceOut] = Field(description="the shopper's store credit balance per currency")


_ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


def return_out(found: ReturnSummary) -> dict[str, Any]:
    return {
        "rma": found.rma,
        "status": found.status,
        "method": found.method,
        "order_number": found.order_number,
        "currency": found.currency,
        "value": money_string(found.value, found.currency),
        "requested_at": found.requested_at,
        "ship_by": found.ship_by,
        "cancellable": found.shopper_cancellable,
        "lines": [
            {
                "id": line.id,
                "line_id": line.order_line_id,
                "sku": line.sku,
                "title": line.title,
                "quantity": line.quantity,
                "status": line.status,
                "reason": line.reason,
                "resolution": line.resolution,
                "exchange_kind": line.exchange_kind,
                "exchange_sku": line.exchange_sku,
                "size_wanted": decimal_text(line.size_wanted),
            }
            for line in found.lines
        ],
    }


def _lookup_out(order: PortalOrder, facts: OrderFacts, decision: OrderDecision) -> dict[str, Any]:
    returnable = {line.line_id: line.returnable_quantity for line in facts.lines}
    decided = {line.line_id: line for line in decision.lines}
    lines = []
    for line in order.lines:
        verdict = decided.get(line.id)
        lines.append(
            {
                "id": line.id,
                "sku": line.sku,
                "title": line.title,
                "variant_title": line.variant_title,
                "quantity": line.quantity,
                "returnable_quantity": returnable.get(line.id, 0),
                "personalised": line.personalised,
                "eligibility": {
                    "eligible": bool(verdict and verdict.eligible and returnable.get(line.id, 0) > 0),
                    "reason": verdict.reason if verdict else "This item cannot be returned online.",
                    "resolutions": list(verdict.resolutions) if verdict else [],
                    "exchange_kinds": list(verdict.exchange_kinds) if verdict else [],
                    "methods": list(verdict.methods) if verdict else [],
                    "refund_until": verdict.refund_until if verdict else None,
                    "exchange_until": verdict.exchange_until if verdict else None,
                },
            }
        )
    return {"number": order.number, "currency": order.currency, "placed_at": order.placed_at, "lines": lines}


# --- operations --------------------------------------------------------------------------------


@router.post(
    "/lookup",
    auth=None,
    response={200: LookupOut, 400: ErrorOut, 404: ErrorOut, 422: ErrorOut, 429: ErrorOut},
    operation_id="portal_lookup",
    summary="Look up an order (shopper)",
)
def lookup(
    request: HttpRequest,
    body: LookupIn,
    brand_header: Annotated[
        str | None, Header(alias="X-Assay-Brand", description="the brand's slug, when the body does not name it")
    ] = None,
) -> Any:
    """Prove an order by its number and e-mail; answers a portal token for that order and, per line, what
    the return policy allows and why.

    The brand comes from `brand` in the body, else the `X-Assay-Brand` header, else - where Assay serves a
    single brand - that brand (404 when there are several and none is named). A wrong pair answers 404 with
    the same message whatever was wrong. Lookups are limited per client address and per order number (at
    least 10 and 5 a minute); beyond that 429 with `Retry-After`. The token is valid for 30 minutes and
    for this order only.
    """
    slug = (body.brand or brand_header or "").strip().lower()
    brand_id = brand_id_for_slug(slug) if slug else only_brand_id()
    if brand_id is None:
        if slug:
            raise NotFound(f"no brand '{slug}'")
        # Several brands and none named: nowhere to look, so nothing found (the schema cannot mark
        # `brand` as required only sometimes).
        raise NotFound('say which brand: send "brand": "<slug>" in the body or an X-Assay-Brand header')
    try:
        found = portal_lookup_eligibility(
            brand_id=brand_id, number=body.order_number, email=body.email, client=client_address(request.META)
        )
    except TooManyAttempts as exc:
        answer = JsonResponse({"detail": exc.message}, status=429)
        answer["Retry-After"] = str(exc.retry_after)
        return answer
    token, expires_at = order_token_issue(brand_id=brand_id, order_id=found.order.id)
    return {"token": token, "expires_at": expires_at, "order": _lookup_out(found.order, found.facts, found.decision)}


def _portal_scope(request: HttpRequest) -> str:
    proved = grant(request)
    return f"portal:{proved.brand_id}:{proved.order_id}"


@router.post(
    "/returns",
    auth=PortalToken(),
    response={201: ReturnOut, **_ERRORS},
    operation_id="portal_return_create",
    summary="Start a return (shopper)",
)
@idempotent(scope=_portal_scope)
def return_create(request: HttpRequest, body: ReturnIn) -> Status[dict[str, Any]]:
    """Start a return or exchange of lines of the order the portal token stands for.

    The policy decides as on the lookup: a line, resolution or method it does not allow answers 422 naming
    the line and the rule's words; so do quantities beyond what is left to return and lines of another order.
    An exchange names what is wanted by `exchange_sku` (another ring size of the same piece, another variant,
    or another piece; `exchange_kind` may say which) or, for another ring size, by `size_wanted`.
    """
    proved = grant(request)
    lines = [_line_request(proved, item) for item in body.lines]
    created = return_request_create(
        brand_id=proved.brand_id,
        order_id=proved.order_id,
        lines=lines,
        method=body.method,
        actor=Actor(kind="shopper", label="shopper (portal API)"),
        source="portal",
        submission_key=body.submission_key,
    )
    resolutions_due(brand_id=proved.brand_id, request_id=created.pk)
    found = return_for_rma(brand_id=proved.brand_id, rma=created.rma)
    if found is None:  # pragma: no cover - just created in this transaction
        raise NotFound(f"no return {created.rma}")
    return Status(201, return_out(found))


def _line_request(proved: OrderGrant, item: ReturnLineIn) -> ReturnLineRequest:
    kind: str = item.exchange_kind or ""
    size_wanted = item.size_wanted
    sku = item.exchange_sku.strip()
    if item.resolution == "exchange":
        kind, size_wanted = _exchange_wanted(proved, item, kind=kind, sku=sku)
    return ReturnLineRequest(
        line_id=item.line_id,
        quantity=item.quantity,
        reason=item.reason,
        resolution=item.resolution,
        exchange_kind=kind if item.resolution == "exchange" else "",
        exchange_sku=sku if item.resolution == "exchange" else "",
        size_wanted=size_wanted,
        comment=item.comment,
    )


def _exchange_wanted(proved: OrderGrant, item: ReturnLineIn, *, kind: str, sku: str) -> tuple[str, Decimal | None]:
    """The kind of exchange and the ring size wanted, found from the SKU when the client did not say."""
    size_wanted = item.size_wanted
    if not sku and not kind and size_wanted is None:
        raise InvalidInput(
            f"line {item.line_id}: say what you want in exchange: exchange_sku, or size_wanted for another ring size"
        )
    if not sku or (kind and kind != "size") or (kind == "size" and size_wanted is not None):
        return kind or "size", size_wanted
    choices = line_exchange_choices(brand_id=proved.brand_id, order_id=proved.order_id, line_id=item.line_id)
    if choices is None:  # not a line of this order: the service says so
        return kind or "product", size_wanted
    found = kind or choices.kind_of(sku)
    if found == "size" and size_wanted is None:
        size_wanted = choices.siblings.get(sku)
        if size_wanted is None:
            raise InvalidInput(f"line {item.line_id}: '{sku}' is not another ring size of this piece")
    return found, size_wanted


def _granted_return(proved: OrderGrant, rma: str) -> ReturnSummary:
    found = return_for_rma(brand_id=proved.brand_id, rma=rma)
    if found is None or found.order_id != proved.order_id:
        # Another order's return answers exactly like one that does not exist.
        raise NotFound(f"no return {rma[:40]} for this order")
    return found


@router.get(
    "/returns/{rma}",
    auth=PortalToken(),
    response={200: ReturnStatusOut, 401: ErrorOut, 404: ErrorOut},
    operation_id="portal_return_read",
    summary="Follow a return (shopper)",
)
def return_read(request: HttpRequest, rma: str) -> dict[str, Any]:
    """A return of the token's order: its status, lines, and the timeline in the shopper's words."""
    proved = grant(request)
    found = _granted_return(proved, rma)
    timeline = return_timeline(brand_id=proved.brand_id, request_id=found.id, shopper=True)
    outcome = shopper_outcome(brand_id=proved.brand_id, request_id=found.id, email=found.email)
    return {
        **return_out(found),
        "timeline": timeline,
        "payouts": [
            {
                "what": p.what,
                "amount": money_string(p.amount, p.currency),
                "currency": p.currency,
                "done": p.done,
                "state": p.state,
                "code_hint": p.code_hint,
            }
            for p in outcome.payouts
        ],
        "exchanges": [
            {
                "title": e.title,
                "sku": e.sku,
                "quantity": e.quantity,
                "status": e.status,
                "difference": money_string(e.difference, e.currency),
                "payment_url": e.pay_url,
            }
            for e in outcome.exchanges
        ],
        "store_credit": [
            {"currency": b.currency, "amount": money_string(b.amount, b.currency)} for b in outcome.credit
        ],
    }


@router.post(
    "/returns/{rma}/cancel",
    auth=PortalToken(),
    response={200: ReturnOut, **_ERRORS},
    operation_id="portal_return_cancel",
    summary="Cancel a return (shopper)",
)
@idempotent(scope=_portal_scope)
def return_cancel(request: HttpRequest, rma: str) -> dict[str, Any]:
    """Withdraw a return of the token's order until its parcel is on the way (409 after that)."""
    proved = grant(request)
    found = _granted_return(proved, rma)
    return_request_cancel(
        brand_id=proved.brand_id, request_id=found.id, actor=Actor(kind="shopper", label="shopper (portal API)")
    )
    return return_out(_granted_return(proved, rma))
