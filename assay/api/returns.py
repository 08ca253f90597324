"""Returns (RMAs) for staff clients: the queue, one request's record, and the review decisions.

Every mutating call honours `Idempotency-Key`. An RMA of another brand answers 404; a move the
lifecycle does not allow answers 409 naming both states.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from assay.api.auth import ApiCaller, caller
from assay.api.idempotency import idempotent
from assay.api.pagination import ListParams
from assay.api.schemas import MONEY, ErrorOut, decimal_text
from assay.core.errors import InvalidInput, NotFound, PermissionDenied
from assay.core.money import money_string
from assay.resolutions.selectors import resolution_view
from assay.resolutions.services import Adjustment, resolution_propose, resolutions_due, return_resolve
from assay.returns.queue import return_queue
from assay.returns.selectors import ReturnDetail, ReturnLineData, return_detail, return_for_rma
from assay.returns.services import (
    return_note_add,
    return_request_approve,
    return_request_cancel,
    return_request_override,
    return_request_reject,
)
from assay.returns.status import ReturnStatus

router = Router()

# Roles that decide on returns; others (copywriter, marketing...) may read them.
DECIDING_ROLES = frozenset({"owner", "ops"})
_STATUSES = ", ".join(ReturnStatus.values)
_READ_ERRORS: dict[int, Any] = {401: ErrorOut, 404: ErrorOut, 422: ErrorOut}
# 400: a body that is not JSON at all.
_MOVE_ERRORS: dict[int, Any] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
}


# --- schemas -------------------------------------------------------------------------------------


class StatusFilter(StrEnum):
    """A return's state, or a group of states."""

    OPEN = "open"
    AWAITING_DECISION = "awaiting_decision"
    REQUESTED = "requested"
    PENDING_REVIEW = "pending_review"
    AUTHORISED = "authorised"
    REJECTED = "rejected"
    AWAITING_SHIPMENT = "awaiting_shipment"
    IN_TRANSIT = "in_transit"
    RECEIVED = "received"
    INSPECTED = "inspected"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class ReturnFilters(ListParams):
    status: StatusFilter | None = Field(
        None, description="one state, or 'open' (not yet finished) or 'awaiting_decision' (requested or pending review)"
    )
    q: str = Field(
        "", max_length=254, description="an RMA ('R-100123'), an order number (with or without '#') or an e-mail"
    )


class ReturnItemOut(Schema):
    id: int
    rma: str = Field(description="the return's number, shown to the shopper as 'RMA R-100123'")
    status: str = Field(description=_STATUSES)
    order_id: int
    order_number: str
    email: str
    method: str = Field(description="mail, drop_off or in_store")
    source: str = Field(description="portal, api, staff or demo")
    currency: str
    value: str = Field(description=f"the returned lines' value; {MONEY}")
    lines_count: int
    reasons: list[str] = Field(description="the lines' reasons, e.g. size_too_small")
    flags: list[str] = Field(description="e.g. manual_review, high_value, insured, authenticity_check, override")
    review_reasons: list[str] = Field(description="why the policy asked a person to review it")
    requested_at: datetime
    sla_breached: bool = Field(description="waiting for a decision for longer than the review SLA")


class ReturnList(Schema):
    items: list[ReturnItemOut]
    count: int = Field(description="all matching returns, not only this page")


class ReturnLineOut(Schema):
    id: int
    order_line_id: int
    sku: str
    title: str
    variant_title: str
    quantity: int
    status: str
    reason: str
    size_wanted: str | None = Field(description="US ring size wanted, e.g. '6.5'")
    comment: str
    resolution: str = Field(description="refund, store_credit or exchange")
    exchange_kind: str = Field(description="size, variant or product; empty unless an exchange")
    exchange_sku: str
    unit_price: str = Field(description=f"what the shopper paid per unit after discounts; {MONEY}")
    destination: str = Field(description="where the item goes back to: warehouse, bench, vendor...")
    decision: dict[str, Any] = Field(
        description="the policy's decision for this line: eligible, reason, resolutions, methods, windows, fees, "
        "bonuses, flags, and `matched` (the rules that applied and why)"
    )


class ReturnNoteOut(Schema):
    id: int
    author: str
    body: str
    created_at: datetime


