"""Reads for orders: search and detail, shaped as plain data for the API and the back office.

Hot reads: rows come from `.values()` (no model instances), each function makes a fixed number of
queries that its docstring states, and a test pins that number (see PERFORMANCE.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models import Q, QuerySet

from assay.core.audit import audit_trail
from assay.orders.models import Order, OrderLine, Shipment
from assay.orders.schema import is_personalisation, number_key

MAX_ID = 2**63 - 1  # ids beyond a bigint cannot exist; asking for one must not reach the database
MAX_LIMIT = 200


@dataclass(frozen=True, slots=True)
class CustomerData:
    id: int
    external_id: str
    email: str
    first_name: str
    last_name: str
    phone: str

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(frozen=True, slots=True)
class OrderLineData:
    id: int
    external_id: str
    sku: str
    title: str
    variant_title: str
    quantity: int
    unit_price: Decimal
    total_discount: Decimal
    tax: Decimal
    properties: dict[str, str]
    personalised: bool
    fulfilled_quantity: int
    product_id: int | None
    variant_id: int | None
    piece_id: int | None
    piece_serial_number: str | None

    @property
    def personalisation(self) -> dict[str, str]:
        """The properties that carry engraving or other personalisation text, as the shop named them."""
        return {name: value for name, value in self.properties.items() if is_personalisation(name, str(value))}


@dataclass(frozen=True, slots=True)
class ShipmentLineData:
    line_id: int
    quantity: int


@dataclass(frozen=True, slots=True)
class ShipmentData:
    id: int
    external_id: str
    carrier: str
    service: str
    tracking_number: str
    tracking_numbers: list[str]
    tracking_urls: list[str]
    status: str
    shipped_at: datetime | None
    delivered_at: datetime | None
    lines: list[ShipmentLineData]

    @property
    def line_ids(self) -> list[int]:
        return [item.line_id for item in self.lines]


@dataclass(frozen=True, slots=True)
class OrderEventData:
    at: datetime
    actor: str
    actor_kind: str
    action: str
    from_state: str
    to_state: str
    why: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class OrderSummary:
    """An order as a search result: its own fields, the customer and (optionally) its lines."""

    id: int
    number: str
    external_id: str
    email: str
    currency: str
    subtotal: Decimal
    total_tax: Decimal
    total_discounts: Decimal
    total_shipping: Decimal
    total: Decimal
    financial_status: str
    fulfillment_status: str
    placed_at: datetime
    cancelled_at: datetime | None
    tags: list[str]
    customer: CustomerData | None
    lines: list[OrderLineData]


@dataclass(frozen=True, slots=True)
class OrderDetail(OrderSummary):
    """One order with everything staff and the API show: lines, shipments and the full audit trail."""

    source: str
    channel: str
    taxes_included: bool
    paid_at: datetime | None
    closed_at: datetime | None
    cancel_reason: str
    discount_codes: list[str]
    shipping_address: dict[str, Any] | None
    shipping_country: str
    shipments: list[ShipmentData]
    events: list[OrderEventData]


@dataclass(frozen=True, slots=True)
class OrderPage:
    items: list[OrderSummary]
    count: int  # all orders that match, not just this page
    limit: int
    offset: int

    @property
    def has_next(self) -> bool:
        return self.offset + len(self.items) < self.count

    @property
    def has_previous(self) -> bool:
        return self.offset > 0


_SUMMARY_FIELDS = (
    "id", "number", "external_id", "email", "currency", "subtotal", "total_tax", "total_discounts",
    "total_shipping", "total", "financial_status", "fulfillment_status", "placed_at", "cancelled_at", "tags",
)  # fmt: skip
_CUSTOMER_FIELDS = ("customer_id", "customer__external_id", "customer__email", "customer__first_name",
                    "customer__last_name", "customer__phone")  # fmt: skip
_DETAIL_FIELDS = ("source", "channel", "taxes_included", "paid_at", "closed_at", "cancel_reason", "discount_codes",
                  "shipping_address", "shipping_country")  # fmt: skip
_LINE_FIELDS = (
    "id", "order_id", "external_id", "sku", "title", "variant_title", "quantity", "unit_price", "total_discount",
    "tax", "properties", "personalised", "fulfilled_quantity", "product_id", "variant_id", "piece_id",
    "piece__serial_number",
)  # fmt: skip
_SHIPMENT_FIELDS = (
    "id", "external_id", "carrier", "service", "tracking_number", "tracking_numbers", "tracking_urls", "status",
    "shipped_at", "delivered_at", "shipment_lines__line_id", "shipment_lines__quantity",
)  # fmt: skip


def _customer(row: dict[str, Any]) -> CustomerData | None:
    if row["customer_id"] is None:
        return None
    return CustomerData(
        id=row["customer_id"],
        external_id=row["customer__external_id"],
        email=row["customer__email"],
        first_name=row["customer__first_name"],
        last_name=row["customer__last_name"],
        phone=row["customer__phone"],
    )


def _summary_values(row: dict[str, Any], lines: list[OrderLineData]) -> dict[str, Any]:
    values = {name: row[name] for name in _SUMMARY_FIELDS}
    values["tags"] = list(row["tags"] or [])
    values["customer"] = _customer(row)
    values["lines"] = lines
    return values


def _line(row: dict[str, Any]) -> OrderLineData:
    return OrderLineData(
        id=row["id"],
        external_id=row["external_id"],
        sku=row["sku"],
        title=row["title"],
        variant_title=row["variant_title"],
        quantity=row["quantity"],
        unit_price=row["unit_price"],
        total_discount=row["total_discount"],
        tax=row["tax"],
        properties={str(k): str(v) for k, v in (row["properties"] or {}).items()},
        personalised=row["personalised"],
        fulfilled_quantity=row["fulfilled_quantity"],
        product_id=row["product_id"],
        variant_id=row["variant_id"],
        piece_id=row["piece_id"],
        piece_serial_number=row["piece__serial_number"],
    )


def _lines_by_order(*, brand_id: int, order_ids: list[int]) -> dict[int, list[OrderLineData]]:
    """Lines of these orders in the shop's order. One query."""
    found: dict[int, list[OrderLineData]] = {order_id: [] for order_id in order_ids}
    if not order_ids:
        return found
    rows = (
        OrderLine.objects.filter(brand_id=brand_id, order_id__in=order_ids)
        .order_by("order_id", "position", "id")
        .values(*_LINE_FIELDS)
    )
    for row in rows:
        found[row["order_id"]].append(_line(row))
    return found


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _in_utc(instant: datetime) -> datetime | None:
    """The instant in UTC; None when it lies beyond what a datetime can hold (year 1 or 9999)."""
    try:
        return instant.astimezone(UTC)
    except OverflowError:
        return None


