"""Payouts through a brand's Shopify store (Admin REST API): refunds to the original payment, gift
cards, and single-use coupon codes.

Shopify's REST API takes no idempotency key, so each payout leaves its key where Shopify keeps it,
and `lookup` finds it there again:
- a refund carries `[assay:<key>]` in its note, found among the order's refunds;
- a gift card carries the same marker in its note and is created with the payout's code, which
  Shopify refuses to issue twice; after creation Shopify shows only the code's last characters;
- a coupon is a price rule titled with the payout's code and that one discount code, which Shopify
  keeps unique in the shop.
`submit` looks before it creates (or, for gift cards, when Shopify says the code is taken), so a
retry after a lost answer finds the first payout instead of paying again.
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import httpx

from assay.core.money import money_string
from assay.resolutions.providers import (
    OutcomeStatus,
    PayoutInstruction,
    ProviderAccount,
    ProviderError,
    ProviderOutcome,
)

__all__ = ["DEFAULT_API_VERSION", "DEFAULT_TIMEOUT_SECONDS", "ShopifyPayouts", "key_marker"]

DEFAULT_API_VERSION = "2025-01"
DEFAULT_TIMEOUT_SECONDS = 10.0
# Shopify's largest page. One order's refunds, or the gift cards sharing a code's last four
# characters, never come near it, so lookups read one page.
_PAGE_LIMIT = 250
_MAX_REASON = 500
_SHOPIFY_ID = re.compile(r"(?:gid://shopify/\w+/)?(\d{1,19})")
_API_VERSION = re.compile(r"\d{4}-\d{2}|unstable")

JsonObject = dict[str, Any]


def key_marker(key: str) -> str:
    """What a payout leaves in the note Shopify keeps, so `lookup` can recognise it."""
    return f"[assay:{key}]"


class ShopifyPayouts:
    """The `PayoutProvider` for Shopify stores; `account.secret` is the Admin API access token."""

    name = "shopify"
    kinds = frozenset({"refund", "gift_card", "coupon"})

    def submit(self, instruction: PayoutInstruction, account: ProviderAccount) -> ProviderOutcome:
        _check_kind(instruction)
        if instruction.amount <= 0:
            raise ProviderError(f"a payout must be for more than 0 (asked {instruction.amount})", transient=False)
        with _Admin(account) as admin:
            if instruction.kind == "refund":
                return _refund_submit(admin, instruction)
            if instruction.kind == "gift_card":
                return _gift_card_submit(admin, instruction)
            return _coupon_submit(admin, instruction)

    def lookup(self, instruction: PayoutInstruction, account: ProviderAccount) -> ProviderOutcome | None:
        _check_kind(instruction)
        with _Admin(account) as admin:
            if instruction.kind == "refund":
                return _refund_lookup(admin, instruction)
            if instruction.kind == "gift_card":
                return _gift_card_lookup(admin, instruction)
            return _coupon_lookup(admin, instruction)


# -- Refunds ---------------------------------------------------------------------------------------


def _refund_submit(admin: _Admin, instruction: PayoutInstruction) -> ProviderOutcome:
    already = _refund_lookup(admin, instruction)
    if already is not None:
        return already
    order_id = _shopify_id(instruction.order_external_id, kind="order")
    payment = _payment_to_refund(admin, instruction, order_id)
    body = {
        "refund": {
            "currency": instruction.currency.upper(),
            "notify": True,
            "note": _note(instruction),
            "refund_line_items": [
                {
                    "line_item_id": _shopify_id(line.line_external_id, kind="line item"),
                    "quantity": line.quantity,
                    # Returned pieces go through Assay's inspection before they are sellable again.
                    "restock_type": "no_restock",
                }
                for line in instruction.lines
            ],
            "transactions": [
                {
                    "parent_id": payment["id"],
                    "amount": money_string(instruction.amount, instruction.currency),
                    "kind": "refund",
                    "gateway": payment.get("gateway"),
                }
            ],
        }
    }
    what = f"the refund for order {order_id}"
    response = admin.call("POST", f"orders/{order_id}/refunds.json", what=what, body=body, accept={404})
    if response.status_code == 404:
        raise _unknown_order(order_id)
    return _refund_outcome(_object(_json(response, what=what), "refund", what=what))


def _refund_lookup(admin: _Admin, instruction: PayoutInstruction) -> ProviderOutcome | None:
    order_id = _shopify_id(instruction.order_external_id, kind="order")
    what = f"the refunds of order {order_id}"
    response = admin.call(
        "GET", f"orders/{order_id}/refunds.json", what=what, params={"limit": _PAGE_LIMIT}, accept={404}
    )
    if response.status_code == 404:  # an order Shopify does not know was never refunded through it
        return None
    marker = key_marker(instruction.key)
    for refund in _objects(_json(response, what=what), "refunds", what=what):
        if marker in str(refund.get("note") or ""):
            return _refund_outcome(refund)
    return None


def _payment_to_refund(admin: _Admin, instruction: PayoutInstruction, order_id: int) -> JsonObject:
    """The order's successful sale or capture the refund goes back to: the one the instruction names,
    else the first that still covers the amount, else the one with most left (Shopify then says why)."""
    what = f"the payments of order {order_id}"
    response = admin.call("GET", f"orders/{order_id}/transactions.json", what=what, accept={404})
    if response.status_code == 404:
        raise _unknown_order(order_id)
    transactions = _objects(_json(response, what=what), "transactions", what=what)
    payments = [t for t in transactions if t.get("kind") in ("sale", "capture") and t.get("status") == "success"]
    if not payments:
        raise ProviderError(f"Shopify order {order_id} has no successful payment to refund", transient=False)
    refunded: dict[str, Decimal] = {}
    for t in transactions:
        if t.get("kind") == "refund" and t.get("status") in ("success", "pending"):
            parent = str(t.get("parent_id"))
            refunded[parent] = refunded.get(parent, Decimal(0)) + _decimal(t.get("amount"))

    def left(payment: JsonObject) -> Decimal:
        return _decimal(payment.get("amount")) - refunded.get(str(payment.get("id")), Decimal(0))

    named = [p for p in payments if instruction.payment_reference and str(p.get("id")) == instruction.payment_reference]
    covering = [p for p in payments if left(p) >= instruction.amount]
    payment = (named or covering or [max(payments, key=left)])[0]
    currency = str(payment.get("currency") or "").upper()
    if currency and currency != instruction.currency.upper():
        raise ProviderError(
            f"order {order_id} was paid in {currency}; a refund in {instruction.currency.upper()} cannot go back "
            "to that payment",
            transient=False,
        )
    return payment


def _refund_outcome(refund: JsonObject) -> ProviderOutcome:
    reference = _id_text(refund, what="the refund")
    transactions = [t for t in _list(refund.get("transactions")) if t.get("kind", "refund") == "refund"]
    statuses = {str(t.get("status")) for t in transactions}
    if not transactions:
        return ProviderOutcome("failed", reference, "Shopify recorded the refund without a payment transaction")
    if statuses & {"failure", "error"}:
        messages = [str(t["message"]) for t in transactions if t.get("message")]
        detail = "; ".join(messages) or "the payment gateway did not refund"
        return ProviderOutcome("failed", reference, f"Shopify's refund failed: {detail}")
    amount = sum((_decimal(t.get("amount")) for t in transactions), Decimal(0))
    money = f"{amount} {transactions[0].get('currency') or ''}".strip()
    gateway = transactions[0].get("gateway") or "the original payment"
    # Anything but success everywhere (pending, or a status Shopify adds later) is asked again later.
    status: OutcomeStatus = "succeeded" if statuses == {"success"} else "pending"
    verb = "refunded" if status == "succeeded" else "refund pending:"
    return ProviderOutcome(status, reference, f"{verb} {money} through {gateway}")


def _unknown_order(order_id: int) -> ProviderError:
    return ProviderError(f"Shopify does not know order {order_id}", transient=False)


# -- Gift cards ------------------------------------------------------------------------------------


def _gift_card_submit(admin: _Admin, instruction: PayoutInstruction) -> ProviderOutcome:
    code = _code_of(instruction)
    card: JsonObject = {
        "initial_value": money_string(instruction.amount, instruction.currency),
        "code": code,
        "currency": instruction.currency.upper(),
        "note": _note(instruction),
    }
    if instruction.customer_external_id:
        card["customer_id"] = _shopify_id(instruction.customer_external_id, kind="customer")
    what = f"the gift card {_hint(code)}"
    response = admin.call("POST", "gift_cards.json", what=what, body={"gift_card": card}, accept={422})
    if response.status_code == 422:
        if not _code_taken(response):
            raise _failure(response, what=what)
        # Shopify issues a code once: ours from an earlier attempt whose answer was lost, or someone else's.
        already = _gift_card_lookup(admin, instruction)
        if already is not None:
            return already
        raise ProviderError(f"Shopify already has another gift card with the code {_hint(code)}", transient=False)
    created = _object(_json(response, what=what), "gift_card", what=what)
    return _gift_card_outcome(created, code)


def _gift_card_lookup(admin: _Admin, instruction: PayoutInstruction) -> ProviderOutcome | None:
    code = _code_of(instruction)
    last = code[-4:].lower()
    what = f"the search for gift card {_hint(code)}"
    params: dict[str, str | int] = {"query": f"last_characters:{last}", "limit": _PAGE_LIMIT}
    response = admin.call("GET", "gift_cards/search.json", what=what, params=params)
    marker = key_marker(instruction.key)
    for card in _objects(_json(response, what=what), "gift_cards", what=what):
        if str(card.get("last_characters") or "").lower() == last and marker in str(card.get("note") or ""):
            return _gift_card_outcome(card, code)
    return None


def _gift_card_outcome(card: JsonObject, code: str) -> ProviderOutcome:
    # Shopify masks the code after creation; the payout's own code is what the shopper types.
    detail = f"gift card of {card.get('initial_value')} {card.get('currency') or ''}".strip()
    if card.get("disabled_at"):
        detail += f"; disabled in Shopify at {card['disabled_at']}"
    return ProviderOutcome("succeeded", _id_text(card, what="the gift card"), detail, code=code)


# -- Coupons ---------------------------------------------------------------------------------------


def _coupon_submit(admin: _Admin, instruction: PayoutInstruction) -> ProviderOutcome:
    code = _code_of(instruction)
    shop_currency = admin.options.get("shop_currency", "").upper()
    if shop_currency and shop_currency != instruction.currency.upper():
        # A price rule's fixed amount is always in the shop's currency; Shopify takes no other.
        raise ProviderError(
            f"a Shopify coupon is in the shop's currency ({shop_currency}), not {instruction.currency.upper()}",
            transient=False,
        )
    already = _coupon_lookup(admin, instruction)
    if already is not None:
        return already
    customer_id = (
        _shopify_id(instruction.customer_external_id, kind="customer") if instruction.customer_external_id else None
    )
    rule: JsonObject = {
        "title": code,  # Shopify asks for the title to be the code, so the admin lists it by code
        "value_type": "fixed_amount",
        "value": f"-{money_string(instruction.amount, instruction.currency)}",
        "customer_selection": "prerequisite" if customer_id else "all",
        "target_type": "line_item",
        "target_selection": "all",
        "allocation_method": "across",
        "usage_limit": 1,
        "once_per_customer": True,
        "starts_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if customer_id:
        rule["prerequisite_customer_ids"] = [customer_id]
    what = f"the price rule for coupon {_hint(code)}"
    response = admin.call("POST", "price_rules.json", what=what, body={"price_rule": rule})
    rule_id = _id_text(_object(_json(response, what=what), "price_rule", what=what), what="the price rule")
    what = f"the coupon {_hint(code)}"
    response = admin.call(
        "POST",
        f"price_rules/{rule_id}/discount_codes.json",
        what=what,
        body={"discount_code": {"code": code}},
        accept={422},
    )
    if response.status_code == 422:
        if not _code_taken(response):
            raise _failure(response, what=what)
        already = _coupon_lookup(admin, instruction)
        if already is not None:
            return already
        raise ProviderError(f"Shopify already has another discount with the code {_hint(code)}", transient=False)
    discount = _object(_json(response, what=what), "discount_code", what=what)
    return _coupon_outcome(discount, code)


def _coupon_lookup(admin: _Admin, instruction: PayoutInstruction) -> ProviderOutcome | None:
    code = _code_of(instruction)
    what = f"the lookup of coupon {_hint(code)}"
    response = admin.call("GET", "discount_codes/lookup.json", what=what, params={"code": code}, accept={303, 404})
    if response.status_code == 404:
        return None
    if response.status_code == 303:
        # Shopify answers with where the code lives. Only its path is followed, on the shop's own
        # address, so the access token never travels to a host named by a response.
        path = urlsplit(response.headers.get("Location", "")).path
        if not path.startswith("/admin/api/"):
            raise ProviderError(f"Shopify pointed {what} at an unexpected address", transient=True)
        response = admin.call("GET", path, what=what, absolute=True, accept={404})
        if response.status_code == 404:
            return None
    discount = _object(_json(response, what=what), "discount_code", what=what)
    if str(discount.get("code") or "").lower() != code.lower():
        return None
    what = f"the price rule of coupon {_hint(code)}"
    rule_id = _shopify_id(str(discount.get("price_rule_id")), kind="price rule")
    response = admin.call("GET", f"price_rules/{rule_id}.json", what=what, accept={404})
    rule = None if response.status_code == 404 else _object(_json(response, what=what), "price_rule", what=what)
    if rule is None or not _is_our_rule(rule, instruction, code):
        raise ProviderError(
            f"Shopify already has a discount with the code {_hint(code)} that is not this payout's coupon",
            transient=False,
        )
    return _coupon_outcome(discount, code)


def _is_our_rule(rule: JsonObject, instruction: PayoutInstruction, code: str) -> bool:
    # A discount code carries no note; the rule titled with the code and worth the amount is ours.
    value = _decimal(rule.get("value"))
    return str(rule.get("title") or "").lower() == code.lower() and value == -instruction.amount


def _coupon_outcome(discount: JsonObject, code: str) -> ProviderOutcome:
    used = discount.get("usage_count") or 0
    detail = f"price rule {discount.get('price_rule_id')}; used {used} time{'s' if used != 1 else ''}"
    return ProviderOutcome("succeeded", _id_text(discount, what="the discount code"), detail, code=code)


# -- The Admin API over HTTP -----------------------------------------------------------------------


class _Admin:
    """One brand's Admin API for the length of one submit or lookup: the version-pinned path, the
    access token in its header, explicit timeouts, and every failure turned into a `ProviderError`."""

    def __init__(self, account: ProviderAccount) -> None:
        version = account.options.get("api_version") or DEFAULT_API_VERSION
        if not _API_VERSION.fullmatch(version):
            raise ProviderError(f"'{version}' is not a Shopify API version (like 2025-01)", transient=False)
        self.options: Mapping[str, str] = account.options
        self.timeout = _timeout_seconds(account.options)
        self._prefix = f"/admin/api/{version}/"
        self._client = httpx.Client(
            base_url=account.api_base.rstrip("/"),
            headers={"X-Shopify-Access-Token": account.secret, "Accept": "application/json"},
            timeout=httpx.Timeout(self.timeout),
            follow_redirects=False,
            verify=_tls_context(),
        )

    def __enter__(self) -> _Admin:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._client.close()

    def call(
        self,
        method: str,
        path: str,
        *,
        what: str,
        params: Mapping[str, str | int] | None = None,
        body: JsonObject | None = None,
        absolute: bool = False,
        accept: set[int] | frozenset[int] = frozenset(),
    ) -> httpx.Response:
        """Answer a 2xx or a status in `accept`; raise `ProviderError` for anything else."""
        url = path if absolute else self._prefix + path
        try:
            response = self._client.request(method, url, params=params, json=body)
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise ProviderError("the Shopify shop address is not an http(s) URL", transient=False) from exc
        except httpx.TimeoutException as exc:
            raise ProviderError(f"Shopify did not answer {what} within {self.timeout:g} s", transient=True) from exc
        except httpx.TransportError as exc:
            raise ProviderError(
                f"the connection to Shopify failed during {what} ({type(exc).__name__})", transient=True
            ) from exc
        if response.is_success or response.status_code in accept:
            return response
        raise _failure(response, what=what)


@cache
def _tls_context() -> ssl.SSLContext:
    # Loading the certificate store costs more than a loopback call; one context serves every client.
    return httpx.create_ssl_context()


def _failure(response: httpx.Response, *, what: str) -> ProviderError:
    status = response.status_code
    if status == 429:
        wait = response.headers.get("Retry-After")
        hint = f"; retry after {wait} s" if wait else ""
        return ProviderError(f"Shopify is rate limiting this shop (429) during {what}{hint}", transient=True)
    if status >= 500:
        return ProviderError(f"Shopify answered {status} to {what}", transient=True)
    if status in (401, 403):
        return ProviderError(f"Shopify rejected the access token ({status}) for {what}", transient=False)
    reason = f"Shopify refused {what} ({status}): {_error_messages(response)}"
    return ProviderError(reason[:_MAX_REASON], transient=False)


def _error_messages(response: httpx.Response) -> str:
    """Shopify's `errors`, which is a string, a list, or {field: [messages]}, as one line."""
    try:
        payload = response.json()
    except ValueError:
        payload = None
    errors = payload.get("errors", payload.get("error")) if isinstance(payload, dict) else None
    return "; ".join(_flatten_errors(errors)) or response.reason_phrase or "no detail given"


