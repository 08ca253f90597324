"""Each file format streams into orders; bad records are reported where they are, with a reason."""

from __future__ import annotations

import gc
from datetime import UTC, datetime
from decimal import Decimal

import orjson

from assay.catalog.models import Product
from assay.integrations.imports.tests.conftest import fixture_orders
from assay.integrations.imports.tests.snapshots import snapshot
from assay.orders.models import Order, OrderLine


def test_json_lines_load_every_good_order_and_report_each_bad_line_with_its_reason(brand, load):
    report = load(brand, "shopify_orders.jsonl")

    assert (report.read, report.created, report.updated, report.rejected) == (8, 3, 0, 5)
    reasons = {rejected.position: rejected.reason for rejected in report.rejects}
    assert sorted(reasons) == [4, 5, 6, 7, 8]
    assert {rejected.unit for rejected in report.rejects} == {"line"}
    assert reasons[4].startswith("malformed JSON")
    assert "currency: Field required" in reasons[5]
    assert "created_at: Field required" in reasons[5]
    assert "line_items.0.quantity: Input should be a valid integer" in reasons[6]
    assert "'EURO' is not an ISO 4217 currency code" in reasons[7]
    assert "quantity: Input should be greater than or equal to 1" in reasons[8]
    assert set(Order.objects.filter(brand=brand).values_list("number", flat=True)) == {"#1001", "#1002", "#1008"}


def test_a_json_array_reports_its_rejected_records_by_index(brand, load):
    report = load(brand, "shopify_orders.json")

    assert (report.read, report.created, report.rejected) == (8, 3, 5)
    assert [(r.unit, r.position) for r in report.rejects] == [("record", n) for n in (3, 4, 5, 6, 7)]
    assert report.rejects[0].reason == "expected a JSON object, found str"
    assert report.rejects[1].reference == "450789471"


def test_a_json_array_and_json_lines_of_the_same_orders_store_the_same_data(brand, other_brand, load):
    load(brand, "shopify_orders.jsonl")
    load(other_brand, "shopify_orders.json")

    assert snapshot(brand.pk) == snapshot(other_brand.pk)


def test_a_csv_export_becomes_one_order_per_name_with_a_line_per_row(brand, load):
    report = load(brand, "shopify_orders_export.csv", source="csv")

    assert (report.read, report.created, report.rejected) == (7, 3, 4)
    order = Order.objects.get(brand=brand, number="#1001")
    assert order.external_id == "5550001"
    assert order.source == "csv"
    assert (order.currency, order.total, order.total_tax) == ("USD", Decimal("961.20"), Decimal("71.20"))
    assert order.placed_at == datetime(2024, 3, 5, 19, 2, 11, tzinfo=UTC)
    assert order.email == "amelie.roux@mail.example.com"
    assert order.customer is not None
    assert (order.customer.first_name, order.customer.last_name) == ("Amélie", "Roux")
    assert order.tags == ["engraved", "vip"]
    assert order.shipping_country == "US"
    lines = list(order.lines.values_list("external_id", "title", "quantity", "unit_price", "fulfilled_quantity"))
    assert lines == [
        ("1", "Bague gravée « Für immer » - 6.5", 1, Decimal("640.00"), 1),
        ("2", "Diamond Stud Earrings - 0.50 ctw", 2, Decimal("125.00"), 2),
    ]
    without_id = Order.objects.get(brand=brand, number="#1007")
    assert without_id.external_id == "#1007"
    assert without_id.discount_codes == ["WELCOME50"]
    no_email = Order.objects.get(brand=brand, number="#1002")
    assert (no_email.customer, no_email.cancelled_at is not None) == (None, True)


def test_csv_rejects_name_the_column_and_the_line_of_the_bad_value(brand, load):
    report = load(brand, "shopify_orders_export.csv", source="csv")

    reasons = {rejected.position: rejected.reason for rejected in report.rejects}
    # Line 2 holds a note with a line break, so #1001 takes lines 2-4 and #1003 starts on line 6.
    assert sorted(reasons) == [6, 7, 9, 10]
    assert reasons[6] == "Currency: Value error, 'EURO' is not an ISO 4217 currency code"
    assert reasons[7] == "Lineitem quantity (line 8): Input should be greater than or equal to 1"
    assert reasons[9] == "Total: Input should be a valid decimal"
    assert reasons[10].startswith("Created at:")


