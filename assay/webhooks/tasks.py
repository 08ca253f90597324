"""Background processing of inbound events.

These tasks use Huey's own task API rather than the django.tasks wrapper: intake enqueues one per
webhook delivery, and the wrapper's result bookkeeping cost ~1 ms per enqueue against ~0.2 ms
(docs/adr/0002-inbound-events-on-huey-tasks.md). The event row, not a task result, is the state.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from assay.webhooks.models import InboundEvent
from assay.webhooks.services import inbound_event_process, inbound_events_due
from assay.webhooks.status import EventStatus


@db_task()
def process_inbound_event(event_pk: int) -> str:
    status = inbound_event_process(event_pk=event_pk)
    if status == EventStatus.RECEIVED:
        # Failed transiently: try again when its backoff is over.
        due = InboundEvent.objects.filter(pk=event_pk).values_list("next_attempt_at", flat=True).first()
        delay = (due - timezone.now()) if due else timedelta(seconds=30)
        process_inbound_event.schedule((event_pk,), delay=max(delay.total_seconds(), 1.0))
    return status


def enqueue_processing(event_pk: int) -> None:
    process_inbound_event(event_pk)


@db_periodic_task(crontab(minute="*"))
def sweep_inbound_events() -> None:
    """Pick up events whose retry is due or whose task was lost (a worker restart, a crash)."""
    for event_pk in inbound_events_due():
        inbound_event_process(event_pk=event_pk)
