"""Workers claim due events straight from the table: leases, crash safety, retries, the claimer loop."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from assay.brands.models import Brand
from assay.core.errors import NotFound
from assay.webhooks import claimer as claimer_module
from assay.webhooks import registry, tasks
from assay.webhooks.claimer import InboundEventClaimer
from assay.webhooks.models import InboundEvent
from assay.webhooks.registry import HandlerResult
from assay.webhooks.services import (
    CLAIM_LEASE,
    inbound_event_receive,
    inbound_events_claim,
    inbound_events_make_due,
    inbound_events_process_due,
)
from assay.webhooks.status import EventStatus

SOURCE = "claimtest"


class Handler:
    def __init__(self) -> None:
        self.seen: list[int] = []
        self.do: Callable[[InboundEvent], HandlerResult] = lambda event: HandlerResult(stale=False, outcome="done")

    def __call__(self, event: InboundEvent) -> HandlerResult:
        self.seen.append(event.pk)
        return self.do(event)


@pytest.fixture
def handler(monkeypatch: pytest.MonkeyPatch) -> Handler:
    fake = Handler()
    monkeypatch.setitem(registry._HANDLERS, SOURCE, fake)
    return fake


class Clock:
    """Moves what `timezone.now()` answers, so a lease or a backoff can run out without waiting."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._monkeypatch = monkeypatch
        self._real = timezone.now

    def advance(self, by: timedelta) -> datetime:
        later = self._real() + by
        self._monkeypatch.setattr(timezone, "now", lambda: later)
        return later


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


def receive(brand: Brand, event_id: str, *, error: str = "") -> int:
    return inbound_event_receive(
        brand_id=brand.pk,
        source=SOURCE,
        event_id=event_id,
        topic="things/create",
        payload="{}",
        headers={},
        error=error,
    ).event_id


def event(pk: int) -> InboundEvent:
    return InboundEvent.objects.get(pk=pk)


@pytest.mark.django_db
def test_a_new_delivery_is_due_at_once_and_a_refused_or_duplicate_one_never(brand: Brand) -> None:
    before = timezone.now()
    fresh = receive(brand, "e-1")
    duplicate = receive(brand, "e-1")
    refused = receive(brand, "e-2", error="malformed JSON")

    assert before <= event(fresh).next_attempt_at <= timezone.now()  # type: ignore[operator]
    assert event(duplicate).next_attempt_at is None
    assert event(refused).next_attempt_at is None
    assert inbound_events_claim() == [fresh]


@pytest.mark.django_db
def test_a_claim_takes_due_events_oldest_first_up_to_its_limit(brand: Brand) -> None:
    pks = [receive(brand, f"e-{n}") for n in range(5)]

    first = inbound_events_claim(limit=3)
    second = inbound_events_claim(limit=3)

    assert first == pks[:3]
    assert second == pks[3:]
    assert inbound_events_claim(limit=3) == []


@pytest.mark.django_db
def test_a_claimed_event_is_out_of_other_workers_reach_while_its_lease_holds(brand: Brand, clock: Clock) -> None:
    pk = receive(brand, "e-1")
    claimed_at = timezone.now()

    assert inbound_events_claim() == [pk]

    lease_end = event(pk).next_attempt_at
    assert lease_end is not None
    assert lease_end >= claimed_at + CLAIM_LEASE
    clock.advance(CLAIM_LEASE - timedelta(seconds=1))
    assert inbound_events_claim() == []


@pytest.mark.django_db
def test_events_a_worker_claimed_and_died_holding_are_claimed_again_once_the_lease_runs_out(
    brand: Brand, handler: Handler, clock: Clock
) -> None:
    pks = [receive(brand, f"e-{n}") for n in range(3)]

    def worker_killed(event: InboundEvent) -> HandlerResult:
        raise SystemExit("worker process killed")  # not an error the processing records: the worker just stops

    handler.do = worker_killed
    with pytest.raises(SystemExit):
        inbound_events_process_due(limit=3)

    assert [(e.status, e.attempts) for e in map(event, pks)] == [(EventStatus.RECEIVED, 0)] * 3
    assert inbound_events_claim() == []  # still leased to the dead worker

    handler.do = lambda event: HandlerResult(stale=False, outcome="done")
    clock.advance(CLAIM_LEASE + timedelta(seconds=1))
    assert inbound_events_process_due(limit=10) == 3

    assert [(e.status, e.attempts, e.next_attempt_at) for e in map(event, pks)] == [
        (EventStatus.PROCESSED, 1, None)
    ] * 3
    assert handler.seen == [pks[0], *pks]  # the first was attempted when the worker died, then once more


@pytest.mark.django_db
def test_a_settled_event_is_never_claimed_again(brand: Brand, handler: Handler, clock: Clock) -> None:
    pk = receive(brand, "e-1")

    assert inbound_events_process_due() == 1
    clock.advance(CLAIM_LEASE * 2)

    assert inbound_events_process_due() == 0
    assert handler.seen == [pk]
    assert (event(pk).status, event(pk).next_attempt_at) == (EventStatus.PROCESSED, None)


