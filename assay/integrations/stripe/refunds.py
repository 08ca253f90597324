"""Refunds through Stripe's Refunds API (v1, form-encoded), as Assay's `PayoutProvider` for "refund".

Exactly once rests on two Stripe behaviours:
- `submit` sends the payout key as `Idempotency-Key`: Stripe keeps the first answer to a key for at
  least 24 hours and replays it to any repeat with the same parameters, so a retried submit cannot
  refund twice;
- `lookup` never POSTs. Replaying a request Stripe never received would *create* the refund, so
  after a crash the refunds on the payment are listed instead, and the one whose
  `metadata[assay_payout_key]` is the payout key is the answer.

The secret goes only into the Authorization header: it is never logged nor put in an error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from assay.integrations.stripe.client import DEFAULT_API_VERSION, DEFAULT_TIMEOUT_SECONDS, stripe_amount
from assay.integrations.stripe.client import call as _call
from assay.resolutions.providers import (
    PayoutInstruction,
    ProviderAccount,
    ProviderError,
    ProviderOutcome,
)

__all__ = ["DEFAULT_API_VERSION", "DEFAULT_TIMEOUT_SECONDS", "PAYOUT_KEY_METADATA", "StripeRefunds", "stripe_amount"]

PAYOUT_KEY_METADATA = "assay_payout_key"
_LIST_PAGE_SIZE = 100  # Stripe's largest page

_OUTCOME_STATUS = {
    "succeeded": "succeeded",
    "pending": "pending",
    "requires_action": "pending",
    "failed": "failed",
    "canceled": "failed",
}


class StripeRefunds:
    """Refunds a Stripe PaymentIntent (`pi_...`) or Charge (`ch_...`), the order's payment reference."""

    name = "stripe"
    kinds: frozenset[str] = frozenset({"refund"})

    def submit(self, instruction: PayoutInstruction, account: ProviderAccount) -> ProviderOutcome:
        field, payment = _payment_of(instruction)
        form = {
            field: payment,
            "amount": str(stripe_amount(instruction.amount, instruction.currency)),
            "currency": instruction.currency.strip().lower(),
            "reason": "requested_by_customer",
            f"metadata[{PAYOUT_KEY_METADATA}]": instruction.key,
            "metadata[order]": instruction.order_external_id,
        }
        refund = _call(account, "POST", "/v1/refunds", data=form, idempotency_key=instruction.key)
        if refund.get("object") != "refund" or not refund.get("id"):
            raise ProviderError("Stripe answered the refund request without a refund object", transient=True)
        return _outcome(refund)

    def lookup(self, instruction: PayoutInstruction, account: ProviderAccount) -> ProviderOutcome | None:
        field, payment = _payment_of(instruction)
        params = {field: payment, "limit": str(_LIST_PAGE_SIZE)}
        while True:
            page = _call(account, "GET", "/v1/refunds", params=params)
            refunds = page.get("data")
            if page.get("object") != "list" or not isinstance(refunds, list):
                raise ProviderError("Stripe answered the refund list without a list object", transient=True)
            for refund in refunds:
                metadata = refund.get("metadata") or {}
                if metadata.get(PAYOUT_KEY_METADATA) == instruction.key:
                    return _outcome(refund)
            if not page.get("has_more") or not refunds:
                return None
            params["starting_after"] = str(refunds[-1]["id"])


def _payment_of(instruction: PayoutInstruction) -> tuple[str, str]:
    """The create/list parameter that names the payment, and its id."""
    if instruction.kind != "refund":
        raise ProviderError(f"Stripe makes refunds only, not a {instruction.kind}", transient=False)
    reference = instruction.payment_reference.strip()
    if not reference:
        raise ProviderError(
            f"the order has no Stripe payment reference (PaymentIntent or Charge id) to refund; "
            f"order {instruction.order_external_id} must be refunded by hand or its payment id recorded",
            transient=False,
        )
    # Older integrations recorded the Charge; Stripe refunds either.
    return ("charge", reference) if reference.startswith("ch_") else ("payment_intent", reference)


def _outcome(refund: Mapping[str, Any]) -> ProviderOutcome:
    status = str(refund.get("status") or "")
    reference = str(refund["id"])
    mapped = _OUTCOME_STATUS.get(status)
    if mapped == "failed":
        return ProviderOutcome("failed", reference, detail=str(refund.get("failure_reason") or status))
    if mapped == "succeeded":
        return ProviderOutcome("succeeded", reference)
    if status == "requires_action":
        return ProviderOutcome(
            "pending", reference, detail="Stripe needs the customer to act before the refund is sent"
        )
    # pending, or a status newer than this adapter: the money may be moving, so keep asking.
    return ProviderOutcome(
        "pending", reference, detail="" if status == "pending" else f"Stripe refund status '{status}'"
    )
