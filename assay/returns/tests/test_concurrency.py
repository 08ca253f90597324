"""Concurrent submissions on PostgreSQL: row locks keep quantities and submission keys honest."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections

from assay.core.errors import InvalidInput
from assay.returns.models import ReturnLine, ReturnRequest
from assay.returns.tests.conftest import ask, create, lines_of

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: real concurrent writers"),
    pytest.mark.django_db(transaction=True),
]


def _concurrently(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run `work(index)` in `count` threads lined up by a barrier; each result or the exception raised."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = work(index)
        except Exception as exc:  # the test inspects what each thread met
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_concurrent_requests_for_the_same_line_never_claim_more_than_was_bought(shop):
    ring = shop.piece(price="500")
    order = shop.order((ring.size("6"), 2))
    line = lines_of(order)[0]

    results = _concurrently(6, lambda _: create(order, ask(line, 1)))

    created = [r for r in results if isinstance(r, ReturnRequest)]
    refused = [r for r in results if isinstance(r, InvalidInput)]
    assert (len(created), len(refused)) == (2, 4), results
    assert all("at most 0 can be returned" in str(r) for r in refused)
    assert sum(ReturnLine.objects.filter(order_line=line).values_list("quantity", flat=True)) == 2
    assert len({r.rma for r in created}) == 2


def test_concurrent_submissions_with_one_key_create_one_request(shop):
    ring = shop.piece(price="500")
    order = shop.order((ring.size("6"), 5))
    line = lines_of(order)[0]

    results = _concurrently(6, lambda _: create(order, ask(line, 1), submission_key="double-click"))

    assert all(isinstance(r, ReturnRequest) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert ReturnRequest.objects.count() == 1


def test_concurrent_requests_of_different_orders_get_different_rmas(shop):
    ring = shop.piece(price="500")
    orders = [shop.order((ring.size("6"), 1)) for _ in range(5)]

    results = _concurrently(5, lambda index: create(orders[index], ask(lines_of(orders[index])[0])))

    assert all(isinstance(r, ReturnRequest) for r in results), results
    assert sorted(r.rma for r in results) == [f"R-{100001 + n}" for n in range(5)]
