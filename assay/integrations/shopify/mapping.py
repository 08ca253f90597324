"""Shopify payloads -> Assay's canonical order, shipment, refund and product. Pure: no database.

`ShopifyOrder.model_validate(data)` then `order_from_shopify(...)` is the whole Shopify order
intake, used by webhooks and bulk imports alike, so it is kept free of needless work.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson

from assay.catalog.schema import CanonicalProduct, CanonicalVariant
from assay.integrations.shopify.payloads import (
    ShopifyCustomer,
    ShopifyFulfillment,
    ShopifyLineItem,
    ShopifyMoneySet,
    ShopifyOrder,
    ShopifyProduct,
    ShopifyRefund,
)
from assay.orders.models import ShipmentStatus
from assay.orders.schema import CanonicalOrder, CanonicalRefund, CanonicalShipment

__all__ = [
    "SOURCE",
    "order_from_shopify",
    "product_from_shopify",
    "property_text",
    "refund_from_shopify",
    "shipment_from_fulfillment",
    "shipment_status_from_shopify",
]

SOURCE = "shopify"
_ZERO = Decimal(0)

# Fulfilment shipment_status (the carrier's latest word) -> Assay's shipment states.
# Values from Shopify's FulfillmentEventStatus; newer ones (carrier_picked_up, delayed, picked_up)
# are included so a newer API version does not fall back to pre-transit.
_SHIPMENT_STATUS: dict[str, ShipmentStatus] = {
    "label_printed": ShipmentStatus.PRE_TRANSIT,
    "label_purchased": ShipmentStatus.PRE_TRANSIT,
    "confirmed": ShipmentStatus.PRE_TRANSIT,
    "carrier_picked_up": ShipmentStatus.IN_TRANSIT,
    "in_transit": ShipmentStatus.IN_TRANSIT,
    "delayed": ShipmentStatus.IN_TRANSIT,
    "out_for_delivery": ShipmentStatus.OUT_FOR_DELIVERY,
    "ready_for_pickup": ShipmentStatus.AVAILABLE_FOR_PICKUP,
    "delivered": ShipmentStatus.DELIVERED,
    "picked_up": ShipmentStatus.DELIVERED,
    "attempted_delivery": ShipmentStatus.EXCEPTION,
    "failure": ShipmentStatus.EXCEPTION,
}
# A fulfilment whose own status says it did not happen.
_VOID_FULFILMENT = frozenset({"cancelled", "error", "failure"})
_PAID = frozenset({"paid", "partially_refunded", "refunded"})


def shipment_status_from_shopify(status: str | None, shipment_status: str | None) -> ShipmentStatus:
    """The shipment state for a fulfilment's `status` and `shipment_status`."""
    if status == "cancelled":
        return ShipmentStatus.CANCELLED
    if shipment_status:
        mapped = _SHIPMENT_STATUS.get(shipment_status.lower())
        if mapped is not None:
            return mapped
    if status in ("error", "failure"):
        return ShipmentStatus.EXCEPTION
    return ShipmentStatus.PRE_TRANSIT


