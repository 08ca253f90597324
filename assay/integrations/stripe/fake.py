"""A loopback Stripe for the Stripe adapters' tests: PaymentIntents, Refunds and Checkout Sessions
kept in memory.

Follows Stripe's documented v1 behaviour where the adapter depends on it:
- form-encoded bodies, `metadata[...]` keys, unknown parameters refused (`parameter_unknown`);
- `Authorization: Bearer <secret>`, 401 for any other key;
- idempotency: once a request with an `Idempotency-Key` reaches the endpoint, its status and body
  are saved and replayed byte for byte (with `Idempotent-Replayed: true`) to a repeat with the same
  parameters; a repeat with other parameters gets 400 `idempotency_error`. Requests refused while
  the parameters are validated are not saved, as Stripe documents;
- refunds cannot exceed what is left on the payment (`charge_already_refunded`, `amount_too_large`);
- `GET /v1/refunds` lists newest first, filtered by `payment_intent` or `charge`, paged with `limit`
  (1-100, default 10), `starting_after`/`ending_before` and `has_more`.

Checkout (payment mode, one `price_data` line item) and the holds it makes:
- `POST /v1/checkout/sessions` validates the fields Stripe documents (a missing or unknown
  parameter, an `expires_at` outside 30 minutes to 24 hours from creation, a bad capture method
  are 400s); sessions start `open`/`unpaid` with no PaymentIntent (since API version 2022-08-01
  the intent is made when the shopper pays); `GET /v1/checkout/sessions[/{id}]` retrieves (with
  `expand[]=payment_intent`) and lists (newest first, `created[gte|gt|lte|lt]`, paging);
- the shopper is simulated by `complete_session` (a PaymentIntent `succeeded`, or
  `requires_capture` for `payment_intent_data[capture_method]=manual`) and `expire_session`;
  an open session past its `expires_at` reads `expired`;
- `POST /v1/payment_intents/{id}/cancel` and `/capture` follow the PaymentIntent states: only
  `requires_capture` (among the states this fake makes) may be captured or canceled, anything else
  is a 400 `payment_intent_unexpected_state` carrying the intent, as Stripe's errors do; a capture
  above `amount_capturable` is refused; a partial capture releases the rest.
Every POST goes through the same idempotency layer as refunds.

`created_count` counts refunds the API really created, so a test can assert "exactly one";
`sessions_created`, `captures` and `cancellations` count the same for checkout.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from assay.integrations.loopback import FakeRequest, FakeResponse, LoopbackFake

__all__ = ["CheckoutSession", "FakeStripe", "PaymentIntent"]

_CREATE_PARAMS = frozenset(
    {
        "amount",
        "charge",
        "currency",
        "customer",
        "instructions_email",
        "origin",
        "payment_intent",
        "reason",
        "refund_application_fee",
        "reverse_transfer",
    }
)
_LIST_PARAMS = frozenset({"charge", "payment_intent", "limit", "starting_after", "ending_before"})
_REASONS = ("duplicate", "fraudulent", "requested_by_customer")
_METADATA_KEY = re.compile(r"^metadata\[(?P<key>[^\]]*)\]$")
_EXPAND_KEY = re.compile(r"^expand\[\d*\]$")

_Parsed = TypeVar("_Parsed")  # what a POST's validation hands to its action

_LINE = "line_items[0]"
_SESSION_PARAMS = frozenset(
    {
        "cancel_url",
        "client_reference_id",
        "customer_email",
        "expires_at",
        "mode",
        "success_url",
        f"{_LINE}[price_data][currency]",
        f"{_LINE}[price_data][product_data][description]",
        f"{_LINE}[price_data][product_data][name]",
        f"{_LINE}[price_data][unit_amount]",
        f"{_LINE}[quantity]",
        "payment_intent_data[capture_method]",
        "payment_intent_data[description]",
    }
)
_SESSION_LIST_PARAMS = frozenset(
    {"created[gt]", "created[gte]", "created[lt]", "created[lte]", "limit", "starting_after", "ending_before", "status"}
)
_INTENT_METADATA_KEY = re.compile(r"^payment_intent_data\[metadata\]\[(?P<key>[^\]]*)\]$")
_CAPTURE_METHODS = ("automatic", "automatic_async", "manual")
_CANCELLATION_REASONS = ("abandoned", "duplicate", "fraudulent", "requested_by_customer")
# Stripe: the session may expire from 30 minutes to 24 hours after it is created.
_SESSION_LIFETIME = (30 * 60, 24 * 60 * 60)
_SESSION_PATH = re.compile(r"^/v1/checkout/sessions/(?P<id>[^/]+)$")
_INTENT_PATH = re.compile(r"^/v1/payment_intents/(?P<id>[^/]+)(?:/(?P<action>cancel|capture))?$")
_CANCELABLE = ("requires_payment_method", "requires_capture", "requires_confirmation", "requires_action", "processing")


@dataclass
class PaymentIntent:
    id: str
    charge_id: str
    amount: int  # minor units
    currency: str  # lowercase, as Stripe answers it
    refund_status: str = "succeeded"  # the status new refunds on this payment get
    failure_reason: str | None = None
    status: str = "succeeded"
    capture_method: str = "automatic"
    amount_received: int | None = None  # None: the whole amount (a captured payment)
    metadata: dict[str, str] = field(default_factory=dict)
    cancellation_reason: str | None = None
    canceled_at: int | None = None
    created: int = field(default_factory=lambda: int(time.time()))

    def to_json(self) -> dict[str, Any]:
        received = self.amount if self.amount_received is None else self.amount_received
        return {
            "id": self.id,
            "object": "payment_intent",
            "amount": self.amount,
            "amount_capturable": self.amount if self.status == "requires_capture" else 0,
            "amount_received": received if self.status == "succeeded" else 0,
            "canceled_at": self.canceled_at,
            "cancellation_reason": self.cancellation_reason,
            "capture_method": self.capture_method,
            "created": self.created,
            "currency": self.currency,
            "latest_charge": self.charge_id,
            "livemode": False,
            "metadata": dict(self.metadata),
            "status": self.status,
        }


@dataclass
class CheckoutSession:
    """A Checkout Session in payment mode with one `price_data` line item."""

    id: str
    amount: int  # unit_amount x quantity, minor units
    currency: str
    product_name: str
    success_url: str
    cancel_url: str | None
    customer_email: str | None
    client_reference_id: str | None
    metadata: dict[str, str]
    created: int
    expires_at: int
    capture_method: str  # what the PaymentIntent will be made with
    intent_metadata: dict[str, str]
    status: str = "open"
    payment_status: str = "unpaid"
    payment_intent: str | None = None

    def to_json(self, intent: dict[str, Any] | None = None) -> dict[str, Any]:
        """`intent`: the PaymentIntent object when the caller asked to expand it."""
        return {
            "id": self.id,
            "object": "checkout.session",
            "amount_subtotal": self.amount,
            "amount_total": self.amount,
            "cancel_url": self.cancel_url,
            "client_reference_id": self.client_reference_id,
            "created": self.created,
            "currency": self.currency,
            "customer_email": self.customer_email,
            "expires_at": self.expires_at,
            "livemode": False,
            "metadata": dict(self.metadata),
            "mode": "payment",
            "payment_intent": intent if intent is not None else self.payment_intent,
            "payment_status": self.payment_status,
            "status": self.status,
            "success_url": self.success_url,
            "ui_mode": "hosted",
            # Stripe answers the page's address only while the shopper can still use it.
            "url": f"https://checkout.stripe.com/c/pay/{self.id}" if self.status == "open" else None,
        }


@dataclass
class _Saved:
    """The first answer to an idempotency key, and what it was an answer to."""

    method: str
    path: str
    params: tuple[tuple[str, str], ...]
    response: FakeResponse


@dataclass
class _StripeError(Exception):
    status: int
    type: str
    message: str
    code: str | None = None
    param: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def response(self) -> FakeResponse:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            error["param"] = self.param
        error.update(self.extra)
        return _json(self.status, {"error": error})


def _json(status: int, payload: dict[str, Any], **headers: str) -> FakeResponse:
    return FakeResponse(
        status,
        json.dumps(payload).encode(),
        {"Content-Type": "application/json", "Request-Id": f"req_{secrets.token_hex(7)}", **headers},
    )


class FakeStripe(LoopbackFake):
    """Stripe's refunds endpoints on 127.0.0.1, answering only to `secret`."""

    def __init__(self, *, secret: str) -> None:
        self.secret = secret
        self.intents: dict[str, PaymentIntent] = {}
        self.refunds: list[dict[str, Any]] = []  # oldest first
        self.sessions: dict[str, CheckoutSession] = {}  # in creation order
        self.created_count = 0
        self.sessions_created = 0
        self.captures = 0
        self.cancellations = 0
        self._saved: dict[str, _Saved] = {}
        super().__init__()

    # --- set-up for tests -------------------------------------------------------------------------

    def add_payment_intent(
        self,
        id: str,
        amount: int,
        currency: str,
        *,
        refund_status: str = "succeeded",
        failure_reason: str | None = None,
    ) -> PaymentIntent:
        """A captured PaymentIntent of `amount` minor units; its refunds take `refund_status`."""
        intent = PaymentIntent(
            id=id,
            charge_id=f"ch_{secrets.token_hex(12)}",
            amount=amount,
            currency=currency.lower(),
            refund_status=refund_status,
            failure_reason=failure_reason,
        )
        with self.lock:
            self.intents[id] = intent
        return intent

    def add_refund(self, payment_intent: str, amount: int, *, metadata: dict[str, str] | None = None) -> dict[str, Any]:
        """A refund made elsewhere (the dashboard, another system): not counted in `created_count`."""
        with self.lock:
            return self._new_refund(self.intents[payment_intent], amount, "requested_by_customer", metadata or {})

    def set_refund_status(self, refund_id: str, status: str, *, failure_reason: str | None = None) -> None:
        """Move a refund on, as Stripe does later for refunds that were pending."""
        with self.lock:
            refund = next(refund for refund in self.refunds if refund["id"] == refund_id)
            refund["status"] = status
            if failure_reason is not None:
                refund["failure_reason"] = failure_reason

    def complete_session(self, session_id: str, *, hold_payment_status: str = "unpaid") -> PaymentIntent:
        """The shopper pays on the session's page: a PaymentIntent `succeeded` (or `requires_capture`
        when the session asked for manual capture), and the session `complete`, as Stripe makes them.

        `hold_payment_status` is what a completed manual-capture session reports. Stripe documents
        `paid` as "the payment funds are available in your account", which an authorisation is not,
        hence "unpaid"; a test may say "paid" to show the adapter does not depend on it."""
        with self.lock:
            session = self._session(session_id)
            if session.status != "open":
                raise ValueError(f"session {session_id} is {session.status}: the shopper cannot pay on it")
            manual = session.capture_method == "manual"
            intent = PaymentIntent(
                id=f"pi_{secrets.token_hex(12)}",
                charge_id=f"ch_{secrets.token_hex(12)}",  # a manual capture's charge exists, uncaptured
                amount=session.amount,
                currency=session.currency,
                status="requires_capture" if manual else "succeeded",
                capture_method=session.capture_method,
                metadata=dict(session.intent_metadata),
            )
            self.intents[intent.id] = intent
            session.status = "complete"
            session.payment_status = hold_payment_status if manual else "paid"
            session.payment_intent = intent.id
            return intent

    def expire_session(self, session_id: str) -> None:
        """The session's page expires unpaid (its `expires_at` passed, or it was expired in the dashboard)."""
        with self.lock:
            session = self._session(session_id)
            if session.status != "open":
                raise ValueError(f"session {session_id} is {session.status}: only an open session expires")
            session.status = "expired"

    def set_intent_status(self, intent_id: str, status: str) -> None:
        """Move a PaymentIntent elsewhere (the dashboard, or an authorisation that lapsed after 7 days)."""
        with self.lock:
            intent = self.intents[intent_id]
            intent.status = status
            if status == "canceled":
                intent.canceled_at = int(time.time())
                intent.cancellation_reason = intent.cancellation_reason or "automatic"

    def session_for(self, session_id: str) -> CheckoutSession:
        with self.lock:
            return self._session(session_id)

    def reset(self) -> None:
        """Forget every payment, refund, session, saved answer, recorded request and planned
        misbehaviour, so one server can serve many tests (closing one costs half a second)."""
        with self.lock:
            self.intents.clear()
            self.refunds.clear()
            self.sessions.clear()
            self.created_count = 0
            self.sessions_created = 0
            self.captures = 0
            self.cancellations = 0
            self._saved.clear()
            self.requests.clear()
            self._plans.clear()

    def refunds_for(self, payment_intent: str) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(refund) for refund in self.refunds if refund["payment_intent"] == payment_intent]

    # --- the API ----------------------------------------------------------------------------------

    def answer(self, request: FakeRequest) -> FakeResponse:
        try:
            self._authenticate(request)
            if request.path == "/v1/refunds" and request.method == "POST":
                return self._idempotent(request, _validated_create, lambda parsed: self._refund_payment(*parsed))
            if request.path == "/v1/refunds" and request.method == "GET":
                return self._list(request)
            if request.path.startswith("/v1/refunds/") and request.method == "GET":
                return self._retrieve(request.path.removeprefix("/v1/refunds/"))
            if request.path == "/v1/checkout/sessions" and request.method == "POST":
                return self._idempotent(request, _validated_session, self._create_session)
            if request.path == "/v1/checkout/sessions" and request.method == "GET":
                return self._list_sessions(request)
            session_path = _SESSION_PATH.match(request.path)
            if session_path and request.method == "GET":
                return self._retrieve_session(session_path["id"], request)
            intent_path = _INTENT_PATH.match(request.path)
            if intent_path and request.method == "GET" and intent_path["action"] is None:
                return self._retrieve_intent(intent_path["id"])
            if intent_path and request.method == "POST" and intent_path["action"] == "cancel":
                intent_id = intent_path["id"]
                return self._idempotent(request, _validated_cancel, lambda reason: self._cancel(intent_id, reason))
            if intent_path and request.method == "POST" and intent_path["action"] == "capture":
                intent_id = intent_path["id"]
                return self._idempotent(request, _validated_capture, lambda amount: self._capture(intent_id, amount))
            raise _StripeError(
                404, "invalid_request_error", f"Unrecognized request URL ({request.method}: {request.path})."
            )
        except _StripeError as error:
            return error.response()

    def _authenticate(self, request: FakeRequest) -> None:
        header = request.headers.get("authorization", "")
        if not header:
            raise _StripeError(401, "invalid_request_error", "You did not provide an API key.")
        given = header.removeprefix("Bearer ").strip()
        if given != self.secret:
            # Stripe shows only the key's last four characters.
            raise _StripeError(401, "invalid_request_error", f"Invalid API Key provided: {given[:8]}****{given[-4:]}")

    def _idempotent(
        self,
        request: FakeRequest,
        validate: Callable[[tuple[tuple[str, str], ...]], _Parsed],
        act: Callable[[_Parsed], dict[str, Any]],
    ) -> FakeResponse:
        """Stripe's idempotency layer around a POST: `validate` refusals are not saved, the answer of
        `act` (an object or its refusal) is, and replayed to a repeat of the key."""
        params = tuple(sorted(parse_qsl(request.body.decode(), keep_blank_values=True)))
        key = request.headers.get("idempotency-key")
        with self.lock:
            if key is not None and key in self._saved:
                saved = self._saved[key]
                if (saved.method, saved.path, saved.params) != (request.method, request.path, params):
                    raise _StripeError(
                        400,
                        "idempotency_error",
                        "Keys for idempotent requests can only be used with the same parameters they were "
                        f"first used with. Try using a key other than '{key}' if you meant to execute a "
                        "different request.",
                    )
                replay = saved.response
                return FakeResponse(replay.status, replay.body, {**replay.headers, "Idempotent-Replayed": "true"})
            parsed = validate(params)  # refused here: nothing saved
            try:
                response = _json(200, act(parsed))
            except _StripeError as error:
                response = error.response()
            if key is not None:
                self._saved[key] = _Saved(request.method, request.path, params, response)
            return response

    def _session(self, session_id: str) -> CheckoutSession:
        session = self.sessions.get(session_id)
        if session is None:
            raise _StripeError(
                404,
                "invalid_request_error",
                f"No such checkout.session: '{session_id}'",
                code="resource_missing",
                param="session",
            )
        if session.status == "open" and time.time() >= session.expires_at:
            session.status = "expired"
        return session

    def _intent(self, intent_id: str) -> PaymentIntent:
        intent = self.intents.get(intent_id)
        if intent is None:
            raise _StripeError(
                404,
                "invalid_request_error",
                f"No such payment_intent: '{intent_id}'",
                code="resource_missing",
                param="intent",
            )
        return intent

    def _retrieve_intent(self, intent_id: str) -> FakeResponse:
        with self.lock:
            return _json(200, self._intent(intent_id).to_json())

    def _create_session(self, parsed: _SessionForm) -> dict[str, Any]:
        created = int(time.time())
        shortest, longest = _SESSION_LIFETIME
        expires_at = parsed.expires_at if parsed.expires_at is not None else created + longest
        # Stripe checks the window against the moment it creates the session.
        if expires_at - created > longest:
            raise _StripeError(
                400,
                "invalid_request_error",
                "The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.",
                param="expires_at",
            )
        if expires_at - created < shortest:
            raise _StripeError(
                400,
                "invalid_request_error",
                "The `expires_at` timestamp must be at least 30 minutes from Checkout Session creation.",
                param="expires_at",
            )
        session = CheckoutSession(
            id=f"cs_test_{secrets.token_hex(24)}",
            amount=parsed.unit_amount * parsed.quantity,
            currency=parsed.currency,
            product_name=parsed.product_name,
            success_url=parsed.success_url,
            cancel_url=parsed.cancel_url,
            customer_email=parsed.customer_email,
            client_reference_id=parsed.client_reference_id,
            metadata=parsed.metadata,
            created=created,
            expires_at=expires_at,
            capture_method=parsed.capture_method,
            intent_metadata=parsed.intent_metadata,
        )
        self.sessions[session.id] = session
        self.sessions_created += 1
        return session.to_json()

    def _retrieve_session(self, session_id: str, request: FakeRequest) -> FakeResponse:
        expand = _expanded(request.query)
        with self.lock:
            session = self._session(session_id)
            intent = None
            if "payment_intent" in expand and session.payment_intent is not None:
                intent = self.intents[session.payment_intent].to_json()
            return _json(200, session.to_json(intent))

    def _list_sessions(self, request: FakeRequest) -> FakeResponse:
        query = {name: values[-1] for name, values in request.query.items() if not _EXPAND_KEY.match(name)}
        unknown = sorted(set(query) - _SESSION_LIST_PARAMS)
        if unknown:
            raise _StripeError(
                400,
                "invalid_request_error",
                f"Received unknown parameter: {unknown[0]}",
                code="parameter_unknown",
                param=unknown[0],
            )
        bounds = {name: _integer(query[name], name) for name in query if name.startswith("created[")}
        limit = _limit(query.get("limit"))
        with self.lock:
            newest_first = [
                self._session(session.id).to_json()
                for session in sorted(self.sessions.values(), key=lambda each: each.created, reverse=True)
                if _within(session.created, bounds)
            ]
        if "status" in query:
            newest_first = [session for session in newest_first if session["status"] == query["status"]]
        ids = [session["id"] for session in newest_first]
        if "starting_after" in query:
            start = _cursor(ids, query["starting_after"], "starting_after", what="checkout.session") + 1
            page = newest_first[start : start + limit]
            has_more = start + limit < len(newest_first)
        elif "ending_before" in query:
            end = _cursor(ids, query["ending_before"], "ending_before", what="checkout.session")
            page = newest_first[max(0, end - limit) : end]
            has_more = end - limit > 0
        else:
            page = newest_first[:limit]
            has_more = limit < len(newest_first)
        return _json(200, {"object": "list", "url": "/v1/checkout/sessions", "has_more": has_more, "data": page})

    def _cancel(self, intent_id: str, reason: str | None) -> dict[str, Any]:
        intent = self._intent(intent_id)
        if intent.status not in _CANCELABLE:
            raise _unexpected_state(
                intent,
                f"You cannot cancel this PaymentIntent because it has a status of {intent.status}. Only a "
                f"PaymentIntent with one of the following statuses may be canceled: {', '.join(_CANCELABLE)}.",
            )
        intent.status = "canceled"
        intent.canceled_at = int(time.time())
        intent.cancellation_reason = reason
        self.cancellations += 1
        return intent.to_json()

    def _capture(self, intent_id: str, amount: int | None) -> dict[str, Any]:
        intent = self._intent(intent_id)
        if intent.status != "requires_capture":
            raise _unexpected_state(
                intent,
                f"This PaymentIntent could not be captured because it has a status of {intent.status}. Only a "
                "PaymentIntent with one of the following statuses may be captured: requires_capture.",
            )
        capturable = intent.amount
        if amount is not None and amount > capturable:
            raise _StripeError(
                400,
                "invalid_request_error",
                f"The amount_to_capture ({amount}) must be less than or equal to the PaymentIntent's "
                f"amount_capturable ({capturable}).",
                code="amount_too_large",
                param="amount_to_capture",
            )
        intent.status = "succeeded"  # a partial capture releases the rest
        intent.amount_received = capturable if amount is None else amount
        self.captures += 1
        return intent.to_json()

    def _refund_payment(self, form: dict[str, str], metadata: dict[str, str]) -> dict[str, Any]:
        if "payment_intent" in form:
            intent = self.intents.get(form["payment_intent"])
            if intent is None:
                raise _StripeError(
                    404,
                    "invalid_request_error",
                    f"No such payment_intent: '{form['payment_intent']}'",
                    code="resource_missing",
                    param="payment_intent",
                )
        else:
            intent = next((each for each in self.intents.values() if each.charge_id == form["charge"]), None)
            if intent is None:
                raise _StripeError(
                    404,
                    "invalid_request_error",
                    f"No such charge: '{form['charge']}'",
                    code="resource_missing",
                    param="charge",
                )
        if "currency" in form and form["currency"] != intent.currency:
            raise _StripeError(
                400,
                "invalid_request_error",
                f"The refund currency ({form['currency']}) must be the payment's currency ({intent.currency}).",
                param="currency",
            )
        left = intent.amount - sum(
            refund["amount"]
            for refund in self.refunds
            if refund["payment_intent"] == intent.id and refund["status"] not in ("failed", "canceled")
        )
        if left <= 0:
            raise _StripeError(
                400,
                "invalid_request_error",
                f"Charge {intent.charge_id} has already been refunded.",
                code="charge_already_refunded",
            )
        amount = int(form.get("amount", left))
        if amount > left:
            raise _StripeError(
                400,
                "invalid_request_error",
                f"Refund amount ({amount} {intent.currency}) is greater than unrefunded amount on charge "
                f"({left} {intent.currency})",
                code="amount_too_large",
                param="amount",
            )
        refund = self._new_refund(intent, amount, form.get("reason"), metadata)
        self.created_count += 1
        return dict(refund)

    def _new_refund(
        self, intent: PaymentIntent, amount: int, reason: str | None, metadata: dict[str, str]
    ) -> dict[str, Any]:
        refund: dict[str, Any] = {
            "id": f"re_{secrets.token_hex(12)}",
            "object": "refund",
            "amount": amount,
            "balance_transaction": f"txn_{secrets.token_hex(12)}",
            "charge": intent.charge_id,
            "created": int(time.time()),
            "currency": intent.currency,
            "destination_details": None,
            "metadata": dict(metadata),
            "payment_intent": intent.id,
            "reason": reason,
            "receipt_number": None,
            "source_transfer_reversal": None,
            "status": intent.refund_status,
            "transfer_reversal": None,
        }
        if intent.refund_status in ("failed", "canceled"):
            refund["failure_reason"] = intent.failure_reason
        self.refunds.append(refund)
        return refund

    def _list(self, request: FakeRequest) -> FakeResponse:
        query = {name: values[-1] for name, values in request.query.items()}
        unknown = sorted(set(query) - _LIST_PARAMS)
        if unknown:
            raise _StripeError(
                400,
                "invalid_request_error",
                f"Received unknown parameter: {unknown[0]}",
                code="parameter_unknown",
                param=unknown[0],
            )
        limit = _limit(query.get("limit"))
        with self.lock:
            newest_first = [
                dict(refund)
                for refund in reversed(self.refunds)
                if all(refund[name] == query[name] for name in ("payment_intent", "charge") if name in query)
            ]
        ids = [refund["id"] for refund in newest_first]
        if "starting_after" in query:
            start = _cursor(ids, query["starting_after"], "starting_after") + 1
            page = newest_first[start : start + limit]
            has_more = start + limit < len(newest_first)
        elif "ending_before" in query:
            end = _cursor(ids, query["ending_before"], "ending_before")
            page = newest_first[max(0, end - limit) : end]
            has_more = end - limit > 0
        else:
            page = newest_first[:limit]
            has_more = limit < len(newest_first)
        return _json(200, {"object": "list", "url": "/v1/refunds", "has_more": has_more, "data": page})

    def _retrieve(self, refund_id: str) -> FakeResponse:
        with self.lock:
            refund = next((dict(each) for each in self.refunds if each["id"] == refund_id), None)
        if refund is None:
            raise _StripeError(
                404, "invalid_request_error", f"No such refund: '{refund_id}'", code="resource_missing", param="id"
            )
        return _json(200, refund)


