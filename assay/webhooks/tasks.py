"""Background processing of inbound events, inside `assay worker` (Huey's consumer).

Deliveries are not enqueued: each worker thread of the consumer starts a claimer beside it that
takes due events straight from the table (docs/adr/0003-inbound-events-claimed-from-the-table.md).
`process_inbound_event` remains for an explicit "process this one now" (a staff retry); it and
the periodic sweep are native Huey tasks (docs/adr/0002-inbound-events-on-huey-tasks.md).
"""

from __future__ import annotations

import threading

from django.db import connection
from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task

from assay.webhooks.claimer import InboundEventClaimer
from assay.webhooks.services import inbound_event_process, inbound_events_process_due

# One claimer per consumer worker, keyed by the worker thread's name ("Worker-1"...), so a worker
# the consumer restarts finds its claimer still running instead of starting a second one.
_claimers: dict[str, tuple[threading.Thread, threading.Event]] = {}
_claimers_lock = threading.Lock()
SWEEP_ROUNDS = 20


@HUEY.on_startup("inbound-event-claimer")
def start_claimer() -> None:
    """Start (or keep) the claimer of the calling consumer worker."""
    name = threading.current_thread().name
    with _claimers_lock:
        running = _claimers.get(name)
        if running is not None and running[0].is_alive():
            return
        stop = threading.Event()
        thread = threading.Thread(target=_claim_until, args=(stop,), name=f"inbound-claimer-{name}", daemon=True)
        _claimers[name] = (thread, stop)
        thread.start()


def _claim_until(stop: threading.Event) -> None:
    try:
        InboundEventClaimer().run(stop)
    finally:
        connection.close()  # the thread's own connection


@HUEY.on_shutdown("inbound-event-claimer")
def stop_claimer() -> None:
    """Let the calling worker's claimer finish the event in hand and stop."""
    with _claimers_lock:
        running = _claimers.pop(threading.current_thread().name, None)
    if running is not None:
        thread, stop = running
        stop.set()
        thread.join(timeout=30)


@db_task()
def process_inbound_event(event_pk: int) -> str:
    # A transient failure is left 'received' with its next attempt time: a claimer retries it then.
    return inbound_event_process(event_pk=event_pk)


def enqueue_processing(event_pk: int) -> None:
    """Process one event as soon as a worker is free, without waiting for a claimer's next look."""
    process_inbound_event(event_pk)


@db_periodic_task(crontab(minute="*"))
def sweep_inbound_events() -> None:
    """Claim rounds on the consumer's own schedule, a backstop beside the claimer threads.
    Bounded, so a backlog never holds this worker for long; the claimers drain the rest."""
    for _ in range(SWEEP_ROUNDS):
        if not inbound_events_process_due():
            break
