"""A small jewellery shop for return tests: catalogue rows, orders with shipments, the default policy.

Catalogue and orders are written as rows (the intake services are tested elsewhere); returns go
through the services under test.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import count
from typing import Any

import pytest
from django.utils import timezone

from assay.brands.models import Brand
from assay.catalog.models import Product, Stone, Variant
from assay.core.audit import Actor
from assay.orders.models import Customer, Order, OrderLine, Shipment, ShipmentStatus
from assay.policies.services import policy_default_ensure
from assay.returns.services import return_request_create
from assay.returns.types import ReturnLineRequest

SHOPPER = Actor(kind="shopper", label="shopper ada@example.com")
STAFF = Actor(kind="staff", label="ops@aurelia.example", user_id=1)
SYSTEM = Actor.system("test")

_ids = count(1)


@dataclass
class Piece:
    """A product and its variants by US ring size (or one variant for pieces without sizes)."""

    product: Product
    variants: dict[str, Variant] = field(default_factory=dict)

    def size(self, size: str) -> Variant:
        return self.variants[size]


@dataclass
class Shop:
    brand: Brand

    def piece(
        self,
        title: str = "Solitaire ring",
        *,
        category: str = "ring",
        sizes: Sequence[str] = ("6", "6.5", "7"),
        price: str = "1200",
        stock: int = 3,
        stones: Sequence[str] = (),
        tags: Sequence[str] = (),
        **flags: Any,
    ) -> Piece:
        n = next(_ids)
        product = Product.objects.create(
            brand=self.brand,
            external_id=f"p-{n}",
            title=title,
            category=category,
            product_type=category.title(),
            tags=list(tags),
            option_names=["Ring size"] if sizes else [],
            **flags,
        )
        piece = Piece(product=product)
        for position, size in enumerate(sizes or ("",), start=1):
            sku = f"P{n}-{size.replace('.', '_')}" if size else f"P{n}"
            piece.variants[size] = Variant.objects.create(
                brand=self.brand,
                product=product,
                external_id=f"v-{n}-{position}",
                sku=sku,
                title=size,
                options={"Ring size": size} if size else {},
                ring_size=Decimal(size) if size else None,
                price=Decimal(price),
                inventory_quantity=stock,
                position=position,
            )
        for origin in stones:
            Stone.objects.create(brand=self.brand, product=product, species="diamond", origin=origin)
        return piece

    def order(
        self,
        *lines: tuple[Variant, int],
        email: str = "ada@example.com",
        placed_days_ago: int = 10,
        delivered_days_ago: int | None = 5,
        engraved: Sequence[int] = (),
        discount: str = "0",
        cancelled: bool = False,
    ) -> Order:
        n = next(_ids)
        now = timezone.now()
        customer, _ = Customer.objects.get_or_create(brand=self.brand, email=email, defaults={"first_name": "Ada"})
        total = sum((v.price * q for v, q in lines), Decimal(0))
        order = Order.objects.create(
            brand=self.brand,
            external_id=f"o-{n}",
            number=f"#{1000 + n}",
            number_key=str(1000 + n),
            email=email,
            customer=customer,
            currency=self.brand.currency,
            subtotal=total,
            total=total,
            total_discounts=Decimal(discount),
            placed_at=now - timedelta(days=placed_days_ago),
            cancelled_at=now if cancelled else None,
            source="shopify",
            shipping_country="US",
        )
        for position, (variant, quantity) in enumerate(lines, start=1):
            OrderLine.objects.create(
                brand=self.brand,
                order=order,
                external_id=f"l-{n}-{position}",
                position=position,
                sku=variant.sku,
                variant=variant,
                product=variant.product,
                title=variant.product.title,
                variant_title=variant.title,
                quantity=quantity,
                unit_price=variant.price,
                personalised=position in engraved,
                fulfilled_quantity=quantity,
            )
        if delivered_days_ago is not None:
            Shipment.objects.create(
                brand=self.brand,
                order=order,
                external_id=f"f-{n}",
                carrier="UPS",
                tracking_number=f"1Z{n:08d}",
                status=ShipmentStatus.DELIVERED,
                shipped_at=now - timedelta(days=delivered_days_ago + 2),
                delivered_at=now - timedelta(days=delivered_days_ago),
            )
        return order


def lines_of(order: Order) -> list[OrderLine]:
    return list(OrderLine.objects.filter(order=order).order_by("position"))


def ask(
    line: OrderLine,
    quantity: int = 1,
    *,
    reason: str = "size_too_small",
    resolution: str = "refund",
    exchange_kind: str = "",
    exchange_sku: str = "",
    size_wanted: str | None = None,
    comment: str = "",
) -> ReturnLineRequest:
    return ReturnLineRequest(
        line_id=line.pk,
        quantity=quantity,
        reason=reason,
        resolution=resolution,
        exchange_kind=exchange_kind,
        exchange_sku=exchange_sku,
        size_wanted=Decimal(size_wanted) if size_wanted is not None else None,
        comment=comment,
    )


def create(order: Order, *items: ReturnLineRequest, method: str = "mail", **kwargs: Any) -> Any:
    kwargs.setdefault("actor", SHOPPER)
    kwargs.setdefault("source", "portal")
    return return_request_create(brand_id=order.brand_id, order_id=order.pk, lines=list(items), method=method, **kwargs)


@pytest.fixture
def shop(brand: Brand) -> Shop:
    policy_default_ensure(brand_id=brand.pk, actor=SYSTEM)
    return Shop(brand=brand)


@pytest.fixture
def other_shop(other_brand: Brand) -> Shop:
    policy_default_ensure(brand_id=other_brand.pk, actor=SYSTEM)
    return Shop(brand=other_brand)


def at_days_ago(days: int) -> datetime:
    return timezone.now() - timedelta(days=days)