def _validated_create(params: tuple[tuple[str, str], ...]) -> tuple[dict[str, str], dict[str, str]]:
    """The create form and its metadata, or the 400 Stripe answers while validating parameters."""
    form: dict[str, str] = {}
    metadata: dict[str, str] = {}
    for name, value in params:
        found = _METADATA_KEY.match(name)
        if found:
            _check_metadata(found["key"], value, name)
            metadata[found["key"]] = value
        elif _EXPAND_KEY.match(name):
            continue
        elif name in _CREATE_PARAMS:
            form[name] = value
        else:
            raise _unknown_parameter(name)
    named = [name for name in ("payment_intent", "charge") if name in form]
    if len(named) != 1:
        raise _StripeError(
            400,
            "invalid_request_error",
            "Exactly one of the following parameters must be provided: payment_intent, charge.",
            code="parameter_missing" if not named else None,
        )
    if "amount" in form and not (form["amount"].isdigit() and int(form["amount"]) > 0):
        raise _StripeError(
            400,
            "invalid_request_error",
            f"Invalid positive integer: {form['amount']}",
            code="parameter_invalid_integer",
            param="amount",
        )
    if "reason" in form and form["reason"] not in _REASONS:
        raise _StripeError(
            400,
            "invalid_request_error",
            f"Invalid reason: must be one of {', '.join(_REASONS)}",
            code="parameter_invalid_empty" if not form["reason"] else None,
            param="reason",
        )
    return form, metadata


