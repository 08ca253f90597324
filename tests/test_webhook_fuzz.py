"""Hostile deliveries at POST /hooks/shopify/<brand>/, correctly signed: the answer is a 2xx or a
4xx with {"detail": ...}, never a 5xx, and no order is ever left half-written.

Every delivery goes through Django's test client with the brand's real Shopify secret; then the
workers' claim rounds process what is due (as `assay worker`'s claimers would), so each example
ends with the event processed, failed or waiting for a retry, and the database is checked right
after it.
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db.models import Count
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assay.brands.models import Brand
from assay.brands.selectors import integration_secret
from assay.core.models import AuditEvent
from assay.integrations.shopify.payloads import TOPIC_MODELS
from assay.integrations.shopify.tests.helpers import work_off_due_events
from assay.integrations.shopify.webhooks import shopify_signature
from assay.orders.models import Order, OrderLine, Shipment, ShopRefund
from assay.webhooks.models import InboundEvent
from assay.webhooks.status import EventStatus

FUZZ = settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

TOPICS = sorted(TOPIC_MODELS)
ORDER_TOPICS = [topic for topic in TOPICS if topic.startswith("orders/")]

ORDER_ID = 5820476129491
LINE_ID = 14502231638227
PRODUCT_ID = 8012345678931

# --- valid-looking payloads, written from Shopify's documented REST objects -----------------------


def shopify_order() -> dict[str, Any]:
    return {
        "id": ORDER_ID,
        "name": "#1001",
        "order_number": 1001,
        "email": "Amelia.Hart@example.com",
        "contact_email": "amelia.hart@example.com",
        "currency": "USD",
        "presentment_currency": "USD",
        "subtotal_price": "1450.00",
        "total_price": "1581.00",
        "total_tax": "116.00",
        "total_discounts": "0.00",
        "total_shipping_price_set": {
            "shop_money": {"amount": "15.00", "currency_code": "USD"},
            "presentment_money": {"amount": "15.00", "currency_code": "USD"},
        },
        "shipping_lines": [{"title": "FedEx 2Day", "code": "2DAY", "price": "15.00"}],
        "taxes_included": False,
        "financial_status": "paid",
        "fulfillment_status": None,
        "created_at": "2024-11-10T10:30:00-05:00",
        "processed_at": "2024-11-10T10:30:00-05:00",
        "updated_at": "2024-11-10T10:31:00-05:00",
        "cancelled_at": None,
        "cancel_reason": None,
        "closed_at": None,
        "source_name": "web",
        "tags": "vip, anniversary",
        "discount_codes": [{"code": "WELCOME10", "amount": "0.00", "type": "fixed_amount"}],
        "customer": {
            "id": 7012345678931,
            "email": "amelia.hart@example.com",
            "first_name": "Amelia",
            "last_name": "Hart",
            "phone": None,
        },
        "shipping_address": {
            "first_name": "Amelia",
            "last_name": "Hart",
            "address1": "12 Bleecker St",
            "city": "New York",
            "province_code": "NY",
            "zip": "10012",
            "country_code": "US",
        },
        "line_items": [
            {
                "id": LINE_ID,
                "variant_id": 44012345678931,
                "product_id": PRODUCT_ID,
                "sku": "AUR-ETB-18Y-065",
                "title": "Eternity Band",
                "name": "Eternity Band - 6.5 / 18k Yellow Gold",
                "variant_title": "6.5 / 18k Yellow Gold",
                "vendor": "Aurelia",
                "quantity": 1,
                "price": "1450.00",
                "total_discount": "0.00",
                "tax_lines": [{"title": "NY State Tax", "price": "116.00", "rate": 0.08}],
                "properties": [{"name": "Engraving", "value": "Für immer ♥ 永遠"}],
                "fulfillable_quantity": 1,
                "fulfillment_status": None,
            }
        ],
        "fulfillments": [],
        "refunds": [],
    }


def shopify_fulfillment() -> dict[str, Any]:
    return {
        "id": 4920185233619,
        "order_id": ORDER_ID,
        "name": "#1001.1",
        "status": "success",
        "shipment_status": "in_transit",
        "service": "manual",
        "tracking_company": "FedEx",
        "tracking_number": "794612345678",
        "tracking_numbers": ["794612345678"],
        "tracking_url": "https://www.fedex.com/fedextrack/?trknbr=794612345678",
        "tracking_urls": ["https://www.fedex.com/fedextrack/?trknbr=794612345678"],
        "line_items": [{"id": LINE_ID, "quantity": 1}],
        "created_at": "2024-11-12T15:40:00-05:00",
        "updated_at": "2024-11-12T18:02:00-05:00",
    }


def shopify_refund() -> dict[str, Any]:
    return {
        "id": 929361494227,
        "order_id": ORDER_ID,
        "created_at": "2024-12-02T11:05:00-05:00",
        "processed_at": "2024-12-02T11:05:00-05:00",
        "note": "Returned within 30 days, unworn",
        "refund_line_items": [
            {
                "id": 530543165651,
                "line_item_id": LINE_ID,
                "quantity": 1,
                "restock_type": "return",
                "subtotal": 1450.0,
                "total_tax": 116.0,
                "subtotal_set": {"shop_money": {"amount": "1450.00", "currency_code": "USD"}},
                "total_tax_set": {"shop_money": {"amount": "116.00", "currency_code": "USD"}},
            }
        ],
        "transactions": [{"id": 7012345744467, "kind": "refund", "status": "success", "amount": "1566.00"}],
    }


def shopify_product() -> dict[str, Any]:
    return {
        "id": PRODUCT_ID,
        "title": "Eternity Band",
        "handle": "eternity-band",
        "vendor": "Aurelia",
        "product_type": "Rings",
        "status": "active",
        "tags": "bridal, engravable",
        "options": [{"name": "Ring size", "position": 1, "values": ["6", "6.5"]}],
        "variants": [
            {
                "id": 44012345678931,
                "sku": "AUR-ETB-18Y-065",
                "title": "6.5",
                "option1": "6.5",
                "price": "1450.00",
                "inventory_quantity": 3,
                "position": 1,
            }
        ],
        "updated_at": "2024-10-15T12:00:00-04:00",
    }


def documented_payload(topic: str) -> dict[str, Any]:
    if topic.startswith("orders/"):
        return shopify_order()
    if topic.startswith("fulfillments/"):
        return shopify_fulfillment()
    if topic == "refunds/create":
        return shopify_refund()
    if topic == "products/delete":
        return {"id": PRODUCT_ID}
    return shopify_product()


def leaf_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a payload a value sits, containers included: ("line_items", 0, "price")..."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(leaf_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(leaf_paths(item, (*prefix, index)))
    return found


_DELETE = object()

# What a broken or malicious sender might put in any one field.
HOSTILE_VALUES: list[Any] = [
    _DELETE,
    None,
    True,
    0,
    -1,
    -(2**63) - 1,
    2**63,
    2**64 + 1,
    10**40,
    1.5,
    1e308,
    -0.0,
    "",
    " ",
    "x" * 10_000,
    "\x00",
    "ring\x00size",
    "💍 Für immer ♥ 永遠 \u202e gnir",
    "\ud800",
    "1e400",
    "-1e400",
    "1e-400",
    "NaN",
    "Infinity",
    "-0",
    "-1450.00",
    "12345678901234567890.123456",
    "0.000001",
    "not a date",
    "2024-13-45T25:61:00Z",
    "0000-00-00T00:00:00Z",
    "2024-11-10T10:30:00",
    "9999-12-31T23:59:59-23:59",
    "usd1",
    "US",
    [],
    [None],
    {},
    {"amount": "1e400"},
    [{"id": 2**64, "quantity": -1}],
]


def encode(data: Any) -> bytes:
    """Compact UTF-8 JSON as Shopify sends it; values UTF-8 cannot carry (lone surrogates) and
    non-finite floats go out as JSON escapes and bare NaN/Infinity, as a broken sender would."""
    try:
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(data, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def mutated(payload: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(payload)
    *parents, last = path
    holder: Any = changed
    for step in parents:
        holder = holder[step]
    if value is _DELETE:
        del holder[last]
    else:
        holder[last] = value
    return changed


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**63 - 2, max_value=2**70)
    | st.floats()
    | st.text(max_size=40)
    | st.sampled_from(["1e400", "NaN", "2024-11-10T10:30:00Z", "USD", "\x00"]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                ["id", "order_id", "line_items", "total_price", "currency", "created_at", "title", "quantity"]
            )
            | st.text(max_size=8),
            children,
            max_size=6,
        )
    ),
    max_leaves=30,
)

# --- delivering --------------------------------------------------------------------------------


Send = Callable[..., Any]


@pytest.fixture
def send(brand: Brand, django_capture_on_commit_callbacks: Callable[..., Any]) -> Send:
    """POST a delivery signed with the brand's Shopify secret; processing runs before it returns."""
    secret = integration_secret(brand_id=brand.pk, integration="shopify")
    assert secret
    client = Client()
    event_ids = itertools.count(1)

    def deliver(
        topic: str,
        body: bytes,
        *,
        event_id: str | None = None,
        signature: str | None = None,
        slug: str | None = None,
        extra: dict[str, str] | None = None,
    ) -> Any:
        headers = {
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": shopify_signature(secret=secret, body=body) if signature is None else signature,
            "X-Shopify-Shop-Domain": "aurelia.myshopify.com",
            "X-Shopify-API-Version": "2024-10",
            "X-Shopify-Event-Id": event_id if event_id is not None else f"fuzz-{next(event_ids)}",
            **(extra or {}),
        }
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                f"/hooks/shopify/{slug or brand.slug}/", data=body, content_type="application/json", headers=headers
            )
            work_off_due_events()
        return response

    return deliver


