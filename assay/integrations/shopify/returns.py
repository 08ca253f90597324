"""Assay's returns recorded in a brand's Shopify store (Shopify's Returns, GraphQL Admin API), so the
shop's admin, analytics and the customer's account show them.

Shopify keeps no key of ours on a return, so a return is recognised by its order and its lines (line
item -> quantity) among the order's returns that are not canceled or declined. `return_open` looks
before it creates, so a retry after a lost answer finds the first return instead of opening a second.

Shopify returns fulfilled items, named by fulfillment line item rather than by order line: each
instruction line is spread over the fulfillment line items of its order line that still have room.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from assay.integrations.shopify.payouts import _MAX_REASON, _Admin, _json, _list, _shopify_id
from assay.resolutions.providers import (
    ProviderAccount,
    ProviderError,
    ShopReturnInstruction,
    ShopReturnLine,
    ShopReturnState,
)

__all__ = ["REASONS", "ShopifyReturns"]

JsonObject = dict[str, Any]

# Assay's reason codes -> Shopify's `ReturnReason` enum. Shopify asks for a note with OTHER, so a
# reason it has no value for goes as OTHER with Assay's wording of it.
REASONS: dict[str, str] = {
    "size_too_small": "SIZE_TOO_SMALL",
    "size_too_large": "SIZE_TOO_LARGE",
    "not_as_described": "NOT_AS_DESCRIBED",
    "damaged": "DEFECTIVE",
    "changed_mind": "UNWANTED",
    "style": "STYLE",
    "other": "OTHER",
}
_OTHER_WORDING = {"arrived_late": "Arrived too late"}
_NOTE_LIMIT = 255  # Shopify's limit on returnReasonNote
# Shopify refuses a query whose calculated cost passes 1,000 points, and nested connections multiply:
# these page sizes keep the order query near 600. A jewellery order is far below all of them.
_FULFILLMENTS = 5
_FULFILLMENT_LINES = 25
_RETURNS = 10
_RETURN_LINES = 10
_LIVE_STATUSES = frozenset({"REQUESTED", "OPEN", "CLOSED"})  # canceled and declined returns hold nothing
_SETTLED_FULFILLMENT = "SUCCESS"
_RETURN_GID = re.compile(r"gid://shopify/Return/(\d{1,19})|(\d{1,19})")

_ORDER_QUERY = f"""
query AssayOrderReturns($id: ID!) {{
  order(id: $id) {{
    id
    fulfillments(first: {_FULFILLMENTS}) {{
      status
      fulfillmentLineItems(first: {_FULFILLMENT_LINES}) {{ nodes {{ id quantity lineItem {{ id }} }} }}
    }}
    returns(first: {_RETURNS}, reverse: true) {{
      pageInfo {{ hasNextPage }}
      nodes {{
        id
        status
        returnLineItems(first: {_RETURN_LINES}) {{
          nodes {{ quantity ... on ReturnLineItem {{ fulfillmentLineItem {{ id lineItem {{ id }} }} }} }}
        }}
      }}
    }}
  }}
}}
"""

_RETURN_CREATE = """
mutation AssayReturnCreate($returnInput: ReturnInput!) {
  returnCreate(returnInput: $returnInput) {
    return { id status }
    userErrors { field message code }
  }
}
"""

_RETURN_CLOSE = """
mutation AssayReturnClose($id: ID!) {
  returnClose(id: $id) {
    return { id status }
    userErrors { field message code }
  }
}
"""

_RETURN_CANCEL = """
mutation AssayReturnCancel($id: ID!) {
  returnCancel(id: $id) {
    return { id status }
    userErrors { field message code }
  }
}
"""

_RETURN_QUERY = """
query AssayReturnStatus($id: ID!) {
  return(id: $id) { id status }
}
"""


class ShopifyReturns:
    """The `ShopReturnProvider` for Shopify stores; `account.secret` is the Admin API access token
    (with the read_returns and write_returns scopes)."""

    name = "shopify"

    def return_find(self, instruction: ShopReturnInstruction, account: ProviderAccount) -> ShopReturnState | None:
        wanted = _wanted(instruction)
        with _GraphQL(account) as shop:
            order = _order(shop, instruction.order_external_id)
        return _matching_return(order, wanted)

    def return_open(self, instruction: ShopReturnInstruction, account: ProviderAccount) -> ShopReturnState:
        wanted = _wanted(instruction)
        with _GraphQL(account) as shop:
            order = _order(shop, instruction.order_external_id)
            found = _matching_return(order, wanted)
            if found is not None:
                return found
            if order.more_returns:
                # Ours could be among the returns not read; opening another could record it twice.
                raise ProviderError(
                    f"Shopify order {order.id} has more than {_RETURNS} returns; Assay cannot tell whether "
                    f"return {instruction.key} is already among them, so it must be recorded by hand",
                    transient=False,
                )
            return_input = {
                "orderId": f"gid://shopify/Order/{order.id}",
                "returnLineItems": _return_line_items(order, instruction, wanted),
                # Deprecated by Shopify, which says it ignores the value; sent while the schema has it.
                "notifyCustomer": instruction.notify_customer,
                "requestedAt": _utc_text(instruction.requested_at),
            }
            what = f"the return {instruction.key} on order {order.id}"
            data = shop.run(_RETURN_CREATE, {"returnInput": return_input}, what=what)
            result = _mutation_result(data, "returnCreate", what=what)
            if result.errors:
                raise _refused(result.errors, what=what)
            return _state(result.returned, what=what)

    def return_close(self, reference: str, account: ProviderAccount) -> ShopReturnState:
        return _settle(reference, account, mutation=_RETURN_CLOSE, field="returnClose", to="CLOSED", verb="closing")

    def return_cancel(self, reference: str, account: ProviderAccount) -> ShopReturnState:
        return _settle(
            reference, account, mutation=_RETURN_CANCEL, field="returnCancel", to="CANCELED", verb="canceling"
        )


# -- The order as Shopify knows it -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _FulfilledLine:
    fulfillment_line_item_id: str  # Shopify's gid
    line_item_id: int
    quantity: int


@dataclass(frozen=True, slots=True)
class _ShopReturn:
    id: str
    status: str  # Shopify's enum value, e.g. OPEN
    lines: Counter[int]  # line item id -> quantity
    held: Counter[str]  # fulfillment line item gid -> quantity


@dataclass(frozen=True, slots=True)
class _Order:
    id: int
    fulfilled: tuple[_FulfilledLine, ...]
    returns: tuple[_ShopReturn, ...]
    more_returns: bool


def _order(shop: _GraphQL, order_external_id: str) -> _Order:
    order_id = _shopify_id(order_external_id, kind="order")
    what = f"the order {order_id}"
    data = shop.run(_ORDER_QUERY, {"id": f"gid://shopify/Order/{order_id}"}, what=what)
    order = data.get("order")
    if order is None:
        raise ProviderError(f"Shopify does not know order {order_id}", transient=False)
    if not isinstance(order, dict):
        raise ProviderError(f"Shopify's answer to {what} has no order", transient=True)
    fulfilled = tuple(
        _FulfilledLine(
            fulfillment_line_item_id=str(node.get("id") or ""),
            line_item_id=_gid_number(_dict(node.get("lineItem")).get("id")),
            quantity=_count(node.get("quantity")),
        )
        for fulfillment in _list(order.get("fulfillments"))
        # A cancelled or failed fulfillment delivered nothing that could come back.
        if fulfillment.get("status", _SETTLED_FULFILLMENT) == _SETTLED_FULFILLMENT
        for node in _nodes(fulfillment.get("fulfillmentLineItems"))
        if node.get("id")
    )
    connection = _dict(order.get("returns"))
    page_info = _dict(connection.get("pageInfo"))
    returns = tuple(_shop_return(node) for node in _nodes(connection) if node.get("id"))
    return _Order(id=order_id, fulfilled=fulfilled, returns=returns, more_returns=bool(page_info.get("hasNextPage")))


def _shop_return(node: JsonObject) -> _ShopReturn:
    lines: Counter[int] = Counter()
    held: Counter[str] = Counter()
    for item in _nodes(node.get("returnLineItems")):
        fulfillment_line = _dict(item.get("fulfillmentLineItem"))
        quantity = _count(item.get("quantity"))
        lines[_gid_number(_dict(fulfillment_line.get("lineItem")).get("id"))] += quantity
        if fulfillment_line.get("id"):
            held[str(fulfillment_line["id"])] += quantity
    return _ShopReturn(id=str(node["id"]), status=str(node.get("status") or "").upper(), lines=lines, held=held)


def _matching_return(order: _Order, wanted: Counter[int]) -> ShopReturnState | None:
    for shop_return in order.returns:
        if shop_return.status in _LIVE_STATUSES and +shop_return.lines == wanted:
            return ShopReturnState(reference=shop_return.id, status=shop_return.status.lower())
    return None


def _wanted(instruction: ShopReturnInstruction) -> Counter[int]:
    if not instruction.lines:
        raise ProviderError(f"return {instruction.key} has no lines to record in Shopify", transient=False)
    wanted: Counter[int] = Counter()
    for line in instruction.lines:
        if line.quantity <= 0:
            raise ProviderError(
                f"line {line.line_external_id} of return {instruction.key} has quantity {line.quantity}",
                transient=False,
            )
        wanted[_shopify_id(line.line_external_id, kind="line item")] += line.quantity
    return wanted


def _return_line_items(order: _Order, instruction: ShopReturnInstruction, wanted: Counter[int]) -> list[JsonObject]:
    """Spread each line over its fulfillment line items, those with room (fulfilled, not in another
    return) first. What finds no room still goes to Shopify, which says in its own words why not."""
    room: Counter[str] = Counter({f.fulfillment_line_item_id: f.quantity for f in order.fulfilled})
    for shop_return in order.returns:
        if shop_return.status in _LIVE_STATUSES:
            room.subtract(shop_return.held)
    items: list[JsonObject] = []
    for line in instruction.lines:
        line_id = _shopify_id(line.line_external_id, kind="line item")
        candidates = [f for f in order.fulfilled if f.line_item_id == line_id]
        if not candidates:
            raise ProviderError(
                f"line {line_id} of Shopify order {order.id} is not fulfilled, and Shopify returns only "
                "fulfilled items",
                transient=False,
            )
        fulfilled = sum(f.quantity for f in candidates)
        if fulfilled < wanted[line_id]:
            raise ProviderError(
                f"only {fulfilled} of line {line_id} of Shopify order {order.id} are fulfilled; the return "
                f"asks for {wanted[line_id]}",
                transient=False,
            )
        reason, note = _reason(line)
        shares: Counter[str] = Counter()
        left = line.quantity
        for candidate in candidates:
            take = min(left, max(room[candidate.fulfillment_line_item_id], 0))
            if take:
                shares[candidate.fulfillment_line_item_id] += take
                room[candidate.fulfillment_line_item_id] -= take
                left -= take
        if left:
            shares[candidates[0].fulfillment_line_item_id] += left
        items.extend(
            {"fulfillmentLineItemId": item_id, "quantity": quantity, "returnReason": reason, "returnReasonNote": note}
            for item_id, quantity in shares.items()
        )
    return items


def _reason(line: ShopReturnLine) -> tuple[str, str]:
    note = line.note.strip()
    reason = REASONS.get(line.reason)
    if reason is None:
        reason = "OTHER"
        wording = _OTHER_WORDING.get(line.reason, line.reason.replace("_", " ").capitalize())
        note = f"{wording}: {note}" if note else wording
    elif reason == "OTHER" and not note:
        note = "Other"
    return reason, note[:_NOTE_LIMIT]


# -- Close and cancel --------------------------------------------------------------------------------


def _settle(
    reference: str, account: ProviderAccount, *, mutation: str, field: str, to: str, verb: str
) -> ShopReturnState:
    return_id = _return_gid(reference)
    what = f"{verb} return {return_id}"
    with _GraphQL(account) as shop:
        data = shop.run(mutation, {"id": return_id}, what=what)
        result = _mutation_result(data, field, what=what)
        if not result.errors:
            return _state(result.returned, what=what)
        # A return already so (ours, from an attempt whose answer was lost) is what was asked for.
        lookup = f"the status of return {return_id}"
        found = shop.run(_RETURN_QUERY, {"id": return_id}, what=lookup).get("return")
        if found is None:
            raise ProviderError(f"Shopify does not know return {return_id}", transient=False)
        state = _state(found, what=lookup)
        if state.status == to.lower():
            return state
        raise _refused(result.errors, what=f"{what} (it is {state.status})")


def _return_gid(reference: str) -> str:
    match = _RETURN_GID.fullmatch(reference.strip())
    if match is None:
        raise ProviderError(f"'{reference}' is not a Shopify return id", transient=False)
    return f"gid://shopify/Return/{match.group(1) or match.group(2)}"


# -- GraphQL over the Admin API --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _MutationResult:
    returned: object
    errors: list[JsonObject]


class _GraphQL:
    """One brand's GraphQL Admin endpoint: HTTP failures as the REST calls map them (token, 429, 5xx,
    timeouts), and GraphQL's own top-level errors, which come with HTTP 200."""

    def __init__(self, account: ProviderAccount) -> None:
        self._admin = _Admin(account)

    def __enter__(self) -> _GraphQL:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._admin.__exit__(*exc_info)

    def run(self, query: str, variables: JsonObject, *, what: str) -> JsonObject:
        """The answer's `data`; raise `ProviderError` for any top-level error."""
        response = self._admin.call("POST", "graphql.json", what=what, body={"query": query, "variables": variables})
        payload = _json(response, what=what)
        if payload.get("errors"):
            raise _top_level_failure(payload, what=what)
        data = payload.get("data")
        if not isinstance(data, dict):
            # Shopify may have acted; transient, so the retry's lookup finds out.
            raise ProviderError(f"Shopify's answer to {what} has no data", transient=True)
        return data


