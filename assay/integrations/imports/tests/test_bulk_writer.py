"""The bulk writer (PostgreSQL) stores exactly what the simple one stores, many orders at a time."""

from __future__ import annotations

import copy
import resource
from datetime import datetime, timedelta

import pytest

from assay.integrations.imports.tests.conftest import fixture_orders, postgres_only
from assay.integrations.imports.tests.factories import json_lines, shopify_order
from assay.integrations.imports.tests.snapshots import row_counts, snapshot
from assay.orders.models import Order, OrderLine

pytestmark = [pytest.mark.postgres, postgres_only]


def _later(value: str, **delta: float) -> str:
    return (datetime.fromisoformat(value) + timedelta(**delta)).isoformat()


def _second_delivery() -> list[dict]:
    """The fixture's orders as the shop would send them later, with an out-of-date copy at the end."""
    bob, charm, lea = fixture_orders()
    bob2 = copy.deepcopy(bob)
    bob2["updated_at"] = _later(bob["updated_at"], days=1)
    bob2["tags"] = "engraved, vip, repeat"
    bob2["customer"]["phone"] = "+16136120799"
    bob2["line_items"].append(
        {"id": 518995099, "variant_id": None, "sku": "AUR-CABLE-18", "title": "Cable Chain 18in", "quantity": 1,
         "price": "120.00", "properties": [{"name": "Engraving", "value": "B ♥ A"}]}
    )  # fmt: skip
    bob2["fulfillments"][0]["updated_at"] = _later(bob["fulfillments"][0]["updated_at"], days=1)
    bob2["fulfillments"][0]["tracking_numbers"] = ["1Z2345E6789", "1Z2345E6790"]
    bob2["fulfillments"].append(
        {"id": 255858047, "order_id": bob["id"], "status": "success", "shipment_status": "in_transit",
         "tracking_company": "FedEx", "tracking_numbers": ["7712"], "created_at": bob2["updated_at"],
         "updated_at": bob2["updated_at"], "line_items": [{"id": 518995099, "quantity": 1}]}
    )  # fmt: skip
    charm2 = copy.deepcopy(charm)
    charm2["updated_at"] = _later(charm["updated_at"], hours=3)  # nothing else: unchanged
    lea2 = copy.deepcopy(lea)
    lea2["updated_at"] = _later(lea["updated_at"], days=2)
    lea2["cancelled_at"] = lea2["updated_at"]
    lea2["cancel_reason"] = "fraud"
    lea2["fulfillments"][0]["updated_at"] = _later(lea["fulfillments"][0]["updated_at"], days=-1)  # stale shipment
    lea2["fulfillments"][0]["shipment_status"] = "label_printed"
    lea2["refunds"].append(
        {"id": 509562970, "order_id": lea["id"], "note": "Order cancelled", "processed_at": lea2["updated_at"],
         "transactions": [{"kind": "refund", "status": "success", "amount": "898.17"}]}
    )  # fmt: skip
    robert = copy.deepcopy(charm)
    robert.update(id=450789480, name="#1010", email="", cancelled_at=None, cancel_reason=None)
    robert["customer"] = {**bob["customer"], "first_name": "Robert", "phone": None}
    walk_in = copy.deepcopy(charm)
    walk_in.update(id=450789481, name="#1011", email="bob.norman@mail.example.com", cancelled_at=None)
    old_bob = copy.deepcopy(bob)
    old_bob["updated_at"] = _later(bob["updated_at"], days=-1)
    old_bob["total_price"] = "1.00"
    return [bob2, charm2, lea2, robert, walk_in, old_bob]


@pytest.mark.parametrize(
    ("name", "source"), [("shopify_orders.jsonl", "shopify"), ("shopify_orders_export.csv", "csv")]
)
def test_the_bulk_and_simple_writers_store_the_same_data(brand, other_brand, load, with_catalogue, name, source):
    with_catalogue(brand)
    with_catalogue(other_brand)

    simple = load(brand, name, source=source, writer="simple")
    bulk = load(other_brand, name, source=source, writer="bulk")

    assert (bulk.created, bulk.rejected) == (simple.created, simple.rejected)
    assert [str(r) for r in bulk.rejects] == [str(r) for r in simple.rejects]
    assert snapshot(other_brand.pk) == snapshot(brand.pk)


def test_updates_stale_versions_and_new_customers_come_out_the_same_on_both_writers(
    brand, other_brand, load, with_catalogue, tmp_path
):
    with_catalogue(brand)
    with_catalogue(other_brand)
    load(brand, "shopify_orders.jsonl", writer="simple")
    load(other_brand, "shopify_orders.jsonl", writer="bulk")
    path = tmp_path / "second.jsonl"
    path.write_bytes(json_lines(_second_delivery()))

    simple = load(brand, path, writer="simple")
    bulk = load(other_brand, path, writer="bulk")

    counts = (simple.created, simple.updated, simple.unchanged, simple.stale)
    assert counts == (2, 2, 1, 1)
    assert (bulk.created, bulk.updated, bulk.unchanged, bulk.stale) == counts
    assert snapshot(other_brand.pk) == snapshot(brand.pk)
    actions = [event["action"] for event in snapshot(other_brand.pk)["audit"]]
    assert actions.count("order_cancelled") == 2  # #1002 first seen cancelled, #1008 cancelled now
    assert "shipment_updated" in actions


