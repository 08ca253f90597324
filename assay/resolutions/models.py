"""Settlements of returned lines, the payouts that carry them out, store credit, exchanges."""

from __future__ import annotations

from django.db import models

from assay.core.models import BrandOwned, MoneyField, TimeStamped
from assay.resolutions.status import CheckoutStatus, ExchangeStatus, PayoutStatus


class PayoutKind(models.TextChoices):
    REFUND = "refund", "Refund to the original payment"
    STORE_CREDIT = "store_credit", "Store credit"
    GIFT_CARD = "gift_card", "Gift card"
    COUPON = "coupon", "Coupon"


class ResolveOn(models.TextChoices):
    APPROVAL = "approval", "On approval"
    FIRST_SCAN = "first_scan", "On the carrier's first scan"
    RECEIPT = "receipt", "On receipt"
    INSPECTION = "inspection", "After inspection"


class PayoutSettings(TimeStamped):
    """Which provider carries out each kind of payout for a brand, and where it is reached.

    Secrets are not here: they are the brand's integration secrets (stripe, shopify_admin).
    """

    brand = models.OneToOneField("brands.Brand", on_delete=models.CASCADE, related_name="payout_settings")
    refund_provider = models.CharField(
        max_length=20, default="simulated", help_text="simulated, stripe, shopify, manual"
    )
    gift_card_provider = models.CharField(max_length=20, default="simulated", help_text="simulated, shopify")
    coupon_provider = models.CharField(max_length=20, default="simulated", help_text="simulated, shopify")
    store_credit_as_gift_card = models.BooleanField(
        default=False, help_text="issue store credit as a gift card at the gift card provider instead of Assay's ledger"
    )
    credit_expiry_days = models.PositiveIntegerField(default=365, help_text="0 = store credit never expires")
    checkout_provider = models.CharField(
        max_length=20, default="simulated", help_text="payment pages for differences and holds: simulated, stripe"
    )
    record_returns_in = models.CharField(
        max_length=20, blank=True, default="", help_text="record each return in the shop too: shopify; empty = no"
    )
    stripe_api_base = models.CharField(max_length=200, default="https://api.stripe.com")
    shopify_api_base = models.CharField(max_length=200, blank=True, help_text="default: https://<shop domain>")
    shopify_api_version = models.CharField(max_length=10, default="2025-01")

    def __str__(self) -> str:
        return f"payout settings of brand {self.brand_id}"


class Settlement(BrandOwned):
    """How one returned line is settled: the amounts, broken down, as confirmed. One per line, ever.

    The unique line is what makes a resolution happen once: a second confirmation, by a retry,
    a second click or a second worker, finds this row and changes nothing.
    """

    request = models.ForeignKey("returns.ReturnRequest", on_delete=models.RESTRICT, related_name="settlements")
    return_line = models.OneToOneField("returns.ReturnLine", on_delete=models.RESTRICT, related_name="settlement")
    resolution = models.CharField(max_length=20, help_text="refund, store_credit, exchange, gift_card, coupon")
    currency = models.CharField(max_length=3)
    breakdown = models.JSONField(default=dict, help_text="merchandise, tax, fees, bonus, shipping, total")
    amount = MoneyField(help_text="what the shopper receives for this line (refund, credit or card)")
    proposed_amount = MoneyField(help_text="what the policy gave before any adjustment")
    adjustment_reason = models.TextField(blank=True)
    confirmed_by = models.CharField(max_length=200)
    trigger = models.CharField(max_length=20, help_text="approval, first_scan, receipt, inspection, staff, api")

    class Meta:
        ordering = ["request_id", "id"]

    def __str__(self) -> str:
        return f"{self.resolution} {self.amount} {self.currency} for line {self.return_line_id}"