@pytest.fixture
def existing_order(send: Send) -> None:
    """The documented order, already received and processed, for updates to aim at."""
    response = send("orders/create", encode(shopify_order()), event_id="seed-order")
    assert response.status_code == 200, response.content
    assert Order.objects.filter(external_id=str(ORDER_ID)).exists()


def assert_answered_cleanly(response: Any) -> None:
    assert response.status_code < 500, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    answer = response.json()
    if response.status_code >= 400:
        assert isinstance(answer.get("detail"), str), answer
        assert answer["detail"].strip(), answer
    else:
        assert 200 <= response.status_code < 300, response.status_code
        assert answer.get("status") in ("received", "duplicate"), answer


def assert_no_order_half_written() -> None:
    """Every stored order has lines, and its money reads back as finite decimals."""
    orders = Order.objects.annotate(line_count=Count("lines")).values(
        "id", "external_id", "currency", "subtotal", "total_tax", "total_discounts", "total_shipping", "total",
        "line_count",
    )  # fmt: skip
    for order in orders:
        assert order["line_count"] >= 1, f"order {order['external_id']} was stored without lines"
        assert len(order["currency"]) == 3, order
        assert order["currency"].isalpha(), order
        for name in ("subtotal", "total_tax", "total_discounts", "total_shipping", "total"):
            amount = order[name]
            assert isinstance(amount, Decimal), (name, order)
            assert amount.is_finite(), (name, order)
    for line in OrderLine.objects.values("order_id", "quantity", "unit_price", "tax", "total_discount"):
        assert line["quantity"] >= 1, line
        for amount in (line["unit_price"], line["tax"], line["total_discount"]):
            assert isinstance(amount, Decimal), line
            assert amount.is_finite(), line
            assert amount >= 0, line


