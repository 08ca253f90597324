"""Many orders at once, each with the outcome `order_upsert` would give it. PostgreSQL only.

Loading a shop's history goes through here. A batch is read once - the stored orders it touches,
locked as `order_upsert` locks them, with their customers, lines, shipments and refunds - and
compared in Python the way `order_upsert` compares. Then:
- orders and customers that exist are written with COPY into temporary staging tables followed
  by INSERT ... ON CONFLICT ... DO UPDATE ... WHERE the row differs (never an older version over a
  newer one), as are the lines, shipments and refunds of orders that exist; applying a batch
  twice writes nothing the second time;
- orders, customers, lines and shipments that are not there under the batch's lock are copied
  straight into their tables, with ids drawn from the tables' sequences. Should another writer
  create one of them meanwhile, the unique key fails the whole batch, and the caller applies it
  again order by order;
- the audit events `order_upsert` writes (created, updated, cancelled, shipment and refund
  events) are copied in the same transaction.
Catalogue lookups reuse `_variants_for`, so an unknown SKU gets the same product, flagged for
completion, either way. Rows that do not change keep their `updated_at`.

Two batches can overlap on two connections: see `orders_bulk_upsert` and `BatchFootprint`.
"""

# Statements are assembled from this module's constant column names only; values always travel as
# query parameters or COPY rows.
# ruff: noqa: S608
from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import psycopg
from django.db import connection, transaction
from django.utils import timezone

from assay.catalog.models import Variant
from assay.core.audit import Actor
from assay.orders.schema import CanonicalOrder, CanonicalShipment, number_key
from assay.orders.services import _ORDER_FIELDS, _variants_for, is_stale, order_upsert

ORDER_FIELDS: tuple[str, ...] = _ORDER_FIELDS
_ORDER_JSON = frozenset({"tags", "discount_codes", "shipping_address"})
_ORDER_TIMES = frozenset({"placed_at", "paid_at", "cancelled_at", "closed_at"})
_LINE_FIELDS = (
    "position", "sku", "variant_id", "product_id", "title", "variant_title", "quantity", "unit_price",
    "total_discount", "tax", "properties", "personalised", "fulfilled_quantity",
)  # fmt: skip
_SHIPMENT_FIELDS = (
    "carrier", "service", "tracking_numbers", "tracking_number", "tracking_urls", "status", "shipped_at",
    "delivered_at",
)  # fmt: skip
_SHIPMENT_JSON = frozenset({"tracking_numbers", "tracking_urls"})
_SHIPMENT_TIMES = frozenset({"shipped_at", "delivered_at"})
_Resolved = tuple[int, int, bool]  # variant id, product id, product personalised
# The columns of a new line, in the order PreparedOrder.lines holds them (variant and product after sku).
_NEW_LINE_COLUMNS = (
    "position", "sku", "variant_id", "product_id", "title", "variant_title", "quantity", "unit_price",
    "total_discount", "tax", "properties", "fulfilled_quantity", "personalised",
)  # fmt: skip

# Temporary staging tables: one per target, emptied at the start of every batch. Column types are
# the targets' own, so values are checked by COPY exactly as an INSERT would check them.
_ORDER_STAGE_TYPES = {
    "number": "varchar(64)", "email": "varchar(254)", "currency": "varchar(3)", "subtotal": "numeric(14,4)",
    "total_tax": "numeric(14,4)", "total_discounts": "numeric(14,4)", "total_shipping": "numeric(14,4)",
    "total": "numeric(14,4)", "taxes_included": "boolean", "financial_status": "varchar(30)",
    "fulfillment_status": "varchar(30)", "placed_at": "timestamptz", "paid_at": "timestamptz",
    "cancelled_at": "timestamptz", "cancel_reason": "varchar(60)", "closed_at": "timestamptz",
    "channel": "varchar(40)", "tags": "jsonb", "discount_codes": "jsonb", "shipping_address": "jsonb",
    "shipping_country": "varchar(2)",
}  # fmt: skip
_STAGE_ORDER_HEAD = ("external_id", "source", "number_key", "customer_id", "source_updated_at")
_STAGES = {
    "assay_stage_customer": (
        "id bigint, external_id varchar(64), email varchar(254), first_name varchar(120), last_name varchar(120), "
        "phone varchar(40)"
    ),
    "assay_stage_order": (
        "external_id varchar(64), source varchar(20), number_key varchar(64), customer_id bigint, "
        "source_updated_at timestamptz, " + ", ".join(f"{name} {_ORDER_STAGE_TYPES[name]}" for name in _ORDER_FIELDS)
    ),
    "assay_stage_line": (
        "order_id bigint, external_id varchar(64), position integer, sku varchar(100), variant_id bigint, "
        "product_id bigint, title varchar(255), variant_title varchar(255), quantity integer, "
        "unit_price numeric(14,4), total_discount numeric(14,4), tax numeric(14,4), properties jsonb, "
        "personalised boolean, fulfilled_quantity integer"
    ),
    "assay_stage_shipment": (
        "order_id bigint, external_id varchar(64), carrier varchar(100), service varchar(100), "
        "tracking_numbers jsonb, tracking_number varchar(100), tracking_urls jsonb, status varchar(30), "
        "shipped_at timestamptz, delivered_at timestamptz, source_updated_at timestamptz"
    ),
    "assay_stage_shipment_line": "shipment_id bigint, line_id bigint, quantity integer",
    "assay_stage_refund": (
        "order_id bigint, external_id varchar(64), amount numeric(14,4), currency varchar(3), note text, "
        "lines jsonb, refunded_at timestamptz"
    ),
}
_SEQUENCES: dict[str, str] = {}  # table -> the sequence behind its id
_AUDIT_COLUMNS = (
    "brand_id", "at", "actor_kind", "actor_label", "actor_user_id", "subject_type", "subject_id", "action",
    "from_state", "to_state", "why", "data",
)  # fmt: skip


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def _ts(value: datetime | None) -> str | None:
    # ISO text for COPY: the driver's own datetime adaptation costs several times more per value.
    return None if value is None else value.isoformat()


