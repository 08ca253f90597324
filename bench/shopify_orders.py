"""Believable Shopify orders (the REST resource as webhooks carry it), made from a number."""

from __future__ import annotations

import random
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

_PRODUCTS = [
    ("Solitaire Engagement Ring", "AUR-SOL-14Y", "7", "1890.00", True),
    ("Classic Wedding Band 4mm", "AUR-BND-4-18W", "6.5", "640.00", True),
    ("Diamond Stud Earrings", "AUR-STD-050", None, "1250.00", False),
    ("Sapphire Pendant Necklace", "AUR-PEN-SAP", None, "980.00", False),
    ("Tennis Bracelet", "AUR-TEN-300", None, "3200.00", False),
]
_START = datetime(2025, 1, 1, tzinfo=UTC)


def shopify_order(n: int) -> dict[str, Any]:
    rng = random.Random(n)
    placed = _START + timedelta(minutes=37 * n)
    lines = []
    subtotal = 0.0
    for i in range(rng.choice((1, 1, 2, 3))):
        title, sku, size, price, ring = rng.choice(_PRODUCTS)
        properties = []
        if ring and rng.random() < 0.3:
            properties.append({"name": "Engraving", "value": rng.choice(["Always & Forever", "Für immer", "永遠"])})
        subtotal += float(price)
        lines.append(
            {
                "id": 10_000_000_000 + n * 10 + i,
                "variant_id": 40_000_000_000 + zlib.crc32(sku.encode()) % 1000,
                "product_id": 7_000_000_000 + zlib.crc32(title.encode()) % 1000,
                "sku": sku + (f"-{size}" if size else ""),
                "title": title,
                "variant_title": f"Size {size}" if size else None,
                "vendor": "Aurelia",
                "quantity": 1,
                "price": price,
                "total_discount": "0.00",
                "tax_lines": [{"title": "State tax", "price": f"{float(price) * 0.08:.2f}", "rate": 0.08}],
                "properties": properties,
                "fulfillable_quantity": 1,
                "fulfillment_status": None,
            }
        )
    tax = round(subtotal * 0.08, 2)
    email = f"customer{n % 50000}@example.com"
    return {
        "id": 5_000_000_000 + n,
        "name": f"#{1001 + n}",
        "order_number": 1001 + n,
        "email": email,
        "contact_email": email,
        "currency": "USD",
        "presentment_currency": "USD",
        "subtotal_price": f"{subtotal:.2f}",
        "total_tax": f"{tax:.2f}",
        "total_discounts": "0.00",
        "total_price": f"{subtotal + tax:.2f}",
        "taxes_included": False,
        "financial_status": "paid",
        "fulfillment_status": None,
        "created_at": placed.isoformat(),
        "processed_at": placed.isoformat(),
        "updated_at": placed.isoformat(),
        "cancelled_at": None,
        "cancel_reason": None,
        "closed_at": None,
        "source_name": "web",
        "tags": "",
        "discount_codes": [],
        "customer": {
            "id": 6_000_000_000 + n % 50000,
            "email": email,
            "first_name": "Customer",
            "last_name": str(n % 50000),
            "phone": None,
        },
        "shipping_address": {"country_code": "US", "province_code": "NY", "city": "New York", "zip": "10001"},
        "shipping_lines": [{"title": "Insured overnight", "price": "0.00"}],
        "line_items": lines,
        "fulfillments": [],
        "refunds": [],
    }