def assert_event_settled(response: Any) -> None:
    """An accepted delivery was processed, ignored as stale, failed with its reason, or is waiting
    for a retry with its reason; a refused one, if stored, is failed with its reason."""
    event_pk = response.json().get("event")
    if event_pk is None:
        return
    event = InboundEvent.objects.get(pk=event_pk)
    if event.status in (EventStatus.FAILED, EventStatus.RECEIVED):
        assert event.error.strip(), f"event {event.event_id} is {event.status} without a reason"
    if response.status_code >= 400:
        assert event.status == EventStatus.FAILED, (event.status, event.error)


def order_state() -> tuple[Any, ...]:
    """Everything an order update can touch, to compare before and after a refused one."""
    order = Order.objects.all()
    return (
        list(order.values()),
        list(OrderLine.objects.filter(order__in=order).order_by("id").values()),
        list(Shipment.objects.filter(order__in=order).order_by("id").values()),
        list(ShopRefund.objects.filter(order__in=order).order_by("id").values()),
        list(AuditEvent.objects.filter(subject_type="order").order_by("id").values_list("id", flat=True)),
    )


# --- the properties ----------------------------------------------------------------------------


@FUZZ
@given(topic=st.sampled_from(TOPICS), data=json_values)
def test_any_json_value_is_answered_without_a_server_error(send: Send, topic: str, data: Any) -> None:
    # given any JSON value (or near-JSON: NaN, huge numbers), correctly signed, under any topic
    body = encode(data)
    # when it is delivered
    response = send(topic, body)
    # then the answer is clean and no order is half-written
    assert_answered_cleanly(response)
    assert_event_settled(response)
    assert_no_order_half_written()