def _lower_bound(value: date | datetime, zone: ZoneInfo) -> datetime | None:
    """The first instant a `placed_from` admits (None: no bound); a date is the start of that day in `zone`."""
    if isinstance(value, datetime):
        return _in_utc(value if value.tzinfo is not None else value.replace(tzinfo=zone))
    return _in_utc(datetime.combine(value, time.min, tzinfo=zone))


def _upper_bound(value: date | datetime, zone: ZoneInfo) -> tuple[datetime, bool] | None:
    """(instant, inclusive) for a `placed_to`, None for no bound; a date admits that whole day in `zone`."""
    if isinstance(value, datetime):
        instant = _in_utc(value if value.tzinfo is not None else value.replace(tzinfo=zone))
        return (instant, True) if instant is not None else None
    if value == date.max:
        return None
    instant = _in_utc(datetime.combine(value + timedelta(days=1), time.min, tzinfo=zone))
    return (instant, False) if instant is not None else None


def order_filter(
    *,
    brand_id: int,
    q: str = "",
    number: str = "",
    email: str = "",
    sku: str = "",
    placed_from: date | datetime | None = None,
    placed_to: date | datetime | None = None,
    tz: str = "UTC",
) -> QuerySet[Order]:
    """The brand's orders matching every given criterion (no query runs until it is evaluated).

    `number` ignores a leading '#', spaces and case; `email` is an exact, case-insensitive match;
    `sku` matches orders with any line whose SKU starts with it, ignoring case (a product's
    SKU family, e.g. 'AUR-BND' for every size of a band); `q` matches any of number, e-mail or SKU.
    A date bound means the whole day in `tz` (a zone name, e.g. the brand's timezone); a
    date-time bound without an offset is read in `tz` too. Both bounds are inclusive.
    """
    orders = Order.objects.filter(brand_id=brand_id)
    if number.strip():
        orders = orders.filter(number_key=number_key(number))
    if email.strip():
        orders = orders.filter(email=email.strip().lower())
    if sku.strip():
        lines = OrderLine.objects.filter(brand_id=brand_id, sku__istartswith=sku.strip())
        orders = orders.filter(id__in=lines.values("order_id"))
    if q.strip():
        text = q.strip()
        orders = orders.filter(
            Q(number_key=number_key(text))
            | Q(email=text.lower())
            | Q(id__in=OrderLine.objects.filter(brand_id=brand_id, sku=text).values("order_id"))
        )
    zone = _zone(tz)
    if placed_from is not None:
        lower = _lower_bound(placed_from, zone)
        if lower is not None:
            orders = orders.filter(placed_at__gte=lower)
    if placed_to is not None:
        upper = _upper_bound(placed_to, zone)
        if upper is not None:
            instant, inclusive = upper
            orders = orders.filter(placed_at__lte=instant) if inclusive else orders.filter(placed_at__lt=instant)
    return orders


