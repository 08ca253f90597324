"""Fixtures for the portal's tests; the builders live in shop.py (the API and browser tests use them too)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from assay.brands.models import Brand
from assay.orders.models import Order
from assay.portal.tests.shop import fresh_portal_state, shop_order


@pytest.fixture(autouse=True)
def _fresh_portal_state() -> Iterator[None]:
    with fresh_portal_state():
        yield


@pytest.fixture
def make_shop_order(brand: Brand) -> Callable[..., Order]:
    def make(number: str = "#1001", **kwargs: Any) -> Order:
        return shop_order(kwargs.pop("for_brand", brand), number, **kwargs)

    return make
