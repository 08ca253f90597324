"""Staff work in a real browser: log in, search, open an order, switch brands (with and without
JavaScript)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from assay.brands.models import Brand
from assay.brands.services import brand_create, brand_secret_set, staff_add
from assay.core.audit import Actor
from assay.orders.models import ShipmentStatus
from assay.orders.schema import CanonicalCustomer, CanonicalLine, CanonicalOrder, CanonicalShipment
from assay.orders.services import order_upsert

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOP = Actor.webhook("shopify")
PASSWORD = "correct-horse-battery"
ENGRAVING = "Always & forever — J♥M"


def _order(brand: Brand, number: str, *, day: int, sku: str, engraving: str = "", shipped: bool = False) -> None:
    line_id = f"{brand.slug}-{number}-1"
    order_upsert(
        brand_id=brand.pk,
        actor=SHOP,
        incoming=CanonicalOrder(
            source="shopify",
            external_id=f"{brand.slug}-{number}",
            number=number,
            email="ada@example.com",
            currency=brand.currency,
            subtotal=Decimal("980.00"),
            total=Decimal("980.00"),
            financial_status="paid",
            placed_at=datetime(2025, 3, day, 10, 0, tzinfo=UTC),
            customer=CanonicalCustomer(external_id=f"c-{brand.slug}", email="ada@example.com", first_name="Ada"),
            lines=[
                CanonicalLine(
                    external_id=line_id,
                    sku=sku,
                    title="Engraved comfort-fit band",
                    variant_title="Size 7 / 18k yellow gold",
                    quantity=1,
                    unit_price=Decimal("980.00"),
                    properties={"Engraving": engraving} if engraving else {},
                )
            ],
            shipments=[
                CanonicalShipment(
                    external_id=f"{number}-f",
                    carrier="FedEx",
                    tracking_numbers=["794600000001"],
                    status=ShipmentStatus.DELIVERED,
                    shipped_at=datetime(2025, 3, day + 1, 9, 0, tzinfo=UTC),
                    delivered_at=datetime(2025, 3, day + 3, 15, 0, tzinfo=UTC),
                    lines={line_id: 1},
                )
            ]
            if shipped
            else [],
        ),
    )


@pytest.fixture
def shop(transactional_db: Any) -> dict[str, Brand]:
    """Two brands with orders, and two people: one in Aurelia, one in both. Written before any
    browser starts (see conftest)."""
    actor = Actor.system("test")
    aurelia = brand_create(slug="aurelia", name="Aurelia Fine Jewellery", actor=actor, primary_colour="#3b2f4a")
    lumen = brand_create(slug="lumen", name="Lumen Diamonds", currency="EUR", actor=actor)
    brand_secret_set(slug="aurelia", integration="shopify", secret="s" * 20, actor=actor)
    _order(aurelia, "#1001", day=1, sku="BAND-CF-7", engraving=ENGRAVING, shipped=True)
    _order(aurelia, "#1002", day=2, sku="RING-SOL-6")
    _order(aurelia, "#10010", day=3, sku="RING-SOL-7")
    _order(lumen, "#L-2001", day=4, sku="LUM-PEND-1")
    staff_add(slug="aurelia", email="ops@aurelia.example", role="ops", password=PASSWORD, actor=actor)
    staff_add(slug="aurelia", email="va@agency.example", role="ops", password=PASSWORD, actor=actor)
    staff_add(slug="lumen", email="va@agency.example", role="ops", password=None, actor=actor)
    return {"aurelia": aurelia, "lumen": lumen}


def log_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/app/orders/")
    expect(page).to_have_url(re.compile(r"/app/login/\?next=/app/orders/$"))
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{base}/app/orders/")


def test_staff_find_an_order_by_number_and_read_its_engraving_and_history(
    shop: dict[str, Brand], live_server: Any, page: Page
) -> None:
    log_in(page, live_server.url, "ops@aurelia.example")
    expect(page.get_by_role("heading", name="Orders")).to_be_visible()
    expect(page.locator(".order-link")).to_have_text(["#10010", "#1002", "#1001"])

    page.evaluate("window.sameDocument = true")
    page.get_by_label("Order number").fill("1001")
    page.get_by_label("Order number").press("Enter")

    expect(page.locator(".order-link")).to_have_text(["#1001"])
    expect(page).to_have_url(re.compile(r"/app/orders/\?number=1001"))
    assert page.evaluate("window.sameDocument === true"), "htmx swapped the results; the page did not reload"
    page.get_by_role("link", name="#1001").click()

    expect(page.get_by_role("heading", name="Order #1001")).to_be_visible()
    expect(page.locator("mark.engraving__text")).to_have_text(ENGRAVING)
    expect(page.locator("tr.is-personalised")).to_contain_text("Personalised")
    shipments = page.locator("section", has=page.get_by_role("heading", name=re.compile("^Shipments")))
    expect(shipments).to_contain_text("FedEx")
    expect(shipments).to_contain_text("794600000001")
    expect(shipments).to_contain_text("Delivered")
    history = page.locator("section", has=page.get_by_role("heading", name=re.compile("^History")))
    expect(history.locator("tbody tr")).to_have_count(2)
    expect(history).to_contain_text("Order created")
    expect(history).to_contain_text("Shipment created")
    expect(history).to_contain_text("shopify")


def test_a_person_in_two_brands_switches_and_sees_only_the_other_brands_orders(
    shop: dict[str, Brand], live_server: Any, page: Page
) -> None:
    log_in(page, live_server.url, "va@agency.example")
    expect(page.locator(".topbar__name")).to_have_text("Aurelia Fine Jewellery")
    expect(page.locator(".order-link")).to_have_text(["#10010", "#1002", "#1001"])

    page.get_by_label("Brand").select_option(label="Lumen Diamonds")

    expect(page.locator(".topbar__name")).to_have_text("Lumen Diamonds")
    expect(page.locator(".order-link")).to_have_text(["#L-2001"])
    expect(page.get_by_text("You are now working in Lumen Diamonds.")).to_be_visible()
    page.get_by_label("Order number").fill("1001")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("No orders match this search.")).to_be_visible()


def test_search_and_brand_switching_work_without_javascript(
    shop: dict[str, Brand], live_server: Any, page_without_js: Page
) -> None:
    page = page_without_js
    log_in(page, live_server.url, "va@agency.example")

    page.get_by_label("Order number").fill("#1002")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"number=%231002"))
    expect(page.locator(".order-link")).to_have_text(["#1002"])

    page.get_by_label("Brand").select_option(label="Lumen Diamonds")
    page.get_by_role("button", name="Switch").click()

    expect(page).to_have_url(f"{live_server.url}/app/orders/")
    expect(page.locator(".order-link")).to_have_text(["#L-2001"])
