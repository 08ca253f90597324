"""Settling returned lines: the amounts the policy gives, staff adjustments, timing, exactly once."""

from __future__ import annotations

from decimal import Decimal

import pytest

from assay.core.errors import Conflict, InvalidInput
from assay.orders.models import Order
from assay.resolutions.credit import credit_balances
from assay.resolutions.models import CreditEntry, Exchange, Payout, PayoutSettings, Settlement
from assay.resolutions.services import Adjustment, resolution_propose, resolutions_due, return_resolve
from assay.resolutions.status import ExchangeStatus, PayoutStatus
from assay.resolutions.tests.conftest import move_lines, set_resolution_terms
from assay.returns.models import ReturnLine
from assay.returns.status import ReturnStatus
from assay.returns.tests.conftest import STAFF, ask, create, lines_of

pytestmark = pytest.mark.django_db(transaction=True)  # payouts leave after commit, as in production


def _refund_return(shop, *, price="500", quantity=1, resolution="refund", **kwargs):
    ring = shop.piece(price=price)
    order = shop.order((ring.size("6"), quantity))
    request = create(order, ask(lines_of(order)[0], quantity, resolution=resolution, **kwargs))
    assert request.status == ReturnStatus.AUTHORISED, request.review_reasons
    return request, ring, order


def test_a_refund_waits_for_inspection_by_default_then_pays_what_was_paid(shop):
    request, _, _ = _refund_return(shop)

    assert resolutions_due(brand_id=request.brand_id, request_id=request.pk).settlements == []
    move_lines(request, "in_transit", "received")
    assert resolutions_due(brand_id=request.brand_id, request_id=request.pk).settlements == []
    move_lines(request, "inspected")
    result = resolutions_due(brand_id=request.brand_id, request_id=request.pk)

    assert [s.amount for s in result.settlements] == [Decimal("500.0000")]
    payout = Payout.objects.get(request=request)
    assert (payout.kind, payout.provider, payout.status, payout.amount) == ("refund", "simulated", "succeeded", 500)
    assert payout.provider_reference.startswith("re_sim_")
    line = ReturnLine.objects.get(request=request)
    assert line.status == ReturnStatus.RESOLVED


@pytest.mark.parametrize(
    ("timing", "states", "settled"),
    [
        ("approval", (), True),
        ("first_scan", ("in_transit",), True),
        ("receipt", ("in_transit",), False),
        ("receipt", ("in_transit", "received"), True),
    ],
)
def test_the_policy_says_when_a_return_is_settled(shop, timing, states, settled):
    set_resolution_terms(shop.brand.pk, resolve_on=timing)
    request, _, _ = _refund_return(shop)
    move_lines(request, *states)

    resolutions_due(brand_id=request.brand_id, request_id=request.pk)

    assert Settlement.objects.filter(request=request).exists() is settled
    # Paid early, the line still goes on through receiving and inspection before it is resolved.
    if settled:
        assert ReturnLine.objects.get(request=request).status != ReturnStatus.RESOLVED


def test_settling_again_changes_nothing(shop):
    set_resolution_terms(shop.brand.pk, resolve_on="approval")
    request, _, _ = _refund_return(shop)

    first = return_resolve(brand_id=request.brand_id, request_id=request.pk, actor=STAFF, trigger="staff")
    again = return_resolve(brand_id=request.brand_id, request_id=request.pk, actor=STAFF, trigger="staff")
    swept = resolutions_due(brand_id=request.brand_id, request_id=request.pk)

    assert (len(first.settlements), len(again.settlements), again.already, len(swept.settlements)) == (1, 0, 1, 0)
    assert Payout.objects.filter(request=request).count() == 1


def test_restocking_fee_and_tax_charged_on_top_are_in_the_breakdown(shop):
    document = {"defaults": {"restocking_fee": {"percent": "10", "fixed": "5"}, "label_fee": "7.50"}}
    from assay.policies.services import policy_version_publish
    from assay.returns.tests.conftest import SYSTEM

    policy_version_publish(
        brand_id=shop.brand.pk, document=document | {"resolution": {"resolve_on": "approval"}}, actor=SYSTEM
    )
    ring = shop.piece(price="200")
    order = shop.order((ring.size("6"), 2))
    line = lines_of(order)[0]
    line.tax = Decimal("33.00")  # 16.50 per ring, charged on top of the price
    line.save()
    request = create(order, ask(line, 1))

    [proposal] = resolution_propose(brand_id=request.brand_id, request_id=request.pk)
    b = proposal.breakdown

    assert (b.merchandise, b.tax, b.restocking_fee, b.label_fee) == (200, Decimal("16.50"), 25, Decimal("7.50"))
    assert b.total == Decimal("184.00")  # 200 + 16.50 - (20 + 5) - 7.50


