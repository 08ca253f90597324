"""Payouts carried out exactly once: retries, refusals, a worker killed mid-call, staff actions."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from assay.core.errors import Conflict
from assay.resolutions.models import Payout, PayoutSettings
from assay.resolutions.payouts import (
    LEASE,
    MAX_ATTEMPTS,
    payout_execute,
    payout_record_manual,
    payout_retry,
    payouts_run_due,
)
from assay.resolutions.providers import ProviderError, ProviderOutcome
from assay.resolutions.services import resolutions_due
from assay.resolutions.status import PayoutStatus as P
from assay.resolutions.tests.conftest import WorkerKilled, move_lines, set_resolution_terms
from assay.returns.models import ReturnLine
from assay.returns.status import ReturnStatus
from assay.returns.tests.conftest import STAFF, ask, create, lines_of

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def refund(shop, scripted):
    """A return inspected and ready to settle, refunded through the scripted provider."""
    PayoutSettings.objects.create(brand=shop.brand, refund_provider="scripted")
    ring = shop.piece(price="60")
    order = shop.order((ring.size("6"), 1))
    request = create(order, ask(lines_of(order)[0], 1))
    move_lines(request, "in_transit", "received", "inspected")
    return request


def _settle(request):
    resolutions_due(brand_id=request.brand_id, request_id=request.pk)
    return Payout.objects.get(request=request)


def test_a_provider_failing_then_succeeding_pays_once(refund, scripted):
    scripted.script = [ProviderError("Stripe answered 503", transient=True)]

    payout = _settle(refund)
    assert (payout.status, payout.attempts, payout.last_error) == (P.RETRY, 1, "Stripe answered 503")
    assert payouts_run_due() == 0  # not due yet: it backs off
    payouts_run_due(now=payout.next_attempt_at + timedelta(seconds=1))

    payout.refresh_from_db()
    assert (payout.status, payout.attempts, scripted.submits, len(scripted.paid)) == (P.SUCCEEDED, 2, 2, 1)
    assert ReturnLine.objects.get(request=refund).status == ReturnStatus.RESOLVED


def test_a_refusal_goes_to_staff_who_can_send_it_again(refund, scripted):
    scripted.script = [ProviderError("charge_already_refunded: the charge was refunded", transient=False)]

    payout = _settle(refund)
    assert payout.status == P.FAILED
    assert "charge_already_refunded" in payout.last_error
    assert ReturnLine.objects.get(request=refund).status == ReturnStatus.INSPECTED  # not resolved: not paid
    refund.refresh_from_db()
    assert "payout_failed" in refund.flags  # the staff queue filters on it

    payout_retry(brand_id=refund.brand_id, payout_id=payout.pk, actor=STAFF, why="card reissued")

    payout.refresh_from_db()
    assert (payout.status, len(scripted.paid)) == (P.SUCCEEDED, 1)
    refund.refresh_from_db()
    assert "payout_failed" not in refund.flags


def test_transient_failures_give_up_after_the_last_attempt(refund, scripted):
    scripted.script = [ProviderError("timed out", transient=True)] * MAX_ATTEMPTS
    payout = _settle(refund)
    later = timezone.now()
    for _ in range(MAX_ATTEMPTS):
        later += timedelta(hours=3)
        payouts_run_due(now=later)

    payout.refresh_from_db()
    assert (payout.status, payout.attempts) == (P.FAILED, MAX_ATTEMPTS)
    assert payout.last_error == "timed out"
    assert scripted.paid == {}


def test_a_worker_killed_after_the_provider_paid_is_completed_by_reconciliation_once(refund, scripted):
    scripted.crash_after_paying = True

    with pytest.raises(WorkerKilled):
        _settle(refund)
    payout = Payout.objects.get(request=refund)
    assert payout.status == P.SUBMITTING
    assert len(scripted.paid) == 1

    assert payouts_run_due() == 0  # the lease still holds: the worker might only be slow
    payouts_run_due(now=timezone.now() + LEASE + timedelta(seconds=1))

    payout.refresh_from_db()
    assert (payout.status, payout.provider_reference) == (P.SUCCEEDED, "sc_1")
    assert (scripted.submits, scripted.lookups, len(scripted.paid)) == (1, 1, 1)


def test_a_worker_killed_before_the_provider_heard_is_submitted_again_by_reconciliation(refund, scripted):
    scripted.script = [ProviderError("never sent", transient=True)]
    payout = _settle(refund)
    # As if the worker died while calling: the payout is held, the provider has nothing.
    Payout.objects.filter(pk=payout.pk).update(status=P.SUBMITTING, lease_until=timezone.now() - timedelta(seconds=1))

    payouts_run_due()

    payout.refresh_from_db()
    assert (payout.status, scripted.lookups, len(scripted.paid)) == (P.SUCCEEDED, 1, 1)


def test_a_late_answer_from_an_attempt_that_lost_its_lease_is_not_written(refund, scripted):
    scripted.crash_after_paying = True
    with pytest.raises(WorkerKilled):
        _settle(refund)
    payout = Payout.objects.get(request=refund)
    payouts_run_due(now=timezone.now() + LEASE + timedelta(seconds=1))  # attempt 2 completes it

    from assay.resolutions.payouts import _write_back

    late = _write_back(
        payout.pk,
        1,
        outcome=ProviderOutcome(status="failed", reference="x", detail="late"),
        error=None,
        now=timezone.now(),
    )

    payout.refresh_from_db()
    assert late is None
    assert payout.status == P.SUCCEEDED


def test_executing_a_finished_payout_again_calls_nobody(refund, scripted):
    payout = _settle(refund)

    assert payout_execute(payout_id=payout.pk) is None
    assert payout_execute(payout_id=payout.pk, reconcile=True) is None
    assert scripted.submits == 1


def test_a_pending_refund_is_asked_about_again_until_it_settles(refund, scripted):
    scripted.script = [ProviderOutcome(status="pending", reference="re_1")]
    payout = _settle(refund)
    assert payout.status == P.PROCESSING

    scripted.paid[payout.key] = ProviderOutcome(status="succeeded", reference="re_1")
    payouts_run_due(now=payout.next_attempt_at + timedelta(seconds=1))

    payout.refresh_from_db()
    assert (payout.status, scripted.submits, scripted.lookups) == (P.SUCCEEDED, 1, 1)


def test_a_manual_refund_waits_for_staff_to_record_it(shop):
    PayoutSettings.objects.create(brand=shop.brand, refund_provider="manual")
    set_resolution_terms(shop.brand.pk, resolve_on="approval")
    ring = shop.piece(price="60")
    order = shop.order((ring.size("6"), 1))
    request = create(order, ask(lines_of(order)[0], 1))

    payout = _settle(request)
    assert payout.status == P.PROCESSING
    assert payouts_run_due(now=timezone.now() + timedelta(days=1)) == 0  # nobody to ask

    payout_record_manual(brand_id=shop.brand.pk, payout_id=payout.pk, actor=STAFF, reference="bank transfer 4471")
    payout.refresh_from_db()
    assert (payout.status, payout.provider_reference) == (P.SUCCEEDED, "bank transfer 4471")
    with pytest.raises(Conflict):
        payout_record_manual(brand_id=shop.brand.pk, payout_id=payout.pk, actor=STAFF, reference="again")


def test_a_provider_not_installed_sends_the_payout_to_staff(shop):
    PayoutSettings.objects.create(brand=shop.brand, refund_provider="acme-pay")
    set_resolution_terms(shop.brand.pk, resolve_on="approval")
    ring = shop.piece(price="60")
    order = shop.order((ring.size("6"), 1))
    request = create(order, ask(lines_of(order)[0], 1))

    payout = _settle(request)

    assert payout.status == P.FAILED
    assert payout.last_error == "no payment provider named 'acme-pay' is installed"


def test_stripe_without_a_secret_key_says_how_to_set_one(shop):
    PayoutSettings.objects.create(brand=shop.brand, refund_provider="stripe")
    set_resolution_terms(shop.brand.pk, resolve_on="approval")
    ring = shop.piece(price="60")
    order = shop.order((ring.size("6"), 1))
    request = create(order, ask(lines_of(order)[0], 1))

    payout = _settle(request)

    assert payout.status == P.FAILED
    assert "assay brand_secret SLUG --integration stripe" in payout.last_error
    assert payout.amount == Decimal("60")
