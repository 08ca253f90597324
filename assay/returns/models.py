"""Return requests (RMAs), their lines, internal notes and the shopper's photos."""

from __future__ import annotations

from django.db import models

from assay.core.models import BrandOwned, MoneyField
from assay.returns.status import ReturnStatus


class ReturnMethod(models.TextChoices):
    MAIL = "mail", "Mail with a prepaid label"
    DROP_OFF = "drop_off", "Drop off with a QR code"
    IN_STORE = "in_store", "Return in store"


class Resolution(models.TextChoices):
    REFUND = "refund", "Refund"
    STORE_CREDIT = "store_credit", "Store credit"
    EXCHANGE = "exchange", "Exchange"


class ExchangeKind(models.TextChoices):
    SIZE = "size", "Another ring size of the same piece"
    VARIANT = "variant", "Another variant"
    PRODUCT = "product", "Another product"


class ReturnReason(models.TextChoices):
    SIZE_TOO_SMALL = "size_too_small", "Size too small"
    SIZE_TOO_LARGE = "size_too_large", "Size too large"
    NOT_AS_DESCRIBED = "not_as_described", "Not as described"
    DAMAGED = "damaged", "Damaged or defective"
    CHANGED_MIND = "changed_mind", "Changed my mind"
    STYLE = "style", "Not my style"
    ARRIVED_LATE = "arrived_late", "Arrived too late"
    OTHER = "other", "Other"


class ReturnSource(models.TextChoices):
    PORTAL = "portal", "Shopper portal"
    API = "api", "API"
    STAFF = "staff", "Staff"
    DEMO = "demo", "Demo data"


class ReturnRequest(BrandOwned):
    """One RMA: what the shopper sends back, why, what they want instead, and the policy's decision."""

    rma = models.CharField(max_length=20, help_text='shown to the shopper as "RMA R-100123"')
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="return_requests")
    customer = models.ForeignKey(
        "orders.Customer", on_delete=models.SET_NULL, null=True, blank=True, related_name="return_requests"
    )
    email = models.CharField(max_length=254, help_text="lowercased; the address that proved the order")
    status = models.CharField(max_length=20, choices=ReturnStatus.choices, default=ReturnStatus.REQUESTED)
    method = models.CharField(max_length=10, choices=ReturnMethod.choices)
    source = models.CharField(max_length=10, choices=ReturnSource.choices, default=ReturnSource.PORTAL)
    currency = models.CharField(max_length=3)
    value = MoneyField(default=0, help_text="sum of the returned lines' prices")
    policy_version = models.ForeignKey(
        "policies.PolicyVersion", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decision = models.JSONField(default=dict, blank=True, help_text="the engine's decision and explanation")
    review_reasons = models.JSONField(default=list, blank=True, help_text="why it waits for staff review")
    flags = models.JSONField(default=list, blank=True, help_text="e.g. high_value, insured, authenticity_check")
    submission_key = models.CharField(max_length=64, blank=True, help_text="the client's key; a resubmit finds this")
    requested_at = models.DateTimeField()
    authorised_at = models.DateTimeField(null=True, blank=True)
    ship_by = models.DateTimeField(null=True, blank=True, help_text="expires if nothing is shipped by then")
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["brand", "rma"], name="return_unique_brand_rma"),
            models.UniqueConstraint(
                fields=["brand", "submission_key"],
                condition=~models.Q(submission_key=""),
                name="return_unique_brand_submission_key",
            ),
        ]
        indexes = [
            models.Index(fields=["brand", "status", "requested_at"], name="return_brand_status_idx"),
            models.Index(fields=["brand", "email"], name="return_brand_email_idx"),
            models.Index(fields=["brand", "-requested_at"], name="return_brand_requested_idx"),
            # returns_expire_due: authorised requests whose ship-by date passed, across brands.
            models.Index(fields=["status", "ship_by"], name="return_status_ship_by_idx"),
        ]
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        return self.rma


class ReturnLine(BrandOwned):
    request = models.ForeignKey(ReturnRequest, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey("orders.OrderLine", on_delete=models.PROTECT, related_name="return_lines")
    quantity = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=ReturnStatus.choices, default=ReturnStatus.REQUESTED)
    reason = models.CharField(max_length=20, choices=ReturnReason.choices)
    size_wanted = models.DecimalField(max_digits=4, decimal_places=2, null=True, blank=True, help_text="US size")
    comment = models.TextField(blank=True)
    resolution = models.CharField(max_length=20, choices=Resolution.choices)
    exchange_kind = models.CharField(max_length=10, choices=ExchangeKind.choices, blank=True)
    exchange_variant = models.ForeignKey(
        "catalog.Variant", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    exchange_sku = models.CharField(max_length=100, blank=True)
    unit_price = MoneyField(help_text="what the shopper paid per unit, after discounts")
    destination = models.CharField(max_length=40, default="warehouse")
    decision = models.JSONField(default=dict, blank=True, help_text="this line's terms: fees, bonus, flags, rules")

    class Meta:
        indexes = [models.Index(fields=["order_line", "status"], name="return_line_order_line_idx")]
        ordering = ["request_id", "id"]

    def __str__(self) -> str:
        return f"{self.quantity} x line {self.order_line_id}"


class ReturnNote(BrandOwned):
    """An internal note by staff; never shown to the shopper."""

    request = models.ForeignKey(ReturnRequest, on_delete=models.CASCADE, related_name="notes")
    author = models.CharField(max_length=200)
    body = models.TextField()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"note on {self.request_id} by {self.author}"


class ReturnPhoto(BrandOwned):
    """A shopper's photo, re-encoded without metadata before it was stored."""

    request = models.ForeignKey(ReturnRequest, on_delete=models.CASCADE, related_name="photos")
    line = models.ForeignKey(ReturnLine, on_delete=models.CASCADE, null=True, blank=True, related_name="photos")
    image = models.FileField(upload_to="returns/photos/%Y/%m/")
    content_type = models.CharField(max_length=40)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size_bytes = models.PositiveIntegerField()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"photo {self.pk} of {self.request_id}"


class RmaCounter(models.Model):
    """The last RMA number a brand gave out: RMAs count up per brand (R-100001, R-100002, ...).

    A row per brand, locked while a request is created, so two requests never get the same number.
    """

    brand = models.OneToOneField("brands.Brand", on_delete=models.CASCADE, primary_key=True, related_name="+")
    last = models.PositiveBigIntegerField(default=100000)

    def __str__(self) -> str:
        return f"R-{self.last}"