def test_tax_included_in_prices_is_not_added_again(shop):
    set_resolution_terms(shop.brand.pk, resolve_on="approval")
    ring = shop.piece(price="240")
    order = shop.order((ring.size("6"), 1))
    Order.objects.filter(pk=order.pk).update(taxes_included=True)
    line = lines_of(order)[0]
    line.tax = Decimal("40.00")
    line.save()
    request = create(order, ask(line, 1))

    [proposal] = resolution_propose(brand_id=request.brand_id, request_id=request.pk)

    assert (proposal.breakdown.tax, proposal.breakdown.total) == (0, 240)


def test_store_credit_gets_the_bonus_and_books_the_ledger_once(shop):
    set_resolution_terms(shop.brand.pk, resolve_on="approval")
    request, _, _ = _refund_return(shop, price="300", resolution="store_credit")

    resolutions_due(brand_id=request.brand_id, request_id=request.pk)
    resolutions_due(brand_id=request.brand_id, request_id=request.pk)

    payout = Payout.objects.get(request=request)
    assert (payout.kind, payout.status, payout.amount) == ("store_credit", "succeeded", Decimal("330"))  # +10%
    assert CreditEntry.objects.filter(payout=payout).count() == 1
    assert [(b.currency, b.amount) for b in credit_balances(brand_id=shop.brand.pk, email="ada@example.com")] == [
        ("USD", Decimal("330"))
    ]


def test_store_credit_can_go_out_as_a_gift_card(shop):
    set_resolution_terms(shop.brand.pk, resolve_on="approval")
    PayoutSettings.objects.create(brand=shop.brand, store_credit_as_gift_card=True)
    request, _, _ = _refund_return(shop, price="300", resolution="store_credit")

    resolutions_due(brand_id=request.brand_id, request_id=request.pk)

    payout = Payout.objects.get(request=request)
    assert (payout.kind, payout.status) == ("gift_card", "succeeded")
    assert payout.code.startswith("AS")
    assert len(payout.code) == 16
    assert not CreditEntry.objects.exists()


def test_staff_adjust_with_a_reason_and_only_within_what_was_paid(shop):
    set_resolution_terms(shop.brand.pk, resolve_on="approval")
    request, _, _ = _refund_return(shop, price="500")
    line_id = ReturnLine.objects.get(request=request).pk

    with pytest.raises(InvalidInput, match="say why"):
        return_resolve(
            brand_id=request.brand_id, request_id=request.pk, actor=STAFF, trigger="staff",
            adjustments={line_id: Adjustment(amount=Decimal("450"))},
        )  # fmt: skip
    with pytest.raises(InvalidInput, match="more than the shopper paid"):
        return_resolve(
            brand_id=request.brand_id, request_id=request.pk, actor=STAFF, trigger="staff",
            adjustments={line_id: Adjustment(amount=Decimal("500.01"), reason="goodwill")},
        )  # fmt: skip
    with pytest.raises(InvalidInput, match="more decimals"):
        return_resolve(
            brand_id=request.brand_id, request_id=request.pk, actor=STAFF, trigger="staff",
            adjustments={line_id: Adjustment(amount=Decimal("1.001"), reason="x")},
        )  # fmt: skip
    assert not Settlement.objects.exists()
    assert not Payout.objects.exists()

    return_resolve(
        brand_id=request.brand_id, request_id=request.pk, actor=STAFF, trigger="staff",
        adjustments={line_id: Adjustment(amount=Decimal("450"), reason="scratch on the band")},
    )  # fmt: skip

    settlement = Settlement.objects.get(request=request)
    assert (settlement.amount, settlement.proposed_amount, settlement.adjustment_reason) == (
        450,
        500,
        "scratch on the band",
    )
    assert Payout.objects.get(request=request).amount == 450


def test_staff_may_settle_as_another_outcome(shop):
    set_resolution_terms(shop.brand.pk, resolve_on="approval")
    request, _, _ = _refund_return(shop, price="500")
    line_id = ReturnLine.objects.get(request=request).pk

    return_resolve(
        brand_id=request.brand_id, request_id=request.pk, actor=STAFF, trigger="staff",
        adjustments={line_id: Adjustment(resolution="coupon", reason="shopper asked for a coupon")},
    )  # fmt: skip

    payout = Payout.objects.get(request=request)
    assert (payout.kind, payout.amount, payout.status) == ("coupon", 500, "succeeded")


