"""Writes of the RMA lifecycle: create a request, decide on it, move its lines, note, expire.

Every move goes through assay.core.transitions.transition with status.ALLOWED (row locked, table
checked, audit event written). Rules of the request's status:

- Decisions on the whole request move the request and each of its lines that can follow: approve
  and override (-> authorised), reject, cancel, expire.
- Otherwise the request follows its lines (return_line_move): its status is that of its least
  advanced line that is still going somewhere (lines rejected, cancelled or expired are left out);
  when every line has been rejected, cancelled or expired, the request takes that state too
  (cancelled when the lines differ). The request walks the table one allowed step at a time, so
  its own trail records each state it passed.

Audit events whose `why` is written for the shopper carry `data["shopper"] = True`; the shopper's
timeline shows only those reasons (see selectors.return_timeline).
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from assay.catalog.models import ProductStatus, Variant
from assay.core.audit import Actor, audit_record
from assay.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied, TransitionNotAllowed
from assay.core.transitions import transition
from assay.orders.models import Order, OrderLine
from assay.policies.decision import LineDecision, OrderDecision
from assay.policies.engine import compile_policy
from assay.policies.facts import EXCHANGE_KINDS, METHODS, REASON_LABELS, RESOLUTIONS, LineFacts, OrderFacts
from assay.policies.schema import policy_document_parse
from assay.policies.selectors import CurrentPolicy, policy_current
from assay.policies.services import policy_default_ensure
from assay.returns.eligibility import ORDER_CANCELLED, order_read
from assay.returns.models import ReturnLine, ReturnNote, ReturnRequest, ReturnSource, RmaCounter
from assay.returns.status import ALLOWED, SHOPPER_CANCELLABLE, ReturnStatus
from assay.returns.types import ReturnLineRequest

S = ReturnStatus
DEFAULT_SHIP_BY_DAYS = 14
MAX_COMMENT = 2000
MAX_NOTE = 5000
MAX_WHY = 1000
# Lines that no longer go anywhere: the request's status ignores them while another line is active.
_STOPPED: frozenset[str] = frozenset({S.REJECTED, S.CANCELLED, S.EXPIRED})
# How far along a line is, for "the request follows its least advanced line".
_PROGRESS: dict[str, int] = {
    state: rank
    for rank, state in enumerate(
        [
            S.REQUESTED,
            S.PENDING_REVIEW,
            S.AUTHORISED,
            S.AWAITING_SHIPMENT,
            S.IN_TRANSIT,
            S.RECEIVED,
            S.INSPECTED,
            S.RESOLVED,
            S.CLOSED,
        ]
    )
}


def ship_by_days() -> int:
    """Days an authorised request has to be shipped before it expires (settings.RETURNS_SHIP_BY_DAYS)."""
    return int(getattr(settings, "RETURNS_SHIP_BY_DAYS", DEFAULT_SHIP_BY_DAYS))


def rma_text(rma: str) -> str:
    """How the RMA is shown to a shopper: 'RMA R-100123'."""
    return f"RMA {rma}"


# --- decisions as JSON ---------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    return value


def line_decision_json(decision: LineDecision) -> dict[str, Any]:
    """A line's decision as stored on ReturnLine.decision: LineDecision's fields, JSON-safe."""
    data: dict[str, Any] = _jsonable(dataclasses.asdict(decision))
    return data


# --- creating a request --------------------------------------------------------------------------


def _words(value: str) -> str:
    return value.replace("_", " ")


def _clean_text(value: str, *, field: str, limit: int) -> str:
    text = (value or "").strip()
    if "\x00" in text:
        raise InvalidInput(f"{field} must not contain NUL characters")
    if len(text) > limit:
        raise InvalidInput(f"{field} is too long ({len(text)} characters; at most {limit})")
    return text


def _check_shape(item: ReturnLineRequest, title: str) -> None:
    """What can be said about one requested line without the policy."""
    if item.quantity < 1:
        raise InvalidInput(f"'{title}': quantity must be at least 1")
    if item.reason not in REASON_LABELS:
        raise InvalidInput(
            f"'{title}': '{item.reason}' is not a return reason; choose one of {', '.join(REASON_LABELS)}"
        )
    if item.resolution not in RESOLUTIONS:
        raise InvalidInput(
            f"'{title}': '{item.resolution}' is not a resolution; choose one of {', '.join(RESOLUTIONS)}"
        )
    if item.resolution == "exchange":
        if item.exchange_kind not in EXCHANGE_KINDS:
            raise InvalidInput(
                f"'{title}': an exchange needs a kind: {', '.join(EXCHANGE_KINDS)}"
                + (f" ('{item.exchange_kind}' is not one)" if item.exchange_kind else "")
            )
        if item.exchange_kind == "size" and item.size_wanted is None:
            raise InvalidInput(f"'{title}': say which ring size you want for a size exchange")
        if item.exchange_kind in ("variant", "product") and not item.exchange_sku.strip():
            raise InvalidInput(f"'{title}': say which item (SKU) you want in exchange")
    elif item.exchange_kind or item.exchange_sku.strip():
        raise InvalidInput(f"'{title}': an exchange kind or SKU only goes with the exchange resolution")
    if item.size_wanted is not None and not (Decimal(0) < item.size_wanted < Decimal(20)):
        raise InvalidInput(f"'{title}': {item.size_wanted} is not a US ring size")


def _size(value: Decimal | None) -> str:
    return format(value.normalize(), "f") if value is not None else ""


def _exchange_variant(*, brand_id: int, item: ReturnLineRequest, facts: LineFacts, variant_id: int | None) -> Variant:
    """The catalogue variant the shopper gets instead, checked against what the kind of exchange allows."""
    title = facts.title
    if item.exchange_kind == "size":
        if facts.product_id is None:
            raise InvalidInput(f"'{title}' is not in the catalogue, so another size cannot be offered")
        sizes = list(
            Variant.objects.filter(brand_id=brand_id, product_id=facts.product_id, ring_size=item.size_wanted)
            .exclude(pk=variant_id or 0)
            .order_by("-inventory_quantity", "position", "id")
        )
        if item.exchange_sku.strip():
            sizes = [v for v in sizes if v.sku == item.exchange_sku.strip()]
        if not sizes:
            if facts.ring_size is not None and facts.ring_size == item.size_wanted:
                raise InvalidInput(f"'{title}': size {_size(item.size_wanted)} is the size you have")
            raise InvalidInput(f"'{title}' does not come in size {_size(item.size_wanted)}")
        in_stock = [v for v in sizes if v.inventory_quantity > 0]
        if not in_stock:
            raise InvalidInput(f"'{title}' in size {_size(item.size_wanted)} is out of stock")
        return in_stock[0]
    sku = item.exchange_sku.strip()
    found = (
        Variant.objects.filter(brand_id=brand_id, sku=sku)
        .select_related("product")
        .order_by("-inventory_quantity", "id")
    )
    candidates = list(found[:5])
    if not candidates:
        raise InvalidInput(f"'{title}': there is no item with SKU '{sku}' in the catalogue")
    if item.exchange_kind == "variant":
        candidates = [v for v in candidates if v.product_id == facts.product_id]
        if facts.product_id is None or not candidates:
            raise InvalidInput(f"'{title}': '{sku}' is not another variant of the same piece")
        candidates = [v for v in candidates if v.pk != variant_id]
        if not candidates:
            raise InvalidInput(f"'{title}': '{sku}' is the variant you have")
    else:
        candidates = [v for v in candidates if v.product_id != facts.product_id]
        if not candidates:
            raise InvalidInput(f"'{title}': '{sku}' is the same piece; choose a size or variant exchange")
        candidates = [v for v in candidates if v.product.status == ProductStatus.ACTIVE]
        if not candidates:
            raise InvalidInput(f"'{title}': '{sku}' is no longer sold")
    in_stock = [v for v in candidates if v.inventory_quantity > 0]
    if not in_stock:
        raise InvalidInput(f"'{title}': '{sku}' is out of stock")
    return in_stock[0]


@dataclasses.dataclass(frozen=True, slots=True)
class _Checked:
    item: ReturnLineRequest
    facts: LineFacts
    decision: LineDecision
    variant: Variant | None
    overridden: tuple[str, ...]


def _check_against_policy(
    *, item: ReturnLineRequest, facts: LineFacts, decision: LineDecision, method: str, override: bool
) -> tuple[str, ...]:
    """What the policy refuses for this line: raised, or (with a staff override) returned as a list."""
    title = facts.title
    refused: list[str] = []
    if not decision.eligible:
        refused.append(f"'{title}' cannot be returned: {decision.reason}")
    else:
        if item.resolution not in decision.resolutions:
            allowed = ", ".join(_words(r) for r in decision.resolutions)
            refused.append(f"'{title}': {_words(item.resolution)} is not available ({allowed} only). {decision.reason}")
        elif item.resolution == "exchange" and item.exchange_kind not in decision.exchange_kinds:
            allowed = ", ".join(decision.exchange_kinds)
            refused.append(f"'{title}': a {item.exchange_kind} exchange is not available ({allowed} only)")
        if not decision.keep_item and method not in decision.methods:
            allowed = ", ".join(_words(m) for m in decision.methods)
            refused.append(f"'{title}' cannot be returned by {_words(method)}; choose {allowed}")
    if refused and not override:
        raise InvalidInput(refused[0].strip())
    return tuple(refused)


def _current_policy(*, brand_id: int, actor: Actor) -> CurrentPolicy:
    policy = policy_current(brand_id=brand_id)
    if policy.version_id is None:
        # Every return records the version that decided it: a brand without one gets the default.
        # Compiled here rather than through the cache, which must not learn of a version that this
        # transaction may still roll back.
        version = policy_default_ensure(brand_id=brand_id, actor=actor)
        policy = CurrentPolicy(
            version_id=version.pk,
            number=version.number,
            compiled=compile_policy(policy_document_parse(version.document), version_id=version.pk),
            document=version.document,
        )
    return policy


def _next_rma(brand_id: int) -> str:
    counter = RmaCounter.objects.select_for_update().filter(brand_id=brand_id).first()
    if counter is None:
        try:
            with transaction.atomic():
                counter = RmaCounter.objects.create(brand_id=brand_id)
        except IntegrityError:  # another request created it first
            counter = RmaCounter.objects.select_for_update().get(brand_id=brand_id)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"R-{counter.last}"


def _review_reasons(checked: Sequence[_Checked], policy: CurrentPolicy) -> list[str]:
    """Why a person must look: the rules that asked for review, per line (the policy's own words)."""
    rules = policy.document.get("rules", []) if isinstance(policy.document, dict) else []
    reviewing = {
        str(rule.get("id"))
        for rule in rules
        if isinstance(rule, dict) and (rule.get("then") or {}).get("manual_review")
    }
    reasons: list[str] = []
    for line in checked:
        if not line.decision.manual_review:
            continue
        named = [
            f"{m.rule_name} ({m.why})" if m.why else m.rule_name
            for m in line.decision.matched
            if m.rule_id in reviewing
        ]
        reasons.append(f"{line.facts.title}: {'; '.join(named) if named else 'the policy asks for review'}")
    return reasons


def _flags(checked: Sequence[_Checked], *, overridden: bool) -> list[str]:
    flags: list[str] = []

    def add(flag: str, present: bool) -> None:
        if present and flag not in flags:
            flags.append(flag)

    for line in checked:
        d = line.decision
        add("manual_review", d.manual_review)
        add("high_value", line.facts.high_value)
        add("insured", d.insured and not d.keep_item)
        add("signature_required", d.signature_required and not d.keep_item)
        add("authenticity_check", d.authenticity_check)
        add("keep_item", d.keep_item)
        add("personalised", line.facts.personalised)
    add("override", overridden)
    return flags


@transaction.atomic
def return_request_create(
    *,
    brand_id: int,
    order_id: int,
    lines: Sequence[ReturnLineRequest],
    method: str,
    actor: Actor,
    source: str,
    submission_key: str = "",
    override_reason: str = "",
    decide: bool = True,
    now: datetime | None = None,
) -> ReturnRequest:
    """Open a return request (an RMA) for lines of one of the brand's orders, decided by the policy.

    The order's lines are locked first, so two submissions for the same line cannot both claim its
    quantity. The policy is evaluated again with the shopper's reasons; a request asking for what the
    decision does not allow is refused with InvalidInput naming the line and the rule's words. The
    request is authorised at once unless some line needs review (then pending_review); an authorised
    request must be shipped within ship_by_days(). A repeated `submission_key` returns the request it
    first created. `override_reason` (staff only) records and allows what the policy refused; quantity,
    catalogue and stock checks still apply. `decide=False` keeps the request `requested` (the policy's
    decision is stored) until return_request_decide applies it, e.g. once the shopper's photos are in.
    `now` lets the demo write a believable past.
    """
    now = now or timezone.now()
    if source not in ReturnSource.values:
        raise InvalidInput(f"'{source}' is not a return source")
    if method not in METHODS:
        raise InvalidInput(f"'{method}' is not a return method; choose one of {', '.join(METHODS)}")
    key = _clean_text(submission_key, field="submission key", limit=64)
    override = _clean_text(override_reason, field="override reason", limit=MAX_WHY)
    if override and actor.kind not in ("staff", "token", "system"):
        raise PermissionDenied("only staff can override the return policy")
    if not lines:
        raise InvalidInput("choose at least one item to return")

    # Lock before reading what is already claimed: a concurrent submission waits here.
    locked = list(
        OrderLine.objects.select_for_update()
        .filter(brand_id=brand_id, order_id=order_id)
        .order_by("id")
        .values_list("id", "variant_id")
    )
    if key:
        existing = ReturnRequest.objects.filter(brand_id=brand_id, submission_key=key).first()
        if existing is not None:
            if existing.order_id != order_id:
                raise InvalidInput("this submission key was already used for another order")
            return existing
    if not locked and not Order.objects.filter(brand_id=brand_id, pk=order_id).exists():
        raise NotFound(f"no order {order_id}")
    variant_of = dict(locked)

    seen: set[int] = set()
    for item in lines:
        if item.line_id not in variant_of:
            raise InvalidInput(f"line {item.line_id} is not part of this order")
        if item.line_id in seen:
            raise InvalidInput(f"line {item.line_id} is listed twice; list each item once with its quantity")
        seen.add(item.line_id)

    read = order_read(
        brand_id=brand_id, order_id=order_id, now=now, reasons={item.line_id: item.reason for item in lines}
    )
    facts: OrderFacts = read.facts
    facts_of = {line.line_id: line for line in facts.lines}
    policy = _current_policy(brand_id=brand_id, actor=actor)
    decision: OrderDecision = policy.compiled.evaluate(facts)
    cancelled = read.cancelled

    checked: list[_Checked] = []
    for item in lines:
        line_facts = facts_of[item.line_id]
        _check_shape(item, line_facts.title)
        comment = _clean_text(item.comment, field=f"'{line_facts.title}': comment", limit=MAX_COMMENT)
        if item.quantity > line_facts.returnable_quantity:
            claimed = line_facts.quantity - line_facts.returnable_quantity
            raise InvalidInput(
                f"'{line_facts.title}': at most {line_facts.returnable_quantity} can be returned "
                f"({line_facts.quantity} bought, {claimed} already in a return)"
            )
        if cancelled:
            raise InvalidInput(ORDER_CANCELLED)
        line_decision = decision.for_line(item.line_id)
        refused = _check_against_policy(
            item=item, facts=line_facts, decision=line_decision, method=method, override=bool(override)
        )
        variant = None
        if item.resolution == "exchange":
            variant = _exchange_variant(
                brand_id=brand_id, item=item, facts=line_facts, variant_id=variant_of[item.line_id]
            )
        checked.append(
            _Checked(
                item=dataclasses.replace(item, comment=comment),
                facts=line_facts,
                decision=line_decision,
                variant=variant,
                overridden=refused,
            )
        )
    overridden = [text for line in checked for text in line.overridden]
    if override and not overridden and not any(line.decision.manual_review for line in checked):
        override = ""  # nothing was refused or sent to review: an ordinary request

    review = _review_reasons(checked, policy) if not override else []
    needs_review = bool(review)
    if needs_review:
        why = "Waiting for our team to review: " + "; ".join(review)
    elif override:
        why = "Authorised by staff"
    else:
        why = f"Authorised automatically by the return policy (version {policy.number})"
    value = sum((line.facts.unit_price * line.item.quantity for line in checked), Decimal(0))
    request = ReturnRequest(
        brand_id=brand_id,
        rma=_next_rma(brand_id),
        order_id=order_id,
        customer_id=read.customer_id,
        email=facts.customer.email.lower(),
        status=S.REQUESTED,
        method=method,
        source=source,
        currency=facts.currency,
        value=value.quantize(Decimal("0.0001")),
        policy_version_id=policy.version_id,
        decision={
            "policy_version_id": policy.version_id,
            "policy_number": policy.number,
            "decided_at": now.isoformat(),
            "reason": why,
            "lines": [line_decision_json(line.decision) for line in checked],
        },
        review_reasons=review,
        flags=_flags(checked, overridden=bool(override)),
        submission_key=key,
        requested_at=now,
    )
    try:
        with transaction.atomic():
            request.save()
    except IntegrityError:
        # The same submission key committed by a request that did not wait on our locks.
        existing = ReturnRequest.objects.filter(brand_id=brand_id, submission_key=key).first() if key else None
        if existing is None:
            raise
        return existing
    created = ReturnLine.objects.bulk_create(
        [
            ReturnLine(
                brand_id=brand_id,
                request=request,
                order_line_id=line.item.line_id,
                quantity=line.item.quantity,
                status=S.REQUESTED,
                reason=line.item.reason,
                size_wanted=line.item.size_wanted,
                comment=line.item.comment,
                resolution=line.item.resolution,
                exchange_kind=line.item.exchange_kind,
                exchange_variant=line.variant,
                exchange_sku=line.variant.sku if line.variant is not None else "",
                unit_price=line.facts.unit_price.quantize(Decimal("0.0001")),
                destination=line.decision.destination,
                decision=line_decision_json(line.decision),
            )
            for line in checked
        ]
    )
    if not all(line.pk for line in created):  # pragma: no cover - every supported database returns ids
        created = list(ReturnLine.objects.filter(request=request).order_by("id"))
    audit_record(
        brand_id=brand_id,
        subject=request,
        action="return_requested",
        actor=actor,
        why=f"{rma_text(request.rma)} requested",
        to_state=S.REQUESTED,
        data={
            "shopper": True,
            "source": source,
            "method": method,
            "order_id": order_id,
            "policy_number": policy.number,
            "lines": [
                {
                    "line_id": line.item.line_id,
                    "quantity": line.item.quantity,
                    "reason": line.item.reason,
                    "resolution": line.item.resolution,
                }
                for line in checked
            ],
        },
    )
    if override:
        audit_record(
            brand_id=brand_id,
            subject=request,
            action="policy_overridden",
            actor=actor,
            why=override,
            data={"overridden": overridden, "review_skipped": _review_reasons(checked, policy)},
        )
    target = S.PENDING_REVIEW if needs_review else S.AUTHORISED
    if decide:
        _move_all(
            request, created, to=target, actor=actor, why=why, shopper=not needs_review, now=now, data={"policy": True}
        )
    return request


@transaction.atomic
def return_request_decide(
    *, brand_id: int, request_id: int, actor: Actor, now: datetime | None = None
) -> ReturnRequest:
    """Apply the decision taken at creation to a request held as `requested`: authorised, or
    pending_review when the policy asked for a person."""
    request, lines = _lock_request(brand_id=brand_id, request_id=request_id)
    needs_review = bool(request.review_reasons)
    target = S.PENDING_REVIEW if needs_review else S.AUTHORISED
    transition_check(request, target, only_from={S.REQUESTED})
    why = str((request.decision or {}).get("reason") or "decided by the return policy")
    _move_all(
        request, lines, to=target, actor=actor, why=why, shopper=not needs_review, now=now or timezone.now(),
        data={"policy": True},
    )  # fmt: skip
    return request


# --- moving a request and its lines --------------------------------------------------------------


def _lock_request(*, brand_id: int, request_id: int) -> tuple[ReturnRequest, list[ReturnLine]]:
    request = ReturnRequest.objects.select_for_update().filter(brand_id=brand_id, pk=request_id).first()
    if request is None:
        raise NotFound(f"no return request {request_id}")
    lines = list(ReturnLine.objects.select_for_update().filter(brand_id=brand_id, request_id=request_id).order_by("id"))
    return request, lines


def _stamp(request: ReturnRequest, to: str, now: datetime) -> None:
    """The dates that go with reaching a state, saved with it."""
    fields = []
    if to == S.AUTHORISED:
        request.authorised_at = now
        request.ship_by = now + timedelta(days=ship_by_days())
        fields += ["authorised_at", "ship_by"]
    elif to == S.RESOLVED:
        request.resolved_at = now
        fields.append("resolved_at")
    elif to in (S.CLOSED, S.CANCELLED, S.REJECTED, S.EXPIRED):
        request.closed_at = now
        fields.append("closed_at")
    if fields:
        request.save(update_fields=fields)


def _move_all(
    request: ReturnRequest,
    lines: Iterable[ReturnLine],
    *,
    to: str,
    actor: Actor,
    why: str,
    shopper: bool,
    now: datetime,
    data: Mapping[str, Any] | None = None,
) -> None:
    """Move the request to `to` with its lines. A line that has stopped (rejected, cancelled, expired)
    stays unless it may follow; a line already further along (its parcel on the way) refuses the
    whole move with TransitionNotAllowed naming its state."""
    lines = list(lines)
    for line in lines:
        if line.status not in _STOPPED and to not in ALLOWED.get(line.status, set()):
            raise TransitionNotAllowed(
                subject=f"return request {request.rma} (a line of it)", from_state=line.status, to_state=to
            )
    payload = {**(data or {}), "shopper": shopper}
    transition(request, to=to, allowed=ALLOWED, actor=actor, why=why, data=payload)
    _stamp(request, to, now)
    for line in lines:
        if to in ALLOWED.get(line.status, set()):
            transition(line, to=to, allowed=ALLOWED, actor=actor, why=why, data={**payload, "with_request": True})


def transition_check(request: ReturnRequest, to: str, *, only_from: Iterable[str] | None = None) -> None:
    """Refuse a move before touching the lines: TransitionNotAllowed (409) naming both states.

    `only_from` narrows the table for a decision that is not the only way into `to` (an approval
    authorises only what waits for review; rejected or expired requests need an override)."""
    allowed = to in ALLOWED.get(request.status, set()) and (only_from is None or request.status in only_from)
    if not allowed:
        raise TransitionNotAllowed(subject=f"return request {request.rma}", from_state=request.status, to_state=to)


@transaction.atomic
def return_request_approve(
    *, brand_id: int, request_id: int, actor: Actor, note: str = "", now: datetime | None = None
) -> ReturnRequest:
    """Authorise a request that waits for review (the policy asked a person). The note stays internal."""
    note = _clean_text(note, field="note", limit=MAX_WHY)
    request, lines = _lock_request(brand_id=brand_id, request_id=request_id)
    transition_check(request, S.AUTHORISED, only_from={S.REQUESTED, S.PENDING_REVIEW})
    _move_all(
        request,
        lines,
        to=S.AUTHORISED,
        actor=actor,
        why=note or "approved after review",
        shopper=False,
        now=now or timezone.now(),
    )
    return request


@transaction.atomic
def return_request_reject(
    *, brand_id: int, request_id: int, actor: Actor, reason: str, now: datetime | None = None
) -> ReturnRequest:
    """Refuse a request; `reason` is required and shown to the shopper."""
    reason = _clean_text(reason, field="reason", limit=MAX_WHY)
    if not reason:
        raise InvalidInput("say why the return is rejected: the shopper will read it")
    request, lines = _lock_request(brand_id=brand_id, request_id=request_id)
    transition_check(request, S.REJECTED)
    _move_all(request, lines, to=S.REJECTED, actor=actor, why=reason, shopper=True, now=now or timezone.now())
    return request


@transaction.atomic
def return_request_cancel(
    *, brand_id: int, request_id: int, actor: Actor, why: str = "", now: datetime | None = None
) -> ReturnRequest:
    """Withdraw a request before its parcel is on the way: the shopper, or staff for them."""
    why = _clean_text(why, field="why", limit=MAX_WHY)
    request, lines = _lock_request(brand_id=brand_id, request_id=request_id)
    moving = [line.status for line in lines if line.status not in SHOPPER_CANCELLABLE | _STOPPED]
    if actor.kind == "shopper" and (request.status not in SHOPPER_CANCELLABLE or moving):
        state = moving[0] if moving and request.status in SHOPPER_CANCELLABLE else request.status
        raise Conflict(
            f"{rma_text(request.rma)} can no longer be cancelled: it is {_words(state)}; "
            "cancelling is possible until the parcel is on its way"
        )
    transition_check(request, S.CANCELLED)
    default = "cancelled by the shopper" if actor.kind == "shopper" else "cancelled by our team"
    _move_all(request, lines, to=S.CANCELLED, actor=actor, why=why or default, shopper=True, now=now or timezone.now())
    return request


_OVERRIDABLE: frozenset[str] = frozenset({S.REQUESTED, S.PENDING_REVIEW, S.REJECTED, S.EXPIRED})


@transaction.atomic
def return_request_override(
    *, brand_id: int, request_id: int, actor: Actor, reason: str, now: datetime | None = None
) -> ReturnRequest:
    """Authorise a request the policy sent to review, or that was rejected or expired, overruling the
    policy. `reason` is required; the audit trail records what was overridden and the flag `override`
    marks the request."""
    reason = _clean_text(reason, field="reason", limit=MAX_WHY)
    if not reason:
        raise InvalidInput("say why the policy is overridden: it is kept in the audit trail")
    request, lines = _lock_request(brand_id=brand_id, request_id=request_id)
    if request.status not in _OVERRIDABLE:
        raise Conflict(
            f"return request {request.rma} cannot move from '{request.status}' to '{S.AUTHORISED}' by an override; "
            f"only {', '.join(sorted(_OVERRIDABLE))} requests can be overridden"
        )
    audit_record(
        brand_id=brand_id,
        subject=request,
        action="policy_overridden",
        actor=actor,
        why=reason,
        from_state=request.status,
        to_state=S.AUTHORISED,
        data={
            "overridden_status": request.status,
            "review_reasons": list(request.review_reasons or []),
            "lines": [{"line_id": line.order_line_id, "status": line.status} for line in lines],
        },
    )
    if "override" not in (request.flags or []):
        request.flags = [*(request.flags or []), "override"]
        request.save(update_fields=["flags"])
    # Rejected or expired lines come back with the request; cancelled ones stay cancelled.
    _move_all(
        request,
        lines,
        to=S.AUTHORISED,
        actor=actor,
        why="authorised by our team",
        shopper=True,
        now=now or timezone.now(),
        data={"override": True},
    )
    return request


@transaction.atomic
def return_note_add(*, brand_id: int, request_id: int, actor: Actor, body: str) -> ReturnNote:
    """An internal note by staff on a request; never shown to the shopper."""
    text = _clean_text(body, field="note", limit=MAX_NOTE)
    if not text:
        raise InvalidInput("a note needs some text")
    request = ReturnRequest.objects.filter(brand_id=brand_id, pk=request_id).first()
    if request is None:
        raise NotFound(f"no return request {request_id}")
    note = ReturnNote.objects.create(brand_id=brand_id, request=request, author=actor.label[:200], body=text)
    audit_record(
        brand_id=brand_id, subject=request, action="note_added", actor=actor, why=text[:200], data={"note_id": note.pk}
    )
    return note


def _path(start: str, goal: str) -> list[str]:
    """The shortest walk through ALLOWED from start to goal (excluding start); [] if none."""
    queue: deque[tuple[str, list[str]]] = deque([(start, [])])
    seen = {start}
    while queue:
        state, walked = queue.popleft()
        for following in sorted(ALLOWED.get(state, set())):
            if following in seen:
                continue
            if following == goal:
                return [*walked, following]
            seen.add(following)
            queue.append((following, [*walked, following]))
    return []


def request_status_from_lines(statuses: Sequence[str]) -> str | None:
    """The status a request follows from its lines (see the module docstring); None without lines."""
    active = [status for status in statuses if status not in _STOPPED]
    if active:
        return min(active, key=lambda status: _PROGRESS.get(status, 0))
    if not statuses:
        return None
    distinct = set(statuses)
    return distinct.pop() if len(distinct) == 1 else S.CANCELLED


@transaction.atomic
def return_line_move(
    *,
    brand_id: int,
    line_id: int,
    to: str,
    actor: Actor,
    why: str = "",
    data: Mapping[str, Any] | None = None,
    shopper: bool = True,
    now: datetime | None = None,
) -> ReturnLine:
    """Move one line (shipping, receiving, inspection, resolution), then bring its request along.

    Raises TransitionNotAllowed (409, naming both states) for a move the table does not allow.
    """
    # The request first, then its lines: the order every service locks them in.
    request = ReturnRequest.objects.select_for_update(of=("self",)).filter(brand_id=brand_id, lines__id=line_id).first()
    if request is None:
        raise NotFound(f"no return line {line_id}")
    lines = list(ReturnLine.objects.select_for_update().filter(brand_id=brand_id, request_id=request.pk).order_by("id"))
    line = next(item for item in lines if item.pk == line_id)
    payload = {**(data or {}), "shopper": shopper}
    transition(line, to=to, allowed=ALLOWED, actor=actor, why=why, data=payload)
    target = request_status_from_lines([item.status for item in lines])
    if target is not None and target != request.status:
        now = now or timezone.now()
        for step in _path(request.status, target):
            follows = {**payload, "follows_lines": True, "line_id": line.pk}
            transition(request, to=step, allowed=ALLOWED, actor=actor, why=why, data=follows)
            _stamp(request, step, now)
    return line


@transaction.atomic
def return_request_expire(
    *, brand_id: int, request_id: int, actor: Actor | None = None, now: datetime | None = None
) -> bool:
    """Expire one authorised request whose ship-by date has passed with nothing shipped; whether it did.

    A request part of which is already on its way waits for its lines instead."""
    now = now or timezone.now()
    request = ReturnRequest.objects.select_for_update().filter(brand_id=brand_id, pk=request_id).first()
    if request is None or request.status not in (S.AUTHORISED, S.AWAITING_SHIPMENT):
        return False
    if request.ship_by is None or request.ship_by >= now:
        return False
    _, lines = _lock_request(brand_id=brand_id, request_id=request.pk)
    if any(line.status not in _STOPPED and S.EXPIRED not in ALLOWED.get(line.status, set()) for line in lines):
        return False
    why = f"Nothing was shipped by {request.ship_by:%d %b %Y}, so the return authorisation expired"
    _move_all(
        request, lines, to=S.EXPIRED, actor=actor or Actor.system("return expiry"), why=why, shopper=True, now=now
    )
    return True


def returns_expire_due(*, now: datetime | None = None) -> int:
    """Expire every authorised request (any brand) whose ship-by date has passed with nothing shipped.

    One transaction per request, so one failure never holds back the rest; how many expired.
    """
    now = now or timezone.now()
    due = list(
        ReturnRequest.objects.filter(status__in=[S.AUTHORISED, S.AWAITING_SHIPMENT], ship_by__lt=now)
        .order_by("ship_by", "id")
        .values_list("brand_id", "id")[:10_000]
    )
    actor = Actor.system("return expiry")
    return sum(
        1
        for brand_id, request_id in due
        if return_request_expire(brand_id=brand_id, request_id=request_id, actor=actor, now=now)
    )
