"""Resolving returns: settling each returned line once, with its payouts and exchange.

A line is settled once, ever (`Settlement.return_line` is unique), under the return request's row
lock: a retry, a second click, a second worker or a redelivered event finds the settlement and
changes nothing. Each money movement is a `Payout` row written in the same transaction, with an
idempotency key derived from what it settles; after commit, `payouts.py` carries it out exactly once.
Exchanges reserve their replacement, or wait for a payment page or card hold (`checkouts.py`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from assay.catalog.models import Variant
from assay.core.audit import Actor, audit_record
from assay.core.errors import Conflict, InvalidInput, NotFound
from assay.core.money import minor_round
from assay.core.transitions import transition
from assay.orders.models import Order, OrderLine, Shipment, ShipmentLine, ShipmentStatus
from assay.policies.models import PolicyVersion
from assay.policies.schema import PolicyDocument, ResolutionTerms
from assay.resolutions import credit
from assay.resolutions.amounts import Breakdown, LineValue, line_breakdown
from assay.resolutions.checkouts import checkout_request, holds_settle_for_request
from assay.resolutions.models import CheckoutPurpose, Exchange, Payout, PayoutKind, PayoutSettings, Settlement
from assay.resolutions.payouts import (
    payout_settings,
    payouts_enqueue,
    reason_clean,
    settle_finished_lines,
)
from assay.resolutions.shop_returns import shop_return_ensure, shop_return_sync
from assay.resolutions.status import (
    EXCHANGE_ALLOWED,
    PAYOUT_ALLOWED,
    ExchangeStatus,
    PayoutStatus,
)
from assay.returns.models import ReturnLine, ReturnRequest
from assay.returns.status import ReturnStatus

logger = logging.getLogger(__name__)

P = PayoutStatus
S = ReturnStatus

SWEEP_WINDOW = timedelta(hours=6)

# Line states from which a line may be settled (authorised and on), and those that reach each timing.
SETTLEABLE: frozenset[str] = frozenset({S.AUTHORISED, S.AWAITING_SHIPMENT, S.IN_TRANSIT, S.RECEIVED, S.INSPECTED})
REACHED: dict[str, frozenset[str]] = {
    "approval": SETTLEABLE,
    "first_scan": frozenset({S.IN_TRANSIT, S.RECEIVED, S.INSPECTED}),
    "receipt": frozenset({S.RECEIVED, S.INSPECTED}),
    "inspection": frozenset({S.INSPECTED}),
}
PAYOUT_KINDS = {choice.value for choice in PayoutKind}


# --- terms and proposals ---------------------------------------------------------------------------


def resolution_terms(request: ReturnRequest) -> ResolutionTerms:
    """The resolution settings of the policy version that decided the request (defaults without one)."""
    if request.policy_version_id is None:
        return ResolutionTerms.model_validate({})
    document = PolicyVersion.objects.only("document").get(pk=request.policy_version_id).document
    return PolicyDocument.model_validate(document).resolution


@dataclass(frozen=True, slots=True)
class Adjustment:
    """Staff's change to a line's proposed settlement: another outcome and/or amount, and why."""

    resolution: str | None = None  # refund, store_credit, gift_card, coupon (an exchange stays one)
    amount: Decimal | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Proposal:
    line: ReturnLine
    order_line: OrderLine
    breakdown: Breakdown
    replacement: Variant | None


def _label_fee_line(request: ReturnRequest, lines: list[ReturnLine]) -> int | None:
    """The line that carries the request's label fee: the first line sent back by mail."""
    if request.method != "mail":
        return None
    for line in lines:
        if not (line.decision or {}).get("keep_item"):
            return line.pk
    return None


