"""Background work of resolutions: each payout's attempt, and the periodic safety nets."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from assay.resolutions.checkouts import checkout_open, checkouts_run_due
from assay.resolutions.credit import credits_expire_due
from assay.resolutions.payouts import payout_execute, payouts_run_due
from assay.resolutions.services import resolutions_sweep
from assay.resolutions.shop_returns import shop_return_sync, shop_returns_run_due


@db_task()
def execute_payout(payout_id: int) -> None:
    """One attempt at a payout, right after the settlement that created it committed."""
    payout_execute(payout_id=payout_id)


@db_task()
def open_checkout(checkout_id: int) -> None:
    """Ask the provider for a payment page, right after the exchange that needs it committed."""
    checkout_open(checkout_id=checkout_id)


@db_task()
def sync_shop_return(record_id: int) -> None:
    """Open (or close, or cancel) the shop's record of a return, right after it was asked for."""
    shop_return_sync(record_id=record_id)


@db_periodic_task(crontab(minute="*/5"))
def run_due_shop_returns() -> int:
    """Every five minutes: shop records to open again, close or cancel."""
    return shop_returns_run_due()


@db_periodic_task(crontab(minute="*"))
def run_due_checkouts() -> int:
    """Every minute: payment pages to create or poll, card holds to release or charge."""
    return checkouts_run_due()


@db_periodic_task(crontab(minute="*"))
def run_due_payouts() -> int:
    """Every minute: retries that are due, lost enqueues, stale attempts to reconcile, processing to poll."""
    return payouts_run_due()


@db_periodic_task(crontab(minute="*/5"))
def settle_due_returns() -> int:
    """Every five minutes: lines that reached their policy's timing but were not settled (a lost trigger)."""
    return resolutions_sweep()


@db_periodic_task(crontab(minute="17", hour="3"))
def expire_store_credit() -> int:
    """Daily: what is left of expired store credit is taken back."""
    return credits_expire_due()
