"""Webhook events seen by staff (failures with their reason, retry) and the dashboard's counts."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.html import escape

from assay.brands.models import Brand
from assay.catalog.services import UnknownLine, products_for_unknown_lines
from assay.orders.models import Order
from assay.webhooks import registry
from assay.webhooks.models import InboundEvent
from assay.webhooks.registry import HandlerResult
from assay.webhooks.services import inbound_event_receive
from assay.webhooks.status import EventStatus

pytestmark = pytest.mark.django_db

SOURCE = "backoffice-test"


def receive(brand: Brand, event_id: str, *, error: str = "", topic: str = "orders/create") -> InboundEvent:
    receipt = inbound_event_receive(
        brand_id=brand.pk, source=SOURCE, event_id=event_id, topic=topic, payload="{}", headers={}, error=error
    )
    return InboundEvent.objects.get(pk=receipt.event_id)


def event_ids(html: str) -> list[str]:
    return re.findall(r'<code class="event-id">([^<]+)</code>', html)


@pytest.fixture
def handler_that_succeeds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry._HANDLERS, SOURCE, lambda event: HandlerResult(stale=False, outcome="order #1001 ok"))


def test_the_events_page_shows_each_event_with_its_status_topic_and_failure_reason(
    staff_client: Client, brand: Brand
) -> None:
    receive(brand, "evt-ok")
    receive(brand, "evt-bad", error="invalid payload: line_items.0.quantity: Input should be greater than 0")

    html = staff_client.get("/app/webhooks/").content.decode()

    assert event_ids(html) == ["evt-bad", "evt-ok"]
    assert "orders/create" in html
    assert '<span class="badge badge--failed">Failed</span>' in html
    assert "invalid payload: line_items.0.quantity: Input should be greater than 0" in html
    assert '<label for="id_status">Show</label>' in html


def test_the_events_page_filters_failed_events(staff_client: Client, brand: Brand) -> None:
    receive(brand, "evt-ok")
    receive(brand, "evt-bad", error="no order")

    html = staff_client.get("/app/webhooks/", {"status": "failed"}).content.decode()

    assert event_ids(html) == ["evt-bad"]


def test_an_unknown_filter_value_is_ignored_not_an_error(staff_client: Client, brand: Brand) -> None:
    receive(brand, "evt-ok")

    response = staff_client.get("/app/webhooks/", {"status": "exploded"})

    assert response.status_code == 200
    assert event_ids(response.content.decode()) == ["evt-ok"]


def test_the_events_page_never_shows_another_brands_events(
    staff_client: Client, brand: Brand, other_brand: Brand
) -> None:
    receive(other_brand, "evt-theirs", error="their secret reason")

    html = staff_client.get("/app/webhooks/").content.decode()

    assert event_ids(html) == []
    assert "their secret reason" not in html


def test_retrying_a_failed_event_processes_it_again(
    staff_client: Client, brand: Brand, handler_that_succeeds: None
) -> None:
    event = receive(brand, "evt-bad", error="the order was not known yet")
    listing = staff_client.get("/app/webhooks/?status=failed").content.decode()
    assert f'action="/app/webhooks/{event.pk}/retry/"' in listing

    response = staff_client.post(f"/app/webhooks/{event.pk}/retry/", {"next": "/app/webhooks/?status=failed"})

    assert response.status_code == 302
    assert response["Location"] == "/app/webhooks/?status=failed"
    event.refresh_from_db()
    assert (event.status, event.outcome, event.error) == (EventStatus.PROCESSED, "order #1001 ok", "")
    after = staff_client.get(response["Location"]).content.decode()
    assert "Event evt-bad queued again (now: processed)." in after


def test_a_retry_that_fails_again_shows_the_new_reason(staff_client: Client, brand: Brand) -> None:
    event = receive(brand, "evt-bad", error="first reason")  # no handler is registered for this source

    staff_client.post(f"/app/webhooks/{event.pk}/retry/")

    event.refresh_from_db()
    assert event.status == EventStatus.FAILED
    assert event.error == f"no processor for source '{SOURCE}'"
    assert escape(event.error) in staff_client.get("/app/webhooks/").content.decode()


def test_an_htmx_retry_answers_the_events_new_row(
    staff_client: Client, brand: Brand, handler_that_succeeds: None
) -> None:
    event = receive(brand, "evt-bad", error="x")

    response = staff_client.post(
        f"/app/webhooks/{event.pk}/retry/", headers={"HX-Request": "true", "HX-Target": f"event-{event.pk}"}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith(f'<tr id="event-{event.pk}"')
    assert '<span class="badge badge--processed">Processed</span>' in html
    assert "Retry" not in html


def test_retrying_an_event_that_has_not_failed_changes_nothing(staff_client: Client, brand: Brand) -> None:
    event = receive(brand, "evt-waiting")

    response = staff_client.post(f"/app/webhooks/{event.pk}/retry/", follow=True)

    event.refresh_from_db()
    assert (event.status, event.attempts) == (EventStatus.RECEIVED, 0)
    assert "has not failed (received); nothing to retry." in response.content.decode()


def test_retrying_another_brands_event_is_404(staff_client: Client, other_brand: Brand) -> None:
    event = receive(other_brand, "evt-theirs", error="x")

    response = staff_client.post(f"/app/webhooks/{event.pk}/retry/")

    assert response.status_code == 404
    event.refresh_from_db()
    assert event.status == EventStatus.FAILED


def test_retry_is_a_post_with_a_csrf_token(staff_user: object, staff_password: str, brand: Brand) -> None:
    event = receive(brand, "evt-bad", error="x")
    client = Client(enforce_csrf_checks=True)
    client.login(username="ops@aurelia.example", password=staff_password)

    assert client.get(f"/app/webhooks/{event.pk}/retry/").status_code == 405
    assert client.post(f"/app/webhooks/{event.pk}/retry/").status_code == 403
    event.refresh_from_db()
    assert event.status == EventStatus.FAILED


def test_the_dashboard_counts_orders_failures_and_products_to_complete(
    staff_client: Client, brand: Brand, other_brand: Brand, make_order: Callable[..., Order]
) -> None:
    make_order(brand, "#1001", placed_at=timezone.now() - timedelta(days=60))
    make_order(brand, "#1002", sku="NEW-SKU-1", placed_at=timezone.now())
    make_order(other_brand, "#5001", placed_at=timezone.now())
    receive(brand, "evt-bad", error="x")
    receive(other_brand, "evt-theirs", error="x")
    products_for_unknown_lines(brand_id=brand.pk, lines=[UnknownLine(sku="NEW-SKU-2", title="Mystery ring")])

    html = staff_client.get("/app/").content.decode()

    def figure(label: str) -> str:
        match = re.search(r'stat__value">([\d,]+)</span>\s*<span class="stat__label">' + label, html)
        assert match, label
        return match.group(1)

    assert figure("Orders<") == "2"
    assert figure("Orders this week") == "1"
    assert figure("Failed webhook events") == "1"
    # Both unknown SKUs (the order line's and the direct one) made products flagged for completion.
    assert figure("Products needing completion") == "3"
    assert 'href="/app/webhooks/?status=failed"' in html
