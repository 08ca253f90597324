"""What every Stripe adapter shares: one request to Stripe's v1 API (form-encoded) with its timeouts,
version pin and idempotency key; Stripe's error object mapped to a `ProviderError`; and amounts in
the minor units Stripe expects.

The secret goes only into the Authorization header: it is never logged nor put in an error.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

import httpx

from assay.core.money import minor_units
from assay.resolutions.providers import ProviderAccount, ProviderError

__all__ = [
    "DEFAULT_API_VERSION",
    "DEFAULT_TIMEOUT_SECONDS",
    "REFUND",
    "StripeAPIError",
    "Subject",
    "call",
    "stripe_amount",
]

# Pinned so a change of the account's default version in Stripe's dashboard cannot change the
# shapes the adapters read; a brand may pin another with `options["api_version"]`.
DEFAULT_API_VERSION = "2025-04-30.basil"
DEFAULT_TIMEOUT_SECONDS = 10.0

# Where Stripe's API amounts differ from ISO 4217 (docs.stripe.com/currencies, "special cases"):
# ISK stays two-decimal in the API although only whole krónur may be charged or refunded.
_STRIPE_EXPONENT = {"ISK": 2}
_WHOLE_UNITS_ONLY = {"ISK": 100}
# Three-decimal currencies: Stripe's payment partners need the last digit to be 0.
_THREE_DECIMAL_STEP = 10


def stripe_amount(amount: Decimal, currency: str, *, what: str = "refund") -> int:
    """`amount` (major units) as the integer Stripe expects for `currency`; refuses what does not
    convert exactly, so money is never rounded into a different sum. `what` names the movement
    ("refund", "payment", "capture") in the refusal."""
    code = currency.strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise ProviderError(f"'{currency}' is not an ISO 4217 currency code", transient=False)
    if not amount.is_finite() or amount <= 0:
        raise ProviderError(f"a Stripe {what} needs a positive amount, not {amount} {code}", transient=False)
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


@dataclass(frozen=True, slots=True)
class Subject:
    """How a refusal names what was asked, e.g. "Stripe refused the refund (400)"."""

    asked: str  # "the refund": Stripe refused ...
    permission: str  # "make refunds": the API key may not ...
    unknown: str  # "the payment": Stripe does not know ... (404)
    changed: str  # "another amount, currency or payment": a key reused with ...


REFUND = Subject(
    asked="the refund",
    permission="make refunds",
    unknown="the payment",
    changed="another amount, currency or payment",
)


class StripeAPIError(ProviderError):
    """A ProviderError for an answer Stripe gave, keeping the parts of Stripe's error object an
    adapter decides on (`code`, and e.g. the `payment_intent` Stripe attaches to PaymentIntent
    errors). `reason` never holds the secret."""

    def __init__(self, reason: str, *, transient: bool, status: int, error: Mapping[str, Any]) -> None:
        super().__init__(reason, transient=transient)
        self.status = status
        self.type = str(error.get("type") or "")
        self.code = str(error.get("code") or "")
        self.error = dict(error)


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


def call(
    account: ProviderAccount,
    method: str,
    path: str,
    *,
    data: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
    idempotency_key: str | None = None,
    subject: Subject = REFUND,
) -> dict[str, Any]:
    """One request to Stripe; the parsed JSON object of a 2xx, or the ProviderError for anything else
    (a `StripeAPIError` when Stripe answered)."""
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
        with httpx.Client(base_url=account.api_base.rstrip("/"), timeout=timeout, verify=_tls_context()) as client:
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
    raise _error_for(response.status_code, body, account=account, idempotency_key=idempotency_key, subject=subject)


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
    status: int,
    body: dict[str, Any] | None,
    *,
    account: ProviderAccount,
    idempotency_key: str | None,
    subject: Subject,
) -> StripeAPIError:
    """Stripe's documented error object `{"error": {"type", "code", "message", ...}}` as a ProviderError."""
    error = body.get("error") if body else None
    error = error if isinstance(error, dict) else {}
    kind = str(error.get("type") or "")
    code = str(error.get("code") or "")
    message = _without_secret(str(error.get("message") or ""), account.secret)
    said = f": {message}" if message else ""
    tag = f" [{code}]" if code else ""

    def refusal(reason: str, *, transient: bool) -> StripeAPIError:
        return StripeAPIError(reason, transient=transient, status=status, error=error)

    if status == 401:
        return refusal("Stripe rejected the API key (401); check the brand's Stripe secret key", transient=False)
    still_running = status == 409 and "in-progress" in message.lower().replace("in progress", "in-progress")
    if status == 429 or status >= 500 or kind in _TRANSIENT_TYPES or code in _TRANSIENT_CODES or still_running:
        # A 409 idempotency_key_in_use means the first request with this key is still running:
        # retrying later gets its answer.
        return refusal(f"Stripe could not take the request now ({status}){said}", transient=True)
    if kind == "idempotency_error":
        return refusal(
            f"Stripe refused: the idempotency key '{idempotency_key}' was already used with different "
            f"parameters ({subject.changed}){said}",
            transient=False,
        )
    if status == 403:
        return refusal(f"Stripe refused: the API key may not {subject.permission} (403){said}", transient=False)
    if status == 404:
        return refusal(f"Stripe does not know {subject.unknown} (404){tag}{said}", transient=False)
    if status == 409:
        return refusal(f"Stripe reported a conflicting request (409){said}", transient=True)
    if 400 <= status < 500:
        return refusal(f"Stripe refused {subject.asked} ({status}){tag}{said}", transient=False)
    return refusal(f"Stripe answered an unexpected {status}{said}", transient=True)


def _without_secret(text: str, secret: str) -> str:
    return text.replace(secret, "[secret]") if secret else text


@cache
def _tls_context() -> ssl.SSLContext:
    # Loading the certificate store costs ~50 ms of CPU, far more than a call: one context for all clients.
    return httpx.create_ssl_context()
