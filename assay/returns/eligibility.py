"""What a shopper may return from an order, and on which terms: facts from the database, decision by policy.

On the hot path of every shopper lookup (benchmarked with a million orders): one hand-written
query finds the order and reads everything the engine (and the portal's answer) needs, rows come
back as tuples, and nothing is instantiated as a model. The SQL is plain enough for SQLite and
PostgreSQL alike; values that SQLite returns raw
(text datetimes, numbers as floats, JSON as text, booleans as 0/1) are normalised here.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

import psycopg
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.utils import CursorWrapper
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from assay.catalog.models import Product, Stone, StoneOrigin, Variant
from assay.core.errors import NotFound
from assay.orders.models import Order, OrderLine, Shipment
from assay.orders.selectors import PortalLineData, PortalOrder, portal_line_properties, portal_lookup_keys
from assay.policies.decision import LineDecision, OrderDecision
from assay.policies.facts import CustomerFacts, LineFacts, OrderFacts
from assay.policies.selectors import policy_current
from assay.returns.models import ReturnLine, ReturnRequest
from assay.returns.status import CLAIMING, ReturnStatus

ORDER_CANCELLED = "This order was cancelled, so there is nothing to return."

# States that no longer claim an order line's quantity (everything else in CLAIMING does).
_RELEASED = tuple(sorted(set(ReturnStatus.values) - CLAIMING))

_t = {
    model: connection.ops.quote_name(model._meta.db_table)
    for model in (Order, OrderLine, Shipment, Product, Variant, Stone, ReturnLine, ReturnRequest)
}
_released = ", ".join(["%s"] * len(_RELEASED))

# One statement, one round trip: `target` is the order (by id, or by number and e-mail for a
# shopper's lookup: the latest wins should a number repeat) with its shipment dates and the
# customer's history with the brand by e-mail (none for a guest order without one), then one row
# per order line (one row with NULL line columns for an order without lines). The subqueries run
# once per order or per line and use the indexes on shipment.order_id, order (brand_id, email),
# stone.product_id and returnline (order_line_id, status). Server-bound on PostgreSQL, so it is
# planned once per connection rather than on every lookup (_fetch_all).
_ORDER_SQL = f"""
WITH target AS (
  SELECT o.id, o.number, o.currency, o.total, o.placed_at, o.email, o.shipping_country, o.total_discounts,
         o.discount_codes, o.tags, o.channel, o.cancelled_at, o.customer_id,
         (SELECT MIN(s.shipped_at) FROM {_t[Shipment]} s WHERE s.order_id = o.id) AS shipped_at,
         (SELECT MAX(s.delivered_at) FROM {_t[Shipment]} s WHERE s.order_id = o.id) AS delivered_at,
         (SELECT COUNT(*) FROM {_t[Order]} h WHERE h.brand_id = o.brand_id AND h.email = o.email
           AND o.email <> '') AS orders_count,
         (SELECT COALESCE(SUM(l.quantity), 0) FROM {_t[OrderLine]} l JOIN {_t[Order]} h ON h.id = l.order_id
           WHERE h.brand_id = o.brand_id AND h.email = o.email AND o.email <> '') AS bought_units,
         (SELECT COUNT(*) FROM {_t[ReturnRequest]} r WHERE r.brand_id = o.brand_id AND r.email = o.email
           AND o.email <> '' AND r.status NOT IN ({_released})) AS returns_count,
         (SELECT COALESCE(SUM(rl.quantity), 0) FROM {_t[ReturnLine]} rl
           JOIN {_t[ReturnRequest]} r ON r.id = rl.request_id
           WHERE r.brand_id = o.brand_id AND r.email = o.email AND o.email <> ''
             AND rl.status NOT IN ({_released})) AS returned_units,
         (SELECT COALESCE(SUM(rl.quantity * rl.unit_price), 0) FROM {_t[ReturnLine]} rl
           JOIN {_t[ReturnRequest]} r ON r.id = rl.request_id
           WHERE r.brand_id = o.brand_id AND r.email = o.email AND o.email <> ''
             AND rl.status NOT IN ({_released})) AS returned_value
  FROM {_t[Order]} o
  WHERE {{where}}
  ORDER BY o.placed_at DESC, o.id DESC
  LIMIT 1
)
SELECT o.id, o.number, o.currency, o.total, o.placed_at, o.email, o.shipping_country, o.total_discounts,
       o.discount_codes, o.tags, o.channel, o.cancelled_at, o.shipped_at, o.delivered_at,
       l.id, l.sku, l.title, l.quantity, l.unit_price, l.total_discount, l.personalised, l.product_id,
       p.category, p.product_type, p.tags, p.personalised, p.final_sale, p.hygiene_item, p.high_value, p.resizable,
       v.ring_size,
       (SELECT COUNT(*) FROM {_t[Stone]} st WHERE st.product_id = l.product_id AND st.origin = %s),
       (SELECT COUNT(*) FROM {_t[Stone]} st WHERE st.product_id = l.product_id AND st.origin = %s),
       (SELECT COALESCE(SUM(rl.quantity), 0) FROM {_t[ReturnLine]} rl
         WHERE rl.order_line_id = l.id AND rl.status NOT IN ({_released})),
       o.customer_id, o.orders_count, o.bought_units, o.returns_count, o.returned_units, o.returned_value,
       l.variant_title, l.properties, l.variant_id
