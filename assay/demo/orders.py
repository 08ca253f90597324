"""A brand's order history: customers, orders, lines, shipments, refunds and their audit trail.

Orders are made day by day over the period, in the order the shop numbered them, and written in
chunks, so memory stays flat whether the run makes two thousand orders or a million. The same
seed gives the same history, row for row.

The rules every intake follows hold here too (assay.orders.services.order_upsert is the model):
number_key from the number, e-mail lowercased, a line personalised when its product is or its
properties carry engraving, amounts as Decimal with cents, a shipment's tracking_number the first
of its tracking_numbers, and one ShipmentLine per line it carried.
"""

from __future__ import annotations

import random
from array import array
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import accumulate
from typing import Any
from zoneinfo import ZoneInfo

from assay.catalog.models import Piece, PieceStatus
from assay.core.models import AuditEvent
from assay.demo.bulk import BulkWriter, IdSource, Table
from assay.demo.catalogue import DemoCatalogue, DemoProduct, DemoVariant, PieceMint
from assay.demo.people import Person, Population
from assay.demo.tracking import Carrier, tracking_number
from assay.orders.models import Customer, Order, OrderLine, Shipment, ShipmentLine, ShipmentStatus, ShopRefund
from assay.orders.schema import is_personalisation, number_key

D = Decimal
CENT = D("0.01")
ZERO = D("0.00")
# Plain strings: a database driver may write an enum member by its name rather than its value.
DELIVERED = ShipmentStatus.DELIVERED.value
PRE_TRANSIT = ShipmentStatus.PRE_TRANSIT.value
IN_TRANSIT = ShipmentStatus.IN_TRANSIT.value
EXCEPTION = ShipmentStatus.EXCEPTION.value
SOLD = PieceStatus.SOLD.value
RETURNED = PieceStatus.RETURNED.value

# fmt: off
CUSTOMERS = Table(Customer, ("id", "brand_id", "created_at", "updated_at", "external_id", "email", "first_name",
                             "last_name", "phone"))
ORDERS = Table(Order, ("id", "brand_id", "created_at", "updated_at", "external_id", "number", "number_key", "email",
                       "customer_id", "currency", "subtotal", "total_tax", "total_discounts", "total_shipping",
                       "total", "taxes_included", "financial_status", "fulfillment_status", "placed_at", "paid_at",
                       "cancelled_at", "cancel_reason", "closed_at", "channel", "source", "tags", "discount_codes",
                       "shipping_address", "shipping_country", "source_updated_at"))
LINES = Table(OrderLine, ("id", "brand_id", "created_at", "updated_at", "order_id", "external_id", "position", "sku",
                          "variant_id", "product_id", "title", "variant_title", "quantity", "unit_price",
                          "total_discount", "tax", "properties", "personalised", "fulfilled_quantity", "piece_id"))
PIECES = Table(Piece, ("id", "brand_id", "created_at", "updated_at", "variant_id", "serial_number", "inscription",
                       "report_number", "weight_g", "status"))
SHIPMENTS = Table(Shipment, ("id", "brand_id", "created_at", "updated_at", "order_id", "external_id", "carrier",
                             "service", "tracking_number", "tracking_numbers", "tracking_urls", "status",
                             "shipped_at", "delivered_at", "source_updated_at"))
SHIPMENT_LINES = Table(ShipmentLine, ("shipment_id", "line_id", "quantity"))
REFUNDS = Table(ShopRefund, ("brand_id", "created_at", "updated_at", "order_id", "external_id", "amount", "currency",
                             "note", "lines", "refunded_at"))
AUDIT = Table(AuditEvent, ("brand_id", "at", "actor_kind", "actor_label", "actor_user_id", "subject_type",
                           "subject_id", "action", "from_state", "to_state", "why", "data"))
# fmt: on

