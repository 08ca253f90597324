"""Periodic work of the returns lifecycle (Huey's own periodic tasks, like assay/webhooks/tasks.py)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from assay.returns.services import returns_expire_due


@db_periodic_task(crontab(minute="*/15"))
def expire_unshipped_returns() -> int:
    """Every 15 minutes: authorised returns with nothing shipped by their ship-by date expire."""
    return returns_expire_due()