FROM target o
LEFT JOIN {_t[OrderLine]} l ON l.order_id = o.id
LEFT JOIN {_t[Product]} p ON p.id = l.product_id
LEFT JOIN {_t[Variant]} v ON v.id = l.variant_id
ORDER BY l.position, l.id
"""  # noqa: S608 - table names come from the models, values are parameters
_BY_ID_SQL = _ORDER_SQL.replace("{where}", "o.brand_id = %s AND o.id = %s")
_BY_NUMBER_SQL = _ORDER_SQL.replace("{where}", "o.brand_id = %s AND o.number_key = %s AND o.email = %s")
# The parameters around the `target` WHERE's, in the order they appear in the statement.
_HEAD_ARGS: tuple[str, ...] = _RELEASED * 3
_TAIL_ARGS: tuple[str, ...] = (str(StoneOrigin.NATURAL.value), str(StoneOrigin.LABORATORY_GROWN.value), *_RELEASED)
_GUEST_HISTORY = (1, 0, 0, 0, 0)


def _fetch_all(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    """Run a hot read. On PostgreSQL the values are bound on the server (psycopg's own cursor rather
    than Django's client-side binding), so the statement is prepared once the database OPTIONS
    `prepare_threshold` allows (config/settings.py) and PostgreSQL neither parses nor plans it
    again on that connection: most of this statement's database time was planning. Errors and query
    logging stay Django's (as the webhook intake does, assay/webhooks/services.py)."""
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql":
        with db.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    db.ensure_connection()
    db.validate_thread_sharing()
    with db.wrap_database_errors, psycopg.Cursor(db.connection) as raw:
        if db.queries_logged:
            # Django wraps its own raw cursor the same way (its stubs type the argument otherwise).
            with db.make_debug_cursor(cast(CursorWrapper, raw)).debug_sql(sql, params):
                raw.execute(sql, params)
        else:
            raw.execute(sql, params)
        return raw.fetchall()


def _when(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)
    parsed = parse_datetime(str(value))
    if parsed is None:  # pragma: no cover - the column only ever holds datetimes
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _amount(value: Any) -> Decimal:
    if value is None:
        return Decimal(0)
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _json_list(value: Any) -> list[Any]:
    if isinstance(value, str):
        value = json.loads(value) if value else []
    return value if isinstance(value, list) else []


def _stone_origin(natural: int, lab_grown: int) -> str:
    if natural and lab_grown:
        return "mixed"
    if natural:
        return "natural"
    return "lab_grown" if lab_grown else ""


@dataclasses.dataclass(frozen=True, slots=True)
class OrderRead:
    """The facts with what the services also need of the order."""

    facts: OrderFacts
    cancelled: bool
    customer_id: int | None


def order_read(
    *, brand_id: int, order_id: int, now: datetime | None = None, reasons: Mapping[int, str] | None = None
) -> OrderRead:
    """order_facts_build's facts plus whether the order was cancelled and its customer id (same query)."""
    rows = _fetch_all(_BY_ID_SQL, [*_HEAD_ARGS, brand_id, order_id, *_TAIL_ARGS])
    if not rows:
        raise NotFound(f"no order {order_id}")
    return _order_read(rows, now=now, reasons=reasons)


def _order_read(rows: list[tuple[Any, ...]], *, now: datetime | None, reasons: Mapping[int, str] | None) -> OrderRead:
    first = rows[0]
    email = first[5] or ""
    history = first[35:40] if email else _GUEST_HISTORY
    lines: list[LineFacts] = []
    for row in rows:
        if row[14] is None:
            continue
        quantity = int(row[17])
        unit_price = _amount(row[18]) - (_amount(row[19]) / quantity if quantity else Decimal(0))
        tags = _json_list(row[24])
        lines.append(
            LineFacts(
                line_id=row[14],
                sku=row[15],
                title=row[16],
                quantity=quantity,
                returnable_quantity=max(0, quantity - int(row[33])),
                unit_price=unit_price,
                product_id=row[21],
                category=row[22] or "other",
                product_type=row[23] or "",
                tags=frozenset(str(tag) for tag in tags),
                personalised=bool(row[20]) or bool(row[25]),
                final_sale=bool(row[26]),
                hygiene_item=bool(row[27]),
                high_value=bool(row[28]),
                stone_origin=_stone_origin(int(row[31]), int(row[32])),
                resizable=bool(row[29]),
                ring_size=_amount(row[30]) if row[30] is not None else None,
                reason=(reasons or {}).get(row[14]),
            )
        )
    customer = CustomerFacts(
        email=email,
        orders_count=int(history[0]),
        bought_units=int(history[1]),
        returns_count=int(history[2]),
        returned_units=int(history[3]),
        returned_value=_amount(history[4]),
    )
    placed_at = _when(first[4])
    assert placed_at is not None
    facts = OrderFacts(
        order_id=first[0],
        number=first[1],
        currency=first[2],
        total=_amount(first[3]),
        placed_at=placed_at,
        now=now or timezone.now(),
        lines=tuple(lines),
        customer=customer,
        shipped_at=_when(first[12]),
        delivered_at=_when(first[13]),
        country=first[6] or "",
        discount_used=_amount(first[7]) > 0 or bool(_json_list(first[8])),
        tags=frozenset(str(tag) for tag in _json_list(first[9])),
        channel=first[10] or "",
    )
    return OrderRead(facts=facts, cancelled=first[11] is not None, customer_id=first[34])


def _portal_order(rows: list[tuple[Any, ...]], facts: OrderFacts) -> PortalOrder:
    return PortalOrder(
        id=facts.order_id,
        number=facts.number,
        currency=facts.currency,
        placed_at=facts.placed_at,
        lines=[
            PortalLineData(
                id=row[14],
                sku=row[15],
                title=row[16],
                variant_title=row[40],
                quantity=int(row[17]),
                unit_price=_amount(row[18]),
                total_discount=_amount(row[19]),
                properties=portal_line_properties(row[41]),
                personalised=bool(row[20]),
                product_id=row[21],
                variant_id=row[42],
            )
            for row in rows
            if row[14] is not None
        ],
    )


def order_facts_build(
    *, brand_id: int, order_id: int, now: datetime | None = None, reasons: Mapping[int, str] | None = None
) -> OrderFacts:
    """The facts the policy engine decides over, for one of the brand's orders.

    `reasons` maps order line ids to the shopper's reason (a request being submitted). Raises
    NotFound for an order that is not the brand's. Queries: two (the order with its lines, products,
    variants, stone origins, shipments and claimed quantities; the customer's history), one when the
    order has no e-mail.
    """
    return order_read(brand_id=brand_id, order_id=order_id, now=now, reasons=reasons).facts


def _cancelled(decision: LineDecision) -> LineDecision:
    return dataclasses.replace(
        decision,
        eligible=False,
        reason=ORDER_CANCELLED,
        resolutions=(),
        exchange_kinds=(),
        methods=(),
        refund_until=None,
        exchange_until=None,
        manual_review=False,
    )


def decide(facts: OrderFacts, *, brand_id: int, cancelled: bool = False) -> OrderDecision:
    """The brand's current policy applied to `facts` (no query while the policy is cached)."""
    decision = policy_current(brand_id=brand_id).compiled.evaluate(facts)
    if cancelled:
        decision = dataclasses.replace(decision, lines=tuple(_cancelled(line) for line in decision.lines))
    return decision


def order_eligibility(
    *, brand_id: int, order_id: int, now: datetime | None = None, reasons: Mapping[int, str] | None = None
) -> OrderDecision:
    """Per line of the order: eligible or not and why, resolutions, exchange kinds, methods, terms.

    Lines of a cancelled order are never eligible. Queries: those of order_facts_build, plus one when
    the brand's current policy is not cached in this process.
    """
    built = order_read(brand_id=brand_id, order_id=order_id, now=now, reasons=reasons)
    return decide(built.facts, brand_id=brand_id, cancelled=built.cancelled)


def order_facts_and_eligibility(
    *, brand_id: int, order_id: int, now: datetime | None = None, reasons: Mapping[int, str] | None = None
) -> tuple[OrderFacts, OrderDecision]:
    """Both at once, for callers that show facts (quantities, prices) beside the decision."""
    built = order_read(brand_id=brand_id, order_id=order_id, now=now, reasons=reasons)
    return built.facts, decide(built.facts, brand_id=brand_id, cancelled=built.cancelled)


@dataclasses.dataclass(frozen=True, slots=True)
class PortalEligibility:
    """A shopper's lookup: the order as the portal shows it, its facts and the policy's decision."""

    order: PortalOrder
    facts: OrderFacts
    decision: OrderDecision


def portal_order_eligibility(
    *, brand_id: int, number: str, email: str, now: datetime | None = None
) -> PortalEligibility | None:
    """The brand's order with this number and e-mail as a shopper typed them (order_for_portal's
    rules: any spelling of the number, any case of the e-mail, the latest order should a number
    repeat; None for any mismatch), with its facts and eligibility.

    One query (none for input that cannot match), plus one when the brand's policy is not cached:
    the order is found and read in the same statement.
    """
    keys = portal_lookup_keys(number=number, email=email)
    if keys is None:
        return None
    rows = _fetch_all(_BY_NUMBER_SQL, [*_HEAD_ARGS, brand_id, *keys, *_TAIL_ARGS])
    if not rows:
        return None
    built = _order_read(rows, now=now, reasons=None)
    return PortalEligibility(
        order=_portal_order(rows, built.facts),
        facts=built.facts,
        decision=decide(built.facts, brand_id=brand_id, cancelled=built.cancelled),
    )