class ReturnPhotoOut(Schema):
    id: int
    line_id: int | None
    content_type: str
    width: int
    height: int
    size_bytes: int
    created_at: datetime


class ReturnEventOut(Schema):
    at: datetime
    actor: str
    actor_kind: str = Field(description="staff, token, system, webhook or shopper")
    subject: str = Field(description="returnrequest or returnline")
    line_id: int | None = Field(description="the return line's id when the event is about one line")
    action: str = Field(description="e.g. return_requested, status_changed, note_added, policy_overridden")
    from_state: str
    to_state: str
    why: str
    data: dict[str, Any]


class BreakdownOut(Schema):
    resolution: str
    currency: str
    merchandise: str = Field(description="what was paid for the returned units after discounts")
    tax: str = Field(description="tax charged on top of the price, pro rata; 0 when prices include tax")
    restocking_fee: str = Field(description="deducted from a refund")
    label_fee: str = Field(description="the return label's cost, charged once per return")
    bonus: str = Field(description="extra credit for choosing store credit or an exchange")
    total: str = Field(description="what the shopper receives")
    replacement: str = Field(description="exchanges: what the replacement costs")
    difference: str = Field(description="exchanges: > 0 the shopper pays it, < 0 it is refunded")


class SettlementOut(Schema):
    line_id: int
    resolution: str = Field(description="refund, store_credit, gift_card, coupon or exchange")
    amount: str = Field(description=MONEY)
    proposed_amount: str = Field(description=f"what the policy gave before any adjustment; {MONEY}")
    adjustment_reason: str
    confirmed_by: str
    trigger: str = Field(description="approval, first_scan, receipt, inspection (the policy's timing), staff or api")
    breakdown: BreakdownOut
    created_at: datetime


class ProposalOut(Schema):
    line_id: int
    breakdown: BreakdownOut


class PayoutOut(Schema):
    id: int
    kind: str = Field(description="refund, store_credit, gift_card or coupon")
    amount: str = Field(description=MONEY)
    currency: str
    status: str = Field(description="pending, submitting, processing, retry, succeeded, failed, cancelled")
    provider: str = Field(description="simulated, stripe, shopify, manual, or ledger (Assay's store credit)")
    provider_reference: str = Field(description="the provider's id of the refund, gift card or credit entry")
    line_id: int | None = Field(description="the return line it settles; null for the order's shipping")
    attempts: int
    last_error: str
    next_attempt_at: datetime | None
    settled_at: datetime | None


class ExchangeOut(Schema):
    id: int
    line_id: int
    kind: str = Field(description="size, variant or product")
    sku: str
    title: str
    quantity: int
    unit_price: str = Field(description=MONEY)
    difference: str = Field(description=f"> 0 the shopper pays it, < 0 refunded; {MONEY}")
    status: str = Field(description="awaiting_hold, awaiting_payment, awaiting_stock, ready, shipped, cancelled")
    replacement_order_number: str = Field(description="the outbound order that ships the replacement")
    payment_url: str = Field(description="the open payment page for the difference or the card hold, if any")
    payment_status: str = Field(
        description="the latest payment page: creating, open, paid, held, released, captured, expired, failed"
    )


class ReturnDetailOut(Schema):
    id: int
    rma: str = Field(description="shown to the shopper as 'RMA R-100123'")
    status: str = Field(description=_STATUSES)
    order_id: int
    order_number: str
    email: str
    method: str
    source: str
    currency: str
    value: str = Field(description=MONEY)
    flags: list[str]
    review_reasons: list[str]
    policy_number: int | None = Field(description="the policy version that decided it")
    decision_reason: str = Field(description="why it was authorised or sent to review")
    requested_at: datetime
    authorised_at: datetime | None
    ship_by: datetime | None = Field(description="expires unless shipped by then")
    resolved_at: datetime | None
    closed_at: datetime | None
    lines: list[ReturnLineOut]
    photos: list[ReturnPhotoOut]
    notes: list[ReturnNoteOut] = Field(description="internal notes, never shown to the shopper")
    timeline: list[ReturnEventOut] = Field(description="the request's and its lines' audit trail, oldest first")
    settlements: list[SettlementOut] = Field(description="how each settled line is settled; one per line, ever")
    proposed: list[ProposalOut] = Field(description="what settling the lines not settled yet would give")
    payouts: list[PayoutOut] = Field(description="refunds, store credit, gift cards and coupons paid or being paid")
    exchanges: list[ExchangeOut] = Field(description="replacements sent for exchanged lines")


