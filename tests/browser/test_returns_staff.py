"""Staff review returns in a real browser: filter the queue, open a request, approve it, and see
the approval in the timeline; bulk reject without JavaScript."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from assay.brands.models import Brand
from assay.brands.services import brand_create, staff_add
from assay.core.audit import Actor
from assay.returns.tests.factories import OrderFactory, ReturnLineFactory, ReturnRequestFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"


def _request(brand: Brand, rma: str, number: str, *, hours_ago: int, status: str, **fields: Any) -> None:
    order = OrderFactory.create(brand=brand, number=number, email=f"{number[1:]}@example.com")
    request = ReturnRequestFactory.create(
        brand=brand,
        rma=rma,
        order=order,
        status=status,
        requested_at=timezone.now() - timedelta(hours=hours_ago),
        **fields,
    )
    ReturnLineFactory.create(
        request=request,
        order_line__sku="RING-SOL-6",
        order_line__title="Solitaire ring",
        reason="size_too_small",
        size_wanted=Decimal("6.5"),
        decision={
            "reason": "Exchange for another size within 60 days",
            "matched": [{"rule_id": "high-value", "rule_name": "High value needs review", "why": "price >= 2,000"}],
        },
    )


@pytest.fixture
def desk(transactional_db: Any) -> Brand:
    """Aurelia with three requests (two waiting for review, one authorised) and an ops person.
    Written before any browser starts (see conftest)."""
    actor = Actor.system("test")
    aurelia = brand_create(slug="aurelia", name="Aurelia Fine Jewellery", actor=actor)
    _request(
        aurelia,
        "R-100001",
        "#1001",
        hours_ago=30,
        status="pending_review",
        value=Decimal("4200.00"),
        flags=["manual_review", "high_value"],
        review_reasons=["Solitaire ring: High value needs review (price >= 2,000)"],
    )
    _request(aurelia, "R-100002", "#1002", hours_ago=5, status="pending_review")
    _request(aurelia, "R-100003", "#1003", hours_ago=50, status="authorised")
    staff_add(slug="aurelia", email="ops@aurelia.example", role="ops", password=PASSWORD, actor=actor)
    return aurelia


def log_in(page: Page, base: str) -> None:
    page.goto(f"{base}/app/returns/")
    expect(page).to_have_url(re.compile(r"/app/login/\?next=/app/returns/$"))
    page.get_by_label("E-mail").fill("ops@aurelia.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{base}/app/returns/")


def test_staff_filter_pending_review_open_a_request_approve_it_and_see_the_timeline(
    desk: Brand, live_server: Any, page: Page
) -> None:
    log_in(page, live_server.url)
    expect(page.get_by_role("heading", name="Returns")).to_be_visible()
    expect(page.locator(".rma-link")).to_have_text(["R-100002", "R-100001", "R-100003"])

    page.evaluate("window.sameDocument = true")
    page.get_by_label("Status").select_option(label="Pending review")

    expect(page.locator(".rma-link")).to_have_text(["R-100002", "R-100001"])
    expect(page).to_have_url(re.compile(r"status=pending_review"))
    assert page.evaluate("window.sameDocument === true"), "htmx swapped the results; the page did not reload"
    breached = page.locator("tr", has=page.get_by_role("link", name="R-100001"))
    expect(breached).to_contain_text("SLA breached")
    expect(breached).to_contain_text("High value")
    breached.get_by_role("link", name="R-100001").click()

    expect(page.get_by_role("heading", name="RMA R-100001")).to_be_visible()
    expect(page.get_by_text("High value needs review", exact=False).first).to_be_visible()
    page.get_by_label("Note (optional)").fill("Photos show an unworn ring")
    page.get_by_role("button", name="Approve R-100001").click()

    expect(page.get_by_text("R-100001 approved.")).to_be_visible()
    expect(page.locator(".page-head .badge").first).to_have_text("Authorised")
    timeline = page.locator("section#timeline")
    entry = timeline.locator("tbody tr", has_text="Photos show an unworn ring").first
    expect(entry).to_contain_text("ops@aurelia.example")
    expect(entry).to_contain_text("Authorised")


def test_bulk_reject_with_a_reason_works_without_javascript(
    desk: Brand, live_server: Any, page_without_js: Page
) -> None:
    page = page_without_js
    log_in(page, live_server.url)

    page.get_by_label("Tick R-100001").check()
    page.get_by_label("Tick R-100002").check()
    page.get_by_label("Action").select_option("reject")
    page.get_by_role("button", name="Apply to ticked").click()
    expect(page.get_by_text("Give the reason for rejecting; the shopper is told it.")).to_be_visible()
    expect(page.get_by_label("Tick R-100001")).to_be_checked()

    page.get_by_label("Reason or note").fill("Worn beyond our policy")
    page.get_by_role("button", name="Apply to ticked").click()

    expect(page.get_by_text("Rejected 2 requests: R-100001, R-100002.")).to_be_visible()
    expect(page.locator("tr", has=page.get_by_role("link", name="R-100001"))).to_contain_text("Rejected")
