"""Load a file of orders into a brand: stream records, map them, write them in batches, report.

Two writers stand behind one interface and give the same data:
- `simple`: `order_upsert` per order (the path webhooks take), a savepoint each, a transaction per
  small batch. For small files and for SQLite.
- `bulk`: `orders_bulk_upsert` per batch of thousands (COPY; INSERT ... ON CONFLICT ... WHERE the
  row differs). PostgreSQL only. This thread reads, maps and prepares each order (`order_prepare`);
  two writer threads, each with its own connection, take the batches in turn, so the database
  commits one batch while the next is written and this thread parses the one after. A batch the
  database refuses is replayed order by order through the simple writer, so one bad record costs
  only itself.
"""

from __future__ import annotations

import gc
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import orjson
from django.db import DatabaseError, connection, transaction
from tqdm import tqdm

from assay.core.audit import Actor
from assay.core.errors import DomainError
from assay.integrations.imports.readers import ImportFileError, Record, RecordStream, detect_format
from assay.integrations.imports.sources import RecordInvalid, mapper_for, record_label, shape_problem
from assay.orders.bulk import (
    BatchFootprint,
    PreparedOrder,
    batch_may_run_beside,
    order_prepare,
    orders_bulk_analyze,
    orders_bulk_upsert,
)
from assay.orders.schema import CanonicalOrder
from assay.orders.services import order_upsert

log = logging.getLogger(__name__)

WRITERS = ("auto", "simple", "bulk")
# Below this size a file loads in seconds either way; the simple writer is the one webhooks use.
BULK_FROM_BYTES = 256 * 1024
LISTED_REJECTS = 1000
OUTCOMES = ("created", "updated", "unchanged", "stale")

# A record's order, and what the writer prepared from it ahead of writing (None for the simple writer).
Pending = tuple[Record, CanonicalOrder, Any]
Result = tuple[str, str]  # (outcome, reason): outcome is one of OUTCOMES, or "rejected" with a reason


@dataclass(frozen=True, slots=True)
class Rejected:
    unit: str  # "line" or "record"
    position: int
    reference: str  # the order's id or number in the file, when it could be read
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {self.unit: self.position, "id": self.reference, "reason": self.reason}

    def __str__(self) -> str:
        reference = f" ({self.reference})" if self.reference else ""
        return f"{self.unit} {self.position}{reference}: {self.reason}"


@dataclass
class ImportReport:
    path: str
    source: str
    format: str = ""
    writer: str = ""
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    stale: int = 0
    rejected: int = 0
    seconds: float = 0.0
    rejects: list[Rejected] = field(default_factory=list)  # the first LISTED_REJECTS of them
    stopped: str = ""  # why reading stopped before the end of the file, if it did

    @property
    def loaded(self) -> int:
        return self.created + self.updated + self.unchanged + self.stale

    @property
    def records_per_second(self) -> float:
        return self.read / self.seconds if self.seconds > 0 else 0.0


class OrderWriter(Protocol):
    name: str
    batch_size: int

    def prepare(self, order: CanonicalOrder) -> Any:
        """Work on one order that needs no database, done by the reading thread."""
        ...

    def write(self, batch: list[Pending]) -> list[Result]:
        """Apply a batch of orders (distinct external ids); one result per order, in order."""
        ...


class SimpleWriter:
    name = "simple"
    # Short transactions: on SQLite a writer holds the one write lock while its transaction lasts.
    batch_size = 100

    def __init__(self, *, brand_id: int, actor: Actor) -> None:
        self.brand_id = brand_id
        self.actor = actor

    def prepare(self, order: CanonicalOrder) -> None:
        return None

    def write(self, batch: list[Pending]) -> list[Result]:
        results: list[Result] = []
        with transaction.atomic():
            for _, order, _ in batch:
                try:
                    # order_upsert is atomic itself: inside this transaction, a savepoint per order.
                    results.append((order_upsert(brand_id=self.brand_id, incoming=order, actor=self.actor).outcome, ""))
                except (DatabaseError, DomainError, ValueError) as exc:
                    results.append(("rejected", _database_reason(exc)))
        return results


