"""The return policy engine: a validated document compiled once into Python, then evaluated per order.

Pure: no database, no clock (the time is `facts.now`), no randomness. The same document and the
same facts always give the same decision.

How a line is decided
---------------------
1. A line whose `returnable_quantity` is 0 (or less) is not eligible: "Already returned". No rule is
   consulted; `matched` holds one built-in entry, `builtin:already_returned`.
2. The line starts from the document's `defaults` terms.
3. Rules are considered in document order. A rule applies when it is enabled and every condition in
   its `when` holds (an empty `when` always holds). Each applying rule overrides exactly the terms
   its `then` sets; a later applying rule overrides an earlier one (last writer wins, field by
   field). A rule with `stop: true` that applies ends the evaluation of that line: no later rule is
   considered. So put exceptions that must win (final sale, hygiene) first with `stop`, or last
   without it.
4. The windows are computed from the resulting terms:
   - The anchor is the order date, the first shipment or the last delivery. An unknown delivery
     falls back to the first shipment, an unknown shipment to the order date: missing tracking data
     never lengthens a window. `days_since` conditions use the same fallbacks.
   - refund_until = anchor + refund_days; exchange_until = anchor + exchange_days (whole 24-hour
     periods). `extend_days` adds to both; `extend_until` keeps both open at least to the end of
     that date in the document's time zone (holiday extensions).
   - A refund needs the refund window open at `facts.now`; an exchange needs the exchange window;
     store credit follows the window named by `store_credit_window` (exchange by default), so an
     exchange or store credit stays possible after the refund window. A window is open up to and
     including its closing instant.
   - Resolutions whose window closed are dropped and the reason says so ("The 30-day refund window
     closed on 3 May 2026; exchange or store credit until 2 June 2026"). When none is left the line
     is not eligible and the reason says when the last window closed.
5. A line that is not eligible has no resolutions, exchange kinds or methods; its reason is the
   applying rule's `reason`. On an eligible line a rule's `reason` is a note before the terms.
   `keep_item` means nothing is shipped back: no methods, no label fee and no insured or
   signature-required shipment.

Compiled form: all rules become one generated Python function per version (conditions.py) that
tests each rule inline and writes the terms it sets into a flat list; explanations are built only
for rules that applied, and shared between lines with the same facts.

The shopper's reason
--------------------
When `LineFacts.reason` is set (a request being submitted) `reason` conditions test it, and that
decision is the binding one. When it is None (the order lookup, before the shopper has said why), a
reason-based rule must not make the line look ineligible, so:
- The line is first decided with no reason: every rule that requires a reason does not apply. Its
  terms (fees, bonuses, review, shipping) are the ones shown; reason rules that only change such
  terms (e.g. a restocking fee for "changed my mind") wait for the reason.
- Reason rules that change what is offered (eligible, windows, resolutions, exchange kinds,
  methods, keep_item) or that stop, and whose other conditions hold for the line, are tried: the
  line is decided again once per group of reasons those rules treat alike. The line is eligible if
  some reason allows it; resolutions, exchange kinds and methods are the union (in order of first
  appearance) over the eligible answers; the windows are the latest; the other terms come from the
  first eligible answer (the first that ships the item back, if any does); the reason text adds which
  reasons do not qualify ("Not returnable when the reason is: Changed my mind") or which do ("Only
  when the reason is: Damaged or defective").

Every LineDecision lists the rules that applied with `why`: the facts that made each condition hold.
"""

from __future__ import annotations

import dataclasses
import zoneinfo
from collections.abc import Callable, Hashable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Final, TypeVar

from assay.policies.conditions import (
    EMPTY,
    Explain,
    Namespace,
    compile_conditions,
    joined,
    key_of,
    lower_tags,
    needs_of,
    reason_sets,
    reasons_named,
)
from assay.policies.decision import Bonus, Fee, LineDecision, OrderDecision, RuleMatch
from assay.policies.facts import REASON_LABELS, REASONS, LineFacts, OrderFacts
from assay.policies.schema import BonusSpec, Effects, FeeSpec, PolicyDocument, Terms
from assay.policies.wording import Wording