def _unknown_parameter(name: str) -> _StripeError:
    return _StripeError(
        400, "invalid_request_error", f"Received unknown parameter: {name}", code="parameter_unknown", param=name
    )


def _limit(raw: str | None) -> int:
    if raw is None:
        return 10
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        raise _StripeError(
            400,
            "invalid_request_error",
            f"Invalid integer: {raw}; limit must be between 1 and 100",
            code="parameter_invalid_integer",
            param="limit",
        )
    return int(raw)


def _cursor(ids: list[str], object_id: str, param: str, *, what: str = "refund") -> int:
    if object_id not in ids:
        raise _StripeError(
            400, "invalid_request_error", f"No such {what}: '{object_id}'", code="resource_missing", param=param
        )
    return ids.index(object_id)


@dataclass(frozen=True)
class _SessionForm:
    unit_amount: int
    quantity: int
    currency: str
    product_name: str
    success_url: str
    cancel_url: str | None
    customer_email: str | None
    client_reference_id: str | None
    expires_at: int | None
    capture_method: str
    metadata: dict[str, str]
    intent_metadata: dict[str, str]


def _validated_session(params: tuple[tuple[str, str], ...]) -> _SessionForm:
    """The session's fields, or the 400 Stripe answers while validating them."""
    form: dict[str, str] = {}
    metadata: dict[str, str] = {}
    intent_metadata: dict[str, str] = {}
    for name, value in params:
        found = _METADATA_KEY.match(name) or _INTENT_METADATA_KEY.match(name)
        if found:
            _check_metadata(found["key"], value, name)
            (metadata if name.startswith("metadata[") else intent_metadata)[found["key"]] = value
        elif _EXPAND_KEY.match(name):
            continue
        elif name in _SESSION_PARAMS:
            form[name] = value
        else:
            raise _unknown_parameter(name)
    mode = _required(form, "mode")
    if mode != "payment":  # the only mode this fake makes
        raise _StripeError(
            400,
            "invalid_request_error",
            f"Invalid mode: must be one of payment, setup, or subscription (this fake makes payment only, not {mode})",
            param="mode",
        )
    if not any(name.startswith(_LINE) for name in form):
        raise _StripeError(
            400,
            "invalid_request_error",
            "You must provide at least one recurring price in `subscription` mode when using prices, or "
            "`line_items` in `payment` mode.",
            code="parameter_missing",
            param="line_items",
        )
    currency = _required(form, f"{_LINE}[price_data][currency]").lower()
    if len(currency) != 3 or not currency.isalpha():
        raise _StripeError(
            400, "invalid_request_error", f"Invalid currency: {currency}", param=f"{_LINE}[price_data][currency]"
        )
    unit_amount = _integer(_required(form, f"{_LINE}[price_data][unit_amount]"), f"{_LINE}[price_data][unit_amount]")
    quantity = _integer(_required(form, f"{_LINE}[quantity]"), f"{_LINE}[quantity]")
    if quantity < 1:
        raise _StripeError(400, "invalid_request_error", "Quantity must be at least 1.", param=f"{_LINE}[quantity]")
    name = _required(form, f"{_LINE}[price_data][product_data][name]")
    success_url = _url(_required(form, "success_url"), "success_url")
    cancel_url = _url(form["cancel_url"], "cancel_url") if "cancel_url" in form else None
    email = form.get("customer_email")
    if email is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        raise _StripeError(
            400,
            "invalid_request_error",
            f"Invalid email address: {email}",
            code="email_invalid",
            param="customer_email",
        )
    reference = form.get("client_reference_id")
    if reference is not None and not 1 <= len(reference) <= 200:
        raise _StripeError(
            400,
            "invalid_request_error",
            "client_reference_id must be between 1 and 200 characters.",
            param="client_reference_id",
        )
    capture_method = form.get("payment_intent_data[capture_method]", "automatic")
    if capture_method not in _CAPTURE_METHODS:
        raise _StripeError(
            400,
            "invalid_request_error",
            f"Invalid payment_intent_data[capture_method]: must be one of {', '.join(_CAPTURE_METHODS)}",
            param="payment_intent_data[capture_method]",
        )
    expires_at = _integer(form["expires_at"], "expires_at") if "expires_at" in form else None
    return _SessionForm(
        unit_amount=unit_amount,
        quantity=quantity,
        currency=currency,
        product_name=name,
        success_url=success_url,
        cancel_url=cancel_url,
        customer_email=email,
        client_reference_id=reference,
        expires_at=expires_at,
        capture_method="manual" if capture_method == "manual" else "automatic",
        metadata=metadata,
        intent_metadata=intent_metadata,
    )


