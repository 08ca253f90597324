"""The API's wire shapes: query filters, response schemas, and the functions that fill them.

Money leaves as a decimal string quantized to the currency's minor units ("1250.00", JPY "125000"),
never as a float. Other decimals (sizes, weights) leave as plain decimal strings ("6.5", "1.01").
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ninja import Schema
from pydantic import Field, field_validator, model_validator

from assay.api.pagination import ListParams
from assay.catalog.selectors import ProductDetail, ProductSummary, SpecificationData, StoneData, VariantData
from assay.core.money import money_string
from assay.orders.selectors import OrderDetail, OrderLineData, OrderSummary, ShipmentData
from assay.webhooks.selectors import InboundEventData
from assay.webhooks.status import EventStatus

MONEY = "a decimal string in the currency's minor units, e.g. '1250.00' (USD) or '125000' (JPY)"


def decimal_text(value: Decimal | None) -> str | None:
    """6.50 -> '6.5', 2.00 -> '2', 585.0 -> '585': a decimal without trailing zeros or exponent."""
    if value is None:
        return None
    return format(value.normalize(), "f")


class ErrorOut(Schema):
    detail: str = Field(description="what was wrong, in words a person can act on")


# --- orders -------------------------------------------------------------------------------------


_UNESCAPED_PLUS = re.compile(r" (\d\d:?\d\d)$")


def _bound(value: Any) -> Any:
    """A date (YYYY-MM-DD, that whole day) or an ISO 8601 date-time; nothing else."""
    if not isinstance(value, str):
        return value
    # An offset's '+' sent unescaped in a query string arrives as a space.
    text = _UNESCAPED_PLUS.sub(r"+\1", value.strip())
    if not text:
        return None
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"'{text}' is not a date (YYYY-MM-DD) or an ISO 8601 date-time") from None


class OrderFilters(ListParams):
    q: str = Field("", max_length=254, description="matches the order number, the e-mail or a line's SKU")
    number: str = Field("", max_length=64, description="the order number, with or without '#', any case")
    email: str = Field("", max_length=254, description="the customer's e-mail, exact, any case")
    sku: str = Field("", max_length=100, description="orders with a line of this SKU")
    placed_from: datetime | date | None = Field(
        None,
        description="placed at or after: a date (from the start of that day, UTC) or an ISO 8601 date-time "
        "(UTC when it has no offset)",
    )
    placed_to: datetime | date | None = Field(
        None,
        description="placed at or before: a date (to the end of that day, UTC) or an ISO 8601 date-time "
        "(UTC when it has no offset)",
    )

    @field_validator("placed_from", "placed_to", mode="before")
    @classmethod
    def _parse_bound(cls, value: Any) -> Any:
        return _bound(value)

    @model_validator(mode="after")
    def _ordered_bounds(self) -> OrderFilters:
        low, high = self.placed_from, self.placed_to
        if low is None or high is None:
            return self
        if isinstance(low, datetime) and isinstance(high, datetime):
            backwards = (low.tzinfo is None) == (high.tzinfo is None) and low > high
        elif not isinstance(low, datetime) and not isinstance(high, datetime):
            backwards = low > high
        else:
            backwards = False  # a date against a date-time: the selector's bounds settle it
        if backwards:
            raise ValueError("placed_from is after placed_to")
        return self


class CustomerOut(Schema):
    id: int
    external_id: str
    email: str
    first_name: str
    last_name: str
    phone: str


class OrderLineOut(Schema):
    id: int
    external_id: str
    sku: str
    title: str
    variant_title: str
    quantity: int
    unit_price: str = Field(description=MONEY)
    total_discount: str = Field(description=MONEY)
    tax: str = Field(description=MONEY)
    properties: dict[str, str] = Field(description="name -> value as the shop recorded them, e.g. engraving text")
    personalised: bool = Field(description="engraved or made to the customer's specification")
    fulfilled_quantity: int
    product_id: int | None
    variant_id: int | None


class ShipmentLineOut(Schema):
    line_id: int
    quantity: int


class ShipmentOut(Schema):
    id: int
    external_id: str
    carrier: str
    service: str
    tracking_number: str = Field(description="the first of tracking_numbers")
    tracking_numbers: list[str]
    tracking_urls: list[str]
    status: str = Field(
        description="pre_transit, in_transit, out_for_delivery, available_for_pickup, delivered, exception, "
        "returned_to_sender or cancelled"
    )
    shipped_at: datetime | None
    delivered_at: datetime | None
    line_ids: list[int] = Field(description="the order lines this shipment carried")
    lines: list[ShipmentLineOut] = Field(description="the order lines this shipment carried, with quantities")


class OrderEventOut(Schema):
    at: datetime
    actor: str
    actor_kind: str = Field(description="staff, token, system, webhook or shopper")
    action: str
    from_state: str
    to_state: str
    why: str
    data: dict[str, Any]


class OrderOut(Schema):
    id: int
    number: str = Field(description="as the shop shows it, e.g. '#1001'")
    external_id: str
    email: str
    currency: str
    subtotal: str = Field(description=MONEY)
    total_tax: str = Field(description=MONEY)
    total_discounts: str = Field(description=MONEY)
    total_shipping: str = Field(description=MONEY)
    total: str = Field(description=MONEY)
    financial_status: str
    fulfillment_status: str
    placed_at: datetime
    cancelled_at: datetime | None
    tags: list[str]
    customer: CustomerOut | None
    lines: list[OrderLineOut]


class OrderDetailOut(OrderOut):
    source: str = Field(description="how the order reached Assay: shopify, csv, demo...")
    channel: str
    taxes_included: bool
    paid_at: datetime | None
    closed_at: datetime | None
    cancel_reason: str
    discount_codes: list[str]
    shipping_country: str
    shipments: list[ShipmentOut]
    events: list[OrderEventOut] = Field(description="the order's audit trail, oldest first")


class OrderList(Schema):
    items: list[OrderOut]
    count: int = Field(description="all matching orders, not only this page")


def _line_out(line: OrderLineData, currency: str) -> dict[str, Any]:
    return {
        "id": line.id,
        "external_id": line.external_id,
        "sku": line.sku,
        "title": line.title,
        "variant_title": line.variant_title,
        "quantity": line.quantity,
        "unit_price": money_string(line.unit_price, currency),
        "total_discount": money_string(line.total_discount, currency),
        "tax": money_string(line.tax, currency),
        "properties": line.properties,
        "personalised": line.personalised,
        "fulfilled_quantity": line.fulfilled_quantity,
        "product_id": line.product_id,
        "variant_id": line.variant_id,
    }


def _shipment_out(shipment: ShipmentData) -> dict[str, Any]:
    return {
        "id": shipment.id,
        "external_id": shipment.external_id,
        "carrier": shipment.carrier,
        "service": shipment.service,
        "tracking_number": shipment.tracking_number,
        "tracking_numbers": shipment.tracking_numbers,
        "tracking_urls": shipment.tracking_urls,
        "status": shipment.status,
        "shipped_at": shipment.shipped_at,
        "delivered_at": shipment.delivered_at,
        "line_ids": shipment.line_ids,
        "lines": [{"line_id": item.line_id, "quantity": item.quantity} for item in shipment.lines],
    }


def order_out(order: OrderSummary) -> dict[str, Any]:
    currency = order.currency
    customer = order.customer
    return {
        "id": order.id,
        "number": order.number,
        "external_id": order.external_id,
        "email": order.email,
        "currency": currency,
        "subtotal": money_string(order.subtotal, currency),
        "total_tax": money_string(order.total_tax, currency),
        "total_discounts": money_string(order.total_discounts, currency),
        "total_shipping": money_string(order.total_shipping, currency),
        "total": money_string(order.total, currency),
        "financial_status": order.financial_status,
        "fulfillment_status": order.fulfillment_status,
        "placed_at": order.placed_at,
        "cancelled_at": order.cancelled_at,
        "tags": order.tags,
        "customer": None
        if customer is None
        else {
            "id": customer.id,
            "external_id": customer.external_id,
            "email": customer.email,
            "first_name": customer.first_name,
            "last_name": customer.last_name,
            "phone": customer.phone,
        },
        "lines": [_line_out(line, currency) for line in order.lines],
    }


def order_detail_out(order: OrderDetail) -> dict[str, Any]:
    return {
        **order_out(order),
        "source": order.source,
        "channel": order.channel,
        "taxes_included": order.taxes_included,
        "paid_at": order.paid_at,
        "closed_at": order.closed_at,
        "cancel_reason": order.cancel_reason,
        "discount_codes": order.discount_codes,
        "shipping_country": order.shipping_country,
        "shipments": [_shipment_out(shipment) for shipment in order.shipments],
        "events": [
            {
                "at": event.at,
                "actor": event.actor,
                "actor_kind": event.actor_kind,
                "action": event.action,
                "from_state": event.from_state,
                "to_state": event.to_state,
                "why": event.why,
                "data": event.data,
            }
            for event in order.events
        ],
    }


# --- products -----------------------------------------------------------------------------------


class ProductFilters(ListParams):
    sku: str = Field("", max_length=100, description="products with a variant of exactly this SKU")
    q: str = Field("", max_length=255, description="words in the title, any case")
    needs_completion: bool | None = Field(
        None, description="true: only products created from an order line whose specification is still to be completed"
    )


class VariantOut(Schema):
    id: int
    external_id: str
    sku: str
    title: str
    options: dict[str, str] = Field(description="option name -> value, e.g. {'Ring size': '6.5'}")
    ring_size: str | None = Field(description="US ring size as a decimal string, e.g. '6.5'; null if not a ring size")
    price: str = Field(description=MONEY)
    inventory_quantity: int


class ResizableRangeOut(Schema):
    down: str = Field(description="US sizes it can go down from the ordered size")
    up: str = Field(description="US sizes it can go up from the ordered size")


class SpecificationOut(Schema):
    metal: str
    karat: int | None
    fineness: str | None = Field(description="parts per thousand, e.g. '585'")
    metal_weight_g: str | None
    width_mm: str | None
    length_mm: str | None
    thickness_mm: str | None
    hollow: bool
    plating: str
    plating_thickness_microns: str | None


class StoneOut(Schema):
    id: int
    species: str
    origin: str = Field(description="natural, laboratory_grown or imitation")
    treatments: list[str]
    count: int
    carat_weight: str | None
    colour: str
    clarity: str
    cut: str
    shape: str
    lab: str = Field(description="grading laboratory, e.g. GIA, IGI")
    report_number: str


class ProductOut(Schema):
    id: int
    external_id: str
    title: str
    handle: str
    vendor: str
    product_type: str
    category: str
    status: str
    tags: list[str]
    option_names: list[str]
    currency: str = Field(description="the currency of the variants' prices")
    engravable: bool
    personalised: bool
    resizable: bool
    resizable_range: ResizableRangeOut | None = Field(description="null when the piece cannot be resized")
    final_sale: bool
    hygiene_item: bool
    high_value: bool
    needs_completion: bool
    variants: list[VariantOut]


class ProductDetailOut(ProductOut):
    specification: SpecificationOut | None
    stones: list[StoneOut]


class ProductList(Schema):
    items: list[ProductOut]
    count: int = Field(description="all matching products, not only this page")


def _variant_out(variant: VariantData, currency: str) -> dict[str, Any]:
    return {
        "id": variant.id,
        "external_id": variant.external_id,
        "sku": variant.sku,
        "title": variant.title,
        "options": variant.options,
        "ring_size": decimal_text(variant.ring_size),
        "price": money_string(variant.price, currency),
        "inventory_quantity": variant.inventory_quantity,
    }


def product_out(product: ProductSummary) -> dict[str, Any]:
    return {
        "id": product.id,
        "external_id": product.external_id,
        "title": product.title,
        "handle": product.handle,
        "vendor": product.vendor,
        "product_type": product.product_type,
        "category": product.category,
        "status": product.status,
        "tags": product.tags,
        "option_names": product.option_names,
        "currency": product.currency,
        "engravable": product.engravable,
        "personalised": product.personalised,
        "resizable": product.resizable,
        "resizable_range": {"down": decimal_text(product.resizable_down), "up": decimal_text(product.resizable_up)}
        if product.resizable
        else None,
        "final_sale": product.final_sale,
        "hygiene_item": product.hygiene_item,
        "high_value": product.high_value,
        "needs_completion": product.needs_completion,
        "variants": [_variant_out(variant, product.currency) for variant in product.variants],
    }


def _specification_out(spec: SpecificationData) -> dict[str, Any]:
    return {
        "metal": spec.metal,
        "karat": spec.karat,
        "fineness": decimal_text(spec.fineness),
        "metal_weight_g": decimal_text(spec.metal_weight_g),
        "width_mm": decimal_text(spec.width_mm),
        "length_mm": decimal_text(spec.length_mm),
        "thickness_mm": decimal_text(spec.thickness_mm),
        "hollow": spec.hollow,
        "plating": spec.plating,
        "plating_thickness_microns": decimal_text(spec.plating_thickness_microns),
    }


def _stone_out(stone: StoneData) -> dict[str, Any]:
    return {
        "id": stone.id,
        "species": stone.species,
        "origin": stone.origin,
        "treatments": stone.treatments,
        "count": stone.count,
        "carat_weight": decimal_text(stone.carat_weight),
        "colour": stone.colour,
        "clarity": stone.clarity,
        "cut": stone.cut,
        "shape": stone.shape,
        "lab": stone.lab,
        "report_number": stone.report_number,
    }


def product_detail_out(product: ProductDetail) -> dict[str, Any]:
    return {
        **product_out(product),
        "specification": _specification_out(product.specification) if product.specification else None,
        "stones": [_stone_out(stone) for stone in product.stones],
    }


# --- webhook events -----------------------------------------------------------------------------


class WebhookEventFilters(ListParams):
    source: str = Field("", max_length=30, description="who sent it, e.g. shopify")
    event_id: str = Field("", max_length=200, description="the sender's event id (Shopify: X-Shopify-Event-Id)")
    status: EventStatus | None = Field(None, description="received, processed, duplicate, stale or failed")
    topic: str = Field("", max_length=100, description="e.g. orders/create")


class WebhookEventOut(Schema):
    id: int
    source: str
    event_id: str
    topic: str
    status: EventStatus = Field(
        description="received (waiting or retrying), processed, duplicate (ignored), stale (older than what was "
        "applied, ignored) or failed"
    )
    error: str = Field(description="why processing failed (also set while a retry is pending)")
    outcome: str = Field(description="what processing did, e.g. 'order #1001 created'")
    attempts: int
    received_at: datetime
    processed_at: datetime | None
    next_attempt_at: datetime | None = Field(description="when the next automatic retry is due")
    duplicate_of: int | None = Field(description="the id of the first delivery this one repeated")


class WebhookEventList(Schema):
    items: list[WebhookEventOut]
    count: int = Field(description="all matching events, not only this page")


def webhook_event_out(event: InboundEventData) -> dict[str, Any]:
    return {
        "id": event.id,
        "source": event.source,
        "event_id": event.event_id,
        "topic": event.topic,
        "status": event.status,
        "error": event.error,
        "outcome": event.outcome,
        "attempts": event.attempts,
        "received_at": event.received_at,
        "processed_at": event.processed_at,
        "next_attempt_at": event.next_attempt_at,
        "duplicate_of": event.duplicate_of,
    }