def _flatten_errors(errors: object, field: str = "base") -> list[str]:
    if isinstance(errors, str):
        return [errors if field == "base" else f"{field} {errors}"]
    if isinstance(errors, list):
        return [message for item in errors for message in _flatten_errors(item, field)]
    if isinstance(errors, dict):
        return [message for name, value in errors.items() for message in _flatten_errors(value, str(name))]
    return []


def _code_taken(response: httpx.Response) -> bool:
    try:
        payload = response.json()
    except ValueError:
        return False
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if not isinstance(errors, dict):
        return False
    messages = " ".join(_flatten_errors(errors.get("code"))).lower()
    return "taken" in messages or "unique" in messages


def _json(response: httpx.Response, *, what: str) -> JsonObject:
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        # Shopify may have acted; transient, so the retry's lookup finds out.
        raise ProviderError(f"Shopify answered {what} with a body that is not a JSON object", transient=True)
    return payload


def _object(payload: JsonObject, name: str, *, what: str) -> JsonObject:
    value = payload.get(name)
    if not isinstance(value, dict):
        raise ProviderError(f"Shopify's answer to {what} has no '{name}'", transient=True)
    return value


def _objects(payload: JsonObject, name: str, *, what: str) -> list[JsonObject]:
    value = payload.get(name)
    if not isinstance(value, list):
        raise ProviderError(f"Shopify's answer to {what} has no '{name}' list", transient=True)
    return _list(value)