# Text without NUL (PostgreSQL cannot store it); WORDS also needs a visible character (not only spaces).
TEXT = r"^[^\x00]*$"
WORDS = r"^[^\x00]*[^\x00-\x20\s][^\x00]*$"


class ApproveIn(Schema):
    note: str = Field("", max_length=1000, pattern=TEXT, description="internal: why it was approved")


class RejectIn(Schema):
    reason: str = Field(max_length=1000, pattern=WORDS, description="why it was rejected; the shopper reads it")


class CancelIn(Schema):
    why: str = Field("", max_length=1000, pattern=TEXT, description="why it was cancelled; the shopper reads it")


class OverrideIn(Schema):
    reason: str = Field(
        max_length=1000, pattern=WORDS, description="why the policy is overruled; kept in the audit trail"
    )


class ResolveLineIn(Schema):
    line_id: int = Field(ge=1, le=2**63 - 1, description="the return line to adjust")
    resolution: Literal["refund", "store_credit", "gift_card", "coupon"] | None = Field(
        None, description="settle as this instead of what the shopper chose (not for exchanges)"
    )
    amount: str | None = Field(
        None,
        max_length=20,
        pattern=r"^\d{1,10}(\.\d{1,4})?$",
        description=f"settle for this amount instead of the policy's; {MONEY}",
    )
    reason: str = Field("", max_length=500, pattern=TEXT, description="why; required when anything differs")


class ResolveIn(Schema):
    lines: list[ResolveLineIn] = Field(
        default_factory=list, max_length=100, description="adjustments; lines not listed settle as the policy says"
    )


class NoteIn(Schema):
    body: str = Field(max_length=5000, pattern=WORDS, description="the note; internal, never shown to the shopper")


# --- shaping -------------------------------------------------------------------------------------


def _line_out(line: ReturnLineData, currency: str) -> dict[str, Any]:
    return {
        "id": line.id,
        "order_line_id": line.order_line_id,
        "sku": line.sku,
        "title": line.title,
        "variant_title": line.variant_title,
        "quantity": line.quantity,
        "status": line.status,
        "reason": line.reason,
        "size_wanted": decimal_text(line.size_wanted),
        "comment": line.comment,
        "resolution": line.resolution,
        "exchange_kind": line.exchange_kind,
        "exchange_sku": line.exchange_sku,
        "unit_price": money_string(line.unit_price, currency),
        "destination": line.destination,
        "decision": line.decision,
    }


def _detail_out(detail: ReturnDetail) -> dict[str, Any]:
    s = detail.summary
    return {
        "id": s.id,
        "rma": s.rma,
        "status": s.status,
        "order_id": s.order_id,
        "order_number": s.order_number,
        "email": s.email,
        "method": s.method,
        "source": s.source,
        "currency": s.currency,
        "value": money_string(s.value, s.currency),
        "flags": s.flags,
        "review_reasons": s.review_reasons,
        "policy_number": s.policy_number,
        "decision_reason": s.decision_reason,
        "requested_at": s.requested_at,
        "authorised_at": s.authorised_at,
        "ship_by": s.ship_by,
        "resolved_at": s.resolved_at,
        "closed_at": s.closed_at,
        "lines": [_line_out(line, s.currency) for line in s.lines],
        "photos": detail.photos,
        "notes": detail.notes,
        "timeline": [
            {
                "at": event["at"],
                "actor": event["actor_label"],
                "actor_kind": event["actor_kind"],
                "subject": event["subject_type"],
                "line_id": event["line_id"],
                "action": event["action"],
                "from_state": event["from_state"],
                "to_state": event["to_state"],
                "why": event["why"],
                "data": event["data"] if isinstance(event["data"], dict) else {},
            }
            for event in detail.timeline
        ],
    }


def _money(value: Any, currency: str) -> str:
    return money_string(Decimal(str(value)), currency)


def _breakdown_out(data: dict[str, Any]) -> dict[str, Any]:
    currency = data["currency"]
    return {
        key: (value if key in ("resolution", "currency") else _money(value, currency)) for key, value in data.items()
    }