def _proposals(request: ReturnRequest, lines: list[ReturnLine], all_lines: list[ReturnLine]) -> list[Proposal]:
    order = request.order
    order_lines = {ol.pk: ol for ol in OrderLine.objects.filter(pk__in=[line.order_line_id for line in lines])}
    variants = {
        v.pk: v
        for v in Variant.objects.filter(pk__in=[line.exchange_variant_id for line in lines if line.exchange_variant_id])
    }
    fee_line = _label_fee_line(request, all_lines)
    proposals = []
    for line in lines:
        order_line = order_lines[line.order_line_id]
        value = LineValue(
            currency=request.currency,
            quantity=line.quantity,
            unit_price=line.unit_price,
            line_quantity=order_line.quantity,
            line_tax=order_line.tax,
            taxes_included=order.taxes_included,
        )
        replacement = variants.get(line.exchange_variant_id) if line.exchange_variant_id else None
        breakdown = line_breakdown(
            value=value,
            resolution=line.resolution,
            terms=line.decision or {},
            carries_label_fee=line.pk == fee_line,
            replacement_price=replacement.price if replacement is not None else None,
        )
        proposals.append(Proposal(line, order_line, breakdown, replacement))
    return proposals


def resolution_propose(*, brand_id: int, request_id: int) -> list[Proposal]:
    """What settling the request's unsettled lines would pay, line by line (reads only)."""
    request = ReturnRequest.objects.select_related("order").filter(brand_id=brand_id, pk=request_id).first()
    if request is None:
        raise NotFound(f"no return request {request_id}")
    all_lines = list(ReturnLine.objects.filter(request=request).order_by("id"))
    settled = set(Settlement.objects.filter(request=request).values_list("return_line_id", flat=True))
    open_lines = [line for line in all_lines if line.pk not in settled and line.status in SETTLEABLE]
    return _proposals(request, open_lines, all_lines)


# --- keys --------------------------------------------------------------------------------------------


def _amount_text(amount: Decimal) -> str:
    return format(amount.normalize(), "f") if amount == amount.to_integral() else str(amount)


def payout_key(*, subject: str, kind: str, amount: Decimal, currency: str) -> str:
    """The idempotency key: what the payout settles, its kind and amount. Same payout, same key."""
    return f"assay:{subject}:{kind}:{_amount_text(amount)}{currency}"


# --- confirming a resolution -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResolveResult:
    settlements: list[Settlement]  # created now
    already: int  # lines found settled before
    payouts: list[Payout]  # created now


def _lock_request(brand_id: int, request_id: int) -> ReturnRequest:
    request = ReturnRequest.objects.select_for_update().filter(brand_id=brand_id, pk=request_id).first()
    if request is None:
        raise NotFound(f"no return request {request_id}")
    return request


def _provider_for(settings_row: PayoutSettings, kind: str) -> str:
    if kind == PayoutKind.REFUND:
        return settings_row.refund_provider
    if kind == PayoutKind.GIFT_CARD:
        return settings_row.gift_card_provider
    if kind == PayoutKind.COUPON:
        return settings_row.coupon_provider
    return "ledger"


