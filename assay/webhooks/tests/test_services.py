"""The inbound event store: dedupe on the sender's id, process once, retry what may heal, show failures."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import DataError
from django.utils import timezone

from assay.brands.models import Brand
from assay.core.errors import InvalidInput, NotFound
from assay.webhooks import registry
from assay.webhooks.models import InboundEvent
from assay.webhooks.registry import HandlerResult, RetryLater
from assay.webhooks.services import (
    MAX_ATTEMPTS,
    inbound_event_process,
    inbound_event_receive,
    inbound_event_retry,
    inbound_events_due,
    signature_matches,
)
from assay.webhooks.status import EventStatus
from assay.webhooks.tasks import process_inbound_event, sweep_inbound_events

pytestmark = pytest.mark.django_db

SOURCE = "testshop"


class FakeHandler:
    """Stands in for an integration's processor: records the events it sees, does what it is told."""

    def __init__(self) -> None:
        self.seen: list[int] = []
        self.do: Callable[[InboundEvent], HandlerResult] = lambda event: HandlerResult(
            stale=False, outcome=f"did {event.topic}"
        )

    def __call__(self, event: InboundEvent) -> HandlerResult:
        self.seen.append(event.pk)
        return self.do(event)


@pytest.fixture
def handler(monkeypatch: pytest.MonkeyPatch) -> FakeHandler:
    fake = FakeHandler()
    monkeypatch.setitem(registry._HANDLERS, SOURCE, fake)
    return fake


def raising(error: Exception) -> Callable[[InboundEvent], HandlerResult]:
    def do(event: InboundEvent) -> HandlerResult:
        raise error

    return do


def receive(brand: Brand, event_id: str = "ev-1", *, source: str = SOURCE, error: str = "") -> int:
    return inbound_event_receive(
        brand_id=brand.pk,
        source=source,
        event_id=event_id,
        topic="things/create",
        payload="{}",
        headers={},
        error=error,
    ).event_id


def test_the_first_delivery_is_stored_for_processing(brand: Brand) -> None:
    receipt = inbound_event_receive(
        brand_id=brand.pk, source=SOURCE, event_id="ev-1", topic="things/create", payload='{"a": 1}', headers={"X": "1"}
    )

    assert not receipt.duplicate
    stored = InboundEvent.objects.get(pk=receipt.event_id)
    assert (stored.status, stored.payload, stored.headers, stored.attempts) == (
        EventStatus.RECEIVED,
        '{"a": 1}',
        {"X": "1"},
        0,
    )


def test_a_second_delivery_of_the_same_event_is_recorded_as_a_duplicate_of_the_first(brand: Brand) -> None:
    first = inbound_event_receive(
        brand_id=brand.pk, source=SOURCE, event_id="ev-1", topic="t", payload="{}", headers={}
    )
    again = inbound_event_receive(
        brand_id=brand.pk, source=SOURCE, event_id="ev-1", topic="t", payload="{}", headers={}
    )

    assert again.duplicate
    assert again.event_id != first.event_id
    duplicate = InboundEvent.objects.get(pk=again.event_id)
    assert (duplicate.status, duplicate.duplicate_of_id) == (EventStatus.DUPLICATE, first.event_id)
    assert duplicate.processed_at is not None
    assert duplicate.outcome == f"duplicate of delivery {first.event_id}, ignored"


def test_the_same_event_id_from_another_brand_or_source_is_a_different_event(brand: Brand, other_brand: Brand) -> None:
    receive(brand, "ev-1")

    other = inbound_event_receive(
        brand_id=other_brand.pk, source=SOURCE, event_id="ev-1", topic="t", payload="{}", headers={}
    )
    elsewhere = inbound_event_receive(
        brand_id=brand.pk, source="othershop", event_id="ev-1", topic="t", payload="{}", headers={}
    )

    assert not other.duplicate
    assert not elsewhere.duplicate