ENGRAVINGS = [
    "Always & Forever", "Forever & Always", "Für immer", "永遠", "Je t'aime", "Para siempre", "Ti amo",
    "You & Me", "Mo anam cara", "To the moon & back", "Always yours", "My person", "Est. 2019",
    "12.06.2024", "J + M", "Sempre insieme", "사랑해", "Together since 2015", "Love, Mom", "♡ A & S ♡",
    "Amor eterno", "Vi ses", "Tu es mon soleil", "Infinity",
]  # fmt: skip
GIFT_MESSAGES = [
    "Happy anniversary, my love!",
    "Happy birthday! xx",
    "Will you marry me?",
    "Congratulations, graduate!",
    "For the best mum in the world",
    "Merry Christmas ♥",
    "Thinking of you",
    "Happy Valentine's Day",
]
CANCEL_REASONS = [("customer", 60), ("inventory", 15), ("fraud", 15), ("declined", 10)]
RETURN_REASONS = [
    # (note, ring sizes only, weight): the jewellery reason mix of DOMAIN.md section 2.
    ("Returned: size too small", True, 30), ("Returned: size too large", True, 22),
    ("Returned: changed mind", False, 12), ("Returned: style", False, 8),
    ("Returned: not as described", False, 5), ("Returned: defective clasp", False, 5),
    ("Returned", False, 18),
]  # fmt: skip
# Orders by local hour, and the extra weight of the shop's seasons.
_HOURS = [1, 0.6, 0.4, 0.3, 0.3, 0.5, 1, 2, 3, 4, 5, 5.5, 6, 6, 5.5, 5, 5, 5.5, 6, 7, 7.5, 7, 5, 2.5]
_HOUR_CUM = list(accumulate(_HOURS))
_WEEKDAY = [1.05, 1.0, 1.0, 1.0, 0.95, 0.85, 1.1]


def season_weight(day: date) -> float:
    if (day.month == 11 and day.day >= 24) or (day.month == 12 and day.day <= 2):
        return 3.0  # Black Friday to Cyber Monday
    if day.month == 12:
        return 2.0 if day.day <= 18 else 1.3 if day.day <= 24 else 0.7
    if day.month == 2 and day.day <= 13:
        return 1.6  # Valentine's Day
    if day.month == 5 and day.day <= 10:
        return 1.4  # Mother's Day
    return 1.0


def orders_per_day(days: list[date], total: int) -> list[int]:
    """Split the orders over the days by trend, season and weekday (largest remainder, so exact)."""
    n = len(days)
    weights = [
        (0.6 + 0.4 * index / max(n - 1, 1)) * season_weight(day) * _WEEKDAY[day.weekday()]
        for index, day in enumerate(days)
    ]
    scale = total / sum(weights)
    shares = [w * scale for w in weights]
    counts = [int(s) for s in shares]
    left = total - sum(counts)
    by_remainder = sorted(range(n), key=lambda i: (counts[i] - shares[i], i))
    for i in by_remainder[:left]:
        counts[i] += 1
    return counts


@dataclass(frozen=True)
class Service:
    carrier: Carrier
    name: str
    transit: tuple[int, int]  # business days
    express: bool = False


@dataclass(frozen=True)
class Discount:
    code: str
    percent: Decimal


@dataclass(frozen=True)
class BrandPlan:
    """Everything that makes one brand's history its own."""

    slug: str
    name: str
    currency: str
    timezone: str
    number_prefix: str
    first_number: int
    taxes_included: bool
    standard: list[tuple[Service, int]]
    express: list[Service]
    insured: list[Service]  # high-value parcels: overnight, signature required
    abroad: list[Service]
    free_shipping_over: Decimal
    standard_fee: Decimal
    express_fee: Decimal
    abroad_fee: Decimal
    express_share: float
    pos_share: float
    welcome: Discount
    seasonal: Discount
    loyalty: Discount
    high_value_threshold: Decimal
    id_base: int  # shop ids of this brand's records start here
    home_countries: frozenset[str]  # shipped at home rates and taxes; anywhere else is abroad
    repeat_share: float = 0.28


