"""Line evaluations per second of the policy engine with a 40-rule policy, on one core.

    .venv/bin/python -m bench.policy.run [--seconds 5] [--orders 2000]

Builds a 40-rule jewellery policy (the default rules plus collection, price, country, customer,
holiday, channel, discount and reason rules; `any` and `not` groups; one disabled rule) and a
deterministic set of orders of 1-4 lines (3 on average) with varied facts. Then, on this process's
one thread, it measures for `--seconds` each:

- lookup: the shopper has not given a reason yet (the portal's order lookup; a policy with reason
  rules decides such a line once per distinct reason class, see engine.py);
- submission: every line carries the shopper's reason (one pass per line);
- reference: building LineDecision objects with their ordinary constructor and nothing else: a
  fixed piece of Python work whose rate shows how fast the machine was during the run, so runs on
  a busy machine can be compared by the engine's rate relative to it.

Figures are CPU seconds of this process (time.process_time), so other work on the machine slows
the run less than wall time would; both are printed. Target: >= 50,000 line evaluations per second.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

TARGET = 50_000


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def policy_40() -> dict[str, Any]:
    """The default jewellery policy plus 33 rules a brand might write: 40 rules in all."""
    from assay.policies.defaults import default_jewellery_policy

    document = default_jewellery_policy()
    rules: list[dict[str, Any]] = document["rules"]

    def add(rule_id: str, when: dict[str, Any], then: dict[str, Any], **extra: Any) -> None:
        name = rule_id.replace("-", " ").capitalize()
        rules.append({"id": rule_id, "name": name, "when": when, "then": then, **extra})

    add("bridal-collection", {"sku_prefix": ["R-SOL", "R-HAL"]}, {"exchange_days": 90})
    add("wedding-bands", {"category": ["band"], "sku_prefix": ["R-CLA"]}, {"exchange_kinds": ["size", "variant"]})
    add("eternity-bands", {"sku_prefix": ["R-ETE"]}, {"exchange_kinds": ["variant", "product"]})
    add("signet-rings", {"sku_prefix": ["R-SIG"], "personalised": False}, {"destination": "bench"})
    add("charms", {"tags_any": ["charm"]}, {"refund_days": 14})
    add("chains", {"category": ["necklace"], "unit_price_below": "300"}, {"label_fee": "5"})
    add("budget", {"unit_price_below": "150"}, {"keep_item": True})
    add("mid-range", {"unit_price_at_least": "500", "unit_price_below": "2000"}, {"insured": True})
    add("top-tier", {"unit_price_at_least": "5000"}, {"restocking_fee": {"percent": "5"}, "manual_review": True})
    add("lab-grown", {"stone_origin": ["lab_grown"]}, {"bonus_exchange": {"percent": "5", "cap": "50"}})
    add("pearls", {"tags_any": ["pearl"]}, {"methods": ["mail"]})
    add("eu-cooling-off", {"country": ["DE", "FR", "IT", "ES", "NL", "IE"]}, {"refund_days": 30, "extend_days": 14})
    add("uk", {"country": ["GB"]}, {"methods": ["mail", "drop_off", "in_store"]})
    add("far-away", {"not": {"country": ["US", "CA", "GB", "DE", "FR", "IT", "ES", "NL", "IE"]}}, {"label_fee": "25"})
    add("foreign-currency", {"currency": ["EUR", "GBP"]}, {"destination": "eu-warehouse"})
    add("vip", {"customer_tags_any": ["vip"]}, {"bonus_store_credit": {"percent": "15", "cap": "200"}})
    add("loyal", {"customer_orders_at_least": 5}, {"extend_days": 15})
    add("first-order", {"not": {"customer_orders_at_least": 2}}, {"bonus_exchange": {"fixed": "10"}})
    add("wholesale", {"order_tags_any": ["wholesale"]}, {"eligible": False, "reason": "Wholesale orders: contact us."})
    add("big-order", {"order_total_at_least": "10000"}, {"signature_required": True})
    add("discounted", {"discount_used": True}, {"resolutions": ["store_credit", "exchange"]})
    add("in-store-sale", {"channel": ["pos"]}, {"methods": ["in_store"]})
    add(
        "holiday-2025",
        {"placed_between": {"from": "2025-11-15", "to": "2025-12-31"}},
        {"extend_until": "2026-01-31"},
    )
    add("late-shipment", {"days_since": {"anchor": "order", "at_least": 20}, "category": ["ring"]}, {"extend_days": 7})
    add("recent", {"days_since": {"at_most": 7}}, {"bonus_exchange": {"percent": "5"}})
    add("old-orders", {"days_since": {"anchor": "order", "at_least": 365}}, {"eligible": False, "reason": "Too old."})
    add(
        "sale-items",
        {"any": [{"tags_any": ["sale"]}, {"sku_prefix": ["OUTLET-"]}]},
        {"resolutions": ["store_credit"], "restocking_fee": {"fixed": "15"}},
    )
    add("damaged", {"reason": ["damaged", "not_as_described"]}, {"label_fee": "0", "restocking_fee": {}})
    add(
        "changed-mind",
        {"reason": ["changed_mind"], "unit_price_at_least": "1000"},
        {"restocking_fee": {"percent": "10"}},
    )
    add(
        "size-swap",
        {"reason": ["size_too_small", "size_too_large"], "category": ["ring", "band"]},
        {"exchange_kinds": ["size"], "destination": "bench"},
    )
    add("ops-hold", {"sku": ["J-07-PT", "J-07-18W"]}, {"manual_review": True})
    add("retired", {"product_type": ["discontinued"]}, {"resolutions": ["refund", "store_credit"]}, enabled=False)
    add("high-returner", {"customer_return_rate_at_least": "0.6"}, {"methods": ["mail"], "manual_review": True})
    assert len(rules) == 40, len(rules)
    return document


_SKUS = [
    ("R-SOL-14Y", "ring", Decimal("1890"), True),
    ("R-HAL-PT", "ring", Decimal("5400"), True),
    ("R-CLA-18W", "band", Decimal("890"), True),
    ("R-ETE-PT", "band", Decimal("2600"), False),
    ("R-SIG-14Y", "ring", Decimal("640"), True),
    ("J-00-14Y", "earrings", Decimal("250"), False),
    ("J-03-18W", "pendant", Decimal("775"), False),
    ("J-05-14R", "necklace", Decimal("120"), False),
    ("J-06-PT", "pendant", Decimal("1300"), False),
    ("J-07-PT", "earrings", Decimal("1475"), False),
    ("OUTLET-J-02", "earrings", Decimal("180"), False),
]
_COUNTRIES = ["US", "US", "US", "CA", "GB", "DE", "FR", "AU", "JP"]
_TAGS = [frozenset(), frozenset(), frozenset({"pearl"}), frozenset({"charm"}), frozenset({"sale"}), frozenset({"Gift"})]


def orders(count: int, *, seed: int = 7) -> list[Any]:
    """Deterministic orders of 1-4 lines (3 on average) with varied facts; every line has a reason."""
    from assay.policies.facts import REASONS, CustomerFacts, LineFacts, OrderFacts

    rnd = random.Random(seed)
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    made = []
    line_id = 0
    for number in range(count):
        placed = now - timedelta(days=rnd.choice([3, 10, 25, 40, 55, 80, 200, 400]), hours=rnd.randint(0, 23))
        shipped = placed + timedelta(days=1) if rnd.random() < 0.95 else None
        delivered = shipped + timedelta(days=3) if shipped and rnd.random() < 0.85 else None
        lines = []
        for _ in range(rnd.choice([1, 2, 3, 3, 4, 4, 4])):
            line_id += 1
            sku, category, price, resizable = rnd.choice(_SKUS)
            lines.append(
                LineFacts(
                    line_id=line_id,
                    sku=sku,
                    title=sku,
                    quantity=1,
                    returnable_quantity=0 if rnd.random() < 0.05 else 1,
                    unit_price=price,
                    category=category,
                    tags=rnd.choice(_TAGS),
                    personalised=resizable and rnd.random() < 0.2,
                    hygiene_item=category == "earrings" and rnd.random() < 0.3,
                    high_value=price >= 2500,
                    stone_origin=rnd.choice(["", "natural", "lab_grown"]),
                    resizable=resizable,
                    reason=rnd.choice(REASONS),
                )
            )
        bought = rnd.randint(1, 12)
        made.append(
            OrderFacts(
                order_id=number,
                number=f"#{1000 + number}",
                currency="EUR" if rnd.random() < 0.1 else "USD",
                total=sum((line.unit_price for line in lines), Decimal(0)),
                placed_at=placed,
                now=now,
                lines=tuple(lines),
                customer=CustomerFacts(
                    email=f"c{number}@example.com",
                    orders_count=rnd.randint(1, 8),
                    returns_count=rnd.randint(0, 4),
                    returned_units=rnd.randint(0, bought),
                    bought_units=bought,
                    tags=frozenset({"VIP"}) if rnd.random() < 0.05 else frozenset(),
                ),
                shipped_at=shipped,
                delivered_at=delivered,
                country=rnd.choice(_COUNTRIES),
                discount_used=rnd.random() < 0.2,
                tags=frozenset({"wholesale"}) if rnd.random() < 0.01 else frozenset(),
                channel="pos" if rnd.random() < 0.05 else "web",
            )
        )
    return made


def _measure(work: list[Any], evaluate: Any, seconds: float) -> tuple[int, float, float]:
    """Evaluate the orders over and over for about `seconds` of CPU: (lines, cpu s, wall s)."""
    lines = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    while time.process_time() - cpu0 < seconds:
        for facts in work:
            evaluate(facts)
            lines += len(facts.lines)
    return lines, time.process_time() - cpu0, time.perf_counter() - wall0


def _reference(work: list[Any], seconds: float) -> tuple[int, float, float]:
    from assay.policies.decision import Bonus, Fee, LineDecision, OrderDecision

    none: tuple[str, ...] = ()
    money = (Fee(), Decimal(0), Bonus(), Bonus())
    flags = (False, False, False, False, False, ())

    def build(facts: Any) -> OrderDecision:
        return OrderDecision(
            None,
            tuple(
                [
                    LineDecision(line.line_id, True, "", none, none, none, None, None, "", *money, *flags)
                    for line in facts.lines
                ]
            ),
        )

    return _measure(work, build, seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="CPU seconds per measurement (default 5)")
    parser.add_argument("--orders", type=int, default=2000, help="distinct orders evaluated in a loop (default 2000)")
    args = parser.parse_args(argv)
    _setup()
    from assay.policies.engine import compile_policy
    from assay.policies.schema import policy_document_parse

    document = policy_40()
    started = time.perf_counter()
    compiled = compile_policy(policy_document_parse(document), version_id=1)
    compile_ms = (time.perf_counter() - started) * 1000
    submitted = orders(args.orders)
    lookup = [replace(facts, lines=tuple(replace(line, reason=None) for line in facts.lines)) for facts in submitted]
    line_count = sum(len(facts.lines) for facts in submitted)
    eligible = sum(d.eligible for facts in submitted for d in compiled.evaluate(facts).lines)

    print(f"policy: {len(document['rules'])} rules ({compiled.rule_count} enabled), compiled in {compile_ms:.1f} ms")
    print(f"orders: {len(submitted):,} with {line_count:,} lines ({eligible / line_count:.0%} eligible on submission)")
    print(f"load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print()
    print(
        f"{'run':<12} {'lines':>10} {'cpu s':>7} {'wall s':>7} {'lines/s (cpu)':>14} {'lines/s (wall)':>15}"
        f" {'vs target':>10}"
    )
    results = {}
    for name, work, run in (
        ("lookup", lookup, lambda w: _measure(w, compiled.evaluate, args.seconds)),
        ("submission", submitted, lambda w: _measure(w, compiled.evaluate, args.seconds)),
        ("reference", submitted, lambda w: _reference(w, args.seconds)),
    ):
        lines, cpu, wall = run(work)
        rate = lines / cpu
        results[name] = rate
        print(
            f"{name:<12} {lines:>10,} {cpu:>7.2f} {wall:>7.2f} {rate:>14,.0f} {lines / wall:>15,.0f}"
            f" {rate / TARGET:>9.2f}x"
        )
    print()
    worst = min(results["lookup"], results["submission"])
    print(f"target: >= {TARGET:,} line evaluations/s on one core")
    print(f"ratio to target: lookup {results['lookup'] / TARGET:.2f}, submission {results['submission'] / TARGET:.2f}")
    print(
        f"relative to the reference work: lookup {results['lookup'] / results['reference']:.3f},"
        f" submission {results['submission'] / results['reference']:.3f}"
    )
    print("MET" if worst >= TARGET else "NOT MET")
    return 0


if __name__ == "__main__":
    sys.exit(main())
