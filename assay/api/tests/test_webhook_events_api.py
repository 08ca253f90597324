"""GET /api/v1/webhook-events: what happened to each inbound delivery; POST .../retry for a failed one."""

from __future__ import annotations

import pytest
from django.test import Client

from assay.brands.models import Brand
from assay.brands.services import api_token_create
from assay.core.audit import Actor
from assay.webhooks import registry
from assay.webhooks.models import InboundEvent
from assay.webhooks.registry import HandlerResult
from assay.webhooks.services import inbound_event_process, inbound_event_receive

OPERATOR = Actor.system("test")


def receive(brand: Brand, event_id: str, *, topic: str = "orders/create", source: str = "test", error: str = "") -> int:
    return inbound_event_receive(
        brand_id=brand.pk, source=source, event_id=event_id, topic=topic, payload="{}", headers={}, error=error
    ).event_id


@pytest.fixture
def test_source(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A registered processor for source 'test': an event whose topic is 'stale' is stale."""
    seen: list[str] = []

    def handle(event: InboundEvent) -> HandlerResult:
        seen.append(event.event_id)
        return HandlerResult(stale=event.topic == "stale", outcome=f"handled {event.event_id}")

    monkeypatch.setitem(registry._HANDLERS, "test", handle)
    return seen


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["event_id"] for item in response.json()["items"]]


def test_each_processing_state_is_shown_with_its_reason(api: Client, brand, test_source):
    processed = receive(brand, "e-processed")
    inbound_event_process(event_pk=processed)
    stale = receive(brand, "e-stale", topic="stale")
    inbound_event_process(event_pk=stale)
    duplicate = receive(brand, "e-processed")
    failed = receive(brand, "e-failed", error="invalid payload: id: Field required")
    waiting = receive(brand, "e-waiting")

    items = {item["id"]: item for item in api.get("/api/v1/webhook-events").json()["items"]}

    assert items[processed]["status"] == "processed"
    assert items[processed]["outcome"] == "handled e-processed"
    assert items[processed]["attempts"] == 1
    assert items[processed]["processed_at"] is not None
    assert items[stale]["status"] == "stale"
    assert items[duplicate]["status"] == "duplicate"
    assert items[duplicate]["duplicate_of"] == processed
    assert items[failed]["status"] == "failed"
    assert items[failed]["error"] == "invalid payload: id: Field required"
    assert items[waiting]["status"] == "received"
    assert items[waiting]["processed_at"] is None
    assert set(items[waiting]) == {
        "id", "source", "event_id", "topic", "status", "error", "outcome", "attempts", "received_at",
        "processed_at", "next_attempt_at", "duplicate_of",
    }  # fmt: skip


def test_events_are_filtered_by_source_event_id_status_and_topic(api: Client, brand):
    receive(brand, "e-1", source="shopify", topic="orders/create")
    receive(brand, "e-2", source="shopify", topic="orders/updated", error="boom")
    receive(brand, "e-3", source="test", topic="orders/create")

    assert ids(api.get("/api/v1/webhook-events")) == ["e-3", "e-2", "e-1"]
    assert ids(api.get("/api/v1/webhook-events?source=shopify")) == ["e-2", "e-1"]
    assert ids(api.get("/api/v1/webhook-events?source=shopify&event_id=e-1")) == ["e-1"]
    assert ids(api.get("/api/v1/webhook-events?status=failed")) == ["e-2"]
    assert ids(api.get("/api/v1/webhook-events?topic=orders/create")) == ["e-3", "e-1"]
    assert api.get("/api/v1/webhook-events?source=shopify").json()["count"] == 2


def test_event_pages_count_every_match(api: Client, brand):
    for n in range(5):
        receive(brand, f"e-{n}")

    page = api.get("/api/v1/webhook-events?limit=2&offset=2")

    assert ids(page) == ["e-2", "e-1"]
    assert page.json()["count"] == 5


def test_one_event_can_be_read_by_id(api: Client, brand):
    event = receive(brand, "e-1", error="no processor")

    body = api.get(f"/api/v1/webhook-events/{event}").json()

    assert (body["id"], body["event_id"], body["status"], body["error"]) == (event, "e-1", "failed", "no processor")


def test_another_brands_events_are_absent_and_answer_404_like_missing_ones(api: Client, brand, other_brand):
    receive(brand, "mine")
    theirs = receive(other_brand, "theirs")

    assert ids(api.get("/api/v1/webhook-events")) == ["mine"]
    assert ids(api.get("/api/v1/webhook-events?event_id=theirs")) == []
    response = api.get(f"/api/v1/webhook-events/{theirs}")
    assert response.status_code == 404
    assert response.json() == {"detail": f"no webhook event {theirs}"}
    assert api.post(f"/api/v1/webhook-events/{theirs}/retry").json() == {"detail": f"no webhook event {theirs}"}


def test_an_unknown_status_answers_422_naming_the_states(api: Client):
    response = api.get("/api/v1/webhook-events?status=lost")

    assert response.status_code == 422
    assert response.json() == {
        "detail": "status: Input should be 'received', 'processed', 'duplicate', 'stale' or 'failed'"
    }


def test_a_failed_event_can_be_retried_and_is_processed_again(api: Client, brand, test_source):
    event = receive(brand, "e-1", error="handler was broken")

    response = api.post(f"/api/v1/webhook-events/{event}/retry")

    assert response.status_code == 202
    assert test_source == ["e-1"]
    body = api.get(f"/api/v1/webhook-events/{event}").json()
    assert (body["status"], body["error"], body["outcome"]) == ("processed", "", "handled e-1")


def test_only_a_failed_event_can_be_retried(api: Client, brand, test_source):
    event = receive(brand, "e-1")
    inbound_event_process(event_pk=event)

    response = api.post(f"/api/v1/webhook-events/{event}/retry")

    assert response.status_code == 409
    assert response.json() == {"detail": "only a failed event can be retried; this one is 'processed'"}
    assert test_source == ["e-1"]


def test_a_token_without_an_operations_role_cannot_retry(brand, test_source):
    event = receive(brand, "e-1", error="boom")
    raw = api_token_create(slug=brand.slug, role="copywriter", actor=OPERATOR).raw

    response = Client(headers={"Authorization": f"Bearer {raw}"}).post(f"/api/v1/webhook-events/{event}/retry")

    assert response.status_code == 403
    assert response.json() == {"detail": "a 'copywriter' token cannot retry events; use an owner or ops token"}
    assert test_source == []
