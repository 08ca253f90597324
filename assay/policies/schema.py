"""The return policy document: what a brand writes, validated strictly, exported as JSON schema.

A document is a set of starting terms (`defaults`) and an ordered list of `rules`. Each rule has
conditions (`when`, all of which must hold) and effects (`then`, the terms it changes). How rules
combine is described in assay/policies/engine.py; this module only says what a valid document is.

Validation is strict (unknown keys are refused, so a misspelt condition cannot silently match
everything) and its messages name the rule and field: use `policy_document_parse`, which raises
`PolicyDocumentError` (an InvalidInput, 422) with one message per problem.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from assay.core.errors import InvalidInput

SCHEMA_VERSION: Literal[1] = 1
MAX_DAYS = 3650  # ten years: "lifetime" exchanges are written as a long window, never as no window
MAX_RULES = 500

Resolution = Literal["refund", "store_credit", "exchange"]
ExchangeKind = Literal["size", "variant", "product"]
Method = Literal["mail", "drop_off", "in_store"]
Reason = Literal[
    "size_too_small", "size_too_large", "not_as_described", "damaged", "changed_mind", "style", "arrived_late", "other"
]
Anchor = Literal["order", "shipment", "delivery"]
# "none" = the line has no stones recorded (LineFacts.stone_origin == "").
StoneOrigin = Literal["natural", "lab_grown", "mixed", "none"]

Days = Annotated[int, Field(ge=0, le=MAX_DAYS)]
Amount = Annotated[Decimal, Field(ge=0, le=Decimal("9999999999"), decimal_places=4)]
Percent = Annotated[Decimal, Field(ge=0, le=100, decimal_places=4)]
Word = Annotated[str, Field(min_length=1, max_length=100)]

_RULE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _unique(values: list[Any] | None) -> list[Any] | None:
    """Refuse a repeated value: a list in a policy is a set in the brand's chosen order."""
    if values is None:
        return None
    seen: set[Any] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"'{value}' is listed twice")
        seen.add(value)
    return values


# --- money-shaped terms ------------------------------------------------------------------------


class FeeSpec(_Strict):
    """A deduction from what is refunded: a percentage of the line's value and/or a fixed amount."""

    percent: Percent = Field(Decimal(0), description="percent of the returned line's value, 0-100")
    fixed: Amount = Field(Decimal(0), description="a fixed amount per returned line, in the order's currency")


class BonusSpec(_Strict):
    """Extra credit for choosing store credit or an exchange: percent and/or fixed, optionally capped."""

    percent: Percent = Field(Decimal(0), description="percent of the returned line's value, 0-100")
    fixed: Amount = Field(Decimal(0), description="a fixed amount per returned line, in the order's currency")
    cap: Amount | None = Field(None, description="the most bonus one line can earn; null = no cap")


# --- conditions --------------------------------------------------------------------------------


class DaysSince(_Strict):
    """Whole days (24-hour periods) since the order, the first shipment or the last delivery."""

    anchor: Anchor | None = Field(
        None,
        description="order, shipment or delivery; null = the anchor of `defaults`. An unknown delivery falls back "
        "to the shipment, an unknown shipment to the order date.",
    )
    at_least: Days | None = Field(None, description="matches when at least this many days have passed")
    at_most: Days | None = Field(None, description="matches when at most this many days have passed")

    @model_validator(mode="after")
    def _bounded(self) -> DaysSince:
        if self.at_least is None and self.at_most is None:
            raise ValueError("days_since needs at_least, at_most or both")
        if self.at_least is not None and self.at_most is not None and self.at_least > self.at_most:
            raise ValueError(f"days_since: at_least ({self.at_least}) is more than at_most ({self.at_most})")
        return self


class DateRange(_Strict):
    """Calendar dates, both included, in the document's time zone."""

    start: date = Field(alias="from", description="first day, YYYY-MM-DD")
    end: date = Field(alias="to", description="last day, YYYY-MM-DD (included)")

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.start > self.end:
            raise ValueError(f"the range starts ({self.start}) after it ends ({self.end})")
        return self


_LIST_CONDITIONS = (
    "category",
    "product_type",
    "tags_any",
    "order_tags_any",
    "customer_tags_any",
    "sku",
    "sku_prefix",
    "currency",
    "stone_origin",
    "country",
    "channel",
    "reason",
)


