"""The engine decides each line from the rules in order, computes the windows and says why."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, fields
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from assay.policies.decision import Bonus, Fee, LineDecision
from assay.policies.engine import BUILTIN_ALREADY_RETURNED, LINE_DECISION_FIELDS, compile_policy, evaluate
from assay.policies.facts import CustomerFacts
from assay.policies.schema import policy_document_parse
from assay.policies.tests.conftest import NOW, line, order, policy, rule


def decide(compiled, *lines, **order_facts):
    return compiled.evaluate(order(*lines, **order_facts)).lines[0]


# --- windows -----------------------------------------------------------------------------------


def test_a_fresh_delivery_may_be_refunded_credited_or_exchanged_with_both_windows_stated():
    decision = decide(policy(), line(), delivered_days_ago=10)

    assert decision.eligible
    assert decision.resolutions == ("refund", "store_credit", "exchange")
    assert decision.refund_until == NOW - timedelta(days=10) + timedelta(days=30)
    assert decision.exchange_until == NOW - timedelta(days=10) + timedelta(days=60)
    assert decision.reason == "Refund until 21 June 2026; store credit or exchange until 21 July 2026"


def test_after_the_refund_window_exchange_and_store_credit_remain_and_the_reason_says_when_it_closed():
    compiled = policy(defaults={"resolutions": ["refund", "exchange", "store_credit"]})
    delivered = datetime(2026, 4, 3, 9, 0, tzinfo=UTC)

    decision = decide(compiled, line(), delivered_at=delivered, now=datetime(2026, 5, 10, tzinfo=UTC))

    assert decision.eligible
    assert decision.resolutions == ("exchange", "store_credit")
    assert decision.reason == (
        "The 30-day refund window closed on 3 May 2026; exchange or store credit until 2 June 2026"
    )


def test_when_every_window_has_closed_the_line_is_not_eligible_and_says_since_when():
    decision = decide(policy(), line(), delivered_at=datetime(2026, 3, 1, tzinfo=UTC))

    assert not decision.eligible
    assert decision.resolutions == ()
    assert decision.methods == ()
    assert decision.reason == "The return window closed on 30 April 2026 (60 days from delivery)"


def test_a_window_is_open_up_to_its_closing_instant_and_closed_just_after():
    delivered = NOW - timedelta(days=30)
    compiled = policy(defaults={"refund_days": 30, "exchange_days": 30})

    at_close = decide(compiled, line(), delivered_at=delivered, now=NOW)
    after = decide(compiled, line(), delivered_at=delivered, now=NOW + timedelta(microseconds=1))

    assert at_close.eligible
    assert not after.eligible


def test_store_credit_can_follow_the_refund_window_instead():
    compiled = policy(defaults={"store_credit_window": "refund"})

    decision = decide(compiled, line(), delivered_days_ago=40)

    assert decision.resolutions == ("exchange",)


@pytest.mark.parametrize(
    ("shipped", "delivered", "counted_from"),
    [
        (11, 10, "delivery"),
        (11, None, "shipment (delivery not recorded)"),
        (None, None, "the order (not delivered yet)"),
    ],
)
def test_an_unknown_delivery_counts_from_the_shipment_and_an_unknown_shipment_from_the_order(
    shipped, delivered, counted_from
):
    compiled = policy([rule("recent", {"days_since": {"at_most": 30}}, manual_review=True)])

    decision = decide(compiled, line(), placed_days_ago=12, shipped_days_ago=shipped, delivered_days_ago=delivered)

    expected_days = {"delivery": 10, "shipment (delivery not recorded)": 11, "the order (not delivered yet)": 12}
    assert decision.refund_until == NOW - timedelta(days=expected_days[counted_from]) + timedelta(days=30)
    assert decision.matched[0].why == f"{expected_days[counted_from]} days since {counted_from} (<= 30)"


def test_the_anchor_can_be_the_order_date():
    compiled = policy(defaults={"anchor": "order"})

    decision = decide(compiled, line(), placed_days_ago=35, delivered_days_ago=2)

    assert decision.resolutions == ("store_credit", "exchange")


def test_a_holiday_purchase_keeps_its_windows_open_until_the_extension_date():
    holiday = rule(
        "holiday",
        {"placed_between": {"from": "2025-11-15", "to": "2025-12-31"}},
        extend_until="2026-01-31",
    )
    compiled = policy([holiday], defaults={"refund_days": 30, "exchange_days": 30})
    placed = datetime(2025, 12, 10, 15, 0, tzinfo=UTC)
    now = datetime(2026, 1, 31, 23, 0, tzinfo=UTC)

    gift = decide(compiled, line(), placed_at=placed, shipped_at=placed, delivered_at=placed, now=now)
    not_a_gift = decide(
        compiled, line(), placed_at=placed - timedelta(days=30), shipped_at=placed, delivered_at=placed, now=now
    )

    assert gift.eligible
    assert gift.refund_until == datetime(2026, 1, 31, 23, 59, 59, 999999, tzinfo=UTC)
    assert gift.matched[0].why == "placed on 10 Dec 2025 (within 15 Nov 2025 to 31 Dec 2025)"
    assert not not_a_gift.eligible


def test_holiday_dates_are_read_in_the_documents_time_zone():
    holiday = rule("holiday", {"placed_between": {"from": "2025-12-01", "to": "2025-12-31"}}, extend_days=30)
    compiled = policy([holiday], timezone="America/New_York")
    # 1 Jan 2026 03:00 UTC is still 31 December in New York.
    placed = datetime(2026, 1, 1, 3, 0, tzinfo=UTC)

    decision = decide(compiled, line(), placed_at=placed, shipped_at=placed, delivered_at=placed, now=placed)

    assert decision.refund_until == placed + timedelta(days=60)


def test_extend_days_lengthens_both_windows():
    compiled = policy([rule("longer", extend_days=15)])

    decision = decide(compiled, line(), delivered_days_ago=40)

    assert decision.resolutions == ("refund", "store_credit", "exchange")
    assert decision.refund_until == NOW - timedelta(days=40) + timedelta(days=45)


def test_naive_times_are_read_as_utc():
    naive_now = NOW.replace(tzinfo=None)
    decision = decide(policy(), line(), now=naive_now, delivered_at=naive_now - timedelta(days=10))

    assert decision.refund_until == NOW + timedelta(days=20)


# --- rule order and merging --------------------------------------------------------------------


def test_a_later_rule_overrides_only_the_terms_it_sets():
    compiled = policy(
        [
            rule("first", methods=["mail"], manual_review=True),
            rule("second", methods=["in_store"]),
        ]
    )

    decision = decide(compiled, line())

    assert decision.methods == ("in_store",)
    assert decision.manual_review is True
    assert [m.rule_id for m in decision.matched] == ["first", "second"]


def test_swapping_two_rules_that_set_the_same_term_swaps_the_result():
    a = rule("a", destination="bench")
    b = rule("b", destination="vendor")

    assert decide(policy([a, b]), line()).destination == "vendor"
    assert decide(policy([b, a]), line()).destination == "bench"


def test_a_stopping_rule_ends_evaluation_so_later_rules_do_not_apply():
    compiled = policy(
        [
            rule("engraved", {"personalised": True}, stop=True, eligible=False, reason="Engraved: final sale."),
            rule("everyone", eligible=True, manual_review=True),
        ]
    )

    engraved = decide(compiled, line(personalised=True))
    plain = decide(compiled, line())

    assert not engraved.eligible
    assert engraved.reason == "Engraved: final sale."
    assert [m.rule_id for m in engraved.matched] == ["engraved"]
    assert [m.rule_id for m in plain.matched] == ["everyone"]


def test_a_stopping_rule_that_does_not_apply_does_not_stop_anything():
    compiled = policy([rule("rings", {"category": ["necklace"]}, stop=True, destination="x"), rule("b", insured=True)])

    assert decide(compiled, line()).insured


def test_a_disabled_rule_never_applies():
    compiled = compile_policy(
        policy_document_parse({"rules": [{**rule("off", insured=True), "enabled": False}]}),
    )

    decision = decide(compiled, line())

    assert not decision.insured
    assert decision.matched == ()


def test_a_rule_without_conditions_applies_to_every_line_and_says_so():
    decision = decide(policy([rule("all", insured=True)]), line())

    assert decision.matched[0].why == "applies to every line"


def test_a_later_rule_can_make_a_line_eligible_again():
    compiled = policy(
        [
            rule("no-rings", {"category": ["ring"]}, eligible=False, reason="No rings."),
            rule("vip", {"customer_tags_any": ["VIP"]}, eligible=True, reason="VIP exception."),
        ]
    )

    vip = decide(compiled, line(), customer=CustomerFacts(email="v@example.com", tags=frozenset({"vip"})))

    assert vip.eligible
    assert vip.reason.startswith("VIP exception. Refund until")


def test_each_rule_that_applied_is_listed_in_document_order_with_the_facts_that_made_it_apply():
    compiled = policy(
        [
            rule("big-rings", {"category": ["ring", "band"], "unit_price_at_least": "500"}, insured=True),
            rule("not-applied", {"category": ["necklace"]}, insured=False),
            rule("recent", {"days_since": {"at_most": 30}}, signature_required=True),
        ]
    )

    decision = decide(compiled, line(unit_price=Decimal("2400")), delivered_days_ago=12)

    assert [(m.rule_id, m.rule_name, m.why) for m in decision.matched] == [
        ("big-rings", "Big rings", "category is ring; unit price 2,400.00 (>= 500)"),
        ("recent", "Recent", "12 days since delivery (<= 30)"),
    ]


# --- conditions --------------------------------------------------------------------------------


def applies(when, *lines, **order_facts) -> bool:
    compiled = policy([rule("probe", when, manual_review=True)])
    return compiled.evaluate(order(*lines, **order_facts)).lines[0].manual_review


@pytest.mark.parametrize(
    ("when", "facts", "expected"),
    [
        ({"category": ["Ring", "band"]}, {"category": "ring"}, True),
        ({"category": ["band"]}, {"category": "ring"}, False),
        ({"product_type": ["rings"]}, {"product_type": "Rings"}, True),
        ({"tags_any": ["Pierced", "gift"]}, {"tags": frozenset({"pierced"})}, True),
        ({"tags_any": ["pierced"]}, {"tags": frozenset()}, False),
        ({"sku": ["aur-ring-1"]}, {"sku": "AUR-RING-1"}, True),
        ({"sku": ["AUR-RING"]}, {"sku": "AUR-RING-1"}, False),
        ({"sku_prefix": ["aur-ring", "x"]}, {"sku": "AUR-RING-1"}, True),
        ({"sku_prefix": ["AUR-BAND"]}, {"sku": "AUR-RING-1"}, False),
        ({"unit_price_at_least": "2000"}, {"unit_price": Decimal("2000")}, True),
        ({"unit_price_at_least": "2000"}, {"unit_price": Decimal("1999.99")}, False),
        ({"unit_price_below": "100"}, {"unit_price": Decimal("99.99")}, True),
        ({"unit_price_below": "100"}, {"unit_price": Decimal("100")}, False),
        ({"unit_price_at_least": "100", "unit_price_below": "200"}, {"unit_price": Decimal("150")}, True),
        ({"personalised": True}, {"personalised": True}, True),
        ({"personalised": True}, {"personalised": False}, False),
        ({"personalised": False}, {"personalised": False}, True),
        ({"final_sale": True}, {"final_sale": True}, True),
        ({"hygiene_item": True}, {"hygiene_item": True}, True),
        ({"high_value": True}, {"high_value": False}, False),
        ({"resizable": False}, {"resizable": False}, True),
        ({"stone_origin": ["lab_grown"]}, {"stone_origin": "lab_grown"}, True),
        ({"stone_origin": ["lab_grown"]}, {"stone_origin": "laboratory_grown"}, True),
        ({"stone_origin": ["natural"]}, {"stone_origin": "lab_grown"}, False),
        ({"stone_origin": ["none"]}, {"stone_origin": ""}, True),
        ({"reason": ["damaged"]}, {"reason": "damaged"}, True),
        ({"reason": ["damaged"]}, {"reason": "style"}, False),
    ],
)
def test_line_conditions(when, facts, expected):
    assert applies(when, line(**facts)) is expected


@pytest.mark.parametrize(
    ("when", "facts", "expected"),
    [
        ({"country": ["gb", "IE"]}, {"country": "GB"}, True),
        ({"country": ["GB"]}, {"country": "US"}, False),
        ({"currency": ["eur"]}, {"currency": "EUR"}, True),
        ({"channel": ["pos"]}, {"channel": "POS"}, True),
        ({"discount_used": True}, {"discount_used": True}, True),
        ({"discount_used": True}, {"discount_used": False}, False),
        ({"order_tags_any": ["wholesale"]}, {"tags": frozenset({"Wholesale"})}, True),
        ({"order_total_at_least": "5000"}, {"total": Decimal("4999")}, False),
        ({"customer_returns_at_least": 3}, {"customer": CustomerFacts(email="a@b.c", returns_count=3)}, True),
        ({"customer_returns_at_least": 3}, {"customer": CustomerFacts(email="a@b.c", returns_count=2)}, False),
        ({"customer_orders_at_least": 2}, {"customer": CustomerFacts(email="a@b.c", orders_count=1)}, False),
        (
            {"customer_return_rate_at_least": "0.5"},
            {"customer": CustomerFacts(email="a@b.c", returned_units=1, bought_units=2)},
            True,
        ),
        (
            {"customer_return_rate_at_least": "0.5"},
            {"customer": CustomerFacts(email="a@b.c", returned_units=0, bought_units=0)},
            False,
        ),
        ({"customer_tags_any": ["vip"]}, {"customer": CustomerFacts(email="a@b.c", tags=frozenset({"VIP"}))}, True),
        ({"days_since": {"at_least": 10}}, {"delivered_days_ago": 10}, True),
        ({"days_since": {"at_least": 11}}, {"delivered_days_ago": 10.9}, False),
        ({"days_since": {"at_least": 5, "at_most": 9}}, {"delivered_days_ago": 10}, False),
        ({"days_since": {"anchor": "order", "at_least": 12}}, {"delivered_days_ago": 1}, True),
    ],
)
def test_order_and_customer_conditions(when, facts, expected):
    assert applies(when, line(), **facts) is expected


def test_every_condition_given_must_hold():
    when = {"category": ["ring"], "personalised": True}

    assert applies(when, line(personalised=True))
    assert not applies(when, line(personalised=False))
    assert not applies(when, line(category="pendant", personalised=True))


def test_any_holds_when_one_group_holds_and_names_that_group():
    compiled = policy([rule("hv", {"any": [{"high_value": True}, {"unit_price_at_least": "2000"}]}, insured=True)])

    flagged = decide(compiled, line(high_value=True))
    pricey = decide(compiled, line(unit_price=Decimal("2500")))
    neither = decide(compiled, line())

    assert flagged.matched[0].why == "flagged high value"
    assert pricey.matched[0].why == "unit price 2,500.00 (>= 2000)"
    assert not neither.insured


def test_not_holds_when_its_group_does_not():
    compiled = policy([rule("not-rings", {"not": {"category": ["ring", "band"]}}, insured=True)])

    assert decide(compiled, line(category="pendant")).matched[0].why == "not excluded (category is pendant)"
    assert not decide(compiled, line(category="ring")).insured


def test_customer_facts_are_named_in_why():
    compiled = policy(
        [rule("serial", {"customer_returns_at_least": 3, "customer_return_rate_at_least": "0.4"}, manual_review=True)]
    )
    customer = CustomerFacts(email="a@b.c", returns_count=4, returned_units=3, bought_units=5)

    decision = decide(compiled, line(), customer=customer)

    assert decision.matched[0].why == "customer has 4 earlier returns (>= 3); customer return rate 60% (>= 40%)"


# --- the shopper's reason ----------------------------------------------------------------------


def test_a_reason_that_refuses_the_line_applies_once_the_reason_is_known():
    compiled = policy([rule("mind", {"reason": ["changed_mind"]}, eligible=False, reason="Not for a change of mind.")])

    assert not decide(compiled, line(reason="changed_mind")).eligible
    assert decide(compiled, line(reason="size_too_small")).eligible


def test_before_the_reason_is_known_a_refusing_reason_rule_does_not_make_the_line_look_ineligible():
    compiled = policy([rule("mind", {"reason": ["changed_mind"]}, eligible=False, reason="Not for a change of mind.")])

    lookup = decide(compiled, line(reason=None))

    assert lookup.eligible
    assert lookup.resolutions == ("refund", "store_credit", "exchange")
    assert lookup.reason.endswith("Not returnable when the reason is: Changed my mind")


def test_before_the_reason_is_known_a_line_some_reason_rescues_is_shown_as_eligible_for_that_reason():
    compiled = policy(
        [
            rule("late", {"days_since": {"at_least": 61}}, eligible=False, reason="Too late."),
            rule("warranty", {"reason": ["damaged", "not_as_described"]}, eligible=True, extend_days=365),
        ]
    )

    lookup = decide(compiled, line(reason=None), delivered_days_ago=100)
    submitted_damaged = decide(compiled, line(reason="damaged"), delivered_days_ago=100)
    submitted_style = decide(compiled, line(reason="style"), delivered_days_ago=100)

    assert lookup.eligible
    assert lookup.reason.endswith("Only when the reason is: Not as described, Damaged or defective")
    assert submitted_damaged.eligible
    assert not submitted_style.eligible


def test_before_the_reason_is_known_resolutions_are_those_some_reason_allows():
    compiled = policy(
        [
            rule("credit-only", resolutions=["store_credit"]),
            rule("defect", {"reason": ["damaged"]}, resolutions=["refund", "exchange"]),
        ]
    )

    lookup = decide(compiled, line(reason=None))

    assert lookup.resolutions == ("store_credit", "refund", "exchange")
    assert decide(compiled, line(reason="style")).resolutions == ("store_credit",)


def test_before_the_reason_is_known_reasons_in_different_branches_of_one_rule_are_tried_apart():
    rescue = rule(
        "late-exceptions",
        {"any": [{"reason": ["damaged"], "category": ["necklace"]}, {"reason": ["changed_mind"]}]},
        eligible=True,
        extend_days=100,
    )
    compiled = policy([rule("late", {"days_since": {"at_least": 61}}, eligible=False, reason="Too late."), rescue])

    lookup = decide(compiled, line(reason=None, category="ring"), delivered_days_ago=90)

    assert lookup.eligible
    assert lookup.reason.endswith("Only when the reason is: Changed my mind")


def test_only_reason_rules_that_change_what_is_offered_make_a_lookup_try_reasons():
    assert not policy([rule("x", insured=True)]).uses_reason
    assert not policy([rule("fee", {"reason": ["changed_mind"]}, restocking_fee={"percent": "10"})]).uses_reason
    assert policy([rule("x", {"not": {"reason": ["other"]}}, eligible=False, reason="No.")]).uses_reason
    assert policy([rule("x", {"reason": ["other"]}, stop=True, insured=True)]).uses_reason


def test_at_lookup_the_terms_shown_are_those_no_reason_rule_changed():
    compiled = policy([rule("fee", {"reason": ["changed_mind"]}, restocking_fee={"percent": "10"})])

    lookup = decide(compiled, line(reason=None))

    assert lookup.restocking_fee == Fee()
    assert decide(compiled, line(reason="changed_mind")).restocking_fee == Fee(percent=Decimal("10"))


def test_a_reason_rule_whose_other_conditions_fail_does_not_change_the_lookup():
    compiled = policy(
        [rule("mind", {"reason": ["changed_mind"], "category": ["necklace"]}, eligible=False, reason="No.")]
    )

    assert decide(compiled, line(reason=None, category="ring")).reason.startswith("Refund until")


# --- effects -----------------------------------------------------------------------------------


def test_money_terms_come_through_as_fees_and_bonuses():
    compiled = policy(
        [
            rule(
                "terms",
                restocking_fee={"percent": "15"},
                label_fee="7.50",
                bonus_store_credit={"percent": "10", "cap": "50"},
                bonus_exchange={"fixed": "25"},
            )
        ]
    )

    decision = decide(compiled, line())

    assert decision.restocking_fee == Fee(percent=Decimal("15"), fixed=Decimal(0))
    assert decision.label_fee == Decimal("7.50")
    assert decision.bonus_store_credit == Bonus(percent=Decimal("10"), fixed=Decimal(0), cap=Decimal("50"))
    assert decision.bonus_exchange == Bonus(percent=Decimal(0), fixed=Decimal("25"), cap=None)


def test_shipping_and_inspection_flags_come_through():
    compiled = policy([rule("hv", manual_review=True, insured=True, signature_required=True, authenticity_check=True)])

    decision = decide(compiled, line())

    assert (decision.manual_review, decision.insured, decision.signature_required, decision.authenticity_check) == (
        True,
        True,
        True,
        True,
    )


def test_keep_the_item_means_nothing_ships_back():
    compiled = policy([rule("cheap", {"unit_price_below": "20"}, keep_item=True, insured=True, label_fee="5")])

    decision = decide(compiled, line(unit_price=Decimal("15")))

    assert decision.keep_item
    assert decision.eligible
    assert decision.methods == ()
    assert decision.label_fee == Decimal(0)
    assert not decision.insured


def test_resize_only_offers_an_exchange_for_another_size_and_names_it():
    compiled = policy(
        [rule("resize", resolutions=["exchange"], exchange_kinds=["size"], destination="bench", reason="Resize only")]
    )

    decision = decide(compiled, line())

    assert decision.resolutions == ("exchange",)
    assert decision.exchange_kinds == ("size",)
    assert decision.destination == "bench"
    assert decision.reason == "Resize only. Exchange for another size until 21 July 2026"


def test_exchange_kinds_are_empty_when_no_exchange_is_offered():
    decision = decide(policy([rule("refund-only", resolutions=["refund"])]), line())

    assert decision.exchange_kinds == ()


def test_a_line_already_returned_is_not_eligible_whatever_the_rules_say():
    compiled = policy([rule("all", eligible=True)])

    decision = decide(compiled, line(quantity=2, returnable_quantity=0))

    assert not decision.eligible
    assert decision.reason == "Already returned"
    assert decision.resolutions == ()
    assert [m.rule_id for m in decision.matched] == [BUILTIN_ALREADY_RETURNED]


def test_the_decision_names_the_version_and_keeps_the_lines_in_order():
    compiled = compile_policy(policy_document_parse({}), version_id=42)

    decision = evaluate(compiled, order(line(3), line(1), line(2)))

    assert decision.policy_version_id == 42
    assert [d.line_id for d in decision.lines] == [3, 1, 2]
    assert decision.for_line(1).line_id == 1


def test_decisions_are_ordinary_immutable_line_decisions():
    decision = decide(policy(), line())

    assert type(decision) is LineDecision
    assert decision == LineDecision(**{f.name: getattr(decision, f.name) for f in fields(LineDecision)})
    assert {f.name for f in fields(LineDecision)} == set(LINE_DECISION_FIELDS)
    with pytest.raises(FrozenInstanceError):
        decision.eligible = False  # type: ignore[misc]
