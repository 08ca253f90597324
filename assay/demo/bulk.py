"""Bulk writes for the demo's large tables: COPY on PostgreSQL, executemany on SQLite.

The ORM makes a model instance per row; a million orders with their customers, lines,
shipments, pieces and history are about nine million rows. Rows here are plain tuples in the
order of the columns named for each table, and the ids rows refer to are taken from each
table's own sequence first, so rows can point at each other before they are written.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import orjson
from django.db import connection
from django.db.models import NOT_PROVIDED, Model

# A reservation per round trip on PostgreSQL: large enough to be cheap, small enough to waste little.
_ID_BLOCK = 20_000


class IdSource:
    """The next free ids of one table.

    PostgreSQL: taken from the table's sequence in blocks, so concurrent writers never collide.
    SQLite: counted on from the largest id used; the seed holds the database's write lock from
    its first statement to its commit, so no other writer can take one in between.
    """

    def __init__(self, model: type[Model]) -> None:
        self._table = model._meta.db_table
        self._pending: list[int] = []
        self._next = 0
        self._postgres = connection.vendor == "postgresql"
        self._sequence: str | None = None
        self._block = 64
        if not self._postgres:
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {connection.ops.quote_name(self._table)}")  # noqa: S608 - a model's table name
                largest = cursor.fetchone()[0]
                cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [self._table])
                row = cursor.fetchone()
            self._next = max(largest, row[0] if row else 0) + 1

    def take(self) -> int:
        if not self._postgres:
            value = self._next
            self._next += 1
            return value
        if not self._pending:
            with connection.cursor() as cursor:
                if self._sequence is None:
                    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [self._table])
                    self._sequence = cursor.fetchone()[0]
                cursor.execute(
                    "SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [self._sequence, self._block]
                )
                self._pending = [row[0] for row in cursor.fetchall()]
                self._pending.reverse()
            # Start small (a demo brand needs a few dozen ids) and grow with the run.
            self._block = min(self._block * 4, _ID_BLOCK)
        return self._pending.pop()


class Table:
    """One table and the columns the demo writes to it.

    Checked against the model when first written: an unknown column, or a required one the demo
    does not know, fails loudly. A column the model gained since, with a default, is written
    with that default, as the ORM would.
    """

    def __init__(self, model: type[Model], columns: Sequence[str]) -> None:
        self.model = model
        self.name = model._meta.db_table
        self.given = tuple(columns)
        self._completed: tuple[tuple[str, ...], tuple[Any, ...]] | None = None

    def completed(self) -> tuple[tuple[str, ...], tuple[Any, ...]]:
        """(every column written, the values appended to each row for the defaulted ones)"""
        if self._completed is None:
            fields = {f.column: f for f in self.model._meta.concrete_fields if f.column}
            unknown = [c for c in self.given if c not in fields]
            extra: list[str] = []
            values: list[Any] = []
            missing: list[str] = []
            for column, f in fields.items():
                if column in self.given or f.primary_key or f.null or f.db_default is not NOT_PROVIDED:
                    continue
                if f.has_default() or f.empty_strings_allowed:  # the ORM writes "" for a text field
                    extra.append(column)
                    values.append(f.get_db_prep_save(f.get_default(), connection))
                else:
                    missing.append(column)
            if unknown or missing:
                raise ValueError(f"{self.model.__name__}: unknown columns {unknown}, required columns {missing}")
            self._completed = (self.given + tuple(extra), tuple(values))
        return self._completed


class BulkWriter:
    """Writes rows of several tables inside the caller's transaction."""

    def __init__(self) -> None:
        self.postgres = connection.vendor == "postgresql"
        # SQLite keeps datetimes as naive UTC text (what Django writes); PostgreSQL takes them as they are.
        self.timestamp: Callable[[datetime], Any] = (lambda at: at) if self.postgres else _sqlite_timestamp
        # jsonb keeps no text, so the fastest encoder will do; SQLite keeps the text, so write it
        # exactly as Django's JSONField would (json.dumps, ASCII-escaped).
        self.json: Callable[[Any], str] = _orjson_text if self.postgres else json.dumps

    def write(self, table: Table, rows: Sequence[Sequence[Any]]) -> None:
        names, defaults = table.completed()
        if defaults:
            rows = [(*row, *defaults) for row in rows]
        quote = connection.ops.quote_name
        columns = ", ".join(quote(c) for c in names)
        with connection.cursor() as cursor:
            if self.postgres:
                raw = cursor.cursor  # the psycopg cursor under Django's wrapper
                with raw.copy(f"COPY {quote(table.name)} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(names))
                cursor.executemany(f"INSERT INTO {quote(table.name)} ({columns}) VALUES ({marks})", rows)  # noqa: S608 - model table and columns


def _sqlite_timestamp(at: datetime) -> str:
    """'2025-03-01 14:05:09': the demo's times are whole seconds in UTC."""
    return at.isoformat(" ")[:19]


def _orjson_text(value: Any) -> str:
    return orjson.dumps(value).decode()


@contextmanager
def bulk_load(models: Sequence[type[Model]]) -> Iterator[None]:
    """PostgreSQL: load the tables without their foreign keys and secondary indexes, then put
    them back.

    Row by row, a deferred foreign key queues one check per row until commit, and every index
    takes one insertion per row; adding a constraint afterwards checks all rows in one join, and
    building an index sorts once. This is PostgreSQL's own advice for populating a database.
    Runs inside the caller's transaction, so a failure restores everything; holds an exclusive
    lock on these tables until commit. Unique and primary-key indexes stay: they guard the data.
    """
    if connection.vendor != "postgresql":
        yield
        return
    tables = [model._meta.db_table for model in models]
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        # Checks still deferred from earlier in the transaction (a reset's deletes) would make
        # PostgreSQL refuse to alter these tables: run them now, then defer again.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'f' AND conrelid = ANY(%s::regclass[]) ORDER BY 1, 2",
            [tables],
        )
        keys = cursor.fetchall()
        cursor.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisunique AND NOT i.indisprimary "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1",
            [tables],
        )
        indexes = cursor.fetchall()
        for table, name, _definition in keys:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {quote(name)}")
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {name}")
    yield
    with connection.cursor() as cursor:
        for _name, definition in indexes:
            cursor.execute(definition)
        for table, name, definition in keys:
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {quote(name)} {definition}")
