"""Rule conditions compiled to Python: one generated function per policy version, plus explanations.

Each condition becomes a Python expression over three names: `ln` (the LineFacts), `o` (the
order's prepared facts, engine.OrderContext) and `reason` (the shopper's reason or None). Every
value from the document (categories, prices, dates...) is bound as a constant in the function's
namespace (K0, K1, ...); no text from the document ever becomes source code, so a document cannot
inject code. The expressions of a rule are joined with `and` into an `if`, and all rules into one
function (engine.CompiledPolicy), so a 40-rule policy costs 40 inline tests per line rather than
hundreds of closure calls.

Each condition also has an explanation: a function that names the facts that made it hold
("category is ring", "12 days since delivery (<= 30)"). Explanations run only for rules that
applied.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from assay.policies.facts import REASON_LABELS, LineFacts
from assay.policies.schema import Conditions, DaysSince

if TYPE_CHECKING:
    from assay.policies.engine import OrderContext

Explain = Callable[[LineFacts, "OrderContext", "str | None"], str]

_MONTHS = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_STONE_ORIGIN_FACTS = {"natural": ("natural",), "lab_grown": ("lab_grown", "laboratory_grown"), "mixed": ("mixed",)}
_STONE_WORDS = {
    "natural": "natural stones",
    "lab_grown": "laboratory-grown stones",
    "laboratory_grown": "laboratory-grown stones",
    "mixed": "natural and laboratory-grown stones",
    "": "no stones recorded",
}
_FLAGS = {
    "personalised": ("personalised (engraved or made to order)", "not personalised"),
    "final_sale": ("sold as final sale", "not final sale"),
    "hygiene_item": ("hygiene item (e.g. pierced earrings)", "not a hygiene item"),
    "high_value": ("flagged high value", "not flagged high value"),
    "resizable": ("resizable", "not resizable"),
}
EMPTY: frozenset[str] = frozenset()


_LOWERED: dict[frozenset[str], frozenset[str]] = {}


def lower_tags(tags: frozenset[str]) -> frozenset[str]:
    """Tags in lower case. A catalogue has few distinct tag sets, so each is lowered once (bounded)."""
    if not tags:
        return EMPTY
    lowered = _LOWERED.get(tags)
    if lowered is None:
        if len(_LOWERED) >= 4096:
            _LOWERED.clear()
        lowered = _LOWERED[tags] = frozenset(tag.lower() for tag in tags)
    return lowered


# Values a condition reads that are worth computing once per line, and how (generated source).
# Order-level values some conditions need (OrderContext computes them only then): placed_day,
# return_rate, order_tags, customer_tags.
PREAMBLE = {
    "sku": "sku = ln.sku.upper()",
    "cat": "cat = ln.category.lower()",
    "ptype": "ptype = ln.product_type.lower()",
    "tags": "tags = lower_tags(ln.tags)",
}


@dataclass
class Namespace:
    """The constants and helpers a generated function sees, and which per-line values it needs."""

    values: dict[str, Any] = field(default_factory=lambda: {"__builtins__": {}, "lower_tags": lower_tags})
    needs: set[str] = field(default_factory=set)

    def const(self, value: Any) -> str:
        name = f"K{len(self.values)}"
        self.values[name] = value
        return name

    def preamble(self, needs: set[str] | None = None) -> list[str]:
        wanted = self.needs if needs is None else needs
        return [PREAMBLE[name] for name in PREAMBLE if name in wanted]

    def function(self, name: str, body: list[str], *, args: str = "ln, o, reason") -> Callable[..., Any]:
        source = f"def {name}({args}):\n" + "".join(f"    {line}\n" for line in body)
        scope = dict(self.values)
        exec(compile(source, f"<policy {name}>", "exec"), scope)  # noqa: S102 - source built from fixed templates
        return scope[name]


@dataclass(frozen=True)
class Leaf:
    expr: str  # a Python expression over ln, o, reason and the namespace's constants
    explain: Explain
    key: str  # an expression of the facts `explain` reads: equal keys, equal explanations
    needs: frozenset[str] = frozenset()


# --- explanations ------------------------------------------------------------------------------


def short_day(day: date) -> str:
    return f"{day.day} {_MONTHS[day.month]} {day.year}"


def money(amount: Decimal) -> str:
    return f"{amount.quantize(Decimal('0.01')):,f}"


def _listing(values: Sequence[str]) -> str:
    return ", ".join(values)


def _compare(value: Any, at_least: Any = None, at_most: Any = None, below: Any = None) -> str:
    """The bound a value meets or misses, as a true statement: ' (<= 30)' or ' (> 30)'."""
    parts = []
    if at_least is not None:
        parts.append(f">= {at_least}" if value >= at_least else f"< {at_least}")
    if at_most is not None:
        parts.append(f"<= {at_most}" if value <= at_most else f"> {at_most}")
    if below is not None:
        parts.append(f"< {below}" if value < below else f">= {below}")
    return f" ({', '.join(parts)})" if parts else ""


def _percent(rate: Decimal) -> str:
    return f"{(rate * 100).quantize(Decimal('1'))}%"


def _tagged(what: str, wanted: frozenset[str], present: frozenset[str]) -> str:
    hits = sorted(wanted & present)
    return f"{what} tagged {_listing(hits)}" if hits else f"{what} has none of the tags {_listing(sorted(wanted))}"


def _lower_set(values: Sequence[str]) -> frozenset[str]:
    return frozenset(value.lower() for value in values)


# --- compiling ---------------------------------------------------------------------------------


def compile_conditions(when: Conditions, *, default_anchor: str, ns: Namespace) -> list[Leaf]:
    """One leaf per condition given, in a fixed order: cheap, selective tests first."""
    leaves: list[Leaf] = []
    add = leaves.append

    if when.reason is not None:
        k = ns.const(frozenset(when.reason))
        add(
            Leaf(
                f"reason in {k}",
                lambda ln, o, reason: f"reason: {REASON_LABELS.get(reason or '', 'not given')}",
                "reason",
            )
        )
    if when.category is not None:
        k = ns.const(_lower_set(when.category))
        add(
            Leaf(
                f"cat in {k}",
                lambda ln, o, r: f"category is {ln.category.lower() or 'not set'}",
                "ln.category",
                frozenset({"cat"}),
            )
        )
    if when.product_type is not None:
        k = ns.const(_lower_set(when.product_type))
        add(
            Leaf(
                f"ptype in {k}",
                lambda ln, o, r: f"product type is {ln.product_type.lower() or 'not set'}",
                "ln.product_type",
                frozenset({"ptype"}),
            )
        )
    for flag, (yes, no) in _FLAGS.items():
        wanted = getattr(when, flag)
        if wanted is not None:
            add(Leaf(f"ln.{flag}" if wanted else f"not ln.{flag}", _flag_why(flag, yes, no), f"ln.{flag}"))
    if when.sku is not None:
        k = ns.const(frozenset(sku.upper() for sku in when.sku))
        add(Leaf(f"sku in {k}", lambda ln, o, r: f"SKU is {ln.sku}", "ln.sku", frozenset({"sku"})))
    if when.sku_prefix is not None:
        prefixes = tuple(prefix.upper() for prefix in when.sku_prefix)
        add(Leaf(f"sku.startswith({ns.const(prefixes)})", _prefix_why(prefixes), "ln.sku", frozenset({"sku"})))
    if when.tags_any is not None:
        wanted_tags = _lower_set(when.tags_any)
        add(
            Leaf(
                f"not {ns.const(wanted_tags)}.isdisjoint(tags)",
                lambda ln, o, r: _tagged("product", wanted_tags, lower_tags(ln.tags)),
                "ln.tags",
                frozenset({"tags"}),
            )
        )
    if when.stone_origin is not None:
        origins = frozenset(fact for origin in when.stone_origin for fact in _STONE_ORIGIN_FACTS.get(origin, ("",)))
        add(
            Leaf(
                f"ln.stone_origin in {ns.const(origins)}",
                lambda ln, o, r: _STONE_WORDS.get(ln.stone_origin, f"stones: {ln.stone_origin}"),
                "ln.stone_origin",
            )
        )
    low, high = when.unit_price_at_least, when.unit_price_below
    if low is not None or high is not None:
        parts = []
        if low is not None:
            parts.append(f"ln.unit_price >= {ns.const(low)}")
        if high is not None:
            parts.append(f"ln.unit_price < {ns.const(high)}")
        add(Leaf(" and ".join(parts), _price_why(low, high), "ln.unit_price"))
    if when.order_total_at_least is not None:
        minimum = when.order_total_at_least
        add(
            Leaf(
                f"o.total >= {ns.const(minimum)}",
                lambda ln, o, r: f"order total {money(o.total)}{_compare(o.total, at_least=minimum)}",
                "o.total",
            )
        )
    if when.currency is not None:
        k = ns.const(frozenset(code.upper() for code in when.currency))
        add(Leaf(f"o.currency in {k}", lambda ln, o, r: f"currency is {o.currency}", "o.currency"))
    if when.country is not None:
        k = ns.const(frozenset(code.upper() for code in when.country))
        add(Leaf(f"o.country in {k}", lambda ln, o, r: f"ships to {o.country or 'an unknown country'}", "o.country"))
    if when.channel is not None:
        k = ns.const(_lower_set(when.channel))
        add(Leaf(f"o.channel in {k}", lambda ln, o, r: f"channel is {o.channel or 'not set'}", "o.channel"))
    if when.discount_used is not None:
        add(
            Leaf(
                "o.discount_used" if when.discount_used else "not o.discount_used",
                lambda ln, o, r: "a discount was used" if o.discount_used else "no discount used",
                "o.discount_used",
            )
        )
    if when.order_tags_any is not None:
        order_tags = _lower_set(when.order_tags_any)
        add(
            Leaf(
                f"not {ns.const(order_tags)}.isdisjoint(o.order_tags)",
                lambda ln, o, r: _tagged("order", order_tags, o.order_tags),
                "o.order_tags",
                frozenset({"order_tags"}),
            )
        )
    if when.customer_tags_any is not None:
        customer_tags = _lower_set(when.customer_tags_any)
        add(
            Leaf(
                f"not {ns.const(customer_tags)}.isdisjoint(o.customer_tags)",
                lambda ln, o, r: _tagged("customer", customer_tags, o.customer_tags),
                "o.customer_tags",
                frozenset({"customer_tags"}),
            )
        )
    if when.customer_orders_at_least is not None:
        orders = when.customer_orders_at_least
        add(
            Leaf(
                f"o.orders_count >= {ns.const(orders)}",
                lambda ln, o, r: f"customer has {o.orders_count} orders{_compare(o.orders_count, at_least=orders)}",
                "o.orders_count",
            )
        )
    if when.customer_returns_at_least is not None:
        returns = when.customer_returns_at_least
        add(
            Leaf(
                f"o.returns_count >= {ns.const(returns)}",
                lambda ln, o, r: (
                    f"customer has {o.returns_count} earlier returns{_compare(o.returns_count, at_least=returns)}"
                ),
                "o.returns_count",
            )
        )
    if when.customer_return_rate_at_least is not None:
        rate = when.customer_return_rate_at_least
        add(
            Leaf(
                f"o.return_rate >= {ns.const(rate)}",
                lambda ln, o, r: (
                    f"customer return rate {_percent(o.return_rate)}"
                    f" ({'>=' if o.return_rate >= rate else '<'} {_percent(rate)})"
                ),
                "o.return_rate",
                frozenset({"return_rate"}),
            )
        )
    if when.days_since is not None:
        add(_days_since(when.days_since, when.days_since.anchor or default_anchor, ns))
    if when.placed_between is not None:
        start, end = when.placed_between.start, when.placed_between.end
        span = f"{short_day(start)} to {short_day(end)}"
        add(
            Leaf(
                f"{ns.const(start)} <= o.placed_day <= {ns.const(end)}",
                lambda ln, o, r: (
                    f"placed on {short_day(o.placed_day)}"
                    f" ({'within' if start <= o.placed_day <= end else 'outside'} {span})"
                ),
                "o.placed_day",
                frozenset({"placed_day"}),
            )
        )
    if when.any is not None:
        add(_any([compile_conditions(branch, default_anchor=default_anchor, ns=ns) for branch in when.any], ns))
    if when.not_ is not None:
        add(_not(compile_conditions(when.not_, default_anchor=default_anchor, ns=ns), ns))
    return leaves


def joined(leaves: Sequence[Leaf]) -> str:
    """All leaves as one expression ('True' when there are none)."""
    return " and ".join(f"({leaf.expr})" for leaf in leaves) or "True"


def key_of(leaves: Sequence[Leaf]) -> str:
    """The facts a group's explanation reads, as one expression (a tuple unless it is one value)."""
    if len(leaves) == 1 and "," not in leaves[0].key:
        return leaves[0].key
    return f"({', '.join(leaf.key for leaf in leaves)},)" if leaves else "()"


