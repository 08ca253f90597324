"""Shopify payouts against the loopback Admin API: what is sent, what comes back, and that no retry
ever pays twice - including when Shopify acted and the answer was lost."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from decimal import Decimal

import pytest

from assay.integrations.shopify.fake_admin import FAKE_ACCESS_TOKEN, FakeShopifyAdmin
from assay.integrations.shopify.payouts import ShopifyPayouts
from assay.resolutions.providers import (
    PayoutInstruction,
    PayoutLine,
    ProviderAccount,
    ProviderError,
    provider_named,
)

ORDER_ID = 5_820_000_000_101
RING_LINE_ID = 13_400_000_000_201
EARRINGS_LINE_ID = 13_400_000_000_202
CUSTOMER_ID = 7_100_000_000_301
TIMEOUT = 0.3


@pytest.fixture(scope="module")
def shop_server() -> Iterator[FakeShopifyAdmin]:
    fake = FakeShopifyAdmin()
    yield fake
    fake.close()


@pytest.fixture
def shop(shop_server: FakeShopifyAdmin) -> FakeShopifyAdmin:
    """An empty shop for each test, on a server the module shares."""
    shop_server.reset()
    return shop_server


@pytest.fixture
def account(shop: FakeShopifyAdmin) -> ProviderAccount:
    return ProviderAccount(
        api_base=shop.url, secret=FAKE_ACCESS_TOKEN, options={"api_version": "2025-01", "timeout": str(TIMEOUT)}
    )


@pytest.fixture
def payouts() -> ShopifyPayouts:
    return ShopifyPayouts()


@pytest.fixture
def paid_order(shop: FakeShopifyAdmin) -> dict:
    """A 300.00 USD order: a ring (1) and a pair of earrings (2), paid with Shopify Payments."""
    return shop.add_order(ORDER_ID, "300.00", "USD", line_items={RING_LINE_ID: 1, EARRINGS_LINE_ID: 2})


def refund(**changes: object) -> PayoutInstruction:
    instruction = PayoutInstruction(
        key="payout-r-1001-1",
        kind="refund",
        amount=Decimal("120.00"),
        currency="USD",
        order_external_id=str(ORDER_ID),
        payment_reference="",
        customer_external_id=str(CUSTOMER_ID),
        customer_email="ada@example.com",
        note="Return R-1001: ring",
        lines=(PayoutLine(line_external_id=str(RING_LINE_ID), quantity=1, amount=Decimal("120.00")),),
    )
    return dataclasses.replace(instruction, **changes)  # type: ignore[arg-type]


def gift_card(**changes: object) -> PayoutInstruction:
    defaults: dict[str, object] = {"key": "payout-g-1002-1", "amount": Decimal("50.00"), "code": "AUR7K2M9Q4XP"}
    return refund(kind="gift_card", lines=(), **{**defaults, **changes})


def coupon(**changes: object) -> PayoutInstruction:
    defaults: dict[str, object] = {"key": "payout-c-1003-1", "amount": Decimal("25.00"), "code": "AURCPN8H3T"}
    return refund(kind="coupon", lines=(), **{**defaults, **changes})


# -- Refunds ---------------------------------------------------------------------------------------


def test_a_refund_goes_back_to_the_payment_with_the_key_in_its_note(
    shop: FakeShopifyAdmin, account: ProviderAccount, payouts: ShopifyPayouts, paid_order: dict
) -> None:
    outcome = payouts.submit(refund(), account)

    assert outcome.status == "succeeded"
    assert outcome.reference == str(shop.orders[ORDER_ID].refunds[0]["id"])
    assert shop.refunds_created == 1
    [posted] = shop.posted(f"/admin/api/2025-01/orders/{ORDER_ID}/refunds.json")
    assert posted == {
        "refund": {
            "currency": "USD",
            "notify": True,
            "note": "Return R-1001: ring [assay:payout-r-1001-1]",
            "refund_line_items": [{"line_item_id": RING_LINE_ID, "quantity": 1, "restock_type": "no_restock"}],
            "transactions": [
                {"parent_id": paid_order["id"], "amount": "120.00", "kind": "refund", "gateway": "shopify_payments"}
            ],
        }
    }
    assert {r.headers["x-shopify-access-token"] for r in shop.requests} == {FAKE_ACCESS_TOKEN}


def test_a_refund_looks_for_an_earlier_one_before_it_creates(
    shop: FakeShopifyAdmin, account: ProviderAccount, payouts: ShopifyPayouts, paid_order: dict
) -> None:
    payouts.submit(refund(), account)

    calls = [(r.method, r.path.removeprefix("/admin/api/2025-01/")) for r in shop.requests]
    assert calls == [
        ("GET", f"orders/{ORDER_ID}/refunds.json"),
        ("GET", f"orders/{ORDER_ID}/transactions.json"),
        ("POST", f"orders/{ORDER_ID}/refunds.json"),
    ]


@pytest.mark.parametrize(
    ("currency", "amount", "sent"),
    [("JPY", Decimal("12000"), "12000"), ("KWD", Decimal("45.5"), "45.500"), ("EUR", Decimal("80.1"), "80.10")],
)
def test_a_refund_amount_is_written_with_its_currency_decimals(
    shop: FakeShopifyAdmin, account: ProviderAccount, payouts: ShopifyPayouts, currency: str, amount: Decimal, sent: str
) -> None:
    shop.add_order(ORDER_ID, "50000", currency)

    payouts.submit(refund(currency=currency, amount=amount, lines=()), account)

    [posted] = shop.posted("refunds.json")
    assert posted["refund"]["transactions"][0]["amount"] == sent
    assert posted["refund"]["currency"] == currency


def test_submitting_twice_with_the_same_key_refunds_once(
    shop: FakeShopifyAdmin, account: ProviderAccount, payouts: ShopifyPayouts, paid_order: dict
) -> None:
    first = payouts.submit(refund(), account)
    again = payouts.submit(refund(), account)

    assert again == first
    assert shop.refunds_created == 1


def test_a_refund_whose_answer_was_lost_is_found_not_repeated(
    shop: FakeShopifyAdmin, account: ProviderAccount, payouts: ShopifyPayouts, paid_order: dict
) -> None:
    shop.misbehave_later("drop_after", after=2)  # Shopify refunds, then the connection drops

    with pytest.raises(ProviderError) as lost:
        payouts.submit(refund(), account)
    assert lost.value.transient
    assert shop.refunds_created == 1

    found = payouts.lookup(refund(), account)
    again = payouts.submit(refund(), account)

    assert found is not None
    assert found.status == "succeeded"
    assert again == found
    assert shop.refunds_created == 1


def test_a_refund_answered_after_the_timeout_is_found_not_repeated(
    shop: FakeShopifyAdmin, account: ProviderAccount, payouts: ShopifyPayouts, paid_order: dict
) -> None:
    shop.misbehave_later("stall_after", after=2, seconds=TIMEOUT * 2)

    with pytest.raises(ProviderError) as late:
        payouts.submit(refund(), account)
    again = payouts.submit(refund(), account)

    assert late.value.transient
    assert again.status == "succeeded"
    assert shop.refunds_created == 1


def test_a_503_is_transient_and_the_retry_refunds_once(
    shop: FakeShopifyAdmin, account: ProviderAccount, payouts: ShopifyPayouts, paid_order: dict
) -> None:
    shop.misbehave_later("fail", after=2, status=503, body=b'{"errors": "Service Unavailable"}')

    with pytest.raises(ProviderError) as failed:
        payouts.submit(refund(), account)
    assert failed.value.transient
    assert "503" in failed.value.reason
    assert shop.refunds_created == 0

    assert payouts.submit(refund(), account).status == "succeeded"
    assert shop.refunds_created == 1


def test_a_stall_past_the_timeout_is_transient(
    shop: FakeShopifyAdmin, account: ProviderAccount, payouts: ShopifyPayouts, paid_order: dict
) -> None:
    shop.misbehave("stall", seconds=TIMEOUT * 2)

    with pytest.raises(ProviderError) as stalled:
        payouts.submit(refund(), account)

    assert stalled.value.transient
    assert f"within {TIMEOUT:g} s" in stalled.value.reason
    assert shop.refunds_created == 0


def test_a_rate_limit_is_transient_and_says_when_to_retry(
    shop: FakeShopifyAdmin, account: ProviderAccount, payouts: ShopifyPayouts, paid_order: dict
) -> None:
    shop.throttle(retry_after="2.0")

    with pytest.raises(ProviderError) as throttled:
        payouts.submit(refund(), account)

    assert throttled.value.transient
    assert "429" in throttled.value.reason
    assert "retry after 2.0 s" in throttled.value.reason


def test_a_rejected_token_goes_to_staff_without_the_token_in_the_reason(
    shop: FakeShopifyAdmin, account: ProviderAccount, payouts: ShopifyPayouts, paid_order: dict
) -> None:
    wrong = dataclasses.replace(account, secret="shpat_revoked_token_value")

    with pytest.raises(ProviderError) as rejected:
        payouts.submit(refund(), wrong)

    assert not rejected.value.transient
    assert "Shopify rejected the access token" in rejected.value.reason
    assert "shpat_revoked_token_value" not in rejected.value.reason
    assert shop.refunds_created == 0


def test_a_refund_over_what_is_left_is_refused_with_shopifys_message(
    shop: FakeShopifyAdmin, account: ProviderAccount, payouts: ShopifyPayouts, paid_order: dict
) -> None:
    with pytest.raises(ProviderError) as refused:
        payouts.submit(refund(amount=Decimal("500.00")), account)

    assert not refused.value.transient
    assert "422" in refused.value.reason
    assert "greater than the refundable amount of 300.00" in refused.value.reason
    assert shop.refunds_created == 0


def test_a_second_refund_on_the_same_order_counts_what_was_already_refunded(
    shop: FakeShopifyAdmin, account: ProviderAccount, payouts: ShopifyPayouts, paid_order: dict
) -> None:
    payouts.submit(refund(amount=Decimal("250.00")), account)

    with pytest.raises(ProviderError) as refused:
        payouts.submit(refund(key="payout-r-1001-2", amount=Decimal("100.00"), lines=()), account)

    assert "refundable amount of 50.00" in refused.value.reason
    assert shop.refunds_created == 1


def test_an_order_shopify_does_not_know_is_not_retried(
    shop: FakeShopifyAdmin, account: ProviderAccount, payouts: ShopifyPayouts
) -> None:
    with pytest.raises(ProviderError) as unknown:
        payouts.submit(refund(), account)

    assert not unknown.value.transient
    assert f"Shopify does not know order {ORDER_ID}" in unknown.value.reason
    assert payouts.lookup(refund(), account) is None


def test_an_order_paid_in_another_currency_is_not_refunded(
    shop: FakeShopifyAdmin, account: ProviderAccount, payouts: ShopifyPayouts
) -> None:
    shop.add_order(ORDER_ID, "300.00", "EUR")

    with pytest.raises(ProviderError) as refused:
        payouts.submit(refund(lines=()), account)

    assert not refused.value.transient
    assert "paid in EUR" in refused.value.reason
    assert shop.refunds_created == 0


@pytest.mark.parametrize(
    ("gateway_status", "status"), [("success", "succeeded"), ("pending", "pending"), ("failure", "failed")]
)
def test_the_outcome_follows_the_refund_transaction(
    shop: FakeShopifyAdmin,
    account: ProviderAccount,
    payouts: ShopifyPayouts,
    paid_order: dict,
    gateway_status: str,
    status: str,
) -> None:
    shop.refund_status = gateway_status

    outcome = payouts.submit(refund(), account)

    assert outcome.status == status
    assert payouts.lookup(refund(), account) == outcome


def test_lookup_finds_nothing_for_a_key_shopify_never_saw(
    shop: FakeShopifyAdmin, account: ProviderAccount, payouts: ShopifyPayouts, paid_order: dict
) -> None:
    payouts.submit(refund(), account)

    assert payouts.lookup(refund(key="payout-r-1001-9"), account) is None


def test_the_refund_goes_to_the_payment_the_instruction_names(
    shop: FakeShopifyAdmin, account: ProviderAccount, payouts: ShopifyPayouts, paid_order: dict
) -> None:
    with shop.lock:
        order = shop.orders[ORDER_ID]
        second = {**paid_order, "id": paid_order["id"] + 1, "amount": "80.00", "gateway": "gift_card"}
        order.transactions.append(second)

    payouts.submit(refund(amount=Decimal("40.00"), lines=(), payment_reference=str(second["id"])), account)

    [posted] = shop.posted("refunds.json")
    assert posted["refund"]["transactions"][0]["parent_id"] == second["id"]
    assert posted["refund"]["transactions"][0]["gateway"] == "gift_card"


# -- Gift cards ------------------------------------------------------------------------------------


def test_a_gift_card_is_issued_with_the_payout_code_and_key(
    shop: FakeShopifyAdmin, account: ProviderAccount, payouts: ShopifyPayouts
) -> None:
    outcome = payouts.submit(gift_card(), account)

    assert outcome.status == "succeeded"
    assert outcome.reference == str(shop.gift_cards[0]["id"])
    assert outcome.code == "AUR7K2M9Q4XP"
    assert shop.gift_cards_created == 1
    assert shop.posted("/admin/api/2025-01/gift_cards.json") == [
        {
            "gift_card": {
                "initial_value": "50.00",
                "code": "AUR7K2M9Q4XP",
                "currency": "USD",
                "note": "Return R-1001: ring [assay:payout-g-1002-1]",
                "customer_id": CUSTOMER_ID,
            }
        }
    ]
    assert payouts.lookup(gift_card(), account) == outcome


def test_a_gift_card_submitted_again_is_found_through_the_taken_code(
    shop: FakeShopifyAdmin, account: ProviderAccount, payouts: ShopifyPayouts
) -> None:
    first = payouts.submit(gift_card(), account)
    again = payouts.submit(gift_card(), account)

    assert again == first
    assert shop.gift_cards_created == 1


def test_a_gift_card_whose_answer_was_lost_is_found_not_reissued(
    shop: FakeShopifyAdmin, account: ProviderAccount, payouts: ShopifyPayouts
) -> None:
    shop.misbehave("drop_after")

    with pytest.raises(ProviderError) as lost:
        payouts.submit(gift_card(), account)
    again = payouts.submit(gift_card(), account)

    assert lost.value.transient
    assert again.status == "succeeded"
    assert again.reference == str(shop.gift_cards[0]["id"])
    assert shop.gift_cards_created == 1


def test_a_gift_card_code_someone_else_holds_is_not_taken_for_ours(
    shop: FakeShopifyAdmin, account: ProviderAccount, payouts: ShopifyPayouts
) -> None:
    shop.issue_gift_card("aur7k2m9q4xp", "10.00", note="made by hand in the shop admin")

    with pytest.raises(ProviderError) as taken:
        payouts.submit(gift_card(), account)

    assert not taken.value.transient
    assert "another gift card with the code ending Q4XP" in taken.value.reason
    assert "AUR7K2M9Q4XP" not in taken.value.reason
    assert shop.gift_cards_created == 0
    assert payouts.lookup(gift_card(), account) is None


def test_a_gift_card_shopify_refuses_for_another_reason_says_why(
    shop: FakeShopifyAdmin, account: ProviderAccount, payouts: ShopifyPayouts
) -> None:
    with pytest.raises(ProviderError) as refused:
        payouts.submit(gift_card(code="SHORT-1"), account)

    assert not refused.value.transient
    assert "code must be 8 to 20 letters and numbers" in refused.value.reason


# -- Coupons ---------------------------------------------------------------------------------------


def test_a_coupon_is_a_single_use_fixed_amount_code_for_the_customer(
    shop: FakeShopifyAdmin, account: ProviderAccount, payouts: ShopifyPayouts
) -> None:
    outcome = payouts.submit(coupon(), account)

    assert outcome.status == "succeeded"
    assert outcome.code == "AURCPN8H3T"
    assert outcome.reference == str(shop.discount_codes[0]["id"])
    assert (shop.price_rules_created, shop.discount_codes_created) == (1, 1)
    [rule] = shop.posted("/admin/api/2025-01/price_rules.json")
    starts_at = rule["price_rule"].pop("starts_at")
    assert starts_at.endswith("+00:00")
    assert rule == {
        "price_rule": {
            "title": "AURCPN8H3T",
            "value_type": "fixed_amount",
            "value": "-25.00",
            "customer_selection": "prerequisite",
            "prerequisite_customer_ids": [CUSTOMER_ID],
            "target_type": "line_item",
            "target_selection": "all",
            "allocation_method": "across",
            "usage_limit": 1,
            "once_per_customer": True,
        }
    }
    rule_id = shop.discount_codes[0]["price_rule_id"]
    assert shop.posted(f"price_rules/{rule_id}/discount_codes.json") == [{"discount_code": {"code": "AURCPN8H3T"}}]


def test_a_coupon_without_a_known_customer_is_open_to_all(
    shop: FakeShopifyAdmin, account: ProviderAccount, payouts: ShopifyPayouts
) -> None:
    payouts.submit(coupon(customer_external_id=""), account)

    [rule] = shop.posted("price_rules.json")
    assert rule["price_rule"]["customer_selection"] == "all"
    assert "prerequisite_customer_ids" not in rule["price_rule"]


def test_a_coupon_is_found_through_shopifys_code_lookup_and_not_made_twice(
    shop: FakeShopifyAdmin, account: ProviderAccount, payouts: ShopifyPayouts
) -> None:
    assert payouts.lookup(coupon(), account) is None

    first = payouts.submit(coupon(), account)
    found = payouts.lookup(coupon(), account)
    again = payouts.submit(coupon(), account)

    assert found == first
    assert again == first
    assert (shop.price_rules_created, shop.discount_codes_created) == (1, 1)
    lookups = [r for r in shop.requests if r.path.endswith("discount_codes/lookup.json")]
    assert lookups
    assert {r.query["code"][0] for r in lookups} == {"AURCPN8H3T"}


def test_a_coupon_whose_code_answer_was_lost_is_found_not_repeated(
    shop: FakeShopifyAdmin, account: ProviderAccount, payouts: ShopifyPayouts
) -> None:
    shop.misbehave_later("drop_after", after=2)  # lookup, price rule, then the code is made and lost

    with pytest.raises(ProviderError) as lost:
        payouts.submit(coupon(), account)
    again = payouts.submit(coupon(), account)

    assert lost.value.transient
    assert again.reference == str(shop.discount_codes[0]["id"])
    assert shop.discount_codes_created == 1


def test_a_coupon_code_held_by_another_discount_is_refused(
    shop: FakeShopifyAdmin, account: ProviderAccount, payouts: ShopifyPayouts
) -> None:
    payouts.submit(coupon(amount=Decimal("10.00"), key="payout-c-other"), account)

    with pytest.raises(ProviderError) as taken:
        payouts.submit(coupon(), account)

    assert not taken.value.transient
    assert "not this payout's coupon" in taken.value.reason
    assert shop.discount_codes_created == 1


def test_a_coupon_in_another_currency_than_the_shops_is_refused(
    shop: FakeShopifyAdmin, account: ProviderAccount, payouts: ShopifyPayouts
) -> None:
    in_usd = dataclasses.replace(account, options={**account.options, "shop_currency": "USD"})

    with pytest.raises(ProviderError) as refused:
        payouts.submit(coupon(currency="EUR"), in_usd)

    assert not refused.value.transient
    assert shop.requests == []


# -- The provider as Assay sees it -----------------------------------------------------------------


def test_store_credit_is_not_a_shopify_payout(account: ProviderAccount, payouts: ShopifyPayouts) -> None:
    with pytest.raises(ProviderError) as refused:
        payouts.submit(refund(kind="store_credit"), account)

    assert not refused.value.transient
    assert "store_credit" in refused.value.reason


def test_the_shopify_app_registers_its_payouts() -> None:
    provider = provider_named("shopify")

    assert isinstance(provider, ShopifyPayouts)
    assert provider.kinds == frozenset({"refund", "gift_card", "coupon"})
