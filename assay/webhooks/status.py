"""The life of an inbound webhook event."""

from __future__ import annotations

from django.db import models


class EventStatus(models.TextChoices):
    RECEIVED = "received", "Received, waiting to be processed"
    PROCESSED = "processed", "Processed"
    DUPLICATE = "duplicate", "Duplicate delivery, ignored"
    STALE = "stale", "Older than what was applied, ignored"
    FAILED = "failed", "Failed"


ALLOWED: dict[str, set[str]] = {
    EventStatus.RECEIVED: {EventStatus.PROCESSED, EventStatus.STALE, EventStatus.FAILED},
    # A failed event can be retried by staff or the retry schedule.
    EventStatus.FAILED: {EventStatus.RECEIVED, EventStatus.PROCESSED, EventStatus.STALE, EventStatus.FAILED},
    EventStatus.PROCESSED: set(),
    EventStatus.STALE: set(),
    EventStatus.DUPLICATE: set(),
}