def needs_of(leaves: Sequence[Leaf]) -> frozenset[str]:
    return frozenset().union(*(leaf.needs for leaf in leaves))


def _test(leaves: Sequence[Leaf], ns: Namespace) -> Callable[[LineFacts, OrderContext, str | None], bool]:
    """A group of leaves as a standalone function, for explanations (not the hot path)."""
    return ns.function("group", [*ns.preamble(set(needs_of(leaves))), f"return {joined(leaves)}"])


def _any(branches: list[list[Leaf]], ns: Namespace) -> Leaf:
    tests = [(_test(branch, ns), branch) for branch in branches]

    def why(ln: LineFacts, o: OrderContext, reason: str | None) -> str:
        for test, branch in tests:
            if test(ln, o, reason):
                return "; ".join(leaf.explain(ln, o, reason) for leaf in branch) or "always"
        return "none of the alternatives holds"

    expr = " or ".join(f"({joined(branch)})" for branch in branches)
    inner = [leaf for branch in branches for leaf in branch]
    return Leaf(expr, why, key_of(inner), needs_of(inner))


def _not(inner: list[Leaf], ns: Namespace) -> Leaf:
    tests = [(_test([leaf], ns), leaf) for leaf in inner]

    def why(ln: LineFacts, o: OrderContext, reason: str | None) -> str:
        # The facts that break the inner group are the ones worth naming.
        failing = [leaf.explain(ln, o, reason) for test, leaf in tests if not test(ln, o, reason)]
        return f"not excluded ({'; '.join(failing)})"

    return Leaf(f"not ({joined(inner)})", why, key_of(inner), needs_of(inner))


