"""Built-in providers: the demo's simulated payment provider, and payouts staff make by hand.

The simulated provider behaves as a real one does where exactly-once is concerned: it keeps what
it paid by idempotency key (a repeated submit answers the first payout again) and can be asked by
key. It moves no money, so the whole path works with no accounts.
"""

from __future__ import annotations

import hashlib

from django.db import IntegrityError, transaction

from assay.resolutions.models import SimulatedPayment
from assay.resolutions.providers import PayoutInstruction, ProviderAccount, ProviderOutcome


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