def test_a_delivery_stored_with_an_error_is_failed_with_its_reason(brand: Brand) -> None:
    receipt = inbound_event_receive(
        brand_id=brand.pk, source=SOURCE, event_id="ev-1", topic="t", payload="{", headers={}, error="malformed JSON"
    )

    stored = InboundEvent.objects.get(pk=receipt.event_id)
    assert (stored.status, stored.error) == (EventStatus.FAILED, "malformed JSON")


def test_processing_applies_the_handler_once_and_records_its_outcome(brand: Brand, handler: FakeHandler) -> None:
    pk = receive(brand)

    first = inbound_event_process(event_pk=pk)
    again = inbound_event_process(event_pk=pk)

    assert (first, again) == (EventStatus.PROCESSED, EventStatus.PROCESSED)
    assert handler.seen == [pk]
    event = InboundEvent.objects.get(pk=pk)
    assert (event.outcome, event.attempts, event.error) == ("did things/create", 1, "")
    assert event.processed_at is not None


def test_a_stale_result_marks_the_event_stale(brand: Brand, handler: FakeHandler) -> None:
    handler.do = lambda event: HandlerResult(stale=True, outcome="stale: older")
    pk = receive(brand)

    assert inbound_event_process(event_pk=pk) == EventStatus.STALE
    assert InboundEvent.objects.get(pk=pk).outcome == "stale: older"


def test_a_duplicate_delivery_is_never_processed(brand: Brand, handler: FakeHandler) -> None:
    receive(brand, "ev-1")
    duplicate = receive(brand, "ev-1")

    assert inbound_event_process(event_pk=duplicate) == EventStatus.DUPLICATE
    assert handler.seen == []


def test_a_refused_payload_fails_at_once_with_the_reason(brand: Brand, handler: FakeHandler) -> None:
    handler.do = raising(InvalidInput("currency: 'XX' is not an ISO 4217 currency code"))
    pk = receive(brand)

    assert inbound_event_process(event_pk=pk) == EventStatus.FAILED
    event = InboundEvent.objects.get(pk=pk)
    assert event.error == "currency: 'XX' is not an ISO 4217 currency code"
    assert (event.attempts, event.next_attempt_at) == (1, None)


@pytest.mark.parametrize(
    "error", [DataError("value out of range for type bigint"), OverflowError("date value out of range")]
)
def test_data_the_database_cannot_hold_fails_at_once_instead_of_being_retried(
    brand: Brand, handler: FakeHandler, error: Exception
) -> None:
    handler.do = raising(error)
    pk = receive(brand)

    assert inbound_event_process(event_pk=pk) == EventStatus.FAILED
    assert "out of range" in InboundEvent.objects.get(pk=pk).error


@pytest.mark.parametrize("error", [NotFound("order 7 is not known yet"), RetryLater("order 7 is not known yet")])
def test_something_not_known_yet_is_retried_later_until_the_attempts_run_out(
    brand: Brand, handler: FakeHandler, error: Exception
) -> None:
    handler.do = raising(error)
    pk = receive(brand)

    statuses = [inbound_event_process(event_pk=pk) for _ in range(MAX_ATTEMPTS)]

    assert statuses[: MAX_ATTEMPTS - 1] == [EventStatus.RECEIVED] * (MAX_ATTEMPTS - 1)
    assert statuses[-1] == EventStatus.FAILED
    event = InboundEvent.objects.get(pk=pk)
    assert (event.attempts, event.error) == (MAX_ATTEMPTS, "order 7 is not known yet")


def test_a_retry_waits_longer_each_time(brand: Brand, handler: FakeHandler) -> None:
    handler.do = raising(NotFound("not yet"))
    pk = receive(brand)
    delays = []
    for _ in range(3):
        before = timezone.now()
        inbound_event_process(event_pk=pk)
        due = InboundEvent.objects.get(pk=pk).next_attempt_at
        assert due is not None
        delays.append(due - before)

    assert delays[0] < delays[1] < delays[2]


