"""Background processing of inbound events."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_tasks import task
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from assay.webhooks.models import InboundEvent
from assay.webhooks.services import inbound_event_process, inbound_events_due
from assay.webhooks.status import EventStatus


@task()
def process_inbound_event(event_pk: int) -> str:
    status = inbound_event_process(event_pk=event_pk)
    if status == EventStatus.RECEIVED:
        # Failed transiently: try again when its backoff is over.
        due = InboundEvent.objects.filter(pk=event_pk).values_list("next_attempt_at", flat=True).first()
        delay = (due - timezone.now()) if due else timedelta(seconds=30)
        process_inbound_event.using(run_after=timezone.now() + max(delay, timedelta(seconds=1))).enqueue(event_pk)
    return status


def enqueue_processing(event_pk: int) -> None:
    process_inbound_event.enqueue(event_pk)


@db_periodic_task(crontab(minute="*"))
def sweep_inbound_events() -> None:
    """Pick up events whose retry is due or whose task was lost (a worker restart, a crash)."""
    for event_pk in inbound_events_due():
        inbound_event_process(event_pk=event_pk)
