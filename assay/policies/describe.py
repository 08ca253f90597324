"""A policy document in words, for people: staff reading the current policy or a past version.

    describe_policy(document) -> PolicyDescription(name, defaults=[...], rules=[RuleDescription(...)])

Every condition and effect becomes a short phrase ("category is ring or band", "free return label").
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from assay.policies.conditions import short_day
from assay.policies.facts import REASON_LABELS
from assay.policies.schema import BonusSpec, Conditions, Effects, FeeSpec, PolicyDocument, ResolutionTerms, Terms

_RESOLUTIONS = {"refund": "refund", "store_credit": "store credit", "exchange": "exchange"}
_KINDS = {"size": "another size", "variant": "another variant", "product": "another product"}
_METHODS = {"mail": "by mail (prepaid label)", "drop_off": "drop-off (QR code)", "in_store": "in store"}
_ANCHORS = {"order": "the order", "shipment": "shipment", "delivery": "delivery"}
_STONES = {
    "natural": "natural",
    "lab_grown": "laboratory-grown",
    "mixed": "natural and laboratory-grown",
    "none": "none",
}
_FLAGS = {
    "personalised": ("engraved or personalised", "not engraved or personalised"),
    "final_sale": ("sold as final sale", "not final sale"),
    "hygiene_item": ("a hygiene item (e.g. pierced earrings)", "not a hygiene item"),
    "high_value": ("flagged high value", "not flagged high value"),
    "resizable": ("resizable", "not resizable"),
}


@dataclass(frozen=True, slots=True)
class RuleDescription:
    position: int
    id: str
    name: str
    description: str
    enabled: bool
    stop: bool
    when: list[str]  # empty: applies to every line
    then: list[str]


@dataclass(frozen=True, slots=True)
class PolicyDescription:
    name: str
    timezone: str
    defaults: list[str]
    rules: list[RuleDescription]


def _or(values: list[str]) -> str:
    if len(values) <= 1:
        return "".join(values)
    return f"{', '.join(values[:-1])} or {values[-1]}"


def _and(values: list[str]) -> str:
    if len(values) <= 1:
        return "".join(values)
    return f"{', '.join(values[:-1])} and {values[-1]}"


def _amount(value: Decimal) -> str:
    text = f"{value:,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _percent(value: Decimal) -> str:
    return f"{_amount(value)}%"


def describe_conditions(when: Conditions) -> list[str]:
    """Each condition as a phrase; all must hold. Empty for a rule that applies to every line."""
    said: list[str] = []
    if when.days_since is not None:
        spec = when.days_since
        since = _ANCHORS[spec.anchor] if spec.anchor else "the usual anchor"
        if spec.at_least is not None and spec.at_most is not None:
            said.append(f"{spec.at_least} to {spec.at_most} days since {since}")
        elif spec.at_least is not None:
            said.append(f"at least {spec.at_least} days since {since}")
        else:
            said.append(f"at most {spec.at_most} days since {since}")
    if when.placed_between is not None:
        span = when.placed_between
        said.append(f"ordered between {short_day(span.start)} and {short_day(span.end)}")
    if when.category is not None:
        said.append(f"category is {_or(when.category)}")
    if when.product_type is not None:
        said.append(f"product type is {_or(when.product_type)}")
    if when.tags_any is not None:
        said.append(f"product tagged {_or(when.tags_any)}")
    if when.sku is not None:
        said.append(f"SKU is {_or(when.sku)}")
    if when.sku_prefix is not None:
        said.append(f"SKU starts with {_or(when.sku_prefix)}")
    low, high = when.unit_price_at_least, when.unit_price_below
    if low is not None and high is not None:
        said.append(f"unit price from {_amount(low)} to below {_amount(high)}")
    elif low is not None:
        said.append(f"unit price at least {_amount(low)}")
    elif high is not None:
        said.append(f"unit price below {_amount(high)}")
    if when.order_total_at_least is not None:
        said.append(f"order total at least {_amount(when.order_total_at_least)}")
    if when.currency is not None:
        said.append(f"paid in {_or([c.upper() for c in when.currency])}")
    for flag, (yes, no) in _FLAGS.items():
        wanted = getattr(when, flag)
        if wanted is not None:
            said.append(yes if wanted else no)
    if when.stone_origin is not None:
        said.append(f"stones: {_or([_STONES[o] for o in when.stone_origin])}")
    if when.country is not None:
        said.append(f"ships to {_or([c.upper() for c in when.country])}")
    if when.channel is not None:
        said.append(f"sold through {_or(when.channel)}")
    if when.discount_used is not None:
        said.append("a discount was used" if when.discount_used else "no discount used")
    if when.order_tags_any is not None:
        said.append(f"order tagged {_or(when.order_tags_any)}")
    if when.customer_tags_any is not None:
        said.append(f"customer tagged {_or(when.customer_tags_any)}")
    if when.customer_orders_at_least is not None:
        said.append(f"customer has at least {when.customer_orders_at_least} orders")
    if when.customer_returns_at_least is not None:
        said.append(f"customer has at least {when.customer_returns_at_least} earlier returns")
    if when.customer_return_rate_at_least is not None:
        said.append(f"customer return rate at least {_percent(when.customer_return_rate_at_least * 100)}")
    if when.reason is not None:
        said.append(f"the shopper's reason is {_or([REASON_LABELS[r] for r in when.reason])}")
    if when.any is not None:
        groups = [_and(describe_conditions(branch)) or "always" for branch in when.any]
        said.append("either " + " or ".join(f"({group})" for group in groups))
    if when.not_ is not None:
        said.append(f"not ({_and(describe_conditions(when.not_)) or 'always'})")
    return said


def _fee(fee: FeeSpec) -> str:
    parts = [_percent(fee.percent)] if fee.percent else []
    if fee.fixed:
        parts.append(_amount(fee.fixed))
    return " + ".join(parts)


def _bonus(bonus: BonusSpec) -> str:
    text = _fee(FeeSpec(percent=bonus.percent, fixed=bonus.fixed))
    if text and bonus.cap is not None:
        text += f" (at most {_amount(bonus.cap)})"
    return text


def describe_effects(then: Effects | Terms, *, only_set: bool = True) -> list[str]:
    """Each effect as a phrase. For a rule, only what it sets; for the defaults, every term."""
    given = then.model_fields_set if only_set else set(type(then).model_fields)
    said: list[str] = []

    def has(name: str) -> bool:
        return name in given and getattr(then, name) is not None

    if has("eligible"):
        if then.eligible:
            said.append("returnable")
        else:
            said.append(f"not returnable: “{then.reason}”")
    if has("reason") and then.reason and then.eligible is not False:
        said.append(f"tells the shopper: “{then.reason}”")
    if has("refund_days"):
        said.append(f"refund within {then.refund_days} days")
    if has("exchange_days"):
        said.append(f"exchange within {then.exchange_days} days")
    if has("anchor"):
        said.append(f"windows count from {_ANCHORS[then.anchor or 'delivery']}")
    if has("store_credit_window"):
        said.append(f"store credit follows the {then.store_credit_window} window")
    if has("resolutions"):
        said.append(f"offers {_or([_RESOLUTIONS[r] for r in then.resolutions or ()])}")
    if has("exchange_kinds"):
        kinds = list(then.exchange_kinds or ())
        said.append(
            "exchange for another size only (resize)"
            if kinds == ["size"]
            else f"exchange for {_or([_KINDS[k] for k in kinds])}"
        )
    if has("methods"):
        said.append(f"returned {_or([_METHODS[m] for m in then.methods or ()])}")
    if has("destination"):
        said.append(f"goes back to: {then.destination}")
    if has("restocking_fee"):
        fee = _fee(then.restocking_fee) if then.restocking_fee else ""
        said.append(f"restocking fee {fee}" if fee else "no restocking fee")
    if has("label_fee"):
        said.append("free return label" if not then.label_fee else f"label fee {_amount(then.label_fee)}")
    if has("bonus_store_credit"):
        bonus = _bonus(then.bonus_store_credit) if then.bonus_store_credit else ""
        said.append(f"store credit bonus {bonus}" if bonus else "no store credit bonus")
    if has("bonus_exchange"):
        bonus = _bonus(then.bonus_exchange) if then.bonus_exchange else ""
        said.append(f"exchange bonus {bonus}" if bonus else "no exchange bonus")
    for flag, yes, no in (
        ("manual_review", "a person approves the request first", "approved automatically"),
        ("insured", "insured return shipping", "uninsured return shipping"),
        ("signature_required", "signature required on delivery", "no signature required"),
        ("authenticity_check", "authenticity check on arrival", "no authenticity check"),
        ("keep_item", "the shopper keeps the item", ""),
    ):
        if has(flag):
            value = getattr(then, flag)
            if value or no:
                said.append(yes if value else no)
    if has("extend_days") and then.extend_days:
        said.append(f"windows extended by {then.extend_days} days")
    if has("extend_until"):
        said.append(f"windows open at least until {short_day(then.extend_until)}")  # type: ignore[arg-type]
    return said


_RESOLVE_ON = {
    "approval": "on approval",
    "first_scan": "on the carrier's first scan",
    "receipt": "on receipt at the warehouse",
    "inspection": "after inspection",
}


def describe_resolution(terms: ResolutionTerms) -> list[str]:
    """When returns are settled, and whether shipping is refunded."""
    said = [
        f"refunds, credit and exchanges are carried out {_RESOLVE_ON[terms.resolve_on]}",
        "the order's shipping is refunded" if terms.refund_shipping else "the order's shipping is not refunded",
    ]
    if terms.instant_exchange:
        said.append(
            f"even swaps worth up to {_amount(terms.instant_exchange_max_value)} ship before the return arrives, "
            "behind a hold on the shopper's card"
        )
    return said


def describe_policy(document: PolicyDocument) -> PolicyDescription:
    return PolicyDescription(
        name=document.name,
        timezone=document.timezone,
        defaults=[*describe_effects(document.defaults, only_set=False), *describe_resolution(document.resolution)],
        rules=[
            RuleDescription(
                position=position,
                id=rule.id,
                name=rule.name,
                description=rule.description,
                enabled=rule.enabled,
                stop=rule.stop,
                when=describe_conditions(rule.when),
                then=describe_effects(rule.then),
            )
            for position, rule in enumerate(document.rules, start=1)
        ],
    )