def _adjusted(proposal: Proposal, adjustment: Adjustment | None) -> tuple[str, Decimal, str]:
    """(outcome, amount, reason) after staff's adjustment, refused when it is not one we can pay."""
    line, breakdown = proposal.line, proposal.breakdown
    resolution, amount = breakdown.resolution, breakdown.total
    if adjustment is None:
        return resolution, amount, ""
    reason = reason_clean(adjustment.reason)
    label = f"line {line.pk}"
    if adjustment.resolution is not None and adjustment.resolution != resolution:
        if resolution == "exchange" or adjustment.resolution not in PAYOUT_KINDS:
            raise InvalidInput(
                f"{label}: an exchange stays an exchange; cancel it and settle again"
                if resolution == "exchange"
                else f"{label}: '{adjustment.resolution}' is not an outcome (refund, store_credit, gift_card, coupon)"
            )
        resolution = adjustment.resolution
    if adjustment.amount is not None:
        if resolution == "exchange":
            raise InvalidInput(f"{label}: an exchange's difference follows the prices; adjust by another outcome")
        amount = adjustment.amount
        if amount < 0 or not amount.is_finite():
            raise InvalidInput(f"{label}: the amount cannot be negative")
        if minor_round(amount, breakdown.currency) != amount:
            raise InvalidInput(f"{label}: {amount} has more decimals than {breakdown.currency} allows")
        paid = breakdown.merchandise + breakdown.tax
        ceiling = paid if resolution == "refund" else paid * 2
        if amount > ceiling:
            raise InvalidInput(
                f"{label}: {amount} {breakdown.currency} is more than "
                + ("the shopper paid for it" if resolution == "refund" else "twice what the shopper paid for it")
                + f" ({ceiling})"
            )
    elif resolution != breakdown.resolution:
        # Another outcome with no amount given: the line's value, without the fee or bonus of the first.
        amount = breakdown.merchandise + breakdown.tax - breakdown.label_fee
    if (resolution, amount) != (breakdown.resolution, breakdown.total) and not reason:
        raise InvalidInput(f"{label}: say why the settlement differs from the policy's ({breakdown.total})")
    return resolution, amount, reason


@transaction.atomic
def return_resolve(
    *,
    brand_id: int,
    request_id: int,
    actor: Actor,
    trigger: str,
    line_ids: Iterable[int] | None = None,
    adjustments: Mapping[int, Adjustment] | None = None,
    instant_line_ids: Iterable[int] = (),
    now: datetime | None = None,
) -> ResolveResult:
    """Settle the request's lines that are not settled yet (or only `line_ids`), once each.

    Creates each line's settlement, its payouts (refund, credit, gift card, coupon, an exchange's
    refunded difference, the order's shipping when the policy refunds it) and its exchange, under
    the request's lock; payouts go to the provider after commit. Lines already settled are counted
    in `already` and left alone, so calling this again changes nothing.
    """
    now = now or timezone.now()
    adjustments = dict(adjustments or {})
    instant = set(instant_line_ids)
    request = _lock_request(brand_id, request_id)
    all_lines = list(ReturnLine.objects.filter(request=request).order_by("id"))
    by_id = {line.pk: line for line in all_lines}
    wanted = set(line_ids) if line_ids is not None else set(by_id)
    unknown = (wanted | set(adjustments)) - set(by_id)
    if unknown:
        raise InvalidInput(f"{request.rma} has no line {sorted(unknown)[0]}")
    settled = set(Settlement.objects.filter(request=request).values_list("return_line_id", flat=True))
    candidates = [by_id[i] for i in sorted(wanted) if i not in settled]
    not_ready = [line for line in candidates if line.status not in SETTLEABLE]
    if line_ids is not None and not_ready and trigger in ("staff", "api"):
        state = not_ready[0].status
        raise Conflict(f"{request.rma}: line {not_ready[0].pk} is {state.replace('_', ' ')}: it cannot be settled")
    lines = [line for line in candidates if line.status in SETTLEABLE]
    if not lines:
        if trigger in ("staff", "api") and not settled and not candidates:
            raise Conflict(f"{request.rma} has nothing to settle")
        if trigger in ("staff", "api") and not settled:
            raise Conflict(f"{request.rma} is {request.status.replace('_', ' ')}: nothing in it can be settled yet")
        return ResolveResult([], len(settled & wanted), [])

    request.order = Order.objects.get(pk=request.order_id)
    payout_setup = payout_settings(brand_id)
    terms = resolution_terms(request)
    created: list[Settlement] = []
    payouts: list[Payout] = []
    for proposal in _proposals(request, lines, all_lines):
        line = proposal.line
        resolution, amount, reason = _adjusted(proposal, adjustments.get(line.pk))
        settlement = Settlement.objects.create(
            brand_id=brand_id,
            request=request,
            return_line=line,
            resolution=resolution,
            currency=request.currency,
            breakdown=proposal.breakdown.as_data(),
            amount=amount,
            proposed_amount=proposal.breakdown.total,
            adjustment_reason=reason,
            confirmed_by=actor.label[:200],
            trigger="instant_exchange" if line.pk in instant else trigger,
        )
        created.append(settlement)
        if resolution == "exchange":
            payouts += _exchange_create(
                request, settlement, proposal, payout_setup, actor=actor, now=now, instant=line.pk in instant
            )
        elif amount > 0:
            kind = resolution
            if kind == PayoutKind.STORE_CREDIT and payout_setup.store_credit_as_gift_card:
                kind = PayoutKind.GIFT_CARD
            payouts.append(
                _payout_create(
                    request,
                    settlement=settlement,
                    subject=f"line{line.pk}",
                    kind=kind,
                    amount=amount,
                    provider=_provider_for(payout_setup, kind),
                    note=f"{request.rma}: {proposal.order_line.title}",
                )
            )
        audit_record(
            brand_id=brand_id,
            subject=request,
            action="line_settled",
            actor=actor,
            why=reason or f"settled {trigger.replace('_', ' ')}",
            data={
                "line_id": line.pk,
                "resolution": resolution,
                "amount": str(amount),
                "proposed": str(proposal.breakdown.total),
                "breakdown": proposal.breakdown.as_data(),
            },
        )
    if terms.refund_shipping and any(s.resolution == "refund" for s in created):
        shipping = _shipping_payout(request, payout_setup)
        if shipping is not None:
            payouts.append(shipping)
    ledger = [p for p in payouts if p.kind == PayoutKind.STORE_CREDIT]
    for payout in ledger:
        _credit_issue(request, payout, payout_setup, actor=actor, now=now)
    outgoing = [p.pk for p in payouts if p.status == P.PENDING]
    transaction.on_commit(lambda: payouts_enqueue(outgoing))
    transaction.on_commit(lambda: settle_finished_lines(brand_id=brand_id, request_id=request.pk))
    return ResolveResult(created, len(settled & wanted), payouts)


