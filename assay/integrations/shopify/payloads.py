"""Shopify's REST objects as its webhooks send them (Admin API, REST resources).

Only the fields Assay reads are declared; everything else Shopify sends is ignored, so a new API
version adding fields never breaks intake. Money arrives as decimal strings ("409.94") and is
parsed to Decimal; ids are 64-bit integers. Customer, addresses and e-mail may be null or empty
(protected customer data), and line-item property values are not always strings.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

__all__ = [
    "TOPIC_MODELS",
    "ShopifyAddress",
    "ShopifyCustomer",
    "ShopifyDeletedProduct",
    "ShopifyDiscountCode",
    "ShopifyFulfillment",
    "ShopifyFulfillmentLine",
    "ShopifyLineItem",
    "ShopifyMoney",
    "ShopifyMoneySet",
    "ShopifyOption",
    "ShopifyOrder",
    "ShopifyProduct",
    "ShopifyProperty",
    "ShopifyRefund",
    "ShopifyRefundLineItem",
    "ShopifyShippingLine",
    "ShopifyTaxLine",
    "ShopifyTransaction",
    "ShopifyVariant",
]


class _Payload(BaseModel):
    # Tolerant of what Shopify adds; strict about the types of what we read.
    model_config = ConfigDict(extra="ignore", frozen=True)


class ShopifyMoney(_Payload):
    amount: Decimal
    currency_code: str = ""


class ShopifyMoneySet(_Payload):
    """A *_set field: the amount in the shop's currency and in the currency the buyer saw."""

    shop_money: ShopifyMoney
    presentment_money: ShopifyMoney | None = None


class ShopifyTaxLine(_Payload):
    title: str | None = None
    price: Decimal = Decimal(0)
    rate: Decimal | None = None


class ShopifyProperty(_Payload):
    """A line-item property: {"name": "Engraving", "value": "Für immer"}. Apps also send numbers,
    booleans or null as the value, and occasionally a number as the name."""

    model_config = ConfigDict(extra="ignore", frozen=True, coerce_numbers_to_str=True)
    name: str
    value: Any = None


class ShopifyDiscountCode(_Payload):
    code: str
    amount: Decimal | None = None
    type: str | None = None


class ShopifyAddress(_Payload):
    first_name: str | None = None
    last_name: str | None = None
    name: str | None = None
    company: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    province: str | None = None
    province_code: str | None = None
    zip: str | None = None
    country: str | None = None
    country_code: str | None = None
    phone: str | None = None


class ShopifyCustomer(_Payload):
    id: int
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None


class ShopifyShippingLine(_Payload):
    title: str | None = None
    code: str | None = None
    price: Decimal = Decimal(0)
    discounted_price: Decimal | None = None


class ShopifyLineItem(_Payload):
    id: int
    variant_id: int | None = None
    product_id: int | None = None
    sku: str | None = None
    title: str | None = None
    name: str | None = None
    variant_title: str | None = None
    vendor: str | None = None
    quantity: int
    current_quantity: int | None = None
    price: Decimal
    total_discount: Decimal = Decimal(0)
    tax_lines: list[ShopifyTaxLine] = Field(default_factory=list)
    # Documented as [{name, value}]; some apps have written an object instead.
    properties: list[ShopifyProperty] | dict[str, Any] | None = None
    fulfillable_quantity: int | None = None
    fulfillment_status: str | None = None


class ShopifyFulfillmentLine(_Payload):
    """A line item inside a fulfilment: the order line's id and the quantity this shipment carries."""

    id: int
    quantity: int


class ShopifyFulfillment(_Payload):
    id: int
    order_id: int
    name: str | None = None
    status: str | None = None
    shipment_status: str | None = None
    service: str | None = None
    tracking_company: str | None = None
    tracking_number: str | None = None
    tracking_numbers: list[str] = Field(default_factory=list)
    tracking_url: str | None = None
    tracking_urls: list[str] = Field(default_factory=list)
    line_items: list[ShopifyFulfillmentLine] = Field(default_factory=list)
    created_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None


