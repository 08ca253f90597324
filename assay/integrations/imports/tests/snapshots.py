"""A brand's order data as plain values, without ids or timestamps, to compare two loads."""

from __future__ import annotations

from typing import Any

from django.db import models

from assay.catalog.models import Product, Variant
from assay.core.models import AuditEvent
from assay.orders.models import Customer, Order, OrderLine, Shipment, ShipmentLine, ShopRefund

_SKIP = {"id", "brand", "created_at", "updated_at"}


def _plain(model: type[models.Model]) -> list[str]:
    return [f.name for f in model._meta.concrete_fields if f.name not in _SKIP and not f.is_relation]


def snapshot(brand_id: int) -> dict[str, list[dict[str, Any]]]:
    orders = Order.objects.filter(brand_id=brand_id)
    order_refs = dict(orders.values_list("id", "external_id"))
    audit = [
        {**row, "subject_id": order_refs.get(row["subject_id"], row["subject_id"])}
        for row in AuditEvent.objects.filter(brand_id=brand_id, subject_type="order")
        .order_by("id")
        .values(
            "actor_kind", "actor_label", "subject_type", "subject_id", "action", "from_state", "to_state", "why", "data"
        )
    ]
    return {
        "orders": list(
            orders.order_by("external_id").values(*_plain(Order), "customer__external_id", "customer__email")
        ),
        "lines": list(
            OrderLine.objects.filter(brand_id=brand_id)
            .order_by("order__external_id", "position", "external_id")
            .values(
                *_plain(OrderLine),
                "order__external_id",
                "variant__sku",
                "variant__external_id",
                "product__title",
                "product__needs_completion",
                "piece_id",
            )
        ),
        "customers": list(
            Customer.objects.filter(brand_id=brand_id).order_by("external_id", "email").values(*_plain(Customer))
        ),
        "shipments": list(
            Shipment.objects.filter(brand_id=brand_id)
            .order_by("order__external_id", "external_id")
            .values(*_plain(Shipment), "order__external_id")
        ),
        "shipment_lines": list(
            ShipmentLine.objects.filter(shipment__brand_id=brand_id)
            .order_by("shipment__order__external_id", "shipment__external_id", "line__external_id")
            .values("shipment__order__external_id", "shipment__external_id", "line__external_id", "quantity")
        ),
        "refunds": list(
            ShopRefund.objects.filter(brand_id=brand_id)
            .order_by("order__external_id", "external_id")
            .values(*_plain(ShopRefund), "order__external_id")
        ),
        "products": list(Product.objects.filter(brand_id=brand_id).order_by("title", "id").values(*_plain(Product))),
        "variants": list(
            Variant.objects.filter(brand_id=brand_id).order_by("sku", "id").values(*_plain(Variant), "product__title")
        ),
        "audit": audit,
    }


def row_counts(brand_id: int) -> dict[str, int]:
    return {
        "orders": Order.objects.filter(brand_id=brand_id).count(),
        "lines": OrderLine.objects.filter(brand_id=brand_id).count(),
        "customers": Customer.objects.filter(brand_id=brand_id).count(),
        "shipments": Shipment.objects.filter(brand_id=brand_id).count(),
        "shipment_lines": ShipmentLine.objects.filter(shipment__brand_id=brand_id).count(),
        "refunds": ShopRefund.objects.filter(brand_id=brand_id).count(),
        "products": Product.objects.filter(brand_id=brand_id).count(),
        "audit_events": AuditEvent.objects.filter(brand_id=brand_id).count(),
    }