def _top_level_failure(payload: JsonObject, *, what: str) -> ProviderError:
    errors = payload["errors"]
    entries = _list(errors)
    messages = [str(e.get("message")) for e in entries if e.get("message")] or [str(errors)]
    codes = {str(_dict(e.get("extensions")).get("code") or "") for e in entries}
    if "THROTTLED" in codes:
        return ProviderError(
            f"Shopify is rate limiting this shop (throttled) during {what}{_retry_hint(payload)}", transient=True
        )
    if "INTERNAL_SERVER_ERROR" in codes:
        return ProviderError(f"Shopify failed internally during {what}", transient=True)
    hint = "; the app needs the read_returns and write_returns scopes" if "ACCESS_DENIED" in codes else ""
    return ProviderError(f"Shopify refused {what}: {'; '.join(messages)}{hint}"[:_MAX_REASON], transient=False)


def _retry_hint(payload: JsonObject) -> str:
    """When Shopify's cost report says how long until the bucket holds the query again."""
    extensions = payload.get("extensions")
    cost = extensions.get("cost") if isinstance(extensions, dict) else None
    status = cost.get("throttleStatus") if isinstance(cost, dict) else None
    if not isinstance(cost, dict) or not isinstance(status, dict):
        return ""
    try:
        missing = float(cost["requestedQueryCost"]) - float(status["currentlyAvailable"])
        seconds = missing / float(status["restoreRate"])
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return ""
    return f"; retry after {max(seconds, 0):.1f} s"