class Payout(BrandOwned):
    """One money movement out of the brand, recorded before the provider is asked to make it."""

    request = models.ForeignKey("returns.ReturnRequest", on_delete=models.RESTRICT, related_name="payouts")
    settlement = models.ForeignKey(Settlement, on_delete=models.RESTRICT, null=True, blank=True, related_name="payouts")
    kind = models.CharField(max_length=20, choices=PayoutKind.choices)
    provider = models.CharField(max_length=20)
    amount = MoneyField()
    currency = models.CharField(max_length=3)
    key = models.CharField(max_length=120, help_text="idempotency key: what it settles, its kind and amount")
    status = models.CharField(max_length=20, choices=PayoutStatus.choices, default=PayoutStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0, help_text="also the fence: a write-back names its attempt")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True, help_text="a worker's hold while it calls the provider")
    provider_reference = models.CharField(max_length=120, blank=True)
    code = models.CharField(max_length=40, blank=True, help_text="gift card or coupon code")
    last_error = models.TextField(blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["brand", "key"], name="payout_unique_brand_key")]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="payout_status_due_idx"),
            models.Index(fields=["brand", "status", "-created_at"], name="payout_brand_status_idx"),
        ]
        ordering = ["request_id", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.currency} ({self.status})"


class CreditAccount(BrandOwned):
    """A shopper's store credit at one brand, in one currency. Locked while an entry is added."""

    email = models.CharField(max_length=254, help_text="lowercased")
    customer = models.ForeignKey("orders.Customer", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    currency = models.CharField(max_length=3)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["brand", "email", "currency"], name="credit_account_unique_email_currency")
        ]

    def __str__(self) -> str:
        return f"{self.email} {self.currency}"


class CreditEntryKind(models.TextChoices):
    ISSUE = "issue", "Issued"
    REDEEM = "redeem", "Redeemed"
    EXPIRE = "expire", "Expired"
    ADJUST = "adjust", "Adjusted"


class CreditEntry(BrandOwned):
    """One line of the store credit ledger: never edited, never deleted. The balance is their sum."""

    account = models.ForeignKey(CreditAccount, on_delete=models.RESTRICT, related_name="entries")
    kind = models.CharField(max_length=10, choices=CreditEntryKind.choices)
    amount = MoneyField(help_text="positive adds credit, negative takes it")
    key = models.CharField(max_length=120, help_text="idempotency key: the same key never books twice")
    expires_at = models.DateTimeField(null=True, blank=True, help_text="credit added: when what is left expires")
    expires_entry = models.ForeignKey(
        "self", on_delete=models.RESTRICT, null=True, blank=True, related_name="+", help_text="an expiry: which credit"
    )
    payout = models.ForeignKey(Payout, on_delete=models.RESTRICT, null=True, blank=True, related_name="credit_entries")
    reason = models.CharField(max_length=300, blank=True)
    actor = models.CharField(max_length=200)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["brand", "key"], name="credit_entry_unique_brand_key")]
        indexes = [models.Index(fields=["kind", "expires_at"], name="credit_entry_expiry_idx")]
        ordering = ["account_id", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount}"


class Exchange(BrandOwned):
    """A replacement for a returned line: another size, variant or piece, sent as its own order."""

    request = models.ForeignKey("returns.ReturnRequest", on_delete=models.RESTRICT, related_name="exchanges")
    settlement = models.OneToOneField(Settlement, on_delete=models.RESTRICT, related_name="exchange")
    kind = models.CharField(max_length=10, help_text="size, variant or product")
    variant = models.ForeignKey("catalog.Variant", on_delete=models.RESTRICT, related_name="+")
    sku = models.CharField(max_length=100)
    title = models.CharField(max_length=255)
    quantity = models.PositiveIntegerField()
    unit_price = MoneyField(help_text="the replacement's price")
    difference = MoneyField(help_text="> 0 the shopper pays it; < 0 refunded to them")
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=20, choices=ExchangeStatus.choices)
    replacement_order = models.OneToOneField(
        "orders.Order", on_delete=models.RESTRICT, null=True, blank=True, related_name="exchange"
    )
    payment_reference = models.CharField(max_length=120, blank=True, help_text="how the difference was paid")
    stock_reserved = models.BooleanField(default=False)

    class Meta:
        ordering = ["request_id", "id"]

    def __str__(self) -> str:
        return f"exchange for {self.sku} ({self.status})"


