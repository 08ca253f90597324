"""Builders of engine input: facts about an order, its lines and its customer, and small documents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from assay.policies.engine import CompiledPolicy, compile_policy
from assay.policies.facts import CustomerFacts, LineFacts, OrderFacts
from assay.policies.schema import policy_document_parse

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def line(line_id: int = 1, **overrides: Any) -> LineFacts:
    values: dict[str, Any] = {
        "line_id": line_id,
        "sku": f"AUR-RING-{line_id}",
        "title": "Solitaire ring",
        "quantity": 1,
        "returnable_quantity": 1,
        "unit_price": Decimal("800"),
        "category": "ring",
    }
    values.update(overrides)
    return LineFacts(**values)


def order(
    *lines: LineFacts,
    now: datetime = NOW,
    placed_days_ago: float | None = 12,
    shipped_days_ago: float | None = 11,
    delivered_days_ago: float | None = 10,
    customer: CustomerFacts | None = None,
    **overrides: Any,
) -> OrderFacts:
    """An order placed, shipped and delivered the given number of days before `now`."""

    def ago(days: float | None) -> datetime | None:
        return None if days is None else now - timedelta(days=days)

    values: dict[str, Any] = {
        "order_id": 1,
        "number": "#1001",
        "currency": "USD",
        "total": sum((item.unit_price * item.quantity for item in lines), Decimal(0)),
        "placed_at": ago(placed_days_ago),
        "shipped_at": ago(shipped_days_ago),
        "delivered_at": ago(delivered_days_ago),
        "now": now,
        "lines": lines or (line(),),
        "customer": customer or CustomerFacts(email="ada@example.com"),
    }
    values.update(overrides)
    return OrderFacts(**values)


def policy(rules: list[dict[str, Any]] | None = None, **document: Any) -> CompiledPolicy:
    """A compiled document: the given rules over the schema's default terms."""
    return compile_policy(policy_document_parse({"rules": rules or [], **document}))


def rule(rule_id: str, when: dict[str, Any] | None = None, stop: bool = False, **then: Any) -> dict[str, Any]:
    name = rule_id.replace("-", " ").capitalize()
    return {"id": rule_id, "name": name, "when": when or {}, "then": then, "stop": stop}