def _payout_create(
    request: ReturnRequest,
    *,
    settlement: Settlement | None,
    subject: str,
    kind: str,
    amount: Decimal,
    provider: str,
    note: str,
) -> Payout:
    return Payout.objects.create(
        brand_id=request.brand_id,
        request=request,
        settlement=settlement,
        kind=kind,
        provider=provider,
        amount=amount,
        currency=request.currency,
        key=payout_key(subject=subject, kind=kind, amount=amount, currency=request.currency),
        note=note[:300],
    )


def _shipping_payout(request: ReturnRequest, payout_setup: PayoutSettings) -> Payout | None:
    """The order's shipping, refunded once per order whichever of its returns gets there first."""
    amount = request.order.total_shipping
    if amount <= 0:
        return None
    key = payout_key(
        subject=f"order{request.order_id}:shipping", kind="refund", amount=amount, currency=request.currency
    )
    if Payout.objects.filter(brand_id=request.brand_id, key=key).exists():
        return None
    try:
        with transaction.atomic():
            return _payout_create(
                request,
                settlement=None,
                subject=f"order{request.order_id}:shipping",
                kind=PayoutKind.REFUND,
                amount=amount,
                provider=payout_setup.refund_provider,
                note=f"{request.rma}: shipping of order {request.order.number}",
            )
    except IntegrityError:  # another return of the same order refunded it at the same moment
        return None