class Conditions(_Strict):
    """When a rule applies. Every condition given must hold; a condition left out is not tested.

    Lists mean "any of": `"category": ["ring", "band"]` matches a ring or a band. Text comparisons
    (categories, tags, SKUs, countries, channels) ignore case.
    """

    days_since: DaysSince | None = Field(None, description="time since the order, shipment or delivery")
    placed_between: DateRange | None = Field(
        None, description="the order was placed on one of these dates (e.g. holiday purchases)"
    )
    category: list[Word] | None = Field(
        None, description="product category: ring, band, earrings, necklace, pendant, bracelet, other"
    )
    product_type: list[Word] | None = Field(None, description="the shop's product type")
    tags_any: list[Word] | None = Field(None, description="the line's product carries any of these tags")
    order_tags_any: list[Word] | None = Field(None, description="the order carries any of these tags")
    customer_tags_any: list[Word] | None = Field(None, description="the customer carries any of these tags")
    sku: list[Word] | None = Field(None, description="the line's SKU is one of these")
    sku_prefix: list[Word] | None = Field(None, description="the line's SKU starts with one of these")
    unit_price_at_least: Amount | None = Field(
        None, description="unit price (after discounts) is at least this, in the order's currency"
    )
    unit_price_below: Amount | None = Field(None, description="unit price (after discounts) is below this")
    order_total_at_least: Amount | None = Field(None, description="the order's total is at least this")
    currency: list[Annotated[str, Field(pattern=r"^[A-Za-z]{3}$")]] | None = Field(
        None, description="the order's currency (ISO 4217)"
    )
    personalised: bool | None = Field(None, description="engraved or made to the customer's specification")
    final_sale: bool | None = Field(None, description="sold as final sale")
    hygiene_item: bool | None = Field(None, description="a hygiene item, e.g. pierced earrings")
    high_value: bool | None = Field(None, description="flagged high value in the catalogue")
    resizable: bool | None = Field(None, description="the piece can be resized")
    stone_origin: list[StoneOrigin] | None = Field(
        None, description="natural, lab_grown (laboratory-grown), mixed, or none (no stones recorded)"
    )
    country: list[Annotated[str, Field(pattern=r"^[A-Za-z]{2}$")]] | None = Field(
        None, description="shipping country, ISO 3166-1 alpha-2"
    )
    channel: list[Word] | None = Field(None, description="sales channel, e.g. web, pos")
    discount_used: bool | None = Field(None, description="the order used a discount")
    customer_orders_at_least: int | None = Field(None, ge=0, description="the customer's orders, this one included")
    customer_returns_at_least: int | None = Field(
        None, ge=0, description="the customer's earlier return requests (cancelled and rejected ones not counted)"
    )
    customer_return_rate_at_least: Decimal | None = Field(
        None, ge=0, le=1, description="returned units over bought units, 0 to 1 (0.4 = 40%)"
    )
    reason: list[Reason] | None = Field(
        None,
        description="the shopper's reason. While the reason is not known yet (order lookup), the line is shown "
        "with what any reason would allow; the reason given on submission decides.",
    )
    any: list[Conditions] | None = Field(None, min_length=1, description="at least one of these groups holds")
    not_: Conditions | None = Field(None, alias="not", description="this group does not hold")

    @field_validator(*_LIST_CONDITIONS)
    @classmethod
    def _set_like(cls, values: list[Any] | None) -> list[Any] | None:
        if values is not None and not values:
            raise ValueError("an empty list would never match; leave the condition out instead")
        return _unique(values)

    @model_validator(mode="after")
    def _prices_ordered(self) -> Conditions:
        low, high = self.unit_price_at_least, self.unit_price_below
        if low is not None and high is not None and low >= high:
            raise ValueError(f"unit_price_at_least ({low}) must be below unit_price_below ({high})")
        return self


# --- terms and effects -------------------------------------------------------------------------

_ALL_RESOLUTIONS: list[Resolution] = ["refund", "store_credit", "exchange"]
_ALL_KINDS: list[ExchangeKind] = ["size", "variant", "product"]
_DEFAULT_METHODS: list[Method] = ["mail", "drop_off"]