def test_a_batch_the_database_refuses_is_replayed_order_by_order(brand, load, tmp_path, monkeypatch):
    orders = [shopify_order(n) for n in range(6)]
    orders[3]["line_items"][0]["title"] = "Chain\x00"  # PostgreSQL text cannot hold NUL
    path = tmp_path / "nul.jsonl"
    path.write_bytes(json_lines(orders))
    # Let it reach the database: the checks before writing would reject it first.
    monkeypatch.setattr("assay.integrations.imports.importer.shape_problem", lambda order, **_: "")

    report = load(brand, path, writer="bulk")

    assert (report.created, report.rejected) == (5, 1)
    assert report.rejects[0].position == 4
    assert report.rejects[0].reason.startswith("not stored:")
    assert not Order.objects.filter(brand=brand, external_id=str(orders[3]["id"])).exists()
    assert not OrderLine.objects.filter(brand=brand, order__external_id=str(orders[3]["id"])).exists()


@pytest.mark.parametrize("writer", ["simple", "bulk"])
def test_text_the_database_cannot_store_is_rejected_before_writing(brand, load, tmp_path, writer):
    orders = [shopify_order(n) for n in range(3)]
    orders[1]["line_items"][0]["properties"] = [{"name": "Engraving", "value": "A\x00B"}]
    path = tmp_path / "nul.jsonl"
    path.write_bytes(json_lines(orders))

    report = load(brand, path, writer=writer)

    assert (report.created, report.rejected) == (2, 1)
    line_id = orders[1]["line_items"][0]["id"]
    assert report.rejects[0].reason == f"line item {line_id} contains a NUL character, which the database cannot store"


@pytest.mark.django_db(transaction=True)
def test_five_thousand_streamed_orders_load_in_batches_on_a_second_connection(brand, load, tmp_path):
    path = tmp_path / "history.jsonl"
    with path.open("wb") as out:
        for start in range(0, 5000, 500):
            out.write(json_lines([shopify_order(n) for n in range(start, start + 500)]))
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    report = load(brand, path, writer="bulk", batch_size=700)

    assert (report.read, report.created, report.rejected) == (5000, 5000, 0)
    counts = row_counts(brand.pk)
    assert (counts["orders"], counts["lines"], counts["shipments"], counts["shipment_lines"]) == (
        5000,
        10000,
        5000,
        10000,
    )
    # 97 shop customers by id, and 97 known only by the e-mail of orders that came without a customer.
    assert counts["customers"] == 2 * 97
    # Streamed: the import does not grow the process by anything like the file's size.
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before < 200 * 1024
    again = load(brand, path, writer="bulk", batch_size=700)
    assert (again.unchanged, again.created, again.updated) == (5000, 0, 0)
    assert row_counts(brand.pk) == counts


def _line(line_id: int, sku: str | None, variant_id: int | None, title: str = "Cable Chain") -> dict:
    return {"id": line_id, "variant_id": variant_id, "product_id": None, "sku": sku, "title": title, "quantity": 1,
            "price": "10.00"}  # fmt: skip


def test_unknown_skus_resolve_to_the_same_catalogue_rows_on_both_writers(brand, other_brand, load, tmp_path):
    base = {"currency": "USD", "total_price": "10.00", "created_at": "2024-05-01T10:00:00Z", "email": "a@b.example"}
    orders = [
        {**base, "id": 1, "line_items": [_line(11, "DUP", 901), _line(12, "DUP", None)]},
        {**base, "id": 2, "line_items": [_line(21, "DUP", None)]},
        {**base, "id": 3, "line_items": [_line(31, "TWIN", 902), _line(32, "TWIN", 903)]},
        {**base, "id": 4, "line_items": [_line(41, "TWIN", None), _line(42, None, None, "Gift wrap")]},
        {**base, "id": 5, "line_items": [_line(51, None, 904, "Mystery charm"), _line(52, "", 904)]},
        {**base, "id": 6, "line_items": [_line(61, "DUP", 903)]},
    ]
    path = tmp_path / "catalogue.jsonl"
    path.write_bytes(json_lines(orders))

    load(brand, path, writer="simple")
    load(other_brand, path, writer="bulk")

    assert snapshot(other_brand.pk) == snapshot(brand.pk)
    assert OrderLine.objects.filter(brand=other_brand, variant__isnull=True).count() == 1  # the gift wrap


@pytest.mark.django_db(transaction=True)
def test_batches_written_side_by_side_store_what_the_simple_writer_stores(brand, other_brand, load, tmp_path):
    # Returning customers whose details change from order to order, guests known by e-mail, and
    # SKUs first seen mid-file: what one batch writes while the next is already being written.
    orders = []
    for n in range(1200):
        order = shopify_order(n, lines=1 + n % 3)
        if order["customer"] is not None:
            order["customer"]["phone"] = f"+4420{n:07d}" if n % 4 == 0 else None
            order["customer"]["first_name"] = ["Ada", "", "Grace"][n % 3]
        if n % 250 == 0:
            order["line_items"][0]["sku"] = f"NEW-{n}"
            order["line_items"][0]["variant_id"] = 90_000 + n
        orders.append(order)
    path = tmp_path / "side-by-side.jsonl"
    path.write_bytes(json_lines(orders))

    bulk = load(brand, path, writer="bulk", batch_size=150)
    simple = load(other_brand, path, writer="simple")

    assert (bulk.created, simple.created) == (1200, 1200)
    assert snapshot(brand.pk) == snapshot(other_brand.pk)