def _mutation_result(data: JsonObject, field: str, *, what: str) -> _MutationResult:
    payload = data.get(field)
    if not isinstance(payload, dict):
        raise ProviderError(f"Shopify's answer to {what} has no '{field}'", transient=True)
    return _MutationResult(returned=payload.get("return"), errors=_list(payload.get("userErrors")))


def _refused(errors: list[JsonObject], *, what: str) -> ProviderError:
    messages = "; ".join(str(e.get("message") or e.get("code") or "no detail given") for e in errors)
    return ProviderError(f"Shopify refused {what}: {messages}"[:_MAX_REASON], transient=False)


def _state(value: object, *, what: str) -> ShopReturnState:
    if not isinstance(value, dict) or not value.get("id") or not value.get("status"):
        raise ProviderError(f"Shopify's answer to {what} has no return", transient=True)
    return ShopReturnState(reference=str(value["id"]), status=str(value["status"]).lower())


# -- Small parts -----------------------------------------------------------------------------------


def _dict(value: object) -> JsonObject:
    return value if isinstance(value, dict) else {}


def _nodes(connection: object) -> list[JsonObject]:
    return _list(_dict(connection).get("nodes"))


def _gid_number(value: object) -> int:
    """The number in 'gid://shopify/LineItem/123'; 0 for anything else, which matches no line."""
    match = re.fullmatch(r"gid://shopify/\w+/(\d{1,19})", str(value or ""))
    return int(match.group(1)) if match else 0


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _utc_text(moment: datetime) -> str:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
