"""`assay import_orders`: a summary, the rejected records, and an exit code an operator can trust."""

from __future__ import annotations

from io import StringIO

import orjson
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from assay.integrations.imports.tests.conftest import FIXTURES
from assay.integrations.imports.tests.factories import json_lines, shopify_order
from assay.orders.models import Order


def run(*args: str) -> str:
    out = StringIO()
    call_command("import_orders", *args, "--no-progress", stdout=out)
    return out.getvalue()


def test_the_summary_counts_every_outcome_and_lists_each_rejected_line(brand):
    output = run(brand.slug, str(FIXTURES / "shopify_orders.jsonl"), "--source", "shopify")

    assert "(shopify, JSON lines, simple writer)" in output
    for label, count in (("read", 8), ("created", 3), ("updated", 0), ("unchanged", 0), ("rejected", 5)):
        assert f"  {label:<10}{count:>14,}" in output
    assert "records/s" in output
    assert "Rejected records (5):" in output
    assert "  line 7 (450789473): currency: Value error, 'EURO' is not an ISO 4217 currency code" in output


def test_a_second_run_reports_every_order_unchanged(brand):
    run(brand.slug, str(FIXTURES / "shopify_orders_export.csv"), "--source", "csv")

    output = run(brand.slug, str(FIXTURES / "shopify_orders_export.csv"), "--source", "csv")

    assert f"  {'created':<10}{0:>14}" in output
    assert f"  {'unchanged':<10}{3:>14}" in output


def test_rejects_are_written_to_a_file_as_json_lines(brand, tmp_path):
    rejects = tmp_path / "rejects.jsonl"

    run(brand.slug, str(FIXTURES / "shopify_orders.json"), "--source", "shopify", "--rejects", str(rejects))

    rows = [orjson.loads(line) for line in rejects.read_bytes().splitlines()]
    assert [row["record"] for row in rows] == [3, 4, 5, 6, 7]
    assert rows[3] == {
        "record": 6,
        "id": "450789473",
        "reason": "currency: Value error, 'EURO' is not an ISO 4217 currency code",
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nosuchbrand", "orders.jsonl", "--source", "shopify"], "unknown brand 'nosuchbrand'"),
        (["aurelia", "/nonexistent/orders.jsonl", "--source", "shopify"], "/nonexistent/orders.jsonl: no such file"),
        (
            ["aurelia", str(FIXTURES / "shopify_orders_export.csv"), "--source", "shopify"],
            "expected a JSON array ('[') or JSON lines ('{'), found 'N' (a CSV export needs --source csv)",
        ),
        (
            ["aurelia", str(FIXTURES / "shopify_orders.jsonl"), "--source", "csv"],
            "not a Shopify orders export (no 'Name' column in the first row)",
        ),
    ],
)
def test_a_file_or_brand_that_cannot_be_used_fails_with_a_clear_message(brand, args, message):
    with pytest.raises(CommandError) as failure:
        run(*args)

    assert message in str(failure.value)
    assert failure.value.returncode == 2
    assert not Order.objects.exists()


def test_an_empty_file_is_refused(brand, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"\n  \n")

    with pytest.raises(CommandError, match="the file is empty") as failure:
        run(brand.slug, str(empty), "--source", "shopify")

    assert failure.value.returncode == 2


def test_nothing_loaded_exits_non_zero(brand, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"id": 1}\nnot json\n')

    with pytest.raises(CommandError, match="nothing was loaded: all 2 records were rejected") as failure:
        run(brand.slug, str(bad), "--source", "shopify")

    assert failure.value.returncode == 1


def test_a_damaged_json_array_keeps_the_orders_before_the_damage_and_says_where_it_stopped(brand, tmp_path):
    damaged = tmp_path / "damaged.json"
    good = b",".join(orjson.dumps(shopify_order(n)) for n in range(3))
    damaged.write_bytes(b"[" + good + b', {"id": 7, "name": ')

    with pytest.raises(CommandError, match=r"record 4: the JSON array is malformed .*reading stopped") as failure:
        run(brand.slug, str(damaged), "--source", "shopify")

    assert failure.value.returncode == 2
    assert Order.objects.filter(brand=brand).count() == 3


def test_the_progress_bar_goes_to_stderr_with_records_per_second(brand, tmp_path):
    path = tmp_path / "orders.jsonl"
    path.write_bytes(json_lines([shopify_order(n) for n in range(600)]))
    out, err = StringIO(), StringIO()

    import sys

    saved, sys.stderr = sys.stderr, err
    try:
        call_command("import_orders", brand.slug, str(path), "--source", "shopify", stdout=out)
    finally:
        sys.stderr = saved

    assert "records/s" in err.getvalue()
    assert "orders.jsonl" in err.getvalue()
    assert "created" in out.getvalue()