class BulkWriter:
    name = "bulk"
    batch_size = 2000
    # The planner's statistics are refreshed as the tables grow: after 5,000 orders, 10,000, 20,000...
    first_analyze = 5000

    def __init__(self, *, brand_id: int, actor: Actor) -> None:
        self.brand_id = brand_id
        self.actor = actor
        self.fallback = SimpleWriter(brand_id=brand_id, actor=actor)
        self.written = 0
        self.next_analyze = self.first_analyze
        self.analyzing = threading.Lock()

    def analyze_if_grown(self, results: list[Result]) -> None:
        """Count written orders; refresh statistics when their number has doubled (one thread at a time)."""
        with self.analyzing:
            self.written += sum(1 for outcome, _ in results if outcome in ("created", "updated"))
            if self.written < self.next_analyze:
                return
            self.next_analyze = self.written * 2
            orders_bulk_analyze()

    def prepare(self, order: CanonicalOrder) -> PreparedOrder:
        return order_prepare(order)

    def write(
        self,
        batch: list[Pending],
        *,
        beside: BatchFootprint | None = None,
        on_ready: Callable[[BatchFootprint], None] | None = None,
        before_commit: Callable[[], None] | None = None,
    ) -> list[Result]:
        handed_off = False

        def ready(footprint: BatchFootprint) -> None:
            nonlocal handed_off
            if on_ready is not None:
                handed_off = True
                on_ready(footprint)

        try:
            # The shop keeps the records: a batch lost to a server crash is restored by running again.
            orders = [prepared for _, _, prepared in batch]
            outcomes = orders_bulk_upsert(
                brand_id=self.brand_id,
                orders=orders,
                actor=self.actor,
                durable=False,
                beside=beside,
                on_ready=ready,
                before_commit=before_commit,
            )
        except DatabaseError as exc:
            if handed_off:
                # Refused after the next batch had started beside this one (records the checks
                # before writing would have rejected never get here): stop rather than guess.
                raise
            log.warning("bulk batch refused (%s); applying its %d orders one by one", exc, len(batch))
            if before_commit is not None:
                before_commit()  # one by one sees everything before it: let the previous batch commit first
            return self.fallback.write(batch)
        return [(outcome, "") for outcome in outcomes]


def _database_reason(exc: Exception) -> str:
    if isinstance(exc, DomainError):
        return exc.message
    text = str(exc).strip()
    return f"not stored: {text.splitlines()[0] if text else type(exc).__name__}"


def writer_for(name: str, *, brand_id: int, actor: Actor, size: int) -> OrderWriter:
    postgres = connection.vendor == "postgresql"
    if name == "bulk" and not postgres:
        raise ImportFileError("the bulk writer needs PostgreSQL (DATABASE_URL=postgres://...)")
    if name == "bulk" or (name == "auto" and postgres and size >= BULK_FROM_BYTES):
        return BulkWriter(brand_id=brand_id, actor=actor)
    return SimpleWriter(brand_id=brand_id, actor=actor)


class _Sink:
    """Counts outcomes and records rejects (in memory up to a limit, all of them in the file)."""

    def __init__(self, report: ImportReport, rejects_file: IO[bytes] | None) -> None:
        self.report = report
        self.file = rejects_file
        self.lock = threading.Lock()

    def reject(self, record: Record, reason: str, reference: str = "") -> None:
        rejected = Rejected(unit=record.unit, position=record.position, reference=reference, reason=reason)
        with self.lock:
            self.report.rejected += 1
            if len(self.report.rejects) < LISTED_REJECTS:
                self.report.rejects.append(rejected)
            if self.file is not None:
                self.file.write(orjson.dumps(rejected.as_json()) + b"\n")

    def results(self, batch: list[Pending], results: list[Result]) -> None:
        for (record, order, _), (outcome, reason) in zip(batch, results, strict=True):
            if outcome == "rejected":
                self.reject(record, reason, order.external_id)
                continue
            with self.lock:
                setattr(self.report, outcome, getattr(self.report, outcome) + 1)