def _credit_issue(
    request: ReturnRequest, payout: Payout, payout_setup: PayoutSettings, *, actor: Actor, now: datetime
) -> None:
    """Store credit is Assay's own ledger: booked with the settlement, so it is done when this commits."""
    expires = now + timedelta(days=payout_setup.credit_expiry_days) if payout_setup.credit_expiry_days else None
    entry = credit.credit_book(
        brand_id=request.brand_id,
        email=request.email,
        customer_id=request.customer_id,
        currency=payout.currency,
        kind="issue",
        amount=payout.amount,
        key=payout.key,
        actor=actor,
        reason=f"return {request.rma}",
        expires_at=expires,
        payout_id=payout.pk,
    )
    payout.provider_reference = f"credit-{entry.pk}"
    payout.attempts = 1
    transition(payout, to=P.SUBMITTING, allowed=PAYOUT_ALLOWED, actor=actor, why="booked in the store credit ledger")
    payout.settled_at = now
    payout.save(update_fields=["provider_reference", "attempts", "settled_at"])
    transition(payout, to=P.SUCCEEDED, allowed=PAYOUT_ALLOWED, actor=actor, why="store credit issued")


# --- exchanges --------------------------------------------------------------------------------------


def _exchange_create(
    request: ReturnRequest,
    settlement: Settlement,
    proposal: Proposal,
    payout_setup: PayoutSettings,
    *,
    actor: Actor,
    now: datetime,
    instant: bool = False,
) -> list[Payout]:
    """The replacement: stock reserved and an outbound order when it is paid for; a downgrade's
    difference refunded. An upgrade waits for the shopper to pay the difference on a payment page;
    an instant exchange waits for the hold on their card."""
    line, breakdown, variant = proposal.line, proposal.breakdown, proposal.replacement
    if variant is None:
        raise Conflict(f"{request.rma}: line {line.pk} asks for an exchange with no replacement chosen")
    if instant:
        status = ExchangeStatus.AWAITING_HOLD
    else:
        status = ExchangeStatus.AWAITING_PAYMENT if breakdown.difference > 0 else ExchangeStatus.AWAITING_STOCK
    exchange = Exchange.objects.create(
        brand_id=request.brand_id,
        request=request,
        settlement=settlement,
        kind=line.exchange_kind or "variant",
        variant=variant,
        sku=variant.sku,
        title=f"{variant.product.title} {variant.title}".strip() if variant.product_id else variant.title,
        quantity=line.quantity,
        unit_price=variant.price,
        difference=breakdown.difference,
        currency=request.currency,
        status=status,
    )
    audit_record(
        brand_id=request.brand_id,
        subject=exchange,
        action="exchange_created",
        actor=actor,
        to_state=status,
        why=f"{line.exchange_kind or 'variant'} exchange for {variant.sku}",
    )
    if status == ExchangeStatus.AWAITING_STOCK:
        _exchange_fulfil(exchange, actor=actor, now=now)
    elif status == ExchangeStatus.AWAITING_HOLD:
        checkout_request(
            exchange=exchange,
            purpose=CheckoutPurpose.HOLD,
            amount=max(breakdown.replacement, breakdown.merchandise + breakdown.tax),
            provider=payout_setup.checkout_provider,
        )
    else:
        checkout_request(
            exchange=exchange,
            purpose=CheckoutPurpose.DIFFERENCE,
            amount=breakdown.difference,
            provider=payout_setup.checkout_provider,
        )
    payouts = []
    if breakdown.difference < 0:
        payouts.append(
            _payout_create(
                request,
                settlement=settlement,
                subject=f"line{line.pk}:exchange-difference",
                kind=PayoutKind.REFUND,
                amount=-breakdown.difference,
                provider=payout_setup.refund_provider,
                note=f"{request.rma}: difference for {variant.sku}",
            )
        )
    return payouts