def _resolution_out(brand_id: int, request_id: int) -> dict[str, Any]:
    view = resolution_view(brand_id=brand_id, request_id=request_id)
    return {
        "settlements": [
            {
                "line_id": s.line_id,
                "resolution": s.resolution,
                "amount": _money(s.amount, s.currency),
                "proposed_amount": _money(s.proposed_amount, s.currency),
                "adjustment_reason": s.adjustment_reason,
                "confirmed_by": s.confirmed_by,
                "trigger": s.trigger,
                "breakdown": _breakdown_out(s.breakdown),
                "created_at": s.created_at,
            }
            for s in view.settlements
        ],
        "proposed": [
            {"line_id": p.line.pk, "breakdown": _breakdown_out(p.breakdown.as_data())}
            for p in resolution_propose(brand_id=brand_id, request_id=request_id)
        ],
        "payouts": [
            {
                "id": p.id,
                "kind": p.kind,
                "amount": _money(p.amount, p.currency),
                "currency": p.currency,
                "status": p.status,
                "provider": p.provider,
                "provider_reference": p.provider_reference,
                "line_id": p.line_id,
                "attempts": p.attempts,
                "last_error": p.last_error,
                "next_attempt_at": p.next_attempt_at,
                "settled_at": p.settled_at,
            }
            for p in view.payouts
        ],
        "exchanges": [
            {
                "id": e.id,
                "line_id": e.line_id,
                "kind": e.kind,
                "sku": e.sku,
                "title": e.title,
                "quantity": e.quantity,
                "unit_price": _money(e.unit_price, e.currency),
                "difference": _money(e.difference, e.currency),
                "status": e.status,
                "replacement_order_number": e.replacement_order_number,
                "payment_url": e.pay_url,
                "payment_status": e.checkout_status,
            }
            for e in view.exchanges
        ],
    }


def _detail(brand_id: int, rma: str) -> dict[str, Any]:
    detail = return_detail(brand_id=brand_id, rma=rma)
    if detail is None:
        raise NotFound(f"no return {rma}")
    return {**_detail_out(detail), **_resolution_out(brand_id, detail.summary.id)}


def _decider(request: HttpRequest) -> ApiCaller:
    who = caller(request)
    if who.role not in DECIDING_ROLES:
        raise PermissionDenied(f"a {who.role} token cannot change returns; use an owner or ops token")
    return who


def _request_id(who: ApiCaller, rma: str) -> int:
    found = return_for_rma(brand_id=who.brand_id, rma=rma)
    if found is None:
        raise NotFound(f"no return {rma}")
    return found.id


# --- operations ----------------------------------------------------------------------------------


@router.get(
    "", response={200: ReturnList, 401: ErrorOut, 422: ErrorOut}, operation_id="returns_list", summary="Search returns"
)
def returns_list(request: HttpRequest, filters: Query[ReturnFilters]) -> dict[str, Any]:
    """The brand's return requests, newest first; every filter given must match."""
    rows, count = return_queue(
        brand_ids=[caller(request).brand_id],
        status=str(filters.status) if filters.status else None,
        q=filters.q,
        limit=filters.limit,
        offset=filters.offset,
    )
    items = [
        {
            **{key: row[key] for key in ("id", "rma", "status", "order_id", "order_number", "email", "method")},
            "source": row["source"],
            "currency": row["currency"],
            "value": money_string(row["value"], row["currency"]),
            "lines_count": row["lines_count"],
            "reasons": row["reasons"],
            "flags": row["flags"],
            "review_reasons": row["review_reasons"],
            "requested_at": row["requested_at"],
            "sla_breached": row["sla_breached"],
        }
        for row in rows
    ]
    return {"items": items, "count": count}


@router.get(
    "/{rma}", response={200: ReturnDetailOut, **_READ_ERRORS}, operation_id="return_detail", summary="Read a return"
)
def return_read(request: HttpRequest, rma: str) -> dict[str, Any]:
    """One return with its lines, the policy's decision, photos, internal notes and timeline."""
    return _detail(caller(request).brand_id, rma)