class _Slot:
    """A batch handed to a writer lane, and how far its writing has got."""

    __slots__ = ("batch", "done", "footprint", "previous", "ready")

    def __init__(self, batch: list[Pending], previous: _Slot | None) -> None:
        self.batch = batch
        self.previous = previous
        self.footprint: BatchFootprint | None = None
        self.ready = threading.Event()  # what a following batch depends on is written; the rest may still run
        self.done = threading.Event()  # committed (or given up)


class _Lanes:
    """Two writer threads, each with its own connection, taking batches in turn.

    Most of a batch's commit is the database checking foreign keys; meanwhile the next batch
    already runs its statements on the other connection - unless it holds an order of the
    previous batch, or that batch changed the catalogue, in which case it waits for the commit
    (see `orders_bulk_upsert`). Batches still commit in order.
    """

    def __init__(self, writer: BulkWriter, done: Callable[[list[Pending], list[Result]], None]) -> None:
        self.writer = writer
        self.done = done
        # One batch waiting per lane while two are written: memory stays flat.
        self.lanes: list[queue.Queue[_Slot | None]] = [queue.Queue(maxsize=1), queue.Queue(maxsize=1)]
        self.turn = 0
        self.last: _Slot | None = None
        self.error: BaseException | None = None
        self.threads = [
            threading.Thread(target=self._run, args=(lane,), name=f"import-writer-{n}", daemon=True)
            for n, lane in enumerate(self.lanes)
        ]
        for thread in self.threads:
            thread.start()

    def _run(self, lane: queue.Queue[_Slot | None]) -> None:
        try:
            while (slot := lane.get()) is not None:
                previous, slot.previous = slot.previous, None
                results: list[Result] = []
                try:
                    if self.error is None:
                        results = self._write(slot, previous)
                        self.done(slot.batch, results)
                except BaseException as exc:  # noqa: BLE001 - handed to the reading thread, which raises it
                    self.error = exc
                finally:
                    slot.ready.set()
                    slot.done.set()
                if results and self.error is None:
                    try:
                        self.writer.analyze_if_grown(results)
                    except BaseException as exc:  # noqa: BLE001 - handed to the reading thread, which raises it
                        self.error = exc
        finally:
            connection.close()

    def _write(self, slot: _Slot, previous: _Slot | None) -> list[Result]:
        beside = None
        if previous is not None:
            previous.ready.wait()
            footprint = previous.footprint
            if not previous.done.is_set():
                orders = [prepared for _, _, prepared in slot.batch]
                if footprint is None or not batch_may_run_beside(orders, footprint):
                    previous.done.wait()
                else:
                    beside = footprint

        def ready(footprint: BatchFootprint) -> None:
            slot.footprint = footprint
            slot.ready.set()

        def before_commit() -> None:
            if previous is not None:
                previous.done.wait()

        return self.writer.write(slot.batch, beside=beside, on_ready=ready, before_commit=before_commit)

    def submit(self, batch: list[Pending]) -> None:
        if self.error is not None:
            raise self.error
        slot = _Slot(batch, self.last)
        self.last = slot
        self.lanes[self.turn].put(slot)
        self.turn ^= 1

    def close(self) -> None:
        self.last = None
        for lane in self.lanes:
            lane.put(None)
        for thread in self.threads:
            thread.join()
        if self.error is not None:
            raise self.error


@contextmanager
def _tuned_for_streaming() -> Iterator[None]:
    """Settings for a long stream of short-lived objects, restored afterwards.

    The cyclic garbage collector is off while the stream runs. The stream makes no reference
    cycles (after 20,000 orders with it off, a collection found 50 unreachable objects, none per
    order): its objects are freed by reference counting as each batch is written, so all the
    collector did was re-scan the batches in flight, over and over - by default every few hundred
    allocations, a third of the reading thread's time; still 8% of the import's wall time with
    its first generation at 50,000 (100,000-order runs: 6.4 s of 80). Whatever it would have found
    is collected once at the end. Everything alive before (Django, the app) is frozen out of that
    collection. A shorter switch interval hands the interpreter back sooner to the writer thread
    when the database answers.
    """
    enabled = gc.isenabled()
    switch = sys.getswitchinterval()
    gc.collect()
    gc.freeze()
    gc.disable()
    sys.setswitchinterval(0.001)
    try:
        yield
    finally:
        sys.setswitchinterval(switch)
        gc.collect()  # what the stream left, not what was frozen before it
        gc.unfreeze()
        if enabled:
            gc.enable()


