"""An instant exchange in a real browser: the shopper asks for another ring size, authorises the card
hold on the (demo) payment page, and comes back to a status page that says the new size is on its
way to being shipped."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from assay.brands.models import Brand
from assay.brands.services import brand_create
from assay.core.audit import Actor
from assay.orders.schema import CanonicalLine
from assay.policies.services import policy_default_ensure
from assay.portal.tests.shop import fresh_portal_state, ring_product, shop_order
from assay.resolutions.tests.conftest import set_resolution_terms

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shop(transactional_db: Any) -> Brand:
    """Aurelia, whose policy ships even swaps up to 2,000 at once behind a card hold, and order #1001:
    a solitaire ring in 6.5, delivered 9 days ago. Written before the browser starts (see conftest)."""
    with fresh_portal_state():
        aurelia = brand_create(slug="aurelia", name="Aurelia Fine Jewellery", actor=Actor.system("test"))
        policy_default_ensure(brand_id=aurelia.pk, actor=Actor.system("test"))
        set_resolution_terms(aurelia.pk, instant_exchange=True, instant_exchange_max_value="2000")
        ring_product(aurelia, stock={"7": 2})
        shop_order(
            aurelia,
            "#1001",
            email="ada@example.com",
            lines=[
                CanonicalLine(external_id="r", sku="SOL-6.5", title="Solitaire ring", variant_title="6.5",
                              quantity=1, unit_price=Decimal(1200), fulfilled_quantity=1),
            ],
        )  # fmt: skip
    return aurelia


def test_a_shopper_authorises_a_hold_and_the_new_size_is_sent_before_the_return(
    shop: Brand, live_server: Any, settings: Any, page: Page
) -> None:
    settings.PUBLIC_URL = live_server.url  # payment pages send the shopper back here
    page.goto(f"{live_server.url}/returns/aurelia/")
    page.get_by_label("Order number").fill("1001")
    page.get_by_label("E-mail address").fill("ada@example.com")
    page.get_by_role("button", name="Find my order").click()
    page.get_by_role("link", name="Start a return or exchange").click()
    page.get_by_label("Return Solitaire ring").check()
    page.get_by_label("Why are you returning it?").select_option(label="Size too small")
    page.get_by_label("Exchange for another size").check()
    page.get_by_label("New size (US)").select_option(label="Size 7")
    page.get_by_label("Mail with a prepaid label").check()
    page.get_by_role("button", name="Send my request").click()
    page.get_by_role("link", name="Follow this return").click()

    outcome = page.locator("#outcome")
    expect(outcome).to_contain_text("authorise a hold of 1,200.00 USD on your card")
    outcome.get_by_role("link", name="Authorise the hold").click()

    expect(page.get_by_role("heading", name="Authorise a hold")).to_be_visible()
    expect(page.get_by_text("Amount: 1,200.00 USD")).to_be_visible()
    page.get_by_role("button", name="Authorise the hold").click()

    expect(page.locator("#outcome")).to_contain_text("being prepared for shipping")
    expect(page.locator("#outcome")).not_to_contain_text("Authorise the hold")
