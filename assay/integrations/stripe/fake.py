"""A loopback Stripe for the refunds adapter's tests: PaymentIntents and Refunds kept in memory.

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

`created_count` counts refunds the API really created, so a test can assert "exactly one".
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from assay.integrations.loopback import FakeRequest, FakeResponse, LoopbackFake

__all__ = ["FakeStripe", "PaymentIntent"]

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


@dataclass
class PaymentIntent:
    id: str
    charge_id: str
    amount: int  # minor units
    currency: str  # lowercase, as Stripe answers it
    refund_status: str = "succeeded"  # the status new refunds on this payment get
    failure_reason: str | None = None


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
        self.created_count = 0
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

    def reset(self) -> None:
        """Forget every payment, refund, saved answer, recorded request and planned misbehaviour, so
        one server can serve many tests (closing one costs half a second)."""
        with self.lock:
            self.intents.clear()
            self.refunds.clear()
            self.created_count = 0
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
                return self._create(request)
            if request.path == "/v1/refunds" and request.method == "GET":
                return self._list(request)
            if request.path.startswith("/v1/refunds/") and request.method == "GET":
                return self._retrieve(request.path.removeprefix("/v1/refunds/"))
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

    def _create(self, request: FakeRequest) -> FakeResponse:
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
            form, metadata = _validated_create(params)  # refused here: nothing saved
            try:
                response = _json(200, self._refund_payment(form, metadata))
            except _StripeError as error:
                response = error.response()
            if key is not None:
                self._saved[key] = _Saved(request.method, request.path, params, response)
            return response

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
            key = found["key"]
            if len(key) > 40 or len(value) > 500:
                raise _StripeError(
                    400,
                    "invalid_request_error",
                    "Metadata keys can be at most 40 characters and values at most 500 characters.",
                    param=name,
                )
            metadata[key] = value
        elif _EXPAND_KEY.match(name):
            continue
        elif name in _CREATE_PARAMS:
            form[name] = value
        else:
            raise _StripeError(
                400,
                "invalid_request_error",
                f"Received unknown parameter: {name}",
                code="parameter_unknown",
                param=name,
            )
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


def _cursor(ids: list[str], refund_id: str, param: str) -> int:
    if refund_id not in ids:
        raise _StripeError(
            400, "invalid_request_error", f"No such refund: '{refund_id}'", code="resource_missing", param=param
        )
    return ids.index(refund_id)