def _validated_cancel(params: tuple[tuple[str, str], ...]) -> str | None:
    form = _only(params, {"cancellation_reason"})
    reason = form.get("cancellation_reason")
    if reason is not None and reason not in _CANCELLATION_REASONS:
        raise _StripeError(
            400,
            "invalid_request_error",
            f"Invalid cancellation_reason: must be one of {', '.join(_CANCELLATION_REASONS)}",
            param="cancellation_reason",
        )
    return reason


def _validated_capture(params: tuple[tuple[str, str], ...]) -> int | None:
    form = _only(params, {"amount_to_capture"})
    if "amount_to_capture" not in form:
        return None
    amount = _integer(form["amount_to_capture"], "amount_to_capture")
    if amount < 1:
        raise _StripeError(
            400,
            "invalid_request_error",
            f"Invalid positive integer: {amount}",
            code="parameter_invalid_integer",
            param="amount_to_capture",
        )
    return amount


def _only(params: tuple[tuple[str, str], ...], allowed: set[str]) -> dict[str, str]:
    form: dict[str, str] = {}
    for name, value in params:
        if _EXPAND_KEY.match(name) or _METADATA_KEY.match(name):
            continue
        if name not in allowed:
            raise _unknown_parameter(name)
        form[name] = value
    return form


