"""The canonical order: every intake (Shopify webhooks, imports, CSV, demo) maps into this."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from assay.orders.models import ShipmentStatus

# 14 digits with 4 decimals fit the database columns.
Amount = Annotated[Decimal, Field(max_digits=14, decimal_places=4, ge=Decimal("-9999999999.9999"))]
NonNegativeAmount = Annotated[Decimal, Field(max_digits=14, decimal_places=4, ge=0)]
Text = Annotated[str, Field(max_length=255)]

# Property names that carry personalisation, in any shop's wording: "Engraving",
# "Personalization", "Custom Engraving Front", "Monogram", "Name on necklace"...
_PERSONALISATION = re.compile(r"engrav|personali[sz]|monogram|initial|custom\s*(text|message|name)|name\s+on", re.I)


def _currency(value: str) -> str:
    code = value.strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise ValueError(f"'{value}' is not an ISO 4217 currency code")
    return code


Currency = Annotated[str, AfterValidator(_currency)]


def number_key(number: str) -> str:
    """'#1001', ' 1001 ' and '#AUR-1001' -> '1001' / 'aur-1001': how shoppers and staff type it."""
    return re.sub(r"\s+", "", number).lstrip("#").lower()


def is_personalisation(name: str, value: str) -> bool:
    return bool(value.strip()) and not name.startswith("_") and bool(_PERSONALISATION.search(name))


class CanonicalCustomer(BaseModel):
    model_config = ConfigDict(frozen=True)
    external_id: Annotated[str, Field(max_length=64)] = ""
    email: Annotated[str, Field(max_length=254)] = ""
    first_name: Annotated[str, Field(max_length=120)] = ""
    last_name: Annotated[str, Field(max_length=120)] = ""
    phone: Annotated[str, Field(max_length=40)] = ""


class CanonicalLine(BaseModel):
    model_config = ConfigDict(frozen=True)
    external_id: Annotated[str, Field(min_length=1, max_length=64)]
    sku: Annotated[str, Field(max_length=100)] = ""
    product_external_id: Annotated[str, Field(max_length=64)] = ""
    variant_external_id: Annotated[str, Field(max_length=64)] = ""
    title: Annotated[str, Field(min_length=1, max_length=255)]
    variant_title: Text = ""
    vendor: Text = ""
    quantity: Annotated[int, Field(ge=1, le=1_000_000)]
    unit_price: NonNegativeAmount
    total_discount: NonNegativeAmount = Decimal(0)
    tax: NonNegativeAmount = Decimal(0)
    properties: dict[str, str] = Field(default_factory=dict)
    fulfilled_quantity: Annotated[int, Field(ge=0)] = 0

    @property
    def has_personalisation(self) -> bool:
        return any(is_personalisation(name, value) for name, value in self.properties.items())


class CanonicalShipment(BaseModel):
    model_config = ConfigDict(frozen=True)
    external_id: Annotated[str, Field(max_length=64)] = ""
    carrier: Annotated[str, Field(max_length=100)] = ""
    service: Annotated[str, Field(max_length=100)] = ""
    tracking_numbers: list[Annotated[str, Field(max_length=100)]] = Field(default_factory=list)
    tracking_urls: list[str] = Field(default_factory=list)
    status: ShipmentStatus = ShipmentStatus.PRE_TRANSIT
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    updated_at: datetime | None = None
    lines: dict[str, int] = Field(default_factory=dict, description="line external id -> quantity")


class CanonicalRefund(BaseModel):
    model_config = ConfigDict(frozen=True)
    external_id: Annotated[str, Field(min_length=1, max_length=64)]
    amount: NonNegativeAmount
    note: str = ""
    refunded_at: datetime | None = None
    lines: list[dict[str, str | int]] = Field(default_factory=list)


class CanonicalOrder(BaseModel):
    model_config = ConfigDict(frozen=True)
    source: Annotated[str, Field(max_length=20)]
    external_id: Annotated[str, Field(min_length=1, max_length=64)]
    number: Annotated[str, Field(min_length=1, max_length=64)]
    email: Annotated[str, Field(max_length=254)] = ""
    currency: Currency
    subtotal: Amount = Decimal(0)
    total_tax: Amount = Decimal(0)
    total_discounts: Amount = Decimal(0)
    total_shipping: Amount = Decimal(0)
    total: Amount
    taxes_included: bool = False
    financial_status: Annotated[str, Field(max_length=30)] = ""
    fulfillment_status: Annotated[str, Field(max_length=30)] = ""
    placed_at: datetime
    paid_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: Annotated[str, Field(max_length=60)] = ""
    closed_at: datetime | None = None
    channel: Annotated[str, Field(max_length=40)] = ""
    tags: list[str] = Field(default_factory=list)
    discount_codes: list[str] = Field(default_factory=list)
    shipping_address: dict[str, str | None] | None = None
    shipping_country: Annotated[str, Field(max_length=2)] = ""
    customer: CanonicalCustomer | None = None
    lines: list[CanonicalLine] = Field(default_factory=list)
    shipments: list[CanonicalShipment] = Field(default_factory=list)
    refunds: list[CanonicalRefund] = Field(default_factory=list)
    updated_at: datetime | None = None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        return value.strip().lower()

    @field_validator("placed_at", "paid_at", "cancelled_at", "closed_at", "updated_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("a time must carry its UTC offset")
        return value
