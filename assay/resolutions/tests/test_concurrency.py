"""Many confirmations of one resolution at once, on PostgreSQL: one settlement, one payout, one call."""

from __future__ import annotations

import pytest
from django.db import connection

from assay.resolutions.models import Payout, PayoutSettings, Settlement
from assay.resolutions.payouts import payout_execute
from assay.resolutions.providers import ProviderError
from assay.resolutions.services import ResolveResult, return_resolve
from assay.resolutions.status import PayoutStatus
from assay.resolutions.tests.conftest import move_lines
from assay.returns.tests.conftest import STAFF, ask, create, lines_of
from assay.returns.tests.test_concurrency import _concurrently

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: real concurrent writers"),
    pytest.mark.django_db(transaction=True),
]


def test_fifty_concurrent_confirmations_make_one_provider_call_and_one_record(shop, scripted):
    PayoutSettings.objects.create(brand=shop.brand, refund_provider="scripted")
    ring = shop.piece(price="60")
    order = shop.order((ring.size("6"), 1))
    request = create(order, ask(lines_of(order)[0], 1))
    move_lines(request, "in_transit", "received", "inspected")

    results = _concurrently(
        50, lambda _: return_resolve(brand_id=request.brand_id, request_id=request.pk, actor=STAFF, trigger="api")
    )

    assert all(isinstance(r, ResolveResult) for r in results), [r for r in results if not isinstance(r, ResolveResult)]
    assert sum(len(r.settlements) for r in results) == 1
    assert (Settlement.objects.count(), Payout.objects.count()) == (1, 1)
    assert Payout.objects.get().status == PayoutStatus.SUCCEEDED
    assert (scripted.submits, len(scripted.paid)) == (1, 1)


def test_many_workers_taking_one_payout_call_the_provider_once(shop, scripted):
    PayoutSettings.objects.create(brand=shop.brand, refund_provider="scripted")
    ring = shop.piece(price="60")
    order = shop.order((ring.size("6"), 1))
    request = create(order, ask(lines_of(order)[0], 1))
    move_lines(request, "in_transit", "received", "inspected")
    scripted.script = [ProviderError("first attempt timed out", transient=True)]
    return_resolve(brand_id=request.brand_id, request_id=request.pk, actor=STAFF, trigger="api")
    payout = Payout.objects.get()
    Payout.objects.filter(pk=payout.pk).update(next_attempt_at=None)  # due now

    _concurrently(20, lambda _: payout_execute(payout_id=payout.pk))

    payout.refresh_from_db()
    assert (payout.status, payout.attempts, scripted.submits, len(scripted.paid)) == (PayoutStatus.SUCCEEDED, 2, 2, 1)
