"""Shopify webhooks over real HTTP to the running app (loopback only), then claimed and processed
from the event table as the workers do."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any, Protocol

import httpx
import pytest
from django.db import connection

from assay.brands.models import Brand
from assay.brands.selectors import integration_secret
from assay.core.models import AuditEvent
from assay.integrations.shopify.tests.helpers import body_of, payload, shopify_headers, work_off_due_events
from assay.orders.models import Order, OrderLine, Shipment
from assay.webhooks.claimer import InboundEventClaimer
from assay.webhooks.models import InboundEvent
from assay.webhooks.status import EventStatus

pytestmark = pytest.mark.django_db(transaction=True)

ORDER_ID = "5820476129491"  # order_full.json, #1001


class Post(Protocol):
    def __call__(
        self,
        topic: str,
        data: Any = None,
        *,
        raw: bytes | None = None,
        event_id: str | None = None,
        signature: str | None = None,
    ) -> httpx.Response: ...


@pytest.fixture
def hook_url(live_server: Any, brand: Brand) -> str:
    return f"{live_server.url}/hooks/shopify/{brand.slug}/"


@pytest.fixture
def secret(brand: Brand) -> str:
    value = integration_secret(brand_id=brand.pk, integration="shopify")
    assert value
    return value


@pytest.fixture
def post(hook_url: str, secret: str) -> Post:
    def send(
        topic: str,
        data: Any = None,
        *,
        raw: bytes | None = None,
        event_id: str | None = None,
        signature: str | None = None,
    ) -> httpx.Response:
        body = raw if raw is not None else body_of(data)
        headers = shopify_headers(topic=topic, body=body, secret=secret, event_id=event_id, signature=signature)
        headers["Content-Type"] = "application/json"
        response = httpx.post(hook_url, content=body, headers=headers, timeout=30)
        work_off_due_events()
        return response

    return send


def test_a_signed_order_over_http_appears_with_its_lines_and_engraving(post: Post, brand: Brand) -> None:
    response = post("orders/create", payload("order_full"), event_id="http-1")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json()["status"] == "received"
    order = Order.objects.get(brand=brand, external_id=ORDER_ID)
    assert (order.number, order.total, order.email) == ("#1001", Decimal("2467.34"), "amelia.hart@example.com")
    ring, necklace = OrderLine.objects.filter(order=order)
    assert ring.properties["Engraving"] == "Für immer ♥ 永遠"
    assert ring.personalised
    assert not necklace.personalised
    event = InboundEvent.objects.get(event_id="http-1")
    assert (event.status, event.outcome) == (EventStatus.PROCESSED, "order #1001 created")


def test_a_duplicate_delivery_over_http_is_acknowledged_twice_and_applied_once(post: Post, brand: Brand) -> None:
    first = post("orders/create", payload("order_full"), event_id="http-dup")
    again = post("orders/create", payload("order_full"), event_id="http-dup")

    assert (first.status_code, again.status_code) == (200, 200)
    assert (first.json()["status"], again.json()["status"]) == ("received", "duplicate")
    assert Order.objects.filter(brand=brand, external_id=ORDER_ID).count() == 1
    statuses = list(InboundEvent.objects.filter(event_id="http-dup").order_by("id").values_list("status", flat=True))
    assert statuses == [EventStatus.PROCESSED, EventStatus.DUPLICATE]
    assert AuditEvent.objects.filter(subject_type="order", action="order_created").count() == 1


@pytest.mark.parametrize("signature", ["", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="])
def test_a_missing_or_wrong_signature_over_http_is_refused_and_nothing_is_stored(post: Post, signature: str) -> None:
    response = post("orders/create", payload("order_full"), signature=signature)

    assert response.status_code == 401
    assert response.json()["detail"]
    assert not InboundEvent.objects.exists()
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("topic", "body", "status"),
    [
        ("orders/create", b'{"id": 1, "line_items": [', 400),
        ("orders/create", body_of(payload("order_full") | {"line_items": [{"id": "x", "quantity": "many"}]}), 422),
        ("orders/create", body_of({"id": 5820476129491, "name": "#1001"}), 422),
        ("fulfillments/create", body_of({"id": 1}), 422),
        ("orders/delete", body_of({"id": 5820476129491}), 400),
        ("app/uninstalled", b"{}", 400),
    ],
    ids=["malformed-json", "wrong-types", "missing-fields", "fulfilment-without-order", "unknown-topic", "other-topic"],
)
def test_bad_input_over_http_gets_a_clear_4xx_and_no_order(post: Post, topic: str, body: bytes, status: int) -> None:
    response = post(topic, raw=body)

    assert response.status_code == status
    assert response.json()["detail"]
    assert not Order.objects.exists()
    assert not InboundEvent.objects.filter(status=EventStatus.PROCESSED).exists()


def test_an_oversized_body_over_http_is_refused(post: Post, settings: Any) -> None:
    settings.WEBHOOK_MAX_BODY_BYTES = 4096
    data = payload("order_full") | {"note": "x" * 8000}

    response = post("orders/create", data)

    assert response.status_code == 413
    assert not InboundEvent.objects.exists()


def test_other_methods_over_http_are_not_allowed(hook_url: str) -> None:
    response = httpx.get(hook_url, timeout=30)

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


def test_a_stale_replay_over_http_leaves_the_order_as_it_is(post: Post, brand: Brand) -> None:
    post("orders/updated", payload("order_full") | {"tags": "new", "updated_at": "2024-11-12T09:00:00-05:00"})

    response = post(
        "orders/updated",
        payload("order_full") | {"tags": "old", "updated_at": "2024-11-10T10:30:05-05:00"},
        event_id="http-stale",
    )

    assert response.status_code == 200
    assert Order.objects.get(brand=brand, external_id=ORDER_ID).tags == ["new"]
    assert InboundEvent.objects.get(event_id="http-stale").status == EventStatus.STALE


def test_a_fulfilment_over_http_before_its_order_applies_once_the_order_arrives(post: Post, brand: Brand) -> None:
    early = post("fulfillments/create", payload("fulfillment"), event_id="http-early")

    assert early.status_code == 200
    waiting = InboundEvent.objects.get(event_id="http-early")
    assert (waiting.status, waiting.error) == (EventStatus.RECEIVED, f"order {ORDER_ID} is not known yet")

    post("orders/create", payload("order_full"), event_id="http-order")

    assert InboundEvent.objects.get(event_id="http-early").status == EventStatus.PROCESSED
    assert Shipment.objects.get(order__brand=brand, order__external_id=ORDER_ID).tracking_number == "794612345678"


def test_a_delivery_over_http_is_processed_by_a_running_worker_within_a_second(
    hook_url: str, secret: str, brand: Brand
) -> None:
    body = body_of(payload("order_full"))
    headers = shopify_headers(topic="orders/create", body=body, secret=secret, event_id="http-live")
    answers: list[httpx.Response] = []
    stop = threading.Event()
    settled: dict[str, Any] = {}

    class WatchedWorker(InboundEventClaimer):
        """The claimer `assay worker` runs, stopping once the delivery is settled."""

        def round(self) -> int:
            claimed = super().round()
            row = InboundEvent.objects.filter(event_id="http-live").values().first()
            if row is not None and row["status"] != EventStatus.RECEIVED:
                settled.update(row)
                stop.set()
            return claimed

    def shopify() -> None:  # delivers while the worker is already looking at an empty table
        answers.append(httpx.post(hook_url, content=body, headers=headers, timeout=30))

    sender = threading.Thread(target=shopify)
    give_up = threading.Timer(30, stop.set)
    give_up.start()
    sender.start()
    try:
        WatchedWorker().run(stop)
    finally:
        give_up.cancel()
        sender.join(timeout=30)

    assert [answer.status_code for answer in answers] == [200]
    assert settled["status"] == EventStatus.PROCESSED
    latency = settled["processed_at"] - settled["received_at"]
    assert latency < timedelta(seconds=1), latency
    assert Order.objects.get(brand=brand, external_id=ORDER_ID).lines.count() == 2


def _concurrently(count: int, send: Callable[[int], httpx.Response]) -> list[int]:
    """Fire `count` requests at once (a barrier lines the threads up); their status codes."""
    barrier = threading.Barrier(count)
    codes: list[int] = [0] * count

    def run(index: int) -> None:
        barrier.wait(timeout=30)
        codes[index] = send(index).status_code

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return codes


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: real concurrent writers")
def test_the_same_delivery_arriving_concurrently_makes_one_order_and_one_processed_event(
    post: Post, brand: Brand
) -> None:
    body = body_of(payload("order_full"))

    codes = _concurrently(6, lambda _: post("orders/create", raw=body, event_id="http-race"))

    assert codes == [200] * 6
    assert Order.objects.filter(brand=brand, external_id=ORDER_ID).count() == 1
    assert OrderLine.objects.filter(order__brand=brand).count() == 2
    statuses = sorted(InboundEvent.objects.filter(event_id="http-race").values_list("status", flat=True))
    assert statuses == sorted([EventStatus.PROCESSED] + [EventStatus.DUPLICATE] * 5)


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: real concurrent writers")
def test_different_events_for_one_new_order_arriving_concurrently_make_one_order(post: Post, brand: Brand) -> None:
    topics = ["orders/create", "orders/updated", "orders/paid", "orders/updated"]

    codes = _concurrently(
        len(topics), lambda index: post(topics[index], payload("order_full"), event_id=f"race-{index}")
    )

    assert codes == [200] * len(topics)
    assert Order.objects.filter(brand=brand, external_id=ORDER_ID).count() == 1
    assert OrderLine.objects.filter(order__brand=brand).count() == 2
    statuses = set(InboundEvent.objects.filter(event_id__startswith="race-").values_list("status", flat=True))
    assert statuses == {EventStatus.PROCESSED}
    assert AuditEvent.objects.filter(subject_type="order", action="order_created").count() == 1