def _converters(
    names: Sequence[str], json_fields: frozenset[str], time_fields: frozenset[str]
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Which columns become COPY text as JSON, and which as ISO times; the others go as they are."""
    return (
        tuple(i for i, name in enumerate(names) if name in json_fields),
        tuple(i for i, name in enumerate(names) if name in time_fields),
    )


def _cells(values: Sequence[Any], converters: tuple[tuple[int, ...], tuple[int, ...]]) -> list[Any]:
    # Only the few columns that need it are converted: a pass over every column cost more than they do.
    cells = list(values)
    as_json, as_time = converters
    for i in as_json:
        cells[i] = _json(cells[i])
    for i in as_time:
        cells[i] = _ts(cells[i])
    return cells


_ORDER_CONVERT = _converters(ORDER_FIELDS, _ORDER_JSON, _ORDER_TIMES)
_SHIPMENT_CONVERT = _converters(_SHIPMENT_FIELDS, _SHIPMENT_JSON, _SHIPMENT_TIMES)


def _loaded(value: Any) -> Any:
    # Django reads jsonb as text on its connections and decodes it in the field; so do we.
    return json.loads(value) if isinstance(value, str) else value


def _differs(stored: Sequence[Any], incoming: Sequence[Any], names: Sequence[str]) -> list[str]:
    return [name for name, old, new in zip(names, stored, incoming, strict=True) if old != new]


def _columns(alias: str, names: Iterable[str]) -> str:
    return ", ".join(f"{alias}.{name}" for name in names)


def _distinct(columns: Iterable[str], left: str, right: str) -> str:
    cols = list(columns)
    return f"({', '.join(f'{left}.{c}' for c in cols)}) IS DISTINCT FROM ({', '.join(f'{right}.{c}' for c in cols)})"


@dataclass(frozen=True, slots=True)
class PreparedOrder:
    """What a batch needs from one order that does not depend on the database, as COPY text.

    `orders_bulk_upsert` prepares each order it is given; a caller with a spare thread (the
    importer, while the previous batch is being written) passes them prepared instead.
    """

    incoming: CanonicalOrder
    values: tuple[Any, ...]  # ORDER_FIELDS, as compared with a stored order
    key: tuple[str, str, str]  # external_id, source, number_key
    cells: tuple[Any, ...]  # source_updated_at, *ORDER_FIELDS as COPY text
    customer: tuple[tuple[str, str], list[str]] | None  # (key, [email, first_name, last_name, phone])
    # per line: external_id, position, sku, then title ... fulfilled_quantity as COPY text, personalised text
    lines: list[tuple[Any, ...]]
    shipments: list[tuple[Any, ...]]  # per shipment: its _SHIPMENT_FIELDS as COPY text, source_updated_at
    created: str  # the order_created audit data


@dataclass(frozen=True, slots=True)
class BatchFootprint:
    """What a batch wrote, for a batch that starts beside it on another connection before it commits.

    That batch cannot see these rows yet: it waits for the commit (`barrier`) when it holds one of
    the same orders or when this batch changed the catalogue; it takes the ids of the customers
    this batch wrote from here, and merges its own customer fields into them last.
    """

    orders: frozenset[str]  # external ids
    customers: dict[tuple[str, str], int]  # ("id", shop id) or ("email", e-mail) -> customer id
    barrier: bool  # products or variants created, or orders applied one by one


def order_prepare(incoming: CanonicalOrder) -> PreparedOrder:
    """The database-independent part of writing an order in bulk (no queries)."""
    values = tuple(getattr(incoming, name) for name in ORDER_FIELDS)
    customer = incoming.customer
    if customer is None:
        email = incoming.email.strip().lower()
        prepared_customer = (("email", email), [email, "", "", ""]) if email else None
    else:
        email = (customer.email or incoming.email).strip().lower()
        fields = [email, customer.first_name, customer.last_name, customer.phone]
        if customer.external_id:
            prepared_customer = (("id", customer.external_id), fields)
        else:
            prepared_customer = (("email", email), fields) if email else None
    lines = [
        (
            line.external_id, position, line.sku, line.title, line.variant_title, line.quantity,
            str(line.unit_price), str(line.total_discount), str(line.tax), _json(line.properties),
            line.fulfilled_quantity, line.has_personalisation,
        )
        for position, line in enumerate(incoming.lines, start=1)
    ]  # fmt: skip
    shipments = [
        (*_shipment_row(_shipment_values(shipment)), _ts(shipment.updated_at)) for shipment in incoming.shipments
    ]
    created = {"source": incoming.source, "lines": len(incoming.lines), "total": str(incoming.total)}
    return PreparedOrder(
        incoming=incoming,
        values=values,
        key=(incoming.external_id, incoming.source, number_key(incoming.number)),
        cells=(
            _ts(incoming.updated_at),
            *_cells(values, _ORDER_CONVERT),
        ),
        customer=prepared_customer,
        lines=lines,
        shipments=shipments,
        created=orjson.dumps(created).decode(),
    )


@dataclass(slots=True)
class _Item:
    """One incoming order on its way through the batch."""

    prepared: PreparedOrder
    stored: tuple[Any, ...] | None  # id, external_id, customer_id, source_updated_at, *ORDER_FIELDS
    order_id: int | None = None
    customer_key: tuple[str, str] | None = None
    customer_id: int | None = None
    changed: list[str] = field(default_factory=list)
    # (action, from state, to state, why, data - or data already as JSON text)
    events: list[tuple[str, str, str, str, dict[str, Any] | str]] = field(default_factory=list)
    variants: list[_Resolved | None] = field(default_factory=list)  # per line

    @property
    def incoming(self) -> CanonicalOrder:
        return self.prepared.incoming

    @property
    def external_id(self) -> str:
        return self.prepared.incoming.external_id


def orders_bulk_upsert(
    *,
    brand_id: int,
    orders: Sequence[CanonicalOrder | PreparedOrder],
    actor: Actor,
    durable: bool = True,
    beside: BatchFootprint | None = None,
    on_ready: Callable[[BatchFootprint], None] | None = None,
    before_commit: Callable[[], None] | None = None,
) -> list[str]:
    """Apply many orders at once; returns each one's outcome (created, updated, unchanged, stale).

    The same result in the database as `order_upsert` applied to each order in turn, in one
    transaction: all of the batch or none of it. The orders must have distinct external ids.
    About a dozen statements per batch, whatever its size.

    `durable=False` lets the commit return before its WAL reaches the disk (synchronous_commit
    off for this transaction only): still atomic, but a server crash in the next fraction of a
    second can lose it. For re-runnable loads, such as an import from the shop's own records.

    Two batches may overlap, each on its own connection. `on_ready` receives this batch's footprint
    as soon as what a following batch depends on is written (customers, orders, catalogue); lines,
    shipments, refunds and audit events follow while that batch starts. `beside` is the footprint
    of the batch still running before this one (its orders must not be in this batch, and its
    `barrier` must be false); `before_commit` returns when this batch may commit - after that one has.
    """
    if connection.vendor != "postgresql":
        raise RuntimeError("orders_bulk_upsert needs PostgreSQL (COPY); use order_upsert")
    prepared = [order if isinstance(order, PreparedOrder) else order_prepare(order) for order in orders]
    external_ids = [order.incoming.external_id for order in prepared]
    if len(set(external_ids)) != len(external_ids):
        raise ValueError("a batch must not hold the same order twice")
    if beside is not None and not batch_may_run_beside(prepared, beside):
        raise ValueError("this batch depends on the batch beside it: wait for that one to commit")
    outcomes: list[str] = [""] * len(orders)
    orders_held = frozenset(external_ids)

    def ready(customers: dict[tuple[str, str], int], barrier: bool) -> None:
        if on_ready is not None:
            on_ready(BatchFootprint(orders=orders_held, customers=customers, barrier=barrier))

    with transaction.atomic():
        # Shipments without the shop's id cannot be matched in bulk; order_upsert applies those orders.
        simple = [i for i, order in enumerate(prepared) if any(not s.external_id for s in order.incoming.shipments)]
        for i in simple:
            outcomes[i] = order_upsert(brand_id=brand_id, incoming=prepared[i].incoming, actor=actor).outcome
        rest = [i for i in range(len(orders)) if not outcomes[i]]
        if not rest:
            ready({}, barrier=True)
        else:
            connection.ensure_connection()
            # The driver's own cursor, binding on the server: large id arrays travel as parameters,
            # and Django's per-statement bookkeeping stays out of the way.
            with psycopg.Cursor(connection.connection) as cursor:
                if not durable:
                    cursor.execute("SET LOCAL synchronous_commit = off")
                batch = _Batch(cursor, brand_id=brand_id, actor=actor, beside=beside)
                applied = batch.apply(
                    [prepared[i] for i in rest],
                    ready=lambda: ready(batch.written_customers, barrier=bool(simple) or batch.catalogue_changed),
                )
                for i, outcome in zip(rest, applied, strict=True):
                    outcomes[i] = outcome
        if before_commit is not None:
            before_commit()
    return outcomes


# What a bulk load fills: the tables whose statistics the planner needs to be current.
_FILLED = (
    "orders_order", "orders_orderline", "orders_customer", "orders_shipment", "orders_shipmentline",
    "orders_shoprefund", "core_auditevent", "catalog_product", "catalog_variant",
)  # fmt: skip


def orders_bulk_analyze() -> None:
    """Refresh the planner's statistics of the tables a bulk load fills (PostgreSQL's ANALYZE).

    Without them, a table that grew from nothing looks as if a brand owned a handful of its rows,
    and the lookups of the next batches scan the whole brand instead of using their keys. Autovacuum
    does this in time on a busy server, when it runs at all. Run outside a transaction; it does not
    block writers.
    """
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {', '.join(_FILLED)}")


def batch_may_run_beside(orders: Sequence[PreparedOrder], beside: BatchFootprint) -> bool:
    """Whether a batch can start before the batch of this footprint has committed."""
    return not beside.barrier and not any(
        order.incoming.external_id in beside.orders or any(not s.external_id for s in order.incoming.shipments)
        for order in orders
    )


class _Batch:
    def __init__(self, cursor: Any, *, brand_id: int, actor: Actor, beside: BatchFootprint | None = None) -> None:
        self.cursor = cursor
        self.beside = beside
        self.written_customers: dict[tuple[str, str], int] = {}
        self.late_customers: list[tuple[Any, ...]] = []  # (id, *fields) merged once the batch beside commits
        self.catalogue_changed = False
        self.brand_id = brand_id
        self.actor = actor
        self.now = timezone.now()
        self.now_text = self.now.isoformat()
        self.staged: set[str] = set()

    # -- plumbing --------------------------------------------------------------------------

    def _copy(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        with connection.wrap_database_errors, self.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
            for row in rows:
                cp.write_row(row)

    def _execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        with connection.wrap_database_errors:
            self.cursor.execute(sql, params)

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with connection.wrap_database_errors:
            self.cursor.execute(sql, params)
            return list(self.cursor.fetchall())

    def _copy_new(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """COPY rows that cannot exist yet straight into their table, stamped with this batch."""
        head = (self.brand_id, self.now_text, self.now_text)
        self._copy(table, ("brand_id", "created_at", "updated_at", *columns), ((*head, *row) for row in rows))

    def _new_ids(self, table: str, count: int) -> list[int]:
        """Ids for rows about to be copied in, from the table's own sequence."""
        if not count:
            return []
        sequence = _SEQUENCES.get(table)
        if sequence is None:
            sequence = _SEQUENCES[table] = self._rows("SELECT pg_get_serial_sequence(%s, 'id')", [table])[0][0]
        rows = self._rows("SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [sequence, count])
        return [row[0] for row in rows]

    def _stage(self, name: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """COPY rows into an empty staging table (made on first use in this session)."""
        if name not in self.staged:
            # Truncating costs a file swap per table: only the tables this batch uses pay it.
            self._execute(f"CREATE TEMP TABLE IF NOT EXISTS {name} ({_STAGES[name]}); TRUNCATE {name}")
            self.staged.add(name)
        self._copy(name, columns, rows)

    # -- the batch -------------------------------------------------------------------------

    def apply(self, orders: Sequence[PreparedOrder], *, ready: Callable[[], None]) -> list[str]:
        """Write the batch; `ready` is called once a following batch may start beside this one."""
        stored = self._stored_orders([order.incoming.external_id for order in orders])
        outcomes: list[str] = []
        items: list[_Item] = []
        for prepared in orders:
            row = stored.get(prepared.incoming.external_id)
            if row is not None and is_stale(stored=row[3], incoming=prepared.incoming.updated_at):
                outcomes.append("stale")
                continue
            outcomes.append("")
            items.append(_Item(prepared=prepared, stored=row))
        if not items:
            ready()
            return outcomes
        self._customers(items)
        self._orders(items)
        if any(item.incoming.lines for item in items):
            self._variants(items)
        ready()
        changed_lines = self._lines(items)
        self._shipments(items, changed_lines)
        self._refunds(items)
        self._audit(items)
        self._customers_late()
        results = iter(items)
        for position, outcome in enumerate(outcomes):
            if outcome:
                continue
            item = next(results)
            outcomes[position] = "created" if item.stored is None else ("updated" if item.changed else "unchanged")
        return outcomes

    def _stored_orders(self, external_ids: list[str]) -> dict[str, tuple[Any, ...]]:
        rows = self._rows(
            f"SELECT o.id, o.external_id, o.customer_id, o.source_updated_at, {_columns('o', ORDER_FIELDS)} "
            "FROM orders_order o JOIN unnest(%s::text[]) AS k(external_id) ON o.external_id = k.external_id "
            "WHERE o.brand_id = %s ORDER BY o.id FOR UPDATE OF o",
            [external_ids, self.brand_id],
        )
        result = {}
        for row in rows:
            values = list(row)
            for offset, name in enumerate(ORDER_FIELDS, start=4):
                if name in _ORDER_JSON:
                    values[offset] = _loaded(values[offset])
            result[row[1]] = tuple(values)
        return result

    # -- customers -------------------------------------------------------------------------

    def _customers(self, items: list[_Item]) -> None:
        """Customers as `order_upsert` finds or creates them: by the shop's id, else by e-mail.

        Applied in turn, each order sets the fields it carries (non-empty ones); so a customer ends
        with the last non-empty value of each field, or what was stored, or "".
        """
        merged: dict[tuple[str, str], list[str]] = {}
        for item in items:
            if item.prepared.customer is None:
                continue
            key, fields = item.prepared.customer
            item.customer_key = key
            before = merged.get(key)
            merged[key] = fields if before is None else [new or old for new, old in zip(fields, before, strict=True)]
        if not merged:
            return
        ids: dict[tuple[str, str], int] = {}
        if self.beside is not None:
            for key in [key for key in merged if key in self.beside.customers]:
                # Written by the batch beside us and not visible yet: its id is known; our fields
                # go on top of its once it has committed (see _customers_late).
                ids[key] = customer_id = self.beside.customers[key]
                self.late_customers.append((customer_id, *merged.pop(key)))
                self.written_customers[key] = customer_id
        by_id = {key[1]: fields for key, fields in merged.items() if key[0] == "id"}
        by_email = {key[1]: fields for key, fields in merged.items() if key[0] == "email"}
        if by_id:
            ids.update(self._customers_by_id(by_id))
        if by_email:
            ids.update(self._customers_by_email(by_email))
        for item in items:
            if item.customer_key is not None:
                item.customer_id = ids[item.customer_key]

    def _customers_by_id(self, wanted: dict[str, list[str]]) -> dict[tuple[str, str], int]:
        stored = self._rows(
            "SELECT c.id, c.external_id, c.email, c.first_name, c.last_name, c.phone FROM orders_customer c "
            "JOIN unnest(%s::text[]) AS k(external_id) ON c.external_id = k.external_id "
            "WHERE c.brand_id = %s AND c.external_id <> ''",
            [list(wanted), self.brand_id],
        )
        ids = {("id", row[1]): row[0] for row in stored}
        current = {row[1]: list(row[2:]) for row in stored}
        writes = []
        fresh = []
        for external_id, fields in wanted.items():
            old = current.get(external_id)
            if old is None:
                fresh.append((external_id, *fields))
            elif any(new and new != was for new, was in zip(fields, old, strict=True)):
                writes.append((external_id, *fields))
        columns = ("external_id", "email", "first_name", "last_name", "phone")
        if fresh:
            # Not there under our read: straight in (a concurrent creation fails the batch, which
            # is then applied order by order).
            new_ids = self._new_ids("orders_customer", len(fresh))
            self._copy_new(
                "orders_customer", ("id", *columns), [(i, *row) for i, row in zip(new_ids, fresh, strict=True)]
            )
            written = {("id", row[0]): i for i, row in zip(new_ids, fresh, strict=True)}
            ids.update(written)
            self.written_customers.update(written)
        if writes:
            self._stage("assay_stage_customer", columns, writes)
            keep = ", ".join(
                f"{c} = CASE WHEN EXCLUDED.{c} <> '' THEN EXCLUDED.{c} ELSE c.{c} END" for c in columns[1:]
            )
            rows = self._rows(
                f"INSERT INTO orders_customer AS c (brand_id, created_at, updated_at, {', '.join(columns)}) "
                f"SELECT %s, %s, %s, {', '.join(columns)} FROM assay_stage_customer "
                "ON CONFLICT (brand_id, external_id) WHERE NOT (external_id = '') "
                f"DO UPDATE SET {keep} RETURNING id, external_id",
                [self.brand_id, self.now, self.now],
            )
            written = {("id", row[1]): row[0] for row in rows}
            ids.update(written)
            self.written_customers.update(written)
        return ids

    def _customers_by_email(self, wanted: dict[str, list[str]]) -> dict[tuple[str, str], int]:
        stored = self._rows(
            "SELECT DISTINCT ON (c.email) c.id, c.email, c.first_name, c.last_name, c.phone FROM orders_customer c "
            "JOIN unnest(%s::text[]) AS k(email) ON c.email = k.email "
            "WHERE c.brand_id = %s AND c.external_id = '' ORDER BY c.email, c.id",
            [list(wanted), self.brand_id],
        )
        ids = {("email", row[1]): row[0] for row in stored}
        current = {row[1]: (row[0], list(row[1:])) for row in stored}
        new, changed = [], []
        for email, fields in wanted.items():
            found = current.get(email)
            if found is None:
                new.append(fields)
            elif any(value and value != was for value, was in zip(fields, found[1], strict=True)):
                changed.append((found[0], *fields))
        columns = ("email", "first_name", "last_name", "phone")
        if new:
            rows = self._rows(
                "INSERT INTO orders_customer (brand_id, created_at, updated_at, external_id, email, first_name, "
                "last_name, phone) SELECT %s, %s, %s, '', * FROM unnest(%s::text[], %s::text[], %s::text[], "
                "%s::text[]) RETURNING id, email",
                [self.brand_id, self.now, self.now, *(list(column) for column in zip(*new, strict=True))],
            )
            written = {("email", row[1]): row[0] for row in rows}
            ids.update(written)
            self.written_customers.update(written)
        if changed:
            self.written_customers.update({("email", row[1]): row[0] for row in changed})
            self._stage("assay_stage_customer", ("id", *columns), changed)
            keep = ", ".join(f"{c} = CASE WHEN s.{c} <> '' THEN s.{c} ELSE c.{c} END" for c in columns)
            self._execute(
                f"UPDATE orders_customer c SET {keep} FROM assay_stage_customer s "
                "WHERE c.id = s.id AND c.brand_id = %s AND s.id IS NOT NULL",
                [self.brand_id],
            )
        return ids

    def _customers_late(self) -> None:
        """Merge this batch's fields into customers the batch beside it wrote (waits for its commit)."""
        if not self.late_customers:
            return
        columns = ("email", "first_name", "last_name", "phone")
        self._stage("assay_stage_customer", ("id", *columns), self.late_customers)
        keep = ", ".join(f"{c} = CASE WHEN s.{c} <> '' THEN s.{c} ELSE c.{c} END" for c in columns)
        self._execute(
            f"UPDATE orders_customer c SET {keep} FROM assay_stage_customer s "
            "WHERE c.id = s.id AND c.brand_id = %s AND s.id IS NOT NULL",
            [self.brand_id],
        )

    # -- orders ----------------------------------------------------------------------------

    def _orders(self, items: list[_Item]) -> None:
        writes = []
        fresh = []
        new_ids = iter(self._new_ids("orders_order", sum(1 for item in items if item.stored is None)))
        for item in items:
            order = item.prepared.incoming
            values = item.prepared.values
            stored = item.stored
            if stored is None:
                # Not there under our read: straight into the table with an id of its own (a
                # concurrent creation fails the batch on the unique key; it is then applied order by order).
                item.order_id = next(new_ids)
                fresh.append((item.order_id, *item.prepared.key, item.customer_id, *item.prepared.cells))
                continue
            item.order_id = stored[0]
            item.changed = _differs(stored[4:], values, ORDER_FIELDS)
            if item.customer_id is not None and stored[2] != item.customer_id:
                item.changed.append("customer")
            newer = order.updated_at is not None and stored[3] != order.updated_at
            if stored[ORDER_FIELDS.index("cancelled_at") + 4] is None and order.cancelled_at is not None:
                item.events.append(("order_cancelled", "", "", order.cancel_reason or "cancelled in the shop", {}))
            if item.changed or newer:
                writes.append((*item.prepared.key, item.customer_id, *item.prepared.cells))
        columns = (*_STAGE_ORDER_HEAD, *ORDER_FIELDS)
        if fresh:
            self._copy_new("orders_order", ("id", *columns), fresh)
        if not writes:
            return
        self._stage("assay_stage_order", columns, writes)
        updates = ", ".join(f"{name} = EXCLUDED.{name}" for name in ORDER_FIELDS)
        self._execute(
            f"INSERT INTO orders_order AS o (brand_id, created_at, updated_at, {', '.join(columns)}) "
            f"SELECT %s, %s, %s, {', '.join(columns)} FROM assay_stage_order "
            "ON CONFLICT (brand_id, external_id) DO UPDATE SET "
            f"{updates}, number_key = EXCLUDED.number_key, updated_at = EXCLUDED.updated_at, "
            "customer_id = COALESCE(EXCLUDED.customer_id, o.customer_id), "
            "source_updated_at = COALESCE(EXCLUDED.source_updated_at, o.source_updated_at) "
            # Never move an order backwards, and never write a row that would not change.
            "WHERE (o.source_updated_at IS NULL OR EXCLUDED.source_updated_at IS NULL "
            "OR EXCLUDED.source_updated_at >= o.source_updated_at) AND ("
            + _distinct(ORDER_FIELDS, "o", "EXCLUDED")
            + " OR COALESCE(EXCLUDED.customer_id, o.customer_id) IS DISTINCT FROM o.customer_id "
            "OR COALESCE(EXCLUDED.source_updated_at, o.source_updated_at) IS DISTINCT FROM o.source_updated_at"
            ")",
            [self.brand_id, self.now, self.now],
        )

    # -- lines -----------------------------------------------------------------------------

    def _variants_found(self, ids: set[str], skus: set[str]) -> dict[tuple[str, str], _Resolved]:
        """The catalogue's variants by ("id", shop variant id) and ("sku", SKU), found as
        `_variants_for` finds them (for a SKU, the variant with the greatest shop id)."""
        found: dict[tuple[str, str], _Resolved] = {}
        query = Variant.objects.filter(brand_id=self.brand_id)
        columns = ("id", "product_id", "product__personalised", "external_id", "sku")
        if ids:
            for vid, pid, personalised, external_id, _ in query.filter(external_id__in=ids).values_list(*columns):
                found[("id", external_id)] = (vid, pid, personalised)
        if skus:
            rows = query.filter(sku__in=skus).order_by("-external_id").values_list(*columns)
            for vid, pid, personalised, _, sku in rows:
                found.setdefault(("sku", sku), (vid, pid, personalised))
        return found

    def _variants(self, items: list[_Item]) -> None:
        """Each line's (variant id, product id, product personalised), or None.

        One lookup for the batch; an order with a line the catalogue does not know goes through
        `_variants_for` itself - which creates the products flagged for completion, exactly as for
        that order alone - and what it created is looked up again for the orders after it.
        """
        lines = [line for item in items for line in item.incoming.lines]
        found = self._variants_found(
            {line.variant_external_id for line in lines if line.variant_external_id},
            {line.sku for line in lines if line.sku},
        )
        for item in items:
            own = item.incoming.lines
            if any(
                (line.sku or line.variant_external_id)
                and ("sku", line.sku) not in found
                and ("id", line.variant_external_id) not in found
                for line in own
            ):
                made = _variants_for(brand_id=self.brand_id, lines=list(own))
                self.catalogue_changed = True
                variants = {key: (v.pk, v.product_id, v.product.personalised) for key, v in made.items()}
                by_sku: dict[str, set[int]] = {}
                for variant in made.values():
                    if variant.sku:
                        by_sku.setdefault(variant.sku, set()).add(variant.pk)
                if all(len(pks) == 1 for pks in by_sku.values()):
                    # One variant per SKU: exactly what the next order's own lookup would find.
                    found.update(variants)
                else:  # several new variants share a SKU: ask which one a lookup picks
                    found.update(
                        self._variants_found(
                            {line.variant_external_id for line in own if line.variant_external_id},
                            {line.sku for line in own if line.sku},
                        )
                    )
            else:
                variants = found
            item.variants = [
                variants.get(("id", line.variant_external_id)) or variants.get(("sku", line.sku)) for line in own
            ]

    def _lines(self, items: list[_Item]) -> dict[int, dict[str, int]]:
        """Create or update lines (a line never disappears); returns each order's line ids by external id."""
        existing = [item.order_id for item in items if item.stored is not None and item.incoming.lines]
        stored: dict[int, dict[str, tuple[Any, ...]]] = {}
        line_ids: dict[int, dict[str, int]] = {}
        if existing:
            rows = self._rows(
                f"SELECT l.order_id, l.external_id, l.id, {_columns('l', _LINE_FIELDS)} FROM orders_orderline l "
                "JOIN unnest(%s::bigint[]) AS k(id) ON l.order_id = k.id WHERE l.brand_id = %s",
                [existing, self.brand_id],
            )
            properties = 3 + _LINE_FIELDS.index("properties")
            for row in rows:
                found = list(row[3:])
                found[properties - 3] = _loaded(found[properties - 3])
                stored.setdefault(row[0], {})[row[1]] = tuple(found)
                line_ids.setdefault(row[0], {})[row[1]] = row[2]
        writes = []
        fresh: list[tuple[Any, ...]] = []
        new_lines = sum(len(item.incoming.lines) for item in items if item.stored is None)
        ids = iter(self._new_ids("orders_orderline", new_lines))
        for item in items:
            order_id = item.order_id
            assert order_id is not None
            if item.stored is None:
                # A new order's lines cannot be there yet: straight into the table.
                own = line_ids.setdefault(order_id, {})
                for cells, variant in zip(item.prepared.lines, item.variants, strict=True):
                    line_id = own[cells[0]] = next(ids)
                    if variant is None:
                        fresh.append((line_id, order_id, *cells[:3], None, None, *cells[3:11], cells[11]))
                    else:
                        vid, pid, personalised = variant
                        fresh.append((line_id, order_id, *cells[:3], vid, pid, *cells[3:11], personalised or cells[11]))
                continue
            before = stored.get(order_id, {})
            changed = False
            for position, (line, variant) in enumerate(zip(item.incoming.lines, item.variants, strict=True), start=1):
                values = (
                    position,
                    line.sku,
                    variant[0] if variant else None,
                    variant[1] if variant else None,
                    line.title,
                    line.variant_title,
                    line.quantity,
                    line.unit_price,
                    line.total_discount,
                    line.tax,
                    line.properties,
                    bool(variant and variant[2]) or line.has_personalisation,
                    line.fulfilled_quantity,
                )
                old = before.get(line.external_id)
                if old is not None and not _differs(old, values, _LINE_FIELDS):
                    continue
                changed = True
                writes.append((order_id, line.external_id, *values[:10], _json(values[10]), *values[11:]))
            if changed:
                item.changed.append("lines")
        if fresh:
            self._copy_new("orders_orderline", ("id", "order_id", "external_id", *_NEW_LINE_COLUMNS), fresh)
        if writes:
            columns = ("order_id", "external_id", *_LINE_FIELDS)
            self._stage("assay_stage_line", columns, writes)
            rows = self._rows(
                f"INSERT INTO orders_orderline AS l (brand_id, created_at, updated_at, {', '.join(columns)}) "
                f"SELECT %s, %s, %s, {', '.join(columns)} FROM assay_stage_line "
                "ON CONFLICT (order_id, external_id) DO UPDATE SET "
                + ", ".join(f"{name} = EXCLUDED.{name}" for name in _LINE_FIELDS)
                + ", updated_at = EXCLUDED.updated_at WHERE "
                + _distinct(_LINE_FIELDS, "l", "EXCLUDED")
                + " RETURNING order_id, external_id, id",
                [self.brand_id, self.now, self.now],
            )
            for order_id, external_id, line_id in rows:
                line_ids.setdefault(order_id, {})[external_id] = line_id
        return line_ids

    # -- shipments -------------------------------------------------------------------------

    def _shipments(self, items: list[_Item], line_ids: dict[int, dict[str, int]]) -> None:
        """Shipments as `order_upsert` applies them: new ones created, known ones updated unless the
        incoming version is older, their lines (quantities per order line) kept in step."""
        with_shipments = [item for item in items if item.incoming.shipments]
        if not with_shipments:
            return
        existing = [item.order_id for item in with_shipments if item.stored is not None]
        stored: dict[tuple[int, str], tuple[Any, ...]] = {}
        shipment_lines: dict[int, dict[int, int]] = {}
        if existing:
            rows = self._rows(
                f"SELECT s.order_id, s.external_id, s.id, s.source_updated_at, {_columns('s', _SHIPMENT_FIELDS)} "
                "FROM orders_shipment s JOIN unnest(%s::bigint[]) AS k(id) ON s.order_id = k.id "
                "WHERE s.brand_id = %s AND s.external_id <> ''",
                [existing, self.brand_id],
            )
            for row in rows:
                found = [
                    _loaded(v) if name in _SHIPMENT_JSON else v
                    for name, v in zip(_SHIPMENT_FIELDS, row[4:], strict=True)
                ]
                stored[(row[0], row[1])] = (row[2], row[3], *found)
            if stored:
                for shipment_id, line_id, quantity in self._rows(
                    "SELECT sl.shipment_id, sl.line_id, sl.quantity FROM orders_shipmentline sl "
                    "JOIN unnest(%s::bigint[]) AS k(id) ON sl.shipment_id = k.id",
                    [[value[0] for value in stored.values()]],
                ):
                    shipment_lines.setdefault(shipment_id, {})[line_id] = quantity
        writes: list[tuple[Any, ...]] = []
        # (order id, shipment external id) -> wanted {line id: quantity} changes
        line_writes: dict[tuple[int, str], dict[int, int]] = {}
        fresh: list[tuple[Any, ...]] = []
        fresh_lines: list[tuple[int, int, int]] = []
        new_count = sum(len(item.incoming.shipments) for item in with_shipments if item.stored is None)
        ids = iter(self._new_ids("orders_shipment", new_count))
        for item in with_shipments:
            order_id = item.order_id
            assert order_id is not None
            any_changed = False
            for shipment, cells in zip(item.incoming.shipments, item.prepared.shipments, strict=True):
                known = stored.get((order_id, shipment.external_id))
                if known is not None and is_stale(stored=known[1], incoming=shipment.updated_at):
                    continue
                values = _shipment_values(shipment)
                current = shipment_lines.get(known[0], {}) if known is not None else {}
                lines = _shipment_lines_wanted(shipment, line_ids.get(order_id, {}), current)
                if known is None:
                    item.events.append(
                        (
                            "shipment_created",
                            "",
                            str(shipment.status),
                            "",
                            {"carrier": shipment.carrier, "tracking_numbers": list(shipment.tracking_numbers)},
                        )
                    )
                    if item.stored is None:
                        # A new order's shipment: straight into the table, with its lines.
                        shipment_id = next(ids)
                        fresh.append((shipment_id, order_id, shipment.external_id, *cells))
                        fresh_lines.extend((shipment_id, line_id, quantity) for line_id, quantity in lines.items())
                        continue
                    diff: list[str] = []
                else:
                    diff = _differs(known[2:], values, _SHIPMENT_FIELDS)
                    newer = shipment.updated_at is not None and known[1] != shipment.updated_at
                    if not (diff or lines or newer):
                        continue
                    if diff or lines:
                        status_moved = "status" in diff
                        item.events.append(
                            (
                                "shipment_updated",
                                known[2 + _SHIPMENT_FIELDS.index("status")] if status_moved else "",
                                str(shipment.status) if status_moved else "",
                                "",
                                {"tracking_numbers": list(shipment.tracking_numbers), "changed": sorted(diff)},
                            )
                        )
                if known is None or diff or lines:
                    any_changed = True
                source_updated_at = shipment.updated_at if known is None else (shipment.updated_at or known[1])
                writes.append((order_id, shipment.external_id, *_shipment_row(values), _ts(source_updated_at)))
                if lines:
                    line_writes[(order_id, shipment.external_id)] = lines
            if any_changed and item.stored is not None:
                item.changed.append("shipments")
        columns = ("order_id", "external_id", *_SHIPMENT_FIELDS, "source_updated_at")
        if fresh:
            self._copy_new("orders_shipment", ("id", *columns), fresh)
            self._copy("orders_shipmentline", ("shipment_id", "line_id", "quantity"), fresh_lines)
        if not writes:
            return
        self._stage("assay_stage_shipment", columns, writes)
        rows = self._rows(
            f"INSERT INTO orders_shipment AS s (brand_id, created_at, updated_at, {', '.join(columns)}) "
            f"SELECT %s, %s, %s, {', '.join(columns)} FROM assay_stage_shipment "
            "ON CONFLICT (order_id, external_id) WHERE NOT (external_id = '') DO UPDATE SET "
            + ", ".join(f"{name} = EXCLUDED.{name}" for name in (*_SHIPMENT_FIELDS, "source_updated_at"))
            + ", updated_at = EXCLUDED.updated_at RETURNING order_id, external_id, id",
            [self.brand_id, self.now, self.now],
        )
        shipment_ids = {(row[0], row[1]): row[2] for row in rows}
        if line_writes:
            self._stage(
                "assay_stage_shipment_line",
                ("shipment_id", "line_id", "quantity"),
                (
                    (shipment_ids[key], line_id, quantity)
                    for key, wanted in line_writes.items()
                    for line_id, quantity in wanted.items()
                ),
            )
            self._execute(
                "INSERT INTO orders_shipmentline (shipment_id, line_id, quantity) "
                "SELECT shipment_id, line_id, quantity FROM assay_stage_shipment_line "
                "ON CONFLICT (shipment_id, line_id) DO UPDATE SET quantity = EXCLUDED.quantity"
            )

    # -- refunds ---------------------------------------------------------------------------

    def _refunds(self, items: list[_Item]) -> None:
        with_refunds = [item for item in items if item.incoming.refunds]
        if not with_refunds:
            return
        existing = [item.order_id for item in with_refunds if item.stored is not None]
        known: set[tuple[int, str]] = set()
        if existing:
            known = {
                (row[0], row[1])
                for row in self._rows(
                    "SELECT r.order_id, r.external_id FROM orders_shoprefund r "
                    "JOIN unnest(%s::bigint[]) AS k(id) ON r.order_id = k.id WHERE r.brand_id = %s",
                    [existing, self.brand_id],
                )
            }
        writes = []
        for item in with_refunds:
            order_id = item.order_id
            assert order_id is not None
            currency = item.incoming.currency
            recorded = False
            for refund in item.incoming.refunds:
                if (order_id, refund.external_id) in known:
                    continue
                known.add((order_id, refund.external_id))
                recorded = True
                writes.append(
                    (
                        order_id,
                        refund.external_id,
                        refund.amount,
                        currency,
                        refund.note,
                        _json(list(refund.lines)),
                        _ts(refund.refunded_at),
                    )
                )
                item.events.append(
                    (
                        "shop_refund_recorded",
                        "",
                        "",
                        refund.note,
                        {"refund": refund.external_id, "amount": str(refund.amount), "currency": currency},
                    )
                )
            if recorded and item.stored is not None:
                item.changed.append("refunds")
        if writes:
            columns = ("order_id", "external_id", "amount", "currency", "note", "lines", "refunded_at")
            self._stage("assay_stage_refund", columns, writes)
            self._execute(
                f"INSERT INTO orders_shoprefund (brand_id, created_at, updated_at, {', '.join(columns)}) "
                f"SELECT %s, %s, %s, {', '.join(columns)} FROM assay_stage_refund "
                "ON CONFLICT (order_id, external_id) DO NOTHING",
                [self.brand_id, self.now, self.now],
            )

    # -- audit -----------------------------------------------------------------------------

    def _audit(self, items: list[_Item]) -> None:
        """The events `order_upsert` records, in its order: cancellation, shipments, refunds, then
        created (with a cancellation when first seen cancelled) or updated."""
        actor = self.actor
        head = (self.brand_id, self.now_text, actor.kind, actor.label[:200], actor.user_id, "order")
        rows = []
        for item in items:
            order = item.incoming
            events = item.events
            if item.stored is None:
                events.append(("order_created", "", "", "", item.prepared.created))
                if order.cancelled_at is not None:
                    events.append(("order_cancelled", "", "", order.cancel_reason or "cancelled in the shop", {}))
            elif item.changed:
                events.append(("order_updated", "", "", "", {"changed": item.changed}))
            for action, from_state, to_state, why, data in events:
                text = data if isinstance(data, str) else orjson.dumps(data).decode()
                rows.append((*head, item.order_id, action, from_state, to_state, why, text))
        if rows:
            self._copy("core_auditevent", _AUDIT_COLUMNS, rows)


def _shipment_values(shipment: CanonicalShipment) -> tuple[Any, ...]:
    numbers = list(shipment.tracking_numbers)
    return (
        shipment.carrier,
        shipment.service,
        numbers,
        numbers[0] if numbers else "",
        list(shipment.tracking_urls),
        str(shipment.status),
        shipment.shipped_at,
        shipment.delivered_at,
    )


def _shipment_row(values: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(_cells(values, _SHIPMENT_CONVERT))


def _shipment_lines_wanted(
    shipment: CanonicalShipment, line_ids: dict[str, int], current: dict[int, int]
) -> dict[int, int]:
    wanted: dict[int, int] = {}
    for external_id, quantity in shipment.lines.items():
        line_id = line_ids.get(external_id)
        if line_id is None or current.get(line_id) == quantity:
            continue
        wanted[line_id] = quantity
    return wanted