class Terms(_Strict):
    """The terms every line starts from, before any rule changes them."""

    eligible: bool = Field(True, description="whether the line can be returned at all")
    reason: str = Field(
        "",
        max_length=300,
        description="shown to the shopper on the line: why not, when not eligible; otherwise a note before the terms",
    )
    anchor: Anchor = Field(
        "delivery",
        description="what the windows count from: order, shipment or delivery. Unknown delivery -> shipment; "
        "unknown shipment -> order date.",
    )
    refund_days: Days = Field(30, description="days from the anchor during which a refund is possible")
    exchange_days: Days = Field(60, description="days from the anchor during which an exchange is possible")
    store_credit_window: Literal["refund", "exchange"] = Field(
        "exchange", description="which window store credit follows"
    )
    resolutions: list[Resolution] = Field(
        default_factory=lambda: list(_ALL_RESOLUTIONS),
        min_length=1,
        description="what the shopper may choose, in the order shown: refund, store_credit, exchange",
    )
    exchange_kinds: list[ExchangeKind] = Field(
        default_factory=lambda: list(_ALL_KINDS),
        min_length=1,
        description='exchange for another size, variant or product; ["size"] = resize / size swap only',
    )
    methods: list[Method] = Field(
        default_factory=lambda: list(_DEFAULT_METHODS),
        min_length=1,
        description="how the item may come back: mail (prepaid label), drop_off (QR code), in_store",
    )
    destination: str = Field(
        "warehouse", min_length=1, max_length=60, description="where the item goes: warehouse, bench, vendor..."
    )
    restocking_fee: FeeSpec = Field(FeeSpec.model_validate({}), description="deducted from a refund")
    label_fee: Amount = Field(Decimal(0), description="charged for the return label; 0 = free label")
    bonus_store_credit: BonusSpec = Field(BonusSpec.model_validate({}), description="extra when choosing store credit")
    bonus_exchange: BonusSpec = Field(BonusSpec.model_validate({}), description="extra when choosing an exchange")
    manual_review: bool = Field(False, description="a person approves the request before it is authorised")
    insured: bool = Field(False, description="the return shipment is insured")
    signature_required: bool = Field(False, description="the return shipment needs a signature on delivery")
    authenticity_check: bool = Field(False, description="the piece is checked for authenticity on arrival")
    keep_item: bool = Field(False, description="the shopper keeps the item (nothing is shipped back)")
    extend_days: Days = Field(0, description="days added to both windows (e.g. a holiday extension)")
    extend_until: date | None = Field(
        None, description="both windows stay open at least until the end of this date (document time zone)"
    )

    @field_validator("resolutions", "exchange_kinds", "methods")
    @classmethod
    def _set_like(cls, values: list[Any] | None) -> list[Any] | None:
        return _unique(values)


class Effects(_Strict):
    """What a matching rule changes. Only the fields given change; the rest keep their value."""

    eligible: bool | None = Field(None, description="whether the line can be returned at all")
    reason: str | None = Field(
        None,
        max_length=300,
        description="shown to the shopper on the line; required when the rule sets eligible to false",
    )
    anchor: Anchor | None = Field(None, description="what the windows count from")
    refund_days: Days | None = Field(None, description="the refund window in days")
    exchange_days: Days | None = Field(None, description="the exchange window in days")
    store_credit_window: Literal["refund", "exchange"] | None = Field(
        None, description="which window store credit follows"
    )
    resolutions: list[Resolution] | None = Field(None, min_length=1, description="what the shopper may choose")
    exchange_kinds: list[ExchangeKind] | None = Field(
        None, min_length=1, description='kinds of exchange; ["size"] = resize only'
    )
    methods: list[Method] | None = Field(None, min_length=1, description="how the item may come back")
    destination: str | None = Field(None, min_length=1, max_length=60, description="where the item goes")
    restocking_fee: FeeSpec | None = Field(None, description="deducted from a refund")
    label_fee: Amount | None = Field(None, description="charged for the return label; 0 = free label")
    bonus_store_credit: BonusSpec | None = Field(None, description="extra when choosing store credit")
    bonus_exchange: BonusSpec | None = Field(None, description="extra when choosing an exchange")
    manual_review: bool | None = Field(None, description="a person approves the request first")
    insured: bool | None = Field(None, description="the return shipment is insured")
    signature_required: bool | None = Field(None, description="the return shipment needs a signature")
    authenticity_check: bool | None = Field(None, description="checked for authenticity on arrival")
    keep_item: bool | None = Field(None, description="the shopper keeps the item")
    extend_days: Days | None = Field(None, description="days added to both windows")
    extend_until: date | None = Field(None, description="both windows stay open at least until the end of this date")

    @field_validator("resolutions", "exchange_kinds", "methods")
    @classmethod
    def _set_like(cls, values: list[Any] | None) -> list[Any] | None:
        return _unique(values)

    @model_validator(mode="after")
    def _says_something(self) -> Effects:
        if not self.model_fields_set:
            raise ValueError("`then` changes nothing: give at least one effect")
        if self.eligible is False and not (self.reason or "").strip():
            raise ValueError("a rule that makes a line not eligible must say why in `reason` (the shopper sees it)")
        return self


