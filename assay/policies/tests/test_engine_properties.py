"""Properties that hold for every policy and every order: hypothesis builds both at random."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assay.policies.engine import compile_policy
from assay.policies.facts import EXCHANGE_KINDS, METHODS, REASONS, RESOLUTIONS, CustomerFacts, LineFacts
from assay.policies.schema import policy_document_parse
from assay.policies.tests.conftest import order

CATEGORIES = ["ring", "band", "earrings", "necklace", "pendant"]
TAGS = ["pierced", "gift", "sale"]

non_empty_subset = lambda values: st.lists(st.sampled_from(values), min_size=1, max_size=len(values), unique=True)  # noqa: E731

leaf_conditions = st.fixed_dictionaries(
    {},
    optional={
        "category": non_empty_subset(CATEGORIES),
        "tags_any": non_empty_subset(TAGS),
        "personalised": st.booleans(),
        "resizable": st.booleans(),
        "high_value": st.booleans(),
        "unit_price_at_least": st.sampled_from(["100", "500", "2000"]),
        "days_since": st.one_of(
            st.builds(lambda n: {"at_most": n}, st.integers(0, 90)),
            st.builds(lambda n: {"at_least": n, "anchor": "order"}, st.integers(0, 90)),
        ),
        "reason": non_empty_subset(list(REASONS)),
        "customer_returns_at_least": st.integers(0, 4),
    },
)
conditions = st.one_of(
    leaf_conditions,
    st.builds(lambda a, b: {"any": [a, b]}, leaf_conditions, leaf_conditions),
    st.builds(lambda a: {"not": a}, leaf_conditions.filter(bool)),
)
effects = st.fixed_dictionaries(
    {},
    optional={
        "eligible": st.booleans(),
        "refund_days": st.integers(0, 90),
        "exchange_days": st.integers(0, 120),
        "resolutions": non_empty_subset(list(RESOLUTIONS)),
        "exchange_kinds": non_empty_subset(list(EXCHANGE_KINDS)),
        "methods": non_empty_subset(list(METHODS)),
        "manual_review": st.booleans(),
        "keep_item": st.booleans(),
        "extend_days": st.integers(0, 30),
        "store_credit_window": st.sampled_from(["refund", "exchange"]),
        "anchor": st.sampled_from(["order", "shipment", "delivery"]),
    },
).filter(bool)


def _with_reason(then: dict[str, Any]) -> dict[str, Any]:
    return {**then, "reason": "Not under this rule."} if then.get("eligible") is False else then


rules = st.lists(
    st.tuples(conditions, effects, st.booleans(), st.booleans()),
    max_size=8,
).map(
    lambda items: [
        {"id": f"r{i}", "name": f"Rule {i}", "when": when, "then": _with_reason(then), "stop": stop, "enabled": on}
        for i, (when, then, stop, on) in enumerate(items)
    ]
)
documents = st.builds(lambda rs: {"rules": rs}, rules)

lines = st.builds(
    lambda i, category, tags, personalised, resizable, high_value, price, bought, left, reason: LineFacts(
        line_id=i,
        sku=f"SKU-{i}",
        title="Piece",
        quantity=bought,
        returnable_quantity=min(left, bought),
        unit_price=Decimal(price),
        category=category,
        tags=frozenset(tags),
        personalised=personalised,
        resizable=resizable,
        high_value=high_value,
        reason=reason,
    ),
    st.integers(1, 10_000),
    st.sampled_from(CATEGORIES),
    st.lists(st.sampled_from(TAGS), max_size=2),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.integers(1, 5000),
    st.integers(1, 3),
    st.integers(0, 3),
    st.one_of(st.none(), st.sampled_from(REASONS)),
)
orders = st.builds(
    lambda items, placed, shipped, delivered, returns: order(
        *items,
        placed_days_ago=placed,
        shipped_days_ago=None if shipped is None else min(shipped, placed),
        delivered_days_ago=None if delivered is None or shipped is None else min(delivered, shipped, placed),
        customer=CustomerFacts(email="a@example.com", returns_count=returns),
    ),
    st.lists(lines, min_size=1, max_size=4, unique_by=lambda item: item.line_id),
    st.integers(0, 150),
    st.one_of(st.none(), st.integers(0, 150)),
    st.one_of(st.none(), st.integers(0, 150)),
    st.integers(0, 5),
)

PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(documents, orders)
def test_the_same_policy_and_facts_always_give_the_same_decision(document, facts):
    first = compile_policy(policy_document_parse(document)).evaluate(facts)
    again = compile_policy(policy_document_parse(document)).evaluate(facts)

    assert first == again


@PROPERTY
@given(documents, orders, st.randoms(use_true_random=False))
def test_a_lines_decision_does_not_depend_on_the_other_lines_or_their_order(document, facts, rnd):
    compiled = compile_policy(policy_document_parse(document))
    shuffled = list(facts.lines)
    rnd.shuffle(shuffled)

    together = {d.line_id: d for d in compiled.evaluate(facts).lines}
    apart = {d.line_id: d for d in compiled.evaluate(replace(facts, lines=tuple(shuffled))).lines}

    assert together == apart


@PROPERTY
@given(documents, orders)
def test_what_is_offered_is_consistent_with_eligibility_and_the_windows(document, facts):
    for decision in compile_policy(policy_document_parse(document)).evaluate(facts).lines:
        assert decision.reason
        if not decision.eligible:
            assert decision.resolutions == ()
            assert decision.exchange_kinds == ()
            assert decision.methods == ()
            continue
        assert decision.resolutions
        assert set(decision.resolutions) <= set(RESOLUTIONS)
        assert set(decision.exchange_kinds) <= set(EXCHANGE_KINDS)
        assert bool(decision.exchange_kinds) == ("exchange" in decision.resolutions)
        assert (decision.methods == ()) == decision.keep_item
        if "refund" in decision.resolutions and not _any_reason_line(facts, decision.line_id):
            assert facts.now <= decision.refund_until
        if "exchange" in decision.resolutions and not _any_reason_line(facts, decision.line_id):
            assert facts.now <= decision.exchange_until


def _any_reason_line(facts, line_id: int) -> bool:
    """A lookup line (no reason yet) combines several answers; its windows are the latest of them."""
    return next(item for item in facts.lines if item.line_id == line_id).reason is None


@PROPERTY
@given(documents, orders)
def test_a_line_with_nothing_left_to_return_is_never_eligible(document, facts):
    compiled = compile_policy(policy_document_parse(document))

    for item, decision in zip(facts.lines, compiled.evaluate(facts).lines, strict=True):
        if item.returnable_quantity == 0:
            assert not decision.eligible
            assert decision.reason == "Already returned"


@PROPERTY
@given(documents, orders)
def test_matched_rules_are_enabled_in_document_order_and_none_follows_a_stop(document, facts):
    enabled = [r["id"] for r in document["rules"] if r["enabled"]]
    stoppers = {r["id"] for r in document["rules"] if r["stop"]}

    for decision in compile_policy(policy_document_parse(document)).evaluate(facts).lines:
        ids = [m.rule_id for m in decision.matched if not m.rule_id.startswith("builtin:")]
        assert ids == [rule_id for rule_id in enabled if rule_id in ids]
        assert all(m.why for m in decision.matched)
        for position, rule_id in enumerate(ids):
            if rule_id in stoppers:
                assert position == len(ids) - 1


@PROPERTY
@given(documents, orders, effects)
def test_a_final_unconditional_rule_decides_every_term_it_sets(document, facts, then):
    then = _with_reason(then)
    last = {"id": "last-word", "name": "Last word", "when": {}, "then": then}
    no_stops = {"rules": [{**r, "stop": False} for r in document["rules"]] + [last]}

    for decision in compile_policy(policy_document_parse(no_stops)).evaluate(facts).lines:
        if decision.reason == "Already returned":
            continue
        if "manual_review" in then:
            assert decision.manual_review is then["manual_review"]
        if then.get("eligible") is False:
            assert not decision.eligible
            assert decision.reason == then["reason"]
        if "methods" in then and decision.eligible and not decision.keep_item:
            assert set(decision.methods) <= set(then["methods"])


@PROPERTY
@given(documents, orders)
def test_before_the_reason_is_known_a_line_offers_at_least_what_any_reason_would(document, facts):
    compiled = compile_policy(policy_document_parse(document))
    unknown = replace(facts, lines=tuple(replace(item, reason=None) for item in facts.lines))
    lookup = {d.line_id: d for d in compiled.evaluate(unknown).lines}

    for reason in REASONS:
        given_reason = replace(facts, lines=tuple(replace(item, reason=reason) for item in facts.lines))
        for decision in compiled.evaluate(given_reason).lines:
            shown = lookup[decision.line_id]
            if decision.eligible:
                assert shown.eligible
                assert set(decision.resolutions) <= set(shown.resolutions)
                assert set(decision.methods) <= set(shown.methods)


@PROPERTY
@given(documents.filter(lambda d: not _mentions_days(d)), orders, st.integers(1, 400))
def test_without_day_conditions_time_passing_never_offers_more(document, facts, later_days):
    compiled = compile_policy(policy_document_parse(document))
    later = replace(facts, now=facts.now + timedelta(days=later_days))

    before = {d.line_id: d for d in compiled.evaluate(facts).lines}
    for decision in compiled.evaluate(later).lines:
        assert set(decision.resolutions) <= set(before[decision.line_id].resolutions)


def _mentions_days(document: dict[str, Any]) -> bool:
    return "days_since" in repr(document)
