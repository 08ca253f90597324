"""Store inbound events (dedupe on the sender's id), claim and process them, retry, and record failures.

The event table is the queue (docs/adr/0003-inbound-events-claimed-from-the-table.md): intake
stores a 'received' event due at once; workers claim due events (`inbound_events_claim`), each
claim a lease that a finished attempt clears and a crashed one lets run out.
"""

from __future__ import annotations

import functools
import hmac
import json
import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import psycopg
from django.db import DEFAULT_DB_ALIAS, DataError, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper
from django.db.models import QuerySet
from django.utils import timezone
from psycopg.types.json import Jsonb
from pydantic import ValidationError

from assay.core.errors import DomainError
from assay.webhooks.models import InboundEvent
from assay.webhooks.registry import RetryLater, handler_for
from assay.webhooks.status import EventStatus

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
# How long a claimed event stays out of other workers' reach. Processing one takes milliseconds;
# an event whose worker died while holding it is claimed again once its lease has run out.
CLAIM_LEASE = timedelta(seconds=60)
CLAIM_BATCH = 10


def signature_matches(expected: str, given: str) -> bool:
    """Constant-time comparison of two signatures."""
    return hmac.compare_digest(expected.encode(), given.encode())


@dataclass(frozen=True, slots=True)
class Receipt:
    event_id: int
    duplicate: bool


def inbound_event_receive(
    *, brand_id: int, source: str, event_id: str, topic: str, payload: str, headers: dict[str, str], error: str = ""
) -> Receipt:
    """Store a verified delivery. The first delivery of an event id is kept for processing and is
    due at once (a worker claims it; nothing is enqueued); later ones are recorded as duplicates
    of it and never processed. With `error`, the event is stored as failed (the payload could not
    be accepted)."""
    status = EventStatus.FAILED if error else EventStatus.RECEIVED
    first_id = _insert_first_delivery(
        brand_id=brand_id,
        source=source,
        event_id=event_id,
        topic=topic,
        status=status,
        error=error,
        payload=payload,
        headers=headers,
    )
    if first_id is not None:
        return Receipt(event_id=first_id, duplicate=False)
    first = (
        InboundEvent.objects.filter(brand_id=brand_id, source=source, event_id=event_id, duplicate_of__isnull=True)
        .values_list("id", flat=True)
        .first()
    )
    duplicate = InboundEvent.objects.create(
        brand_id=brand_id,
        source=source,
        event_id=event_id,
        topic=topic,
        headers=headers,
        status=EventStatus.DUPLICATE,
        duplicate_of_id=first,
        processed_at=timezone.now(),
        next_attempt_at=None,
        outcome=f"duplicate of delivery {first}, ignored",
    )
    return Receipt(event_id=duplicate.pk, duplicate=True)


# Every value is a parameter; only the model's own table name is put in.
_INSERT_FIRST = (
    "INSERT INTO {table} (brand_id, source, event_id, topic, status, error, outcome, attempts, payload,"
    " headers, received_at, next_attempt_at) VALUES (%s, %s, %s, %s, %s, %s, '', 0, %s, %s, %s, %s)"
    " ON CONFLICT (brand_id, source, event_id) WHERE duplicate_of_id IS NULL DO NOTHING RETURNING id"
)


def _insert_first_delivery(
    *,
    brand_id: int,
    source: str,
    event_id: str,
    topic: str,
    status: str,
    error: str,
    payload: str,
    headers: dict[str, str],
) -> int | None:
    """Insert the event as the first delivery of its id; None when one is already stored.

    Hand-written SQL because this runs on every webhook delivery: one statement, one round trip,
    no savepoint (the conflict is not an error), and a fraction of the Python of
    Model.objects.create. The connection is looked up once: each `django.db.connection.x` goes
    through a thread-local lookup (~2 µs apiece, which added up to a tenth of a delivery).
    """
    db = connections[DEFAULT_DB_ALIAS]
    now = timezone.now()
    due = now if status == EventStatus.RECEIVED else None
    if db.vendor == "postgresql":
        params: list[Any] = [brand_id, source, event_id, topic, status, error, payload, Jsonb(headers), now, due]
        return _insert_server_bound(db, _insert_sql(db), params)
    adapt = db.ops.adapt_datetimefield_value
    params = [brand_id, source, event_id, topic, status, error, payload, json.dumps(headers), adapt(now), adapt(due)]
    with db.cursor() as cursor:
        cursor.execute(_insert_sql(db), params)
        row = cursor.fetchone()
    return int(row[0]) if row else None


@functools.cache
def _insert_sql(db: BaseDatabaseWrapper) -> str:
    return _INSERT_FIRST.replace("{table}", db.ops.quote_name(InboundEvent._meta.db_table))


def _insert_server_bound(db: BaseDatabaseWrapper, sql: str, params: list[Any]) -> int | None:
    """PostgreSQL: run the insert with its values sent apart from the SQL (server-side binding).
    Django's default cursor quotes every value, the whole payload included, into the statement
    text in Python first (~190 against ~90 µs of Python a delivery, measured here); bound on the
    server, the statement is also prepared once the database OPTIONS `prepare_threshold` allows
    (config/settings.py), which spares PostgreSQL parsing and planning it each time (~80 µs of
    its time a delivery). Errors and query logging stay Django's."""
    db.ensure_connection()
    db.validate_thread_sharing()
    with db.wrap_database_errors, psycopg.Cursor(db.connection) as cursor:
        if db.queries_logged:
            # Django wraps its own raw cursor the same way (its stubs type the argument otherwise).
            with db.make_debug_cursor(cast(CursorWrapper, cursor)).debug_sql(sql, params):
                cursor.execute(sql, params)
        else:
            cursor.execute(sql, params)
        row = cursor.fetchone()
    return int(row[0]) if row else None


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** (attempts - 1), 3600))


