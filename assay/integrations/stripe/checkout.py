"""Payment pages through Stripe Checkout (v1, form-encoded), as Assay's `CheckoutProvider`: the
difference for a dearer exchange (charged at once) and the card hold of an instant exchange
(`capture_method=manual`: authorised now, captured only if the return never comes).

Where the state comes from. Stripe documents a session's `payment_status` as `paid` ("the payment
funds are available in your account") or `unpaid` ("not yet available"); an authorisation that is
not captured is neither clearly, and the docs do not say which a completed manual-capture session
reports. So a completed session is read through its PaymentIntent (expanded, or fetched):
`requires_capture` is a hold, `succeeded` is paid.

Exactly once:
- `checkout_create` sends the instruction's key as `Idempotency-Key`. Stripe replays the first
  answer only to a repeat with the same parameters, and `expires_at` is a moment, so it is taken on
  the minute: a retry within that minute is a plain replay. A later retry gets Stripe's
  `idempotency_error`, so Stripe has seen the key: the session it made is then found by its
  `client_reference_id` among the sessions of the last day (Stripe keeps a key at least 24 hours,
  and a session lives 24 hours at most).
- `hold_release` and `hold_capture` carry their keys too; a hold already let go, or already
  captured, under another key (the dashboard, an earlier run) answers as done, read from the
  PaymentIntent Stripe attaches to its `payment_intent_unexpected_state` error.

The secret goes only into the Authorization header: it is never logged nor put in an error.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from assay.integrations.stripe.client import StripeAPIError, Subject, call, stripe_amount
from assay.resolutions.providers import (
    CheckoutInstruction,
    CheckoutState,
    CheckoutStatus,
    ProviderAccount,
    ProviderError,
)

__all__ = ["CHECKOUT_KEY_METADATA", "StripeCheckout", "expires_at_for"]

CHECKOUT_KEY_METADATA = "assay_key"
_LIST_PAGE_SIZE = 100  # Stripe's largest page

# Stripe lets a session expire 30 minutes to 24 hours after it is created. The lifetime stays a few
# minutes inside that window, so neither the minute rounding nor a skewed clock pushes it out.
_SHORTEST = 30 * 60
_LONGEST = 24 * 60 * 60
_MARGIN = 5 * 60
# Stripe keeps an idempotency key at least 24 hours; a session lives 24 hours at most. Looking an
# hour further back covers clock skew and a create that took long.
_KEY_LOOKBACK = _LONGEST + 60 * 60

_CHECKOUT = Subject(
    asked="the payment page",
    permission="create Checkout Sessions",
    unknown="the Checkout Session",
    changed="another amount, currency, description, e-mail, page address or lifetime",
)
_RELEASE = Subject(
    asked="the release of the hold",
    permission="cancel PaymentIntents",
    unknown="the held payment",
    changed="another payment",
)
_CAPTURE = Subject(
    asked="the capture of the hold",
    permission="capture PaymentIntents",
    unknown="the held payment",
    changed="another amount or payment",
)

# A completed session, by the state of its PaymentIntent.
_BY_INTENT: dict[str, CheckoutStatus] = {
    "requires_capture": "held",
    "succeeded": "paid",
    # Still moving (a bank redirect, 3-D Secure): keep asking.
    "processing": "open",
    "requires_action": "open",
    "requires_confirmation": "open",
    # The payment failed, or the hold was let go before it was seen: nothing is or will be held
    # through this page.
    "requires_payment_method": "expired",
    "canceled": "expired",
}


def expires_at_for(*, now: float, hours: int) -> int:
    """The session's `expires_at`: `hours` from the start of the current minute, kept inside Stripe's
    window; the same for every retry within a minute, so Stripe replays rather than refuses it."""
    lifetime = min(max(hours * 3600, _SHORTEST + _MARGIN), _LONGEST - _MARGIN)
    return int(now) // 60 * 60 + lifetime


class StripeCheckout:
    """Stripe Checkout Sessions in payment mode, with one line item built from the instruction."""

    name = "stripe"

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock

    def checkout_create(self, instruction: CheckoutInstruction, account: ProviderAccount) -> CheckoutState:
        now = self._clock()
        form = _session_form(instruction, now=now)
        try:
            session = call(
                account,
                "POST",
                "/v1/checkout/sessions",
                data=form,
                idempotency_key=instruction.key,
                subject=_CHECKOUT,
            )
        except StripeAPIError as error:
            if error.type != "idempotency_error" or error.status != 400:
                raise
            # An earlier attempt with this key reached Stripe in another minute (another expires_at).
            found = _session_by_key(instruction.key, account, since=int(now) - _KEY_LOOKBACK)
            if found is None or not _same_charge(found, form):
                raise
            session = found
        return _state_of(_session_object(session), account)

    def checkout_state(self, session_id: str, account: ProviderAccount) -> CheckoutState:
        if not session_id.strip():
            raise ProviderError("no Stripe Checkout Session id to ask about", transient=False)
        session = call(
            account,
            "GET",
            f"/v1/checkout/sessions/{quote(session_id.strip(), safe='')}",
            params={"expand[]": "payment_intent"},
            subject=_CHECKOUT,
        )
        return _state_of(_session_object(session), account)

    def hold_release(self, payment_reference: str, account: ProviderAccount, *, key: str) -> None:
        path = f"{_intent_path(payment_reference)}/cancel"
        form = {"cancellation_reason": "requested_by_customer"}
        try:
            intent = call(account, "POST", path, data=form, idempotency_key=key, subject=_RELEASE)
        except StripeAPIError as error:
            # Released already (under another key, in the dashboard, or the authorisation lapsed).
            if _intent_in_error(error, account, payment_reference, subject=_RELEASE).get("status") != "canceled":
                raise
            return
        _intent_object(intent)

    def hold_capture(
        self, payment_reference: str, amount: Decimal, currency: str, account: ProviderAccount, *, key: str
    ) -> str:
        minor = stripe_amount(amount, currency, what="capture")
        path = f"{_intent_path(payment_reference)}/capture"
        intent: Mapping[str, Any]
        try:
            intent = call(
                account, "POST", path, data={"amount_to_capture": str(minor)}, idempotency_key=key, subject=_CAPTURE
            )
        except StripeAPIError as error:
            # Captured already (under another key, or in the dashboard): the charge it made.
            intent = _intent_in_error(error, account, payment_reference, subject=_CAPTURE)
            if intent.get("status") != "succeeded":
                raise
        return _charge_of(_intent_object(intent))


def _session_form(instruction: CheckoutInstruction, *, now: float) -> dict[str, str]:
    if instruction.purpose not in ("difference", "hold"):
        raise ProviderError(
            f"Stripe Checkout takes a difference or a hold, not a {instruction.purpose}", transient=False
        )
    description = instruction.description.strip()
    if not description:
        raise ProviderError("a Stripe payment page needs a description to show the shopper", transient=False)
    what = "hold" if instruction.purpose == "hold" else "payment"
    unit_amount = stripe_amount(instruction.amount, instruction.currency, what=what)
    form = {
        "mode": "payment",
        "line_items[0][price_data][currency]": instruction.currency.strip().lower(),
        "line_items[0][price_data][unit_amount]": str(unit_amount),
        "line_items[0][price_data][product_data][name]": description,
        "line_items[0][quantity]": "1",
        "success_url": instruction.success_url,
        "cancel_url": instruction.cancel_url,
        "client_reference_id": instruction.key,
        f"metadata[{CHECKOUT_KEY_METADATA}]": instruction.key,
        "expires_at": str(expires_at_for(now=now, hours=instruction.expires_in_hours)),
    }
    email = instruction.customer_email.strip()
    if email:  # otherwise the shopper types it on the page
        form["customer_email"] = email
    if instruction.purpose == "hold":
        form["payment_intent_data[capture_method]"] = "manual"
        form[f"payment_intent_data[metadata][{CHECKOUT_KEY_METADATA}]"] = instruction.key
    return form


def _session_by_key(key: str, account: ProviderAccount, *, since: int) -> dict[str, Any] | None:
    """The session created since `since` whose `client_reference_id` is `key`; None if Stripe has none."""
    params = {"created[gte]": str(since), "limit": str(_LIST_PAGE_SIZE)}
    while True:
        page = call(account, "GET", "/v1/checkout/sessions", params=params, subject=_CHECKOUT)
        sessions = page.get("data")
        if page.get("object") != "list" or not isinstance(sessions, list):
            raise ProviderError("Stripe answered the session list without a list object", transient=True)
        for session in sessions:
            if isinstance(session, dict) and session.get("client_reference_id") == key:
                return session
        if not page.get("has_more") or not sessions:
            return None
        params["starting_after"] = str(sessions[-1]["id"])


def _same_charge(session: Mapping[str, Any], form: Mapping[str, str]) -> bool:
    """Whether a session found by key asks for what this instruction asks (a key reused for another
    sum must stay an error, not answer with the other session)."""
    return (
        str(session.get("currency") or "") == form["line_items[0][price_data][currency]"]
        and str(session.get("amount_total")) == form["line_items[0][price_data][unit_amount]"]
    )


def _session_object(body: dict[str, Any]) -> dict[str, Any]:
    if body.get("object") != "checkout.session" or not body.get("id"):
        raise ProviderError("Stripe answered without a Checkout Session object", transient=True)
    return body


def _intent_object(body: Mapping[str, Any]) -> Mapping[str, Any]:
    if body.get("object") != "payment_intent" or not body.get("id"):
        raise ProviderError("Stripe answered without a PaymentIntent object", transient=True)
    return body


def _state_of(session: Mapping[str, Any], account: ProviderAccount) -> CheckoutState:
    session_id = str(session["id"])
    url = str(session.get("url") or "")
    status = str(session.get("status") or "")
    if status == "expired":
        return CheckoutState(session_id=session_id, url=url, status="expired")
    if status != "complete":  # open, or a status newer than this adapter: keep asking
        return CheckoutState(session_id=session_id, url=url, status="open")
    intent = session.get("payment_intent")
    if isinstance(intent, str) and intent:
        intent = call(account, "GET", _intent_path(intent), subject=_CHECKOUT)
    if not isinstance(intent, Mapping):
        # Payment mode always makes an intent; without one only the session's word is left.
        paid = session.get("payment_status") == "paid"
        return CheckoutState(session_id=session_id, url=url, status="paid" if paid else "open")
    intent = _intent_object(intent)
    mapped = _BY_INTENT.get(str(intent.get("status") or ""), "open")
    reference = str(intent["id"]) if mapped != "open" else ""
    return CheckoutState(session_id=session_id, url=url, status=mapped, payment_reference=reference)


def _intent_path(payment_reference: str) -> str:
    reference = payment_reference.strip()
    if not reference.startswith("pi_"):
        raise ProviderError(
            f"'{reference}' is not a Stripe PaymentIntent id (pi_...); a hold is released or captured "
            "through the PaymentIntent its payment page made",
            transient=False,
        )
    return f"/v1/payment_intents/{quote(reference, safe='')}"


def _intent_in_error(
    error: StripeAPIError, account: ProviderAccount, payment_reference: str, *, subject: Subject
) -> Mapping[str, Any]:
    """For a `payment_intent_unexpected_state` refusal, the intent as it stands (Stripe attaches it to
    the error; asked for if not); an empty mapping for any other error."""
    if error.code != "payment_intent_unexpected_state":
        return {}
    attached = error.error.get("payment_intent")
    if isinstance(attached, Mapping) and attached.get("status"):
        return attached
    return call(account, "GET", _intent_path(payment_reference), subject=subject)


def _charge_of(intent: Mapping[str, Any]) -> str:
    """The charge a capture made (`latest_charge`, expanded or not), else the intent's own id."""
    charge = intent.get("latest_charge")
    if isinstance(charge, Mapping):
        charge = charge.get("id")
    if isinstance(charge, str) and charge:
        return charge
    return str(intent["id"])
