"""What a caller asks for when it starts a return: plain values, validated by the services."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class ReturnLineRequest:
    """One order line to send back: how many, why, and what the shopper wants instead.

    `resolution` is one of policies.facts.RESOLUTIONS; for an exchange, `exchange_kind` is one of
    EXCHANGE_KINDS: "size" (the same piece in `size_wanted`, US size; `exchange_sku` optional),
    "variant" or "product" (`exchange_sku` required).
    """

    line_id: int
    quantity: int
    reason: str
    resolution: str
    exchange_kind: str = ""
    exchange_sku: str = ""
    size_wanted: Decimal | None = None
    comment: str = ""
