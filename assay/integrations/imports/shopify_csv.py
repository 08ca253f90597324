"""Shopify's "Export orders" CSV -> canonical orders.

The export has one row per line item; the first row of an order carries the order's columns
(Name, Email, Financial Status, Paid at, Fulfillment Status, Currency, Subtotal, Shipping, Taxes,
Total, Discount Code, Discount Amount, Created at, Cancelled at, Id, Tags, Source, Shipping ...,
Billing Name, Phone) and every row its "Lineitem ..." columns (quantity, name, price, sku,
discount, fulfillment status) and Vendor. Times look like "2024-03-05 14:02:11 -0500".
Column names are matched case-insensitively; columns Assay does not use are ignored.

The export carries no line-item ids, so a line's id is its position in the order (1, 2, ...):
the same file imported twice lands on the same lines.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError

from assay.integrations.imports.readers import CsvOrder
from assay.orders.schema import CanonicalOrder

SOURCE = "csv"

# Canonical field -> the export's column, to name the column a rejected value came from.
ORDER_COLUMNS = {
    "external_id": "Id", "number": "Name", "email": "Email", "currency": "Currency", "subtotal": "Subtotal",
    "total_tax": "Taxes", "total_discounts": "Discount Amount", "total_shipping": "Shipping", "total": "Total",
    "financial_status": "Financial Status", "fulfillment_status": "Fulfillment Status", "placed_at": "Created at",
    "paid_at": "Paid at", "cancelled_at": "Cancelled at", "cancel_reason": "Cancel Reason", "channel": "Source",
    "tags": "Tags", "discount_codes": "Discount Code", "shipping_country": "Shipping Country",
    "customer": "Billing Name / Phone",
}  # fmt: skip
LINE_COLUMNS = {
    "quantity": "Lineitem quantity", "title": "Lineitem name", "unit_price": "Lineitem price", "sku": "Lineitem sku",
    "total_discount": "Lineitem discount", "vendor": "Vendor", "fulfilled_quantity": "Lineitem fulfillment status",
}  # fmt: skip
_ADDRESS = {
    "name": "shipping name", "company": "shipping company", "address1": "shipping address1",
    "address2": "shipping address2", "city": "shipping city", "zip": "shipping zip",
    "province_code": "shipping province", "country_code": "shipping country", "phone": "shipping phone",
}  # fmt: skip
# The keys of a Shopify address object, so orders from the CSV and from the API look alike.
_ADDRESS_KEYS = (
    "first_name", "last_name", "name", "company", "address1", "address2", "city", "province", "province_code",
    "zip", "country", "country_code", "phone",
)  # fmt: skip


class CsvOrderInvalid(ValueError):
    """A CSV order that does not make a valid order; the message names the column and line."""


def _time(value: str) -> datetime | str | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S %z")
    except ValueError:
        return value  # ISO 8601 is accepted too; anything else is reported by validation


def _split(value: str) -> list[str]:
    return [part for part in (piece.strip() for piece in value.split(",")) if part]


def _quantity(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None


def order_from_csv(order: CsvOrder) -> CanonicalOrder:
    """The canonical order for one order's rows. Raises CsvOrderInvalid naming column and line."""
    first = order.rows[0][1]

    def cell(column: str, row: list[str] = first) -> str:
        return order.cell(row, column)

    name = cell("name")
    email = cell("email").lower()
    lines = []
    line_numbers = []
    for position, (number, row) in enumerate(order.rows, start=1):
        title = cell("lineitem name", row)
        quantity = cell("lineitem quantity", row)
        if not title and not quantity:
            continue
        status = cell("lineitem fulfillment status", row).lower()
        count = _quantity(quantity)
        line_numbers.append(number)
        lines.append(
            {
                "external_id": str(position),
                "sku": cell("lineitem sku", row),
                "title": title,
                "vendor": cell("vendor", row)[:255],
                "quantity": quantity,
                "unit_price": cell("lineitem price", row),
                "total_discount": cell("lineitem discount", row) or "0",
                "fulfilled_quantity": count if status == "fulfilled" and count and count > 0 else 0,
            }
        )
    address: dict[str, str | None] = dict.fromkeys(_ADDRESS_KEYS)
    for key, column in _ADDRESS.items():
        address[key] = cell(column) or cell(column.replace("address1", "street")) or None
    billing_first, _, billing_last = cell("billing name").partition(" ")
    data: dict[str, Any] = {
        "source": SOURCE,
        "external_id": cell("id") or name,
        "number": name,
        "email": email,
        "currency": cell("currency"),
        "subtotal": cell("subtotal") or "0",
        "total_tax": cell("taxes") or "0",
        "total_discounts": cell("discount amount") or "0",
        "total_shipping": cell("shipping") or "0",
        "total": cell("total"),
        "financial_status": cell("financial status").lower(),
        "fulfillment_status": cell("fulfillment status").lower(),
        "placed_at": _time(cell("created at")),
        "paid_at": _time(cell("paid at")),
        "cancelled_at": _time(cell("cancelled at")),
        "cancel_reason": cell("cancel reason")[:60],
        "channel": cell("source")[:40],
        "tags": _split(cell("tags")),
        "discount_codes": _split(cell("discount code")),
        "shipping_address": address if any(address.values()) else None,
        "shipping_country": cell("shipping country").upper(),
        "customer": {
            "email": email,
            "first_name": billing_first[:120],
            "last_name": billing_last.strip()[:120],
            "phone": (cell("phone") or cell("billing phone"))[:40],
        }
        if email
        else None,
        "lines": lines,
    }
    try:
        return CanonicalOrder.model_validate(data)
    except ValidationError as exc:
        raise CsvOrderInvalid(_describe(exc, line_numbers or [order.rows[0][0]])) from None


def _describe(exc: ValidationError, line_numbers: list[int]) -> str:
    """'Lineitem quantity (line 14): Input should be greater than or equal to 1; ...'"""
    parts = []
    errors = exc.errors(include_url=False)
    for error in errors[:3]:
        loc = error["loc"]
        message = error["msg"]
        if loc and loc[0] == "lines" and len(loc) >= 3 and isinstance(loc[1], int):
            line = line_numbers[loc[1]] if loc[1] < len(line_numbers) else line_numbers[0]
            column = LINE_COLUMNS.get(str(loc[2]), str(loc[2]))
            parts.append(f"{column} (line {line}): {message}")
        elif loc:
            parts.append(f"{ORDER_COLUMNS.get(str(loc[0]), str(loc[0]))}: {message}")
        else:
            parts.append(message)
    if len(errors) > 3:
        parts.append(f"and {len(errors) - 3} more")
    return "; ".join(parts)
