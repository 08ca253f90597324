"""Builders for API tests: orders and products go in through the same services every intake uses."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from assay.brands.models import Brand
from assay.catalog.models import Product
from assay.catalog.schema import CanonicalProduct, CanonicalVariant
from assay.catalog.services import product_upsert
from assay.core.audit import Actor
from assay.orders.models import Order
from assay.orders.schema import CanonicalCustomer, CanonicalLine, CanonicalOrder
from assay.orders.services import order_upsert

INTAKE = Actor.system("test intake")


def at(text: str) -> datetime:
    """'2024-03-01 10:00' -> an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def canonical_order(number: str = "#1001", **overrides: Any) -> CanonicalOrder:
    key = number.lstrip("#")
    values: dict[str, Any] = {
        "source": "shopify",
        "external_id": f"gid-{key}",
        "number": number,
        "email": f"buyer{key}@example.com",
        "currency": "USD",
        "subtotal": Decimal("1200"),
        "total_tax": Decimal("96.5"),
        "total_discounts": Decimal("0"),
        "total_shipping": Decimal("15"),
        "total": Decimal("1311.5"),
        "financial_status": "paid",
        "placed_at": at("2024-03-01 10:00"),
        "customer": CanonicalCustomer(external_id=f"c-{key}", email=f"buyer{key}@example.com", first_name="Ada"),
        "lines": [
            CanonicalLine(
                external_id=f"l-{key}-1",
                sku="AUR-RING-6",
                title="Solitaire ring",
                variant_title="6",
                quantity=1,
                unit_price=Decimal("1200"),
            )
        ],
    }
    values.update(overrides)
    return CanonicalOrder(**values)


@pytest.fixture
def make_order(brand: Brand) -> Callable[..., Order]:
    """make_order("#1002", email=..., brand=other) -> the stored Order."""

    def make(number: str = "#1001", *, for_brand: Brand | None = None, **overrides: Any) -> Order:
        incoming = canonical_order(number, **overrides)
        return order_upsert(brand_id=(for_brand or brand).pk, incoming=incoming, actor=INTAKE).order

    return make


@pytest.fixture
def make_product(brand: Brand) -> Callable[..., Product]:
    def make(external_id: str = "p-1", *, for_brand: Brand | None = None, **overrides: Any) -> Product:
        values: dict[str, Any] = {
            "external_id": external_id,
            "title": "Solitaire ring",
            "product_type": "Rings",
            "option_names": ["Ring size"],
            "variants": [
                CanonicalVariant(
                    external_id=f"{external_id}-v6",
                    sku=f"SKU-{external_id}-6",
                    options={"Ring size": "6.5"},
                    price=Decimal("1200"),
                    inventory_quantity=3,
                )
            ],
        }
        values.update(overrides)
        incoming = CanonicalProduct(**values)
        return product_upsert(brand_id=(for_brand or brand).pk, incoming=incoming, actor=INTAKE).product

    return make