class CheckoutPurpose(models.TextChoices):
    DIFFERENCE = "difference", "The difference for a dearer replacement"
    HOLD = "hold", "A card hold for an instant exchange"


class Checkout(BrandOwned):
    """A payment page for the shopper: recorded before the provider is asked for it, like a payout."""

    request = models.ForeignKey("returns.ReturnRequest", on_delete=models.RESTRICT, related_name="checkouts")
    exchange = models.ForeignKey(Exchange, on_delete=models.RESTRICT, related_name="checkouts")
    purpose = models.CharField(max_length=10, choices=CheckoutPurpose.choices)
    provider = models.CharField(max_length=20)
    amount = MoneyField()
    currency = models.CharField(max_length=3)
    key = models.CharField(max_length=120, help_text="idempotency key: the exchange, purpose and attempt")
    status = models.CharField(max_length=10, choices=CheckoutStatus.choices, default=CheckoutStatus.CREATING)
    session_id = models.CharField(max_length=200, blank=True)
    url = models.CharField(max_length=1000, blank=True)
    payment_reference = models.CharField(max_length=120, blank=True)
    charge_reference = models.CharField(max_length=120, blank=True, help_text="a captured hold's charge")
    last_error = models.TextField(blank=True)
    next_check_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["brand", "key"], name="checkout_unique_brand_key")]
        indexes = [models.Index(fields=["status", "next_check_at"], name="checkout_status_due_idx")]
        ordering = ["request_id", "id"]

    def __str__(self) -> str:
        return f"{self.purpose} {self.amount} {self.currency} ({self.status})"


class SimulatedCheckout(TimeStamped):
    """The demo provider's payment pages: the shopper 'pays' on Assay's own page, no money moves."""

    session_id = models.CharField(max_length=40, unique=True)
    key = models.CharField(max_length=120, unique=True)
    purpose = models.CharField(max_length=10)
    amount = MoneyField()
    currency = models.CharField(max_length=3)
    description = models.CharField(max_length=300)
    success_url = models.CharField(max_length=1000)
    status = models.CharField(max_length=10, default="open", help_text="open, paid, held, released, captured")

    def __str__(self) -> str:
        return self.session_id


class SimulatedPayment(TimeStamped):
    """The demo's payment provider: what it has paid, by idempotency key, so it can be asked again."""

    key = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=20)
    amount = MoneyField()
    currency = models.CharField(max_length=3)
    reference = models.CharField(max_length=40)
    code = models.CharField(max_length=40, blank=True)

    def __str__(self) -> str:
        return self.reference


class ShopReturnStatus(models.TextChoices):
    PENDING = "pending", "To record"
    OPEN = "open", "Recorded in the shop"
    CLOSED = "closed", "Closed in the shop"
    CANCELLED = "cancelled", "Cancelled in the shop"
    FAILED = "failed", "Needs attention"


class ShopReturn(BrandOwned):
    """The return as the shop records it (Shopify's Returns): opened once the return is authorised,
    closed once resolved, cancelled with it. Recorded before the shop is asked, one per return."""

    request = models.OneToOneField("returns.ReturnRequest", on_delete=models.RESTRICT, related_name="shop_return")
    provider = models.CharField(max_length=20)
    status = models.CharField(max_length=10, choices=ShopReturnStatus.choices, default=ShopReturnStatus.PENDING)
    reference = models.CharField(max_length=200, blank=True, help_text="the shop's id of the return")
    shop_status = models.CharField(max_length=20, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="shop_return_due_idx")]

    def __str__(self) -> str:
        return f"{self.provider} return {self.reference or '(not yet)'}"
