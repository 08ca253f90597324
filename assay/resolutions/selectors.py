"""Reads of resolutions: a return's settlements, payouts and exchanges; payouts needing staff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from assay.resolutions.credit import Balance, credit_balances
from assay.resolutions.models import (
    Checkout,
    CheckoutPurpose,
    Exchange,
    Payout,
    ResolveOn,
    Settlement,
    ShopReturn,
)
from assay.resolutions.services import resolution_terms
from assay.resolutions.status import CheckoutStatus, PayoutStatus
from assay.returns.models import ReturnRequest


@dataclass(frozen=True, slots=True)
class PayoutData:
    id: int
    kind: str
    amount: Decimal
    currency: str
    status: str
    provider: str
    provider_reference: str
    code: str
    attempts: int
    last_error: str
    next_attempt_at: datetime | None
    settled_at: datetime | None
    line_id: int | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ExchangeData:
    id: int
    line_id: int
    kind: str
    sku: str
    title: str
    quantity: int
    unit_price: Decimal
    difference: Decimal
    currency: str
    status: str
    replacement_order_number: str
    payment_reference: str
    pay_url: str = ""  # the open payment page for the difference or the hold, if any
    checkout_status: str = ""  # the latest payment page's status: open, paid, held, released...
    hold_amount: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class SettlementData:
    line_id: int
    resolution: str
    amount: Decimal
    proposed_amount: Decimal
    currency: str
    breakdown: dict[str, Any]
    adjustment_reason: str
    confirmed_by: str
    trigger: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ShopReturnData:
    id: int
    provider: str
    status: str
    reference: str
    shop_status: str
    last_error: str


@dataclass(frozen=True, slots=True)
class ResolutionView:
    settlements: list[SettlementData]
    payouts: list[PayoutData]
    exchanges: list[ExchangeData]
    shop_return: ShopReturnData | None = None


def _payout(p: Payout) -> PayoutData:
    line_id = p.settlement.return_line_id if p.settlement is not None else None
    return PayoutData(
        p.pk,
        p.kind,
        p.amount,
        p.currency,
        p.status,
        p.provider,
        p.provider_reference,
        p.code,
        p.attempts,
        p.last_error,
        p.next_attempt_at,
        p.settled_at,
        line_id,
        p.created_at,
    )


def _checkout_fields(checkout: Checkout | None) -> tuple[str, str, Decimal]:
    if checkout is None:
        return "", "", Decimal(0)
    url = checkout.url if checkout.status == CheckoutStatus.OPEN else ""
    hold = checkout.amount if checkout.purpose == CheckoutPurpose.HOLD else Decimal(0)
    return url, checkout.status, hold


def resolution_view(*, brand_id: int, request_id: int) -> ResolutionView:
    """Everything settled on a return so far, and the shop's record of it. Five queries."""
    settlements = [
        SettlementData(
            s.return_line_id,
            s.resolution,
            s.amount,
            s.proposed_amount,
            s.currency,
            s.breakdown,
            s.adjustment_reason,
            s.confirmed_by,
            s.trigger,
            s.created_at,
        )
        for s in Settlement.objects.filter(brand_id=brand_id, request_id=request_id).order_by("id")
    ]
    payouts = [
        _payout(p)
        for p in Payout.objects.filter(brand_id=brand_id, request_id=request_id)
        .select_related("settlement")
        .order_by("id")
    ]
    checkouts: dict[int, Checkout] = {}
    for checkout in Checkout.objects.filter(brand_id=brand_id, request_id=request_id).order_by("id"):
        checkouts[checkout.exchange_id] = checkout  # the latest per exchange
    exchanges = [
        ExchangeData(
            e.pk,
            e.settlement.return_line_id,
            e.kind,
            e.sku,
            e.title,
            e.quantity,
            e.unit_price,
            e.difference,
            e.currency,
            e.status,
            e.replacement_order.number if e.replacement_order is not None else "",
            e.payment_reference,
            *_checkout_fields(checkouts.get(e.pk)),
        )
        for e in Exchange.objects.filter(brand_id=brand_id, request_id=request_id)
        .select_related("settlement", "replacement_order")
        .order_by("id")
    ]
    record = ShopReturn.objects.filter(brand_id=brand_id, request_id=request_id).first()
    shop_return = (
        ShopReturnData(
            record.pk, record.provider, record.status, record.reference, record.shop_status, record.last_error
        )
        if record is not None
        else None
    )
    return ResolutionView(settlements, payouts, exchanges, shop_return)


