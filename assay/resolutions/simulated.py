"""Built-in providers: the demo's simulated payment provider, and payouts staff make by hand.

The simulated provider behaves as a real one does where exactly-once is concerned: it keeps what
it paid by idempotency key (a repeated submit answers the first payout again) and can be asked by
key. It moves no money, so the whole path works with no accounts.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse

from assay.core.errors import NotFound
from assay.resolutions.models import SimulatedCheckout as SimulatedCheckoutRow
from assay.resolutions.models import SimulatedPayment
from assay.resolutions.providers import (
    CheckoutInstruction,
    CheckoutState,
    PayoutInstruction,
    ProviderAccount,
    ProviderError,
    ProviderOutcome,
)


def _reference(prefix: str, key: str) -> str:
    return f"{prefix}_sim_{hashlib.sha256(key.encode()).hexdigest()[:20]}"


class SimulatedProvider:
    name = "simulated"
    kinds = frozenset({"refund", "gift_card", "coupon"})

    def submit(self, instruction: PayoutInstruction, account: ProviderAccount) -> ProviderOutcome:
        prefix = {"refund": "re", "gift_card": "gc", "coupon": "cp"}[instruction.kind]
        try:
            with transaction.atomic():
                payment = SimulatedPayment.objects.create(
                    key=instruction.key,
                    kind=instruction.kind,
                    amount=instruction.amount,
                    currency=instruction.currency,
                    reference=_reference(prefix, instruction.key),
                    code=instruction.code,
                )
        except IntegrityError:  # the same key again: the first payout's answer, as a real provider replays it
            payment = SimulatedPayment.objects.get(key=instruction.key)
        return ProviderOutcome(status="succeeded", reference=payment.reference, code=payment.code)

    def lookup(self, instruction: PayoutInstruction, account: ProviderAccount) -> ProviderOutcome | None:
        payment = SimulatedPayment.objects.filter(key=instruction.key).first()
        if payment is None:
            return None
        return ProviderOutcome(status="succeeded", reference=payment.reference, code=payment.code)


class ManualProvider:
    """Staff pay outside Assay (a bank transfer, the shop's own admin) and record the reference.

    Nothing is called: the payout waits as processing until `payout_record_manual` completes it.
    """

    name = "manual"
    kinds = frozenset({"refund", "gift_card", "coupon"})

    def submit(self, instruction: PayoutInstruction, account: ProviderAccount) -> ProviderOutcome:
        return ProviderOutcome(status="pending", reference="", detail="waiting for staff to record the payment")

    def lookup(self, instruction: PayoutInstruction, account: ProviderAccount) -> ProviderOutcome | None:
        return ProviderOutcome(status="pending", reference="", detail="waiting for staff to record the payment")


class SimulatedCheckout:
    """The demo's payment pages: Assay's own page, where the shopper 'pays' or 'authorises' with one
    click (`simulated_checkout_complete`). It keeps sessions by key, as a real provider does."""

    name = "simulated"

    def checkout_create(self, instruction: CheckoutInstruction, account: ProviderAccount) -> CheckoutState:
        session_id = f"cs_sim_{hashlib.sha256(instruction.key.encode()).hexdigest()[:24]}"
        try:
            with transaction.atomic():
                session = SimulatedCheckoutRow.objects.create(
                    session_id=session_id,
                    key=instruction.key,
                    purpose=instruction.purpose,
                    amount=instruction.amount,
                    currency=instruction.currency,
                    description=instruction.description[:300],
                    success_url=instruction.success_url[:1000],
                )
        except IntegrityError:  # the same key again: the first session
            session = SimulatedCheckoutRow.objects.get(key=instruction.key)
        return _state(session)

    def checkout_state(self, session_id: str, account: ProviderAccount) -> CheckoutState:
        session = SimulatedCheckoutRow.objects.filter(session_id=session_id).first()
        if session is None:
            raise ProviderError(f"no simulated checkout {session_id}", transient=False)
        return _state(session)

    def hold_release(self, payment_reference: str, account: ProviderAccount, *, key: str) -> None:
        SimulatedCheckoutRow.objects.filter(session_id=_session_of(payment_reference), status="held").update(
            status="released"
        )

    def hold_capture(
        self, payment_reference: str, amount: Decimal, currency: str, account: ProviderAccount, *, key: str
    ) -> str:
        session = SimulatedCheckoutRow.objects.filter(session_id=_session_of(payment_reference)).first()
        if session is None or session.status not in ("held", "captured"):
            raise ProviderError("the simulated hold is not held any more", transient=False)
        SimulatedCheckoutRow.objects.filter(pk=session.pk).update(status="captured")
        return f"ch_sim_{session.session_id[7:]}"


def _session_of(payment_reference: str) -> str:
    return "cs_sim_" + payment_reference.removeprefix("pi_sim_")


def _state(session: SimulatedCheckoutRow) -> CheckoutState:
    status = {"open": "open", "paid": "paid", "held": "held"}.get(session.status, "held")
    reference = f"pi_sim_{session.session_id[7:]}" if session.status != "open" else ""
    return CheckoutState(
        session_id=session.session_id,
        url=settings.PUBLIC_URL.rstrip("/") + reverse("simulated-checkout", kwargs={"session_id": session.session_id}),
        status=status,  # type: ignore[arg-type]
        payment_reference=reference,
    )


def simulated_checkout(session_id: str) -> SimulatedCheckoutRow | None:
    return SimulatedCheckoutRow.objects.filter(session_id=session_id).first()


def simulated_checkout_complete(session_id: str) -> SimulatedCheckoutRow:
    """The shopper pressed 'Pay' (or 'Authorise') on the simulated page."""
    with transaction.atomic():
        session = SimulatedCheckoutRow.objects.select_for_update().filter(session_id=session_id).first()
        if session is None:
            raise NotFound("no such payment page")
        if session.status == "open":
            session.status = "held" if session.purpose == "hold" else "paid"
            session.save(update_fields=["status", "updated_at"])
        return session