@contextmanager
def _progress(enabled: bool, total: int, label: str) -> Iterator[tqdm[Any]]:
    bar = tqdm(
        total=total,
        desc=label,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        file=sys.stderr,
        disable=not enabled,
        mininterval=0.5,
        bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}{postfix}]",
    )
    try:
        yield bar
    finally:
        bar.close()


def orders_import(
    *,
    brand_id: int,
    path: Path,
    source: str,
    actor: Actor,
    writer: str = "auto",
    batch_size: int | None = None,
    rejects_file: IO[bytes] | None = None,
    progress: bool = False,
) -> ImportReport:
    """Stream `path` into the brand's orders; safe to run again (the second run changes nothing).

    A record that cannot be read or mapped, or that the database refuses, is reported with its line
    (or, in a JSON array, its index) and the reason; the rest still loads, and no order is ever
    half-written. Raises ImportFileError when the file cannot be read at all.
    """
    report = ImportReport(path=str(path), source=source)
    started = time.perf_counter()
    report.format = detect_format(path, source=source)
    stream = RecordStream(path, report.format)
    chosen = writer_for(writer, brand_id=brand_id, actor=actor, size=stream.size)
    report.writer = chosen.name
    size = batch_size or chosen.batch_size
    mapper = mapper_for(source)
    sink = _Sink(report, rejects_file)
    # A second thread needs its own connection, which cannot see an open transaction of ours.
    background = (
        _Lanes(chosen, sink.results) if isinstance(chosen, BulkWriter) and not connection.in_atomic_block else None
    )

    def submit(batch: list[Pending]) -> None:
        if background is not None:
            background.submit(batch)
        else:
            sink.results(batch, chosen.write(batch))

    batch: list[Pending] = []
    in_batch: set[str] = set()
    try:
        with _tuned_for_streaming(), _progress(progress, stream.size, f"{path.name}") as bar:
            try:
                for record in stream:
                    report.read += 1
                    if report.read % 512 == 0:
                        bar.update(stream.bytes_read - bar.n)
                        elapsed = time.perf_counter() - started
                        bar.set_postfix_str(f"{report.read:,} records, {report.read / elapsed:,.0f} records/s")
                    if record.error:
                        sink.reject(record, record.error)
                        continue
                    try:
                        order = mapper(record.data)
                    except RecordInvalid as exc:
                        sink.reject(record, str(exc), record_label(record.data))
                        continue
                    problem = shape_problem(order, may_hold_nul=record.may_hold_nul)
                    if problem:
                        sink.reject(record, problem, order.external_id)
                        continue
                    if order.external_id in in_batch:
                        # The same order twice in a file: apply the first before the second.
                        submit(batch)
                        batch, in_batch = [], set()
                    # Only where the record was is kept: its parsed data can be larger than the order.
                    batch.append((Record(record.position, record.unit), order, chosen.prepare(order)))
                    in_batch.add(order.external_id)
                    if len(batch) >= size:
                        submit(batch)
                        batch, in_batch = [], set()
            except ImportFileError as exc:
                report.stopped = str(exc)
            if batch:
                submit(batch)
            if background is not None:
                background.close()
                background = None
            if isinstance(chosen, BulkWriter) and chosen.written and not connection.in_atomic_block:
                orders_bulk_analyze()  # so what runs next plans its queries on the tables as they now are
            bar.update(stream.size - bar.n)
            report.seconds = time.perf_counter() - started
            bar.set_postfix_str(f"{report.read:,} records, {report.records_per_second:,.0f} records/s")
    finally:
        if background is not None:  # an error in this thread: let the writer finish and stop
            try:
                background.close()
            except BaseException:
                # The error already on its way up is the one to report.
                log.exception("import writer failed while stopping")
    report.seconds = time.perf_counter() - started
    return report