def test_engraving_text_or_a_personalised_product_marks_a_line_personalised(brand, load, with_catalogue):
    with_catalogue(brand)

    load(brand, "shopify_orders.jsonl")

    lines = {line.external_id: line for line in OrderLine.objects.filter(brand=brand)}
    engraved = lines["466157049"]
    assert engraved.properties == {"Engraving": "Für immer ♥ 永遠", "_design_id": "x91"}
    assert engraved.personalised
    assert lines["518995031"].personalised  # "Custom Engraving Front", and a personalised product
    assert not lines["518995019"].personalised  # the solitaire: no text, not personalised in the catalogue
    assert not lines["518995032"].personalised


def test_a_line_with_an_unknown_sku_lands_on_a_product_flagged_for_completion(brand, load, with_catalogue):
    with_catalogue(brand)

    load(brand, "shopify_orders.jsonl")

    charm = OrderLine.objects.select_related("product", "variant").get(brand=brand, sku="AUR-CHARM-INIT")
    assert charm.product is not None
    assert charm.variant is not None
    assert (charm.product.title, charm.product.needs_completion) == ("Hand-stamped Initial Charm", True)
    known = OrderLine.objects.select_related("product").get(brand=brand, sku="AUR-SOL-14Y-7")
    assert known.product is not None
    assert (known.product.external_id, known.product.needs_completion) == ("632910393", False)
    assert Product.objects.filter(brand=brand, needs_completion=True).count() == 3


def test_an_order_without_a_customer_is_stored_without_one(brand, load):
    load(brand, "shopify_orders.jsonl")

    order = Order.objects.get(brand=brand, external_id="450789470")
    assert (order.customer_id, order.email, order.shipping_address) == (None, "", None)
    assert order.cancel_reason == "customer"


def test_json_lines_with_what_strict_json_does_not_allow_are_refused_as_malformed(brand, load, tmp_path):
    good, _, _ = fixture_orders()
    text = orjson.dumps(good).decode()
    # A property value may be any JSON value: a lenient parser would take NaN there as a number.
    good["line_items"][0]["properties"] = [{"name": "Engraving", "value": "<here>"}]
    odd = orjson.dumps(good).decode()
    nan, infinity = odd.replace('"<here>"', "NaN"), odd.replace('"<here>"', "-Infinity")
    path = tmp_path / "orders.jsonl"
    path.write_text(f"{nan}\n{infinity}\n[1, 2]\n{text}\n")

    report = load(brand, path)

    assert (report.read, report.created, report.rejected) == (4, 1, 3)
    reasons = {rejected.position: rejected.reason for rejected in report.rejects}
    assert reasons[1].startswith("malformed JSON")
    assert reasons[2].startswith("malformed JSON")
    assert reasons[3] == "expected a JSON object, found list"


def test_a_json_lines_record_is_read_from_its_text_as_a_parsed_record_would_be(brand, other_brand, load, tmp_path):
    # The same orders once as JSON lines (validated from the text) and once as a JSON array (parsed first).
    orders = fixture_orders()
    lines = tmp_path / "orders.jsonl"
    lines.write_bytes(b"\n".join(orjson.dumps(order) for order in orders))
    array = tmp_path / "orders.json"
    array.write_bytes(orjson.dumps(orders))

    assert load(brand, lines).created == load(other_brand, array).created == 3
    assert snapshot(brand.pk) == snapshot(other_brand.pk)


def test_an_import_leaves_the_garbage_collector_as_it_found_it(brand, load):
    threshold = gc.get_threshold()
    assert gc.isenabled()

    load(brand, "shopify_orders.jsonl")

    assert gc.isenabled()
    assert gc.get_threshold() == threshold
    assert gc.get_freeze_count() == 0
