"""Shopify Order objects (the REST resource, as webhooks carry it) made from a number."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

_START = datetime(2024, 1, 1, tzinfo=UTC)
_ITEMS = [
    ("Classic Wedding Band 4mm", "AUR-BND-4-18W", "640.00"),
    ("Diamond Stud Earrings", "AUR-STD-050", "1250.00"),
    ("Sapphire Pendant Necklace", "AUR-PEN-SAP", "980.00"),
]


def shopify_order(n: int, *, lines: int = 2, updated: int = 0, fulfilled: bool = True) -> dict[str, Any]:
    """Order number n; `updated` moves its updated_at (and nothing else) forward by that many hours."""
    placed = _START + timedelta(minutes=37 * n)
    items = []
    for i in range(lines):
        title, sku, price = _ITEMS[(n + i) % len(_ITEMS)]
        items.append(
            {
                "id": 10_000_000 + n * 10 + i,
                "variant_id": 40_000 + (n + i) % len(_ITEMS),
                "product_id": 70_000 + (n + i) % len(_ITEMS),
                "sku": f"{sku}-{n % 7}",
                "title": title,
                "variant_title": f"Size {n % 7}",
                "vendor": "Aurelia",
                "quantity": 1 + i % 2,
                "price": price,
                "total_discount": "0.00",
                "tax_lines": [{"title": "State tax", "price": "8.00", "rate": 0.08}],
                "properties": [{"name": "Engraving", "value": f"Für immer {n}"}] if n % 3 == 0 and i == 0 else [],
            }
        )
    email = f"customer{n % 97}@mail.example.com"
    return {
        "id": 5_000_000 + n,
        "name": f"#{1001 + n}",
        "email": email,
        "currency": "USD",
        "subtotal_price": "100.00",
        "total_tax": "8.00",
        "total_discounts": "0.00",
        "total_price": "108.00",
        "financial_status": "paid",
        "fulfillment_status": "fulfilled" if fulfilled else None,
        "created_at": placed.isoformat(),
        "updated_at": (placed + timedelta(hours=1 + updated)).isoformat(),
        "source_name": "web",
        "tags": "history",
        "customer": {"id": 6_000_000 + n % 97, "email": email, "first_name": "Customer", "last_name": str(n % 97)}
        if n % 11
        else None,
        "shipping_address": {"city": "New York", "province_code": "NY", "zip": "10001", "country_code": "US"},
        "line_items": items,
        "fulfillments": [
            {
                "id": 9_000_000 + n,
                "order_id": 5_000_000 + n,
                "status": "success",
                "shipment_status": "delivered",
                "tracking_company": "UPS",
                "tracking_numbers": [f"1Z{n:010d}"],
                "created_at": (placed + timedelta(days=1)).isoformat(),
                "updated_at": (placed + timedelta(days=3)).isoformat(),
                "line_items": [{"id": item["id"], "quantity": item["quantity"]} for item in items],
            }
        ]
        if fulfilled
        else [],
        "refunds": [],
    }


def json_lines(orders: list[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(order) + b"\n" for order in orders)
