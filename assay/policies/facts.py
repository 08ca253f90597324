"""What the policy engine decides over: plain, immutable facts about an order, its lines and its customer.

Built from the database by the caller (returns/eligibility.py); the engine itself never touches the
database, so the same facts always give the same decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

# The shopper-facing vocabularies, shared by the engine, the portal, the API and the returns app.
RESOLUTIONS: tuple[str, ...] = ("refund", "store_credit", "exchange")
EXCHANGE_KINDS: tuple[str, ...] = ("size", "variant", "product")  # a ring-size swap first
METHODS: tuple[str, ...] = ("mail", "drop_off", "in_store")
REASONS: tuple[str, ...] = (
    "size_too_small",
    "size_too_large",
    "not_as_described",
    "damaged",
    "changed_mind",
    "style",
    "arrived_late",
    "other",
)
REASON_LABELS: dict[str, str] = {
    "size_too_small": "Size too small",
    "size_too_large": "Size too large",
    "not_as_described": "Not as described",
    "damaged": "Damaged or defective",
    "changed_mind": "Changed my mind",
    "style": "Not my style",
    "arrived_late": "Arrived too late",
    "other": "Other",
}
STONE_ORIGINS: tuple[str, ...] = ("natural", "lab_grown", "mixed", "")  # "" = no stones recorded


@dataclass(frozen=True, slots=True)
class CustomerFacts:
    email: str
    orders_count: int = 1
    returns_count: int = 0  # earlier return requests, not counting cancelled or rejected ones
    returned_units: int = 0
    bought_units: int = 0
    returned_value: Decimal = Decimal(0)
    tags: frozenset[str] = frozenset()

    @property
    def return_rate(self) -> Decimal:
        """Returned units over bought units, 0 to 1; 0 for a first-time buyer."""
        if self.bought_units <= 0:
            return Decimal(0)
        return Decimal(self.returned_units) / Decimal(self.bought_units)


@dataclass(frozen=True, slots=True)
class LineFacts:
    line_id: int
    sku: str
    title: str
    quantity: int  # bought
    returnable_quantity: int  # bought minus what open or finished returns already claim
    unit_price: Decimal  # after the line's discounts, per unit, in the order's currency
    product_id: int | None = None
    category: str = "other"  # catalog Category value: ring, earrings, necklace, bracelet, ...
    product_type: str = ""
    tags: frozenset[str] = frozenset()
    personalised: bool = False  # engraved or made to the customer's specification
    final_sale: bool = False
    hygiene_item: bool = False
    high_value: bool = False
    stone_origin: str = ""
    resizable: bool = False
    ring_size: Decimal | None = None
    reason: str | None = None  # the shopper's reason, once a request is being submitted


@dataclass(frozen=True, slots=True)
class OrderFacts:
    order_id: int
    number: str
    currency: str
    total: Decimal
    placed_at: datetime
    now: datetime
    lines: tuple[LineFacts, ...]
    customer: CustomerFacts
    shipped_at: datetime | None = None  # first shipment
    delivered_at: datetime | None = None  # last delivery
    country: str = ""  # ISO 3166-1 alpha-2 of the shipping address
    discount_used: bool = False
    tags: frozenset[str] = frozenset()
    channel: str = ""