def order_search(
    *,
    brand_id: int,
    q: str = "",
    number: str = "",
    email: str = "",
    sku: str = "",
    placed_from: date | datetime | None = None,
    placed_to: date | datetime | None = None,
    tz: str = "UTC",
    limit: int = 50,
    offset: int = 0,
    with_lines: bool = True,
) -> OrderPage:
    """A page of the brand's orders, newest first, with the total count of matches.

    Criteria as in `order_filter`. `limit` is clamped to 1..200 and `offset` to >= 0.
    Queries: the page (1), the lines of the page's orders (1, only with `with_lines` and a non-empty
    page), and the count (1) - skipped when the page itself shows the total, i.e. it is short and
    not past the end. So 1 to 3 queries; 3 for a full first page with lines.
    """
    limit = max(1, min(int(limit), MAX_LIMIT))
    offset = max(0, int(offset))
    orders = order_filter(
        brand_id=brand_id,
        q=q,
        number=number,
        email=email,
        sku=sku,
        placed_from=placed_from,
        placed_to=placed_to,
        tz=tz,
    )
    rows = list(
        orders.order_by("-placed_at", "-id").values(*_SUMMARY_FIELDS, *_CUSTOMER_FIELDS)[offset : offset + limit]
    )
    # A short page that is not past the end already tells the total.
    page_tells_total = len(rows) < limit and (bool(rows) or offset == 0)
    count = offset + len(rows) if page_tells_total else orders.count()
    lines = _lines_by_order(brand_id=brand_id, order_ids=[row["id"] for row in rows]) if with_lines and rows else {}
    items = [OrderSummary(**_summary_values(row, lines.get(row["id"], []))) for row in rows]
    return OrderPage(items=items, count=count, limit=limit, offset=offset)


def _shipments(*, brand_id: int, order_id: int) -> list[ShipmentData]:
    """The order's shipments with the lines each carried. One query (shipment lines joined)."""
    rows = (
        Shipment.objects.filter(brand_id=brand_id, order_id=order_id)
        .order_by("shipped_at", "id", "shipment_lines__line_id")
        .values(*_SHIPMENT_FIELDS)
    )
    shipments: dict[int, ShipmentData] = {}
    for row in rows:
        shipment = shipments.get(row["id"])
        if shipment is None:
            shipment = ShipmentData(
                id=row["id"],
                external_id=row["external_id"],
                carrier=row["carrier"],
                service=row["service"],
                tracking_number=row["tracking_number"],
                tracking_numbers=list(row["tracking_numbers"] or []),
                tracking_urls=list(row["tracking_urls"] or []),
                status=row["status"],
                shipped_at=row["shipped_at"],
                delivered_at=row["delivered_at"],
                lines=[],
            )
            shipments[row["id"]] = shipment
        if row["shipment_lines__line_id"] is not None:
            shipment.lines.append(
                ShipmentLineData(line_id=row["shipment_lines__line_id"], quantity=row["shipment_lines__quantity"])
            )
    return list(shipments.values())


def order_events(*, brand_id: int, order_id: int) -> list[OrderEventData]:
    """The order's audit trail, oldest first. One query."""
    return [
        OrderEventData(
            at=row["at"],
            actor=row["actor_label"],
            actor_kind=row["actor_kind"],
            action=row["action"],
            from_state=row["from_state"],
            to_state=row["to_state"],
            why=row["why"],
            data=dict(row["data"] or {}),
        )
        for row in audit_trail(brand_id=brand_id, subject_type="order", subject_id=order_id)
    ]


