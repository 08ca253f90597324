"""Shopify payloads map to the canonical order, shipment, refund and product (pure, no database)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import BaseModel, ValidationError

from assay.integrations.shopify.mapping import (
    order_from_shopify,
    product_from_shopify,
    property_text,
    refund_from_shopify,
    shipment_from_fulfillment,
    shipment_status_from_shopify,
)
from assay.integrations.shopify.payloads import (
    TOPIC_MODELS,
    ShopifyDeletedProduct,
    ShopifyFulfillment,
    ShopifyOrder,
    ShopifyProduct,
    ShopifyRefund,
)
from assay.integrations.shopify.tests.helpers import FIXTURES, payload
from assay.orders.models import ShipmentStatus
from assay.orders.schema import CanonicalOrder

ENGRAVING = "Für immer ♥ 永遠"


def order(name: str) -> CanonicalOrder:
    return order_from_shopify(ShopifyOrder.model_validate(payload(name)))


def test_a_full_order_maps_its_number_money_customer_and_address() -> None:
    mapped = order("order_full")

    assert (mapped.source, mapped.external_id, mapped.number) == ("shopify", "5820476129491", "#1001")
    assert mapped.email == "amelia.hart@example.com"  # lowercased
    assert mapped.currency == "USD"
    assert (mapped.subtotal, mapped.total_tax, mapped.total_discounts) == (
        Decimal("2251.00"),
        Decimal("191.34"),
        Decimal("89.00"),
    )
    assert (mapped.total_shipping, mapped.total) == (Decimal("25.00"), Decimal("2467.34"))
    assert mapped.financial_status == "paid"
    assert mapped.fulfillment_status == ""
    assert mapped.placed_at == datetime(2024, 11, 10, 15, 30, tzinfo=UTC)
    assert mapped.paid_at == mapped.placed_at
    assert mapped.updated_at == datetime(2024, 11, 10, 15, 30, 5, tzinfo=UTC)
    assert mapped.channel == "web"
    assert mapped.tags == ["vip", "anniversary", "engraved"]
    assert mapped.discount_codes == ["WELCOME10"]
    assert mapped.shipping_country == "US"
    assert mapped.shipping_address is not None
    assert mapped.shipping_address["city"] == "New York"
    assert mapped.customer is not None
    assert (mapped.customer.external_id, mapped.customer.first_name, mapped.customer.phone) == (
        "7204518019283",
        "Amelia",
        "+12125550123",
    )


def test_a_full_order_maps_each_line_with_its_tax_discount_and_ids() -> None:
    ring, necklace = order("order_full").lines

    assert (ring.external_id, ring.sku, ring.variant_external_id, ring.product_external_id) == (
        "14502231638227",
        "AUR-ETB-18Y-065",
        "44012345678931",
        "8012345678931",
    )
    assert (ring.title, ring.variant_title, ring.vendor, ring.quantity) == (
        "Eternity Band",
        "6.5 / 18k Yellow Gold",
        "Aurelia",
        1,
    )
    assert (ring.unit_price, ring.tax, ring.total_discount) == (Decimal("1450.00"), Decimal("123.25"), Decimal(0))
    assert (necklace.total_discount, necklace.tax) == (Decimal("89.00"), Decimal("68.09"))


def test_engraving_text_in_line_properties_is_kept_exactly_and_marks_the_line_personalised() -> None:
    ring, _ = order("order_full").lines

    assert ring.properties == {"Engraving": ENGRAVING, "_engraving_font": "Script"}
    assert ring.properties["Engraving"].encode() == ENGRAVING.encode()
    assert ring.has_personalisation


def test_unicode_and_non_string_property_values_become_text() -> None:
    band, signet, cloth = order("order_engraving_unicode").lines

    assert band.properties == {
        "Engraving": ENGRAVING,
        "Font size": "12",
        "Gift box": "true",
        "_preview_image": "https://cdn.example/preview/8f3a.png",
    }
    assert signet.properties["Custom Engraving Front"] == "L ✦ M"
    assert signet.properties["Custom Engraving Inside"] == "13.11.2024 🌙"
    assert band.has_personalisation
    assert signet.has_personalisation
    assert not cloth.has_personalisation


def test_a_null_customer_address_and_email_map_to_empty_values() -> None:
    mapped = order("order_null_customer")

    assert mapped.email == ""
    assert mapped.customer is None
    assert mapped.shipping_address is None
    assert mapped.shipping_country == ""
    assert mapped.channel == "pos"
    (line,) = mapped.lines
    assert (line.sku, line.variant_external_id, line.product_external_id, line.vendor) == ("", "", "", "")
    assert line.properties == {"Notes": ""}


def test_an_empty_order_email_falls_back_to_the_customers_email() -> None:
    mapped = order("order_empty_email")

    assert mapped.email == "noah.kim@example.com"
    assert mapped.shipping_address is None


def test_an_order_shown_to_the_buyer_in_yen_is_recorded_in_the_shops_euros() -> None:
    mapped = order("order_multicurrency_eur_jpy")

    assert mapped.currency == "EUR"
    assert (mapped.total, mapped.total_shipping) == (Decimal("790.00"), Decimal("30.00"))
    assert mapped.taxes_included is True
    assert mapped.lines[0].unit_price == Decimal("380.00")


def test_a_yen_order_keeps_whole_yen_amounts() -> None:
    mapped = order("order_jpy")

    assert mapped.currency == "JPY"
    assert (mapped.total, mapped.total_discounts, mapped.total_shipping) == (
        Decimal("243000"),
        Decimal("5000"),
        Decimal("0"),
    )
    assert mapped.tags == ["gift", "ginza"]
    assert mapped.customer is not None
    assert mapped.customer.last_name == "田中"


def test_a_partial_fulfilment_counts_shipped_units_per_line_and_maps_the_shipment() -> None:
    mapped = order("order_partially_fulfilled")

    stacking, pendant = mapped.lines
    assert (stacking.quantity, stacking.fulfilled_quantity) == (3, 2)
    assert pendant.fulfilled_quantity == 0
    (shipment,) = mapped.shipments
    assert (shipment.external_id, shipment.carrier, shipment.status) == ("4920185200851", "UPS", "in_transit")
    assert shipment.tracking_numbers == ["1Z999AA10123456784"]
    assert shipment.lines == {"14502231933377": 2}
    assert mapped.fulfillment_status == "partial"


def test_a_cancelled_order_maps_its_cancellation_and_refund() -> None:
    mapped = order("order_cancelled")

    assert mapped.cancelled_at == datetime(2024, 11, 19, 17, 30, tzinfo=UTC)
    assert mapped.cancel_reason == "customer"
    assert mapped.closed_at is not None
    assert mapped.paid_at is not None  # refunded orders were paid first
    (refund,) = mapped.refunds
    assert (refund.external_id, refund.amount, refund.note) == (
        "929361461459",
        Decimal("1306.50"),
        "Customer changed their mind",
    )
    assert refund.lines == [
        {"line_external_id": "14502231998913", "quantity": 1, "amount": "1200.00", "restock_type": "cancel"}
    ]


def test_a_refund_counts_only_successful_refund_transactions() -> None:
    mapped = refund_from_shopify(ShopifyRefund.model_validate(payload("refund")))

    assert mapped.amount == Decimal("869.09")
    assert mapped.refunded_at == datetime(2024, 12, 2, 16, 5, tzinfo=UTC)
    assert mapped.lines[0]["line_external_id"] == "14502231671001"


def test_a_refund_without_transactions_is_worth_its_lines_subtotal_and_tax() -> None:
    data = payload("refund")
    data["transactions"] = []

    assert refund_from_shopify(ShopifyRefund.model_validate(data)).amount == Decimal("869.09")


def test_a_fulfilment_maps_to_a_shipment_with_its_lines() -> None:
    mapped = shipment_from_fulfillment(ShopifyFulfillment.model_validate(payload("fulfillment")))

    assert (mapped.external_id, mapped.carrier, mapped.status) == ("4920185233619", "FedEx", ShipmentStatus.IN_TRANSIT)
    assert mapped.tracking_numbers == ["794612345678"]
    assert mapped.tracking_urls == ["https://www.fedex.com/fedextrack/?trknbr=794612345678"]
    assert mapped.shipped_at == datetime(2024, 11, 12, 20, 40, tzinfo=UTC)
    assert mapped.delivered_at is None
    assert mapped.lines == {"14502231638227": 1}


def test_a_fulfilment_with_only_the_older_single_tracking_fields_still_maps_them() -> None:
    data = payload("fulfillment")
    data["tracking_numbers"], data["tracking_urls"] = [], []

    mapped = shipment_from_fulfillment(ShopifyFulfillment.model_validate(data))

    assert mapped.tracking_numbers == ["794612345678"]
    assert mapped.tracking_urls == ["https://www.fedex.com/fedextrack/?trknbr=794612345678"]


def test_a_delivered_fulfilment_records_when_it_was_reported_delivered() -> None:
    data = payload("fulfillment") | {"shipment_status": "delivered", "updated_at": "2024-11-14T10:00:00-05:00"}

    mapped = shipment_from_fulfillment(ShopifyFulfillment.model_validate(data))

    assert mapped.status == ShipmentStatus.DELIVERED
    assert mapped.delivered_at == datetime(2024, 11, 14, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "shipment_status", "expected"),
    [
        ("cancelled", "in_transit", ShipmentStatus.CANCELLED),
        ("success", "delivered", ShipmentStatus.DELIVERED),
        ("success", "in_transit", ShipmentStatus.IN_TRANSIT),
        ("success", "out_for_delivery", ShipmentStatus.OUT_FOR_DELIVERY),
        ("success", "failure", ShipmentStatus.EXCEPTION),
        ("success", "attempted_delivery", ShipmentStatus.EXCEPTION),
        ("success", "ready_for_pickup", ShipmentStatus.AVAILABLE_FOR_PICKUP),
        ("success", "label_printed", ShipmentStatus.PRE_TRANSIT),
        ("success", "label_purchased", ShipmentStatus.PRE_TRANSIT),
        ("success", "confirmed", ShipmentStatus.PRE_TRANSIT),
        ("success", None, ShipmentStatus.PRE_TRANSIT),
        ("pending", None, ShipmentStatus.PRE_TRANSIT),
        ("error", None, ShipmentStatus.EXCEPTION),
        ("success", "something_new", ShipmentStatus.PRE_TRANSIT),
    ],
)
def test_shopify_fulfilment_states_map_to_shipment_states(
    status: str, shipment_status: str | None, expected: ShipmentStatus
) -> None:
    assert shipment_status_from_shopify(status, shipment_status) == expected


def test_a_product_maps_its_ring_size_option_and_variants() -> None:
    mapped = product_from_shopify(ShopifyProduct.model_validate(payload("product_ring")))

    assert (mapped.external_id, mapped.title, mapped.handle, mapped.product_type) == (
        "8012345678931",
        "Eternity Band",
        "eternity-band",
        "Rings",
    )
    assert mapped.tags == ["bridal", "engravable", "diamonds"]
    assert mapped.option_names == ["Ring size", "Metal"]
    assert len(mapped.variants) == 5
    chosen = mapped.variants[3]
    assert (chosen.external_id, chosen.sku, chosen.price, chosen.inventory_quantity) == (
        "44012345678931",
        "AUR-ETB-18Y-065",
        Decimal("1450.00"),
        1,
    )
    assert chosen.options == {"Ring size": "6.5", "Metal": "18k Yellow Gold"}
    assert mapped.updated_at == datetime(2024, 10, 15, 16, 0, tzinfo=UTC)


def test_a_product_without_options_has_no_default_title_option() -> None:
    data = payload("product_ring")
    data["options"] = [{"name": "Title", "position": 1, "values": ["Default Title"]}]
    data["variants"] = [
        {"id": 1, "sku": "AUR-CLOTH", "title": "Default Title", "option1": "Default Title", "price": "0"}
    ]

    mapped = product_from_shopify(ShopifyProduct.model_validate(data))

    assert mapped.option_names == []
    assert mapped.variants[0].options == {}


def test_properties_sent_as_an_object_are_read_too() -> None:
    data = payload("order_full")
    data["line_items"][0]["properties"] = {"Engraving": ENGRAVING}

    assert order_from_shopify(ShopifyOrder.model_validate(data)).lines[0].properties == {"Engraving": ENGRAVING}


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, ""), ("  A ♥ B  ", "  A ♥ B  "), (7, "7"), (6.5, "6.5"), (False, "false"), (["a", "ü"], '["a","ü"]')],
)
def test_a_property_value_becomes_text(value: object, text: str) -> None:
    assert property_text(value) == text


def test_every_fixture_validates_against_the_model_of_its_kind() -> None:
    kinds: dict[str, type[BaseModel]] = {
        "order": ShopifyOrder,
        "fulfillment": ShopifyFulfillment,
        "refund": ShopifyRefund,
        "product_ring": ShopifyProduct,
        "product_deleted": ShopifyDeletedProduct,
    }
    names = sorted(path.stem for path in FIXTURES.glob("*.json"))

    for name in names:
        model = next(model for prefix, model in kinds.items() if name.startswith(prefix))
        model.model_validate(payload(name))
    assert len(names) >= 12


def test_the_supported_topics_are_the_documented_order_fulfilment_refund_and_product_topics() -> None:
    assert set(TOPIC_MODELS) == {
        "orders/create",
        "orders/updated",
        "orders/fulfilled",
        "orders/cancelled",
        "orders/paid",
        "fulfillments/create",
        "fulfillments/update",
        "refunds/create",
        "products/create",
        "products/update",
        "products/delete",
    }


def test_ids_must_be_integers_and_money_must_be_amounts() -> None:
    data = payload("order_full")
    data["id"] = "not-a-number"
    data["line_items"][0]["price"] = "twelve"

    with pytest.raises(ValidationError) as caught:
        ShopifyOrder.model_validate(data)

    failed = {tuple(error["loc"]) for error in caught.value.errors()}
    assert ("id",) in failed
    assert ("line_items", 0, "price") in failed


def test_a_time_without_its_utc_offset_is_refused() -> None:
    data = payload("order_full") | {"created_at": "2024-11-10T10:30:00"}

    with pytest.raises(ValidationError, match="timezone"):
        ShopifyOrder.model_validate(data)


def test_fields_shopify_adds_later_are_ignored() -> None:
    data = payload("order_full") | {"brand_new_field": {"nested": [1, 2, 3]}}

    assert order_from_shopify(ShopifyOrder.model_validate(data)).number == "#1001"
