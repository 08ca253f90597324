"""Searching, browsing and opening orders in the back office."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from assay.backoffice import views
from assay.brands.models import Brand
from assay.core.audit import Actor
from assay.orders.models import Order
from assay.orders.schema import CanonicalOrder
from assay.orders.services import order_upsert

pytestmark = pytest.mark.django_db


def order_numbers(html: str) -> list[str]:
    """The order numbers of the results table, in the order shown."""
    return re.findall(r'class="order-link">([^<]+)</a>', html)


@pytest.fixture
def three_orders(brand: Brand, make_order: Callable[..., Order]) -> list[Order]:
    return [
        make_order(
            brand, "#1001", email="ada@example.com", sku="RING-SOL-6", placed_at=datetime(2025, 3, 1, tzinfo=UTC)
        ),
        make_order(
            brand, "#1002", email="grace@example.com", sku="BAND-ENG-7", placed_at=datetime(2025, 3, 5, tzinfo=UTC)
        ),
        make_order(
            brand, "#1003", email="ada@example.com", sku="EAR-STUD-1", placed_at=datetime(2025, 3, 9, tzinfo=UTC)
        ),
    ]


def test_the_order_list_shows_the_brands_orders_newest_first(staff_client: Client, three_orders: list[Order]) -> None:
    response = staff_client.get("/app/orders/")

    assert response.status_code == 200
    assert order_numbers(response.content.decode()) == ["#1003", "#1002", "#1001"]
    assert "Showing 1–3 of 3 orders, newest first" in response.content.decode()


def test_every_search_field_has_a_label(staff_client: Client, brand: Brand) -> None:
    html = staff_client.get("/app/orders/").content.decode()

    for field, label in [
        ("number", "Order number"),
        ("email", "E-mail"),
        ("sku", "SKU"),
        ("placed_from", "Placed from"),
        ("placed_to", "Placed to"),
    ]:
        assert f'<label for="id_{field}">{label}</label>' in html


@pytest.mark.parametrize("typed", ["1002", "#1002", " #1002 "])
def test_search_by_order_number_with_or_without_the_hash(
    staff_client: Client, three_orders: list[Order], typed: str
) -> None:
    html = staff_client.get("/app/orders/", {"number": typed}).content.decode()

    assert order_numbers(html) == ["#1002"]


def test_search_by_email_ignores_case(staff_client: Client, three_orders: list[Order]) -> None:
    html = staff_client.get("/app/orders/", {"email": "ADA@example.com"}).content.decode()

    assert order_numbers(html) == ["#1003", "#1001"]


def test_search_by_sku_finds_orders_with_a_line_of_it(staff_client: Client, three_orders: list[Order]) -> None:
    html = staff_client.get("/app/orders/", {"sku": "BAND-ENG-7"}).content.decode()

    assert order_numbers(html) == ["#1002"]


def test_search_by_placed_dates_includes_both_days(staff_client: Client, three_orders: list[Order]) -> None:
    html = staff_client.get("/app/orders/", {"placed_from": "2025-03-05", "placed_to": "2025-03-09"}).content.decode()

    assert order_numbers(html) == ["#1003", "#1002"]


def test_search_fields_combine(staff_client: Client, three_orders: list[Order]) -> None:
    html = staff_client.get("/app/orders/", {"email": "ada@example.com", "placed_to": "2025-03-02"}).content.decode()

    assert order_numbers(html) == ["#1001"]


def test_a_search_that_matches_nothing_says_so(staff_client: Client, three_orders: list[Order]) -> None:
    html = staff_client.get("/app/orders/", {"number": "9999"}).content.decode()

    assert order_numbers(html) == []
    assert "No orders match this search." in html


def test_a_backwards_date_range_is_a_form_error_not_a_failure(staff_client: Client, three_orders: list[Order]) -> None:
    response = staff_client.get("/app/orders/", {"placed_from": "2025-03-09", "placed_to": "2025-03-01"})

    assert response.status_code == 200
    assert "must be on or after the" in response.content.decode()
    assert order_numbers(response.content.decode()) == []


def test_a_malformed_date_is_a_form_error(staff_client: Client, three_orders: list[Order]) -> None:
    response = staff_client.get("/app/orders/", {"placed_from": "yesterday"})

    assert response.status_code == 200
    assert "Enter a valid date." in response.content.decode()


def test_the_list_pages_through_many_orders(
    staff_client: Client, three_orders: list[Order], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "PAGE_SIZE", 2)

    first = staff_client.get("/app/orders/").content.decode()
    second = staff_client.get("/app/orders/", {"page": "2"}).content.decode()
    nonsense = staff_client.get("/app/orders/", {"page": "-1"})
    huge = staff_client.get("/app/orders/", {"page": "9" * 5000})
    past = staff_client.get("/app/orders/", {"page": "7"})

    assert order_numbers(first) == ["#1003", "#1002"]
    assert "Page 1 of 2" in first
    assert 'href="?page=2"' in first
    assert order_numbers(second) == ["#1001"]
    assert order_numbers(nonsense.content.decode()) == ["#1003", "#1002"]
    assert huge.status_code == 200
    assert "There are no orders on page 100000." in huge.content.decode()
    assert "There are no orders on page 7." in past.content.decode()


def test_an_htmx_search_answers_only_the_results_table(staff_client: Client, three_orders: list[Order]) -> None:
    response = staff_client.get(
        "/app/orders/", {"number": "1001"}, headers={"HX-Request": "true", "HX-Target": "order-results"}
    )

    html = response.content.decode()
    assert html.lstrip().startswith('<section id="order-results"')
    assert "<html" not in html
    assert order_numbers(html) == ["#1001"]


def test_the_order_list_never_shows_another_brands_orders(
    staff_client: Client, brand: Brand, other_brand: Brand, make_order: Callable[..., Order]
) -> None:
    make_order(brand, "#1001")
    make_order(other_brand, "#5001", email="ada@example.com")

    every = staff_client.get("/app/orders/").content.decode()
    searched = staff_client.get("/app/orders/", {"email": "ada@example.com"}).content.decode()

    assert order_numbers(every) == ["#1001"]
    assert order_numbers(searched) == ["#1001"]


@pytest.fixture
def engraved_order(brand: Brand, make_order: Callable[..., Order]) -> Order:
    return make_order(brand, "#1001", engraving="Forever yours · 12.06.2025", shipped=True)


def test_the_order_page_shows_header_totals_and_customer(staff_client: Client, engraved_order: Order) -> None:
    html = staff_client.get(f"/app/orders/{engraved_order.pk}/").content.decode()

    assert "<h1>Order #1001</h1>" in html
    assert "Ada Lovelace" in html
    assert "ada@example.com" in html
    assert "1,250.00 USD" in html
    assert "Payment: Paid" in html
    assert "1 Mar 2025" in html


def test_the_order_page_highlights_the_engraving_text_and_marks_the_line_personalised(
    staff_client: Client, engraved_order: Order
) -> None:
    html = staff_client.get(f"/app/orders/{engraved_order.pk}/").content.decode()

    assert '<span class="engraving__label">Engraving</span>' in html
    assert '<mark class="engraving__text">Forever yours · 12.06.2025</mark>' in html
    assert '<span class="badge badge--accent">Personalised</span>' in html
    assert "1 personalised line" in html
    assert "RING-SOL-6" in html
    assert "6 / Platinum" in html


def test_engraving_text_is_escaped_not_run(
    staff_client: Client, brand: Brand, make_order: Callable[..., Order]
) -> None:
    order = make_order(brand, "#1009", engraving="<script>alert(1)</script>")

    html = staff_client.get(f"/app/orders/{order.pk}/").content.decode()

    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_order_page_shows_shipments_with_tracking_links_and_their_lines(
    staff_client: Client, engraved_order: Order
) -> None:
    html = staff_client.get(f"/app/orders/{engraved_order.pk}/").content.decode()

    assert "UPS" in html
    assert 'href="https://www.ups.com/track?tracknum=1Z999AA10123456784"' in html
    assert ">1Z999AA10123456784<" in html
    assert "In transit" in html
    assert "4 Mar 2025" in html
    line_id = engraved_order.lines.get().pk
    assert f'1 × <a href="#line-{line_id}">Solitaire ring</a>' in html


def test_the_order_page_shows_the_full_history(staff_client: Client, engraved_order: Order) -> None:
    html = staff_client.get(f"/app/orders/{engraved_order.pk}/").content.decode()

    history = html[html.index('id="history-h"') :]
    assert "Order created" in history
    assert "Shipment created" in history
    assert "shopify" in history  # who
    assert "In transit" in history  # the shipment's state it moved to


def test_the_order_page_shows_a_cancellation_with_its_reason(
    staff_client: Client, brand: Brand, make_order: Callable[..., Order]
) -> None:
    order = make_order(brand, "#1010")
    cancelled = CanonicalOrder(
        source="shopify",
        external_id=order.external_id,
        number=order.number,
        email=order.email,
        currency=order.currency,
        total=order.total,
        placed_at=order.placed_at,
        cancelled_at=datetime(2025, 3, 2, 8, 30, tzinfo=UTC),
        cancel_reason="customer",
    )
    order_upsert(brand_id=brand.pk, incoming=cancelled, actor=Actor.webhook("shopify"))

    html = staff_client.get(f"/app/orders/{order.pk}/").content.decode()

    assert '<li class="badge badge--danger">Cancelled</li>' in html
    assert "2 Mar 2025" in html
    assert "Order cancelled" in html
    assert "Customer" in html  # the reason


def test_another_brands_order_is_404(
    staff_client: Client, other_brand: Brand, make_order: Callable[..., Order]
) -> None:
    foreign = make_order(other_brand, "#5001", engraving="Secret")

    response = staff_client.get(f"/app/orders/{foreign.pk}/")

    assert response.status_code == 404
    assert b"Secret" not in response.content


def test_an_order_that_does_not_exist_is_404(staff_client: Client, brand: Brand) -> None:
    assert staff_client.get("/app/orders/999999/").status_code == 404
    assert staff_client.get("/app/orders/99999999999999999999999/").status_code == 404


def test_the_order_page_makes_a_fixed_number_of_queries(
    staff_client: Client, engraved_order: Order, django_assert_num_queries: Any
) -> None:
    staff_client.get("/app/")  # the first page stores the current brand in the session
    # session + user + brands + branding, then the order's four reads (order, lines, shipments, events)
    with django_assert_num_queries(8):
        assert staff_client.get(f"/app/orders/{engraved_order.pk}/").status_code == 200
