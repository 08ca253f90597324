"""Fixtures for the portal's tests; the builders live in shop.py (the API and browser tests use them too)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from assay.brands.models import Brand
from assay.orders.models import Order
from assay.orders.schema import CanonicalLine
from assay.portal.tests.shop import fresh_portal_state, ring_product, shop_order


@pytest.fixture(autouse=True)
def _fresh_portal_state() -> Iterator[None]:
    with fresh_portal_state():
        yield


@pytest.fixture
def make_shop_order(brand: Brand) -> Callable[..., Order]:
    def make(number: str = "#1001", **kwargs: Any) -> Order:
        return shop_order(kwargs.pop("for_brand", brand), number, **kwargs)

    return make


@pytest.fixture
def ring_order(brand: Brand) -> Order:
    """#1001: a solitaire ring in size 6.5 and an engraved pendant, delivered 9 days ago."""
    ring_product(brand)
    return shop_order(
        brand,
        "#1001",
        lines=[
            CanonicalLine(external_id="r", sku="SOL-6.5", title="Solitaire ring", variant_title="6.5", quantity=1,
                          unit_price=Decimal(1200), fulfilled_quantity=1),
            CanonicalLine(external_id="p", sku="PEND-1", title="Initial pendant", quantity=1, unit_price=Decimal(300),
                          properties={"Engraving": "A.L."}, fulfilled_quantity=1),
        ],
    )  # fmt: skip