@dataclass
class Counts:
    customers: int = 0
    orders: int = 0
    lines: int = 0
    personalised_lines: int = 0
    shipments: int = 0
    pieces_sold: int = 0
    refunds: int = 0
    cancelled: int = 0
    audit_events: int = 0


@dataclass
class _Line:
    id: int
    external_id: str
    product: DemoProduct
    variant: DemoVariant
    quantity: int
    properties: dict[str, str]
    personalised: bool
    gross: Decimal
    discount: Decimal
    tax: Decimal
    ships_after: int  # business days
    piece_id: int | None = None
    fulfilled: int = 0
    refunded: bool = False


@dataclass
class _Draft:
    """One order while it is being made."""

    id: int
    index: int
    placed: datetime
    person: Person
    customer_id: int
    first_order: bool
    channel: str
    abroad: bool
    discount: Discount | None
    gift: bool
    last_change: datetime
    lines: list[_Line] = field(default_factory=list)
    service: Service | None = None
    high_value: bool = False
    subtotal: Decimal = ZERO
    shipping: Decimal = ZERO
    total_tax: Decimal = ZERO
    total_discounts: Decimal = ZERO
    total: Decimal = ZERO
    financial: str = "paid"
    paid_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str = ""
    closed_at: datetime | None = None
    shipments: list[tuple[datetime, list[_Line]]] = field(default_factory=list)
    delivered: list[tuple[datetime, list[_Line]]] = field(default_factory=list)
    refund: tuple[datetime, list[_Line], str, Decimal] | None = None  # when, which lines, why, how much


@dataclass
class _Buffers:
    customers: list[tuple[Any, ...]] = field(default_factory=list)
    orders: list[tuple[Any, ...]] = field(default_factory=list)
    lines: list[tuple[Any, ...]] = field(default_factory=list)
    pieces: list[tuple[Any, ...]] = field(default_factory=list)
    shipments: list[tuple[Any, ...]] = field(default_factory=list)
    shipment_lines: list[tuple[Any, ...]] = field(default_factory=list)
    refunds: list[tuple[Any, ...]] = field(default_factory=list)
    audit: list[tuple[Any, ...]] = field(default_factory=list)


