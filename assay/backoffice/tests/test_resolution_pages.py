"""Staff settle a return on its page: the proposed amounts broken down, adjustments with a reason,
payouts that need attention sent again, a manual refund recorded."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.test import Client

from assay.brands.models import Brand
from assay.brands.services import staff_add
from assay.core.audit import Actor
from assay.policies.services import policy_default_ensure
from assay.resolutions.models import Payout, PayoutSettings, Settlement
from assay.returns.models import ReturnLine, ReturnRequest
from assay.returns.tests.conftest import Shop, ask, create, lines_of

pytestmark = pytest.mark.django_db(transaction=True)  # payouts leave after commit

PASSWORD = "correct-horse-battery"
OPERATOR = Actor.system("test")


def client_for(brand: Brand, email: str, role: str) -> Client:
    staff_add(slug=brand.slug, email=email, role=role, password=PASSWORD, actor=OPERATOR)
    client = Client()
    assert client.login(username=email, password=PASSWORD)
    return client


@pytest.fixture
def authorised(brand: Brand) -> ReturnRequest:
    policy_default_ensure(brand_id=brand.pk, actor=OPERATOR)
    shop = Shop(brand=brand)
    ring = shop.piece("Stacking band", price="300", sizes=("6", "7"))
    order = shop.order((ring.size("6"), 1), email="bea@example.com")
    return create(order, ask(lines_of(order)[0], reason="style", resolution="store_credit"))


def _text(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def test_the_page_shows_the_proposed_settlement_broken_down(brand: Brand, authorised: ReturnRequest) -> None:
    ops = client_for(brand, "ops@aurelia.example", "ops")

    page = _text(ops.get(f"/app/returns/{authorised.rma}/").content.decode())

    assert "Proposed by the policy" in page
    assert "Store credit 300.00 USD 0.00 USD — — +30.00 USD 330.00 USD" in page
    assert "Otherwise the policy settles it after inspection" in page


def test_staff_settle_with_an_adjustment_and_its_reason(brand: Brand, authorised: ReturnRequest) -> None:
    ops = client_for(brand, "ops@aurelia.example", "ops")
    line = ReturnLine.objects.get(request=authorised)
    url = f"/app/returns/{authorised.rma}/resolve/"

    refused = ops.post(url, {f"outcome_{line.pk}": "refund", f"amount_{line.pk}": "280"}, follow=True)
    assert "say why the settlement differs" in refused.content.decode()
    assert not Settlement.objects.exists()

    done = ops.post(
        url, {f"outcome_{line.pk}": "refund", f"amount_{line.pk}": "280", "reason": "box missing"}, follow=True
    )

    assert f"{authorised.rma}: 1 line settled." in done.content.decode()
    payout = Payout.objects.get()
    assert (payout.kind, payout.amount, payout.status) == ("refund", 280, "succeeded")
    page = _text(done.content.decode())
    assert "Refund 280.00 USD (policy: 330.00 USD; box missing)" in page


def test_an_inspector_may_read_but_not_settle(brand: Brand, authorised: ReturnRequest) -> None:
    inspector = client_for(brand, "bench@aurelia.example", "inspector")

    response = inspector.post(f"/app/returns/{authorised.rma}/resolve/", {})

    assert response.status_code == 403
    assert not Settlement.objects.exists()


def test_a_manual_refund_is_recorded_from_the_page(brand: Brand, authorised: ReturnRequest) -> None:
    PayoutSettings.objects.create(brand=brand, refund_provider="manual")
    ops = client_for(brand, "ops@aurelia.example", "ops")
    line = ReturnLine.objects.get(request=authorised)
    ops.post(f"/app/returns/{authorised.rma}/resolve/", {f"outcome_{line.pk}": "refund", "reason": "asked for cash"})
    payout = Payout.objects.get()
    assert (payout.status, payout.provider) == ("processing", "manual")

    done = ops.post(
        f"/app/returns/{authorised.rma}/payouts/{payout.pk}/", {"action": "record", "text": "wire 8812"}, follow=True
    )

    payout.refresh_from_db()
    assert (payout.status, payout.provider_reference) == ("succeeded", "wire 8812")
    assert "wire 8812" in done.content.decode()


def test_a_payout_of_another_brands_return_is_not_found(brand: Brand, other_brand: Brand, authorised: Any) -> None:
    ops = client_for(other_brand, "ops@lumen.example", "ops")

    response = ops.post(f"/app/returns/{authorised.rma}/payouts/1/", {"action": "retry"})

    assert response.status_code == 404


def test_the_dashboard_lists_payouts_that_need_attention(brand: Brand, authorised: ReturnRequest) -> None:
    PayoutSettings.objects.create(brand=brand, refund_provider="acme-pay")  # not installed: refused at once
    ops = client_for(brand, "ops@aurelia.example", "ops")
    line = ReturnLine.objects.get(request=authorised)
    ops.post(f"/app/returns/{authorised.rma}/resolve/", {f"outcome_{line.pk}": "refund", "reason": "asked for cash"})

    page = _text(ops.get("/app/").content.decode())

    assert "Payouts needing attention (1)" in page
    assert f"{authorised.rma} : Refund 300.00 USD via acme-pay — no payment provider named 'acme-pay'" in page


def test_a_payout_of_another_return_of_the_brand_is_not_found_under_this_one(brand: Brand, authorised: Any) -> None:
    PayoutSettings.objects.create(brand=brand, refund_provider="manual")
    ops = client_for(brand, "ops@aurelia.example", "ops")
    line = ReturnLine.objects.get(request=authorised)
    ops.post(f"/app/returns/{authorised.rma}/resolve/", {f"outcome_{line.pk}": "refund", "reason": "asked for cash"})
    payout = Payout.objects.get()
    shop = Shop(brand=brand)
    ring = shop.piece("Band", price="100", sizes=("6",))
    order = shop.order((ring.size("6"), 1), email="cy@example.com")
    other = create(order, ask(lines_of(order)[0]))

    response = ops.post(f"/app/returns/{other.rma}/payouts/{payout.pk}/", {"action": "record", "text": "wire 1"})

    assert response.status_code == 404
    payout.refresh_from_db()
    assert payout.status == "processing"


def test_a_return_the_shop_refused_to_record_is_shown_and_recorded_again(brand: Brand, authorised: Any) -> None:
    from assay.resolutions.providers import ProviderError, register_shop_returns
    from assay.resolutions.services import resolutions_due
    from assay.resolutions.tests.test_shop_returns import ScriptedShop

    shop = ScriptedShop()
    register_shop_returns(shop)
    PayoutSettings.objects.create(brand=brand, record_returns_in="scriptedshop")
    shop.fail_with = ProviderError("Order is not fulfilled", transient=False)
    resolutions_due(brand_id=brand.pk, request_id=authorised.pk)
    ops = client_for(brand, "ops@aurelia.example", "ops")

    page = _text(ops.get(f"/app/returns/{authorised.rma}/").content.decode())
    assert "In Scriptedshop: Failed Order is not fulfilled Record it again" in page

    shop.fail_with = None
    done = ops.post(f"/app/returns/{authorised.rma}/shop-return/retry/", follow=True)

    assert f"{authorised.rma}: asked the shop again." in done.content.decode()
    assert "In Scriptedshop: Open gid://shop/Return/1" in _text(done.content.decode())


def test_staff_send_a_new_payment_page_when_the_last_one_failed(brand: Brand) -> None:
    from assay.resolutions.models import Checkout
    from assay.resolutions.tests.conftest import set_resolution_terms

    policy_default_ensure(brand_id=brand.pk, actor=OPERATOR)
    set_resolution_terms(brand.pk, resolve_on="approval")
    settings_row = PayoutSettings.objects.create(brand=brand, checkout_provider="nowhere-pay")
    shop = Shop(brand=brand)
    cheap, dear = shop.piece("Band", price="600", sizes=()), shop.piece("Halo", price="900", sizes=())
    order = shop.order((cheap.size(""), 1))
    wanted = dear.size("").sku
    request = create(
        order,
        ask(lines_of(order)[0], reason="style", resolution="exchange", exchange_kind="product", exchange_sku=wanted),
    )
    ops = client_for(brand, "ops@aurelia.example", "ops")
    ops.post(f"/app/returns/{request.rma}/resolve/", {})
    failed = Checkout.objects.get()
    assert (failed.status, failed.last_error) == ("failed", "no payment page provider named 'nowhere-pay' is installed")
    settings_row.checkout_provider = "simulated"
    settings_row.save()
    exchange_id = failed.exchange_id

    page = ops.post(f"/app/returns/{request.rma}/exchanges/{exchange_id}/", {"action": "page"}, follow=True)

    assert f"Exchange {exchange_id}: done." in page.content.decode()
    fresh = Checkout.objects.exclude(pk=failed.pk).get()
    assert (fresh.status, fresh.provider, fresh.amount) == ("open", "simulated", 300)
