"""The shopper's whole journey in a real browser: look the order up, exchange a ring for another
size, read the RMA on the confirmation, follow it on the status page; an engraved line says plainly
why it is final sale. Also without JavaScript, by keyboard, and on a phone's screen."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Browser, Dialog, Page, expect

from assay.brands.models import Brand
from assay.brands.services import brand_create
from assay.core.audit import Actor
from assay.orders.schema import CanonicalLine
from assay.portal.tests.shop import fresh_portal_state, ring_product, shop_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FINAL_SALE = "Engraved and personalised pieces are final sale and cannot be returned."


@pytest.fixture
def shop(transactional_db: Any) -> Brand:
    """Aurelia with a solitaire ring in sizes 5-8 and order #1001: the ring in 6.5 and an engraved
    pendant, delivered 9 days ago. Written before any browser starts (see conftest)."""
    with fresh_portal_state():
        aurelia = brand_create(
            slug="aurelia",
            name="Aurelia Fine Jewellery",
            actor=Actor.system("test"),
            primary_colour="#3b2f4a",
        )
        ring_product(aurelia, stock={"7": 2, "5": 0})
        shop_order(
            aurelia,
            "#1001",
            email="ada@example.com",
            lines=[
                CanonicalLine(external_id="r", sku="SOL-6.5", title="Solitaire ring", variant_title="6.5",
                              quantity=1, unit_price=Decimal(1200), fulfilled_quantity=1),
                CanonicalLine(external_id="p", sku="PEND-1", title="Initial pendant", quantity=1,
                              unit_price=Decimal(300), properties={"Engraving": "A.L."}, fulfilled_quantity=1),
            ],
        )  # fmt: skip
    return aurelia


def look_up(page: Page, base: str) -> None:
    page.goto(f"{base}/returns/aurelia/")
    expect(page.get_by_role("heading", name="Return or exchange an item")).to_be_visible()
    page.get_by_label("Order number").fill("1001")
    page.get_by_label("E-mail address").fill("Ada@Example.com")
    page.get_by_role("button", name="Find my order").click()
    expect(page.get_by_role("heading", name="Order #1001")).to_be_visible()


def test_a_shopper_exchanges_a_ring_for_another_size_and_follows_the_rma(
    shop: Brand, live_server: Any, page: Page
) -> None:
    look_up(page, live_server.url)

    pendant = page.locator(".item", has_text="Initial pendant")
    expect(pendant).to_contain_text("Final sale – cannot be returned")
    expect(pendant).to_contain_text(FINAL_SALE)
    expect(page.locator(".item", has_text="Solitaire ring")).to_contain_text("Can be returned for")

    page.get_by_role("link", name="Start a return or exchange").click()
    expect(page.get_by_role("heading", name="Start a return or exchange")).to_be_visible()
    expect(page.locator(".blocked-list")).to_contain_text(FINAL_SALE)
    options = page.locator(".pick .option label")
    expect(options.first).to_contain_text("Exchange for another size")
    page.get_by_label("Return Solitaire ring").check()
    page.get_by_label("Why are you returning it?").select_option(label="Size too small")
    page.get_by_label("Exchange for another size").check()
    sizes = page.get_by_label("New size (US)")
    expect(sizes.locator("option")).to_have_text(
        ["Choose your size", "Size 5.5", "Size 6", "Size 7", "Size 7.5", "Size 8"]
    )
    sizes.select_option(label="Size 7")
    page.get_by_label("Mail with a prepaid label").check()
    page.get_by_role("button", name="Send my request").click()

    expect(page.get_by_role("heading", name="Thank you, we have your request")).to_be_visible()
    rma = page.locator(".rma__number")
    expect(rma).to_have_text(re.compile(r"^RMA R-\d+$"))
    number = rma.inner_text()
    expect(page.get_by_text("What happens next")).to_be_visible()
    expect(page.locator(".steps")).to_contain_text("prepaid shipping label")
    expect(page.locator("#return-line-1, .items .item").first).to_contain_text("Exchange for size 7")

    page.get_by_role("link", name="Follow this return").click()
    expect(page.get_by_role("heading", name=number)).to_be_visible()
    timeline = page.locator(".timeline")
    expect(timeline).to_contain_text("Return requested")
    expect(timeline).to_contain_text("Return authorised")
    expect(page.get_by_role("button", name="Cancel this return")).to_be_visible()

    # Later, from the same lookup: the order lists the return, and its status page opens again.
    page.context.clear_cookies()
    look_up(page, live_server.url)
    page.get_by_role("link", name=number).click()
    expect(page.get_by_role("heading", name=number)).to_be_visible()

    # Cancelling asks first (htmx), then the page shows the cancelled return in place.
    page.evaluate("window.sameDocument = true")
    questions: list[str] = []

    def answer(dialog: Dialog) -> None:
        questions.append(dialog.message)
        dialog.accept()

    page.once("dialog", answer)
    page.get_by_role("button", name="Cancel this return").click()
    expect(page.get_by_text(f"{number} is cancelled. Nothing more to do.")).to_be_visible()
    expect(timeline).to_contain_text("Return cancelled")
    expect(page.get_by_role("button", name="Cancel this return")).to_have_count(0)
    assert questions == [f"Cancel {number}? You would need to start a new return to send the item back."]
    assert page.evaluate("window.sameDocument === true"), "htmx swapped the page; it did not reload"


def test_the_journey_works_by_keyboard_without_javascript_on_a_phone(
    shop: Brand, live_server: Any, browser: Browser
) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740}, java_script_enabled=False, is_mobile=True)
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/returns/aurelia/")
        page.keyboard.press("Tab")  # the skip link
        page.keyboard.press("Tab")  # the brand's home link
        page.keyboard.press("Tab")
        expect(page.get_by_label("Order number")).to_be_focused()
        page.keyboard.type("#1001")
        page.keyboard.press("Tab")
        expect(page.get_by_label("E-mail address")).to_be_focused()
        page.keyboard.type("ada@example.com")
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Order #1001")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "no sideways scrolling"

        page.get_by_role("link", name="Start a return or exchange").focus()
        page.keyboard.press("Enter")
        expect(page.get_by_label("Return Solitaire ring")).to_be_checked()  # the only returnable item
        page.get_by_label("Why are you returning it?").select_option("size_too_large")
        page.get_by_label("Exchange for another size").focus()
        page.keyboard.press("Space")
        page.get_by_label("New size (US)").select_option(label="Size 6")
        page.get_by_label("Drop off with a QR code").focus()
        page.keyboard.press("Space")
        page.get_by_role("button", name="Send my request").focus()
        page.keyboard.press("Enter")

        expect(page.locator(".rma__number")).to_have_text(re.compile(r"^RMA R-\d+$"))
        expect(page.locator(".steps")).to_contain_text("QR code")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "no sideways scrolling"
    finally:
        context.close()


def test_a_wrong_pair_gets_the_generic_message_in_the_browser(shop: Brand, live_server: Any, page: Page) -> None:
    page.goto(f"{live_server.url}/returns/aurelia/")
    page.get_by_label("Order number").fill("1001")
    page.get_by_label("E-mail address").fill("someone@example.com")
    page.get_by_role("button", name="Find my order").click()

    expect(page.get_by_role("alert")).to_contain_text(
        "We could not find an order with that number and e-mail address. Please check both and try again."
    )
