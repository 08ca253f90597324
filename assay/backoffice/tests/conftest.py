"""Orders and staff for the back-office tests, built through the domain services."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from assay.brands.models import Brand
from assay.brands.services import staff_add
from assay.core.audit import Actor
from assay.orders.models import Order, ShipmentStatus
from assay.orders.schema import CanonicalCustomer, CanonicalLine, CanonicalOrder, CanonicalShipment
from assay.orders.services import order_upsert

SHOP = Actor.webhook("shopify")
PASSWORD = "correct-horse-battery"


@pytest.fixture
def make_order(db: Any) -> Callable[..., Order]:
    def make(
        brand: Brand,
        number: str = "#1001",
        *,
        email: str = "ada@example.com",
        sku: str = "RING-SOL-6",
        title: str = "Solitaire ring",
        placed_at: datetime | None = None,
        engraving: str = "",
        shipped: bool = False,
        currency: str = "USD",
    ) -> Order:
        properties = {"Engraving": engraving} if engraving else {}
        line = CanonicalLine(
            external_id=f"{number}-l1",
            sku=sku,
            title=title,
            variant_title="6 / Platinum",
            quantity=1,
            unit_price=Decimal("1250.00"),
            properties=properties,
        )
        shipments = []
        if shipped:
            shipments.append(
                CanonicalShipment(
                    external_id=f"{number}-f1",
                    carrier="UPS",
                    tracking_numbers=["1Z999AA10123456784"],
                    tracking_urls=["https://www.ups.com/track?tracknum=1Z999AA10123456784"],
                    status=ShipmentStatus.IN_TRANSIT,
                    shipped_at=datetime(2025, 3, 4, 9, 0, tzinfo=UTC),
                    lines={f"{number}-l1": 1},
                )
            )
        incoming = CanonicalOrder(
            source="shopify",
            external_id=f"{brand.slug}-{number}",
            number=number,
            email=email,
            currency=currency,
            subtotal=Decimal("1250.00"),
            total=Decimal("1250.00"),
            financial_status="paid",
            placed_at=placed_at or datetime(2025, 3, 1, 12, 0, tzinfo=UTC),
            customer=CanonicalCustomer(
                external_id=f"c-{brand.slug}-{email}", email=email, first_name="Ada", last_name="Lovelace"
            ),
            lines=[line],
            shipments=shipments,
        )
        return order_upsert(brand_id=brand.pk, incoming=incoming, actor=SHOP).order

    return make


@pytest.fixture
def staff_client(staff_user: Any, staff_password: str) -> Client:
    client = Client()
    assert client.login(username=staff_user.username, password=staff_password)
    return client


@pytest.fixture
def two_brand_user(brand: Brand, other_brand: Brand) -> Any:
    staff_add(slug=brand.slug, email="va@agency.example", role="ops", password=PASSWORD, actor=SHOP)
    return staff_add(slug=other_brand.slug, email="va@agency.example", role="ops", password=None, actor=SHOP).user


@pytest.fixture
def two_brand_client(two_brand_user: Any) -> Client:
    client = Client()
    assert client.login(username=two_brand_user.username, password=PASSWORD)
    return client