class Rule(_Strict):
    id: str = Field(
        min_length=1, max_length=63, description="stable identifier: lowercase letters, digits, '-' and '_'"
    )
    name: str = Field(min_length=1, max_length=120, description="what the rule is for, in a few words")
    description: str = Field("", max_length=1000, description="notes for staff")
    enabled: bool = Field(True, description="a disabled rule is kept in the document but never applies")
    when: Conditions = Field(Conditions.model_validate({}), description="all must hold; empty = always")
    then: Effects = Field(description="what changes when the rule applies")
    stop: bool = Field(False, description="when the rule applies, no later rule is considered for the line")

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _RULE_ID.match(value):
            raise ValueError(f"'{value}' is not a rule id: use lowercase letters, digits, '-' and '_'")
        return value


ResolveOn = Literal["approval", "first_scan", "receipt", "inspection"]


class ResolutionTerms(_Strict):
    """When and how a return's resolution is carried out: one setting for the whole policy."""

    resolve_on: ResolveOn = Field(
        "inspection",
        description="when the refund, credit or exchange happens: on approval, on the carrier's first scan, "
        "on receipt at the warehouse, or after inspection. Lines the shopper keeps resolve on approval.",
    )
    refund_shipping: bool = Field(False, description="refund what the order charged for shipping (once per order)")
    instant_exchange: bool = Field(
        False,
        description="for an even swap (e.g. another ring size at the same price): send the replacement as soon as "
        "the shopper authorises a hold on their card for its value, before the return arrives; the hold is "
        "released when the return is received and charged if it never ships",
    )
    instant_exchange_max_value: Amount = Field(
        Decimal(1000), description="no instant exchange for a line worth more than this: high-value pieces wait"
    )


class PolicyDocument(_Strict):
    """A brand's return policy: starting terms, then rules applied in order to each line."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        populate_by_name=True,
        title="Return policy",
        json_schema_extra={"$comment": "Rules are applied in order; each applying rule overrides what it sets."},
    )

    schema_version: Literal[1] = Field(SCHEMA_VERSION, description="the document format; 1")
    name: str = Field("Return policy", min_length=1, max_length=120)
    timezone: str = Field(
        "UTC", max_length=60, description="IANA time zone for calendar dates (placed_between, extend_until, reasons)"
    )
    defaults: Terms = Field(Terms.model_validate({}), description="the terms before any rule applies")
    resolution: ResolutionTerms = Field(
        ResolutionTerms.model_validate({}),
        description="when the resolution happens; shipping refunds; instant exchanges",
    )
    rules: list[Rule] = Field(default_factory=list, max_length=MAX_RULES, description="applied in this order")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"'{value}' is not an IANA time zone such as Europe/London") from None
        return value

    @model_validator(mode="after")
    def _ids_unique(self) -> PolicyDocument:
        seen: set[str] = set()
        for position, rule in enumerate(self.rules, start=1):
            if rule.id in seen:
                raise ValueError(f"rule {position} repeats the id '{rule.id}': rule ids must be unique")
            seen.add(rule.id)
        return self

    def as_data(self) -> dict[str, Any]:
        """The document as stored: JSON types, only what its author wrote (defaults stay implicit)."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


# --- parsing with messages a person can act on -------------------------------------------------


class PolicyDocumentError(InvalidInput):
    """A document that is not a valid policy. `problems` lists each (where, what) for forms."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        shown = [f"{where}: {what}" if where else what for where, what in problems[:10]]
        more = len(problems) - 10
        if more > 0:
            shown.append(f"and {more} more problem{'s' if more > 1 else ''}")
        super().__init__("invalid policy: " + "; ".join(shown))


def _where(loc: tuple[int | str, ...], data: Any) -> str:
    """('rules', 2, 'then', 'resolutions', 0) -> "rules[2] (id 'engraved').then.resolutions[0]"."""
    text = ""
    node = data
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
        if isinstance(node, dict):
            node = node.get(part) if isinstance(part, str) else None
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            if text.startswith("rules[") and text.count("[") == 1 and isinstance(node, dict):
                rule_id = node.get("id")
                if isinstance(rule_id, str) and rule_id:
                    text += f" (id '{rule_id[:63]}')"
        else:
            node = None
    return text


def policy_document_parse(data: Any) -> PolicyDocument:
    """Validate a document (a dict from JSON); raise PolicyDocumentError naming every problem."""
    if not isinstance(data, dict):
        raise PolicyDocumentError([("", "a policy document is a JSON object with `defaults` and `rules`")])
    try:
        return PolicyDocument.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            # Pydantic names the branch of a union or a validator in the location; a person does not need it.
            loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and ("[" in p or p.startswith("function"))))
            message = str(error["msg"]).removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = "is not a known field (check the spelling against the schema)"
            problems.append((_where(loc, data), message))
        raise PolicyDocumentError(problems) from None
