"""A return refunded through Shopify end to end, over loopback HTTP: once, even when Shopify made the
refund and its answer was lost."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.test import override_settings

from assay.brands.services import brand_secret_set
from assay.core.audit import Actor
from assay.integrations.shopify.fake_admin import FAKE_ACCESS_TOKEN, FakeShopifyAdmin
from assay.orders.models import Order, OrderLine
from assay.resolutions.models import Payout, PayoutSettings
from assay.resolutions.payouts import payouts_run_due
from assay.resolutions.services import resolutions_due
from assay.resolutions.status import PayoutStatus
from assay.resolutions.tests.conftest import move_lines
from assay.returns.tests.conftest import ask, create, lines_of, shop  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def admin() -> Iterator[FakeShopifyAdmin]:
    fake = FakeShopifyAdmin()
    yield fake
    fake.close()


@pytest.fixture
def inspected(shop, admin):  # noqa: F811 - the returns tests' shop fixture
    """A 60.00 return of Shopify order 450789469, inspected and ready to refund."""
    PayoutSettings.objects.create(brand=shop.brand, refund_provider="shopify", shopify_api_base=admin.url)
    brand_secret_set(
        slug=shop.brand.slug, integration="shopify_admin", secret=FAKE_ACCESS_TOKEN, actor=Actor.system("t")
    )
    ring = shop.piece(price="60")
    order = shop.order((ring.size("6"), 1))
    Order.objects.filter(pk=order.pk).update(external_id="450789469")
    OrderLine.objects.filter(order=order).update(external_id="669751112")
    admin.add_order(450789469, "60.00", "USD", line_items={669751112: 1})
    request = create(order, ask(lines_of(order)[0], 1))
    move_lines(request, "in_transit", "received", "inspected")
    return request


def test_an_inspected_return_is_refunded_in_shopify_once(inspected, admin):
    resolutions_due(brand_id=inspected.brand_id, request_id=inspected.pk)
    resolutions_due(brand_id=inspected.brand_id, request_id=inspected.pk)

    payout = Payout.objects.get(request=inspected)
    assert payout.status == PayoutStatus.SUCCEEDED
    assert admin.refunds_created == 1


@override_settings(PAYOUT_PROVIDER_TIMEOUT=0.3)
def test_a_refund_whose_answer_was_lost_is_found_not_made_again(inspected, admin):
    admin.misbehave_later("drop_after", after=2)  # the look-up and transactions answer; the refund's is lost

    resolutions_due(brand_id=inspected.brand_id, request_id=inspected.pk)
    payout = Payout.objects.get(request=inspected)
    assert payout.status == PayoutStatus.RETRY
    assert admin.refunds_created == 1  # Shopify made it; Assay never heard
    assert payout.next_attempt_at is not None
    payouts_run_due(now=payout.next_attempt_at + timedelta(seconds=1))

    payout.refresh_from_db()
    assert payout.status == PayoutStatus.SUCCEEDED
    assert admin.refunds_created == 1
