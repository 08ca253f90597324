"""What a delivered Shopify event does to orders, shipments, refunds and the catalogue."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from assay.brands.models import Brand
from assay.catalog.models import Product, ProductStatus, Variant
from assay.core.models import AuditEvent
from assay.integrations.shopify.tests.helpers import Deliver, payload
from assay.orders.models import Order, OrderLine, Shipment, ShipmentLine, ShipmentStatus, ShopRefund
from assay.webhooks.models import InboundEvent
from assay.webhooks.services import MAX_ATTEMPTS, inbound_event_process
from assay.webhooks.status import EventStatus

pytestmark = pytest.mark.django_db

ORDER_ID = "5820476129491"  # order_full.json, #1001


def event(event_id: str) -> InboundEvent:
    return InboundEvent.objects.get(event_id=event_id, duplicate_of__isnull=True)


def audit_actions(order: Order) -> list[str]:
    return list(
        AuditEvent.objects.filter(brand_id=order.brand_id, subject_type="order", subject_id=order.pk)
        .order_by("id")
        .values_list("action", flat=True)
    )


def test_a_new_order_lands_with_its_lines_properties_customer_and_engraving(deliver: Deliver, brand: Brand) -> None:
    deliver("orders/create", payload("order_full"), event_id="e1")

    order = Order.objects.get(brand=brand, external_id=ORDER_ID)
    assert (order.number, order.number_key, order.email, order.currency) == (
        "#1001",
        "1001",
        "amelia.hart@example.com",
        "USD",
    )
    assert order.total == Decimal("2467.34")
    assert order.source == "shopify"
    assert order.channel == "web"
    assert order.customer is not None
    assert order.customer.external_id == "7204518019283"
    ring, necklace = OrderLine.objects.filter(order=order)
    assert ring.properties == {"Engraving": "Für immer ♥ 永遠", "_engraving_font": "Script"}
    assert ring.personalised
    assert not necklace.personalised
    assert audit_actions(order) == ["order_created"]
    created = AuditEvent.objects.get(subject_type="order", subject_id=order.pk)
    assert (created.actor_kind, created.actor_label) == ("webhook", "shopify")


def test_a_later_update_applies_and_says_what_changed(deliver: Deliver, brand: Brand) -> None:
    deliver("orders/create", payload("order_full"), event_id="e1")
    later = payload("order_full") | {"tags": "vip", "updated_at": "2024-11-11T09:00:00-05:00"}

    deliver("orders/updated", later, event_id="e2")

    assert Order.objects.get(brand=brand, external_id=ORDER_ID).tags == ["vip"]
    assert event("e2").status == EventStatus.PROCESSED
    assert event("e2").outcome == "order #1001 updated: tags"


def test_the_same_version_again_under_a_new_event_id_changes_nothing(deliver: Deliver, brand: Brand) -> None:
    deliver("orders/create", payload("order_full"), event_id="e1")

    deliver("orders/updated", payload("order_full"), event_id="e2")

    assert event("e2").outcome == "order #1001 unchanged"
    assert audit_actions(Order.objects.get(brand=brand)) == ["order_created"]


def test_a_stale_replay_never_moves_the_order_backwards(deliver: Deliver, brand: Brand) -> None:
    newer = payload("order_full") | {"tags": "vip, shipped", "updated_at": "2024-11-12T09:00:00-05:00"}
    deliver("orders/updated", newer, event_id="new")
    older = payload("order_full") | {"total_price": "1.00", "tags": "old", "updated_at": "2024-11-10T10:30:05-05:00"}

    response = deliver("orders/updated", older, event_id="old")

    assert response.status_code == 200
    order = Order.objects.get(brand=brand, external_id=ORDER_ID)
    assert (order.total, order.tags) == (Decimal("2467.34"), ["vip", "shipped"])
    assert order.source_updated_at == datetime(2024, 11, 12, 14, 0, tzinfo=UTC)
    assert event("old").status == EventStatus.STALE
    assert event("old").outcome == "stale: order #1001 already at a newer version"


def test_a_cancellation_records_cancelled_at_its_reason_and_an_audit_event(deliver: Deliver, brand: Brand) -> None:
    placed = payload("order_cancelled") | {
        "cancelled_at": None,
        "cancel_reason": None,
        "closed_at": None,
        "financial_status": "paid",
        "refunds": [],
        "updated_at": "2024-11-18T20:10:02-05:00",
    }
    deliver("orders/create", placed, event_id="placed")

    deliver("orders/cancelled", payload("order_cancelled"), event_id="cancelled")

    order = Order.objects.get(brand=brand, number="#1008")
    assert order.cancelled_at == datetime(2024, 11, 19, 17, 30, tzinfo=UTC)
    assert order.cancel_reason == "customer"
    assert event("cancelled").outcome == "order #1008 cancelled"
    assert audit_actions(order) == ["order_created", "order_cancelled", "shop_refund_recorded", "order_updated"]
    cancelled = AuditEvent.objects.get(subject_id=order.pk, subject_type="order", action="order_cancelled")
    assert cancelled.why == "customer"
    assert ShopRefund.objects.get(order=order).amount == Decimal("1306.50")


def test_an_order_first_seen_cancelled_still_has_its_cancellation_in_the_history(
    deliver: Deliver, brand: Brand
) -> None:
    deliver("orders/cancelled", payload("order_cancelled"), event_id="cancelled")

    order = Order.objects.get(brand=brand, number="#1008")
    assert order.cancelled_at is not None
    assert "order_cancelled" in audit_actions(order)


def test_a_partial_fulfilment_in_the_order_creates_its_shipment_and_line_counts(deliver: Deliver, brand: Brand) -> None:
    deliver("orders/updated", payload("order_partially_fulfilled"), event_id="partial")

    order = Order.objects.get(brand=brand, number="#1007")
    stacking, pendant = OrderLine.objects.filter(order=order)
    assert (stacking.quantity, stacking.fulfilled_quantity, pendant.fulfilled_quantity) == (3, 2, 0)
    shipment = Shipment.objects.get(order=order)
    assert (shipment.carrier, shipment.tracking_number, shipment.status) == (
        "UPS",
        "1Z999AA10123456784",
        ShipmentStatus.IN_TRANSIT,
    )
    assert list(ShipmentLine.objects.filter(shipment=shipment).values_list("line_id", "quantity")) == [(stacking.pk, 2)]


def test_a_fulfilment_creates_a_shipment_on_its_order(deliver: Deliver, brand: Brand) -> None:
    deliver("orders/create", payload("order_full"), event_id="order")

    deliver("fulfillments/create", payload("fulfillment"), event_id="ship")

    shipment = Shipment.objects.get(order__external_id=ORDER_ID)
    assert (shipment.carrier, shipment.tracking_numbers, shipment.status) == (
        "FedEx",
        ["794612345678"],
        ShipmentStatus.IN_TRANSIT,
    )
    assert event("ship").outcome == "fulfilment #1001.1 created (in_transit)"


def test_a_fulfilment_update_moves_the_shipment_and_a_stale_one_does_not(deliver: Deliver, brand: Brand) -> None:
    deliver("orders/create", payload("order_full"), event_id="order")
    deliver("fulfillments/create", payload("fulfillment"), event_id="ship")
    delivered = payload("fulfillment") | {"shipment_status": "delivered", "updated_at": "2024-11-14T10:00:00-05:00"}
    deliver("fulfillments/update", delivered, event_id="delivered")
    replay = payload("fulfillment") | {"shipment_status": "in_transit", "updated_at": "2024-11-13T10:00:00-05:00"}

    deliver("fulfillments/update", replay, event_id="replay")

    shipment = Shipment.objects.get(order__external_id=ORDER_ID)
    assert shipment.status == ShipmentStatus.DELIVERED
    assert shipment.delivered_at == datetime(2024, 11, 14, 15, 0, tzinfo=UTC)
    assert event("delivered").status == EventStatus.PROCESSED
    assert event("replay").status == EventStatus.STALE
    assert event("replay").outcome == "stale: fulfilment #1001.1 already at a newer version"


def test_a_fulfilment_before_its_order_waits_with_the_reason_then_applies_when_the_order_arrives(
    deliver: Deliver, brand: Brand
) -> None:
    response = deliver("fulfillments/create", payload("fulfillment"), event_id="early")

    assert response.status_code == 200
    waiting = event("early")
    assert waiting.status == EventStatus.RECEIVED
    assert waiting.error == f"order {ORDER_ID} is not known yet"
    assert waiting.attempts == 1
    assert waiting.next_attempt_at is not None
    assert not Shipment.objects.exists()

    deliver("orders/create", payload("order_full"), event_id="order")

    applied = event("early")
    assert applied.status == EventStatus.PROCESSED
    assert (applied.attempts, applied.error) == (2, "")
    assert Shipment.objects.get(order__external_id=ORDER_ID).carrier == "FedEx"


def test_a_fulfilment_whose_order_never_arrives_fails_visibly_after_its_retries(deliver: Deliver, brand: Brand) -> None:
    deliver("fulfillments/create", payload("fulfillment"), event_id="orphan")
    pk = event("orphan").pk

    statuses = [inbound_event_process(event_pk=pk) for _ in range(MAX_ATTEMPTS - 1)]

    assert statuses[-1] == EventStatus.FAILED
    assert set(statuses[:-1]) == {EventStatus.RECEIVED}
    orphan = event("orphan")
    assert (orphan.status, orphan.attempts) == (EventStatus.FAILED, MAX_ATTEMPTS)
    assert orphan.error == f"order {ORDER_ID} is not known yet"
    assert orphan.next_attempt_at is None


def test_a_refund_is_recorded_once_on_its_order(deliver: Deliver, brand: Brand) -> None:
    deliver("orders/create", payload("order_full"), event_id="order")

    deliver("refunds/create", payload("refund"), event_id="refund")
    deliver("refunds/create", payload("refund"), event_id="refund-again-new-id")

    refund = ShopRefund.objects.get(order__external_id=ORDER_ID)
    assert (refund.amount, refund.currency, refund.note) == (
        Decimal("869.09"),
        "USD",
        "Returned within 30 days, unworn",
    )
    assert event("refund").outcome == "refund 929361494227 of 869.09 recorded"
    assert event("refund-again-new-id").outcome == "refund 929361494227 already recorded"


def test_a_product_lands_with_its_ring_sizes_and_variants(deliver: Deliver, brand: Brand) -> None:
    deliver("products/create", payload("product_ring"), event_id="product")

    product = Product.objects.get(brand=brand, external_id="8012345678931")
    assert (product.title, product.option_names, product.category, product.resizable) == (
        "Eternity Band",
        ["Ring size", "Metal"],
        "ring",
        True,
    )
    sizes = list(Variant.objects.filter(product=product).values_list("sku", "ring_size"))
    assert sizes[0] == ("AUR-ETB-18Y-050", Decimal("5.00"))
    assert sizes[3] == ("AUR-ETB-18Y-065", Decimal("6.50"))
    assert event("product").outcome == "product 'Eternity Band' created with 5 variants"


def test_an_older_product_update_is_stale(deliver: Deliver, brand: Brand) -> None:
    deliver("products/create", payload("product_ring"), event_id="product")
    older = payload("product_ring") | {"title": "Old title", "updated_at": "2024-10-01T09:00:00-04:00"}

    deliver("products/update", older, event_id="older")

    assert Product.objects.get(brand=brand).title == "Eternity Band"
    assert event("older").status == EventStatus.STALE


def test_an_order_line_links_to_the_variant_the_catalogue_knows(deliver: Deliver, brand: Brand) -> None:
    deliver("products/create", payload("product_ring"), event_id="product")

    deliver("orders/create", payload("order_full"), event_id="order")

    ring = OrderLine.objects.get(order__brand=brand, sku="AUR-ETB-18Y-065")
    assert ring.variant is not None
    assert ring.variant.external_id == "44012345678931"
    assert ring.product is not None
    assert ring.product.external_id == "8012345678931"
    assert not ring.product.needs_completion


def test_an_order_line_matches_by_sku_when_the_variant_id_is_unknown(deliver: Deliver, brand: Brand) -> None:
    deliver("products/create", payload("product_ring"), event_id="product")
    data = payload("order_full")
    data["line_items"][0]["variant_id"] = None

    deliver("orders/create", data, event_id="order")

    ring = OrderLine.objects.get(order__brand=brand, sku="AUR-ETB-18Y-065")
    assert ring.variant is not None
    assert ring.variant.external_id == "44012345678931"


def test_an_unknown_sku_still_lands_linked_to_a_product_flagged_for_completion(deliver: Deliver, brand: Brand) -> None:
    deliver("orders/create", payload("order_full"), event_id="order")

    necklace = OrderLine.objects.get(order__brand=brand, sku="AUR-SPN-14W-16")
    assert necklace.product is not None
    assert necklace.variant is not None
    assert necklace.product.needs_completion
    assert necklace.product.title == "Solitaire Pendant Necklace"
    assert necklace.product.category == "necklace"
    assert necklace.variant.sku == "AUR-SPN-14W-16"


def test_a_line_without_sku_lands_without_a_product(deliver: Deliver, brand: Brand) -> None:
    deliver("orders/create", payload("order_null_customer"), event_id="pos")

    (line,) = OrderLine.objects.filter(order__brand=brand)
    assert (line.sku, line.product_id, line.quantity) == ("", None, 2)
    order = Order.objects.get(brand=brand)
    assert (order.email, order.customer_id, order.shipping_address) == ("", None, None)


def test_an_order_with_an_empty_email_takes_the_customers_email(deliver: Deliver, brand: Brand) -> None:
    deliver("orders/create", payload("order_empty_email"), event_id="pickup")

    order = Order.objects.get(brand=brand)
    assert order.email == "noah.kim@example.com"
    assert order.customer is not None
    assert order.customer.email == "noah.kim@example.com"


def test_lines_carrying_engraving_text_are_personalised_and_others_not(deliver: Deliver, brand: Brand) -> None:
    deliver("orders/create", payload("order_engraving_unicode"), event_id="engraved")

    lines = list(OrderLine.objects.filter(order__brand=brand).values_list("sku", "personalised", "properties"))
    assert [(sku, personalised) for sku, personalised, _ in lines] == [
        ("AUR-WB-PT-070", True),
        ("AUR-SIG-18R-090", True),
        ("AUR-CLOTH", False),
    ]
    assert lines[0][2]["Engraving"] == "Für immer ♥ 永遠"
    assert lines[1][2]["Custom Engraving Front"] == "L ✦ M"


def test_a_line_is_personalised_when_the_catalogue_says_its_product_is(deliver: Deliver, brand: Brand) -> None:
    deliver("products/create", payload("product_ring"), event_id="product")
    Product.objects.filter(brand=brand, external_id="8012345678931").update(personalised=True)
    data = payload("order_full")
    data["line_items"][0]["properties"] = []

    deliver("orders/create", data, event_id="order")

    ring = OrderLine.objects.get(order__brand=brand, sku="AUR-ETB-18Y-065")
    assert ring.properties == {}
    assert ring.personalised


@pytest.mark.parametrize(
    ("fixture", "currency", "total"),
    [("order_jpy", "JPY", Decimal("243000")), ("order_multicurrency_eur_jpy", "EUR", Decimal("790.00"))],
)
def test_orders_keep_their_shops_currency(
    deliver: Deliver, brand: Brand, fixture: str, currency: str, total: Decimal
) -> None:
    deliver("orders/create", payload(fixture))

    order = Order.objects.get(brand=brand)
    assert (order.currency, order.total) == (currency, total)


def test_a_deleted_product_is_kept_and_marked_deleted(deliver: Deliver, brand: Brand) -> None:
    deliver("products/create", payload("product_ring"), event_id="product")

    deliver("products/delete", payload("product_deleted"), event_id="delete")
    deliver("products/delete", {"id": 1}, event_id="unknown")

    assert Product.objects.get(brand=brand, external_id="8012345678931").status == ProductStatus.DELETED
    assert event("delete").outcome == "product 'Eternity Band' marked deleted"
    assert event("unknown").outcome == "product 1 is not known; nothing to delete"


def test_events_of_one_brand_never_touch_another_brands_orders(
    deliver: Deliver, brand: Brand, other_brand: Brand
) -> None:
    from assay.brands.selectors import integration_secret

    deliver("orders/create", payload("order_full"), event_id="ours")
    secret = integration_secret(brand_id=other_brand.pk, integration="shopify")

    deliver("orders/create", payload("order_full"), event_id="theirs", slug=other_brand.slug, secret=secret)

    assert Order.objects.filter(external_id=ORDER_ID).count() == 2
    assert event("theirs").brand_id == other_brand.pk
    assert Order.objects.get(brand=other_brand).lines.count() == 2


def test_a_failure_halfway_through_leaves_no_half_written_order(
    deliver: Deliver, brand: Brand, monkeypatch: Any
) -> None:
    from assay.orders import services

    def broken(**_: Any) -> bool:
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "_refund_apply", broken)

    deliver("orders/cancelled", payload("order_cancelled"), event_id="half")

    assert not Order.objects.exists()
    assert not OrderLine.objects.exists()
    half = event("half")
    assert half.status == EventStatus.RECEIVED  # unexpected errors are retried
    assert half.error == "RuntimeError: database went away"


def test_the_catalogue_arriving_after_an_order_completes_the_product_made_for_its_line(
    deliver: Deliver, brand: Brand
) -> None:
    deliver("orders/create", payload("order_full"), event_id="order")

    deliver("products/create", payload("product_ring"), event_id="product")

    assert Product.objects.filter(brand=brand, external_id="8012345678931").count() == 1
    ring = OrderLine.objects.select_related("product", "variant").get(order__brand=brand, sku="AUR-ETB-18Y-065")
    assert ring.product is not None
    assert ring.variant is not None
    assert (ring.product.external_id, ring.product.option_names) == ("8012345678931", ["Ring size", "Metal"])
    assert ring.variant.product_id == ring.product.pk
    assert (ring.variant.external_id, ring.variant.ring_size) == ("44012345678931", Decimal("6.50"))
    assert Variant.objects.filter(product=ring.product).count() == 5
    assert Product.objects.filter(brand=brand).count() == 2  # the ring, and the necklace still to complete


def test_two_lines_of_one_unknown_product_share_one_product_flagged_for_completion(
    deliver: Deliver, brand: Brand
) -> None:
    data = payload("order_full")
    second = data["line_items"][1]
    second |= {"product_id": data["line_items"][0]["product_id"], "sku": "AUR-ETB-PT-065", "variant_id": 44012345678941}

    deliver("orders/create", data, event_id="order")

    products = Product.objects.filter(brand=brand)
    assert [(p.external_id, p.needs_completion) for p in products] == [("8012345678931", True)]
    assert Variant.objects.filter(product__in=products).count() == 2
