"""The canonical product: what a shop's catalogue maps into."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Text = Annotated[str, Field(max_length=255)]


class CanonicalVariant(BaseModel):
    model_config = ConfigDict(frozen=True)
    external_id: Annotated[str, Field(max_length=64)] = ""
    sku: Annotated[str, Field(max_length=100)] = ""
    title: Text = ""
    options: dict[str, str] = Field(default_factory=dict)
    price: Annotated[Decimal, Field(max_digits=14, decimal_places=4, ge=0)] = Decimal(0)
    inventory_quantity: int = 0
    position: Annotated[int, Field(ge=0)] = 1


class CanonicalProduct(BaseModel):
    model_config = ConfigDict(frozen=True)
    external_id: Annotated[str, Field(min_length=1, max_length=64)]
    title: Annotated[str, Field(min_length=1, max_length=255)]
    handle: Text = ""
    vendor: Text = ""
    product_type: Text = ""
    status: Annotated[str, Field(max_length=20)] = "active"
    tags: list[str] = Field(default_factory=list)
    option_names: list[str] = Field(default_factory=list)
    variants: list[CanonicalVariant] = Field(default_factory=list)
    updated_at: datetime | None = None
