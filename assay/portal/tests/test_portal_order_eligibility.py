"""portal_order_eligibility: the API lookup's one statement finds the order as order_for_portal does
and reads the same facts as order_facts_build."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from pytest_django import DjangoAssertNumQueries

from assay.brands.models import Brand
from assay.orders.models import Order
from assay.orders.schema import CanonicalLine
from assay.orders.selectors import order_for_portal
from assay.returns.eligibility import order_eligibility, order_facts_build, portal_order_eligibility

pytestmark = pytest.mark.django_db


def _lines() -> list[CanonicalLine]:
    return [
        CanonicalLine(
            external_id="a", sku="SOL-6.5", title="Solitaire ring", variant_title="6.5", quantity=1,
            unit_price=Decimal(1200), total_discount=Decimal(100),
        ),
        CanonicalLine(
            external_id="b", sku="BAND-7", title="Comfort band", quantity=2, unit_price=Decimal(400),
            properties={"Engraving": "A & J", "_gift": "yes"},
        ),
    ]  # fmt: skip


def test_the_order_its_facts_and_its_decision_match_the_separate_reads(
    brand: Brand, make_shop_order: Callable[..., Order]
) -> None:
    order = make_shop_order("#1001", lines=_lines())
    make_shop_order("#1002")  # the same customer's history: two orders, three units
    now = timezone.now()

    found = portal_order_eligibility(brand_id=brand.pk, number=" #1001", email="Ada@Example.com ", now=now)

    assert found is not None
    assert found.order == order_for_portal(brand_id=brand.pk, number="1001", email="ada@example.com")
    assert found.order.lines[1].personalisation == {"Engraving": "A & J"}
    assert found.facts == order_facts_build(brand_id=brand.pk, order_id=order.pk, now=now)
    assert (found.facts.customer.orders_count, found.facts.customer.bought_units) == (2, 4)
    assert found.decision == order_eligibility(brand_id=brand.pk, order_id=order.pk, now=now)


@pytest.mark.parametrize(
    ("number", "email"),
    [
        ("1002", "ada@example.com"),  # no such order
        ("1001", "eve@example.com"),  # another e-mail
        ("1001", ""),
        ("", "ada@example.com"),
        ("#", "ada@example.com"),
        ("1001", "ada@example.com.evil"),
        ("1" * 65, "ada@example.com"),
    ],
)
def test_any_mismatch_is_none_as_for_order_for_portal(
    brand: Brand, make_shop_order: Callable[..., Order], number: str, email: str
) -> None:
    make_shop_order("#1001", email="ada@example.com")

    assert portal_order_eligibility(brand_id=brand.pk, number=number, email=email) is None
    assert order_for_portal(brand_id=brand.pk, number=number, email=email) is None


def test_an_order_without_an_email_is_never_found(brand: Brand, make_shop_order: Callable[..., Order]) -> None:
    make_shop_order("#1001", email="")

    assert portal_order_eligibility(brand_id=brand.pk, number="1001", email=" ") is None


def test_another_brands_order_is_none(brand: Brand, other_brand: Brand, make_shop_order: Callable[..., Order]) -> None:
    make_shop_order("#1001", for_brand=other_brand)

    assert portal_order_eligibility(brand_id=brand.pk, number="1001", email="ada@example.com") is None
    assert portal_order_eligibility(brand_id=other_brand.pk, number="1001", email="ada@example.com") is not None


def test_the_latest_order_wins_when_a_number_repeats(brand: Brand, make_shop_order: Callable[..., Order]) -> None:
    older = make_shop_order("#1001", placed=timezone.now() - timedelta(days=30))
    newer = make_shop_order("#1002", placed=timezone.now() - timedelta(days=5))
    Order.objects.filter(pk=newer.pk).update(number="#1001", number_key="1001")

    found = portal_order_eligibility(brand_id=brand.pk, number="1001", email="ada@example.com")
    expected = order_for_portal(brand_id=brand.pk, number="1001", email="ada@example.com")

    assert found is not None
    assert expected is not None
    assert found.order.id == expected.id == newer.pk != older.pk


def test_a_hit_with_lines_and_history_is_one_query_and_a_miss_too(
    brand: Brand, make_shop_order: Callable[..., Order], django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    make_shop_order("#1001", lines=_lines())
    portal_order_eligibility(brand_id=brand.pk, number="1001", email="ada@example.com")  # the policy is cached

    with django_assert_num_queries(1):
        found = portal_order_eligibility(brand_id=brand.pk, number="1001", email="ada@example.com")
    with django_assert_num_queries(1):
        missed = portal_order_eligibility(brand_id=brand.pk, number="1001", email="eve@example.com")

    assert found is not None
    assert len(found.order.lines) == len(found.facts.lines) == 2
    assert missed is None