def _list(value: object) -> list[JsonObject]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _id_text(obj: JsonObject, *, what: str) -> str:
    value = obj.get("id")
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value):
        raise ProviderError(f"Shopify's answer for {what} has no id", transient=True)
    return str(value)


# -- Small parts -----------------------------------------------------------------------------------


def _check_kind(instruction: PayoutInstruction) -> None:
    if instruction.kind not in ShopifyPayouts.kinds:
        raise ProviderError(
            f"Shopify payouts cannot make a {instruction.kind} (they make refunds, gift cards and coupons)",
            transient=False,
        )


def _shopify_id(value: str, *, kind: str) -> int:
    """Shopify's 64-bit id from '1234' or 'gid://shopify/Order/1234'; also keeps paths clean."""
    match = _SHOPIFY_ID.fullmatch(value.strip())
    if match is None:
        raise ProviderError(f"'{value}' is not a Shopify {kind} id", transient=False)
    return int(match.group(1))


def _code_of(instruction: PayoutInstruction) -> str:
    code = instruction.code.strip()
    if len(code) < 4:
        # The code is how Shopify recognises the payout again; it cannot be left to Shopify to invent.
        raise ProviderError(f"a Shopify {instruction.kind} needs a code of at least 4 characters", transient=False)
    return code


def _hint(code: str) -> str:
    """A code as messages name it: only its last characters, as Shopify shows it to staff."""
    return f"ending {code[-4:]}"


def _note(instruction: PayoutInstruction) -> str:
    return f"{instruction.note.strip()} {key_marker(instruction.key)}".strip()


def _decimal(value: object) -> Decimal:
    try:
        number = Decimal(str(value)) if value is not None else Decimal(0)
    except InvalidOperation:
        return Decimal(0)
    return number if number.is_finite() else Decimal(0)


def _timeout_seconds(options: Mapping[str, str]) -> float:
    raw = options.get("timeout")
    if not raw:
        return DEFAULT_TIMEOUT_SECONDS
    try:
        seconds = float(raw)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise ProviderError(f"the Shopify timeout option '{raw}' is not a number of seconds", transient=False)
    return seconds