T = TypeVar("T")
DAY = timedelta(days=1)
ALL_ORDER_NEEDS = frozenset({"placed_day", "return_rate", "order_tags", "customer_tags"})
ALREADY_RETURNED = "Already returned"
BUILTIN_ALREADY_RETURNED = "builtin:already_returned"
# The order of the arguments of _line_decision (below), which builds LineDecision on the hot path.
LINE_DECISION_FIELDS = (
    "line_id", "eligible", "reason", "resolutions", "exchange_kinds", "methods", "refund_until", "exchange_until",
    "destination", "restocking_fee", "label_fee", "bonus_store_credit", "bonus_exchange", "manual_review",
    "insured", "signature_required", "authenticity_check", "keep_item", "matched",
)  # fmt: skip

# The terms of a line while rules run: a flat list indexed by these slots, copied from the
# defaults per line, so applying a rule is a handful of list stores.
(
    ELIGIBLE, REASON, ANCHOR, REFUND, EXCHANGE, STORE_CREDIT_WINDOW, RESOLUTIONS, EXCHANGE_KINDS, METHODS,
    DESTINATION, RESTOCKING_FEE, LABEL_FEE, BONUS_STORE_CREDIT, BONUS_EXCHANGE, MANUAL_REVIEW, INSURED,
    SIGNATURE_REQUIRED, AUTHENTICITY_CHECK, KEEP_ITEM, EXTEND_DAYS, EXTEND_UNTIL,
) = range(21)  # fmt: skip
SLOTS = {
    "eligible": ELIGIBLE, "reason": REASON, "anchor": ANCHOR, "refund_days": REFUND, "exchange_days": EXCHANGE,
    "store_credit_window": STORE_CREDIT_WINDOW, "resolutions": RESOLUTIONS, "exchange_kinds": EXCHANGE_KINDS,
    "methods": METHODS, "destination": DESTINATION, "restocking_fee": RESTOCKING_FEE, "label_fee": LABEL_FEE,
    "bonus_store_credit": BONUS_STORE_CREDIT, "bonus_exchange": BONUS_EXCHANGE, "manual_review": MANUAL_REVIEW,
    "insured": INSURED, "signature_required": SIGNATURE_REQUIRED, "authenticity_check": AUTHENTICITY_CHECK,
    "keep_item": KEEP_ITEM, "extend_days": EXTEND_DAYS, "extend_until": EXTEND_UNTIL,
}  # fmt: skip


def _fast_constructor(cls: type[T], names: tuple[str, ...]) -> Callable[..., T]:
    """A function that builds a frozen, slotted dataclass from positional `names` without its __init__.

    A frozen dataclass's __init__ sets each field through object.__setattr__, which on the hot path
    costs more than the whole rule evaluation (3x a direct slot store, measured). The instance is
    the same: same class, fields, equality and immutability. Fields not in `names` get their
    default, so a field added to the contract later with a default is still set; one without a
    default fails here, at import.
    """
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    unknown = set(names) - {field.name for field in fields}
    if unknown:
        raise TypeError(f"{cls.__name__} has no fields {sorted(unknown)}")
    scope: dict[str, Any] = {"__builtins__": {}, "new": object.__new__, "cls": cls}
    body = ["    made = new(cls)"]
    for index, field in enumerate(fields):
        scope[f"set{index}"] = cls.__dict__[field.name].__set__
        if field.name in names:
            value = f"a{names.index(field.name)}"
        elif field.default is not dataclasses.MISSING:
            scope[f"default{index}"] = field.default
            value = f"default{index}"
        elif field.default_factory is not dataclasses.MISSING:
            scope[f"factory{index}"] = field.default_factory
            value = f"factory{index}()"
        else:
            raise TypeError(f"{cls.__name__}.{field.name} has no default and is not built by the engine")
        body.append(f"    set{index}(made, {value})")
    source = f"def build({', '.join(f'a{i}' for i in range(len(names)))}):\n" + "\n".join(body) + "\n    return made\n"
    exec(compile(source, f"<fast {cls.__name__}>", "exec"), scope)  # noqa: S102 - fixed template, no input
    return scope["build"]