def inbound_event_process(*, event_pk: int) -> str:
    """Process one stored event once. Returns its status afterwards.

    The handler's writes and the event's new status commit together, so a crash leaves the event
    'received' for a worker to claim again when its lease runs out, never half-applied.
    """
    try:
        with transaction.atomic():
            event = InboundEvent.objects.select_for_update().get(pk=event_pk)
            if event.status != EventStatus.RECEIVED:
                return event.status
            handler = handler_for(event.source)
            if handler is None:
                raise DomainError(f"no processor for source '{event.source}'")
            event.attempts += 1
            result = handler(event)
            event.status = EventStatus.STALE if result.stale else EventStatus.PROCESSED
            event.outcome = result.outcome[:255]
            event.error = ""
            event.processed_at = timezone.now()
            event.next_attempt_at = None
            event.save()
            return event.status
    except InboundEvent.DoesNotExist:
        return "missing"
    except (DomainError, ValidationError, ValueError, KeyError, TypeError, OverflowError, DataError) as exc:
        # A payload the domain refuses will be refused again: fail now. "Not known yet" may heal.
        transient = isinstance(exc, DomainError) and exc.status_code == 404
        return _record_failure(event_pk=event_pk, reason=_reason(exc), retry=transient)
    except RetryLater as exc:
        return _record_failure(event_pk=event_pk, reason=str(exc), retry=True)
    except Exception as exc:
        log.exception("processing inbound event %s failed", event_pk)
        return _record_failure(event_pk=event_pk, reason=f"{type(exc).__name__}: {exc}", retry=True)


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = [f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()[:5]]
        return "invalid payload: " + "; ".join(parts)
    if isinstance(exc, DomainError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


@transaction.atomic
def _record_failure(*, event_pk: int, reason: str, retry: bool) -> str:
    event = InboundEvent.objects.select_for_update().get(pk=event_pk)
    event.attempts += 1  # the attempt's own increment was rolled back with its writes
    # A reason can quote the refused input; PostgreSQL text cannot hold NUL, and a failure that
    # cannot be recorded would leave the event 'received' with no reason, claimed again and again.
    event.error = reason.replace("\x00", "\ufffd")[:2000]
    if retry and event.attempts < MAX_ATTEMPTS:
        # Stays 'received' so the retry picks it up; the reason is visible meanwhile.
        event.status = EventStatus.RECEIVED
        event.next_attempt_at = timezone.now() + _backoff(event.attempts)
    else:
        event.status = EventStatus.FAILED
        event.next_attempt_at = None
    event.save()
    return event.status


@transaction.atomic
def inbound_event_retry(*, event_pk: int, brand_id: int) -> InboundEvent:
    """Staff ask for a failed event to be processed again."""
    event = InboundEvent.objects.select_for_update().get(pk=event_pk, brand_id=brand_id)
    if event.status == EventStatus.FAILED:
        event.status = EventStatus.RECEIVED
        event.attempts = 0
        event.next_attempt_at = timezone.now()
        event.save(update_fields=["status", "attempts", "next_attempt_at"])
    return event


def _waiting(now: datetime) -> QuerySet[InboundEvent]:
    return InboundEvent.objects.filter(status=EventStatus.RECEIVED, next_attempt_at__lte=now)


def inbound_events_due(*, limit: int = 500) -> list[int]:
    """Events a worker may claim now, oldest due first: new deliveries, retries whose time has
    come, and events whose worker's lease ran out."""
    return list(_waiting(timezone.now()).order_by("next_attempt_at", "id").values_list("id", flat=True)[:limit])


def inbound_events_claim(*, limit: int = CLAIM_BATCH, lease: timedelta = CLAIM_LEASE) -> list[int]:
    """Take up to `limit` due events for the calling worker: each is out of other workers' reach
    until it is settled or its lease runs out (a crashed worker's events come back by themselves).

    Idle, this is one read. PostgreSQL: claimers skip each other's locked rows (SKIP LOCKED) so
    they never wait on one another; SQLite: its write lock serialises the claims.
    """
    now = timezone.now()
    if not _waiting(now).exists():
        return []
    with transaction.atomic():
        due = _waiting(now).order_by("next_attempt_at", "id").select_for_update(skip_locked=True)
        claimed = list(due.values_list("id", flat=True)[:limit])
        if claimed:
            InboundEvent.objects.filter(pk__in=claimed).update(next_attempt_at=now + lease)
    return claimed


def inbound_events_process_due(*, limit: int = CLAIM_BATCH) -> int:
    """One round of a worker: claim up to `limit` due events and process each in turn. Returns how
    many it claimed (0: nothing was due)."""
    claimed = inbound_events_claim(limit=limit)
    for event_pk in claimed:
        inbound_event_process(event_pk=event_pk)
    return len(claimed)


def inbound_events_make_due(*, event_pks: Collection[int]) -> None:
    """Waiting events to be claimed at once rather than at the end of their backoff (what they
    waited for has arrived). Takes effect with the caller's transaction."""
    if event_pks:
        waiting = InboundEvent.objects.filter(pk__in=event_pks, status=EventStatus.RECEIVED)
        waiting.update(next_attempt_at=timezone.now())
