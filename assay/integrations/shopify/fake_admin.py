"""A loopback Shopify Admin REST API for the payout tests: orders with their payment transactions,
refunds, gift cards, price rules and discount codes, kept in memory.

It answers in the shapes Shopify documents (ids as 64-bit integers, money as decimal strings,
refusals as 4xx with an `errors` member), checks the access token, refuses what Shopify refuses
(a refund beyond what is left of a payment, a gift card or discount code that already exists),
and counts what was really created, so a test can tell one refund from two.
"""

from __future__ import annotations

import itertools
import json
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from assay.core.money import money_string
from assay.integrations.loopback import FakeRequest, FakeResponse, LoopbackFake, Mode

__all__ = ["FAKE_ACCESS_TOKEN", "FakeOrder", "FakeShopifyAdmin"]

FAKE_ACCESS_TOKEN = "shpat_fake_0123456789abcdef"  # noqa: S105 - the fake shop's token, nothing real
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"  # noqa: S105
THROTTLED = "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."
_GIFT_CARD_CODE = re.compile(r"[A-Za-z0-9]{8,20}")

JsonObject = dict[str, Any]
Route = Callable[[FakeRequest, "re.Match[str]"], FakeResponse]


@dataclass
class FakeOrder:
    id: int
    currency: str
    line_items: dict[int, int]  # line item id -> quantity bought
    transactions: list[JsonObject] = field(default_factory=list)
    refunds: list[JsonObject] = field(default_factory=list)


