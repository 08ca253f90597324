"""A return refunded through Stripe end to end: settled, sent over loopback HTTP, and still paid once
when Stripe acted but its answer was lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings

from assay.brands.services import brand_secret_set
from assay.core.audit import Actor
from assay.integrations.stripe.client import DEFAULT_API_VERSION
from assay.integrations.stripe.fake import FakeStripe
from assay.orders.models import Order
from assay.resolutions.models import Payout, PayoutSettings
from assay.resolutions.payouts import payouts_run_due
from assay.resolutions.services import resolutions_due
from assay.resolutions.status import PayoutStatus
from assay.resolutions.tests.conftest import move_lines
from assay.returns.models import ReturnLine
from assay.returns.status import ReturnStatus
from assay.returns.tests.conftest import ask, create, lines_of, shop  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db(transaction=True)
SECRET = "sk_test_51AssayEndToEndSecretKey00000000"


@pytest.fixture
def stripe_server() -> Iterator[FakeStripe]:
    fake = FakeStripe(secret=SECRET)
    yield fake
    fake.close()


@pytest.fixture
def inspected(shop, stripe_server):  # noqa: F811 - the returns tests' shop fixture
    """A 60.00 return inspected and ready to refund to its Stripe PaymentIntent."""
    PayoutSettings.objects.create(brand=shop.brand, refund_provider="stripe", stripe_api_base=stripe_server.url)
    brand_secret_set(slug=shop.brand.slug, integration="stripe", secret=SECRET, actor=Actor.system("test"))
    ring = shop.piece(price="60")
    order = shop.order((ring.size("6"), 1))
    Order.objects.filter(pk=order.pk).update(payment_reference="pi_3Assay0001")
    stripe_server.add_payment_intent("pi_3Assay0001", 6000, "usd")
    request = create(order, ask(lines_of(order)[0], 1))
    move_lines(request, "in_transit", "received", "inspected")
    return request


def test_an_inspected_return_is_refunded_at_stripe_once(inspected, stripe_server):
    resolutions_due(brand_id=inspected.brand_id, request_id=inspected.pk)
    resolutions_due(brand_id=inspected.brand_id, request_id=inspected.pk)

    payout = Payout.objects.get(request=inspected)
    assert payout.status == PayoutStatus.SUCCEEDED
    assert payout.provider_reference.startswith("re_")
    [refund] = stripe_server.refunds_for("pi_3Assay0001")
    assert (refund["amount"], refund["metadata"]["assay_payout_key"]) == (6000, payout.key)
    assert ReturnLine.objects.get(request=inspected).status == ReturnStatus.RESOLVED
    # The brand's Shopify API version is Shopify's: Stripe gets the version its adapter is written for.
    assert {r.headers["stripe-version"] for r in stripe_server.requests} == {DEFAULT_API_VERSION}


@override_settings(PAYOUT_PROVIDER_TIMEOUT=0.3)
def test_a_refund_whose_answer_was_lost_is_found_by_key_not_made_again(inspected, stripe_server):
    stripe_server.misbehave("drop_after")  # Stripe refunds, then the connection drops

    resolutions_due(brand_id=inspected.brand_id, request_id=inspected.pk)
    payout = Payout.objects.get(request=inspected)
    assert payout.status == PayoutStatus.RETRY
    assert payout.next_attempt_at is not None
    payouts_run_due(now=payout.next_attempt_at + timedelta(seconds=1))

    payout.refresh_from_db()
    assert payout.status == PayoutStatus.SUCCEEDED
    assert stripe_server.created_count == 1
    assert payout.provider_reference == stripe_server.refunds_for("pi_3Assay0001")[0]["id"]


def test_a_refusal_from_stripe_reaches_staff_with_its_message(inspected, stripe_server):
    Order.objects.filter(pk=inspected.order_id).update(payment_reference="pi_unknown")

    resolutions_due(brand_id=inspected.brand_id, request_id=inspected.pk)

    payout = Payout.objects.get(request=inspected)
    assert payout.status == PayoutStatus.FAILED
    assert "pi_unknown" in payout.last_error
    assert stripe_server.created_count == 0


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: a second process on the same database")
def test_a_worker_process_killed_after_stripe_refunded_is_completed_once_by_reconciliation(
    inspected, stripe_server, monkeypatch
):
    # Settled here, but not carried out: the payout is left for the worker process below.
    monkeypatch.setattr("assay.resolutions.services.payouts_enqueue", lambda ids: None)
    resolutions_due(brand_id=inspected.brand_id, request_id=inspected.pk)
    payout = Payout.objects.get(request=inspected)
    # Stripe refunds at once and answers 30 s later: the worker is killed while it waits.
    stripe_server.misbehave("stall_after", seconds=30)
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    work = f"from assay.resolutions.payouts import payout_execute; payout_execute(payout_id={payout.pk})"
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-c", work],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings_test"},
    )
    try:
        deadline = time.monotonic() + 60
        while stripe_server.created_count == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert stripe_server.created_count == 1, "the worker never reached Stripe"
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)

    payout.refresh_from_db()
    assert payout.status == PayoutStatus.SUBMITTING  # held by a worker that no longer exists
    assert payout.lease_until is not None
    payouts_run_due(now=payout.lease_until + timedelta(seconds=1))

    payout.refresh_from_db()
    assert payout.status == PayoutStatus.SUCCEEDED
    assert stripe_server.created_count == 1
    assert payout.provider_reference == stripe_server.refunds_for("pi_3Assay0001")[0]["id"]
