"""Keeping the shop's record of a return in step with Assay's (Shopify's Returns, when a brand asks).

The shop shows returns in its admin, its analytics and the customer's account; a brand that runs
returns in Assay still wants them there. One `ShopReturn` row per return, created under the
request's lock before the shop is asked; the adapter looks for a return it opened before opening
one, so a retry after a lost answer opens nothing twice. Authorised -> opened; resolved or closed ->
closed; cancelled, rejected or expired -> cancelled. Failures retry with backoff, then wait for staff.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from assay.core.audit import Actor
from assay.core.transitions import transition
from assay.resolutions.models import ShopReturn, ShopReturnStatus
from assay.resolutions.payouts import account_for
from assay.resolutions.providers import (
    ProviderError,
    ShopReturnInstruction,
    ShopReturnLine,
    ShopReturnState,
    shop_returns_named,
)
from assay.resolutions.status import SHOP_RETURN_ALLOWED
from assay.returns.models import ReturnLine, ReturnRequest
from assay.returns.status import ReturnStatus

logger = logging.getLogger(__name__)

R = ShopReturnStatus
S = ReturnStatus
WORKER = Actor.system("shop returns")
MAX_ATTEMPTS = 6
BACKOFF = timedelta(minutes=5)
OPENED_FROM: frozenset[str] = frozenset(
    {S.AUTHORISED, S.AWAITING_SHIPMENT, S.IN_TRANSIT, S.RECEIVED, S.INSPECTED, S.RESOLVED, S.CLOSED}
)
FINISHED: frozenset[str] = frozenset({S.RESOLVED, S.CLOSED})
WITHDRAWN: frozenset[str] = frozenset({S.CANCELLED, S.REJECTED, S.EXPIRED})


def shop_return_ensure(*, request: ReturnRequest, provider: str) -> ShopReturn | None:
    """Record that this authorised return must be opened in the shop (once). Inside the caller's
    transaction; the shop is asked after commit."""
    if not provider or request.status not in OPENED_FROM:
        return None
    found = ShopReturn.objects.filter(request=request).first()
    if found is not None:
        return found
    with transaction.atomic():
        record, created = ShopReturn.objects.get_or_create(
            request=request, defaults={"brand_id": request.brand_id, "provider": provider}
        )
    if created:
        transaction.on_commit(lambda: _enqueue(record.pk))
    return record


def _enqueue(record_id: int) -> None:
    from assay.resolutions.tasks import sync_shop_return

    sync_shop_return(record_id)


def _instruction(request: ReturnRequest) -> ShopReturnInstruction:
    lines = ReturnLine.objects.filter(request=request).exclude(status__in=WITHDRAWN).select_related("order_line")
    return ShopReturnInstruction(
        key=request.rma,
        order_external_id=request.order.external_id,
        lines=tuple(
            ShopReturnLine(line.order_line.external_id, line.quantity, line.reason, line.comment[:300])
            for line in lines
        ),
        requested_at=request.requested_at,
    )


def shop_return_sync(*, record_id: int, now: datetime | None = None) -> ShopReturn | None:
    """One step towards the shop matching the return: open, close or cancel it; None when in step."""
    now = now or timezone.now()
    record = ShopReturn.objects.select_related("request__order").filter(pk=record_id).first()
    if record is None or (record.next_attempt_at is not None and record.next_attempt_at > now):
        return None
    request = record.request
    if record.status == R.PENDING:
        step = "cancel" if request.status in WITHDRAWN else "open"
    elif record.status == R.OPEN and request.status in FINISHED:
        step = "close"
    elif record.status == R.OPEN and request.status in WITHDRAWN:
        step = "cancel"
    else:
        return None
    provider = shop_returns_named(record.provider)
    state: ShopReturnState | None = None
    try:
        if provider is None:
            raise ProviderError(f"no shop named '{record.provider}' can record returns", transient=False)
        if step == "cancel" and record.status == R.PENDING:
            state = None  # never opened there: nothing to cancel
        else:
            account = account_for(brand_id=record.brand_id, provider=record.provider)
            if step == "open":
                instruction = _instruction(request)
                state = provider.return_find(instruction, account) or provider.return_open(instruction, account)
            elif step == "close":
                state = provider.return_close(record.reference, account)
            else:
                state = provider.return_cancel(record.reference, account)
    except ProviderError as exc:
        return _failed(record_id, exc, now=now)
    with transaction.atomic():
        record = ShopReturn.objects.select_for_update().get(pk=record_id)
        if state is not None:
            record.reference, record.shop_status = state.reference[:200], state.status[:20]
        record.last_error, record.next_attempt_at = "", None
        record.save(update_fields=["reference", "shop_status", "last_error", "next_attempt_at"])
        to = {"open": R.OPEN, "close": R.CLOSED, "cancel": R.CANCELLED}[step]
        transition(record, to=to, allowed=SHOP_RETURN_ALLOWED, actor=WORKER, why=f"{record.provider}: {step}")
    return record


def _failed(record_id: int, error: ProviderError, *, now: datetime) -> ShopReturn:
    with transaction.atomic():
        record = ShopReturn.objects.select_for_update().get(pk=record_id)
        record.attempts += 1
        record.last_error = error.reason[:500]
        gave_up = not error.transient or record.attempts >= MAX_ATTEMPTS
        record.next_attempt_at = None if gave_up else now + BACKOFF * record.attempts
        record.save(update_fields=["attempts", "last_error", "next_attempt_at"])
        if gave_up and record.status == R.PENDING:
            transition(record, to=R.FAILED, allowed=SHOP_RETURN_ALLOWED, actor=WORKER, why=record.last_error)
    return record


def shop_returns_run_due(*, now: datetime | None = None, limit: int = 200) -> int:
    """Every five minutes: records to open (again), and open ones whose return finished or was withdrawn."""
    now = now or timezone.now()
    pending = ShopReturn.objects.filter(status=R.PENDING).exclude(next_attempt_at__gt=now)
    ended = ShopReturn.objects.filter(status=R.OPEN, request__status__in=FINISHED | WITHDRAWN).exclude(
        next_attempt_at__gt=now
    )
    ids = list(pending.values_list("pk", flat=True)[:limit]) + list(ended.values_list("pk", flat=True)[:limit])
    return sum(shop_return_sync(record_id=pk, now=now) is not None for pk in ids)


def shop_return_retry(*, brand_id: int, record_id: int, actor: Actor) -> ShopReturn:
    """Staff ask again after fixing what the shop refused (a token, a fulfilment)."""
    from assay.core.errors import NotFound

    with transaction.atomic():
        record = ShopReturn.objects.select_for_update().filter(brand_id=brand_id, pk=record_id).first()
        if record is None:
            raise NotFound(f"no shop return record {record_id}")
        record.attempts, record.next_attempt_at = 0, None
        record.save(update_fields=["attempts", "next_attempt_at"])
        transition(record, to=R.PENDING, allowed=SHOP_RETURN_ALLOWED, actor=actor, why="asked again")
        transaction.on_commit(lambda: _enqueue(record.pk))
    return record