@pytest.mark.usefixtures("existing_order")
@FUZZ
@given(data=st.data())
def test_a_documented_payload_with_one_field_broken_never_half_writes(send: Send, data: st.DataObject) -> None:
    # given a documented payload for any topic, aimed at an order that exists or at a new one,
    # with one field set to a wrong type or an extreme value (or removed)
    Order.objects.filter(external_id=str(ORDER_ID + 1)).delete()  # examples share the database
    topic = data.draw(st.sampled_from(TOPICS), label="topic")
    payload = documented_payload(topic)
    if topic in ORDER_TOPICS and data.draw(st.booleans(), label="new order"):
        payload |= {"id": ORDER_ID + 1, "name": "#1002", "order_number": 1002}
    path = data.draw(st.sampled_from(leaf_paths(payload)), label="path")
    value = data.draw(st.sampled_from(HOSTILE_VALUES), label="value")
    broken = mutated(payload, path, value)
    before = order_state()
    # when it is delivered
    response = send(topic, encode(broken))
    # then the answer is clean, the event says what happened, and the order is whole
    assert_answered_cleanly(response)
    assert_event_settled(response)
    assert_no_order_half_written()
    event = InboundEvent.objects.filter(pk=response.json().get("event")).first()
    if event is None or event.status != EventStatus.PROCESSED:
        assert order_state() == before, f"a refused {topic} changed the order ({path} = {value!r})"


@FUZZ
@given(topic=st.sampled_from(TOPICS), body=st.binary(max_size=300))
def test_bytes_that_are_not_json_are_refused_with_a_4xx(send: Send, topic: str, body: bytes) -> None:
    # given arbitrary bytes, correctly signed
    # when they are delivered
    response = send(topic, body)
    # then they are refused in words and nothing was applied
    assert_answered_cleanly(response)
    assert 400 <= response.status_code < 500, (body, response.status_code)
    assert_event_settled(response)
    assert_no_order_half_written()


NOT_UTF8_BODIES = [
    b"",
    b" ",
    b"\xff\xfe\xfd",
    b'{"id": "\xff\xfe", "currency": "USD"}',
    b"\xef\xbb\xbf{}",
    b'{"id": 1, "title": "\xc3\x28"}',
    b'{"id": 1\x00}',
    b'{"title": "a\x00b", "id": 1}',
    b"\x00" * 64,
    b'{"id": 1, "id": "two"}',
    b"[" * 5000 + b"]" * 5000,
]


