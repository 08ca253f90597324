"""An owner reads the return policy in words, makes a mistake editing it, fixes it and publishes."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from assay.brands.models import Brand
from assay.brands.services import brand_create, staff_add
from assay.core.audit import Actor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OPERATOR = Actor.system("test")
PASSWORD = "correct-horse-battery"


@pytest.fixture
def owner_brand() -> Brand:
    brand = brand_create(slug="aurelia", name="Aurelia Fine Jewellery", actor=OPERATOR)
    staff_add(slug=brand.slug, email="owner@aurelia.example", role="owner", password=PASSWORD, actor=OPERATOR)
    return brand


def test_an_owner_fixes_a_mistake_and_publishes_a_new_policy(owner_brand: Brand, live_server: Any, page: Page) -> None:
    page.goto(f"{live_server.url}/app/login/")
    page.get_by_label("E-mail").fill("owner@aurelia.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.get_by_role("link", name="Return policy").click()
    expect(page.get_by_role("heading", name="Engraved rings: resize only")).to_be_visible()
    expect(page.get_by_text("exchange for another size only (resize)").first).to_be_visible()

    page.get_by_role("link", name="Edit and publish a new version").click()
    document = page.get_by_label("Policy document (JSON)")
    document.fill('{"defaults": {"refund_days": 14}, "rules": [{"id": "x", "name": "X", "then": {"eligble": false}}]}')
    page.get_by_role("button", name="Publish").click()

    expect(page.get_by_role("alert").filter(has_text="was not published")).to_contain_text(
        "rules[0] (id 'x').then.eligble: is not a known field"
    )
    expect(document).to_have_value(
        '{"defaults": {"refund_days": 14}, "rules": [{"id": "x", "name": "X", "then": {"eligble": false}}]}'
    )

    document.fill(
        '{"defaults": {"refund_days": 14}, "rules": [{"id": "x", "name": "Earrings", '
        '"when": {"category": ["earrings"]}, "then": {"eligible": false, "reason": "Earrings are final sale."}}]}'
    )
    page.get_by_label("What changed and why").fill("shorter refunds, earrings final")
    page.get_by_role("button", name="Publish").click()

    expect(page.get_by_text("Version 1 is published")).to_be_visible()
    expect(page.get_by_text("refund within 14 days")).to_be_visible()
    expect(page.get_by_text("not returnable: “Earrings are final sale.”")).to_be_visible()
    page.get_by_role("link", name="Version history").click()
    row = page.get_by_role("row").filter(has_text="shorter refunds, earrings final")
    expect(row).to_contain_text("v1")
    expect(row).to_contain_text("owner@aurelia.example")
