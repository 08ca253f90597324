"""Collecting money from the shopper for an exchange: the difference for a dearer replacement, and
the card hold that lets an even swap ship before the return arrives (an instant exchange).

Like a payout, a checkout is recorded before the provider is asked for its payment page, with an
idempotency key (exchange, purpose, attempt): a retry gets the same page. Pages are then polled
(every minute, and at once when the shopper comes back from one): paid fulfils the exchange; held
fulfils an instant exchange. A hold is released when the return is received (or is on its way six
days after the hold, before the card network lets the hold lapse) and charged when the return never
ships: the request expired or was cancelled, or nothing was sent within six days.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from assay.core.audit import Actor
from assay.core.transitions import transition
from assay.resolutions.models import Checkout, CheckoutPurpose, Exchange
from assay.resolutions.payouts import account_for, payout_settings
from assay.resolutions.providers import (
    CheckoutInstruction,
    CheckoutState,
    ProviderAccount,
    ProviderError,
    checkout_provider_named,
)
from assay.resolutions.status import CHECKOUT_ALLOWED, CheckoutStatus, ExchangeStatus
from assay.returns.models import ReturnLine, ReturnRequest
from assay.returns.status import ReturnStatus

logger = logging.getLogger(__name__)

C = CheckoutStatus
WORKER = Actor.system("checkout worker")
POLL = timedelta(minutes=1)
RETRY = timedelta(minutes=2)
# Statuses of the returned line that end a hold: received or later releases it; never shipped charges it.
RETURNED: frozenset[str] = frozenset(
    {ReturnStatus.RECEIVED, ReturnStatus.INSPECTED, ReturnStatus.RESOLVED, ReturnStatus.CLOSED}
)
NEVER_SHIPPED: frozenset[str] = frozenset({ReturnStatus.EXPIRED, ReturnStatus.CANCELLED})
ON_ITS_WAY: frozenset[str] = frozenset({ReturnStatus.IN_TRANSIT})
# Card networks let an authorisation lapse after about 7 days (Stripe: 7 for online cards). By day 6
# the hold is settled either way: released if the return is on its way, charged if it was not sent.
HOLD_SHIP_WITHIN = timedelta(days=6)


def _public_url(path: str) -> str:
    return settings.PUBLIC_URL.rstrip("/") + path


def checkout_request(*, exchange: Exchange, purpose: str, amount: Decimal, provider: str) -> Checkout:
    """Record a payment page for the exchange (inside the caller's transaction); it is created at the
    provider after commit."""
    attempt = Checkout.objects.filter(exchange=exchange, purpose=purpose).count() + 1
    checkout = Checkout.objects.create(
        brand_id=exchange.brand_id,
        request_id=exchange.request_id,
        exchange=exchange,
        purpose=purpose,
        provider=provider,
        amount=amount,
        currency=exchange.currency,
        key=f"assay:exchange{exchange.pk}:{purpose}:{attempt}",
    )
    transaction.on_commit(lambda: _enqueue_open(checkout.pk))
    return checkout


def _enqueue_open(checkout_id: int) -> None:
    from assay.resolutions.tasks import open_checkout

    open_checkout(checkout_id)


def _account(checkout: Checkout) -> ProviderAccount:
    # The checkout's provider uses the same account settings as its payouts.
    return account_for(brand_id=checkout.brand_id, provider=checkout.provider)


def _instruction(checkout: Checkout) -> CheckoutInstruction:
    request = ReturnRequest.objects.select_related("order").get(pk=checkout.request_id)
    exchange = Exchange.objects.get(pk=checkout.exchange_id)
    brand_slug = request.order.brand.slug
    status_url = _public_url(reverse("portal:status", kwargs={"brand": brand_slug, "rma": request.rma}))
    what = (
        f"Hold for the replacement sent before your return arrives: {exchange.title}"
        if checkout.purpose == CheckoutPurpose.HOLD
        else f"Difference for your exchange: {exchange.title}"
    )
    return CheckoutInstruction(
        key=checkout.key,
        purpose=checkout.purpose,  # type: ignore[arg-type]
        amount=checkout.amount,
        currency=checkout.currency,
        description=f"RMA {request.rma}: {what}"[:300],
        customer_email=request.email,
        success_url=status_url,
        cancel_url=status_url,
    )


def checkout_open(*, checkout_id: int, now: datetime | None = None) -> Checkout | None:
    """Ask the provider for the payment page of a recorded checkout; None when it has one already."""
    now = now or timezone.now()
    checkout = Checkout.objects.filter(pk=checkout_id, status=C.CREATING).first()
    if checkout is None:
        return None
    provider = checkout_provider_named(checkout.provider)
    state: CheckoutState | None = None
    error: ProviderError | None = None
    try:
        if provider is None:
            raise ProviderError(f"no payment page provider named '{checkout.provider}' is installed", transient=False)
        state = provider.checkout_create(_instruction(checkout), _account(checkout))
    except ProviderError as exc:
        error = exc
    except Exception as exc:  # an adapter's bug: try again later, then staff
        logger.exception("checkout %s: provider %s failed", checkout_id, checkout.provider)
        error = ProviderError(f"unexpected error from {checkout.provider}: {type(exc).__name__}", transient=True)
    with transaction.atomic():
        checkout = Checkout.objects.select_for_update().get(pk=checkout_id)
        if checkout.status != C.CREATING:
            return None
        if state is not None:
            checkout.session_id, checkout.url = state.session_id[:200], state.url[:1000]
            checkout.last_error, checkout.next_check_at = "", now + POLL
            checkout.save(update_fields=["session_id", "url", "last_error", "next_check_at"])
            transition(checkout, to=C.OPEN, allowed=CHECKOUT_ALLOWED, actor=WORKER, why="payment page ready")
        elif error is not None and error.transient:
            checkout.last_error, checkout.next_check_at = error.reason[:500], now + RETRY
            checkout.save(update_fields=["last_error", "next_check_at"])
        elif error is not None:
            checkout.last_error, checkout.next_check_at = error.reason[:500], None
            checkout.save(update_fields=["last_error", "next_check_at"])
            transition(checkout, to=C.FAILED, allowed=CHECKOUT_ALLOWED, actor=WORKER, why=error.reason[:500])
    return checkout


def checkout_refresh(*, checkout_id: int, now: datetime | None = None) -> Checkout | None:
    """Ask the provider where an open page stands; a paid difference or a held card moves the exchange on."""
    now = now or timezone.now()
    checkout = Checkout.objects.filter(pk=checkout_id, status=C.OPEN).first()
    provider = checkout_provider_named(checkout.provider) if checkout is not None else None
    if checkout is None or provider is None:
        return None
    try:
        state = provider.checkout_state(checkout.session_id, _account(checkout))
    except ProviderError as exc:
        Checkout.objects.filter(pk=checkout_id).update(last_error=exc.reason[:500], next_check_at=now + RETRY)
        return None
    with transaction.atomic():
        checkout = Checkout.objects.select_for_update().get(pk=checkout_id)
        if checkout.status != C.OPEN:
            return None
        if state.status == "open":
            checkout.next_check_at = now + POLL
            checkout.save(update_fields=["next_check_at"])
            return checkout
        checkout.payment_reference = state.payment_reference[:120]
        checkout.next_check_at = now + POLL if state.status == "held" else None
        checkout.save(update_fields=["payment_reference", "next_check_at"])
        to = {"paid": C.PAID, "held": C.HELD, "expired": C.EXPIRED}[state.status]
        transition(checkout, to=to, allowed=CHECKOUT_ALLOWED, actor=WORKER, why=f"{checkout.provider}: {state.status}")
        if to in (C.PAID, C.HELD):
            _exchange_go(checkout, now=now)
    return checkout


def _exchange_go(checkout: Checkout, *, now: datetime) -> None:
    from assay.resolutions.services import exchange_fulfil_locked

    exchange = Exchange.objects.select_for_update().get(pk=checkout.exchange_id)
    waiting = (
        ExchangeStatus.AWAITING_HOLD if checkout.purpose == CheckoutPurpose.HOLD else ExchangeStatus.AWAITING_PAYMENT
    )
    if exchange.status != waiting:
        return
    exchange.payment_reference = checkout.payment_reference
    exchange.save(update_fields=["payment_reference"])
    exchange_fulfil_locked(exchange, actor=WORKER, now=now)


def _held_at(checkout: Checkout) -> datetime:
    """When the hold was placed: the audit event of its move to held (the row's update time otherwise)."""
    from assay.core.models import AuditEvent

    at = (
        AuditEvent.objects.filter(subject_type="checkout", subject_id=checkout.pk, to_state=C.HELD)
        .values_list("at", flat=True)
        .first()
    )
    return at or checkout.updated_at


def hold_settle(*, checkout_id: int, now: datetime | None = None) -> Checkout | None:
    """Release a hold once its return is received; charge it once the return can no longer ship."""
    now = now or timezone.now()
    checkout = Checkout.objects.filter(pk=checkout_id, status=C.HELD).select_related("exchange__settlement").first()
    if checkout is None:
        return None
    line_status = ReturnLine.objects.get(pk=checkout.exchange.settlement.return_line_id).status
    held_since = _held_at(checkout)
    if line_status in RETURNED or (line_status in ON_ITS_WAY and now - held_since >= HOLD_SHIP_WITHIN):
        to = C.RELEASED
    elif line_status in NEVER_SHIPPED or now - held_since >= HOLD_SHIP_WITHIN:
        to = C.CAPTURED
    else:
        Checkout.objects.filter(pk=checkout_id).update(next_check_at=now + POLL)
        return None
    provider = checkout_provider_named(checkout.provider)
    reference = ""
    try:
        if provider is None:
            raise ProviderError(f"no payment page provider named '{checkout.provider}' is installed", transient=False)
        account = _account(checkout)
        if to == C.RELEASED:
            provider.hold_release(checkout.payment_reference, account, key=f"{checkout.key}:release")
        else:
            reference = provider.hold_capture(
                checkout.payment_reference, checkout.amount, checkout.currency, account, key=f"{checkout.key}:capture"
            )
    except ProviderError as exc:
        Checkout.objects.filter(pk=checkout_id).update(last_error=exc.reason[:500], next_check_at=now + RETRY)
        return None
    with transaction.atomic():
        checkout = Checkout.objects.select_for_update().get(pk=checkout_id)
        if checkout.status != C.HELD:
            return None
        checkout.charge_reference, checkout.next_check_at, checkout.last_error = reference[:120], None, ""
        checkout.save(update_fields=["charge_reference", "next_check_at", "last_error"])
        why = "the return arrived" if to == C.RELEASED else f"the return never shipped ({line_status})"
        transition(checkout, to=to, allowed=CHECKOUT_ALLOWED, actor=WORKER, why=why)
    return checkout


def checkouts_run_due(*, now: datetime | None = None, limit: int = 200) -> int:
    """Every minute: pages to create (again), open pages to poll, holds to release or charge."""
    now = now or timezone.now()
    due = Checkout.objects.exclude(next_check_at__gt=now).order_by("id")
    done = 0
    for checkout_id in due.filter(status=C.CREATING).values_list("pk", flat=True)[:limit]:
        done += checkout_open(checkout_id=checkout_id, now=now) is not None
    for checkout_id in due.filter(status=C.OPEN).values_list("pk", flat=True)[:limit]:
        done += checkout_refresh(checkout_id=checkout_id, now=now) is not None
    for checkout_id in due.filter(status=C.HELD).values_list("pk", flat=True)[:limit]:
        done += hold_settle(checkout_id=checkout_id, now=now) is not None
    return done


def holds_settle_for_request(*, request_id: int, now: datetime | None = None) -> int:
    """After a return moved: settle its holds at once rather than at the next minute."""
    held = Checkout.objects.filter(request_id=request_id, status=C.HELD).values_list("pk", flat=True)
    return sum(hold_settle(checkout_id=pk, now=now) is not None for pk in held)


def checkout_retry(*, brand_id: int, checkout_id: int) -> Checkout:
    """A page that expired unpaid or failed: a new one for the same exchange (a new key)."""
    from assay.core.errors import Conflict, NotFound

    with transaction.atomic():
        old = Checkout.objects.select_for_update().filter(brand_id=brand_id, pk=checkout_id).first()
        if old is None:
            raise NotFound(f"no payment page {checkout_id}")
        if old.status not in (C.EXPIRED, C.FAILED):
            raise Conflict(f"the payment page is {old.get_status_display().lower()}: no new one is needed")
        exchange = Exchange.objects.select_for_update().get(pk=old.exchange_id)
        # The brand's provider now: staff may have fixed what made the last page fail.
        provider = payout_settings(brand_id).checkout_provider
        return checkout_request(exchange=exchange, purpose=old.purpose, amount=old.amount, provider=provider)


def simulated_checkout_pay(*, session_id: str) -> str:
    """The shopper pressed 'Pay' on the demo's payment page: the page is paid (or the card held) and
    its exchange moves on at once. Returns where to send the shopper back to."""
    from assay.resolutions.simulated import simulated_checkout_complete

    session = simulated_checkout_complete(session_id)
    for checkout_id in Checkout.objects.filter(provider="simulated", session_id=session_id).values_list(
        "pk", flat=True
    ):
        checkout_refresh(checkout_id=checkout_id)
    return session.success_url


def checkout_page_again(*, brand_id: int, exchange_id: int) -> Checkout:
    """Staff send a new payment page for an exchange whose last one expired unpaid or failed."""
    from assay.core.errors import NotFound

    latest = Checkout.objects.filter(brand_id=brand_id, exchange_id=exchange_id).order_by("-id").first()
    if latest is None:
        raise NotFound(f"exchange {exchange_id} has no payment page")
    return checkout_retry(brand_id=brand_id, checkout_id=latest.pk)