def _exchange_fulfil(exchange: Exchange, *, actor: Actor, now: datetime) -> bool:
    """Reserve the stock and create the replacement order; False (and awaiting stock) when there is none."""
    variant = Variant.objects.select_for_update().get(pk=exchange.variant_id)
    if variant.inventory_quantity < exchange.quantity:
        if exchange.status != ExchangeStatus.AWAITING_STOCK:
            transition(
                exchange,
                to=ExchangeStatus.AWAITING_STOCK,
                allowed=EXCHANGE_ALLOWED,
                actor=actor,
                why=f"{variant.sku}: {max(variant.inventory_quantity, 0)} in stock, {exchange.quantity} needed",
            )
        return False
    variant.inventory_quantity -= exchange.quantity
    variant.save(update_fields=["inventory_quantity"])
    request = ReturnRequest.objects.select_related("order").get(pk=exchange.request_id)
    original = request.order
    number = f"{request.rma}-X"
    order = Order.objects.create(
        brand_id=exchange.brand_id,
        external_id=f"assay-exchange-{exchange.pk}",
        number=number,
        number_key=number.lower().replace("#", "").replace(" ", ""),
        email=original.email,
        customer_id=original.customer_id,
        currency=exchange.currency,
        subtotal=exchange.unit_price * exchange.quantity,
        total=max(exchange.difference, Decimal(0)),
        financial_status="paid" if exchange.difference > 0 else "exchange",
        placed_at=now,
        channel="exchange",
        source="assay",
        shipping_address=original.shipping_address,
        shipping_country=original.shipping_country,
        tags=["exchange", request.rma],
    )
    line = OrderLine.objects.create(
        brand_id=exchange.brand_id,
        order=order,
        external_id=f"assay-exchange-{exchange.pk}-1",
        sku=exchange.sku,
        variant_id=exchange.variant_id,
        product_id=variant.product_id,
        title=exchange.title,
        variant_title=variant.title,
        quantity=exchange.quantity,
        unit_price=exchange.unit_price,
    )
    # Its own shipment, waiting for a label: the warehouse packs it, the carrier's scans move it on.
    shipment = Shipment.objects.create(
        brand_id=exchange.brand_id,
        order=order,
        external_id=f"assay-exchange-{exchange.pk}",
        status=ShipmentStatus.PRE_TRANSIT,
    )
    ShipmentLine.objects.create(shipment=shipment, line=line, quantity=exchange.quantity)
    audit_record(
        brand_id=exchange.brand_id,
        subject=order,
        action="order_created",
        actor=actor,
        why=f"replacement for return {request.rma}",
        data={"exchange_id": exchange.pk, "sku": exchange.sku},
    )
    exchange.replacement_order = order
    exchange.stock_reserved = True
    exchange.save(update_fields=["replacement_order", "stock_reserved"])
    transition(
        exchange,
        to=ExchangeStatus.READY,
        allowed=EXCHANGE_ALLOWED,
        actor=actor,
        why=f"stock reserved; replacement order {number}",
    )
    return True


def exchange_fulfil_locked(exchange: Exchange, *, actor: Actor, now: datetime) -> bool:
    """Fulfil an exchange the caller holds locked (its payment or hold is in): stock, replacement order."""
    return _exchange_fulfil(exchange, actor=actor, now=now)


@transaction.atomic
def exchange_difference_paid(*, brand_id: int, exchange_id: int, actor: Actor, reference: str) -> Exchange:
    """The shopper paid an upgrade's difference (`reference`: the payment's id): fulfil the exchange."""
    reference = reason_clean(reference)
    if not reference:
        raise InvalidInput("give the payment's reference (the provider's id or a receipt number)")
    exchange = Exchange.objects.select_for_update().filter(brand_id=brand_id, pk=exchange_id).first()
    if exchange is None:
        raise NotFound(f"no exchange {exchange_id}")
    if exchange.status != ExchangeStatus.AWAITING_PAYMENT:
        raise Conflict(f"the exchange is {exchange.get_status_display().lower()}: no difference is awaited")
    exchange.payment_reference = reference
    exchange.save(update_fields=["payment_reference"])
    _exchange_fulfil(exchange, actor=actor, now=timezone.now())
    return exchange