def test_an_unexpected_error_rolls_back_the_handlers_writes_and_is_retried(brand: Brand, handler: FakeHandler) -> None:
    def half_done(event: InboundEvent) -> HandlerResult:
        Brand.objects.filter(pk=event.brand_id).update(name="half written")
        raise RuntimeError("connection lost")

    handler.do = half_done
    pk = receive(brand)

    assert inbound_event_process(event_pk=pk) == EventStatus.RECEIVED
    assert Brand.objects.get(pk=brand.pk).name == brand.name
    event = InboundEvent.objects.get(pk=pk)
    assert (event.error, event.attempts) == ("RuntimeError: connection lost", 1)


def test_an_event_from_a_source_without_a_processor_fails_with_that_reason(brand: Brand) -> None:
    pk = receive(brand, source="nobody")

    assert inbound_event_process(event_pk=pk) == EventStatus.FAILED
    assert InboundEvent.objects.get(pk=pk).error == "no processor for source 'nobody'"


def test_processing_an_event_that_does_not_exist_says_so() -> None:
    assert inbound_event_process(event_pk=987654) == "missing"


def test_staff_can_send_a_failed_event_round_again(brand: Brand, handler: FakeHandler) -> None:
    handler.do = raising(InvalidInput("bad"))
    pk = receive(brand)
    inbound_event_process(event_pk=pk)

    retried = inbound_event_retry(event_pk=pk, brand_id=brand.pk)

    assert (retried.status, retried.attempts) == (EventStatus.RECEIVED, 0)
    handler.do = lambda event: HandlerResult(stale=False, outcome="fixed")
    assert inbound_event_process(event_pk=pk) == EventStatus.PROCESSED


def test_another_brand_cannot_retry_an_event(brand: Brand, other_brand: Brand) -> None:
    pk = receive(brand, error="bad")

    with pytest.raises(InboundEvent.DoesNotExist):
        inbound_event_retry(event_pk=pk, brand_id=other_brand.pk)


def test_due_events_are_new_deliveries_retries_whose_time_came_and_lapsed_claims(brand: Brand) -> None:
    now = timezone.now()
    fresh = receive(brand, "fresh")
    retry_due = receive(brand, "retry-due")
    later = receive(brand, "later")
    lapsed = receive(brand, "lapsed")
    done = receive(brand, "done")
    receive(brand, "bad", error="malformed JSON")
    receive(brand, "fresh")  # a duplicate
    InboundEvent.objects.filter(pk=retry_due).update(next_attempt_at=now - timedelta(seconds=30))
    InboundEvent.objects.filter(pk=later).update(next_attempt_at=now + timedelta(minutes=5))
    InboundEvent.objects.filter(pk=lapsed).update(next_attempt_at=now - timedelta(minutes=10))
    InboundEvent.objects.filter(pk=done).update(status=EventStatus.PROCESSED, next_attempt_at=None)

    assert inbound_events_due() == [lapsed, retry_due, fresh]


def test_the_task_processes_an_event(brand: Brand, handler: FakeHandler) -> None:
    pk = receive(brand)

    process_inbound_event(pk)

    assert InboundEvent.objects.get(pk=pk).status == EventStatus.PROCESSED


def test_the_task_leaves_a_transient_failure_to_its_retry_time_instead_of_looping(
    brand: Brand, handler: FakeHandler
) -> None:
    handler.do = raising(NotFound("not yet"))
    pk = receive(brand)

    process_inbound_event(pk)

    assert handler.seen == [pk]  # not run again at once
    event = InboundEvent.objects.get(pk=pk)
    assert event.status == EventStatus.RECEIVED
    assert event.next_attempt_at is not None
    assert event.next_attempt_at > timezone.now()


def test_the_sweep_processes_due_events(brand: Brand, handler: FakeHandler) -> None:
    pk = receive(brand)
    InboundEvent.objects.filter(pk=pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))

    sweep_inbound_events.call_local()

    assert InboundEvent.objects.get(pk=pk).status == EventStatus.PROCESSED


def test_signatures_compare_equal_only_when_identical() -> None:
    assert signature_matches("abc", "abc")
    assert not signature_matches("abc", "abd")
    assert not signature_matches("abc", "")
