"""Importing again changes nothing; newer versions update, older ones are skipped - on both writers."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta

import pytest

from assay.core.models import AuditEvent
from assay.integrations.imports.tests.conftest import fixture_orders, postgres_only
from assay.integrations.imports.tests.factories import json_lines
from assay.integrations.imports.tests.snapshots import row_counts, snapshot
from assay.orders.models import Order

WRITERS = ["simple", pytest.param("bulk", marks=postgres_only)]
FILES = [("shopify_orders.jsonl", "shopify"), ("shopify_orders.json", "shopify"), ("shopify_orders_export.csv", "csv")]


def _later(value: str, **delta: float) -> str:
    return (datetime.fromisoformat(value) + timedelta(**delta)).isoformat()


@pytest.mark.parametrize("writer", WRITERS)
@pytest.mark.parametrize(("name", "source"), FILES)
def test_importing_the_same_file_twice_changes_nothing(brand, load, with_catalogue, writer, name, source):
    with_catalogue(brand)
    first = load(brand, name, source=source, writer=writer)
    before, counts = snapshot(brand.pk), row_counts(brand.pk)

    again = load(brand, name, source=source, writer=writer)

    assert first.created == 3
    assert (again.created, again.updated, again.stale, again.unchanged) == (0, 0, 0, 3)
    assert again.rejected == first.rejected
    assert row_counts(brand.pk) == counts
    assert snapshot(brand.pk) == before


@pytest.mark.parametrize("writer", WRITERS)
def test_a_newer_version_updates_the_order_and_records_what_changed(brand, load, tmp_path, writer):
    bob, *_ = fixture_orders()
    load(brand, "shopify_orders.jsonl", writer=writer)
    newer = copy.deepcopy(bob)
    newer["updated_at"] = _later(bob["updated_at"], days=1)
    newer["tags"] = "engraved, vip, repeat"
    newer["line_items"][1]["quantity"] = 2
    path = tmp_path / "newer.jsonl"
    path.write_bytes(json_lines([newer]))

    report = load(brand, path, writer=writer)

    assert (report.updated, report.unchanged) == (1, 0)
    order = Order.objects.get(brand=brand, external_id=str(bob["id"]))
    assert order.tags == ["engraved", "vip", "repeat"]
    assert order.lines.get(external_id="518995019").quantity == 2
    event = AuditEvent.objects.filter(brand=brand, subject_id=order.pk, action="order_updated").get()
    assert event.data == {"changed": ["tags", "lines"]}
    assert event.actor_label == "import test"


@pytest.mark.parametrize("writer", WRITERS)
def test_an_older_version_is_skipped_and_counted_as_stale(brand, load, tmp_path, writer):
    bob, *_ = fixture_orders()
    load(brand, "shopify_orders.jsonl", writer=writer)
    older = copy.deepcopy(bob)
    older["updated_at"] = _later(bob["updated_at"], days=-2)
    older["total_price"] = "1.00"
    path = tmp_path / "older.jsonl"
    path.write_bytes(json_lines([older]))
    counts = row_counts(brand.pk)

    report = load(brand, path, writer=writer)

    assert (report.stale, report.updated, report.unchanged) == (1, 0, 0)
    assert str(Order.objects.get(brand=brand, external_id=str(bob["id"])).total) == "2732.4000"
    assert row_counts(brand.pk) == counts


@pytest.mark.parametrize("writer", WRITERS)
def test_the_same_order_twice_in_one_file_is_applied_in_file_order(brand, load, tmp_path, writer):
    bob, *_ = fixture_orders()
    newer = copy.deepcopy(bob)
    newer["updated_at"] = _later(bob["updated_at"], hours=1)
    newer["financial_status"] = "partially_refunded"
    path = tmp_path / "twice.jsonl"
    path.write_bytes(json_lines([bob, newer, bob]))

    report = load(brand, path, writer=writer)

    assert (report.created, report.updated, report.stale) == (1, 1, 1)
    assert Order.objects.get(brand=brand, external_id=str(bob["id"])).financial_status == "partially_refunded"
