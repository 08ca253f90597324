"""Writes for orders: the one path every intake takes into the database."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction

from assay.catalog.models import Variant
from assay.catalog.services import UnknownLine, products_for_unknown_lines
from assay.core.audit import Actor, audit_record
from assay.core.errors import NotFound
from assay.orders.models import Customer, Order, OrderLine, Shipment, ShipmentLine, ShopRefund
from assay.orders.schema import (
    CanonicalCustomer,
    CanonicalLine,
    CanonicalOrder,
    CanonicalRefund,
    CanonicalShipment,
    number_key,
)

# Order fields copied as they are from the canonical order.
_ORDER_FIELDS = (
    "number", "email", "currency", "subtotal", "total_tax", "total_discounts", "total_shipping", "total",
    "taxes_included", "financial_status", "fulfillment_status", "placed_at", "paid_at", "cancelled_at",
    "cancel_reason", "closed_at", "channel", "tags", "discount_codes", "shipping_address", "shipping_country",
)  # fmt: skip


@dataclass
class OrderUpsert:
    order: Order
    outcome: str  # created, updated, unchanged, stale
    changed: list[str] = field(default_factory=list)


def _order_values(incoming: CanonicalOrder) -> dict[str, Any]:
    values = {name: getattr(incoming, name) for name in _ORDER_FIELDS}
    values["tags"] = list(incoming.tags)
    values["discount_codes"] = list(incoming.discount_codes)
    values["shipping_address"] = dict(incoming.shipping_address) if incoming.shipping_address else None
    return values


def is_stale(*, stored: Any, incoming: Any) -> bool:
    """An event older than what was applied must not move the record backwards."""
    return stored is not None and incoming is not None and incoming < stored


@transaction.atomic
def order_upsert(*, brand_id: int, incoming: CanonicalOrder, actor: Actor) -> OrderUpsert:
    """Create or update an order with its lines, shipments and refunds, idempotently.

    Applying the same order twice changes nothing; an older version than the one stored is
    ignored and reported as stale.
    """
    order = Order.objects.select_for_update().filter(brand_id=brand_id, external_id=incoming.external_id).first()
    if order is not None and is_stale(stored=order.source_updated_at, incoming=incoming.updated_at):
        return OrderUpsert(order=order, outcome="stale")
    values = _order_values(incoming)
    customer = _customer_upsert(brand_id=brand_id, incoming=incoming.customer, email=incoming.email)
    created = order is None
    changed: list[str] = []
    if order is None:
        order = Order(brand_id=brand_id, external_id=incoming.external_id, source=incoming.source, **values)
        order.number_key = number_key(incoming.number)
        order.customer = customer
        order.source_updated_at = incoming.updated_at
        try:
            with transaction.atomic():
                order.save()
        except IntegrityError:
            # Created by a concurrent delivery between our read and write: update theirs instead.
            return order_upsert(brand_id=brand_id, incoming=incoming, actor=actor)
    else:
        was_cancelled = order.cancelled_at is not None
        for name, value in values.items():
            if getattr(order, name) != value:
                setattr(order, name, value)
                changed.append(name)
        if customer is not None and order.customer_id != customer.pk:
            order.customer = customer
            changed.append("customer")
        order.number_key = number_key(order.number)
        newer = bool(incoming.updated_at) and order.source_updated_at != incoming.updated_at
        if newer:
            order.source_updated_at = incoming.updated_at
        if changed or newer:
            order.save()
        if order.cancelled_at is not None and not was_cancelled:
            audit_record(
                brand_id=brand_id,
                subject=order,
                action="order_cancelled",
                actor=actor,
                why=order.cancel_reason or "cancelled in the shop",
            )
    lines_changed = _lines_sync(brand_id=brand_id, order=order, incoming=incoming.lines)
    if lines_changed and not created:
        changed.append("lines")
    shipments_changed = [
        _shipment_apply(brand_id=brand_id, order=order, incoming=s, actor=actor) for s in incoming.shipments
    ]
    if any(shipments_changed) and not created:
        changed.append("shipments")
    refunds_changed = [_refund_apply(brand_id=brand_id, order=order, incoming=r, actor=actor) for r in incoming.refunds]
    if any(refunds_changed) and not created:
        changed.append("refunds")
    if created:
        audit_record(
            brand_id=brand_id,
            subject=order,
            action="order_created",
            actor=actor,
            data={"source": incoming.source, "lines": len(incoming.lines), "total": str(incoming.total)},
        )
        if order.cancelled_at is not None:
            # First seen already cancelled (deliveries arrive out of order): the cancellation is
            # still part of the order's history.
            audit_record(
                brand_id=brand_id,
                subject=order,
                action="order_cancelled",
                actor=actor,
                why=order.cancel_reason or "cancelled in the shop",
            )
        return OrderUpsert(order=order, outcome="created")
    if changed:
        audit_record(brand_id=brand_id, subject=order, action="order_updated", actor=actor, data={"changed": changed})
        return OrderUpsert(order=order, outcome="updated", changed=changed)
    return OrderUpsert(order=order, outcome="unchanged")


def _customer_upsert(*, brand_id: int, incoming: CanonicalCustomer | None, email: str) -> Customer | None:
    if incoming is None and not email:
        return None
    data = incoming or CanonicalCustomer(email=email)
    email_value = (data.email or email).strip().lower()
    lookup: dict[str, Any]
    if data.external_id:
        lookup = {"brand_id": brand_id, "external_id": data.external_id}
    elif email_value:
        lookup = {"brand_id": brand_id, "external_id": "", "email": email_value}
    else:
        return None
    details = {"first_name": data.first_name, "last_name": data.last_name, "phone": data.phone}
    customer = Customer.objects.filter(**lookup).first()
    if customer is None:
        try:
            with transaction.atomic():
                return Customer.objects.create(**{**lookup, "email": email_value, **details})
        except IntegrityError:
            customer = Customer.objects.get(**lookup)
    updates = {k: v for k, v in {**details, "email": email_value}.items() if v and getattr(customer, k) != v}
    if updates:
        Customer.objects.filter(pk=customer.pk).update(**updates)
    return customer


def _lines_sync(*, brand_id: int, order: Order, incoming: list[CanonicalLine]) -> bool:
    """Create or update the order's lines; a line never disappears (returns may point at it)."""
    if not incoming:
        return False
    existing = {line.external_id: line for line in OrderLine.objects.filter(order=order)}
    variants = _variants_for(brand_id=brand_id, lines=incoming)
    changed = False
    for position, item in enumerate(incoming, start=1):
        variant = variants.get(("id", item.variant_external_id)) or variants.get(("sku", item.sku))
        product_personalised = bool(variant and variant.product.personalised)
        values: dict[str, Any] = {
            "position": position,
            "sku": item.sku,
            "variant_id": variant.pk if variant else None,
            "product_id": variant.product_id if variant else None,
            "title": item.title,
            "variant_title": item.variant_title,
            "quantity": item.quantity,
            "unit_price": item.unit_price,
            "total_discount": item.total_discount,
            "tax": item.tax,
            "properties": dict(item.properties),
            "personalised": product_personalised or item.has_personalisation,
            "fulfilled_quantity": item.fulfilled_quantity,
        }
        line = existing.get(item.external_id)
        if line is None:
            OrderLine.objects.create(brand_id=brand_id, order=order, external_id=item.external_id, **values)
            changed = True
            continue
        diff = {k: v for k, v in values.items() if getattr(line, k) != v}
        if diff:
            for k, v in diff.items():
                setattr(line, k, v)
            line.save(update_fields=[*diff.keys(), "updated_at"])
            changed = True
    return changed


