"""The life of a payout and of an exchange, on one screen."""

from __future__ import annotations

from django.db import models


class PayoutStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # recorded, not sent yet
    SUBMITTING = "submitting", "Submitting"  # a worker holds it and is calling the provider
    PROCESSING = "processing", "Processing"  # the provider accepted it and has not settled it yet
    RETRY = "retry", "Waiting to retry"  # a transient failure; sent again at next_attempt_at
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Needs attention"  # refused by the provider, or retries ran out: staff decide
    CANCELLED = "cancelled", "Cancelled"


P = PayoutStatus

PAYOUT_ALLOWED: dict[str, set[str]] = {
    P.PENDING: {P.SUBMITTING, P.CANCELLED},
    # From submitting, a worker writes the outcome back; after a crash, reconciliation does.
    P.SUBMITTING: {P.SUCCEEDED, P.PROCESSING, P.RETRY, P.FAILED, P.SUBMITTING},
    P.PROCESSING: {P.SUCCEEDED, P.FAILED, P.SUBMITTING},
    P.RETRY: {P.SUBMITTING, P.CANCELLED},
    # Staff may send a refused payout again (same key: the provider still cannot pay it twice) or cancel it.
    P.FAILED: {P.RETRY, P.CANCELLED},
    P.SUCCEEDED: set(),
    P.CANCELLED: set(),
}

# A worker may take these (PENDING and RETRY when due; SUBMITTING and PROCESSING to reconcile).
CLAIMABLE: frozenset[str] = frozenset({P.PENDING, P.RETRY})
SETTLED: frozenset[str] = frozenset({P.SUCCEEDED, P.CANCELLED})


class ExchangeStatus(models.TextChoices):
    AWAITING_HOLD = "awaiting_hold", "Awaiting the card hold"  # an instant exchange: ships once the hold is in place
    AWAITING_PAYMENT = "awaiting_payment", "Awaiting the difference"  # an upgrade: the shopper pays first
    AWAITING_STOCK = "awaiting_stock", "Awaiting stock"  # the replacement sold out since the request
    READY = "ready", "Ready to ship"  # stock reserved, replacement order created
    SHIPPED = "shipped", "Shipped"
    CANCELLED = "cancelled", "Cancelled"


E = ExchangeStatus

EXCHANGE_ALLOWED: dict[str, set[str]] = {
    E.AWAITING_HOLD: {E.READY, E.AWAITING_STOCK, E.CANCELLED},
    E.AWAITING_PAYMENT: {E.READY, E.AWAITING_STOCK, E.CANCELLED},
    E.AWAITING_STOCK: {E.READY, E.CANCELLED},
    E.READY: {E.SHIPPED, E.CANCELLED},
    E.SHIPPED: set(),
    E.CANCELLED: set(),
}


class CheckoutStatus(models.TextChoices):
    """A payment page sent to the shopper: an exchange's difference, or an instant exchange's hold."""

    CREATING = "creating", "Being created"  # recorded; the provider has not given a page yet
    OPEN = "open", "Waiting for the shopper"
    PAID = "paid", "Paid"
    HELD = "held", "Held on the card"
    RELEASED = "released", "Hold released"  # the return arrived
    CAPTURED = "captured", "Hold charged"  # the return never came
    EXPIRED = "expired", "Expired unpaid"
    FAILED = "failed", "Needs attention"


C = CheckoutStatus

CHECKOUT_ALLOWED: dict[str, set[str]] = {
    C.CREATING: {C.OPEN, C.FAILED},
    C.OPEN: {C.PAID, C.HELD, C.EXPIRED},
    C.HELD: {C.RELEASED, C.CAPTURED},
    C.FAILED: {C.CREATING},
    C.PAID: set(),
    C.RELEASED: set(),
    C.CAPTURED: set(),
    C.EXPIRED: set(),
}


# The shop's record of a return: see models.ShopReturnStatus.
SHOP_RETURN_ALLOWED: dict[str, set[str]] = {
    "pending": {"open", "failed", "cancelled"},
    "failed": {"pending"},
    "open": {"closed", "cancelled"},
    "closed": set(),
    "cancelled": set(),
}