def test_nothing_is_settled_before_the_return_is_authorised(shop):
    ring = shop.piece(price="5000")  # high value: the policy sends it to review
    order = shop.order((ring.size("6"), 1))
    request = create(order, ask(lines_of(order)[0], 1))
    assert request.status == ReturnStatus.PENDING_REVIEW

    with pytest.raises(Conflict, match="nothing in it can be settled"):
        return_resolve(brand_id=request.brand_id, request_id=request.pk, actor=STAFF, trigger="api")
    assert not Settlement.objects.exists()


def test_the_order_shipping_is_refunded_once_when_the_policy_says_so(shop):
    set_resolution_terms(shop.brand.pk, resolve_on="approval", refund_shipping=True)
    ring = shop.piece(price="100")
    order = shop.order((ring.size("6"), 1), (ring.size("7"), 1))
    Order.objects.filter(pk=order.pk).update(total_shipping=Decimal("15"))
    first_line, second_line = lines_of(order)
    first = create(order, ask(first_line, 1))
    second = create(order, ask(second_line, 1))

    resolutions_due(brand_id=first.brand_id, request_id=first.pk)
    resolutions_due(brand_id=second.brand_id, request_id=second.pk)

    shipping = Payout.objects.filter(settlement__isnull=True)
    assert [(p.amount, p.request_id) for p in shipping] == [(15, first.pk)]


def test_a_size_exchange_reserves_stock_and_creates_the_replacement_order(shop):
    set_resolution_terms(shop.brand.pk, resolve_on="approval")
    ring = shop.piece(price="800", stock=2)
    order = shop.order((ring.size("6"), 1))
    request = create(
        order,
        ask(lines_of(order)[0], 1, resolution="exchange", exchange_kind="size", size_wanted="7"),
    )

    resolutions_due(brand_id=request.brand_id, request_id=request.pk)

    exchange = Exchange.objects.get(request=request)
    assert (exchange.status, exchange.sku, exchange.difference) == (ExchangeStatus.READY, ring.size("7").sku, 0)
    ring.size("7").refresh_from_db()
    assert ring.size("7").inventory_quantity == 1
    replacement = exchange.replacement_order
    assert replacement is not None
    assert replacement.channel == "exchange"
    assert replacement.email == order.email
    assert [(line.sku, line.quantity) for line in replacement.lines.all()] == [(ring.size("7").sku, 1)]
    [shipment] = replacement.shipments.all()
    assert (shipment.status, shipment.tracking_number) == ("pre_transit", "")
    assert [(sl.line.sku, sl.quantity) for sl in shipment.shipment_lines.all()] == [(ring.size("7").sku, 1)]
    assert not Payout.objects.filter(request=request).exists()


def test_a_cheaper_replacement_refunds_the_difference_and_a_dearer_one_waits_for_payment(shop):
    set_resolution_terms(shop.brand.pk, resolve_on="approval")
    dear, cheap = shop.piece(price="900", sizes=()), shop.piece(price="600", sizes=())
    order = shop.order((dear.size(""), 1), (cheap.size(""), 1))
    dear_line, cheap_line = lines_of(order)
    request = create(
        order,
        ask(
            dear_line,
            1,
            reason="style",
            resolution="exchange",
            exchange_kind="product",
            exchange_sku=cheap.size("").sku,
        ),
        ask(
            cheap_line,
            1,
            reason="style",
            resolution="exchange",
            exchange_kind="product",
            exchange_sku=dear.size("").sku,
        ),
    )
    assert request.status == ReturnStatus.AUTHORISED, request.review_reasons

    resolutions_due(brand_id=request.brand_id, request_id=request.pk)

    by_line = {e.settlement.return_line.order_line_id: e for e in Exchange.objects.filter(request=request)}
    assert (by_line[dear_line.pk].status, by_line[dear_line.pk].difference) == (ExchangeStatus.READY, -300)
    assert (by_line[cheap_line.pk].status, by_line[cheap_line.pk].difference) == (ExchangeStatus.AWAITING_PAYMENT, 300)
    refund = Payout.objects.get(request=request)
    assert (refund.kind, refund.amount, refund.status) == ("refund", 300, PayoutStatus.SUCCEEDED)


def test_an_exchange_for_a_sold_out_size_waits_for_stock(shop):
    set_resolution_terms(shop.brand.pk, resolve_on="approval")
    ring = shop.piece(price="800", stock=1)
    order = shop.order((ring.size("6"), 1))
    request = create(
        order,
        ask(lines_of(order)[0], 1, resolution="exchange", exchange_kind="size", size_wanted="7"),
    )
    ring.size("7").__class__.objects.filter(pk=ring.size("7").pk).update(inventory_quantity=0)  # sold meanwhile

    resolutions_due(brand_id=request.brand_id, request_id=request.pk)

    exchange = Exchange.objects.get(request=request)
    assert (exchange.status, exchange.replacement_order) == (ExchangeStatus.AWAITING_STOCK, None)
