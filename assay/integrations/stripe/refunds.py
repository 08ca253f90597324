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
from decimal import Decimal
from typing import Any

import httpx

from assay.core.money import minor_units
from assay.resolutions.providers import (
    PayoutInstruction,
    ProviderAccount,
    ProviderError,
    ProviderOutcome,
)

__all__ = ["DEFAULT_API_VERSION", "DEFAULT_TIMEOUT_SECONDS", "PAYOUT_KEY_METADATA", "StripeRefunds", "stripe_amount"]

# Pinned so a change of the account's default version in Stripe's dashboard cannot change the
# shapes this adapter reads; a brand may pin another with `options["api_version"]`.
DEFAULT_API_VERSION = "2025-04-30.basil"
DEFAULT_TIMEOUT_SECONDS = 10.0
PAYOUT_KEY_METADATA = "assay_payout_key"
_LIST_PAGE_SIZE = 100  # Stripe's largest page

# Where Stripe's API amounts differ from ISO 4217 (docs.stripe.com/currencies, "special cases"):
# ISK stays two-decimal in the API although only whole krónur may be charged or refunded.
_STRIPE_EXPONENT = {"ISK": 2}
_WHOLE_UNITS_ONLY = {"ISK": 100}
# Three-decimal currencies: Stripe's payment partners need the last digit to be 0.
_THREE_DECIMAL_STEP = 10

_OUTCOME_STATUS = {
    "succeeded": "succeeded",
    "pending": "pending",
    "requires_action": "pending",
    "failed": "failed",
    "canceled": "failed",
}


def stripe_amount(amount: Decimal, currency: str) -> int:
    """`amount` (major units) as the integer Stripe expects for `currency`; refuses what does not
    convert exactly, so a refund is never rounded into a different sum."""
    code = currency.strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise ProviderError(f"'{currency}' is not an ISO 4217 currency code", transient=False)
    if not amount.is_finite() or amount <= 0:
        raise ProviderError(f"a Stripe refund needs a positive amount, not {amount} {code}", transient=False)
    places = minor_units(code)
    exponent = _STRIPE_EXPONENT.get(code, places)
    scaled = amount.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise ProviderError(
            f"{amount} {code} is not a whole number of the currency's minor unit (10^-{places}); "
            "Stripe would have to round it",
            transient=False,
        )
    minor = int(scaled)
    step = _WHOLE_UNITS_ONLY.get(code) or (_THREE_DECIMAL_STEP if places == 3 else 1)
    if minor % step:
        rule = "whole units only" if code in _WHOLE_UNITS_ONLY else "a last decimal digit of 0"
        raise ProviderError(f"Stripe accepts {code} amounts with {rule}; {amount} {code} is refused", transient=False)
    return minor


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


def _timeout(account: ProviderAccount) -> float:
    raw = account.options.get("timeout")
    if raw is None:
        return DEFAULT_TIMEOUT_SECONDS
    try:
        seconds = float(raw)
    except ValueError:
        raise ProviderError(f"the Stripe timeout option '{raw}' is not a number of seconds", transient=False) from None
    if not seconds > 0:
        raise ProviderError(f"the Stripe timeout option '{raw}' must be positive", transient=False)
    return seconds


def _call(
    account: ProviderAccount,
    method: str,
    path: str,
    *,
    data: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """One request to Stripe; the parsed JSON object of a 2xx, or the ProviderError for anything else."""
    seconds = _timeout(account)
    headers = {
        "Authorization": f"Bearer {account.secret}",
        "Stripe-Version": account.options.get("api_version", DEFAULT_API_VERSION),
        "Accept": "application/json",
    }
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    timeout = httpx.Timeout(connect=seconds, read=seconds, write=seconds, pool=seconds)
    try:
        with httpx.Client(base_url=account.api_base.rstrip("/"), timeout=timeout) as client:
            response = client.request(method, path, data=data, params=params, headers=headers)
    except httpx.TimeoutException:
        raise ProviderError(f"Stripe did not answer within {seconds:g} s", transient=True) from None
    except httpx.TransportError as error:
        # httpx's messages name the URL at most, never the headers.
        raise ProviderError(f"lost the connection to Stripe ({type(error).__name__})", transient=True) from None
    body = _json_object(response)
    if response.is_success:
        if body is None:
            raise ProviderError(f"Stripe answered {response.status_code} with a body that is not JSON", transient=True)
        return body
    raise _error_for(response.status_code, body, account=account, idempotency_key=idempotency_key)


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


# "Try again later": Stripe's server-side error type and its rate-limit and lock codes (plus the
# connection and rate-limit types Stripe's own client libraries use, should a proxy answer with them).
_TRANSIENT_TYPES = frozenset({"api_error", "api_connection_error", "rate_limit_error"})
_TRANSIENT_CODES = frozenset({"lock_timeout", "rate_limit", "idempotency_key_in_use"})


def _error_for(
    status: int, body: dict[str, Any] | None, *, account: ProviderAccount, idempotency_key: str | None
) -> ProviderError:
    """Stripe's documented error object `{"error": {"type", "code", "message", ...}}` as a ProviderError."""
    error = body.get("error") if body else None
    error = error if isinstance(error, dict) else {}
    kind = str(error.get("type") or "")
    code = str(error.get("code") or "")
    message = _without_secret(str(error.get("message") or ""), account.secret)
    said = f": {message}" if message else ""
    tag = f" [{code}]" if code else ""

    if status == 401:
        return ProviderError("Stripe rejected the API key (401); check the brand's Stripe secret key", transient=False)
    still_running = status == 409 and "in-progress" in message.lower().replace("in progress", "in-progress")
    if status == 429 or status >= 500 or kind in _TRANSIENT_TYPES or code in _TRANSIENT_CODES or still_running:
        # A 409 idempotency_key_in_use means the first request with this key is still running:
        # retrying later gets its answer.
        return ProviderError(f"Stripe could not take the request now ({status}){said}", transient=True)
    if kind == "idempotency_error":
        return ProviderError(
            f"Stripe refused: the idempotency key '{idempotency_key}' was already used with different "
            f"parameters (another amount, currency or payment){said}",
            transient=False,
        )
    if status == 403:
        return ProviderError(f"Stripe refused: the API key may not make refunds (403){said}", transient=False)
    if status == 404:
        return ProviderError(f"Stripe does not know the payment (404){tag}{said}", transient=False)
    if status == 409:
        return ProviderError(f"Stripe reported a conflicting request (409){said}", transient=True)
    if 400 <= status < 500:
        return ProviderError(f"Stripe refused the refund ({status}){tag}{said}", transient=False)
    return ProviderError(f"Stripe answered an unexpected {status}{said}", transient=True)


def _without_secret(text: str, secret: str) -> str:
    return text.replace(secret, "[secret]") if secret else text