_line_decision = _fast_constructor(LineDecision, LINE_DECISION_FIELDS)
_order_decision = _fast_constructor(OrderDecision, ("policy_version_id", "lines"))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class OrderContext:
    """The order's facts as conditions read them, derived once per evaluation."""

    __slots__ = (
        "anchors",
        "channel",
        "country",
        "currency",
        "customer_tags",
        "days",
        "days_delivery",
        "days_order",
        "days_shipment",
        "discount_used",
        "facts",
        "now",
        "order_tags",
        "orders_count",
        "placed_day",
        "return_rate",
        "returns_count",
        "since_delivery",
        "since_order",
        "since_shipment",
        "total",
    )

    def __init__(self, facts: OrderFacts, zone: zoneinfo.ZoneInfo, needs: frozenset[str] = ALL_ORDER_NEEDS) -> None:
        self.facts = facts
        now = self.now = _aware(facts.now)
        placed = _aware(facts.placed_at)
        shipped = _aware(facts.shipped_at) if facts.shipped_at is not None else None
        delivered = _aware(facts.delivered_at) if facts.delivered_at is not None else None
        # Missing tracking data never lengthens a window: delivery -> shipment -> order date.
        from_order = (placed, "the order")
        from_shipment = (shipped, "shipment") if shipped is not None else (placed, "the order (not shipped yet)")
        if delivered is not None:
            from_delivery = (delivered, "delivery")
        elif shipped is not None:
            from_delivery = (shipped, "shipment (delivery not recorded)")
        else:
            from_delivery = (placed, "the order (not delivered yet)")
        self.anchors: dict[str, tuple[datetime, str]] = {
            "order": from_order,
            "shipment": from_shipment,
            "delivery": from_delivery,
        }
        self.days_order = max(0, (now - from_order[0]) // DAY)
        self.days_shipment = max(0, (now - from_shipment[0]) // DAY)
        self.days_delivery = max(0, (now - from_delivery[0]) // DAY)
        self.days = {"order": self.days_order, "shipment": self.days_shipment, "delivery": self.days_delivery}
        self.since_order, self.since_shipment, self.since_delivery = from_order[1], from_shipment[1], from_delivery[1]
        # What only some conditions read is derived only for policies that have them.
        self.placed_day: date = placed.astimezone(zone).date() if "placed_day" in needs else placed.date()
        self.country = facts.country.upper()
        self.currency = facts.currency.upper()
        self.channel = facts.channel.lower()
        self.total = facts.total
        self.discount_used = facts.discount_used
        customer = facts.customer
        self.order_tags = lower_tags(facts.tags) if "order_tags" in needs else EMPTY
        self.customer_tags = lower_tags(customer.tags) if "customer_tags" in needs else EMPTY
        self.orders_count = customer.orders_count
        self.returns_count = customer.returns_count
        self.return_rate = customer.return_rate if "return_rate" in needs else Decimal(0)


# --- terms and effects as the evaluator stores them --------------------------------------------


def _fee(spec: FeeSpec) -> Fee:
    return Fee(percent=spec.percent, fixed=spec.fixed)


def _bonus(spec: BonusSpec) -> Bonus:
    return Bonus(percent=spec.percent, fixed=spec.fixed, cap=spec.cap)


def _slot_value(name: str, value: Any, zone: zoneinfo.ZoneInfo) -> Any:
    """Windows as timedeltas, lists as tuples, money as Fee/Bonus, dates as the end of that day."""
    if name in ("refund_days", "exchange_days", "extend_days"):
        return timedelta(days=value)
    if name in ("resolutions", "exchange_kinds", "methods"):
        return tuple(value)
    if name == "restocking_fee":
        return _fee(value)
    if name in ("bonus_store_credit", "bonus_exchange"):
        return _bonus(value)
    if name == "extend_until":
        return None if value is None else datetime.combine(value, time.max, tzinfo=zone)
    if name == "reason":
        return value.strip()
    return value


def _defaults(terms: Terms, zone: zoneinfo.ZoneInfo) -> list[Any]:
    state: list[Any] = [None] * len(SLOTS)
    for name, slot in SLOTS.items():
        state[slot] = _slot_value(name, getattr(terms, name), zone)
    return state


def _assignments(then: Effects, zone: zoneinfo.ZoneInfo) -> list[tuple[int, Any]]:
    return [
        (SLOTS[name], _slot_value(name, getattr(then, name), zone))
        for name in SLOTS
        if name in then.model_fields_set and getattr(then, name) is not None
    ]


class _Rule:
    """How a rule explains itself. RuleMatch objects are immutable, so the generated code keeps one
    per distinct set of facts the rule's conditions read (bounded) and shares it between lines."""

    __slots__ = ("cache", "explains", "id", "name")
    CACHE_MAX = 512  # per rule: distinct fact sets (prices, categories, day counts) seen in this process

    def __init__(self, *, id: str, name: str, explains: tuple[Explain, ...]) -> None:
        self.id = id
        self.name = name
        self.explains = explains
        self.cache: dict[Hashable, RuleMatch] = {}

    def match(self, facts: Hashable, line: LineFacts, order: OrderContext, reason: str | None) -> RuleMatch:
        """The RuleMatch for a line whose conditions read `facts` (called on a cache miss)."""
        if len(self.cache) >= self.CACHE_MAX:
            self.cache.clear()
        if not self.explains:
            why = "applies to every line"
        else:
            why = "; ".join([explain(line, order, reason) for explain in self.explains])
        found = self.cache[facts] = RuleMatch(self.id, self.name, why)
        return found


# --- the compiled policy -----------------------------------------------------------------------

# Terms that decide what a line offers (eligibility, resolutions, kinds, methods, windows). A rule
# on the shopper's reason that sets none of them (and does not stop) only changes the terms shown
# once the reason is known, so the order lookup need not try that rule's reasons.
_SHAPING = frozenset(
    {
        "eligible", "anchor", "refund_days", "exchange_days", "store_credit_window", "resolutions",
        "exchange_kinds", "methods", "keep_item", "extend_days", "extend_until",
    }
)  # fmt: skip


# What _offer answers, as a plain tuple (cheaper to build than a named one on the hot path):
# (eligible, offered, refund_until, exchange_until, extended, credit_by_refund).
_Offer = tuple[bool, tuple[str, ...], datetime, datetime, bool, bool]
OFFER_ELIGIBLE: Final = 0
OFFER_OFFERED: Final = 1
OFFER_REFUND_UNTIL: Final = 2
OFFER_EXCHANGE_UNTIL: Final = 3


class CompiledPolicy:
    """A document turned into one generated function: compile once per version, evaluate many times."""

    __slots__ = (
        "_apply",
        "_apply_shaping",
        "_classes",
        "_defaults",
        "_live",
        "_order_needs",
        "_reason_rules",
        "_wording",
        "document",
        "rule_count",
        "version_id",
        "zone",
    )

    def __init__(self, document: PolicyDocument, *, version_id: int | None = None) -> None:
        self.document = document
        self.version_id = version_id
        self.zone = zoneinfo.ZoneInfo(document.timezone)
        self._wording = Wording(self.zone)
        self._defaults = _defaults(document.defaults, self.zone)
        ns = Namespace()
        body: list[str] = []
        shaping: list[str] = []  # the rules that change what is offered, without explanations
        live: list[str] = []  # source of the function that finds the reason rules that could apply
        reason_rules: list[list[frozenset[str]]] = []  # the reason conditions of each of those rules
        enabled = [rule for rule in document.rules if rule.enabled]
        for rule in enabled:
            leaves = compile_conditions(rule.when, default_anchor=document.defaults.anchor, ns=ns)
            ns.needs |= needs_of(leaves)
            explained = _Rule(id=rule.id, name=rule.name, explains=tuple(leaf.explain for leaf in leaves))
            meta, cache = ns.const(explained), ns.const(explained.cache)
            # A rule that applies appends its RuleMatch: the cached one for these facts, else a new one.
            body.append(f"if {joined(leaves)}:")
            body.append(f"    k = {key_of(leaves)}")
            body.append(f"    m.append({cache}.get(k) or {meta}.match(k, ln, o, reason))")
            assign = [f"    s[{slot}] = {ns.const(value)}" for slot, value in _assignments(rule.then, self.zone)]
            body.extend(assign)
            if rule.stop:
                body.append("    return")
            shapes = rule.stop or bool(_SHAPING & rule.then.model_fields_set)
            if shapes:
                shaping.extend([f"if {joined(leaves)}:", *assign, "    return" if rule.stop else "    pass"])
            named = reasons_named(rule.when)
            if named and shapes:
                # Could it apply for some reason? Its other conditions decide. A reason tested inside
                # `any` or `not` is not separated from the rest, so such a rule is always a candidate.
                rest = rule.when.model_copy(update={"reason": None})
                if reasons_named(rest):
                    test = "True"
                else:
                    test = joined(compile_conditions(rest, default_anchor=document.defaults.anchor, ns=ns))
                live.append(f"if {test}: r |= {1 << len(reason_rules)}")
                reason_rules.append(reason_sets(rule.when))
        self.rule_count = len(enabled)
        self._order_needs = frozenset(ns.needs & ALL_ORDER_NEEDS)
        self._apply = ns.function("apply_rules", [*ns.preamble(), *body, "return"], args="ln, o, reason, s, m")
        # The lookup tries other reasons only for what is offered: rules that change nothing offered
        # (fees, bonuses, review...) and explanations are left out of those passes.
        self._apply_shaping = ns.function(
            "apply_shaping_rules", [*ns.preamble(), *shaping, "return"], args="ln, o, reason, s"
        )
        # A bit per reason rule that could apply to the line; the reason classes are remembered per set.
        self._live: Callable[..., int] | None = (
            ns.function("reason_rules", [*ns.preamble(), "r = 0", *live, "return r"], args="ln, o") if live else None
        )
        self._reason_rules = tuple(tuple(sets) for sets in reason_rules)
        self._classes: dict[int, list[tuple[str, ...]]] = {}

    @property
    def uses_reason(self) -> bool:
        """Whether the order lookup (reason not known) may have to try several reasons."""
        return self._live is not None

    def evaluate(self, facts: OrderFacts) -> OrderDecision:
        order = OrderContext(facts, self.zone, self._order_needs)
        decide = self._decide
        return _order_decision(self.version_id, tuple([decide(order, line) for line in facts.lines]))

    # --- the hot path: one call per line -------------------------------------------------------

    def _decide(self, order: OrderContext, line: LineFacts) -> LineDecision:
        if line.returnable_quantity <= 0:
            return self._already_returned(line)
        if line.reason is None and self._live is not None:
            classes = self._reason_classes(line, order)
            if classes:
                return self._decide_without_reason(order, line, classes)
        state = self._defaults.copy()
        applied: list[RuleMatch] = []
        self._apply(line, order, line.reason, state, applied)
        return self._decision(order, line, state, applied, self._offer(order, state))

    def _offer(self, order: OrderContext, state: list[Any]) -> _Offer:
        """The windows and what is still offered at `now` under the terms the rules left."""
        anchor_at = order.anchors[state[ANCHOR]][0]
        refund_until: datetime = anchor_at + state[REFUND]
        exchange_until: datetime = anchor_at + state[EXCHANGE]
        extended = False
        if state[EXTEND_DAYS]:
            refund_until += state[EXTEND_DAYS]
            exchange_until += state[EXTEND_DAYS]
            extended = True
        extend_until = state[EXTEND_UNTIL]
        if extend_until is not None:
            if extend_until > refund_until:
                refund_until, extended = extend_until, True
            if extend_until > exchange_until:
                exchange_until, extended = extend_until, True
        credit_by_refund = state[STORE_CREDIT_WINDOW] == "refund"
        if not state[ELIGIBLE]:
            return (False, (), refund_until, exchange_until, extended, credit_by_refund)
        now = order.now
        refund_open = now <= refund_until
        exchange_open = now <= exchange_until
        allowed: tuple[str, ...] = state[RESOLUTIONS]
        if refund_open and exchange_open:
            offered = allowed
        else:
            credit_open = refund_open if credit_by_refund else exchange_open
            is_open = {"refund": refund_open, "exchange": exchange_open, "store_credit": credit_open}
            offered = tuple([r for r in allowed if is_open[r]])
        return (bool(offered), offered, refund_until, exchange_until, extended, credit_by_refund)

    def _decision(
        self, order: OrderContext, line: LineFacts, state: list[Any], applied: list[RuleMatch], offer: _Offer
    ) -> LineDecision:
        eligible, offered, refund_until, exchange_until, extended, credit_by_refund = offer
        if eligible:
            text = self._wording.terms(
                state[REASON],
                state[RESOLUTIONS],
                offered,
                refund_until,
                exchange_until,
                credit_by_refund,
                state[REFUND].days,
                state[EXCHANGE_KINDS] == ("size",),
                extended,
            )
            keep = state[KEEP_ITEM]
            kinds = state[EXCHANGE_KINDS] if "exchange" in offered else ()
            methods = () if keep else state[METHODS]
        else:
            keep = state[KEEP_ITEM]
            kinds = methods = ()
            if state[ELIGIBLE]:  # eligible by the rules, but every window has closed
                closing = max(
                    refund_until if r == "refund" or (r == "store_credit" and credit_by_refund) else exchange_until
                    for r in state[RESOLUTIONS]
                )
                anchor_at, since = order.anchors[state[ANCHOR]]
                text = self._wording.closed(
                    closing=closing, days=(closing - anchor_at).days, since=since, extended=extended
                )
            else:
                text = state[REASON]
        shipped_back = not keep
        return _line_decision(
            line.line_id,
            eligible,
            text,
            offered,
            kinds,
            methods,
            refund_until,
            exchange_until,
            state[DESTINATION],
            state[RESTOCKING_FEE],
            state[LABEL_FEE] if shipped_back else Decimal(0),
            state[BONUS_STORE_CREDIT],
            state[BONUS_EXCHANGE],
            state[MANUAL_REVIEW],
            state[INSURED] and shipped_back,
            state[SIGNATURE_REQUIRED] and shipped_back,
            state[AUTHENTICITY_CHECK] and shipped_back,
            keep,
            tuple(applied),
        )

    def _already_returned(self, line: LineFacts) -> LineDecision:
        state = self._defaults
        return LineDecision(
            line_id=line.line_id,
            eligible=False,
            reason=ALREADY_RETURNED,
            resolutions=(),
            exchange_kinds=(),
            methods=(),
            refund_until=None,
            exchange_until=None,
            destination=state[DESTINATION],
            restocking_fee=state[RESTOCKING_FEE],
            label_fee=state[LABEL_FEE],
            bonus_store_credit=state[BONUS_STORE_CREDIT],
            bonus_exchange=state[BONUS_EXCHANGE],
            manual_review=False,
            insured=False,
            signature_required=False,
            authenticity_check=False,
            keep_item=False,
            matched=(
                RuleMatch(
                    rule_id=BUILTIN_ALREADY_RETURNED,
                    rule_name=ALREADY_RETURNED,
                    why=f"all {line.quantity} bought already returned or in an open return",
                ),
            ),
        )

    # --- the order lookup: the reason is not known yet -----------------------------------------

    def _reason_classes(self, line: LineFacts, order: OrderContext) -> list[tuple[str, ...]]:
        """Reasons that the reason rules able to apply to this line treat alike, grouped: the
        general class (reasons no such rule names) first as (), then each named group in REASONS
        order. Empty when no such rule can apply (one pass with no reason decides)."""
        assert self._live is not None
        live = self._live(line, order)
        if not live:
            return []
        classes = self._classes.get(live)
        if classes is None:
            # Reasons in exactly the same `reason` conditions of the rules that could apply are alike.
            tested = [reasons for bit, sets in enumerate(self._reason_rules) if live & (1 << bit) for reasons in sets]
            groups: dict[tuple[bool, ...], list[str]] = {}
            for reason in REASONS:
                groups.setdefault(tuple(reason in reasons for reasons in tested), []).append(reason)
            classes = [tuple(members) for signature, members in groups.items() if any(signature)]
            if any(not any(signature) for signature in groups):
                classes.insert(0, ())
            self._classes[live] = classes
        return classes

    def _decide_without_reason(
        self, order: OrderContext, line: LineFacts, classes: list[tuple[str, ...]]
    ) -> LineDecision:
        """The lookup view of a line: what some reason allows (see the module docstring)."""
        outcomes: list[tuple[tuple[str, ...], list[Any], list[RuleMatch] | None, _Offer]] = []
        for members in classes:
            state = self._defaults.copy()
            if members:
                self._apply_shaping(line, order, members[0], state)
                outcomes.append((members, state, None, self._offer(order, state)))
            else:
                # The general class runs without a reason: only rules that name no reason apply.
                applied: list[RuleMatch] = []
                self._apply(line, order, None, state, applied)
                outcomes.append((members, state, applied, self._offer(order, state)))
        yes = [outcome for outcome in outcomes if outcome[3][OFFER_ELIGIBLE]]
        # The terms shown come from the first eligible answer; from the first that ships the item
        # back when some do, so the methods shown and keep_item agree.
        shipping = [outcome for outcome in yes if not outcome[1][KEEP_ITEM]]
        members, state, applied_or_none, offer = shipping[0] if shipping else yes[0] if yes else outcomes[0]
        if applied_or_none is None:  # a reason class decides the terms shown: decide it in full
            state = self._defaults.copy()
            applied_or_none = []
            self._apply(line, order, members[0], state, applied_or_none)
        decision = self._decision(order, line, state, applied_or_none, offer)
        if not yes or len(outcomes) == 1:
            return decision
        resolutions: list[str] = []
        kinds: list[str] = []
        methods: list[str] = []
        for _, state, _, offer in yes:
            resolutions += [r for r in offer[OFFER_OFFERED] if r not in resolutions]
            if "exchange" in offer[OFFER_OFFERED]:
                kinds += [k for k in state[EXCHANGE_KINDS] if k not in kinds]
            if not state[KEEP_ITEM]:
                methods += [m for m in state[METHODS] if m not in methods]
        text = decision.reason
        if len(yes) < len(outcomes):
            if classes[0] == () and outcomes[0][3][OFFER_ELIGIBLE]:
                refused = [
                    REASON_LABELS[r] for members, *_, offer in outcomes if not offer[OFFER_ELIGIBLE] for r in members
                ]
                text = f"{text}. Not returnable when the reason is: {', '.join(refused)}"
            else:
                accepted = [REASON_LABELS[r] for members, *_ in yes for r in members]
                text = f"{text}. Only when the reason is: {', '.join(accepted)}"
        merged = (
            text,
            tuple(resolutions),
            tuple(kinds),
            tuple(methods),
            max([outcome[3][OFFER_REFUND_UNTIL] for outcome in yes]),
            max([outcome[3][OFFER_EXCHANGE_UNTIL] for outcome in yes]),
        )
        if merged == (
            decision.reason,
            decision.resolutions,
            decision.exchange_kinds,
            decision.methods,
            decision.refund_until,
            decision.exchange_until,
        ):
            return decision
        return _line_decision(decision.line_id, True, *merged, *_terms_of(decision))


def _terms_of(decision: LineDecision) -> tuple[Any, ...]:
    """The fields of a decision after its windows, in LineDecision's order (destination ... matched)."""
    return (
        decision.destination,
        decision.restocking_fee,
        decision.label_fee,
        decision.bonus_store_credit,
        decision.bonus_exchange,
        decision.manual_review,
        decision.insured,
        decision.signature_required,
        decision.authenticity_check,
        decision.keep_item,
        decision.matched,
    )


def compile_policy(document: PolicyDocument, *, version_id: int | None = None) -> CompiledPolicy:
    """Compile a validated document once; evaluate it for any number of orders."""
    return CompiledPolicy(document, version_id=version_id)


def evaluate(policy: CompiledPolicy, facts: OrderFacts) -> OrderDecision:
    """The decision for every line of an order under a compiled policy."""
    return policy.evaluate(facts)