def _variants_for(*, brand_id: int, lines: list[CanonicalLine]) -> dict[tuple[str, str], Variant]:
    """The catalogue's variants for these lines by shop id and by SKU; unknown lines get a product."""
    ids = {line.variant_external_id for line in lines if line.variant_external_id}
    skus = {line.sku for line in lines if line.sku}
    found: dict[tuple[str, str], Variant] = {}
    if ids or skus:
        query = Variant.objects.filter(brand_id=brand_id).select_related("product")
        for variant in query.filter(external_id__in=ids) if ids else []:
            found[("id", variant.external_id)] = variant
        for variant in query.filter(sku__in=skus).order_by("-external_id") if skus else []:
            found.setdefault(("sku", variant.sku), variant)
    unknown = [
        line
        for line in lines
        if (line.sku or line.variant_external_id)
        and ("sku", line.sku) not in found
        and ("id", line.variant_external_id) not in found
    ]
    if unknown:
        made = products_for_unknown_lines(
            brand_id=brand_id,
            lines=[
                UnknownLine(
                    sku=line.sku,
                    title=line.title,
                    variant_title=line.variant_title,
                    product_external_id=line.product_external_id,
                    variant_external_id=line.variant_external_id,
                )
                for line in unknown
            ],
        )
        for line, variant in zip(unknown, made, strict=True):
            if line.variant_external_id:
                found[("id", line.variant_external_id)] = variant
            if line.sku:
                found.setdefault(("sku", line.sku), variant)
    return found