@pytest.mark.parametrize("topic", TOPICS)
def test_empty_non_utf8_and_malformed_bodies_get_a_4xx_for_every_topic(send: Send, topic: str) -> None:
    for body in NOT_UTF8_BODIES:
        # given a body that is empty, not UTF-8, not JSON or not an object, correctly signed
        # when it is delivered
        response = send(topic, body)
        # then it is refused in words, stored as failed with the reason, and nothing was applied
        assert_answered_cleanly(response)
        assert 400 <= response.status_code < 500, (body[:40], response.status_code)
        assert_event_settled(response)
    assert not Order.objects.exists()


@pytest.mark.parametrize("topic", TOPICS)
def test_every_supported_topic_accepts_its_documented_payload(send: Send, topic: str) -> None:
    # given the order and product the fulfilment, refund and delete topics refer to
    assert send("orders/create", encode(shopify_order()), event_id="seed-order").status_code == 200
    assert send("products/create", encode(shopify_product()), event_id="seed-product").status_code == 200
    # when the topic's documented payload is delivered
    response = send(topic, encode(documented_payload(topic)))
    # then it is received and processed
    assert_answered_cleanly(response)
    event = InboundEvent.objects.get(pk=response.json()["event"])
    assert (response.status_code, event.status) == (200, EventStatus.PROCESSED), event.error
    assert_no_order_half_written()


@pytest.mark.parametrize("line_items", [[], None, "absent"], ids=["empty", "null", "absent"])
def test_an_order_without_line_items_is_refused_and_not_stored(send: Send, line_items: Any) -> None:
    # given a new order whose line items are empty, null or missing
    payload = shopify_order()
    if line_items == "absent":
        del payload["line_items"]
    else:
        payload["line_items"] = line_items
    # when it is delivered
    response = send("orders/create", encode(payload))
    # then it is refused in words, stored as failed, and no order exists without lines
    assert_answered_cleanly(response)
    assert response.status_code == 422
    assert "line_items" in response.json()["detail"]
    assert_event_settled(response)
    assert not Order.objects.exists()


@pytest.mark.parametrize("currency", ["\x00", "u\x00d", "usd1", "1e400"])
def test_a_payload_the_domain_refuses_is_recorded_failed_with_its_reason(send: Send, currency: str) -> None:
    # given an order whose currency passes intake (a string) but is no ISO 4217 code, even one
    # whose refusal quotes a NUL
    payload = shopify_order() | {"currency": currency}
    # when it is delivered and processed
    response = send("orders/create", encode(payload))
    # then it was accepted for processing, failed at once with the reason, and wrote no order
    assert response.status_code == 200
    event = InboundEvent.objects.get(pk=response.json()["event"])
    assert event.status == EventStatus.FAILED
    assert "currency" in event.error
    assert not Order.objects.exists()


HOSTILE_HEADERS: list[dict[str, str]] = [
    {"X-Shopify-Topic": ""},
    {"X-Shopify-Topic": "orders/delete"},
    {"X-Shopify-Topic": "orders/create\x00"},
    {"X-Shopify-Topic": "ORDERS/CREATE"},
    {"X-Shopify-Topic": "x" * 10_000},
    {"X-Shopify-Event-Id": ""},
    {"X-Shopify-Event-Id": " "},
    {"X-Shopify-Event-Id": "e" * 201},
    {"X-Shopify-Event-Id": "evt\x00nul"},
    {"X-Shopify-Event-Id": "évènement-💍"},
    {"X-Shopify-API-Version": "\x00"},
    {"X-Shopify-Shop-Domain": "x" * 10_000},
]


@pytest.mark.parametrize("headers", HOSTILE_HEADERS, ids=lambda h: repr(h)[:40])
def test_hostile_headers_are_answered_without_a_server_error(send: Send, headers: dict[str, str]) -> None:
    # given a valid, signed order with one header set to something odd
    topic = headers.get("X-Shopify-Topic", "orders/create")
    event_id = headers.get("X-Shopify-Event-Id")
    extra = {k: v for k, v in headers.items() if k not in ("X-Shopify-Topic", "X-Shopify-Event-Id")}
    # when it is delivered
    response = send(topic, encode(shopify_order()), event_id=event_id, extra=extra)
    # then the answer is clean and any order stored is whole
    assert_answered_cleanly(response)
    assert_event_settled(response)
    assert_no_order_half_written()


