"""Shopify returns against the loopback GraphQL Admin API: what is sent, what comes back, and that no
retry ever opens a second return - including when Shopify acted and the answer was lost."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from assay.integrations.shopify.fake_graphql import FAKE_ACCESS_TOKEN, NOT_RETURNABLE, FakeShopifyGraphQL
from assay.integrations.shopify.returns import ShopifyReturns
from assay.resolutions.providers import (
    ProviderAccount,
    ProviderError,
    ShopReturnInstruction,
    ShopReturnLine,
    ShopReturnState,
    shop_returns_named,
)

ORDER_ID = 5_820_000_000_101
RING_LINE_ID = 13_400_000_000_201
EARRINGS_LINE_ID = 13_400_000_000_202
PENDANT_LINE_ID = 13_400_000_000_203
TIMEOUT = 0.3


@pytest.fixture(scope="module")
def shop_server() -> Iterator[FakeShopifyGraphQL]:
    fake = FakeShopifyGraphQL()
    yield fake
    fake.close()


@pytest.fixture
def shop(shop_server: FakeShopifyGraphQL) -> FakeShopifyGraphQL:
    """An empty shop for each test, on a server the module shares."""
    shop_server.reset()
    return shop_server


@pytest.fixture
def account(shop: FakeShopifyGraphQL) -> ProviderAccount:
    return ProviderAccount(
        api_base=shop.url, secret=FAKE_ACCESS_TOKEN, options={"api_version": "2025-01", "timeout": str(TIMEOUT)}
    )


@pytest.fixture
def returns() -> ShopifyReturns:
    return ShopifyReturns()


@pytest.fixture
def shipped_order(shop: FakeShopifyGraphQL) -> None:
    """A ring (1) and a pair of earrings (2), shipped together."""
    shop.add_order(ORDER_ID, {RING_LINE_ID: 1, EARRINGS_LINE_ID: 2})


def instruction(**changes: object) -> ShopReturnInstruction:
    made = ShopReturnInstruction(
        key="R-100123",
        order_external_id=str(ORDER_ID),
        lines=(
            ShopReturnLine(str(RING_LINE_ID), 1, "size_too_small", "Won't go over my knuckle."),
            ShopReturnLine(str(EARRINGS_LINE_ID), 2, "damaged"),
        ),
        requested_at=datetime(2025, 3, 4, 9, 30, tzinfo=UTC),
    )
    return dataclasses.replace(made, **changes)  # type: ignore[arg-type]


def fulfillment_line_gid(shop: FakeShopifyGraphQL, line_item_id: int) -> str:
    line = next(li for f in shop.orders[ORDER_ID].fulfillments for li in f.lines if li.line_item_id == line_item_id)
    return f"gid://shopify/FulfillmentLineItem/{line.id}"


# -- Opening --------------------------------------------------------------------------------------


@pytest.mark.usefixtures("shipped_order")
def test_opening_sends_fulfillment_line_items_and_shopify_reasons(shop, account, returns):
    state = returns.return_open(instruction(), account)

    assert state.status == "open"
    assert state.reference.startswith("gid://shopify/Return/")
    [sent] = shop.variables_of("returnCreate")
    assert sent["returnInput"] == {
        "orderId": f"gid://shopify/Order/{ORDER_ID}",
        "returnLineItems": [
            {
                "fulfillmentLineItemId": fulfillment_line_gid(shop, RING_LINE_ID),
                "quantity": 1,
                "returnReason": "SIZE_TOO_SMALL",
                "returnReasonNote": "Won't go over my knuckle.",
            },
            {
                "fulfillmentLineItemId": fulfillment_line_gid(shop, EARRINGS_LINE_ID),
                "quantity": 2,
                "returnReason": "DEFECTIVE",
                "returnReasonNote": "",
            },
        ],
        "notifyCustomer": False,
        "requestedAt": "2025-03-04T09:30:00Z",
    }
    assert shop.returns_created == 1


@pytest.mark.usefixtures("shipped_order")
def test_reasons_shopify_has_no_value_for_go_as_other_with_a_note(shop, account, returns):
    lines = (
        ShopReturnLine(str(RING_LINE_ID), 1, "changed_mind"),
        ShopReturnLine(str(EARRINGS_LINE_ID), 1, "arrived_late"),
        ShopReturnLine(str(EARRINGS_LINE_ID), 1, "style", "x" * 300),
    )

    returns.return_open(instruction(lines=lines), account)

    sent = shop.variables_of("returnCreate")[0]["returnInput"]["returnLineItems"]
    assert [(item["returnReason"], item["returnReasonNote"]) for item in sent] == [
        ("UNWANTED", ""),
        ("OTHER", "Arrived too late"),
        ("STYLE", "x" * 255),  # Shopify's limit on the note
    ]


@pytest.mark.usefixtures("shipped_order")
def test_opening_twice_opens_one_return(shop, account, returns):
    first = returns.return_open(instruction(), account)
    again = returns.return_open(instruction(), account)

    assert again == first
    assert shop.returns_created == 1


@pytest.mark.usefixtures("shipped_order")
def test_a_lost_answer_then_a_retry_finds_the_return_shopify_opened(shop, account, returns):
    shop.misbehave_later("drop_after", after=1)  # the order query answers; the create is done, then dropped

    with pytest.raises(ProviderError) as lost:
        returns.return_open(instruction(), account)
    assert lost.value.transient
    assert shop.returns_created == 1

    found = returns.return_find(instruction(), account)
    again = returns.return_open(instruction(), account)

    assert found is not None
    assert again == found
    assert shop.returns_created == 1


@pytest.mark.usefixtures("shipped_order")
def test_find_answers_none_until_a_return_with_the_same_lines_exists(shop, account, returns):
    assert returns.return_find(instruction(), account) is None

    opened = returns.return_open(instruction(), account)
    ring_only = instruction(lines=instruction().lines[:1])

    assert returns.return_find(instruction(), account) == opened
    assert returns.return_find(ring_only, account) is None


@pytest.mark.usefixtures("shipped_order")
def test_a_declined_return_is_not_ours_and_a_new_one_opens(shop, account, returns):
    declined = shop.add_return(ORDER_ID, {RING_LINE_ID: 1, EARRINGS_LINE_ID: 2}, status="DECLINED")

    state = returns.return_open(instruction(), account)

    assert state.reference != declined.gid
    assert shop.returns_created == 1


def test_a_line_shipped_in_two_fulfillments_is_returned_from_both(shop, account, returns):
    shop.add_order(ORDER_ID, {EARRINGS_LINE_ID: 2}, fulfilled=False)
    first = shop.fulfill(ORDER_ID, {EARRINGS_LINE_ID: 1})
    second = shop.fulfill(ORDER_ID, {EARRINGS_LINE_ID: 1})
    earrings = instruction(lines=(ShopReturnLine(str(EARRINGS_LINE_ID), 2, "style"),))

    returns.return_open(earrings, account)

    sent = shop.variables_of("returnCreate")[0]["returnInput"]["returnLineItems"]
    assert [(item["fulfillmentLineItemId"], item["quantity"]) for item in sent] == [
        (f"gid://shopify/FulfillmentLineItem/{first.lines[0].id}", 1),
        (f"gid://shopify/FulfillmentLineItem/{second.lines[0].id}", 1),
    ]
    assert returns.return_find(earrings, account) is not None


# -- Closing and cancelling -----------------------------------------------------------------------


@pytest.mark.usefixtures("shipped_order")
def test_closing_closes_and_closing_again_is_not_an_error(shop, account, returns):
    opened = returns.return_open(instruction(), account)

    closed = returns.return_close(opened.reference, account)
    again = returns.return_close(opened.reference, account)

    assert closed == ShopReturnState(opened.reference, "closed")
    assert again == closed
    assert shop.returns_closed == 1


@pytest.mark.usefixtures("shipped_order")
def test_cancelling_cancels_and_cancelling_again_is_not_an_error(shop, account, returns):
    opened = returns.return_open(instruction(), account)

    cancelled = returns.return_cancel(opened.reference, account)
    again = returns.return_cancel(opened.reference, account)

    assert cancelled == ShopReturnState(opened.reference, "canceled")
    assert again == cancelled
    assert shop.returns_canceled == 1
    # Cancelled returns hold nothing: the same lines can be returned again.
    assert returns.return_find(instruction(), account) is None


@pytest.mark.usefixtures("shipped_order")
def test_closing_a_cancelled_return_is_refused_with_shopifys_reason(shop, account, returns):
    opened = returns.return_open(instruction(), account)
    returns.return_cancel(opened.reference, account)

    with pytest.raises(ProviderError) as refused:
        returns.return_close(opened.reference, account)

    assert not refused.value.transient
    assert "canceled" in refused.value.reason


def test_closing_a_return_shopify_does_not_know_is_not_retried(shop, account, returns):
    with pytest.raises(ProviderError) as unknown:
        returns.return_close("gid://shopify/Return/404404", account)

    assert not unknown.value.transient
    assert "does not know return gid://shopify/Return/404404" in unknown.value.reason


# -- Refusals and failures ------------------------------------------------------------------------


@pytest.mark.usefixtures("shipped_order")
def test_returning_more_than_is_left_is_refused_with_shopifys_message(shop, account, returns):
    shop.add_return(ORDER_ID, {RING_LINE_ID: 1})  # made in Shopify's admin

    with pytest.raises(ProviderError) as refused:
        returns.return_open(instruction(), account)

    assert not refused.value.transient
    assert NOT_RETURNABLE in refused.value.reason
    assert shop.returns_created == 0


@pytest.mark.usefixtures("shipped_order")
def test_throttling_is_transient(shop, account, returns):
    shop.throttle()

    with pytest.raises(ProviderError) as throttled:
        returns.return_open(instruction(), account)

    assert throttled.value.transient
    assert "rate limiting" in throttled.value.reason
    assert returns.return_open(instruction(), account).status == "open"


@pytest.mark.usefixtures("shipped_order")
@pytest.mark.parametrize("status", [429, 500, 503])
def test_rate_limits_and_server_errors_are_transient(shop, account, returns, status):
    shop.misbehave("fail", status=status, body=b'{"errors": "Internal error"}')

    with pytest.raises(ProviderError) as failed:
        returns.return_find(instruction(), account)

    assert failed.value.transient


@pytest.mark.usefixtures("shipped_order")
def test_a_shop_that_does_not_answer_in_time_is_transient(shop, account, returns):
    shop.misbehave("stall", seconds=TIMEOUT * 3)

    with pytest.raises(ProviderError) as stalled:
        returns.return_find(instruction(), account)

    assert stalled.value.transient
    assert f"within {TIMEOUT:g} s" in stalled.value.reason


@pytest.mark.usefixtures("shipped_order")
def test_a_rejected_token_is_not_retried_and_never_shown(shop, account, returns):
    wrong = dataclasses.replace(account, secret="shpat_wrong_token")

    with pytest.raises(ProviderError) as rejected:
        returns.return_open(instruction(), wrong)

    assert not rejected.value.transient
    assert "rejected the access token" in rejected.value.reason
    assert "shpat_" not in rejected.value.reason
    assert shop.returns_created == 0


def test_an_order_shopify_does_not_know_is_not_retried(shop, account, returns):
    with pytest.raises(ProviderError) as unknown:
        returns.return_open(instruction(), account)

    assert not unknown.value.transient
    assert f"does not know order {ORDER_ID}" in unknown.value.reason


def test_an_unfulfilled_line_is_refused_naming_the_line(shop, account, returns):
    shop.add_order(ORDER_ID, {RING_LINE_ID: 1, PENDANT_LINE_ID: 1}, fulfilled=False)
    shop.fulfill(ORDER_ID, {RING_LINE_ID: 1})
    pendant = ShopReturnLine(str(PENDANT_LINE_ID), 1, "style")

    with pytest.raises(ProviderError) as refused:
        returns.return_open(instruction(lines=(pendant,)), account)

    assert not refused.value.transient
    assert f"line {PENDANT_LINE_ID}" in refused.value.reason
    assert "not fulfilled" in refused.value.reason
    assert shop.returns_created == 0


def test_the_adapter_is_registered_for_shopify():
    assert isinstance(shop_returns_named("shopify"), ShopifyReturns)