def property_text(value: Any) -> str:
    """A property value as text, exactly as the shopper typed it when it is text."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    return orjson.dumps(value).decode()


def _properties(raw: Any) -> dict[str, str]:
    if not raw:
        return {}
    if isinstance(raw, dict):
        return {str(name): property_text(value) for name, value in raw.items()}
    return {prop.name: property_text(prop.value) for prop in raw}


def _tags(raw: str | None) -> list[str]:
    if not raw:
        return []
    return [tag for tag in (part.strip() for part in raw.split(",")) if tag]


# The order is validated once, as a whole, from plain dicts: cheaper than building each part
# separately, and a refusal names the part ("lines.1.quantity: ...").


def _customer(customer: ShopifyCustomer | None) -> dict[str, Any] | None:
    if customer is None:
        return None
    return {
        "external_id": str(customer.id),
        "email": (customer.email or "").strip(),
        "first_name": customer.first_name or "",
        "last_name": customer.last_name or "",
        "phone": customer.phone or "",
    }


def _fulfilled_by_line(order: ShopifyOrder) -> dict[int, int]:
    shipped: dict[int, int] = {}
    for fulfillment in order.fulfillments:
        if fulfillment.status in _VOID_FULFILMENT:
            continue
        for item in fulfillment.line_items:
            shipped[item.id] = shipped.get(item.id, 0) + item.quantity
    return shipped


def _line(item: ShopifyLineItem, shipped: dict[int, int]) -> dict[str, Any]:
    quantity = item.quantity
    fulfilled = shipped.get(item.id, 0)
    if item.fulfillment_status == "fulfilled" and fulfilled < quantity:
        fulfilled = quantity
    tax = _ZERO
    for tax_line in item.tax_lines:
        tax += tax_line.price
    return {
        "external_id": str(item.id),
        "sku": (item.sku or "").strip(),
        "product_external_id": str(item.product_id) if item.product_id is not None else "",
        "variant_external_id": str(item.variant_id) if item.variant_id is not None else "",
        "title": (item.title or item.name or "Untitled item")[:255],
        "variant_title": (item.variant_title or "")[:255],
        "vendor": (item.vendor or "")[:255],
        "quantity": quantity,
        "unit_price": item.price,
        "total_discount": item.total_discount,
        "tax": tax,
        "properties": _properties(item.properties),
        "fulfilled_quantity": min(fulfilled, quantity),
    }


def _total_shipping(order: ShopifyOrder) -> Decimal:
    if order.total_shipping_price_set is not None:
        return order.total_shipping_price_set.shop_money.amount
    total = _ZERO
    for line in order.shipping_lines:
        total += line.price
    return total


def order_from_shopify(payload: ShopifyOrder) -> CanonicalOrder:
    """The canonical order for a Shopify Order object (amounts in the shop's currency)."""
    customer = payload.customer
    email = payload.email or payload.contact_email or (customer.email if customer else None) or ""
    placed_at = payload.processed_at or payload.created_at
    address = payload.shipping_address
    shipped = _fulfilled_by_line(payload) if payload.fulfillments else {}
    number = payload.name or (f"#{payload.order_number}" if payload.order_number is not None else str(payload.id))
    return CanonicalOrder.model_validate(
        {
            "source": SOURCE,
            "external_id": str(payload.id),
            "number": number,
            "email": email,
            "currency": payload.currency,
            "subtotal": payload.subtotal_price if payload.subtotal_price is not None else _ZERO,
            "total_tax": payload.total_tax if payload.total_tax is not None else _ZERO,
            "total_discounts": payload.total_discounts if payload.total_discounts is not None else _ZERO,
            "total_shipping": _total_shipping(payload),
            "total": payload.total_price,
            "taxes_included": bool(payload.taxes_included),
            "financial_status": payload.financial_status or "",
            "fulfillment_status": payload.fulfillment_status or "",
            "placed_at": placed_at,
            "paid_at": placed_at if payload.financial_status in _PAID else None,
            "cancelled_at": payload.cancelled_at,
            "cancel_reason": (payload.cancel_reason or "")[:60],
            "closed_at": payload.closed_at,
            "channel": (payload.source_name or "")[:40],
            "tags": _tags(payload.tags),
            "discount_codes": [discount.code for discount in payload.discount_codes],
            "shipping_address": address.model_dump() if address is not None else None,
            "shipping_country": (address.country_code or "")[:2].upper() if address is not None else "",
            "customer": _customer(customer),
            "lines": [_line(item, shipped) for item in payload.line_items],
            "shipments": [_shipment(f) for f in payload.fulfillments],
            "refunds": [_refund(r) for r in payload.refunds],
            "updated_at": payload.updated_at,
        }
    )


def shipment_from_fulfillment(payload: ShopifyFulfillment) -> CanonicalShipment:
    """The canonical shipment for a Shopify Fulfillment object."""
    return CanonicalShipment.model_validate(_shipment(payload))


def _shipment(payload: ShopifyFulfillment) -> dict[str, Any]:
    status = shipment_status_from_shopify(payload.status, payload.shipment_status)
    numbers = payload.tracking_numbers or ([payload.tracking_number] if payload.tracking_number else [])
    urls = payload.tracking_urls or ([payload.tracking_url] if payload.tracking_url else [])
    lines: dict[str, int] = {}
    for item in payload.line_items:
        key = str(item.id)
        lines[key] = lines.get(key, 0) + item.quantity
    return {
        "external_id": str(payload.id),
        "carrier": (payload.tracking_company or "")[:100],
        "tracking_numbers": [number for number in numbers if number],
        "tracking_urls": [url for url in urls if url],
        "status": status,
        "shipped_at": payload.created_at,
        # Shopify records no delivery time of its own; the update that said "delivered" is the best known.
        "delivered_at": (payload.updated_at or payload.created_at) if status == ShipmentStatus.DELIVERED else None,
        "updated_at": payload.updated_at,
        "lines": lines,
    }


def _exact(money: ShopifyMoneySet | None, number: Decimal | None) -> Decimal:
    if money is not None:
        return money.shop_money.amount
    return number if number is not None else _ZERO


def refund_from_shopify(payload: ShopifyRefund) -> CanonicalRefund:
    """The canonical refund for a Shopify Refund object: the money its successful refund
    transactions returned (or, without transactions, its lines' subtotal and tax)."""
    return CanonicalRefund.model_validate(_refund(payload))


def _refund(payload: ShopifyRefund) -> dict[str, Any]:
    amount = _ZERO
    counted = False
    for transaction in payload.transactions:
        if transaction.kind not in (None, "refund") or transaction.status not in (None, "success"):
            continue
        amount += transaction.amount
        counted = True
    lines: list[dict[str, str | int]] = []
    from_lines = _ZERO
    for item in payload.refund_line_items:
        subtotal = _exact(item.subtotal_set, item.subtotal)
        from_lines += subtotal + _exact(item.total_tax_set, item.total_tax)
        line: dict[str, str | int] = {
            "line_external_id": str(item.line_item_id),
            "quantity": item.quantity,
            "amount": str(subtotal),
        }
        if item.restock_type:
            line["restock_type"] = item.restock_type
        lines.append(line)
    return {
        "external_id": str(payload.id),
        "amount": amount if counted else from_lines,
        "note": payload.note or "",
        "refunded_at": payload.processed_at or payload.created_at,
        "lines": lines,
    }


def product_from_shopify(payload: ShopifyProduct) -> CanonicalProduct:
    """The canonical product for a Shopify Product object, its options and variants."""
    options = sorted(payload.options, key=lambda option: option.position or 0)
    names = [option.name for option in options]
    # Shopify gives a product without options one option "Title" whose only value is "Default Title".
    no_options = len(options) == 1 and names[0] == "Title" and options[0].values in ([], ["Default Title"])
    if no_options:
        names = []
    variants = []
    for position, variant in enumerate(payload.variants, start=1):
        values = (variant.option1, variant.option2, variant.option3)
        chosen = {name: value for name, value in zip(names, values, strict=False) if value is not None}
        variants.append(
            CanonicalVariant(
                external_id=str(variant.id),
                sku=(variant.sku or "").strip(),
                title=(variant.title or "")[:255],
                options=chosen,
                price=variant.price if variant.price is not None else _ZERO,
                inventory_quantity=variant.inventory_quantity or 0,
                position=variant.position or position,
            )
        )
    return CanonicalProduct(
        external_id=str(payload.id),
        title=payload.title[:255],
        handle=(payload.handle or "")[:255],
        vendor=(payload.vendor or "")[:255],
        product_type=(payload.product_type or "")[:255],
        status=(payload.status or "active").lower(),
        tags=_tags(payload.tags),
        option_names=names,
        variants=variants,
        updated_at=payload.updated_at,
    )