class OrderHistory:
    """Makes and writes one brand's orders."""

    def __init__(
        self,
        *,
        plan: BrandPlan,
        brand_id: int,
        catalogue: DemoCatalogue,
        population: Population,
        mint: PieceMint,
        rng: random.Random,
        as_of: date,
        days: int,
        actor_label: str,
        writer: BulkWriter,
    ) -> None:
        self.plan = plan
        self.brand_id = brand_id
        self.catalogue = catalogue
        self.population = population
        self.mint = mint
        self.rng = rng
        self.tz = ZoneInfo(plan.timezone)
        self._midnights: dict[date, datetime] = {}
        self.as_of = as_of
        self.now = self._midnight(as_of)  # the history is as the shop saw it when this day began
        self.days = days
        self.actor_label = actor_label
        self.writer = writer
        self.ts = writer.timestamp
        self.js = writer.json
        self.ids = {table.name: IdSource(table.model) for table in (CUSTOMERS, ORDERS, LINES, PIECES, SHIPMENTS)}
        self.customer_ids: array[int] = array("q")
        self.counts = Counts()
        self._buffers = _Buffers()
        self._line_seq = 0
        self._shipment_seq = 0
        self._refund_seq = 0
        self._cancel_cum = list(accumulate(w for _r, w in CANCEL_REASONS))
        self._standard_cum = list(accumulate(w for _s, w in plan.standard))

    # --- time ---------------------------------------------------------------------------------

    def _midnight(self, day: date) -> datetime:
        """The UTC instant the brand's local day begins."""
        found = self._midnights.get(day)
        if found is None:
            found = self._midnights[day] = datetime.combine(day, time(), tzinfo=self.tz).astimezone(UTC)
        return found

    def _at(self, day: date, start_hour: int, end_hour: int) -> datetime:
        return self._midnight(day) + timedelta(seconds=self.rng.randrange(start_hour * 3600, end_hour * 3600))

    @staticmethod
    def _business_days_after(day: date, count: int) -> date:
        while count > 0:
            day += timedelta(days=1)
            if day.weekday() < 5:
                count -= 1
        return day

    # --- the run ------------------------------------------------------------------------------

    def run(self, *, orders: int, chunk: int, progress: Callable[[int], None] | None = None) -> Counts:
        first_day = self.as_of - timedelta(days=self.days)
        days = [first_day + timedelta(days=i) for i in range(self.days)]
        number = reported = 0
        for day, count in zip(days, orders_per_day(days, orders), strict=True):
            if not count:
                continue
            midnight = self._midnight(day)
            seconds = sorted(
                bisect_right(_HOUR_CUM, self.rng.random() * _HOUR_CUM[-1]) * 3600 + self.rng.randrange(3600)
                for _ in range(count)
            )
            for second in seconds:
                self._order(number, day, midnight + timedelta(seconds=second))
                number += 1
                if len(self._buffers.orders) >= chunk:
                    self._flush()
                    if progress:
                        progress(reported := number)
        self._flush()
        if progress and number != reported:
            progress(number)
        return self.counts

    def _flush(self) -> None:
        b = self._buffers
        w = self.writer
        for table, rows in (
            (CUSTOMERS, b.customers), (PIECES, b.pieces), (ORDERS, b.orders), (LINES, b.lines),
            (SHIPMENTS, b.shipments), (SHIPMENT_LINES, b.shipment_lines), (REFUNDS, b.refunds), (AUDIT, b.audit),
        ):  # fmt: skip
            if rows:
                w.write(table, rows)
        self._buffers = _Buffers()

    # --- one order ----------------------------------------------------------------------------

    def _customer(self, placed: datetime) -> tuple[Person, int, bool]:
        """(who, customer id, first order?)"""
        known = len(self.customer_ids)
        if known and self.rng.random() < self.plan.repeat_share:
            index = self.rng.randrange(known)
            return self.population.person(index), self.customer_ids[index], False
        customer_id = self.ids[CUSTOMERS.name].take()
        self.customer_ids.append(customer_id)
        person = self.population.person(known)
        at = self.ts(placed)
        self._buffers.customers.append(
            (customer_id, self.brand_id, at, at, str(self.plan.id_base + 1_000_000_000 + known), person.email,
             person.first_name, person.last_name, person.phone)
        )  # fmt: skip
        self.counts.customers += 1
        return person, customer_id, True

    def _products(self) -> list[DemoProduct]:
        rng = self.rng
        wanted = rng.choices((1, 2, 3), cum_weights=(70, 92, 100))[0]
        chosen: list[DemoProduct] = []
        for _ in range(wanted * 3):
            product = rng.choices(self.catalogue.products, cum_weights=self.catalogue.weights)[0]
            if product not in chosen:
                chosen.append(product)
            if len(chosen) == wanted:
                break
        return chosen

    def _properties(self, product: DemoProduct) -> dict[str, str]:
        rng = self.rng
        spec = product.spec
        kind = spec.personalisation
        if kind == "initials":
            letters = "ABCDEFGHJKLMNPRSTW"
            initials = "".join(rng.choice(letters) for _ in range(rng.choice((2, 3, 3))))
            return {"Initials": initials, "Engraving Style": rng.choice(("Block", "Script", "Roman"))}
        if kind == "initial":
            return {"Initial": rng.choice("ABCDEFGHIJKLMNOPRSTVWZ")}
        if not kind or rng.random() >= spec.engraving_share:
            return {}
        text = rng.choice(ENGRAVINGS)
        if kind == "bar":
            props = {"Custom Engraving Front": text}
            if rng.random() < 0.25:
                props["Custom Engraving Back"] = (
                    f"{rng.randrange(1, 13):02d}.{rng.randrange(1, 29):02d}.{rng.randrange(2015, 2026)}"
                )
            return props
        props = {"Engraving": text}
        if rng.random() < 0.3:
            props["Engraving Font"] = rng.choice(("Script", "Block", "Roman"))
        return props

    def _discount(self, first_order: bool, day: date) -> Discount | None:
        rng = self.rng
        if ((day.month == 11 and day.day >= 20) or (day.month == 12 and day.day <= 24)) and rng.random() < 0.3:
            return self.plan.seasonal
        if first_order and rng.random() < 0.12:
            return self.plan.welcome
        if not first_order and rng.random() < 0.08:
            return self.plan.loyalty
        return None

    def _order(self, index: int, day: date, placed: datetime) -> None:
        """One order's whole story: bought, paid, then cancelled, or shipped, delivered, maybe refunded."""
        rng, plan = self.rng, self.plan
        person, customer_id, first_order = self._customer(placed)
        channel = "pos" if rng.random() < plan.pos_share else "shopify_draft_order" if rng.random() < 0.03 else "web"
        order = _Draft(
            id=self.ids[ORDERS.name].take(),
            index=index,
            placed=placed,
            person=person,
            customer_id=customer_id,
            first_order=first_order,
            channel=channel,
            abroad=person.city.country_code not in plan.home_countries,
            discount=self._discount(first_order, day),
            gift=rng.random() < 0.07,
            last_change=placed,
        )
        order.lines = self._lines(order)
        self._price(order)
        self._pay(order)
        self._audit(order, order.placed + timedelta(seconds=2), "order_created", data={
            "source": "demo", "lines": len(order.lines), "total": str(order.total),
        })  # fmt: skip
        if not self._cancel(order):
            self._fulfil(order)
            self._ship(order)
            self._return(order)
        self._refund(order)
        self._allocate_pieces(order)
        self._write(order)

    def _lines(self, order: _Draft) -> list[_Line]:
        rng, plan = self.rng, self.plan
        rate = order.person.city.tax_rate
        lines: list[_Line] = []
        for product in self._products():
            variant = rng.choices(product.variants, cum_weights=product.variant_weights)[0]
            spec = product.spec
            quantity = 1
            if not spec.serialised and not spec.personalised and variant.price < 300 and rng.random() < 0.06:
                quantity = 2
            properties = self._properties(product)
            if order.gift and not lines:
                properties["Gift message"] = rng.choice(GIFT_MESSAGES)
                properties["_gift_wrap"] = "yes"  # Shopify hides properties whose name starts with _
            personalised = spec.personalised or any(is_personalisation(k, v) for k, v in properties.items())
            gross = variant.price * quantity
            off = ZERO
            if order.discount and not spec.final_sale:
                off = (gross * order.discount.percent / 100).quantize(CENT, ROUND_HALF_UP)
            net = gross - off
            tax = (net * rate / (100 + rate if plan.taxes_included else 100)).quantize(CENT, ROUND_HALF_UP)
            # Engraving, setting and sizing happen at the bench before the piece can ship.
            bench = spec.made_to_order_days or (3 if personalised else 0)
            self._line_seq += 1
            lines.append(
                _Line(
                    id=self.ids[LINES.name].take(),
                    external_id=str(plan.id_base * 3 + self._line_seq * 7),
                    product=product, variant=variant, quantity=quantity, properties=properties,
                    personalised=personalised, gross=gross, discount=off, tax=tax,
                    ships_after=bench + rng.randrange(0, 3) if bench else rng.choice((1, 1, 2)),
                )
            )  # fmt: skip
        return lines

    def _price(self, order: _Draft) -> None:
        """Shipping by destination and value, then the totals the shop would show."""
        rng, plan = self.rng, self.plan
        order.subtotal = sum((line.gross - line.discount for line in order.lines), ZERO)
        order.high_value = order.subtotal >= plan.high_value_threshold
        if order.channel == "pos":
            order.service, order.shipping = None, ZERO
        elif order.abroad:
            order.service, order.shipping = rng.choice(plan.abroad), plan.abroad_fee
        elif order.high_value:
            order.service, order.shipping = rng.choice(plan.insured), ZERO
        elif rng.random() < plan.express_share:
            order.service, order.shipping = rng.choice(plan.express), plan.express_fee
        else:
            order.service = plan.standard[bisect_right(self._standard_cum, rng.random() * self._standard_cum[-1])][0]
            order.shipping = ZERO if order.subtotal >= plan.free_shipping_over else plan.standard_fee
        order.total_tax = sum((line.tax for line in order.lines), ZERO)
        order.total_discounts = sum((line.discount for line in order.lines), ZERO)
        if plan.taxes_included:
            rate = order.person.city.tax_rate
            order.total_tax += (order.shipping * rate / (100 + rate)).quantize(CENT, ROUND_HALF_UP)
            order.total = order.subtotal + order.shipping
        else:
            order.total = order.subtotal + order.shipping + order.total_tax

    def _pay(self, order: _Draft) -> None:
        rng = self.rng
        order.paid_at = order.placed + timedelta(seconds=rng.randrange(2, 40))
        if order.channel == "shopify_draft_order":
            # A draft order is paid when the shopper opens the invoice, some hours later.
            order.paid_at = order.placed + timedelta(minutes=rng.randrange(5, 600))
            if order.paid_at >= self.now:
                order.paid_at, order.financial = None, "pending"

    def _cancel(self, order: _Draft) -> bool:
        """A few paid web orders are cancelled within a day; the money goes back unless it was never taken."""
        rng = self.rng
        if order.channel == "pos" or order.financial != "paid" or rng.random() >= 0.015:
            return False
        cancelled_at = order.placed + timedelta(seconds=rng.randrange(3600, 30 * 3600))
        if cancelled_at >= self.now:
            return False
        reason = CANCEL_REASONS[bisect_right(self._cancel_cum, rng.random() * self._cancel_cum[-1])][0]
        order.cancelled_at = order.closed_at = order.last_change = cancelled_at
        order.cancel_reason = reason
        self._audit(order, cancelled_at, "order_cancelled", why=reason)
        if reason in ("fraud", "declined"):
            order.financial, order.paid_at = "voided", None
        else:
            order.financial = "refunded"
            note = "Order cancelled: out of stock" if reason == "inventory" else "Order cancelled by the customer"
            order.refund = (cancelled_at, order.lines, note, order.total)
        self.counts.cancelled += 1
        return True

    def _fulfil(self, order: _Draft) -> None:
        """Which lines leave when: stock pieces together, bench work (engraving, setting, sizing)
        when it is done, unless the shopper asked for one parcel."""
        if order.channel == "pos":
            for line in order.lines:
                line.fulfilled = line.quantity
            order.closed_at = order.placed
            return
        if order.paid_at is None:
            return
        groups: dict[int, list[_Line]] = {}
        together = self.rng.random() < 0.4
        latest = max(line.ships_after for line in order.lines)
        for line in order.lines:
            groups.setdefault(latest if together else line.ships_after, []).append(line)
        local_day = order.placed.astimezone(self.tz).date()
        for after in sorted(groups):
            shipped_at = self._at(self._business_days_after(local_day, after), 14, 19)
            if shipped_at >= self.now:
                break
            for line in groups[after]:
                line.fulfilled = line.quantity
            order.shipments.append((shipped_at, groups[after]))
        if order.shipments and all(line.fulfilled for line in order.lines):
            order.closed_at = order.shipments[-1][0]

    def _ship(self, order: _Draft) -> None:
        """Each parcel with its carrier's tracking numbers, where it is now, and its history."""
        rng, plan, ts, b = self.rng, self.plan, self.ts, self._buffers
        service = order.service
        for shipped_at, carried in order.shipments:
            assert service is not None
            shipment_id = self.ids[SHIPMENTS.name].take()
            self._shipment_seq += 1
            numbers = [tracking_number(service.carrier, rng, express=service.express)]
            if sum(line.quantity for line in carried) > 1 and rng.random() < 0.1:
                numbers.append(tracking_number(service.carrier, rng, express=service.express))  # two boxes
            ship_day = shipped_at.astimezone(self.tz).date()
            arrives = self._at(self._business_days_after(ship_day, rng.randint(*service.transit)), 10, 19)
            delivered_at: datetime | None = None
            if arrives < self.now:
                status, delivered_at, changed_at = DELIVERED, arrives, arrives
                order.delivered.append((arrives, carried))
            elif self.now - shipped_at < timedelta(hours=8):
                status, changed_at = PRE_TRANSIT, shipped_at
            else:
                status = EXCEPTION if rng.random() < 0.04 else IN_TRANSIT
                changed_at = min(shipped_at + timedelta(hours=rng.randrange(5, 30)), self.now - timedelta(hours=1))
            order.last_change = max(order.last_change, changed_at)
            b.shipments.append(
                (shipment_id, self.brand_id, ts(shipped_at), ts(changed_at), order.id,
                 str(plan.id_base * 2 + self._shipment_seq * 11), service.carrier.name, service.name, numbers[0],
                 self.js(numbers), self.js([service.carrier.tracking_url(n) for n in numbers]), status,
                 ts(shipped_at), ts(delivered_at) if delivered_at else None, ts(changed_at))
            )  # fmt: skip
            for line in carried:
                b.shipment_lines.append((shipment_id, line.id, line.quantity))
            self._audit(order, shipped_at, "shipment_created", to_state=PRE_TRANSIT, data={
                "carrier": service.carrier.name, "tracking_numbers": numbers,
            })  # fmt: skip
            if status != PRE_TRANSIT:
                self._audit(order, changed_at, "shipment_updated", from_state=PRE_TRANSIT, to_state=status, data={
                    "tracking_numbers": numbers, "changed": ["delivered_at", "status"] if delivered_at else ["status"],
                })  # fmt: skip
            self.counts.shipments += 1

    def _return(self, order: _Draft) -> None:
        """Some shoppers send a piece back through the shop. Engraved, hygiene and final-sale
        pieces are not refunded."""
        rng = self.rng
        if not order.delivered or rng.random() >= 0.06:
            return
        returnable = [
            (arrived, line)
            for arrived, carried in order.delivered
            for line in carried
            if not (line.personalised or line.product.spec.hygiene_item or line.product.spec.final_sale)
        ]
        if not returnable:
            return
        picked = returnable if len(returnable) > 1 and rng.random() < 0.3 else [rng.choice(returnable)]
        refunded_at = max(arrived for arrived, _line in picked) + timedelta(
            days=rng.randrange(6, 28), seconds=rng.randrange(86_400)
        )
        if refunded_at >= self.now:
            return
        refunded = [line for _arrived, line in picked]
        ring = all(line.variant.ring_size is not None for line in refunded)
        reasons = [(note, weight) for note, sizes_only, weight in RETURN_REASONS if ring or not sizes_only]
        note = rng.choices([r for r, _w in reasons], weights=[w for _r, w in reasons])[0]
        order.refund = (refunded_at, refunded, note, sum((self._line_refund(line) for line in refunded), ZERO))
        everything = len(refunded) == len(order.lines) and order.shipping == 0
        order.financial = "refunded" if everything else "partially_refunded"

    def _refund(self, order: _Draft) -> None:
        if order.refund is None:
            return
        refunded_at, refunded, note, amount = order.refund
        for line in refunded:
            line.refunded = True
        self._refund_seq += 1
        external_id = str(self.plan.id_base // 5 + self._refund_seq * 13)
        lines = [
            {"line_external_id": line.external_id, "quantity": line.quantity, "amount": str(self._line_refund(line))}
            for line in refunded
        ]
        ts, currency = self.ts, self.plan.currency
        self._buffers.refunds.append(
            (self.brand_id, ts(refunded_at), ts(refunded_at), order.id, external_id, amount, currency, note,
             self.js(lines), ts(refunded_at))
        )  # fmt: skip
        self._audit(order, refunded_at, "shop_refund_recorded", why=note, data={
            "refund": external_id, "amount": str(amount), "currency": currency,
        })  # fmt: skip
        order.last_change = max(order.last_change, refunded_at)
        self.counts.refunds += 1

    def _allocate_pieces(self, order: _Draft) -> None:
        """Serialised pieces are allocated when they leave; each carries its own grading report."""
        ts = self.ts
        for line in order.lines:
            centre = line.product.centre
            if not (line.fulfilled and line.product.spec.serialised and centre):
                continue
            report = self.mint.report(centre.lab)
            line.piece_id = self.ids[PIECES.name].take()
            made = order.placed - timedelta(days=self.rng.randrange(3, 90))
            self._buffers.pieces.append(
                (line.piece_id, self.brand_id, ts(made), ts(order.last_change), line.variant.id,
                 self.mint.serial(made.year), PieceMint.inscription(centre.lab, report), report,
                 line.product.piece_weight(line.variant), RETURNED if line.refunded else SOLD)
            )  # fmt: skip
            self.counts.pieces_sold += 1

    def _write(self, order: _Draft) -> None:
        plan, ts, js, b = self.plan, self.ts, self.js, self._buffers
        created, updated = ts(order.placed + timedelta(seconds=2)), ts(order.last_change)
        for position, line in enumerate(order.lines, start=1):
            b.lines.append(
                (line.id, self.brand_id, created, updated, order.id, line.external_id, position, line.variant.sku,
                 line.variant.id, line.product.id, line.product.spec.title,
                 line.variant.title if line.variant.title != "Default Title" else "", line.quantity,
                 line.variant.price, line.discount, line.tax, js(line.properties), line.personalised,
                 line.fulfilled, line.piece_id)
            )  # fmt: skip
            self.counts.personalised_lines += line.personalised
        self.counts.lines += len(order.lines)
        lines = order.lines
        if all(line.fulfilled for line in lines):
            fulfillment = "fulfilled"
        elif any(line.fulfilled for line in lines):
            fulfillment = "partial"
        else:
            fulfillment = ""
        tags = [
            tag
            for tag, applies in (
                ("personalised", any(line.personalised for line in lines)),
                ("high-value", order.high_value),
                ("gift", order.gift),
                ("repeat-customer", not order.first_order),
                ("international", order.abroad),
            )
            if applies
        ]
        address = None if order.channel == "pos" else order.person.shipping_address()
        number = f"{plan.number_prefix}{plan.first_number + order.index}"
        b.orders.append(
            (order.id, self.brand_id, created, updated, str(plan.id_base + order.index * 3 + 1), number,
             number_key(number), order.person.email.lower(), order.customer_id, plan.currency, order.subtotal,
             order.total_tax, order.total_discounts, order.shipping, order.total, plan.taxes_included,
             order.financial, fulfillment, ts(order.placed), ts(order.paid_at) if order.paid_at else None,
             ts(order.cancelled_at) if order.cancelled_at else None, order.cancel_reason,
             ts(order.closed_at) if order.closed_at else None, order.channel, "demo", js(tags),
             js([order.discount.code] if order.discount else []), js(address) if address else None,
             order.person.city.country_code if address else "", updated)
        )  # fmt: skip
        self.counts.orders += 1

    def _line_refund(self, line: _Line) -> Decimal:
        net = line.gross - line.discount
        return net if self.plan.taxes_included else net + line.tax

    def _audit(
        self,
        order: _Draft,
        at: datetime,
        action: str,
        *,
        why: str = "",
        from_state: str = "",
        to_state: str = "",
        data: dict[str, Any] | None = None,
    ) -> None:
        """The order's history, as order_upsert records it (subject: the order)."""
        self.counts.audit_events += 1
        self._buffers.audit.append(
            (self.brand_id, self.ts(at), "system", self.actor_label, None, "order", order.id, action,
             from_state, to_state, why, self.js(data or {}))
        )  # fmt: skip