def _flag_why(flag: str, yes: str, no: str) -> Explain:
    def why(ln: LineFacts, o: OrderContext, reason: str | None) -> str:
        return yes if getattr(ln, flag) else no

    return why


def _prefix_why(prefixes: tuple[str, ...]) -> Explain:
    def why(ln: LineFacts, o: OrderContext, reason: str | None) -> str:
        sku = ln.sku.upper()
        hit = next((prefix for prefix in prefixes if sku.startswith(prefix)), None)
        return f"SKU {ln.sku} starts with {hit}" if hit else f"SKU {ln.sku} has none of the prefixes"

    return why


def _price_why(low: Decimal | None, high: Decimal | None) -> Explain:
    def why(ln: LineFacts, o: OrderContext, reason: str | None) -> str:
        return f"unit price {money(ln.unit_price)}{_compare(ln.unit_price, at_least=low, below=high)}"

    return why


def _days_since(spec: DaysSince, anchor: str, ns: Namespace) -> Leaf:
    low, high = spec.at_least, spec.at_most
    parts = []
    if low is not None:
        parts.append(f"o.days_{anchor} >= {ns.const(low)}")
    if high is not None:
        parts.append(f"o.days_{anchor} <= {ns.const(high)}")

    def why(ln: LineFacts, o: OrderContext, reason: str | None) -> str:
        days = o.days[anchor]
        since = o.anchors[anchor][1]
        return f"{days} day{'' if days == 1 else 's'} since {since}{_compare(days, at_least=low, at_most=high)}"

    return Leaf(" and ".join(parts), why, f"o.days_{anchor}, o.since_{anchor}")


def reason_sets(when: Conditions) -> list[frozenset[str]]:
    """Each `reason` condition in a group, at any depth: two reasons in exactly the same sets are
    treated alike by these conditions."""
    found: list[frozenset[str]] = [frozenset(when.reason)] if when.reason is not None else []
    for branch in when.any or ():
        found += reason_sets(branch)
    if when.not_ is not None:
        found += reason_sets(when.not_)
    return found


def reasons_named(when: Conditions) -> set[str]:
    """Every reason a group of conditions tests, at any depth."""
    found: set[str] = set(when.reason or ())
    for branch in when.any or ():
        found |= reasons_named(branch)
    if when.not_ is not None:
        found |= reasons_named(when.not_)
    return found