def _required(form: dict[str, str], name: str) -> str:
    value = form.get(name, "")
    if not value:
        raise _StripeError(
            400, "invalid_request_error", f"Missing required param: {name}.", code="parameter_missing", param=name
        )
    return value


def _integer(raw: str, name: str) -> int:
    if not raw.lstrip("-").isdigit():
        raise _StripeError(
            400,
            "invalid_request_error",
            f"Invalid integer: {raw}",
            code="parameter_invalid_integer",
            param=name,
        )
    return int(raw)


def _url(raw: str, name: str) -> str:
    if not re.match(r"^https?://[^\s/]+", raw):
        raise _StripeError(400, "invalid_request_error", f"Not a valid URL: {raw}", code="url_invalid", param=name)
    return raw


def _check_metadata(key: str, value: str, name: str) -> None:
    if len(key) > 40 or len(value) > 500:
        raise _StripeError(
            400,
            "invalid_request_error",
            "Metadata keys can be at most 40 characters and values at most 500 characters.",
            param=name,
        )


def _expanded(query: dict[str, list[str]]) -> set[str]:
    return {value for name, values in query.items() if _EXPAND_KEY.match(name) for value in values}


def _within(created: int, bounds: dict[str, int]) -> bool:
    checks = {
        "created[gt]": lambda bound: created > bound,
        "created[gte]": lambda bound: created >= bound,
        "created[lt]": lambda bound: created < bound,
        "created[lte]": lambda bound: created <= bound,
    }
    return all(checks[name](bound) for name, bound in bounds.items())


def _unexpected_state(intent: PaymentIntent, message: str) -> _StripeError:
    # Stripe attaches the PaymentIntent to the errors of its endpoints.
    return _StripeError(
        400,
        "invalid_request_error",
        message,
        code="payment_intent_unexpected_state",
        extra={"payment_intent": intent.to_json()},
    )