def _shipment_apply(*, brand_id: int, order: Order, incoming: CanonicalShipment, actor: Actor) -> bool:
    shipment = None
    if incoming.external_id:
        shipment = Shipment.objects.filter(order=order, external_id=incoming.external_id).first()
    if shipment is not None and is_stale(stored=shipment.source_updated_at, incoming=incoming.updated_at):
        return False
    values: dict[str, Any] = {
        "carrier": incoming.carrier,
        "service": incoming.service,
        "tracking_numbers": list(incoming.tracking_numbers),
        "tracking_number": incoming.tracking_numbers[0] if incoming.tracking_numbers else "",
        "tracking_urls": list(incoming.tracking_urls),
        "status": incoming.status,
        "shipped_at": incoming.shipped_at,
        "delivered_at": incoming.delivered_at,
    }
    if shipment is None:
        shipment = Shipment.objects.create(
            brand_id=brand_id,
            order=order,
            external_id=incoming.external_id,
            source_updated_at=incoming.updated_at,
            **values,
        )
        audit_record(
            brand_id=brand_id,
            subject=order,
            action="shipment_created",
            actor=actor,
            to_state=shipment.status,
            data={"carrier": shipment.carrier, "tracking_numbers": shipment.tracking_numbers},
        )
        _shipment_lines_sync(order=order, shipment=shipment, lines=incoming.lines)
        return True
    previous = shipment.status
    diff = {k: v for k, v in values.items() if getattr(shipment, k) != v}
    if incoming.updated_at:
        shipment.source_updated_at = incoming.updated_at
    for k, v in diff.items():
        setattr(shipment, k, v)
    shipment.save()
    lines_changed = _shipment_lines_sync(order=order, shipment=shipment, lines=incoming.lines)
    if diff or lines_changed:
        audit_record(
            brand_id=brand_id,
            subject=order,
            action="shipment_updated",
            actor=actor,
            from_state=previous if "status" in diff else "",
            to_state=shipment.status if "status" in diff else "",
            data={"tracking_numbers": shipment.tracking_numbers, "changed": sorted(diff)},
        )
        return True
    return False


def _shipment_lines_sync(*, order: Order, shipment: Shipment, lines: dict[str, int]) -> bool:
    if not lines:
        return False
    line_ids = dict(OrderLine.objects.filter(order=order, external_id__in=lines).values_list("external_id", "id"))
    current = dict(ShipmentLine.objects.filter(shipment=shipment).values_list("line_id", "quantity"))
    changed = False
    for external_id, quantity in lines.items():
        line_id = line_ids.get(external_id)
        if line_id is None or current.get(line_id) == quantity:
            continue
        ShipmentLine.objects.update_or_create(shipment=shipment, line_id=line_id, defaults={"quantity": quantity})
        changed = True
    return changed


def _refund_apply(*, brand_id: int, order: Order, incoming: CanonicalRefund, actor: Actor) -> bool:
    if ShopRefund.objects.filter(order=order, external_id=incoming.external_id).exists():
        return False
    ShopRefund.objects.create(
        brand_id=brand_id,
        order=order,
        external_id=incoming.external_id,
        amount=incoming.amount,
        currency=order.currency,
        note=incoming.note,
        lines=list(incoming.lines),
        refunded_at=incoming.refunded_at,
    )
    audit_record(
        brand_id=brand_id,
        subject=order,
        action="shop_refund_recorded",
        actor=actor,
        why=incoming.note,
        data={"refund": incoming.external_id, "amount": str(incoming.amount), "currency": order.currency},
    )
    return True


def _order_for_update(*, brand_id: int, external_id: str) -> Order:
    order = Order.objects.select_for_update().filter(brand_id=brand_id, external_id=external_id).first()
    if order is None:
        # The shop sends fulfilments and refunds separately; the order may simply not be here yet.
        raise NotFound(f"order {external_id} is not known yet")
    return order


@transaction.atomic
def shipment_upsert(*, brand_id: int, order_external_id: str, incoming: CanonicalShipment, actor: Actor) -> str:
    """Apply one shipment (a shop fulfilment) to its order: created, updated, unchanged or stale."""
    order = _order_for_update(brand_id=brand_id, external_id=order_external_id)
    existing = (
        Shipment.objects.filter(order=order, external_id=incoming.external_id).first() if incoming.external_id else None
    )
    if existing is not None and is_stale(stored=existing.source_updated_at, incoming=incoming.updated_at):
        return "stale"
    changed = _shipment_apply(brand_id=brand_id, order=order, incoming=incoming, actor=actor)
    if not changed:
        return "unchanged"
    return "created" if existing is None else "updated"


@transaction.atomic
def shop_refund_record(*, brand_id: int, order_external_id: str, incoming: CanonicalRefund, actor: Actor) -> str:
    order = _order_for_update(brand_id=brand_id, external_id=order_external_id)
    return "created" if _refund_apply(brand_id=brand_id, order=order, incoming=incoming, actor=actor) else "unchanged"