@router.post(
    "/{rma}/approve",
    response={200: ReturnDetailOut, **_MOVE_ERRORS},
    operation_id="return_approve",
    summary="Approve a return waiting for review",
)
@idempotent()
def return_approve(request: HttpRequest, rma: str, body: ApproveIn) -> dict[str, Any]:
    """Authorise a return the policy sent to review (requested or pending_review); 409 otherwise."""
    who = _decider(request)
    request_id = _request_id(who, rma)
    return_request_approve(brand_id=who.brand_id, request_id=request_id, actor=who.actor, note=body.note)
    resolutions_due(brand_id=who.brand_id, request_id=request_id)
    return _detail(who.brand_id, rma)


@router.post(
    "/{rma}/reject",
    response={200: ReturnDetailOut, **_MOVE_ERRORS},
    operation_id="return_reject",
    summary="Reject a return",
)
@idempotent()
def return_reject(request: HttpRequest, rma: str, body: RejectIn) -> dict[str, Any]:
    """Refuse a return, saying why (the shopper reads the reason)."""
    who = _decider(request)
    return_request_reject(brand_id=who.brand_id, request_id=_request_id(who, rma), actor=who.actor, reason=body.reason)
    return _detail(who.brand_id, rma)


@router.post(
    "/{rma}/cancel",
    response={200: ReturnDetailOut, **_MOVE_ERRORS},
    operation_id="return_cancel",
    summary="Cancel a return",
)
@idempotent()
def return_cancel(request: HttpRequest, rma: str, body: CancelIn) -> dict[str, Any]:
    """Withdraw a return before its parcel is on the way (for the shopper, or on their behalf)."""
    who = _decider(request)
    return_request_cancel(brand_id=who.brand_id, request_id=_request_id(who, rma), actor=who.actor, why=body.why)
    return _detail(who.brand_id, rma)


@router.post(
    "/{rma}/override",
    response={200: ReturnDetailOut, **_MOVE_ERRORS},
    operation_id="return_override",
    summary="Authorise a return against the policy",
)
@idempotent()
def return_override(request: HttpRequest, rma: str, body: OverrideIn) -> dict[str, Any]:
    """Authorise a return the policy sent to review, or that was rejected or expired, with a reason
    kept in the audit trail; the return is flagged `override`."""
    who = _decider(request)
    request_id = _request_id(who, rma)
    return_request_override(brand_id=who.brand_id, request_id=request_id, actor=who.actor, reason=body.reason)
    resolutions_due(brand_id=who.brand_id, request_id=request_id)
    return _detail(who.brand_id, rma)


@router.post(
    "/{rma}/resolve",
    response={200: ReturnDetailOut, **_MOVE_ERRORS},
    operation_id="return_resolve",
    summary="Carry out a return's resolution now",
)
@idempotent()
def return_resolve_now(request: HttpRequest, rma: str, body: ResolveIn) -> dict[str, Any]:
    """Settle the return's authorised lines now, whatever the policy's timing: refunds, store credit,
    gift cards, coupons and exchanges, each line once. Lines already settled are left as they are,
    so a repeat changes nothing. `lines` adjusts a line's outcome or amount, with a reason."""
    who = _decider(request)
    request_id = _request_id(who, rma)
    adjustments: dict[int, Adjustment] = {}
    for line in body.lines:
        if line.line_id in adjustments:
            raise InvalidInput(f"line {line.line_id} is adjusted twice")
        adjustments[line.line_id] = Adjustment(
            resolution=line.resolution,
            amount=Decimal(line.amount) if line.amount is not None else None,
            reason=line.reason,
        )
    return_resolve(
        brand_id=who.brand_id, request_id=request_id, actor=who.actor, trigger="api", adjustments=adjustments
    )
    return _detail(who.brand_id, rma)


@router.post(
    "/{rma}/notes",
    response={201: ReturnNoteOut, **_MOVE_ERRORS},
    operation_id="return_note_add",
    summary="Add an internal note",
)
@idempotent()
def return_note(request: HttpRequest, rma: str, body: NoteIn) -> Status[dict[str, Any]]:
    """An internal note on the return; never shown to the shopper."""
    who = _decider(request)
    note = return_note_add(brand_id=who.brand_id, request_id=_request_id(who, rma), actor=who.actor, body=body.body)
    return Status(201, {"id": note.pk, "author": note.author, "body": note.body, "created_at": note.created_at})