@transaction.atomic
def exchange_retry_stock(*, brand_id: int, exchange_id: int, actor: Actor) -> Exchange:
    """Try again to reserve the replacement of an exchange waiting for stock."""
    exchange = Exchange.objects.select_for_update().filter(brand_id=brand_id, pk=exchange_id).first()
    if exchange is None:
        raise NotFound(f"no exchange {exchange_id}")
    if exchange.status != ExchangeStatus.AWAITING_STOCK:
        raise Conflict(f"the exchange is {exchange.get_status_display().lower()}, not waiting for stock")
    if not _exchange_fulfil(exchange, actor=actor, now=timezone.now()):
        raise Conflict(f"{exchange.sku} is still out of stock")
    return exchange


def _shop_record(request: ReturnRequest) -> None:
    """The shop's record of the return: opened once authorised, and kept in step after each move."""
    provider = payout_settings(request.brand_id).record_returns_in
    if not provider:
        return
    record = shop_return_ensure(request=request, provider=provider)
    if record is not None and record.status == "open":
        transaction.on_commit(lambda: shop_return_sync(record_id=record.pk))


# Before the parcel is on its way: an instant exchange's replacement can go out now.
BEFORE_SHIPPING: frozenset[str] = frozenset({S.AUTHORISED, S.AWAITING_SHIPMENT})


def _instant_exchanges(request: ReturnRequest, terms: ResolutionTerms) -> set[int]:
    """Lines the policy lets go out as instant exchanges: even swaps worth at most its ceiling."""
    if not terms.instant_exchange:
        return set()
    instant = set()
    for proposal in resolution_propose(brand_id=request.brand_id, request_id=request.pk):
        b = proposal.breakdown
        if (
            b.resolution == "exchange"
            and proposal.replacement is not None
            and proposal.line.status in BEFORE_SHIPPING
            and b.difference == 0
            and b.merchandise + b.tax <= terms.instant_exchange_max_value
        ):
            instant.add(proposal.line.pk)
    return instant


def resolutions_due(*, brand_id: int, request_id: int, now: datetime | None = None) -> ResolveResult:
    """Settle the lines of a request that reached its policy's timing, start its instant exchanges,
    and release or charge its card holds (called after each move, and by the sweep)."""
    request = ReturnRequest.objects.filter(brand_id=brand_id, pk=request_id).first()
    if request is None:
        raise NotFound(f"no return request {request_id}")
    holds_settle_for_request(request_id=request_id, now=now)
    _shop_record(request)
    terms = resolution_terms(request)
    reached = REACHED[terms.resolve_on]
    lines = list(ReturnLine.objects.filter(request=request).values_list("pk", "status", "decision"))
    due = {
        pk
        for pk, status, decision in lines
        if status in reached or (status in SETTLEABLE and (decision or {}).get("keep_item"))
    }
    instant = _instant_exchanges(request, terms)
    if not due and not instant:
        return ResolveResult([], 0, [])
    return return_resolve(
        brand_id=brand_id,
        request_id=request_id,
        actor=Actor.system("return policy"),
        trigger=terms.resolve_on,
        line_ids=due | instant,
        instant_line_ids=instant,
        now=now,
    )


def resolutions_sweep(*, now: datetime | None = None, limit: int = 500) -> int:
    """Every few minutes: requests with lines past their timing and not settled (a lost trigger)."""
    now = now or timezone.now()
    # Lines that moved lately: a trigger lost in a crash is found within the window, and the sweep
    # does not re-read every authorised return waiting for its parcel, every time.
    candidates = (
        ReturnLine.objects.filter(status__in=SETTLEABLE, settlement__isnull=True, updated_at__gte=now - SWEEP_WINDOW)
        .values_list("brand_id", "request_id")
        .distinct()
        .order_by("request_id")[:limit]
    )
    settled = 0
    for brand_id, request_id in candidates:
        try:
            settled += len(resolutions_due(brand_id=brand_id, request_id=request_id, now=now).settlements)
        except (Conflict, InvalidInput) as exc:
            logger.warning("return request %s could not be settled: %s", request_id, exc)
    return settled
