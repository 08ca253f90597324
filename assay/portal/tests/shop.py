"""Builders for the portal's tests (pages, API, browser): a brand's ring catalogue and its orders,
made through the same services every intake uses, so lines carry their products and variants as in
real life."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.utils import timezone

from assay.brands.models import Brand
from assay.catalog.models import Product
from assay.catalog.schema import CanonicalProduct, CanonicalVariant
from assay.catalog.services import product_upsert
from assay.core.audit import Actor
from assay.orders.models import Order, ShipmentStatus
from assay.orders.schema import CanonicalCustomer, CanonicalLine, CanonicalOrder, CanonicalShipment
from assay.orders.services import order_upsert
from assay.policies.selectors import policy_cache_clear
from assay.returns.portal_access import brand_cache_clear

INTAKE = Actor.system("test intake")
RING_SIZES = ("5", "5.5", "6", "6.5", "7", "7.5", "8")


@contextmanager
def fresh_portal_state() -> Iterator[None]:
    """Lookup counters, remembered brand ids and policies live outside the database: start and end clean."""
    cache.clear()
    brand_cache_clear()
    policy_cache_clear()
    try:
        yield
    finally:
        cache.clear()
        brand_cache_clear()
        policy_cache_clear()


def ring_product(brand: Brand, *, external_id: str = "p-sol", title: str = "Solitaire ring", sku: str = "SOL",
                 price: str = "1200", stock: dict[str, int] | None = None, **flags: Any) -> Product:  # fmt: skip
    """A ring in sizes 5-8 (every size 3 in stock unless `stock` says otherwise)."""
    levels = stock or {}
    incoming = CanonicalProduct(
        external_id=external_id,
        title=title,
        product_type="Rings",
        option_names=["Ring size"],
        variants=[
            CanonicalVariant(
                external_id=f"{external_id}-{size}",
                sku=f"{sku}-{size}",
                title=size,
                options={"Ring size": size},
                price=Decimal(price),
                inventory_quantity=levels.get(size, 3),
                position=position,
            )
            for position, size in enumerate(RING_SIZES, start=1)
        ],
    )
    product = product_upsert(brand_id=brand.pk, incoming=incoming, actor=INTAKE).product
    if flags:
        Product.objects.filter(pk=product.pk).update(**flags)
        product.refresh_from_db()
    return product


def shop_order(
    brand: Brand,
    number: str = "#1001",
    *,
    email: str = "ada@example.com",
    lines: list[CanonicalLine] | None = None,
    placed: datetime | None = None,
    delivered: bool = True,
) -> Order:
    placed_at = placed or timezone.now().astimezone(UTC) - timedelta(days=12)
    key = number.lstrip("#")
    items = lines or [
        CanonicalLine(
            external_id=f"{key}-1", sku="SOL-6.5", title="Solitaire ring", variant_title="6.5", quantity=1,
            unit_price=Decimal("1200"), fulfilled_quantity=1,
        )
    ]  # fmt: skip
    incoming = CanonicalOrder(
        source="shopify",
        external_id=f"{brand.slug}-{key}",
        number=number,
        email=email,
        currency=brand.currency,
        subtotal=sum((line.unit_price * line.quantity for line in items), Decimal(0)),
        total=sum((line.unit_price * line.quantity for line in items), Decimal(0)),
        financial_status="paid",
        fulfillment_status="fulfilled",
        placed_at=placed_at,
        customer=CanonicalCustomer(external_id=f"c-{brand.slug}-{email}", email=email, first_name="Ada"),
        lines=items,
        shipments=[
            CanonicalShipment(
                external_id=f"{key}-f",
                carrier="FedEx",
                tracking_numbers=["794600000001"],
                status=ShipmentStatus.DELIVERED if delivered else ShipmentStatus.IN_TRANSIT,
                shipped_at=placed_at + timedelta(days=1),
                delivered_at=placed_at + timedelta(days=3) if delivered else None,
                lines={line.external_id: line.quantity for line in items},
            )
        ],
    )
    return order_upsert(brand_id=brand.pk, incoming=incoming, actor=INTAKE).order
