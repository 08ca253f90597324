"""A loopback Shopify GraphQL Admin API for the returns tests: orders with their fulfillments, and the
returns made on them, kept in memory.

It reads no GraphQL: it tells the operation by the field the query text asks for (`returnCreate`,
`returnClose`, `returnCancel`, `order(`, `return(`), reads the variables, and answers in the shapes
Shopify documents - `{"data": ...}`, gids, enum values in capitals, `userErrors` with field, message
and code for refused mutations, top-level `errors` for throttling and bad variables, 401 for a bad
token. It refuses what Shopify refuses (more than was fulfilled and not yet in a return, a close or
cancel from the wrong state) and counts what was really created, so a test can tell one return from two.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from assay.integrations.loopback import FakeRequest, FakeResponse, LoopbackFake, Mode
from assay.integrations.shopify.fake_admin import FAKE_ACCESS_TOKEN, INVALID_TOKEN

__all__ = ["FAKE_ACCESS_TOKEN", "RETURN_REASONS", "FakeShopifyGraphQL"]

JsonObject = dict[str, Any]

# Shopify's `ReturnReason` enum (GraphQL Admin 2025-01).
RETURN_REASONS = frozenset(
    {
        "COLOR",
        "DEFECTIVE",
        "NOT_AS_DESCRIBED",
        "OTHER",
        "SIZE_TOO_LARGE",
        "SIZE_TOO_SMALL",
        "STYLE",
        "UNKNOWN",
        "UNWANTED",
        "WRONG_ITEM",
    }
)
NOT_RETURNABLE = "Quantity is not available for return."
_LIVE = frozenset({"REQUESTED", "OPEN", "CLOSED"})  # canceled and declined returns give their items back
_CLOSABLE = frozenset({"OPEN"})
_CANCELABLE = frozenset({"REQUESTED", "OPEN"})  # before any work is done on it


@dataclass
class FakeFulfillmentLine:
    id: int
    line_item_id: int
    quantity: int


@dataclass
class FakeFulfillment:
    id: int
    lines: list[FakeFulfillmentLine]
    status: str = "SUCCESS"


@dataclass
class FakeReturnLine:
    fulfillment_line_item_id: int
    quantity: int
    reason: str
    note: str = ""


@dataclass
class FakeReturn:
    id: int
    order_id: int
    lines: list[FakeReturnLine]
    status: str = "OPEN"
    requested_at: str | None = None

    @property
    def gid(self) -> str:
        return f"gid://shopify/Return/{self.id}"


@dataclass
class FakeGraphQLOrder:
    id: int
    line_items: dict[int, int]  # line item id -> quantity bought
    fulfillments: list[FakeFulfillment] = field(default_factory=list)


class FakeShopifyGraphQL(LoopbackFake):
    """Serve the GraphQL Admin operations the returns adapter uses, for one shop."""

    def __init__(self, *, access_token: str = FAKE_ACCESS_TOKEN) -> None:
        super().__init__()
        self.access_token = access_token
        self._forget()

    def _forget(self) -> None:
        self.orders: dict[int, FakeGraphQLOrder] = {}
        self.returns: dict[int, FakeReturn] = {}
        self.returns_created = 0
        self.returns_closed = 0
        self.returns_canceled = 0
        self._throttled = 0
        # Past 2**32, so an id squeezed into 32 bits anywhere shows up as a wrong id.
        self._ids = itertools.count(9_100_000_000_001)

    # -- What tests set up and read -------------------------------------------------------------

    def reset(self) -> None:
        """Forget every object, request and planned misbehaviour, as a new shop would."""
        with self.lock:
            self.requests.clear()
            self._plans.clear()
            self._forget()

    def add_order(self, order_id: int, lines: Mapping[int, int], *, fulfilled: bool = True) -> FakeGraphQLOrder:
        """An order of `lines` (line item id -> quantity); `fulfilled` ships them all in one fulfillment."""
        with self.lock:
            order = FakeGraphQLOrder(id=order_id, line_items=dict(lines))
            self.orders[order_id] = order
        if fulfilled:
            self.fulfill(order_id, lines)
        return order

    def fulfill(self, order_id: int, lines: Mapping[int, int], *, status: str = "SUCCESS") -> FakeFulfillment:
        """One more fulfillment of the order, shipping `lines` (line item id -> quantity)."""
        with self.lock:
            order = self.orders[order_id]
            fulfillment = FakeFulfillment(
                id=next(self._ids),
                lines=[FakeFulfillmentLine(next(self._ids), line_id, quantity) for line_id, quantity in lines.items()],
                status=status,
            )
            order.fulfillments.append(fulfillment)
            return fulfillment

    def add_return(self, order_id: int, lines: Mapping[int, int], *, status: str = "OPEN") -> FakeReturn:
        """A return made in Shopify's admin, not through the API (not counted in `returns_created`);
        each line comes from the order's first fulfillment line item of that line."""
        with self.lock:
            order = self.orders[order_id]
            return_lines = [
                FakeReturnLine(self._fulfillment_lines_of(order, line_id)[0].id, quantity, "UNKNOWN")
                for line_id, quantity in lines.items()
            ]
            created = FakeReturn(id=next(self._ids), order_id=order_id, lines=return_lines, status=status)
            self.returns[created.id] = created
            return created

    def set_status(self, return_gid: str, status: str) -> None:
        """Move a return as a merchant would in Shopify's admin (decline, close ...)."""
        with self.lock:
            self.returns[_number(return_gid)].status = status

    def throttle(self, *, times: int = 1) -> None:
        """The next `times` requests are refused as Shopify refuses a query the bucket cannot hold."""
        with self.lock:
            self._throttled += times

    def misbehave_later(
        self, mode: Mode, *, after: int, status: int = 500, body: bytes = b"", seconds: float = 0.0
    ) -> None:
        """Answer the next `after` requests normally, then misbehave on the one after them (a zero-second
        `stall_after` is answering normally)."""
        self.misbehave("stall_after", times=after, seconds=0.0)
        self.misbehave(mode, status=status, body=body, seconds=seconds)

    def variables_of(self, operation: str) -> list[JsonObject]:
        """The variables of the requests whose query asks for `operation` (e.g. "returnCreate"), in order."""
        with self.lock:
            bodies = [_body(r) for r in self.requests if r.body]
        return [b.get("variables") or {} for b in bodies if operation in str(b.get("query") or "")]

    def returns_of(self, order_id: int) -> list[FakeReturn]:
        with self.lock:
            return [r for r in self.returns.values() if r.order_id == order_id]

    # -- Serving ----------------------------------------------------------------------------------

    def answer(self, request: FakeRequest) -> FakeResponse:
        with self.lock:
            if request.headers.get("x-shopify-access-token") != self.access_token:
                return _reply(401, {"errors": INVALID_TOKEN})
            parts = request.path.split("/")
            if (
                request.method != "POST"
                or len(parts) != 5
                or parts[1:3] != ["admin", "api"]
                or parts[4] != "graphql.json"
            ):
                return _reply(404, {"errors": "Not Found"})
            if self._throttled:
                self._throttled -= 1
                return _reply(200, _throttled_answer())
            body = _body(request)
            query = str(body.get("query") or "")
            given = body.get("variables")
            variables: JsonObject = given if isinstance(given, dict) else {}
            if "returnCreate(" in query:
                return self._return_create(variables)
            if "returnClose(" in query:
                return self._return_move(variables, "returnClose", allowed=_CLOSABLE, to="CLOSED")
            if "returnCancel(" in query:
                return self._return_move(variables, "returnCancel", allowed=_CANCELABLE, to="CANCELED")
            if "order(" in query:
                return self._order(variables)
            if "return(" in query:
                return self._return(variables)
            return _reply(200, _errors("This fake answers only the operations of returns", code="undefinedField"))

    # -- Operations -------------------------------------------------------------------------------

    def _order(self, variables: JsonObject) -> FakeResponse:
        order = self.orders.get(_number(variables.get("id")))
        if order is None:
            return _reply(200, {"data": {"order": None}})
        # Newest first, as the adapter asks with `reverse: true`.
        returns = sorted((r for r in self.returns.values() if r.order_id == order.id), key=lambda r: -r.id)
        lines_by_id = {line.id: line for f in order.fulfillments for line in f.lines}
        fulfillments = [
            {
                "status": fulfillment.status,
                "fulfillmentLineItems": {"nodes": [_fulfillment_line(line) for line in fulfillment.lines]},
            }
            for fulfillment in order.fulfillments
        ]
        return_nodes = [
            {
                **_return_fields(r),
                "returnLineItems": {
                    "nodes": [
                        {
                            "quantity": line.quantity,
                            "fulfillmentLineItem": _fulfillment_line(lines_by_id[line.fulfillment_line_item_id]),
                        }
                        for line in r.lines
                    ]
                },
            }
            for r in returns
        ]
        order_node = {
            "id": f"gid://shopify/Order/{order.id}",
            "fulfillments": fulfillments,
            "returns": {"pageInfo": {"hasNextPage": False}, "nodes": return_nodes},
        }
        return _reply(200, {"data": {"order": order_node}})

    def _return(self, variables: JsonObject) -> FakeResponse:
        found = self.returns.get(_number(variables.get("id")))
        return _reply(200, {"data": {"return": _return_fields(found) if found else None}})

    def _return_create(self, variables: JsonObject) -> FakeResponse:
        given = variables.get("returnInput")
        if not isinstance(given, dict):
            return _reply(200, _errors("Variable $returnInput of type ReturnInput! was provided invalid value"))
        items = [i for i in given.get("returnLineItems") or [] if isinstance(i, dict)]
        for item in items:
            # Enum values are checked with the variables, before the mutation runs.
            if item.get("returnReason") not in RETURN_REASONS:
                return _reply(200, _errors(f'Expected "{item.get("returnReason")}" to be one of: ReturnReason'))
        order = self.orders.get(_number(given.get("orderId")))
        if order is None:
            return _user_error("returnCreate", ["returnInput", "orderId"], "Order does not exist.", "NOT_FOUND")
        if not items:
            return _user_error("returnCreate", ["returnInput", "returnLineItems"], "Return line items can't be blank.")
        fulfilled = {line.id: line for f in order.fulfillments if f.status == "SUCCESS" for line in f.lines}
        room = {line_id: line.quantity for line_id, line in fulfilled.items()}
        for r in self.returns.values():
            if r.order_id == order.id and r.status in _LIVE:
                for held in r.lines:
                    room[held.fulfillment_line_item_id] = room.get(held.fulfillment_line_item_id, 0) - held.quantity
        lines: list[FakeReturnLine] = []
        for index, item in enumerate(items):
            where = ["returnInput", "returnLineItems", str(index)]
            line_id = _number(item.get("fulfillmentLineItemId"))
            quantity = item.get("quantity")
            note = str(item.get("returnReasonNote") or "")
            if line_id not in fulfilled:
                message = "Fulfillment line item does not exist."
                return _user_error("returnCreate", [*where, "fulfillmentLineItemId"], message, "NOT_FOUND")
            if not isinstance(quantity, int) or quantity <= 0:
                return _user_error("returnCreate", [*where, "quantity"], "Quantity must be greater than 0.")
            if quantity > room[line_id]:
                return _user_error("returnCreate", [*where, "quantity"], NOT_RETURNABLE, "INVALID")
            if len(note) > 255:
                message = "Return reason note is too long (maximum is 255 characters)."
                return _user_error("returnCreate", [*where, "returnReasonNote"], message, "TOO_LONG")
            room[line_id] -= quantity
            lines.append(FakeReturnLine(line_id, quantity, str(item["returnReason"]), note))
        created = FakeReturn(
            id=next(self._ids), order_id=order.id, lines=lines, requested_at=given.get("requestedAt") or _now()
        )
        self.returns[created.id] = created
        self.returns_created += 1
        return _reply(200, {"data": {"returnCreate": {"return": _return_fields(created), "userErrors": []}}})

    def _return_move(self, variables: JsonObject, name: str, *, allowed: frozenset[str], to: str) -> FakeResponse:
        found = self.returns.get(_number(variables.get("id")))
        if found is None:
            return _user_error(name, ["id"], "Return does not exist.", "NOT_FOUND")
        if found.status not in allowed:
            message = f"Return is {found.status.lower()} and cannot be {to.lower()}."
            return _user_error(name, ["id"], message, "INVALID_STATE")
        found.status = to
        if to == "CLOSED":
            self.returns_closed += 1
        else:
            self.returns_canceled += 1
        return _reply(200, {"data": {name: {"return": _return_fields(found), "userErrors": []}}})

    @staticmethod
    def _fulfillment_lines_of(order: FakeGraphQLOrder, line_id: int) -> list[FakeFulfillmentLine]:
        return [line for f in order.fulfillments for line in f.lines if line.line_item_id == line_id]


