"""Shopify payloads -> Assay's canonical order, shipment, refund and product. Pure: no database.

`ShopifyOrder.model_validate(data)` then `order_from_shopify(...)` is the whole Shopify order
intake, used by webhooks and bulk imports alike, so it is kept free of needless work: the payload
model has already checked and typed every value, so the canonical order is built from them without
being validated a second time - unless a value falls outside a bound only the canonical schema
sets (a length, an amount's digits, a quantity's range), in which case it is validated, and the
validation names what is wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel

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
from assay.orders.schema import (
    CanonicalCustomer,
    CanonicalLine,
    CanonicalOrder,
    CanonicalRefund,
    CanonicalShipment,
)

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


# --- building canonical models from values the payload model already validated --------------------
#
# Each part is first a plain dict, keyed and ordered as its model's fields. When every value is
# within the canonical bounds (`_order_fits`), the models are built from those dicts as they are;
# otherwise the whole order is validated from them, once, and a refusal names the part
# ("lines.1.quantity: ...").

_M = TypeVar("_M", bound=BaseModel)


def _trusted_builder(model: type[_M]) -> Callable[[dict[str, Any]], _M]:
    """`model.model_construct(**values)`, for values already checked and shaped as the model's own.

    The same instance model_construct makes (values as the instance's fields, those given as its
    set fields, defaults for the rest), without model_construct's walk through every field's
    aliases, which costs more than validating the values afresh (~45 against ~40 µs an order,
    measured). For models without aliases, private attributes, extra fields or a post-init hook -
    the canonical ones; any other gets model_construct itself.
    """
    fields = model.model_fields
    plain = (
        all(field.alias is None and field.validation_alias is None for field in fields.values())
        and not model.__private_attributes__
        and model.model_config.get("extra") != "allow"
        and not model.__pydantic_post_init__
        and not model.__pydantic_root_model__
    )
    if not plain:
        return lambda values: model.model_construct(**values)
    count = len(fields)
    new = model.__new__
    setattr_ = object.__setattr__

    def build(values: dict[str, Any]) -> _M:
        given = set(values)
        if len(values) != count:
            values = {
                name: values[name] if name in values else field.get_default(call_default_factory=True)
                for name, field in fields.items()
            }
        instance = new(model)
        setattr_(instance, "__dict__", values)
        setattr_(instance, "__pydantic_fields_set__", given)
        setattr_(instance, "__pydantic_extra__", None)
        setattr_(instance, "__pydantic_private__", None)
        return instance

    return build


_order = _trusted_builder(CanonicalOrder)
_customer_model = _trusted_builder(CanonicalCustomer)
_line_model = _trusted_builder(CanonicalLine)
_shipment_model = _trusted_builder(CanonicalShipment)
_refund_model = _trusted_builder(CanonicalRefund)

# Within the canonical Amount (14 digits, 4 of them decimal places, counted without trailing
# zeros): fewer than 10 whole digits and nothing beyond the 4th decimal place.
_AMOUNT_BELOW = Decimal(10) ** 10
_AMOUNT_ABOVE = -_AMOUNT_BELOW
_PLACES = Decimal("0.0001")
_MAX_QUANTITY = 1_000_000


def _amount_fits(value: Decimal) -> bool:
    """A non-negative canonical amount (quantize is the cheapest exact test of the places)."""
    return value.is_finite() and 0 <= value < _AMOUNT_BELOW and value == value.quantize(_PLACES)


def _signed_amount_fits(value: Decimal) -> bool:
    return value.is_finite() and _AMOUNT_ABOVE < value < _AMOUNT_BELOW and value == value.quantize(_PLACES)


def _currency_code(value: str) -> str | None:
    """What the canonical Currency makes of the value, or None where it refuses it."""
    code = value.strip().upper()
    return code if len(code) == 3 and code.isalpha() else None


def _order_fits(values: dict[str, Any]) -> bool:
    """Whether the canonical schema would accept the order's values as they are: every bound it
    sets that the Shopify payload model does not. A False sends the order through validation."""
    if len(values["external_id"]) > 64 or len(values["number"]) > 64 or len(values["email"]) > 254:
        return False
    if len(values["financial_status"]) > 30 or len(values["fulfillment_status"]) > 30:
        return False
    amounts = (values["subtotal"], values["total_tax"], values["total_discounts"], values["total_shipping"])
    if not all(_signed_amount_fits(amount) for amount in (*amounts, values["total"])):
        return False
    customer = values["customer"]
    if customer is not None and (
        len(customer["external_id"]) > 64
        or len(customer["email"]) > 254
        or len(customer["first_name"]) > 120
        or len(customer["last_name"]) > 120
        or len(customer["phone"]) > 40
    ):
        return False
    for line in values["lines"]:
        if (
            len(line["external_id"]) > 64
            or len(line["product_external_id"]) > 64
            or len(line["variant_external_id"]) > 64
            or len(line["sku"]) > 100
            or not 1 <= line["quantity"] <= _MAX_QUANTITY
            or line["fulfilled_quantity"] < 0
            or not _amount_fits(line["unit_price"])
            or not _amount_fits(line["total_discount"])
            or not _amount_fits(line["tax"])
        ):
            return False
    for shipment in values["shipments"]:
        if len(shipment["external_id"]) > 64 or any(len(number) > 100 for number in shipment["tracking_numbers"]):
            return False
    return all(len(refund["external_id"]) <= 64 and _amount_fits(refund["amount"]) for refund in values["refunds"])


def _canonical_order(values: dict[str, Any]) -> CanonicalOrder:
    currency = _currency_code(values["currency"])
    if currency is None or not _order_fits(values):
        return CanonicalOrder.model_validate(values)
    # What the canonical validators would make of the values: the only two that change them.
    values["currency"] = currency
    values["email"] = values["email"].strip().lower()
    customer = values["customer"]
    if customer is not None:
        values["customer"] = _customer_model(customer)
    values["lines"] = [_line_model(line) for line in values["lines"]]
    values["shipments"] = [_shipment_model(shipment) for shipment in values["shipments"]]
    values["refunds"] = [_refund_model(refund) for refund in values["refunds"]]
    return _order(values)


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
    return _canonical_order(order_values(payload))


def order_values(payload: ShopifyOrder) -> dict[str, Any]:
    """The canonical order's values for a Shopify Order object, as plain dicts and lists."""
    customer = payload.customer
    email = payload.email or payload.contact_email or (customer.email if customer else None) or ""
    placed_at = payload.processed_at or payload.created_at
    address = payload.shipping_address
    shipped = _fulfilled_by_line(payload) if payload.fulfillments else {}
    number = payload.name or (f"#{payload.order_number}" if payload.order_number is not None else str(payload.id))
    return {
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
        "service": "",
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
