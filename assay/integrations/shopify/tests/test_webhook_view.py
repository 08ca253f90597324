"""POST /hooks/shopify/<brand>/ through Django's test client: verify, store (due for the workers), answer."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from huey.contrib.djhuey import HUEY
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assay.brands.models import Brand
from assay.brands.services import brand_create
from assay.core.audit import Actor
from assay.integrations.shopify.tests.helpers import (
    Deliver,
    body_of,
    payload,
    shopify_headers,
    work_off_due_events,
)
from assay.orders.models import Order, OrderLine
from assay.webhooks.models import InboundEvent
from assay.webhooks.status import EventStatus

pytestmark = pytest.mark.django_db


def test_a_signed_order_is_received_stored_and_processed(deliver: Deliver, brand: Brand) -> None:
    response = deliver("orders/create", payload("order_full"), event_id="evt-1")

    assert response.status_code == 200
    event = InboundEvent.objects.get(event_id="evt-1")
    assert response.json() == {"status": "received", "event": event.pk}
    assert (event.brand_id, event.source, event.topic) == (brand.pk, "shopify", "orders/create")
    assert event.status == EventStatus.PROCESSED
    assert event.outcome == "order #1001 created"
    assert event.headers["X-Shopify-Shop-Domain"] == "aurelia.myshopify.com"
    assert "X-Shopify-Hmac-Sha256" not in event.headers
    order = Order.objects.get(brand=brand, external_id="5820476129491")
    assert order.lines.count() == 2


def test_the_raw_body_is_stored_as_received_with_its_unicode(deliver: Deliver) -> None:
    body = body_of(payload("order_full"))

    deliver("orders/create", raw=body, event_id="evt-raw")

    assert InboundEvent.objects.get(event_id="evt-raw").payload.encode() == body
    assert "Für immer ♥ 永遠" in InboundEvent.objects.get(event_id="evt-raw").payload


def test_a_duplicate_delivery_is_acknowledged_and_never_processed_again(deliver: Deliver, brand: Brand) -> None:
    first = deliver("orders/create", payload("order_full"), event_id="evt-dup")
    again = deliver("orders/create", payload("order_full"), event_id="evt-dup")

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json()["status"] == "duplicate"
    assert Order.objects.filter(brand=brand, external_id="5820476129491").count() == 1
    original, duplicate = InboundEvent.objects.filter(event_id="evt-dup").order_by("id")
    assert original.status == EventStatus.PROCESSED
    assert duplicate.status == EventStatus.DUPLICATE
    assert duplicate.duplicate_of_id == original.pk
    assert duplicate.attempts == 0


def test_the_webhook_id_is_the_event_id_when_shopify_sends_no_event_id(deliver: Deliver) -> None:
    response = deliver("orders/create", payload("order_full"), drop_headers=("X-Shopify-Event-Id",))

    assert response.status_code == 200
    event = InboundEvent.objects.get(pk=response.json()["event"])
    assert event.event_id == event.headers["X-Shopify-Webhook-Id"]


def test_a_delivery_without_any_event_id_is_refused(deliver: Deliver) -> None:
    response = deliver(
        "orders/create", payload("order_full"), drop_headers=("X-Shopify-Event-Id", "X-Shopify-Webhook-Id")
    )

    assert response.status_code == 400
    assert "X-Shopify-Event-Id" in response.json()["detail"]
    assert not InboundEvent.objects.exists()


@pytest.mark.parametrize("signature", ["", "bm90IHRoZSByaWdodCBzaWduYXR1cmU=", "garbage ♥ not base64"])
def test_a_missing_or_wrong_signature_is_refused_and_nothing_is_stored(deliver: Deliver, signature: str) -> None:
    response = deliver("orders/create", payload("order_full"), signature=signature)

    assert response.status_code == 401
    assert "signed" in response.json()["detail"]
    assert not InboundEvent.objects.exists()
    assert not Order.objects.exists()


def test_a_body_changed_after_signing_is_refused(deliver: Deliver, shopify_secret: str) -> None:
    body = body_of(payload("order_full"))
    signed_for_other_body = shopify_headers(topic="orders/create", body=body + b" ", secret=shopify_secret)[
        "X-Shopify-Hmac-Sha256"
    ]

    response = deliver("orders/create", raw=body, signature=signed_for_other_body)

    assert response.status_code == 401


def test_another_brands_secret_does_not_sign_for_this_brand(deliver: Deliver, other_brand: Brand) -> None:
    from assay.brands.selectors import integration_secret

    foreign = integration_secret(brand_id=other_brand.pk, integration="shopify")

    response = deliver("orders/create", payload("order_full"), secret=foreign)

    assert response.status_code == 401
    assert not InboundEvent.objects.exists()


def test_an_unknown_brand_and_a_brand_without_a_secret_get_the_same_answer_as_a_bad_signature(
    deliver: Deliver,
) -> None:
    brand_create(slug="nosecret", name="No Secret", currency="USD", actor=Actor.system("test"))
    wrong = deliver("orders/create", payload("order_full"), signature="d3Jvbmc=")

    unknown = deliver("orders/create", payload("order_full"), slug="no-such-brand")
    no_secret = deliver("orders/create", payload("order_full"), slug="nosecret")

    assert unknown.status_code == no_secret.status_code == wrong.status_code == 401
    assert unknown.json() == no_secret.json() == wrong.json()
    assert not InboundEvent.objects.exists()


@pytest.mark.parametrize("method", ["get", "put", "delete", "patch"])
def test_only_post_is_accepted(client: Client, brand: Brand, method: str) -> None:
    response = getattr(client, method)(f"/hooks/shopify/{brand.slug}/")

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response.json()["detail"]


def test_an_unsupported_topic_is_refused_with_the_supported_ones_named(deliver: Deliver) -> None:
    response = deliver("customers/create", {"id": 1})

    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "customers/create" in detail
    assert "orders/create" in detail
    assert not InboundEvent.objects.exists()


def test_malformed_json_is_refused_and_recorded_as_failed(deliver: Deliver) -> None:
    response = deliver("orders/create", raw=b'{"id": 5820476129491, "line_items": [', event_id="evt-bad-json")

    assert response.status_code == 400
    assert response.json()["detail"].startswith("malformed JSON")
    event = InboundEvent.objects.get(event_id="evt-bad-json")
    assert event.status == EventStatus.FAILED
    assert event.error.startswith("malformed JSON")
    assert not Order.objects.exists()


def test_a_body_that_is_not_utf8_is_refused_as_malformed(deliver: Deliver) -> None:
    response = deliver("orders/create", raw=b'{"id": "\xff\xfe"}')

    assert response.status_code == 400
    assert not Order.objects.exists()


def test_wrong_types_are_refused_with_the_fields_named_and_recorded_as_failed(deliver: Deliver) -> None:
    data = payload("order_full")
    data["line_items"][0]["quantity"] = "two"
    data["total_price"] = {"amount": "2467.34"}

    response = deliver("orders/create", data, event_id="evt-types")

    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail.startswith("invalid orders/create payload")
    assert "line_items.0.quantity" in detail
    assert "total_price" in detail
    event = InboundEvent.objects.get(event_id="evt-types")
    assert response.json()["event"] == event.pk
    assert (event.status, event.error) == (EventStatus.FAILED, detail)
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("topic", "fixture", "field"),
    [
        ("orders/create", "order_full", "currency"),
        ("orders/updated", "order_full", "id"),
        ("fulfillments/create", "fulfillment", "order_id"),
        ("refunds/create", "refund", "order_id"),
        ("products/create", "product_ring", "title"),
        ("products/delete", "product_deleted", "id"),
    ],
)
def test_a_missing_required_field_is_refused_with_its_name(
    deliver: Deliver, topic: str, fixture: str, field: str
) -> None:
    data = payload(fixture)
    del data[field]

    response = deliver(topic, data)

    assert response.status_code == 422
    assert f"{field}: Field required" in response.json()["detail"]
    assert InboundEvent.objects.get().status == EventStatus.FAILED


def test_a_json_array_is_not_an_order(deliver: Deliver) -> None:
    response = deliver("orders/create", [payload("order_full")])

    assert response.status_code == 422
    assert not Order.objects.exists()


def test_an_oversized_body_is_refused_before_anything_is_stored(deliver: Deliver, settings: Any) -> None:
    settings.WEBHOOK_MAX_BODY_BYTES = 1024
    data = payload("order_full")

    response = deliver("orders/create", data)

    assert response.status_code == 413
    assert "1024 bytes" in response.json()["detail"]
    assert not InboundEvent.objects.exists()


def test_a_body_past_djangos_own_upload_limit_is_refused_too(deliver: Deliver, settings: Any) -> None:
    settings.WEBHOOK_MAX_BODY_BYTES = 10_000_000
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024

    response = deliver("orders/create", payload("order_full"))

    assert response.status_code == 413


def test_a_payload_the_domain_refuses_is_acknowledged_then_failed_with_the_reason(deliver: Deliver) -> None:
    # Valid for Shopify's model, refused by the canonical order: a line of zero units.
    data = payload("order_full")
    data["line_items"][1]["quantity"] = 0

    response = deliver("orders/create", data, event_id="evt-zero")

    assert response.status_code == 200
    event = InboundEvent.objects.get(event_id="evt-zero")
    assert event.status == EventStatus.FAILED
    assert "lines.1.quantity" in event.error
    assert not Order.objects.exists()
    assert not OrderLine.objects.exists()


def test_intake_costs_one_query_for_the_secret_and_one_insert(
    client: Client, brand: Brand, shopify_secret: str
) -> None:
    body = body_of(payload("order_full"))
    headers = shopify_headers(topic="orders/create", body=body, secret=shopify_secret)

    with CaptureQueriesContext(connection) as queries:
        response = client.post(
            f"/hooks/shopify/{brand.slug}/", data=body, content_type="application/json", headers=headers
        )

    assert response.status_code == 200
    statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"].upper()]
    assert len(statements) == 2, statements
    assert "integrationsecret" in statements[0]
    assert statements[1].upper().startswith("INSERT")


def test_a_delivery_is_stored_due_and_processed_by_a_worker_with_nothing_enqueued(
    client: Client, brand: Brand, shopify_secret: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    enqueued: list[Any] = []
    monkeypatch.setattr(HUEY, "enqueue", enqueued.append)
    body = body_of(payload("order_full"))
    headers = shopify_headers(topic="orders/create", body=body, secret=shopify_secret, event_id="evt-claimed")

    response = client.post(f"/hooks/shopify/{brand.slug}/", data=body, content_type="application/json", headers=headers)

    assert response.status_code == 200
    stored = InboundEvent.objects.get(event_id="evt-claimed")
    assert stored.status == EventStatus.RECEIVED
    assert stored.next_attempt_at is not None
    assert stored.next_attempt_at <= timezone.now()
    assert not Order.objects.exists()

    assert work_off_due_events() == 1

    assert InboundEvent.objects.get(event_id="evt-claimed").status == EventStatus.PROCESSED
    assert Order.objects.filter(brand=brand, external_id="5820476129491").exists()
    assert enqueued == []


def test_a_warm_intake_reads_no_secret_from_the_database(client: Client, brand: Brand, shopify_secret: str) -> None:
    def post() -> tuple[int, list[str]]:
        body = body_of(payload("order_full"))
        headers = shopify_headers(topic="orders/create", body=body, secret=shopify_secret)
        with CaptureQueriesContext(connection) as queries:
            response = client.post(
                f"/hooks/shopify/{brand.slug}/", data=body, content_type="application/json", headers=headers
            )
        return response.status_code, [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]

    post()
    status, statements = post()

    assert status == 200
    assert len(statements) == 1, statements
    assert statements[0].upper().startswith("INSERT")


def test_a_rotated_secret_signs_at_once_though_the_old_one_was_cached(deliver: Deliver, brand: Brand) -> None:
    from assay.brands.services import brand_secret_set

    assert deliver("orders/create", payload("order_full")).status_code == 200  # caches the old secret
    brand_secret_set(slug=brand.slug, integration="shopify", secret="rotated-secret-0001", actor=Actor.system("t"))

    response = deliver("orders/create", payload("order_full"), secret="rotated-secret-0001")

    assert response.status_code == 200


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(
        st.binary(max_size=200),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
            lambda children: (
                st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
            ),
            max_leaves=20,
        ).map(lambda value: json.dumps(value).encode()),
    ),
    topic=st.sampled_from(["orders/create", "fulfillments/update", "refunds/create", "products/update"]),
)
def test_any_signed_body_gets_an_answer_and_never_a_server_error(deliver: Deliver, body: bytes, topic: str) -> None:
    response = deliver(topic, raw=body)

    assert response.status_code in {200, 400, 422}
    assert "detail" in response.json() or response.json()["status"] in {"received", "duplicate"}


def test_a_malformed_body_carrying_nul_bytes_is_still_recorded(deliver: Deliver) -> None:
    response = deliver("orders/create", raw=b'{"id": 1\x00, "note": "\x00"}', event_id="evt-nul")

    assert response.status_code == 400
    assert InboundEvent.objects.get(event_id="evt-nul").status == EventStatus.FAILED