@pytest.mark.django_db
def test_a_transient_failure_is_claimed_again_only_when_its_backoff_is_over(
    brand: Brand, handler: Handler, clock: Clock
) -> None:
    handler.do = lambda event: (_ for _ in ()).throw(NotFound("order 7 is not known yet"))
    pk = receive(brand, "e-1")
    assert inbound_events_process_due() == 1
    retry_at = event(pk).next_attempt_at
    assert retry_at is not None

    clock.advance(timedelta(seconds=29))
    assert inbound_events_claim() == []

    handler.do = lambda event: HandlerResult(stale=False, outcome="done")
    clock.advance(timedelta(seconds=31))
    assert inbound_events_process_due() == 1
    assert (event(pk).status, event(pk).attempts, event(pk).error) == (EventStatus.PROCESSED, 2, "")


@pytest.mark.django_db
def test_waiting_events_made_due_are_claimed_at_once(brand: Brand, handler: Handler) -> None:
    handler.do = lambda event: (_ for _ in ()).throw(NotFound("order 7 is not known yet"))
    waiting = receive(brand, "e-1")
    inbound_events_process_due()
    settled = receive(brand, "e-2", error="malformed JSON")

    inbound_events_make_due(event_pks=[waiting, settled])

    assert inbound_events_claim() == [waiting]
    assert event(settled).next_attempt_at is None


@pytest.mark.django_db
def test_a_staff_retry_makes_the_failed_event_due_for_the_workers(brand: Brand, handler: Handler) -> None:
    from assay.webhooks.services import inbound_event_retry

    pk = receive(brand, "e-1", error="broken")
    assert inbound_events_claim() == []

    inbound_event_retry(event_pk=pk, brand_id=brand.pk)

    assert inbound_events_process_due() == 1
    assert event(pk).status == EventStatus.PROCESSED


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: row locks held by another session")
def test_a_claimer_skips_rows_another_worker_holds_instead_of_waiting_for_them(brand: Brand) -> None:
    pks = [receive(brand, f"e-{n}") for n in range(6)]
    held = threading.Event()
    release = threading.Event()

    def other_worker() -> None:
        # Holds the first three rows locked as a worker processing them does, until released.
        try:
            with transaction.atomic():
                list(InboundEvent.objects.select_for_update().filter(pk__in=pks[:3]).values_list("id", flat=True))
                held.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert held.wait(timeout=30)
        claimed = inbound_events_claim(limit=10)  # would block here without SKIP LOCKED
    finally:
        release.set()
        thread.join(timeout=30)

    assert claimed == pks[3:]


@pytest.mark.django_db
def test_the_claimer_loop_processes_due_events_and_stops_when_told(brand: Brand, handler: Handler) -> None:
    pks = [receive(brand, f"e-{n}") for n in range(5)]
    stop = threading.Event()

    class StopWhenIdle(InboundEventClaimer):
        def round(self) -> int:
            claimed = super().round()
            if not claimed:
                stop.set()
            return claimed

    StopWhenIdle(batch=2, idle_wait=0).run(stop)

    assert handler.seen == pks
    assert {event(pk).status for pk in pks} == {EventStatus.PROCESSED}


@pytest.mark.django_db
def test_a_failing_claim_round_is_logged_and_the_loop_carries_on(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def database_gone(*, limit: int) -> int:
        raise ConnectionError("server closed the connection unexpectedly")

    monkeypatch.setattr(claimer_module, "inbound_events_process_due", database_gone)
    dropped = _BrokenConnection()
    monkeypatch.setattr(claimer_module, "connection", dropped)

    assert InboundEventClaimer().round() == 0
    assert InboundEventClaimer().round() == 0
    assert "claiming inbound events failed" in caplog.text
    assert dropped.closed == 2  # dropped each time, so the next round connects afresh


class _BrokenConnection:
    """Stands in for the connection a failed round drops, so the test's own stays open."""

    in_atomic_block = True
    closed = 0

    def close(self) -> None:
        self.closed += 1


@pytest.fixture
def fake_claimers(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[threading.Event]]:
    """Claimer threads that only wait to be stopped (no database), to watch the worker hooks."""
    started: list[threading.Event] = []

    class WaitsForStop:
        def run(self, stop: threading.Event) -> None:
            started.append(stop)
            stop.wait(timeout=30)

    monkeypatch.setattr(tasks, "InboundEventClaimer", WaitsForStop)
    monkeypatch.setattr(tasks, "_claimers", {})
    yield started
    for stop in started:
        stop.set()


def _as_worker(name: str, hook: Callable[[], Any]) -> None:
    thread = threading.Thread(target=hook, name=name)
    thread.start()
    thread.join(timeout=30)


def test_each_consumer_worker_starts_one_claimer_beside_it_and_stops_it_on_shutdown(
    fake_claimers: list[threading.Event],
) -> None:
    _as_worker("Worker-1", tasks.start_claimer)
    _as_worker("Worker-2", tasks.start_claimer)
    _as_worker("Worker-1", tasks.start_claimer)  # the consumer restarted this worker: its claimer runs on

    assert len(fake_claimers) == 2
    threads = {name: thread for name, (thread, _) in tasks._claimers.items()}
    assert sorted(threads) == ["Worker-1", "Worker-2"]
    assert all(thread.is_alive() for thread in threads.values())

    _as_worker("Worker-1", tasks.stop_claimer)

    assert not threads["Worker-1"].is_alive()
    assert threads["Worker-2"].is_alive()
    assert sorted(tasks._claimers) == ["Worker-2"]