def test_the_same_event_id_twice_is_recorded_as_a_duplicate_and_never_processed(send: Send) -> None:
    # given an order delivered once
    first = send("orders/create", encode(shopify_order()), event_id="evt-dup")
    # when the same event id arrives again, even with a different body
    changed = shopify_order() | {"total_price": "9999.00", "updated_at": "2024-11-11T10:31:00-05:00"}
    again = send("orders/updated", encode(changed), event_id="evt-dup")
    # then the second is acknowledged as a duplicate, stored as one, and changed nothing
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json()["status"] == "duplicate"
    duplicate = InboundEvent.objects.get(pk=again.json()["event"])
    original = InboundEvent.objects.get(pk=first.json()["event"])
    assert duplicate.status == EventStatus.DUPLICATE
    assert duplicate.duplicate_of_id == original.pk
    assert duplicate.attempts == 0
    assert original.status == EventStatus.PROCESSED
    order = Order.objects.get(external_id=str(ORDER_ID))
    assert order.total == Decimal("1581.00")
    assert AuditEvent.objects.filter(subject_type="order", action="order_created").count() == 1
    assert not AuditEvent.objects.filter(subject_type="order", action="order_updated").exists()


FORGERIES: dict[str, Callable[[bytes, str], str]] = {
    "signed with another secret": lambda body, secret: shopify_signature(secret=secret + "x", body=body),
    "signature of another body": lambda body, secret: shopify_signature(secret=secret, body=body + b" "),
    "empty signature": lambda body, secret: "",
    "not base64": lambda body, secret: "%%%not-base64%%%",
    "hex instead of base64": lambda body, secret: "ab" * 32,
    "truncated": lambda body, secret: shopify_signature(secret=secret, body=body)[:-4],
    "unicode": lambda body, secret: "ŝíĝñåţúŕé" * 4,
    "huge": lambda body, secret: "A" * 100_000,
}


@pytest.mark.parametrize("forgery", FORGERIES, ids=str)
def test_a_forged_signature_is_refused_with_401_and_nothing_is_stored(send: Send, brand: Brand, forgery: str) -> None:
    # given a valid order body with a signature that is not the shop's
    secret = integration_secret(brand_id=brand.pk, integration="shopify") or ""
    body = encode(shopify_order())
    # when it is delivered
    response = send("orders/create", body, signature=FORGERIES[forgery](body, secret))
    # then it is refused, in words, and nothing is stored
    assert response.status_code == 401
    assert response.json()["detail"]
    assert not InboundEvent.objects.exists()
    assert not Order.objects.exists()


def test_a_delivery_for_another_brand_or_an_unknown_one_is_refused(send: Send, other_brand: Brand) -> None:
    # given an order signed with the first brand's secret
    body = encode(shopify_order())
    # when it is posted to another brand's address, or to a brand that does not exist
    answers = [send("orders/create", body, slug=slug).status_code for slug in (other_brand.slug, "no-such-brand")]
    # then both are refused and nothing is stored
    assert answers == [401, 401]
    assert not InboundEvent.objects.exists()
    assert not Order.objects.exists()


def test_an_oversized_body_is_refused_with_413_and_nothing_is_stored(send: Send, settings: Any) -> None:
    # given a body over the configured limit
    settings.WEBHOOK_MAX_BODY_BYTES = 4096
    body = encode(shopify_order() | {"note": "x" * 8192})
    # when it is delivered, correctly signed
    response = send("orders/create", body)
    # then it is refused as too large and nothing is stored
    assert response.status_code == 413
    assert response.json()["detail"]
    assert not InboundEvent.objects.exists()
