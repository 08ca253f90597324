"""The default jewellery policy does what the brand was promised, line by line."""

from __future__ import annotations

from decimal import Decimal

import pytest

from assay.policies.decision import Bonus
from assay.policies.defaults import default_jewellery_policy
from assay.policies.engine import compile_policy
from assay.policies.facts import CustomerFacts
from assay.policies.schema import policy_document_parse
from assay.policies.tests.conftest import line, order


@pytest.fixture(scope="module")
def default():
    return compile_policy(policy_document_parse(default_jewellery_policy()))


def decide(compiled, item, **order_facts):
    return compiled.evaluate(order(item, **order_facts)).lines[0]


def test_a_plain_piece_has_30_days_for_a_refund_and_60_for_an_exchange_with_a_free_label(default):
    fresh = decide(default, line(), delivered_days_ago=10)
    later = decide(default, line(), delivered_days_ago=45)
    too_late = decide(default, line(), delivered_days_ago=61)

    assert fresh.resolutions == ("refund", "store_credit", "exchange")
    assert later.resolutions == ("store_credit", "exchange")
    assert not too_late.eligible
    assert fresh.label_fee == Decimal(0)
    assert fresh.methods == ("mail", "drop_off")
    assert fresh.bonus_store_credit == Bonus(percent=Decimal("10"), fixed=Decimal(0), cap=Decimal("100"))
    assert not fresh.manual_review


def test_an_engraved_resizable_ring_may_only_be_resized_and_says_so(default):
    decision = decide(default, line(personalised=True, category="ring", resizable=True))

    assert decision.eligible
    assert decision.resolutions == ("exchange",)
    assert decision.exchange_kinds == ("size",)
    assert decision.destination == "bench"
    assert decision.reason.startswith("Engraved and personalised pieces are final sale; this ring can be resized.")


@pytest.mark.parametrize(
    "item",
    [
        line(personalised=True, category="ring", resizable=False),
        line(personalised=True, category="pendant", resizable=False),
        line(personalised=True, category="necklace", resizable=True),
    ],
)
def test_other_engraved_or_personalised_pieces_are_final_sale(default, item):
    decision = decide(default, item)

    assert not decision.eligible
    assert decision.reason == "Engraved and personalised pieces are final sale and cannot be returned."
    assert decision.resolutions == ()


@pytest.mark.parametrize("item", [line(category="earrings", hygiene_item=True), line(tags=frozenset({"Pierced"}))])
def test_pierced_earrings_are_not_returnable(default, item):
    decision = decide(default, item)

    assert not decision.eligible
    assert decision.reason == "Pierced earrings cannot be returned for hygiene reasons."
    assert [m.rule_id for m in decision.matched] == ["hygiene"]


def test_a_final_sale_item_is_not_returnable(default):
    assert decide(default, line(final_sale=True)).reason == "This item was sold as final sale."


@pytest.mark.parametrize("item", [line(high_value=True), line(unit_price=Decimal("2000"))])
def test_a_high_value_piece_needs_review_insured_signed_shipping_and_an_authenticity_check(default, item):
    decision = decide(default, item)

    assert decision.eligible
    assert decision.manual_review
    assert decision.insured
    assert decision.signature_required
    assert decision.authenticity_check
    assert decision.methods == ("mail",)


def test_a_natural_stone_is_checked_for_authenticity_but_not_sent_to_review(default):
    decision = decide(default, line(stone_origin="natural", unit_price=Decimal("900")))

    assert decision.authenticity_check
    assert not decision.manual_review
    assert not decide(default, line(stone_origin="lab_grown")).authenticity_check


def test_a_frequent_returner_goes_to_review(default):
    serial = CustomerFacts(email="s@example.com", returns_count=4, returned_units=6, bought_units=8)
    occasional = CustomerFacts(email="o@example.com", returns_count=1, returned_units=1, bought_units=8)

    assert decide(default, line(), customer=serial).manual_review
    assert not decide(default, line(), customer=occasional).manual_review
