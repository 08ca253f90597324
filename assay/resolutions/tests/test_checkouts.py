"""Collecting from the shopper: the difference for a dearer replacement, and the card hold of an
instant exchange, released when the return arrives and charged when it never ships."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from assay.resolutions.checkouts import checkout_retry, checkouts_run_due, simulated_checkout_pay
from assay.resolutions.models import Checkout, Exchange, SimulatedCheckout
from assay.resolutions.services import resolutions_due
from assay.resolutions.status import CheckoutStatus, ExchangeStatus
from assay.resolutions.tests.conftest import move_lines, set_resolution_terms
from assay.returns.models import ReturnLine
from assay.returns.services import return_request_cancel
from assay.returns.status import ReturnStatus
from assay.returns.tests.conftest import SHOPPER, ask, create, lines_of

pytestmark = pytest.mark.django_db(transaction=True)  # pages are asked for after commit


def _size_swap(shop, *, price="800"):
    ring = shop.piece(price=price, stock=2)
    order = shop.order((ring.size("6"), 1))
    request = create(order, ask(lines_of(order)[0], 1, resolution="exchange", exchange_kind="size", size_wanted="7"))
    assert request.status == ReturnStatus.AUTHORISED, request.review_reasons
    return request, ring


def test_a_dearer_replacement_waits_for_the_difference_paid_on_its_page(shop):
    set_resolution_terms(shop.brand.pk, resolve_on="approval")
    cheap, dear = shop.piece(price="600", sizes=()), shop.piece(price="900", sizes=())
    order = shop.order((cheap.size(""), 1))
    request = create(
        order,
        ask(lines_of(order)[0], 1, reason="style", resolution="exchange", exchange_kind="product",
            exchange_sku=dear.size("").sku),
    )  # fmt: skip

    resolutions_due(brand_id=request.brand_id, request_id=request.pk)

    checkout = Checkout.objects.get(request=request)
    assert (checkout.purpose, checkout.amount, checkout.status) == ("difference", 300, CheckoutStatus.OPEN)
    assert checkout.url.startswith("http://127.0.0.1:8000/pay/simulated/cs_sim_")
    assert Exchange.objects.get(request=request).status == ExchangeStatus.AWAITING_PAYMENT

    back_to = simulated_checkout_pay(session_id=checkout.session_id)

    checkout.refresh_from_db()
    exchange = Exchange.objects.get(request=request)
    assert (checkout.status, exchange.status) == (CheckoutStatus.PAID, ExchangeStatus.READY)
    assert exchange.payment_reference == checkout.payment_reference
    assert back_to.endswith(f"/returns/{shop.brand.slug}/r/{request.rma}/")


def test_an_instant_exchange_ships_once_the_hold_is_in_and_releases_it_when_the_return_arrives(shop):
    set_resolution_terms(shop.brand.pk, instant_exchange=True)
    request, _ = _size_swap(shop)

    resolutions_due(brand_id=request.brand_id, request_id=request.pk)

    hold = Checkout.objects.get(request=request)
    assert (hold.purpose, hold.amount, hold.status) == ("hold", 800, CheckoutStatus.OPEN)
    assert Exchange.objects.get(request=request).status == ExchangeStatus.AWAITING_HOLD
    simulated_checkout_pay(session_id=hold.session_id)
    exchange = Exchange.objects.get(request=request)
    assert exchange.status == ExchangeStatus.READY  # the replacement goes before the return arrives
    assert exchange.replacement_order is not None
    assert ReturnLine.objects.get(request=request).status == ReturnStatus.AUTHORISED

    move_lines(request, "in_transit", "received")
    resolutions_due(brand_id=request.brand_id, request_id=request.pk)

    hold.refresh_from_db()
    assert hold.status == CheckoutStatus.RELEASED
    assert SimulatedCheckout.objects.get(session_id=hold.session_id).status == "released"


def test_a_held_card_is_charged_when_the_return_is_cancelled_after_the_replacement_went_out(shop):
    set_resolution_terms(shop.brand.pk, instant_exchange=True)
    request, _ = _size_swap(shop)
    resolutions_due(brand_id=request.brand_id, request_id=request.pk)
    hold = Checkout.objects.get(request=request)
    simulated_checkout_pay(session_id=hold.session_id)

    return_request_cancel(brand_id=request.brand_id, request_id=request.pk, actor=SHOPPER)
    checkouts_run_due(now=timezone.now() + timedelta(minutes=2))

    hold.refresh_from_db()
    assert hold.status == CheckoutStatus.CAPTURED
    assert hold.charge_reference.startswith("ch_sim_")


def test_high_value_pieces_and_uneven_swaps_wait_for_the_return(shop):
    set_resolution_terms(shop.brand.pk, instant_exchange=True, instant_exchange_max_value="500")
    request, _ = _size_swap(shop, price="800")  # over the ceiling

    resolutions_due(brand_id=request.brand_id, request_id=request.pk)

    assert not Checkout.objects.exists()
    assert not Exchange.objects.exists()


def test_an_unpaid_page_that_expired_can_be_sent_again_with_a_new_key(shop):
    set_resolution_terms(shop.brand.pk, instant_exchange=True)
    request, _ = _size_swap(shop)
    resolutions_due(brand_id=request.brand_id, request_id=request.pk)
    first = Checkout.objects.get(request=request)
    Checkout.objects.filter(pk=first.pk).update(status=CheckoutStatus.EXPIRED)

    second = checkout_retry(brand_id=request.brand_id, checkout_id=first.pk)

    second.refresh_from_db()
    assert second.key != first.key
    assert second.status == CheckoutStatus.OPEN


def test_the_demo_payment_page_pays_and_sends_the_shopper_back(shop):
    set_resolution_terms(shop.brand.pk, instant_exchange=True)
    request, _ = _size_swap(shop)
    resolutions_due(brand_id=request.brand_id, request_id=request.pk)
    hold = Checkout.objects.get(request=request)
    client = Client()

    page = client.get(hold.url)
    assert page.status_code == 200
    assert "Authorise the hold" in page.content.decode()
    done = client.post(hold.url)

    assert done.status_code == 302
    assert done["Location"].endswith(f"/r/{request.rma}/")
    assert Exchange.objects.get(request=request).status == ExchangeStatus.READY
    assert client.get("/pay/simulated/cs_sim_nothing/").status_code == 404


@pytest.mark.parametrize(
    ("moves", "settled_as"), [((), CheckoutStatus.CAPTURED), (("in_transit",), CheckoutStatus.RELEASED)]
)
def test_a_hold_is_settled_before_the_card_network_lets_it_lapse(shop, moves, settled_as):
    set_resolution_terms(shop.brand.pk, instant_exchange=True)
    request, _ = _size_swap(shop)
    resolutions_due(brand_id=request.brand_id, request_id=request.pk)
    hold = Checkout.objects.get(request=request)
    simulated_checkout_pay(session_id=hold.session_id)
    move_lines(request, *moves)

    checkouts_run_due(now=timezone.now() + timedelta(days=5))
    hold.refresh_from_db()
    assert hold.status == CheckoutStatus.HELD  # still within the window: the parcel may yet come
    checkouts_run_due(now=timezone.now() + timedelta(days=6, minutes=1))

    hold.refresh_from_db()
    assert hold.status == settled_as