# -- Shapes ----------------------------------------------------------------------------------------


def _fulfillment_line(line: FakeFulfillmentLine) -> JsonObject:
    return {
        "id": f"gid://shopify/FulfillmentLineItem/{line.id}",
        "quantity": line.quantity,
        "lineItem": {"id": f"gid://shopify/LineItem/{line.line_item_id}"},
    }


def _return_fields(found: FakeReturn) -> JsonObject:
    return {"id": found.gid, "status": found.status}


def _user_error(name: str, where: list[str], message: str, code: str = "INVALID") -> FakeResponse:
    error = {"field": where, "message": message, "code": code}
    return _reply(200, {"data": {name: {"return": None, "userErrors": [error]}}})


def _errors(message: str, *, code: str = "INVALID_VARIABLE") -> JsonObject:
    return {"errors": [{"message": message, "extensions": {"code": code}}]}


def _throttled_answer() -> JsonObject:
    return {
        "errors": [
            {
                "message": "Throttled",
                "extensions": {"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"},
            }
        ],
        "extensions": {
            "cost": {
                "requestedQueryCost": 602,
                "actualQueryCost": None,
                "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 402, "restoreRate": 100.0},
            }
        },
    }


def _reply(status: int, payload: object) -> FakeResponse:
    return FakeResponse(status, json.dumps(payload).encode())


def _body(request: FakeRequest) -> JsonObject:
    try:
        payload = json.loads(request.body)
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def _number(gid: object) -> int:
    """123 from 'gid://shopify/Return/123'; -1 for anything else, which names nothing here."""
    tail = str(gid or "").rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else -1


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