def order_detail(*, brand_id: int, order_id: int) -> OrderDetail | None:
    """One of the brand's orders with customer, lines, shipments and events; None if the brand has
    no such order (another brand's order is None too, exactly like a missing one).

    Four queries: the order with its customer (1), lines (1), shipments with their lines (1) and
    the audit trail (1). A missing order costs one query.
    """
    if not 0 < order_id <= MAX_ID:
        return None
    row = (
        Order.objects.filter(brand_id=brand_id, pk=order_id)
        .values(*_SUMMARY_FIELDS, *_CUSTOMER_FIELDS, *_DETAIL_FIELDS)
        .first()
    )
    if row is None:
        return None
    lines = _lines_by_order(brand_id=brand_id, order_ids=[order_id])[order_id]
    return OrderDetail(
        **_summary_values(row, lines),
        source=row["source"],
        channel=row["channel"],
        taxes_included=row["taxes_included"],
        paid_at=row["paid_at"],
        closed_at=row["closed_at"],
        cancel_reason=row["cancel_reason"],
        discount_codes=list(row["discount_codes"] or []),
        shipping_address=dict(row["shipping_address"]) if row["shipping_address"] else None,
        shipping_country=row["shipping_country"],
        shipments=_shipments(brand_id=brand_id, order_id=order_id),
        events=order_events(brand_id=brand_id, order_id=order_id),
    )


def order_id_for_number(*, brand_id: int, number: str) -> int | None:
    """The id of the brand's order with this number ('#1001', '1001' alike), or None. One query."""
    key = number_key(number)
    if not key:
        return None
    return (
        Order.objects.filter(brand_id=brand_id, number_key=key)
        .order_by("-placed_at")
        .values_list("id", flat=True)
        .first()
    )


@dataclass(frozen=True, slots=True)
class PortalLineData:
    id: int
    sku: str
    title: str
    variant_title: str
    quantity: int
    unit_price: Decimal
    total_discount: Decimal
    properties: dict[str, str]
    personalised: bool
    product_id: int | None
    variant_id: int | None

    @property
    def personalisation(self) -> dict[str, str]:
        """The properties that carry engraving or other personalisation text, as the shop named them."""
        return {name: value for name, value in self.properties.items() if is_personalisation(name, str(value))}


@dataclass(frozen=True, slots=True)
class PortalOrder:
    """What a shopper who proved an order (number + e-mail) may see of it."""

    id: int
    number: str
    currency: str
    placed_at: datetime
    lines: list[PortalLineData]


_PORTAL_LINE_FIELDS = ("id", "sku", "title", "variant_title", "quantity", "unit_price", "total_discount",
                       "properties", "personalised", "product_id", "variant_id")  # fmt: skip


def portal_lookup_keys(*, number: str, email: str) -> tuple[str, str] | None:
    """(number_key, e-mail) as stored, from what a shopper typed; None when either cannot match."""
    key = number_key(number)
    address = email.strip().lower()
    if not key or not address or len(key) > 64 or len(address) > 254:
        return None
    return key, address


def portal_line_properties(value: Any) -> dict[str, str]:
    """A line's `properties` JSON as the portal shows it: text names to text values."""
    if isinstance(value, str):  # raw SQL on SQLite and PostgreSQL (Django loads jsonb as text)
        value = json.loads(value) if value else {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def order_for_portal(*, brand_id: int, number: str, email: str) -> PortalOrder | None:
    """The brand's order with this number ('#1001', ' 1001 ' alike) and e-mail (any case), with its
    lines; None for any mismatch, so callers cannot tell which part was wrong.

    One query: the order joined to its lines (index brand + number_key). Should a shop reuse a
    number for the same e-mail, the latest order wins.
    """
    keys = portal_lookup_keys(number=number, email=email)
    if keys is None:
        return None
    key, address = keys
    rows = (
        Order.objects.filter(brand_id=brand_id, number_key=key, email=address)
        .order_by("-placed_at", "-id", "lines__position", "lines__id")
        .values("id", "number", "currency", "placed_at", *(f"lines__{name}" for name in _PORTAL_LINE_FIELDS))
    )
    found: PortalOrder | None = None
    for row in rows:
        if found is None:
            found = PortalOrder(
                id=row["id"], number=row["number"], currency=row["currency"], placed_at=row["placed_at"], lines=[]
            )
        elif row["id"] != found.id:
            break
        if row["lines__id"] is None:
            continue
        values = {name: row[f"lines__{name}"] for name in _PORTAL_LINE_FIELDS}
        values["properties"] = portal_line_properties(values["properties"])
        found.lines.append(PortalLineData(**values))
    return found
