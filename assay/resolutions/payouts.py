"""Carrying out payouts exactly once: claim, call the provider by key, write back under a fence.

A worker claims a payout by moving it to `submitting` under its row lock (attempts + 1 is the claim's
fence, with a lease); calls the provider outside any transaction; and writes the outcome back only if
the payout is still that attempt's. Every attempt after the first, and every reconciliation of a
lease that ran out, asks the provider by key before submitting again (ADR 0004). Staff send a failed
payout again, cancel it, or record a manual payment; a return waiting on one is flagged in the queue.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from assay.brands.models import Brand
from assay.brands.selectors import integration_secret
from assay.core.audit import Actor
from assay.core.errors import Conflict, InvalidInput, NotFound
from assay.core.transitions import transition
from assay.resolutions.models import Exchange, Payout, PayoutKind, PayoutSettings, Settlement
from assay.resolutions.providers import (
    PayoutInstruction,
    PayoutLine,
    ProviderAccount,
    ProviderError,
    ProviderOutcome,
    provider_named,
)
from assay.resolutions.status import PAYOUT_ALLOWED, ExchangeStatus, PayoutStatus
from assay.returns.models import ReturnLine, ReturnRequest
from assay.returns.services import return_line_move
from assay.returns.status import ReturnStatus

logger = logging.getLogger(__name__)

P = PayoutStatus
S = ReturnStatus

LEASE = timedelta(seconds=60)  # longer than any provider call's timeouts put together
MAX_ATTEMPTS = 6
# Waits after the 1st, 2nd ... failed attempt; after the last, the payout waits for staff.
BACKOFF = (timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=8), timedelta(minutes=30), timedelta(hours=2))
PROCESSING_POLL = timedelta(minutes=10)
MAX_REASON = 500


def payout_settings(brand_id: int) -> PayoutSettings:
    found = PayoutSettings.objects.filter(brand_id=brand_id).first()
    return found if found is not None else PayoutSettings(brand_id=brand_id)


def _code_for(key: str) -> str:
    """A gift card or coupon code derived from its key: the same payout always asks for the same code."""
    digest = hashlib.sha256(key.encode()).hexdigest().upper()
    return f"AS{digest[:14]}"


def reason_clean(text: str) -> str:
    text = " ".join((text or "").split())
    if len(text) > MAX_REASON:
        raise InvalidInput(f"reason: at most {MAX_REASON} characters")
    return text


# --- carrying out payouts ----------------------------------------------------------------------------


def payouts_enqueue(payout_ids: list[int]) -> None:
    from assay.resolutions.tasks import execute_payout

    for payout_id in payout_ids:
        execute_payout(payout_id)


def account_for(*, brand_id: int, provider: str) -> ProviderAccount:
    """How to reach the brand's account at `provider` (its secret from the brand's integration secrets)."""
    setup = payout_settings(brand_id)
    options = {"timeout": str(getattr(settings, "PAYOUT_PROVIDER_TIMEOUT", 10))}
    if provider == "stripe":
        secret = integration_secret(brand_id=brand_id, integration="stripe") or ""
        if not secret:
            raise ProviderError(
                "no Stripe secret key for this brand: set it with `assay brand_secret SLUG --integration stripe`",
                transient=False,
            )
        return ProviderAccount(api_base=setup.stripe_api_base, secret=secret, options=options)
    if provider == "shopify":
        secret = integration_secret(brand_id=brand_id, integration="shopify_admin") or ""
        if not secret:
            raise ProviderError(
                "no Shopify Admin API token for this brand: set it with "
                "`assay brand_secret SLUG --integration shopify_admin`",
                transient=False,
            )
        domain = Brand.objects.only("shop_domain").get(pk=brand_id).shop_domain
        base = setup.shopify_api_base or (f"https://{domain}" if domain else "")
        if not base:
            raise ProviderError("the brand has no Shopify shop domain", transient=False)
        return ProviderAccount(
            api_base=base, secret=secret, options={**options, "api_version": setup.shopify_api_version}
        )
    return ProviderAccount(api_base="", secret="", options=options)


def _instruction(payout: Payout) -> PayoutInstruction:
    request = ReturnRequest.objects.select_related("order", "customer").get(pk=payout.request_id)
    lines: tuple[PayoutLine, ...] = ()
    if payout.settlement_id is not None and payout.kind == PayoutKind.REFUND:
        line = ReturnLine.objects.select_related("order_line").get(settlement__pk=payout.settlement_id)
        lines = (PayoutLine(line.order_line.external_id, line.quantity, payout.amount),)
    customer = request.customer
    return PayoutInstruction(
        key=payout.key,
        kind=payout.kind,  # type: ignore[arg-type]
        amount=payout.amount,
        currency=payout.currency,
        order_external_id=request.order.external_id,
        payment_reference=request.order.payment_reference,
        customer_external_id=customer.external_id if customer is not None else "",
        customer_email=request.email,
        note=payout.note or f"return {request.rma}",
        lines=lines,
        code=payout.code or (_code_for(payout.key) if payout.kind in ("gift_card", "coupon") else ""),
    )


WORKER = Actor.system("payout worker")


def _claim(payout_id: int, *, now: datetime, reconcile: bool) -> Payout | None:
    """Take the payout for one attempt, or None when it is not ours to take (done, held, not due)."""
    with transaction.atomic():
        payout = Payout.objects.select_for_update().filter(pk=payout_id).first()
        if payout is None:
            return None
        if reconcile:
            stale = payout.status == P.SUBMITTING and payout.lease_until is not None and payout.lease_until <= now
            polled = (
                payout.status == P.PROCESSING and payout.next_attempt_at is not None and payout.next_attempt_at <= now
            )
            if not (stale or polled):
                return None
            why = "reconciling: the last attempt's outcome was never written" if stale else "asking the provider again"
        else:
            if payout.status not in (P.PENDING, P.RETRY):
                return None
            if payout.next_attempt_at is not None and payout.next_attempt_at > now:
                return None
            why = f"attempt {payout.attempts + 1} at {payout.provider}"
        payout.attempts += 1
        payout.lease_until = now + LEASE
        payout.save(update_fields=["attempts", "lease_until"])
        transition(payout, to=P.SUBMITTING, allowed=PAYOUT_ALLOWED, actor=WORKER, why=why)
        return payout


def _write_back(
    payout_id: int, attempt: int, *, outcome: ProviderOutcome | None, error: ProviderError | None, now: datetime
) -> Payout | None:
    """Record what the provider said, unless another attempt has taken the payout since (the fence)."""
    with transaction.atomic():
        payout = Payout.objects.select_for_update().get(pk=payout_id)
        if payout.status != P.SUBMITTING or payout.attempts != attempt:
            logger.warning(
                "payout %s: attempt %s answered after attempt %s took it", payout_id, attempt, payout.attempts
            )
            return None
        payout.lease_until = None
        if outcome is not None:
            payout.provider_reference = outcome.reference[:120] or payout.provider_reference
            payout.code = outcome.code[:40] or payout.code
            payout.last_error = "" if outcome.status != "failed" else (outcome.detail or "refused")[:MAX_REASON]
            if outcome.status == "succeeded":
                payout.settled_at = now
                payout.next_attempt_at = None
                to, why = P.SUCCEEDED, f"{payout.provider} paid: {payout.provider_reference}"
            elif outcome.status == "pending":
                manual = payout.provider == "manual"
                payout.next_attempt_at = None if manual else now + PROCESSING_POLL
                to, why = P.PROCESSING, outcome.detail or f"{payout.provider} is processing it"
            else:
                payout.next_attempt_at = None
                to, why = P.FAILED, f"{payout.provider} refused: {payout.last_error}"
        else:
            assert error is not None
            payout.last_error = error.reason[:MAX_REASON]
            if error.transient and payout.attempts < MAX_ATTEMPTS:
                payout.next_attempt_at = now + BACKOFF[min(payout.attempts, len(BACKOFF)) - 1]
                to, why = P.RETRY, f"will retry: {payout.last_error}"
            else:
                payout.next_attempt_at = None
                gave_up = f"gave up after {payout.attempts} attempts: " if error.transient else ""
                to, why = P.FAILED, f"{gave_up}{payout.last_error}"
        payout.save(
            update_fields=["lease_until", "provider_reference", "code", "last_error", "settled_at", "next_attempt_at"]
        )
        transition(payout, to=to, allowed=PAYOUT_ALLOWED, actor=WORKER, why=why[:MAX_REASON])
    if to == P.SUCCEEDED:
        settle_finished_lines(brand_id=payout.brand_id, request_id=payout.request_id)
    if to in (P.FAILED, P.SUCCEEDED):
        payout_flag_refresh(request_id=payout.request_id)
    return payout


def payout_execute(*, payout_id: int, now: datetime | None = None, reconcile: bool = False) -> Payout | None:
    """One attempt at a payout: claim it, ask its provider (by key), write the outcome back.

    Reconciling (a stale `submitting`, a `processing` to poll) and on every attempt after the first,
    the provider is first asked what became of the key; only when it has no payout under it is the
    payout submitted again, with the same key.
    """
    now = now or timezone.now()
    payout = _claim(payout_id, now=now, reconcile=reconcile)
    if payout is None:
        return None
    attempt = payout.attempts
    outcome: ProviderOutcome | None = None
    error: ProviderError | None = None
    try:
        provider = provider_named(payout.provider)
        if provider is None:
            raise ProviderError(f"no payment provider named '{payout.provider}' is installed", transient=False)
        if payout.kind not in provider.kinds:
            raise ProviderError(f"{payout.provider} cannot make a {payout.kind.replace('_', ' ')}", transient=False)
        instruction = _instruction(payout)
        if not payout.code and instruction.code:
            Payout.objects.filter(pk=payout.pk).update(code=instruction.code)
        account = account_for(brand_id=payout.brand_id, provider=payout.provider)
        # Any attempt after the first asks first: a provider may have acted on a call whose answer
        # was lost, and replays the first answer to a key only for a while (Stripe: 24 hours).
        if reconcile or attempt > 1:
            outcome = provider.lookup(instruction, account)
        if outcome is None:
            outcome = provider.submit(instruction, account)
    except ProviderError as exc:
        error = exc
    except Exception as exc:  # an adapter's bug must not leave the payout held: retry, then staff
        logger.exception("payout %s: provider %s failed", payout_id, payout.provider)
        error = ProviderError(f"unexpected error from {payout.provider}: {type(exc).__name__}", transient=True)
    return _write_back(payout_id, attempt, outcome=outcome, error=error, now=timezone.now() if now is None else now)


def payouts_run_due(*, now: datetime | None = None, limit: int = 200) -> int:
    """Every minute: payouts due for a retry, those whose enqueue was lost, stale attempts to
    reconcile and processing ones to poll. Returns how many were attempted."""
    now = now or timezone.now()
    due = list(
        Payout.objects.filter(status__in=[P.PENDING, P.RETRY])
        .exclude(next_attempt_at__gt=now)
        .exclude(status=P.PENDING, created_at__gt=now - timedelta(seconds=30))
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )
    stale = list(
        Payout.objects.filter(status=P.SUBMITTING, lease_until__lte=now)
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )
    polled = list(
        Payout.objects.filter(status=P.PROCESSING, next_attempt_at__lte=now)
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )
    done = 0
    for payout_id in due:
        done += payout_execute(payout_id=payout_id, now=now) is not None
    for payout_id in stale + polled:
        done += payout_execute(payout_id=payout_id, now=now, reconcile=True) is not None
    return done


# --- the staff queue's flag -------------------------------------------------------------------------

PAYOUT_FAILED_FLAG = "payout_failed"


def payout_flag_refresh(*, request_id: int) -> None:
    """Flag the return in the staff queue while one of its payouts needs attention; unflag it after."""
    with transaction.atomic():
        request = ReturnRequest.objects.select_for_update().only("flags").get(pk=request_id)
        failing = Payout.objects.filter(request_id=request_id, status=P.FAILED).exists()
        flags = [flag for flag in (request.flags or []) if flag != PAYOUT_FAILED_FLAG]
        if failing:
            flags.append(PAYOUT_FAILED_FLAG)
        if flags != (request.flags or []):
            request.flags = flags
            request.save(update_fields=["flags"])


# --- staff on payouts --------------------------------------------------------------------------------


def _lock_payout(brand_id: int, payout_id: int) -> Payout:
    payout = Payout.objects.select_for_update().filter(brand_id=brand_id, pk=payout_id).first()
    if payout is None:
        raise NotFound(f"no payout {payout_id}")
    return payout


def payout_retry(*, brand_id: int, payout_id: int, actor: Actor, why: str = "") -> Payout:
    """Send a payout that needs attention again, with the same key (the provider cannot pay it twice)."""
    with transaction.atomic():
        payout = _lock_payout(brand_id, payout_id)
        payout.next_attempt_at = None
        payout.save(update_fields=["next_attempt_at"])
        transition(payout, to=P.RETRY, allowed=PAYOUT_ALLOWED, actor=actor, why=reason_clean(why) or "sent again")
        transaction.on_commit(lambda: payouts_enqueue([payout.pk]))
    payout_flag_refresh(request_id=payout.request_id)
    return payout


def payout_cancel(*, brand_id: int, payout_id: int, actor: Actor, why: str) -> Payout:
    """Give up a payout that was not made (refused, or retrying); `why` is required."""
    why = reason_clean(why)
    if not why:
        raise InvalidInput("say why the payout is cancelled")
    with transaction.atomic():
        payout = _lock_payout(brand_id, payout_id)
        transition(payout, to=P.CANCELLED, allowed=PAYOUT_ALLOWED, actor=actor, why=why)
    payout_flag_refresh(request_id=payout.request_id)
    return payout


def payout_record_manual(*, brand_id: int, payout_id: int, actor: Actor, reference: str) -> Payout:
    """Staff made a manual payout outside Assay: record its reference and complete it."""
    reference = reason_clean(reference)
    if not reference:
        raise InvalidInput("give the payment's reference (a transfer id, a receipt number)")
    with transaction.atomic():
        payout = _lock_payout(brand_id, payout_id)
        if payout.provider != "manual" or payout.status != P.PROCESSING:
            raise Conflict(f"payout {payout_id} is not a manual payout waiting to be recorded")
        payout.provider_reference = reference[:120]
        payout.settled_at = timezone.now()
        payout.save(update_fields=["provider_reference", "settled_at"])
        transition(payout, to=P.SUBMITTING, allowed=PAYOUT_ALLOWED, actor=actor, why="recorded by staff")
        transition(payout, to=P.SUCCEEDED, allowed=PAYOUT_ALLOWED, actor=actor, why=f"paid outside Assay: {reference}")
    settle_finished_lines(brand_id=brand_id, request_id=payout.request_id)
    return payout


# --- the return follows its settlements -------------------------------------------------------------


def settle_finished_lines(*, brand_id: int, request_id: int) -> int:
    """Lines inspected (or kept by the shopper) whose settlement is fully paid become resolved."""
    moved = 0
    settlements = Settlement.objects.filter(brand_id=brand_id, request_id=request_id).select_related("return_line")
    for settlement in settlements:
        line = settlement.return_line
        ready = line.status == S.INSPECTED or (line.status == S.AUTHORISED and (line.decision or {}).get("keep_item"))
        if not ready:
            continue
        open_payouts = settlement.payouts.exclude(status__in=[P.SUCCEEDED, P.CANCELLED]).exists()
        exchange = Exchange.objects.filter(settlement=settlement).first()
        waiting = exchange is not None and exchange.status in (
            ExchangeStatus.AWAITING_HOLD,
            ExchangeStatus.AWAITING_PAYMENT,
            ExchangeStatus.AWAITING_STOCK,
        )
        if open_payouts or waiting:
            continue
        try:
            return_line_move(
                brand_id=brand_id, line_id=line.pk, to=S.RESOLVED, actor=Actor.system("resolutions"), why="settled"
            )
            moved += 1
        except Conflict:
            continue  # moved meanwhile by someone else
    return moved
