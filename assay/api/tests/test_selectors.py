"""The read selectors behind the API and the back office: plain data, and a fixed number of queries.

PERFORMANCE.md: Python and the ORM, not the database, bound a hot read; each extra query or
per-row model instance costs more than the SQL. These tests pin each read's query count so an
N+1 cannot creep in unnoticed.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from assay.api.tests.conftest import at
from assay.catalog.models import Specification, Stone
from assay.catalog.selectors import product_detail, product_search
from assay.orders.schema import CanonicalLine, CanonicalShipment
from assay.orders.selectors import OrderDetail, order_detail, order_id_for_number, order_search
from assay.webhooks.selectors import inbound_event_detail, inbound_event_search
from assay.webhooks.services import inbound_event_receive


def lines(n: int, prefix: str) -> list[CanonicalLine]:
    return [
        CanonicalLine(
            external_id=f"{prefix}-{i}",
            sku=f"SKU-{i}",
            title=f"Piece {i}",
            quantity=1,
            unit_price=Decimal(100),
            properties={"Engraving": f"№{i}"} if i == 0 else {},
        )
        for i in range(n)
    ]


def test_order_detail_takes_four_queries_however_many_lines_and_shipments(brand, make_order, django_assert_num_queries):
    shipments = [
        CanonicalShipment(external_id=f"f-{s}", carrier="UPS", tracking_numbers=[f"1Z{s}"], lines={f"o-{s}": 1})
        for s in range(3)
    ]
    order = make_order("#1001", lines=lines(6, "o"), shipments=shipments)

    with django_assert_num_queries(4):
        detail = order_detail(brand_id=brand.pk, order_id=order.pk)

    assert isinstance(detail, OrderDetail)
    assert len(detail.lines) == 6
    assert [s.line_ids for s in detail.shipments] == [[detail.lines[0].id], [detail.lines[1].id], [detail.lines[2].id]]
    assert len(detail.events) == 4  # created + three shipments


def test_order_detail_of_a_missing_or_foreign_order_is_none_after_one_query(
    brand, other_brand, make_order, django_assert_num_queries
):
    theirs = make_order("#1001", for_brand=other_brand)

    with django_assert_num_queries(1):
        assert order_detail(brand_id=brand.pk, order_id=theirs.pk) is None
    with django_assert_num_queries(0):
        assert order_detail(brand_id=brand.pk, order_id=2**70) is None


def test_a_full_page_of_orders_with_lines_takes_three_queries(brand, make_order, django_assert_num_queries):
    for n in range(12):
        make_order(f"#{1000 + n}", lines=lines(3, f"o{n}"))

    with django_assert_num_queries(3):
        page = order_search(brand_id=brand.pk, limit=10)

    assert (len(page.items), page.count) == (10, 12)
    assert all(len(order.lines) == 3 for order in page.items)
    assert page.has_next
    assert not page.has_previous


def test_a_short_first_page_needs_no_count_query(brand, make_order, django_assert_num_queries):
    for n in range(3):
        make_order(f"#{1000 + n}")

    with django_assert_num_queries(2):
        page = order_search(brand_id=brand.pk, limit=10)
    with django_assert_num_queries(1):
        bare = order_search(brand_id=brand.pk, limit=10, with_lines=False)

    assert page.count == bare.count == 3
    assert bare.items[0].lines == []


def test_a_page_past_the_end_still_counts_every_match(brand, make_order, django_assert_num_queries):
    for n in range(3):
        make_order(f"#{1000 + n}")

    with django_assert_num_queries(2):
        page = order_search(brand_id=brand.pk, limit=2, offset=10)

    assert (page.items, page.count) == ([], 3)


def test_order_search_clamps_limit_and_offset(brand, make_order):
    make_order("#1001")

    page = order_search(brand_id=brand.pk, limit=10_000, offset=-5)

    assert (page.limit, page.offset, page.count) == (200, 0, 1)


def test_order_search_reads_a_date_as_that_day_in_the_given_timezone(brand, make_order):
    # 23:30 UTC on 1 March is already 2 March in Sydney (+11:00).
    make_order("#1001", placed_at=at("2024-03-01 23:30"))

    in_utc = order_search(brand_id=brand.pk, placed_from=date(2024, 3, 2), placed_to=date(2024, 3, 2))
    in_sydney = order_search(
        brand_id=brand.pk, placed_from=date(2024, 3, 2), placed_to=date(2024, 3, 2), tz="Australia/Sydney"
    )

    assert in_utc.count == 0
    assert in_sydney.count == 1


def test_order_search_treats_bounds_at_the_edges_of_time_as_no_bound(brand, make_order):
    make_order("#1001", placed_at=at("2024-03-01 23:30"))

    edges: list[tuple[date, date]] = [(date.min, date.max), (datetime.min, datetime.max)]

    for zone in ("UTC", "Australia/Sydney", "America/Los_Angeles"):
        for low, high in edges:
            assert order_search(brand_id=brand.pk, tz=zone, placed_from=low, placed_to=high).count == 1, (zone, low)


def test_a_lines_personalisation_is_the_engraving_text_the_shop_sent(brand, make_order):
    line = CanonicalLine(
        external_id="l",
        title="Band",
        quantity=1,
        unit_price=Decimal(1),
        properties={"Custom Engraving Front": "A ♥ B", "_internal": "x", "Gift wrap": "yes"},
    )
    order = make_order("#1001", lines=[line])

    detail = order_detail(brand_id=brand.pk, order_id=order.pk)

    assert detail is not None
    assert detail.lines[0].personalisation == {"Custom Engraving Front": "A ♥ B"}
    assert detail.lines[0].personalised is True


def test_an_order_id_is_found_by_number_as_staff_type_it(brand, other_brand, make_order):
    order = make_order("#AUR-1001")
    make_order("#AUR-1002", for_brand=other_brand)

    assert order_id_for_number(brand_id=brand.pk, number="aur-1001") == order.pk
    assert order_id_for_number(brand_id=brand.pk, number="#AUR-1002") is None
    assert order_id_for_number(brand_id=brand.pk, number="#") is None


def test_product_detail_takes_three_queries_and_search_three_for_a_full_page(
    brand, make_product, django_assert_num_queries
):
    products = [make_product(f"p-{n}", title=f"Ring {n}") for n in range(4)]
    Specification.objects.create(brand=brand, product=products[0], metal="platinum")
    Stone.objects.create(brand=brand, product=products[0], species="diamond")

    with django_assert_num_queries(3):
        detail = product_detail(brand_id=brand.pk, product_id=products[0].pk)
    with django_assert_num_queries(3):
        page = product_search(brand_id=brand.pk, limit=3)

    assert detail is not None
    assert detail.specification is not None
    assert detail.specification.metal == "platinum"
    assert [stone.species for stone in detail.stones] == ["diamond"]
    assert (len(page.items), page.count) == (3, 4)
    assert all(len(p.variants) == 1 for p in page.items)


def test_inbound_event_reads_take_one_or_two_queries(brand, django_assert_num_queries):
    for n in range(3):
        inbound_event_receive(
            brand_id=brand.pk, source="shopify", event_id=f"e-{n}", topic="orders/create", payload="{}", headers={}
        )

    with django_assert_num_queries(2):
        page = inbound_event_search(brand_id=brand.pk, limit=2)
    with django_assert_num_queries(1):
        one = inbound_event_detail(brand_id=brand.pk, event_pk=page.items[0].id)

    assert page.count == 3
    assert one == page.items[0]
