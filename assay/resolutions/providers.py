"""What a payment provider must do for Assay, and where integrations register theirs.

The domain defines this protocol; each adapter in `assay/integrations/` implements it and registers
itself when its app is ready (the domain never imports an integration).

Exactly once rests on two calls:
- `submit` carries the payout's idempotency key to the provider (Stripe's `Idempotency-Key`
  header, a note or code Shopify keeps), so a repeated submit with the same key cannot pay twice;
- `lookup` asks the provider, by that key, what became of a payout whose outcome was never written
  back (a crash between the call and the write-back): `None` means the provider never saw it, and
  only then may the payout be submitted afresh.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal, Protocol

PayoutKind = Literal["refund", "store_credit", "gift_card", "coupon"]
OutcomeStatus = Literal["succeeded", "pending", "failed"]


@dataclass(frozen=True, slots=True)
class PayoutLine:
    """A returned order line a refund settles: the shop's line id, how many, and the amount."""

    line_external_id: str
    quantity: int
    amount: Decimal


@dataclass(frozen=True, slots=True)
class ProviderAccount:
    """How to reach a brand's account at the provider: base URL and the secret (never logged)."""

    api_base: str
    secret: str
    options: Mapping[str, str] = field(default_factory=dict)  # e.g. {"api_version": "2025-01"}


@dataclass(frozen=True, slots=True)
class PayoutInstruction:
    """One money movement, as the provider is asked to make it.

    `key` is the idempotency key, derived from what the payout settles; `amount` is in major units
    (Decimal) and `currency` an ISO 4217 code; the adapter converts to the provider's minor units.
    """

    key: str
    kind: PayoutKind
    amount: Decimal
    currency: str
    order_external_id: str
    payment_reference: str  # e.g. a Stripe PaymentIntent id; "" when the shop keeps the payment
    customer_external_id: str
    customer_email: str
    note: str
    lines: tuple[PayoutLine, ...] = ()
    code: str = ""  # gift cards and coupons: the code to create (derived from the key)


@dataclass(frozen=True, slots=True)
class ProviderOutcome:
    """What the provider answered. `reference` is its id for the payout (refund id, gift card id)."""

    status: OutcomeStatus
    reference: str
    detail: str = ""
    code: str = ""  # gift card or coupon code as the provider holds it


class ProviderError(Exception):
    """A call that did not settle. `transient` errors (timeouts, 5xx, 429, lost connections) are
    retried with backoff; the others (a card declined, an order the provider does not know, bad
    credentials) go to the staff queue with `reason` at once."""

    def __init__(self, reason: str, *, transient: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient


class PayoutProvider(Protocol):
    name: str
    kinds: frozenset[str]  # which payout kinds it can make

    def submit(self, instruction: PayoutInstruction, account: ProviderAccount) -> ProviderOutcome: ...

    def lookup(self, instruction: PayoutInstruction, account: ProviderAccount) -> ProviderOutcome | None: ...


_PROVIDERS: dict[str, PayoutProvider] = {}


def register(provider: PayoutProvider) -> None:
    _PROVIDERS[provider.name] = provider


def provider_named(name: str) -> PayoutProvider | None:
    return _PROVIDERS.get(name)


def provider_names() -> list[str]:
    return sorted(_PROVIDERS)


# --- collecting money from the shopper: an exchange's difference, an instant exchange's hold --------

CheckoutPurpose = Literal["difference", "hold"]
CheckoutStatus = Literal["open", "paid", "held", "expired"]


@dataclass(frozen=True, slots=True)
class CheckoutInstruction:
    """A page where the shopper pays (`difference`: charged at once) or authorises a hold on their card
    (`hold`: captured later only if the return never arrives). `key` is the idempotency key."""

    key: str
    purpose: CheckoutPurpose
    amount: Decimal
    currency: str
    description: str  # shown on the payment page, e.g. "Difference for RMA R-100123: Solitaire ring, size 7"
    customer_email: str
    success_url: str  # where the shopper lands once done (their return's status page)
    cancel_url: str
    expires_in_hours: int = 23  # Stripe allows 0.5 to 24 hours


@dataclass(frozen=True, slots=True)
class CheckoutState:
    """A checkout as the provider sees it. `payment_reference` (e.g. a PaymentIntent id) is set once
    paid or held; a hold is released or captured through it."""

    session_id: str
    url: str
    status: CheckoutStatus
    payment_reference: str = ""


class CheckoutProvider(Protocol):
    name: str

    def checkout_create(self, instruction: CheckoutInstruction, account: ProviderAccount) -> CheckoutState: ...

    def checkout_state(self, session_id: str, account: ProviderAccount) -> CheckoutState: ...

    def hold_release(self, payment_reference: str, account: ProviderAccount, *, key: str) -> None:
        """Let a hold go (the return arrived). Releasing one already released is not an error."""

    def hold_capture(
        self, payment_reference: str, amount: Decimal, currency: str, account: ProviderAccount, *, key: str
    ) -> str:
        """Charge a held amount (the return never came); returns the charge's reference. Capturing one
        already captured answers the same reference."""


_CHECKOUTS: dict[str, CheckoutProvider] = {}


def register_checkout(provider: CheckoutProvider) -> None:
    _CHECKOUTS[provider.name] = provider


def checkout_provider_named(name: str) -> CheckoutProvider | None:
    return _CHECKOUTS.get(name)


# --- the return as the shop records it (Shopify's Returns) ------------------------------------------


@dataclass(frozen=True, slots=True)
class ShopReturnLine:
    """A returned line as the shop knows it: the shop's order line id, how many, and why."""

    line_external_id: str
    quantity: int
    reason: str  # Assay's reason code: size_too_small, damaged, style ...
    note: str = ""


@dataclass(frozen=True, slots=True)
class ShopReturnInstruction:
    """Record Assay's return in the shop, so the shop's admin, analytics and customer account show it.
    `key` is Assay's RMA (e.g. "R-100123"); the shop keeps no key of ours, so `find` matches on the
    order and its lines."""

    key: str
    order_external_id: str
    lines: tuple[ShopReturnLine, ...]
    requested_at: datetime
    notify_customer: bool = False


@dataclass(frozen=True, slots=True)
class ShopReturnState:
    reference: str  # the shop's id of the return, e.g. "gid://shopify/Return/123"
    status: str  # the shop's status, lowercased: requested, open, closed, declined, canceled


class ShopReturnProvider(Protocol):
    name: str

    def return_find(self, instruction: ShopReturnInstruction, account: ProviderAccount) -> ShopReturnState | None:
        """The shop's return for these lines of this order, opened earlier (by us or by a retry of ours)."""

    def return_open(self, instruction: ShopReturnInstruction, account: ProviderAccount) -> ShopReturnState: ...

    def return_close(self, reference: str, account: ProviderAccount) -> ShopReturnState:
        """Close the shop's return once Assay resolved it; closing a closed one is not an error."""

    def return_cancel(self, reference: str, account: ProviderAccount) -> ShopReturnState:
        """Cancel it when Assay's return was cancelled, rejected or expired; idempotent likewise."""


_SHOP_RETURNS: dict[str, ShopReturnProvider] = {}


def register_shop_returns(provider: ShopReturnProvider) -> None:
    _SHOP_RETURNS[provider.name] = provider


def shop_returns_named(name: str) -> ShopReturnProvider | None:
    return _SHOP_RETURNS.get(name)
