"""Periodic housekeeping of core tables (Huey's own periodic tasks, like assay/webhooks/tasks.py)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from assay.core.idempotency import idempotency_keys_purge


@db_periodic_task(crontab(minute="17"))
def purge_idempotency_keys() -> int:
    """Hourly: forget answers older than a day (claims already ignore them; this keeps the table small)."""
    return idempotency_keys_purge()
