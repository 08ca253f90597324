"""What a shopper may return from an order, and on which terms: facts from the database, decision by policy.

On the hot path of every shopper lookup (benchmarked with a million orders): two hand-written
queries read everything the engine needs, rows come back as tuples, and nothing is instantiated as
a model. The SQL is plain enough for SQLite and PostgreSQL alike; values that SQLite returns raw
(text datetimes, numbers as floats, JSON as text, booleans as 0/1) are normalised here.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from assay.catalog.models import Product, Stone, StoneOrigin, Variant
from assay.core.errors import NotFound
from assay.orders.models import Order, OrderLine, Shipment
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

# One row per order line (one row with NULL line columns for an order without lines). The
# per-line subqueries use the indexes on shipment.order_id, stone.product_id and
# returnline (order_line_id, status).
_ORDER_SQL = f"""
SELECT o.id, o.number, o.currency, o.total, o.placed_at, o.email, o.shipping_country, o.total_discounts,
       o.discount_codes, o.tags, o.channel, o.cancelled_at,
       (SELECT MIN(s.shipped_at) FROM {_t[Shipment]} s WHERE s.order_id = o.id),
       (SELECT MAX(s.delivered_at) FROM {_t[Shipment]} s WHERE s.order_id = o.id),
       l.id, l.sku, l.title, l.quantity, l.unit_price, l.total_discount, l.personalised, l.product_id,
       p.category, p.product_type, p.tags, p.personalised, p.final_sale, p.hygiene_item, p.high_value, p.resizable,
       v.ring_size,
       (SELECT COUNT(*) FROM {_t[Stone]} st WHERE st.product_id = l.product_id AND st.origin = %s),
       (SELECT COUNT(*) FROM {_t[Stone]} st WHERE st.product_id = l.product_id AND st.origin = %s),
       (SELECT COALESCE(SUM(rl.quantity), 0) FROM {_t[ReturnLine]} rl
         WHERE rl.order_line_id = l.id AND rl.status NOT IN ({_released})),
       o.customer_id
FROM {_t[Order]} o
LEFT JOIN {_t[OrderLine]} l ON l.order_id = o.id
LEFT JOIN {_t[Product]} p ON p.id = l.product_id
LEFT JOIN {_t[Variant]} v ON v.id = l.variant_id
WHERE o.brand_id = %s AND o.id = %s
ORDER BY l.position, l.id
"""  # noqa: S608 - table names come from the models, values are parameters

# The customer's history with this brand, by e-mail (guest orders have no customer row).
_CUSTOMER_SQL = f"""
SELECT
  (SELECT COUNT(*) FROM {_t[Order]} o WHERE o.brand_id = %s AND o.email = %s),
  (SELECT COALESCE(SUM(l.quantity), 0) FROM {_t[OrderLine]} l JOIN {_t[Order]} o ON o.id = l.order_id
    WHERE o.brand_id = %s AND o.email = %s),
  (SELECT COUNT(*) FROM {_t[ReturnRequest]} r WHERE r.brand_id = %s AND r.email = %s
    AND r.status NOT IN ({_released})),
  (SELECT COALESCE(SUM(rl.quantity), 0) FROM {_t[ReturnLine]} rl JOIN {_t[ReturnRequest]} r ON r.id = rl.request_id
    WHERE r.brand_id = %s AND r.email = %s AND rl.status NOT IN ({_released})),
  (SELECT COALESCE(SUM(rl.quantity * rl.unit_price), 0) FROM {_t[ReturnLine]} rl
    JOIN {_t[ReturnRequest]} r ON r.id = rl.request_id
    WHERE r.brand_id = %s AND r.email = %s AND rl.status NOT IN ({_released}))
"""  # noqa: S608 - as above


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
    """order_facts_build's facts plus whether the order was cancelled and its customer id (same queries)."""
    with connection.cursor() as cursor:
        cursor.execute(_ORDER_SQL, [StoneOrigin.NATURAL, StoneOrigin.LABORATORY_GROWN, *_RELEASED, brand_id, order_id])
        rows = cursor.fetchall()
        if not rows:
            raise NotFound(f"no order {order_id}")
        first = rows[0]
        email = first[5] or ""
        if email:
            args: list[Any] = []
            for _ in range(2):
                args += [brand_id, email]
            for _ in range(3):
                args += [brand_id, email, *_RELEASED]
            cursor.execute(_CUSTOMER_SQL, args)
            history = cursor.fetchone()
        else:
            history = (1, 0, 0, 0, 0)
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
