"""What each --source turns one record into: a canonical order, or a reason it cannot be one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from assay.integrations.imports.readers import CsvOrder, JsonText
from assay.integrations.imports.shopify_csv import CsvOrderInvalid, order_from_csv
from assay.integrations.shopify.mapping import order_from_shopify
from assay.integrations.shopify.payloads import ShopifyOrder
from assay.orders.schema import CanonicalOrder

SOURCES = ("shopify", "csv")
_INT32 = 2_147_483_647

# Which part of the order a nested model's error is about.
_PARTS = {
    "CanonicalLine": "line item ",
    "CanonicalCustomer": "customer ",
    "CanonicalShipment": "fulfillment ",
    "CanonicalRefund": "refund ",
}


class RecordInvalid(ValueError):
    """The record cannot become an order; the message says why, for the person fixing the file."""


def describe(exc: ValidationError, *, limit: int = 3) -> str:
    """A validation error as one line: 'line_items.0.quantity: Input should be a valid integer'."""
    part = _PARTS.get(exc.title, "")
    errors = exc.errors(include_url=False)
    parts = []
    for error in errors[:limit]:
        loc = ".".join(str(piece) for piece in error["loc"])
        parts.append(f"{part}{loc}: {error['msg']}" if loc else f"{part}{error['msg']}".strip())
    if len(errors) > limit:
        parts.append(f"and {len(errors) - limit} more")
    return "; ".join(parts)


def from_shopify(data: dict[str, Any] | JsonText) -> CanonicalOrder:
    """A Shopify Order object (the REST resource, as webhooks carry it).

    A JSON lines record is validated from its text, as a webhook body is: one pass, ~10 µs an
    order less than parsing it into dicts first. One that is refused, or that may hold what strict
    JSON does not allow, is parsed first, so its reason is the one a parsed record gets.
    """
    if isinstance(data, JsonText):
        text = data
        if text.strict_json:
            try:
                return _mapped(lambda: ShopifyOrder.model_validate_json(text.raw))
            except RecordInvalid:
                pass  # worded below from the parsed record, as for any other
        parsed, problem = text.parsed()
        if parsed is None:
            raise RecordInvalid(problem)
        data = parsed
    record = data
    return _mapped(lambda: ShopifyOrder.model_validate(record))


def _mapped(payload: Callable[[], ShopifyOrder]) -> CanonicalOrder:
    try:
        return order_from_shopify(payload())
    except ValidationError as exc:
        raise RecordInvalid(describe(exc)) from None
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise RecordInvalid(f"{type(exc).__name__}: {exc}") from None


def from_csv(data: CsvOrder) -> CanonicalOrder:
    try:
        return order_from_csv(data)
    except CsvOrderInvalid as exc:
        raise RecordInvalid(str(exc)) from None


def mapper_for(source: str) -> Callable[[Any], CanonicalOrder]:
    return from_csv if source == "csv" else from_shopify


def record_label(data: Any) -> str:
    """The order's id or number as the file gives it, to name a rejected record."""
    if isinstance(data, JsonText):
        data = data.parsed()[0]
    if isinstance(data, dict):
        for key in ("id", "name"):
            value = data.get(key)
            if isinstance(value, str | int) and not isinstance(value, bool):
                return str(value)[:64]
    elif isinstance(data, CsvOrder):
        first = data.rows[0][1]
        return (data.cell(first, "id") or data.cell(first, "name"))[:64]
    return ""


def shape_problem(order: CanonicalOrder, *, may_hold_nul: bool = True) -> str:
    """What no database write could store: ids repeated within the order, NUL characters in text,
    counts beyond 32 bits. '' when there is nothing.

    Checked before either write path, so both reject the same records for the same reason (and
    the bulk writer never meets them halfway through a batch). `may_hold_nul=False` skips the
    walk through every string when the raw record was already seen to hold no NUL.
    """
    for kind, ids in (
        ("line item", [line.external_id for line in order.lines]),
        ("fulfillment", [s.external_id for s in order.shipments if s.external_id]),
        ("refund", [r.external_id for r in order.refunds]),
    ):
        twice = _repeated(ids)
        if twice is not None:
            return f"{kind} id {twice} appears twice in the order"
    where = _nul(order) if may_hold_nul else ""
    if where:
        return f"{where} contains a NUL character, which the database cannot store"
    for line in order.lines:
        if line.fulfilled_quantity > _INT32:
            return f"line item {line.external_id}: fulfilled quantity {line.fulfilled_quantity} is too large"
    for shipment in order.shipments:
        for line_id, quantity in shipment.lines.items():
            if not 0 <= quantity <= _INT32:
                return f"fulfillment {shipment.external_id}: quantity {quantity} of line item {line_id} is out of range"
    return ""


def _repeated(ids: list[str]) -> str | None:
    seen: set[str] = set()
    for value in ids:
        if value in seen:
            return value
        seen.add(value)
    return None


def _texts(value: object) -> bool:
    """Whether a NUL character hides in a value or in the strings of a list or dict inside it."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_texts(k) or _texts(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_texts(v) for v in value)
    return False


def _nul(order: CanonicalOrder) -> str:
    """Which part of the order holds a NUL character ('' when none does)."""
    parts: list[tuple[str, object]] = [("the order", order), ("the customer", order.customer)]
    parts += [(f"line item {line.external_id}", line) for line in order.lines]
    parts += [(f"fulfillment {s.external_id}", s) for s in order.shipments]
    parts += [(f"refund {r.external_id}", r) for r in order.refunds]
    for label, part in parts:
        # Nested models are not strings, dicts or lists of them: each is checked as its own part.
        if part is not None and any(_texts(value) for value in vars(part).values()):
            return label
    return ""