class FakeShopifyAdmin(LoopbackFake):
    """Serve the Admin REST endpoints the payout adapter uses, for one shop."""

    def __init__(self, *, access_token: str = FAKE_ACCESS_TOKEN, shop_currency: str = "USD") -> None:
        super().__init__()
        self.access_token = access_token
        self.shop_currency = shop_currency
        self._forget()
        self._routes: list[tuple[str, re.Pattern[str], Route]] = [
            ("GET", re.compile(r"orders/(\d+)/transactions\.json"), self._transactions),
            ("GET", re.compile(r"orders/(\d+)/refunds\.json"), self._refunds),
            ("POST", re.compile(r"orders/(\d+)/refunds\.json"), self._refund_create),
            ("POST", re.compile(r"gift_cards\.json"), self._gift_card_create),
            ("GET", re.compile(r"gift_cards/search\.json"), self._gift_card_search),
            ("GET", re.compile(r"gift_cards/(\d+)\.json"), self._gift_card),
            ("POST", re.compile(r"price_rules\.json"), self._price_rule_create),
            ("GET", re.compile(r"price_rules/(\d+)\.json"), self._price_rule),
            ("POST", re.compile(r"price_rules/(\d+)/discount_codes\.json"), self._discount_code_create),
            ("GET", re.compile(r"price_rules/(\d+)/discount_codes/(\d+)\.json"), self._discount_code),
            ("GET", re.compile(r"discount_codes/lookup\.json"), self._discount_code_lookup),
        ]

    def _forget(self) -> None:
        self.refund_status = "success"  # what the gateway answers to refunds: success, pending, failure, error
        self.orders: dict[int, FakeOrder] = {}
        self.gift_cards: list[JsonObject] = []
        self.price_rules: dict[int, JsonObject] = {}
        self.discount_codes: list[JsonObject] = []
        self.refunds_created = 0
        self.gift_cards_created = 0
        self.price_rules_created = 0
        self.discount_codes_created = 0
        self._gift_card_codes: dict[int, str] = {}  # Shopify never shows a code again after creation
        self._throttled: list[str] = []
        self._version = "2025-01"  # the API version of the request being answered, for Location headers
        # Past 2**32, so an id squeezed into 32 bits anywhere shows up as a wrong id.
        self._ids = itertools.count(7_305_000_000_001)

    # -- What tests set up and read -------------------------------------------------------------

    def reset(self) -> None:
        """Forget every object, request and planned misbehaviour, as a new shop would.

        Tests share one server and reset it: stopping a server waits out its half-second poll.
        """
        with self.lock:
            self.requests.clear()
            self._plans.clear()
            self._forget()

    def add_order(
        self,
        order_id: int,
        amount: str | Decimal,
        currency: str,
        gateway: str = "shopify_payments",
        *,
        line_items: Mapping[int, int] | None = None,
    ) -> JsonObject:
        """A paid order: one successful sale transaction for `amount`; answers that transaction."""
        with self.lock:
            order = FakeOrder(id=order_id, currency=currency.upper(), line_items=dict(line_items or {}))
            sale = self._transaction(order, kind="sale", amount=Decimal(str(amount)), gateway=gateway, status="success")
            order.transactions.append(sale)
            self.orders[order_id] = order
            return sale

    def issue_gift_card(self, code: str, amount: str, *, note: str = "") -> JsonObject:
        """A gift card the merchant made in Shopify's admin (not counted in `gift_cards_created`)."""
        with self.lock:
            return self._new_gift_card(code=code, value=Decimal(amount), currency=self.shop_currency, note=note)

    def throttle(self, *, times: int = 1, retry_after: str = "2.0") -> None:
        """The next `times` requests are answered 429 with Shopify's Retry-After header."""
        with self.lock:
            self._throttled.extend([retry_after] * times)

    def misbehave_later(
        self, mode: Mode, *, after: int, status: int = 500, body: bytes = b"", seconds: float = 0.0
    ) -> None:
        """Answer the next `after` requests normally, then misbehave on the one after them.

        A payout makes several calls (look, read the order, create); this reaches the create. The
        base fake has no "answer normally" plan, and a zero-second `stall_after` is exactly that.
        """
        self.misbehave("stall_after", times=after, seconds=0.0)
        self.misbehave(mode, status=status, body=body, seconds=seconds)

    def posted(self, path_end: str) -> list[JsonObject]:
        """The JSON bodies POSTed to paths ending with `path_end`, in order."""
        with self.lock:
            return [
                json.loads(r.body) for r in self.requests if r.method == "POST" and r.path.endswith(path_end) and r.body
            ]

    # -- Serving ----------------------------------------------------------------------------------

    def answer(self, request: FakeRequest) -> FakeResponse:
        with self.lock:
            if self._throttled:
                retry_after = self._throttled.pop(0)
                return _reply(429, {"errors": THROTTLED}, headers={"Retry-After": retry_after})
            if request.headers.get("x-shopify-access-token") != self.access_token:
                return _reply(401, {"errors": INVALID_TOKEN})
            prefix = re.fullmatch(r"/admin/api/(\d{4}-\d{2}|unstable)/(.+)", request.path)
            if prefix is None:
                return _not_found()
            self._version = prefix.group(1)
            for method, pattern, route in self._routes:
                match = pattern.fullmatch(prefix.group(2))
                if match is not None and method == request.method:
                    return route(request, match)
            return _not_found()

    # -- Orders, transactions, refunds ------------------------------------------------------------

    def _transactions(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        order = self.orders.get(int(match.group(1)))
        if order is None:
            return _not_found()
        return _reply(200, {"transactions": order.transactions})

    def _refunds(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        order = self.orders.get(int(match.group(1)))
        if order is None:
            return _not_found()
        return _reply(200, {"refunds": order.refunds})

    def _refund_create(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        order = self.orders.get(int(match.group(1)))
        if order is None:
            return _not_found()
        refund = _root(request, "refund")
        if refund is None:
            return _missing("refund")
        if refund.get("currency") and str(refund["currency"]).upper() != order.currency:
            return _unprocessable("currency", f"must be the order's currency ({order.currency})")
        refunded_quantities = self._refunded_quantities(order)
        line_items: list[JsonObject] = []
        for line in _objects(refund.get("refund_line_items")):
            line_id, quantity = line.get("line_item_id"), line.get("quantity")
            if line_id not in order.line_items:
                return _unprocessable("refund_line_items", f"line item {line_id} is not on this order")
            left = order.line_items[line_id] - refunded_quantities.get(line_id, 0)
            if not isinstance(quantity, int) or not 0 < quantity <= left:
                return _unprocessable("refund_line_items", f"quantity {quantity} of line item {line_id} exceeds {left}")
            line_items.append(
                {
                    "id": next(self._ids),
                    "line_item_id": line_id,
                    "quantity": quantity,
                    "restock_type": line.get("restock_type", "no_restock"),
                    "location_id": None,
                }
            )
        planned: list[tuple[JsonObject, Decimal]] = []
        for asked in _objects(refund.get("transactions")):
            parent = next((t for t in order.transactions if t["id"] == asked.get("parent_id")), None)
            if parent is None or parent["kind"] not in ("sale", "capture") or parent["status"] != "success":
                return _unprocessable("transactions", f"parent_id {asked.get('parent_id')} is not a payment")
            if asked.get("kind") != "refund":
                return _unprocessable("transactions", "kind must be refund")
            if asked.get("gateway") != parent["gateway"]:
                return _unprocessable("transactions", f"gateway must be {parent['gateway']}")
            amount = _amount(asked.get("amount"))
            refundable = self._refundable(order, parent)
            if amount is None or amount <= 0:
                return _unprocessable("transactions", "amount must be greater than 0")
            if amount > refundable:
                money = money_string(refundable, order.currency)
                return _unprocessable("base", f"Refund amount is greater than the refundable amount of {money}")
            planned.append((parent, amount))
        transactions = [
            self._transaction(
                order,
                kind="refund",
                amount=amount,
                gateway=parent["gateway"],
                status=self.refund_status,
                parent_id=parent["id"],
            )
            for parent, amount in planned
        ]
        now = _now()
        created = {
            "id": next(self._ids),
            "order_id": order.id,
            "created_at": now,
            "processed_at": now,
            "note": refund.get("note"),
            "restock": False,
            "user_id": None,
            "refund_line_items": line_items,
            "transactions": transactions,
            "order_adjustments": [],
        }
        created["admin_graphql_api_id"] = f"gid://shopify/Refund/{created['id']}"
        order.transactions.extend(transactions)
        order.refunds.append(created)
        self.refunds_created += 1
        return _reply(201, {"refund": created})

    def _transaction(
        self, order: FakeOrder, *, kind: str, amount: Decimal, gateway: str, status: str, parent_id: int | None = None
    ) -> JsonObject:
        transaction_id = next(self._ids)
        return {
            "id": transaction_id,
            "order_id": order.id,
            "kind": kind,
            "gateway": gateway,
            "status": status,
            "message": "Transaction declined by the card issuer" if status in ("failure", "error") else None,
            "created_at": _now(),
            "processed_at": _now(),
            "test": False,
            "authorization": None,
            "parent_id": parent_id,
            "amount": money_string(amount, order.currency),
            "currency": order.currency,
            "error_code": "card_declined" if status in ("failure", "error") else None,
            "source_name": "web" if kind == "sale" else "755357713",
            "admin_graphql_api_id": f"gid://shopify/OrderTransaction/{transaction_id}",
        }

    def _refundable(self, order: FakeOrder, parent: JsonObject) -> Decimal:
        refunded = sum(
            (
                Decimal(t["amount"])
                for t in order.transactions
                if t["kind"] == "refund" and t["parent_id"] == parent["id"] and t["status"] in ("success", "pending")
            ),
            Decimal(0),
        )
        return Decimal(parent["amount"]) - refunded

    def _refunded_quantities(self, order: FakeOrder) -> dict[int, int]:
        quantities: dict[int, int] = {}
        for refund in order.refunds:
            for line in refund["refund_line_items"]:
                quantities[line["line_item_id"]] = quantities.get(line["line_item_id"], 0) + line["quantity"]
        return quantities

    # -- Gift cards -------------------------------------------------------------------------------

    def _gift_card_create(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        card = _root(request, "gift_card")
        if card is None:
            return _missing("gift_card")
        value = _amount(card.get("initial_value"))
        if value is None or value <= 0:
            return _unprocessable("initial_value", "must be greater than 0")
        code = str(card.get("code") or "") or secrets.token_hex(8)
        if not _GIFT_CARD_CODE.fullmatch(code):
            return _unprocessable("code", "must be 8 to 20 letters and numbers")
        if any(existing.lower() == code.lower() for existing in self._gift_card_codes.values()):
            return _unprocessable("code", "has already been taken")
        customer_id = card.get("customer_id")
        created = self._new_gift_card(
            code=code,
            value=value,
            currency=str(card.get("currency") or self.shop_currency).upper(),
            note=str(card.get("note") or ""),
            customer_id=customer_id if isinstance(customer_id, int) else None,
        )
        self.gift_cards_created += 1
        return _reply(201, {"gift_card": {**created, "code": code}})  # the only time Shopify shows the code

    def _new_gift_card(
        self, *, code: str, value: Decimal, currency: str, note: str, customer_id: int | None = None
    ) -> JsonObject:
        card_id = next(self._ids)
        now = _now()
        card = {
            "id": card_id,
            "balance": money_string(value, currency),
            "initial_value": money_string(value, currency),
            "currency": currency,
            "created_at": now,
            "updated_at": now,
            "disabled_at": None,
            "expires_on": None,
            "line_item_id": None,
            "order_id": None,
            "api_client_id": None,
            "user_id": None,
            "customer_id": customer_id,
            "note": note or None,
            "template_suffix": None,
            "last_characters": code[-4:].lower(),
            "admin_graphql_api_id": f"gid://shopify/GiftCard/{card_id}",
        }
        self.gift_cards.append(card)
        self._gift_card_codes[card_id] = code
        return card

    def _gift_card_search(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        query = (request.query.get("query") or [""])[0]
        terms = dict(term.split(":", 1) for term in query.split() if ":" in term)
        wanted = terms.get("last_characters", "").lower()
        found = [card for card in self.gift_cards if wanted and card["last_characters"] == wanted]
        return _reply(200, {"gift_cards": found})

    def _gift_card(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        card = next((c for c in self.gift_cards if c["id"] == int(match.group(1))), None)
        return _reply(200, {"gift_card": card}) if card else _not_found()

    # -- Price rules and discount codes -----------------------------------------------------------

    def _price_rule_create(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        rule = _root(request, "price_rule")
        if rule is None:
            return _missing("price_rule")
        required = (
            "title",
            "value_type",
            "value",
            "customer_selection",
            "target_type",
            "target_selection",
            "allocation_method",
            "starts_at",
        )
        for name in required:
            if rule.get(name) in (None, ""):
                return _unprocessable(name, "can't be blank")
        value = _amount(rule.get("value"))
        if value is None or value >= 0:
            return _unprocessable("value", "must be less than 0")
        if rule["customer_selection"] == "prerequisite" and not rule.get("prerequisite_customer_ids"):
            return _unprocessable("prerequisite_customer_ids", "can't be blank when customer_selection is prerequisite")
        rule_id = next(self._ids)
        now = _now()
        created = {
            "id": rule_id,
            "title": rule["title"],
            "value_type": rule["value_type"],
            "value": str(value),
            "customer_selection": rule["customer_selection"],
            "target_type": rule["target_type"],
            "target_selection": rule["target_selection"],
            "allocation_method": rule["allocation_method"],
            "allocation_limit": None,
            "once_per_customer": bool(rule.get("once_per_customer", False)),
            "usage_limit": rule.get("usage_limit"),
            "starts_at": rule["starts_at"],
            "ends_at": rule.get("ends_at"),
            "created_at": now,
            "updated_at": now,
            "entitled_product_ids": [],
            "entitled_variant_ids": [],
            "entitled_collection_ids": [],
            "entitled_country_ids": [],
            "prerequisite_product_ids": [],
            "prerequisite_variant_ids": [],
            "prerequisite_collection_ids": [],
            "customer_segment_prerequisite_ids": [],
            "prerequisite_customer_ids": list(rule.get("prerequisite_customer_ids") or []),
            "prerequisite_subtotal_range": None,
            "prerequisite_quantity_range": None,
            "prerequisite_shipping_price_range": None,
            "prerequisite_to_entitlement_quantity_ratio": {"prerequisite_quantity": None, "entitled_quantity": None},
            "admin_graphql_api_id": f"gid://shopify/PriceRule/{rule_id}",
        }
        self.price_rules[rule_id] = created
        self.price_rules_created += 1
        return _reply(201, {"price_rule": created})

    def _price_rule(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        rule = self.price_rules.get(int(match.group(1)))
        return _reply(200, {"price_rule": rule}) if rule else _not_found()

    def _discount_code_create(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        rule = self.price_rules.get(int(match.group(1)))
        if rule is None:
            return _not_found()
        discount = _root(request, "discount_code")
        if discount is None:
            return _missing("discount_code")
        code = str(discount.get("code") or "")
        if not code:
            return _unprocessable("code", "can't be blank")
        if self._find_code(code) is not None:
            return _unprocessable("code", "must be unique. Please try a different code.")
        now = _now()
        created = {
            "id": next(self._ids),
            "price_rule_id": rule["id"],
            "code": code,
            "usage_count": 0,
            "created_at": now,
            "updated_at": now,
        }
        self.discount_codes.append(created)
        self.discount_codes_created += 1
        return _reply(201, {"discount_code": created})

    def _discount_code(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        rule_id, code_id = int(match.group(1)), int(match.group(2))
        found = next((d for d in self.discount_codes if d["id"] == code_id and d["price_rule_id"] == rule_id), None)
        return _reply(200, {"discount_code": found}) if found else _not_found()

    def _discount_code_lookup(self, request: FakeRequest, match: re.Match[str]) -> FakeResponse:
        found = self._find_code((request.query.get("code") or [""])[0])
        if found is None:
            return _not_found()
        path = f"/admin/api/{self._version}/price_rules/{found['price_rule_id']}/discount_codes/{found['id']}.json"
        location = self.url + path
        # Shopify answers "See Other" with where the code lives, not the code itself.
        return FakeResponse(303, b"", {"Location": location, "Content-Type": "text/html; charset=utf-8"})

    def _find_code(self, code: str) -> JsonObject | None:
        return next((d for d in self.discount_codes if code and d["code"].lower() == code.lower()), None)


def _reply(status: int, payload: object, *, headers: Mapping[str, str] | None = None) -> FakeResponse:
    return FakeResponse(
        status, json.dumps(payload).encode(), {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
    )


def _not_found() -> FakeResponse:
    return _reply(404, {"errors": "Not Found"})


def _missing(root: str) -> FakeResponse:
    return _reply(400, {"errors": {root: "Required parameter missing or invalid"}})


def _unprocessable(name: str, message: str) -> FakeResponse:
    return _reply(422, {"errors": {name: [message]}})


def _root(request: FakeRequest, name: str) -> JsonObject | None:
    try:
        payload = json.loads(request.body or b"null")
    except ValueError:
        return None
    value = payload.get(name) if isinstance(payload, dict) else None
    return value if isinstance(value, dict) else None


def _objects(value: object) -> list[JsonObject]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _amount(value: object) -> Decimal | None:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