def payouts_needing_attention(*, brand_ids: list[int], limit: int = 100) -> list[dict[str, Any]]:
    """Payouts staff must look at: refused or out of retries, and manual ones to record. Oldest first."""
    rows = (
        Payout.objects.filter(brand_id__in=brand_ids)
        .filter(status__in=[PayoutStatus.FAILED, PayoutStatus.PROCESSING])
        .exclude(status=PayoutStatus.PROCESSING, provider__in=["stripe", "shopify", "simulated"])
        .select_related("request")
        .order_by("created_at", "id")[:limit]
    )
    return [
        {
            "id": p.pk,
            "brand_id": p.brand_id,
            "rma": p.request.rma,
            "kind": p.kind,
            "amount": p.amount,
            "currency": p.currency,
            "status": p.status,
            "provider": p.provider,
            "last_error": p.last_error,
            "attempts": p.attempts,
            "created_at": p.created_at,
        }
        for p in rows
    ]


def resolution_timing(*, brand_id: int, request_id: int) -> str:
    """When the policy settles this return, in words: "after inspection", "on receipt"..."""
    request = ReturnRequest.objects.filter(brand_id=brand_id, pk=request_id).first()
    if request is None:
        return ""
    return str(ResolveOn(resolution_terms(request).resolve_on).label).lower()


def shopper_credit(*, brand_id: int, email: str) -> list[Balance]:
    """The shopper's store credit balances (for the status page)."""
    return [balance for balance in credit_balances(brand_id=brand_id, email=email) if balance.amount != 0]


_PAYOUT_WORDS = {
    "refund": "Refund to your original payment",
    "store_credit": "Store credit",
    "gift_card": "Gift card",
    "coupon": "Coupon",
}


@dataclass(frozen=True, slots=True)
class ShopperPayout:
    what: str  # "Refund to your original payment"
    amount: Decimal
    currency: str
    done: bool
    state: str  # "Sent on 3 May" / "In progress"
    code_hint: str  # the last characters of a gift card or coupon code


@dataclass(frozen=True, slots=True)
class ShopperOutcome:
    payouts: list[ShopperPayout]
    exchanges: list[ExchangeData]
    credit: list[Balance]


def shopper_outcome(*, brand_id: int, request_id: int, email: str) -> ShopperOutcome:
    """What the shopper gets back, in their words: no provider, error or staff detail. Six queries."""
    view = resolution_view(brand_id=brand_id, request_id=request_id)
    payouts = [
        ShopperPayout(
            what=_PAYOUT_WORDS.get(p.kind, p.kind),
            amount=p.amount,
            currency=p.currency,
            done=p.status == PayoutStatus.SUCCEEDED,
            state=(
                f"Issued on {p.settled_at:%-d %B %Y}"
                if p.status == PayoutStatus.SUCCEEDED and p.settled_at is not None
                else "In progress"
            ),
            code_hint=p.code[-4:] if p.code else "",
        )
        for p in view.payouts
        if p.status != PayoutStatus.CANCELLED
    ]
    return ShopperOutcome(payouts, view.exchanges, shopper_credit(brand_id=brand_id, email=email))


def payout_of(request_id: int, payout_id: int) -> bool:
    """Whether the payout is one of this return's."""
    return Payout.objects.filter(request_id=request_id, pk=payout_id).exists()


def exchange_of(request_id: int, exchange_id: int) -> bool:
    """Whether the exchange is one of this return's."""
    return Exchange.objects.filter(request_id=request_id, pk=exchange_id).exists()
