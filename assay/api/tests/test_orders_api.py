"""GET /api/v1/orders and /api/v1/orders/{id}: search, detail, money, brand isolation, bad input."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from assay.api.tests.conftest import INTAKE, at, canonical_order
from assay.orders.models import ShipmentStatus
from assay.orders.schema import CanonicalLine, CanonicalShipment
from assay.orders.services import order_upsert


def numbers(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["number"] for item in response.json()["items"]]


def test_the_list_answers_items_and_count_newest_first(api: Client, make_order):
    make_order("#1001", placed_at=at("2024-03-01 10:00"))
    make_order("#1003", placed_at=at("2024-03-03 10:00"))
    make_order("#1002", placed_at=at("2024-03-02 10:00"))

    response = api.get("/api/v1/orders")

    assert numbers(response) == ["#1003", "#1002", "#1001"]
    assert response.json()["count"] == 3


@pytest.mark.parametrize("typed", ["#AUR-1001", "AUR-1001", "aur-1001", " #aur-1001 ", "#Aur-1001"])
def test_an_order_is_found_by_its_number_with_or_without_hash_in_any_case(api: Client, make_order, typed):
    make_order("#AUR-1001")
    make_order("#AUR-1002")

    assert numbers(api.get("/api/v1/orders", {"number": typed})) == ["#AUR-1001"]


def test_an_order_is_found_by_email_in_any_case_but_only_exactly(api: Client, make_order):
    make_order("#1001", email="Ada.Lovelace@Example.com")
    make_order("#1002", email="ada.lovelace@example.org")

    assert numbers(api.get("/api/v1/orders?email=ADA.LOVELACE@example.COM")) == ["#1001"]
    assert numbers(api.get("/api/v1/orders?email=ada.lovelace")) == []


def test_an_order_is_found_by_the_sku_of_any_of_its_lines(api: Client, make_order):
    two_lines = [
        CanonicalLine(external_id="a", sku="AUR-BAND-7", title="Band", quantity=1, unit_price=Decimal(300)),
        CanonicalLine(external_id="b", sku="AUR-STUD-1", title="Studs", quantity=2, unit_price=Decimal(150)),
    ]
    make_order("#1001", lines=two_lines)
    make_order("#1002")

    assert numbers(api.get("/api/v1/orders?sku=AUR-STUD-1")) == ["#1001"]
    assert numbers(api.get("/api/v1/orders?sku=AUR-RING-6")) == ["#1002"]
    assert numbers(api.get("/api/v1/orders?sku=NOPE")) == []


def test_a_sku_prefix_finds_every_size_of_a_piece_whatever_its_case(api: Client, make_order):
    make_order(
        number="#1001",
        lines=[CanonicalLine(external_id="a", sku="AUR-BAND-7", title="Band", quantity=1, unit_price=Decimal(300))],
    )
    make_order(
        number="#1002",
        lines=[CanonicalLine(external_id="b", sku="AUR-BAND-8", title="Band", quantity=1, unit_price=Decimal(300))],
    )
    make_order(
        number="#1003",
        lines=[CanonicalLine(external_id="c", sku="AUR-STUD-1", title="Studs", quantity=1, unit_price=Decimal(90))],
    )

    assert sorted(numbers(api.get("/api/v1/orders?sku=aur-band"))) == ["#1001", "#1002"]


def test_q_matches_a_number_an_email_or_a_sku(api: Client, make_order):
    make_order("#1001", email="one@example.com")
    make_order("#1002", email="two@example.com", lines=[
        CanonicalLine(external_id="x", sku="AUR-PEND-2", title="Pendant", quantity=1, unit_price=Decimal(90)),
    ])  # fmt: skip

    assert numbers(api.get("/api/v1/orders?q=1001")) == ["#1001"]
    assert numbers(api.get("/api/v1/orders?q=TWO@example.com")) == ["#1002"]
    assert numbers(api.get("/api/v1/orders?q=AUR-PEND-2")) == ["#1002"]


def test_date_bounds_are_inclusive_and_a_date_means_the_whole_day_in_utc(api: Client, make_order):
    make_order("#1001", placed_at=at("2024-02-29 23:59:59"))
    make_order("#1002", placed_at=at("2024-03-01 00:00"))
    make_order("#1003", placed_at=at("2024-03-01 23:59:59"))
    make_order("#1004", placed_at=at("2024-03-02 00:00"))

    assert numbers(api.get("/api/v1/orders?placed_from=2024-03-01&placed_to=2024-03-01")) == ["#1003", "#1002"]
    assert numbers(api.get("/api/v1/orders?placed_from=2024-03-01")) == ["#1004", "#1003", "#1002"]
    assert numbers(api.get("/api/v1/orders?placed_to=2024-02-29")) == ["#1001"]


def test_date_time_bounds_are_exact_and_honour_their_offset(api: Client, make_order):
    make_order("#1001", placed_at=at("2024-03-01 10:00"))
    make_order("#1002", placed_at=at("2024-03-01 12:00"))

    assert numbers(api.get("/api/v1/orders?placed_from=2024-03-01T10:00:00Z&placed_to=2024-03-01T11:59:59Z")) == [
        "#1001"
    ]
    # 13:00 at +02:00 is 11:00 UTC; the '+' is escaped as a query string needs.
    assert numbers(api.get("/api/v1/orders?placed_from=2024-03-01T13:00:00%2B02:00")) == ["#1002"]
    # ...and understood when a client forgets to escape it (it arrives as a space).
    assert numbers(api.get("/api/v1/orders?placed_from=2024-03-01T13:00:00+02:00")) == ["#1002"]


def test_every_filter_given_must_match(api: Client, make_order):
    make_order("#1001", email="ada@example.com", placed_at=at("2024-03-01 10:00"))
    make_order("#1002", email="ada@example.com", placed_at=at("2024-04-01 10:00"))

    assert numbers(api.get("/api/v1/orders?email=ada@example.com&placed_from=2024-03-15")) == ["#1002"]
    assert numbers(api.get("/api/v1/orders?email=ada@example.com&number=1002&sku=OTHER")) == []


def test_pages_follow_limit_and_offset_and_count_every_match(api: Client, make_order):
    for day in range(1, 8):
        make_order(f"#10{day:02}", placed_at=at(f"2024-03-{day:02} 10:00"))

    first = api.get("/api/v1/orders?limit=3")
    middle = api.get("/api/v1/orders?limit=3&offset=3")
    last = api.get("/api/v1/orders?limit=3&offset=6")
    beyond = api.get("/api/v1/orders?limit=3&offset=50")

    assert numbers(first) == ["#1007", "#1006", "#1005"]
    assert numbers(middle) == ["#1004", "#1003", "#1002"]
    assert numbers(last) == ["#1001"]
    assert numbers(beyond) == []
    assert [r.json()["count"] for r in (first, middle, last, beyond)] == [7, 7, 7, 7]


def test_the_default_page_is_fifty_orders(api: Client, make_order):
    for n in range(52):
        make_order(f"#{2000 + n}", lines=[])

    response = api.get("/api/v1/orders")

    assert len(response.json()["items"]) == 50
    assert response.json()["count"] == 52


def test_the_detail_shows_lines_properties_shipments_and_events(api: Client, make_order):
    lines = [
        CanonicalLine(
            external_id="l-1",
            sku="AUR-BAND-7",
            title="Engraved band",
            variant_title="7",
            quantity=1,
            unit_price=Decimal("450"),
            total_discount=Decimal("45"),
            tax=Decimal("32.4"),
            properties={"Engraving": "Für immer · 永遠 ❤", "Font": "Script"},
        ),
        CanonicalLine(external_id="l-2", sku="AUR-STUD-1", title="Studs", quantity=2, unit_price=Decimal("150")),
    ]
    shipment = CanonicalShipment(
        external_id="f-1",
        carrier="UPS",
        tracking_numbers=["1Z999", "1Z998"],
        tracking_urls=["https://www.ups.com/track?tracknum=1Z999"],
        status=ShipmentStatus.IN_TRANSIT,
        shipped_at=at("2024-03-02 09:00"),
        lines={"l-1": 1, "l-2": 2},
    )
    order = make_order("#1001", lines=lines, shipments=[shipment], tags=["vip", "gift"])

    body = api.get(f"/api/v1/orders/{order.pk}").json()

    assert body["number"] == "#1001"
    assert body["external_id"] == "gid-1001"
    assert body["tags"] == ["vip", "gift"]
    assert body["customer"]["email"] == "buyer1001@example.com"
    engraved, studs = body["lines"]
    assert engraved["properties"] == {"Engraving": "Für immer · 永遠 ❤", "Font": "Script"}
    assert engraved["personalised"] is True
    assert studs["personalised"] is False
    assert (engraved["unit_price"], engraved["total_discount"], engraved["tax"]) == ("450.00", "45.00", "32.40")
    assert engraved["product_id"] is not None
    assert engraved["variant_id"] is not None
    [sent] = body["shipments"]
    assert sent["carrier"] == "UPS"
    assert (sent["tracking_number"], sent["tracking_numbers"]) == ("1Z999", ["1Z999", "1Z998"])
    assert sent["status"] == "in_transit"
    assert sent["shipped_at"] == "2024-03-02T09:00:00Z"
    assert sorted(sent["line_ids"]) == sorted([engraved["id"], studs["id"]])
    assert {(x["line_id"], x["quantity"]) for x in sent["lines"]} == {(engraved["id"], 1), (studs["id"], 2)}
    assert {e["action"] for e in body["events"]} == {"order_created", "shipment_created"}
    assert {e["actor"] for e in body["events"]} == {"test intake"}
    assert set(body["events"][0]) == {"at", "actor", "actor_kind", "action", "from_state", "to_state", "why", "data"}


def test_the_events_are_the_orders_history_oldest_first(api: Client, brand, make_order):
    order = make_order("#1001")
    cancelled = canonical_order(
        "#1001", cancelled_at=at("2024-03-05 10:00"), cancel_reason="customer", updated_at=at("2024-03-05 10:00")
    )
    order_upsert(brand_id=brand.pk, incoming=cancelled, actor=INTAKE)

    events = api.get(f"/api/v1/orders/{order.pk}").json()["events"]

    actions = [e["action"] for e in events]
    assert actions[0] == "order_created"
    assert "order_cancelled" in actions
    assert events[actions.index("order_cancelled")]["why"] == "customer"
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)


def test_the_list_shows_the_top_level_fields_and_lines_without_events(api: Client, make_order):
    order = make_order("#1001")

    [item] = api.get("/api/v1/orders").json()["items"]
    detail = api.get(f"/api/v1/orders/{order.pk}").json()

    assert "events" not in item
    assert {k: v for k, v in detail.items() if k in item} == item


@pytest.mark.parametrize(
    ("currency", "total", "shown"),
    [
        ("USD", Decimal("1311.5"), "1311.50"),
        ("JPY", Decimal("185000"), "185000"),
        ("JPY", Decimal("185000.4"), "185000"),
        ("KWD", Decimal("12.5"), "12.500"),
        ("EUR", Decimal("0"), "0.00"),
    ],
)
def test_money_is_a_decimal_string_in_the_currencys_minor_units(api: Client, make_order, currency, total, shown):
    order = make_order("#1001", currency=currency, total=total, subtotal=total)

    body = api.get(f"/api/v1/orders/{order.pk}").json()

    assert body["currency"] == currency
    assert body["total"] == shown
    assert body["subtotal"] == shown
    [listed] = api.get("/api/v1/orders").json()["items"]
    assert listed["total"] == shown


def test_a_jpy_orders_lines_carry_no_decimals(api: Client, make_order):
    line = CanonicalLine(external_id="j", sku="AUR-RING-6", title="Ring", quantity=1, unit_price=Decimal("98000"))
    order = make_order("#1001", currency="JPY", total=Decimal("98000"), lines=[line])

    [body_line] = api.get(f"/api/v1/orders/{order.pk}").json()["lines"]

    assert (body_line["unit_price"], body_line["tax"], body_line["total_discount"]) == ("98000", "0", "0")


def test_another_brands_order_is_absent_from_the_list(api: Client, make_order, other_brand):
    make_order("#1001")
    make_order("#1001", for_brand=other_brand, email="shared@example.com")
    make_order("#5005", for_brand=other_brand, email="shared@example.com")

    assert numbers(api.get("/api/v1/orders")) == ["#1001"]
    assert api.get("/api/v1/orders").json()["count"] == 1
    assert numbers(api.get("/api/v1/orders?number=5005")) == []
    assert numbers(api.get("/api/v1/orders?email=shared@example.com")) == []


def test_another_brands_order_answers_404_exactly_as_a_missing_one(api: Client, make_order, other_brand):
    theirs = make_order("#1001", for_brand=other_brand)
    missing_id = theirs.pk + 1000

    other = api.get(f"/api/v1/orders/{theirs.pk}")
    missing = api.get(f"/api/v1/orders/{missing_id}")

    assert (other.status_code, missing.status_code) == (404, 404)
    assert other.json() == {"detail": f"no order {theirs.pk}"}
    assert missing.json() == {"detail": f"no order {missing_id}"}


def test_an_id_too_large_for_any_row_answers_404(api: Client):
    response = api.get(f"/api/v1/orders/{10**30}")

    assert response.status_code == 404
    assert response.json() == {"detail": f"no order {10**30}"}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("limit=0", "limit: Input should be greater than or equal to 1"),
        ("limit=201", "limit: Input should be less than or equal to 200"),
        ("limit=ten", "limit: Input should be a valid integer"),
        ("offset=-1", "offset: Input should be greater than or equal to 0"),
        ("offset=99999999999999999999999", "offset: Input should be less than or equal to 1000000000"),
        ("placed_from=yesterday", "placed_from: 'yesterday' is not a date (YYYY-MM-DD) or an ISO 8601 date-time"),
        ("placed_to=2024-02-30", "placed_to: '2024-02-30' is not a date (YYYY-MM-DD) or an ISO 8601 date-time"),
        ("placed_from=2024-03-02&placed_to=2024-03-01", "placed_from is after placed_to"),
        ("number=" + "9" * 65, "number: String should have at most 64 characters"),
        ("number=10%0001", "number: must not contain NUL characters"),
        ("email=a%00@example.com", "email: must not contain NUL characters"),
    ],
)
def test_bad_query_parameters_answer_422_with_a_clear_message(api: Client, query, message):
    response = api.get(f"/api/v1/orders?{query}")

    assert response.status_code == 422
    assert response.json()["detail"].startswith(message)


def test_unknown_query_parameters_are_ignored(api: Client, make_order):
    make_order("#1001")

    assert numbers(api.get("/api/v1/orders?colour=red")) == ["#1001"]


@pytest.mark.parametrize(
    "query",
    [
        "placed_from=0001-01-01T00:00:00%2B05:00",
        "placed_to=9999-12-31T23:00:00-05:00",
        "placed_from=0001-01-01&placed_to=9999-12-31",
    ],
)
def test_bounds_at_the_edges_of_time_match_everything_rather_than_fail(api: Client, make_order, query):
    make_order("#1001")

    assert numbers(api.get(f"/api/v1/orders?{query}")) == ["#1001"]


def test_a_warm_order_read_costs_the_token_lookup_plus_the_selectors_queries(
    api: Client, make_order, django_assert_num_queries
):
    order = make_order("#1001", lines=[
        CanonicalLine(external_id=f"l-{i}", sku=f"S-{i}", title="Ring", quantity=1, unit_price=Decimal(1))
        for i in range(5)
    ])  # fmt: skip
    for n in range(3):
        make_order(f"#{2000 + n}")
    api.get("/api/v1/orders")  # the token's first use is recorded once; later reads only look it up

    with django_assert_num_queries(1 + 4):
        assert api.get(f"/api/v1/orders/{order.pk}").status_code == 200
    with django_assert_num_queries(1 + 3):
        assert len(api.get("/api/v1/orders?limit=2").json()["items"]) == 2
