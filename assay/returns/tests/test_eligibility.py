"""Facts for the policy engine from the database, and the decision a shopper sees per line."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from assay.core.errors import NotFound
from assay.returns.eligibility import ORDER_CANCELLED, order_eligibility, order_facts_build
from assay.returns.services import return_request_cancel
from assay.returns.tests.conftest import SHOPPER, ask, create, lines_of

pytestmark = pytest.mark.django_db


def test_facts_carry_the_order_its_lines_products_and_shipments(shop):
    ring = shop.piece("Solitaire ring", sizes=("6", "6.5"), price="1200", stones=("natural",), tags=("bridal",))
    studs = shop.piece("Pierced studs", category="earrings", sizes=(), price="300", hygiene_item=True)
    order = shop.order((ring.size("6"), 1), (studs.size(""), 2), discount="50", delivered_days_ago=4)

    facts = order_facts_build(brand_id=shop.brand.pk, order_id=order.pk)

    assert (facts.order_id, facts.number, facts.currency, facts.country) == (order.pk, order.number, "USD", "US")
    assert facts.discount_used is True
    assert facts.delivered_at is not None
    assert facts.shipped_at is not None
    assert facts.delivered_at - facts.shipped_at == timedelta(days=2)
    first, second = facts.lines
    assert (first.sku, first.category, first.ring_size) == (ring.size("6").sku, "ring", Decimal(6))
    assert first.stone_origin == "natural"
    assert first.tags == frozenset({"bridal"})
    assert (first.quantity, first.returnable_quantity, first.unit_price) == (1, 1, Decimal(1200))
    assert (second.category, second.hygiene_item, second.quantity, second.ring_size) == ("earrings", True, 2, None)
    assert facts.customer.email == "ada@example.com"
    assert (facts.customer.orders_count, facts.customer.bought_units, facts.customer.returns_count) == (1, 3, 0)


def test_the_unit_price_is_after_the_lines_discount(shop):
    ring = shop.piece(price="1000")
    order = shop.order((ring.size("6"), 2))
    line = lines_of(order)[0]
    line.total_discount = Decimal("100")
    line.save()

    facts = order_facts_build(brand_id=shop.brand.pk, order_id=order.pk)

    assert facts.lines[0].unit_price == Decimal(950)


@pytest.mark.parametrize(
    ("origins", "expected"),
    [
        ((), ""),
        (("natural",), "natural"),
        (("laboratory_grown",), "lab_grown"),
        (("natural", "laboratory_grown"), "mixed"),
    ],
)
def test_stone_origin_summarises_the_products_stones(shop, origins, expected):
    ring = shop.piece(stones=origins)
    order = shop.order((ring.size("6"), 1))

    facts = order_facts_build(brand_id=shop.brand.pk, order_id=order.pk)

    assert facts.lines[0].stone_origin == expected


def test_an_engraved_line_or_a_personalised_product_is_personalised(shop):
    plain = shop.piece("Band")
    custom = shop.piece("Signet", personalised=True)
    order = shop.order((plain.size("6"), 1), (plain.size("7"), 1), (custom.size("6"), 1), engraved=(2,))

    facts = order_facts_build(brand_id=shop.brand.pk, order_id=order.pk)

    assert [line.personalised for line in facts.lines] == [False, True, True]


def test_units_in_an_open_return_are_no_longer_returnable_but_cancelled_ones_are(shop):
    ring = shop.piece(price="500")
    order = shop.order((ring.size("6"), 3))
    line = lines_of(order)[0]
    first = create(order, ask(line, 2))

    assert order_facts_build(brand_id=shop.brand.pk, order_id=order.pk).lines[0].returnable_quantity == 1

    return_request_cancel(brand_id=shop.brand.pk, request_id=first.pk, actor=SHOPPER)

    assert order_facts_build(brand_id=shop.brand.pk, order_id=order.pk).lines[0].returnable_quantity == 3


def test_the_customer_history_counts_this_brands_orders_and_claiming_returns_by_email(shop, other_shop):
    ring = shop.piece(price="500")
    earlier = shop.order((ring.size("6"), 2))
    create(earlier, ask(lines_of(earlier)[0], 1))
    other_ring = other_shop.piece(price="500")
    other_shop.order((other_ring.size("6"), 5))  # the same e-mail at another brand does not count
    order = shop.order((ring.size("7"), 1))

    customer = order_facts_build(brand_id=shop.brand.pk, order_id=order.pk).customer

    assert (customer.orders_count, customer.bought_units) == (2, 3)
    assert (customer.returns_count, customer.returned_units, customer.returned_value) == (1, 1, Decimal(500))
    assert customer.return_rate == Decimal(1) / Decimal(3)


def test_the_shoppers_reasons_are_passed_per_line(shop):
    ring = shop.piece()
    order = shop.order((ring.size("6"), 1), (ring.size("7"), 1))
    second = lines_of(order)[1]

    facts = order_facts_build(brand_id=shop.brand.pk, order_id=order.pk, reasons={second.pk: "style"})

    assert [line.reason for line in facts.lines] == [None, "style"]


def test_another_brands_order_is_not_found(shop, other_shop):
    ring = other_shop.piece()
    order = other_shop.order((ring.size("6"), 1))

    with pytest.raises(NotFound):
        order_facts_build(brand_id=shop.brand.pk, order_id=order.pk)


def test_building_facts_takes_one_query_however_many_lines(shop, django_assert_num_queries):
    ring = shop.piece(stones=("natural",))
    studs = shop.piece("Studs", category="earrings", sizes=())
    order = shop.order((ring.size("6"), 1), (ring.size("7"), 1), (studs.size(""), 1))

    with django_assert_num_queries(1):
        facts = order_facts_build(brand_id=shop.brand.pk, order_id=order.pk)

    assert len(facts.lines) == 3


def test_eligibility_takes_one_query_once_the_policy_is_cached(shop, django_assert_num_queries):
    ring = shop.piece()
    order = shop.order((ring.size("6"), 1), (ring.size("7"), 1))
    order_eligibility(brand_id=shop.brand.pk, order_id=order.pk)

    with django_assert_num_queries(1):
        decision = order_eligibility(brand_id=shop.brand.pk, order_id=order.pk)

    assert len(decision.lines) == 2


def test_the_default_policy_refuses_pierced_earrings_and_engraved_necklaces_and_allows_a_ring(shop):
    ring = shop.piece()
    studs = shop.piece("Pierced studs", category="earrings", sizes=(), hygiene_item=True)
    pendant = shop.piece("Initial pendant", category="necklace", sizes=())
    order = shop.order((ring.size("6"), 1), (studs.size(""), 1), (pendant.size(""), 1), engraved=(3,))
    ring_line, studs_line, pendant_line = lines_of(order)

    decision = order_eligibility(brand_id=shop.brand.pk, order_id=order.pk)

    assert decision.for_line(ring_line.pk).eligible
    assert decision.for_line(ring_line.pk).resolutions == ("refund", "store_credit", "exchange")
    assert not decision.for_line(studs_line.pk).eligible
    assert "hygiene" in decision.for_line(studs_line.pk).reason
    assert not decision.for_line(pendant_line.pk).eligible
    assert "final sale" in decision.for_line(pendant_line.pk).reason


def test_an_engraved_resizable_ring_may_only_be_exchanged_for_another_size(shop):
    ring = shop.piece(resizable=True)
    order = shop.order((ring.size("6"), 1), engraved=(1,))

    decision = order_eligibility(brand_id=shop.brand.pk, order_id=order.pk).lines[0]

    assert (decision.eligible, decision.resolutions, decision.exchange_kinds) == (True, ("exchange",), ("size",))


def test_after_the_refund_window_only_exchange_and_store_credit_remain(shop):
    ring = shop.piece()
    order = shop.order((ring.size("6"), 1), placed_days_ago=50, delivered_days_ago=40)

    decision = order_eligibility(brand_id=shop.brand.pk, order_id=order.pk).lines[0]

    assert decision.eligible
    assert "refund" not in decision.resolutions
    assert set(decision.resolutions) == {"store_credit", "exchange"}


def test_no_line_of_a_cancelled_order_is_eligible(shop):
    ring = shop.piece()
    order = shop.order((ring.size("6"), 1), cancelled=True)

    decision = order_eligibility(brand_id=shop.brand.pk, order_id=order.pk).lines[0]

    assert (decision.eligible, decision.reason, decision.resolutions) == (False, ORDER_CANCELLED, ())


def test_now_can_be_given_to_decide_as_of_another_moment(shop):
    ring = shop.piece()
    order = shop.order((ring.size("6"), 1), placed_days_ago=10, delivered_days_ago=5)

    later = order_eligibility(brand_id=shop.brand.pk, order_id=order.pk, now=timezone.now() + timedelta(days=100))

    assert not later.lines[0].eligible
