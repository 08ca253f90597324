"""order_for_portal: the one query behind every shopper lookup."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from pytest_django import DjangoAssertNumQueries

from assay.brands.models import Brand
from assay.orders.models import Order
from assay.orders.schema import CanonicalLine
from assay.orders.selectors import order_for_portal

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("typed", ["#1001", "1001", "  #1001 ", "# 1001"])
def test_the_number_is_found_with_or_without_hash_and_spaces(
    brand: Brand, make_shop_order: Callable[..., Order], typed: str
) -> None:
    order = make_shop_order("#1001")

    found = order_for_portal(brand_id=brand.pk, number=typed, email="ada@example.com")

    assert found is not None
    assert (found.id, found.number) == (order.pk, "#1001")


def test_the_email_matches_in_any_case_and_with_spaces_around(
    brand: Brand, make_shop_order: Callable[..., Order]
) -> None:
    make_shop_order("#1001", email="ada@example.com")

    assert order_for_portal(brand_id=brand.pk, number="1001", email=" Ada@Example.COM ") is not None


@pytest.mark.parametrize(
    ("number", "email"),
    [
        ("1002", "ada@example.com"),  # no such order
        ("1001", "eve@example.com"),  # another e-mail
        ("1001", ""),  # no e-mail at all
        ("", "ada@example.com"),
        ("#", "ada@example.com"),
        ("1001", "ada@example.com.evil"),
    ],
)
def test_any_mismatch_is_none(brand: Brand, make_shop_order: Callable[..., Order], number: str, email: str) -> None:
    make_shop_order("#1001", email="ada@example.com")

    assert order_for_portal(brand_id=brand.pk, number=number, email=email) is None


def test_an_order_without_an_email_is_never_found(brand: Brand, make_shop_order: Callable[..., Order]) -> None:
    make_shop_order("#1001", email="")

    assert order_for_portal(brand_id=brand.pk, number="1001", email="") is None
    assert order_for_portal(brand_id=brand.pk, number="1001", email=" ") is None


def test_another_brands_order_is_none(brand: Brand, other_brand: Brand, make_shop_order: Callable[..., Order]) -> None:
    make_shop_order("#1001", for_brand=other_brand)

    assert order_for_portal(brand_id=brand.pk, number="1001", email="ada@example.com") is None
    assert order_for_portal(brand_id=other_brand.pk, number="1001", email="ada@example.com") is not None


def test_lines_come_in_the_shops_order_with_their_personalisation_in_one_query(
    brand: Brand, make_shop_order: Callable[..., Order], django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    make_shop_order(
        "#1001",
        lines=[
            CanonicalLine(external_id="a", sku="SOL-6.5", title="Solitaire ring", quantity=1, unit_price=Decimal(1200)),
            CanonicalLine(
                external_id="b",
                sku="BAND-7",
                title="Comfort band",
                quantity=2,
                unit_price=Decimal(400),
                properties={"Engraving": "A & J"},
            ),
        ],
    )

    with django_assert_num_queries(1):
        found = order_for_portal(brand_id=brand.pk, number="#1001", email="ada@example.com")

    assert found is not None
    assert [(line.sku, line.quantity) for line in found.lines] == [("SOL-6.5", 1), ("BAND-7", 2)]
    assert found.lines[1].personalised is True
    assert found.lines[1].personalisation == {"Engraving": "A & J"}
    assert found.lines[0].variant_id is not None


def test_a_miss_costs_one_query(
    brand: Brand, make_shop_order: Callable[..., Order], django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    make_shop_order("#1001")

    with django_assert_num_queries(1):
        assert order_for_portal(brand_id=brand.pk, number="1001", email="eve@example.com") is None
