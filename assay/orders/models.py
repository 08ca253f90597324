"""Customers, orders, order lines, shipments and refunds recorded by the shop."""

from __future__ import annotations

from django.db import models

from assay.core.models import BrandOwned, MoneyField


class ShipmentStatus(models.TextChoices):
    """One set of shipment states, whatever the carrier or shop calls them."""

    PRE_TRANSIT = "pre_transit", "Pre-transit"
    IN_TRANSIT = "in_transit", "In transit"
    OUT_FOR_DELIVERY = "out_for_delivery", "Out for delivery"
    AVAILABLE_FOR_PICKUP = "available_for_pickup", "Available for pickup"
    DELIVERED = "delivered", "Delivered"
    EXCEPTION = "exception", "Exception"
    RETURNED_TO_SENDER = "returned_to_sender", "Returned to sender"
    CANCELLED = "cancelled", "Cancelled"


class Customer(BrandOwned):
    external_id = models.CharField(max_length=64, blank=True)
    email = models.CharField(max_length=254, blank=True)
    first_name = models.CharField(max_length=120, blank=True)
    last_name = models.CharField(max_length=120, blank=True)
    phone = models.CharField(max_length=40, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["brand", "external_id"],
                condition=~models.Q(external_id=""),
                name="customer_unique_brand_external_id",
            )
        ]
        indexes = [models.Index(fields=["brand", "email"], name="customer_brand_email_idx")]

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or self.email or f"customer {self.pk}"


class Order(BrandOwned):
    external_id = models.CharField(max_length=64)
    number = models.CharField(max_length=64, help_text="as the shop shows it, e.g. #1001")
    number_key = models.CharField(max_length=64, editable=False, help_text="number without # or spaces, lowercased")
    email = models.CharField(max_length=254, blank=True, help_text="lowercased")
    customer = models.ForeignKey(Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="orders")
    currency = models.CharField(max_length=3)
    subtotal = MoneyField(default=0)
    total_tax = MoneyField(default=0)
    total_discounts = MoneyField(default=0)
    total_shipping = MoneyField(default=0)
    total = MoneyField(default=0)
    taxes_included = models.BooleanField(default=False)
    financial_status = models.CharField(max_length=30, blank=True)
    fulfillment_status = models.CharField(max_length=30, blank=True)
    placed_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=60, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    channel = models.CharField(max_length=40, blank=True, help_text="e.g. web, pos, shopify_draft_order")
    source = models.CharField(max_length=20, help_text="how it reached Assay: shopify, csv, demo")
    tags = models.JSONField(default=list, blank=True)
    discount_codes = models.JSONField(default=list, blank=True)
    shipping_address = models.JSONField(null=True, blank=True)
    shipping_country = models.CharField(max_length=2, blank=True)
    source_updated_at = models.DateTimeField(null=True, blank=True, help_text="the shop's updated_at we last applied")
    payment_reference = models.CharField(
        max_length=100,
        blank=True,
        default="",
        db_default="",
        help_text="the payment provider's id of the order's payment (a Stripe PaymentIntent), for refunds there",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["brand", "external_id"], name="order_unique_brand_external_id"),
        ]
        indexes = [
            models.Index(fields=["brand", "number_key"], name="order_brand_number_idx"),
            models.Index(fields=["brand", "email"], name="order_brand_email_idx"),
            models.Index(fields=["brand", "-placed_at"], name="order_brand_placed_idx"),
        ]

    def __str__(self) -> str:
        return self.number


class OrderLine(BrandOwned):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    external_id = models.CharField(max_length=64)
    position = models.PositiveIntegerField(default=1)
    sku = models.CharField(max_length=100, blank=True)
    variant = models.ForeignKey("catalog.Variant", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    product = models.ForeignKey("catalog.Product", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    title = models.CharField(max_length=255)
    variant_title = models.CharField(max_length=255, blank=True)
    quantity = models.PositiveIntegerField()
    unit_price = MoneyField()
    total_discount = MoneyField(default=0)
    tax = MoneyField(default=0)
    properties = models.JSONField(default=dict, blank=True, help_text="name -> value, e.g. engraving text")
    personalised = models.BooleanField(default=False, help_text="engraved or made to the customer's specification")
    fulfilled_quantity = models.PositiveIntegerField(default=0)
    piece = models.ForeignKey("catalog.Piece", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["order", "external_id"], name="order_line_unique_external_id")]
        indexes = [models.Index(fields=["brand", "sku"], name="order_line_brand_sku_idx")]
        ordering = ["order_id", "position", "id"]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.title}"


class Shipment(BrandOwned):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="shipments")
    external_id = models.CharField(max_length=64, blank=True, help_text="the shop's fulfillment id")
    carrier = models.CharField(max_length=100, blank=True)
    service = models.CharField(max_length=100, blank=True)
    tracking_number = models.CharField(max_length=100, blank=True, help_text="the first of tracking_numbers")
    tracking_numbers = models.JSONField(default=list, blank=True)
    tracking_urls = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=30, choices=ShipmentStatus.choices, default=ShipmentStatus.PRE_TRANSIT)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    source_updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["order", "external_id"],
                condition=~models.Q(external_id=""),
                name="shipment_unique_order_external_id",
            )
        ]
        indexes = [models.Index(fields=["brand", "tracking_number"], name="shipment_brand_tracking_idx")]
        ordering = ["order_id", "shipped_at", "id"]

    def __str__(self) -> str:
        return f"{self.carrier} {self.tracking_number}".strip() or f"shipment {self.pk}"


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="shipment_lines")
    line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="shipment_lines")
    quantity = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shipment", "line"], name="shipment_line_unique")]

    def __str__(self) -> str:
        return f"{self.quantity} of line {self.line_id}"


class ShopRefund(BrandOwned):
    """A refund the shop recorded (outside Assay, or Assay's own as the shop reports it back)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="shop_refunds")
    external_id = models.CharField(max_length=64)
    amount = MoneyField()
    currency = models.CharField(max_length=3)
    note = models.TextField(blank=True)
    lines = models.JSONField(default=list, blank=True, help_text="[{line_external_id, quantity, amount}]")
    refunded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["order", "external_id"], name="shop_refund_unique_external_id")]