class ShopifyRefundLineItem(_Payload):
    id: int | None = None
    line_item_id: int
    quantity: int
    restock_type: str | None = None
    # Numbers in the REST body ("subtotal": 801.0); the *_set twins carry the exact strings.
    subtotal: Decimal | None = None
    total_tax: Decimal | None = None
    subtotal_set: ShopifyMoneySet | None = None
    total_tax_set: ShopifyMoneySet | None = None


class ShopifyTransaction(_Payload):
    id: int | None = None
    kind: str | None = None
    status: str | None = None
    amount: Decimal
    currency: str | None = None


class ShopifyRefund(_Payload):
    id: int
    order_id: int
    created_at: AwareDatetime | None = None
    processed_at: AwareDatetime | None = None
    note: str | None = None
    refund_line_items: list[ShopifyRefundLineItem] = Field(default_factory=list)
    transactions: list[ShopifyTransaction] = Field(default_factory=list)


class ShopifyOrder(_Payload):
    id: int
    name: str | None = None
    order_number: int | None = None
    email: str | None = None
    contact_email: str | None = None
    currency: str
    presentment_currency: str | None = None
    subtotal_price: Decimal | None = None
    total_price: Decimal
    total_tax: Decimal | None = None
    total_discounts: Decimal | None = None
    total_shipping_price_set: ShopifyMoneySet | None = None
    shipping_lines: list[ShopifyShippingLine] = Field(default_factory=list)
    taxes_included: bool | None = None
    financial_status: str | None = None
    fulfillment_status: str | None = None
    created_at: AwareDatetime
    processed_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None
    cancelled_at: AwareDatetime | None = None
    cancel_reason: str | None = None
    closed_at: AwareDatetime | None = None
    source_name: str | None = None
    tags: str | None = None
    discount_codes: list[ShopifyDiscountCode] = Field(default_factory=list)
    customer: ShopifyCustomer | None = None
    shipping_address: ShopifyAddress | None = None
    # Shopify orders always carry their line items (an edit zeroes current_quantity, it removes none);
    # an order without lines is not one Assay can store.
    line_items: list[ShopifyLineItem] = Field(min_length=1)
    fulfillments: list[ShopifyFulfillment] = Field(default_factory=list)
    refunds: list[ShopifyRefund] = Field(default_factory=list)


class ShopifyOption(_Payload):
    name: str
    position: int | None = None
    values: list[str] = Field(default_factory=list)


class ShopifyVariant(_Payload):
    id: int
    sku: str | None = None
    title: str | None = None
    option1: str | None = None
    option2: str | None = None
    option3: str | None = None
    price: Decimal | None = None
    inventory_quantity: int | None = None
    position: int | None = None


class ShopifyProduct(_Payload):
    id: int
    title: str
    handle: str | None = None
    vendor: str | None = None
    product_type: str | None = None
    status: str | None = None
    tags: str | None = None
    options: list[ShopifyOption] = Field(default_factory=list)
    variants: list[ShopifyVariant] = Field(default_factory=list)
    updated_at: AwareDatetime | None = None


class ShopifyDeletedProduct(_Payload):
    """The products/delete body carries only the id."""

    id: int


# What each supported webhook topic's body is.
TOPIC_MODELS: dict[str, type[_Payload]] = {
    "orders/create": ShopifyOrder,
    "orders/updated": ShopifyOrder,
    "orders/fulfilled": ShopifyOrder,
    "orders/cancelled": ShopifyOrder,
    "orders/paid": ShopifyOrder,
    "fulfillments/create": ShopifyFulfillment,
    "fulfillments/update": ShopifyFulfillment,
    "refunds/create": ShopifyRefund,
    "products/create": ShopifyProduct,
    "products/update": ShopifyProduct,
    "products/delete": ShopifyDeletedProduct,
}
