"""The Stripe refunds adapter against a loopback Stripe: what is sent, what comes back, and how
exactly-once survives failures on the wire."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from decimal import Decimal
from urllib.parse import parse_qsl

import httpx
import pytest

from assay.integrations.loopback import FakeRequest
from assay.integrations.stripe.fake import FakeStripe
from assay.integrations.stripe.refunds import DEFAULT_API_VERSION, StripeRefunds
from assay.integrations.stripe.tests.conftest import STRIPE_SECRET
from assay.resolutions.providers import PayoutInstruction, ProviderAccount, ProviderError, provider_named

MakeRefund = Callable[..., PayoutInstruction]
ORDER_PAYMENT = "pi_3AssayOrder5001"
STALL = 0.8  # seconds the fake stalls: well past the client's 0.3 s

adapter = StripeRefunds()


def form_of(request: FakeRequest) -> dict[str, str]:
    return dict(parse_qsl(request.body.decode(), keep_blank_values=True))


def stripe_error(status: int, **error: str) -> tuple[int, bytes]:
    """A status and Stripe's documented error body, for `misbehave("fail", ...)`."""
    return status, json.dumps({"error": error}).encode()


def submit_error(instruction: PayoutInstruction, account: ProviderAccount) -> ProviderError:
    with pytest.raises(ProviderError) as raised:
        adapter.submit(instruction, account)
    return raised.value


# --- a refund, as Stripe is asked for it -------------------------------------------------------------


def test_a_refund_succeeds_with_stripes_form_fields_and_headers(
    stripe: FakeStripe, account: ProviderAccount, refund_of: MakeRefund
) -> None:
    stripe.add_payment_intent(ORDER_PAYMENT, 50_000, "usd")

    outcome = adapter.submit(refund_of(amount=Decimal("120.00")), account)

    assert outcome.status == "succeeded"
    assert outcome.reference.startswith("re_")
    [request] = stripe.requests
    assert (request.method, request.path) == ("POST", "/v1/refunds")
    assert request.headers["authorization"] == f"Bearer {STRIPE_SECRET}"
    assert request.headers["idempotency-key"] == "payout:rma-1001:refund:1"
    assert request.headers["stripe-version"] == DEFAULT_API_VERSION
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert form_of(request) == {
        "payment_intent": ORDER_PAYMENT,
        "amount": "12000",
        "currency": "usd",
        "reason": "requested_by_customer",
        "metadata[assay_payout_key]": "payout:rma-1001:refund:1",
        "metadata[order]": "5001",
    }
    [refund] = stripe.refunds_for(ORDER_PAYMENT)
    assert (refund["id"], refund["amount"], refund["metadata"]["order"]) == (outcome.reference, 12000, "5001")


def test_a_brand_can_pin_another_stripe_version(
    stripe: FakeStripe, account: ProviderAccount, refund_of: MakeRefund
) -> None:
    stripe.add_payment_intent(ORDER_PAYMENT, 50_000, "usd")
    pinned = ProviderAccount(account.api_base, account.secret, {**account.options, "api_version": "2024-06-20"})

    adapter.submit(refund_of(), pinned)

    assert stripe.requests[0].headers["stripe-version"] == "2024-06-20"


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        (Decimal("12.34"), "USD", 1234),
        (Decimal("5000"), "JPY", 5000),
        (Decimal("12.340"), "KWD", 12340),
        (Decimal("500"), "ISK", 50000),  # Stripe keeps ISK two-decimal in its API
    ],
)
def test_amounts_go_to_stripe_in_the_currencys_minor_units(
    stripe: FakeStripe, account: ProviderAccount, refund_of: MakeRefund, amount: Decimal, currency: str, minor: int
) -> None:
    stripe.add_payment_intent(ORDER_PAYMENT, 10_000_000, currency)

    adapter.submit(refund_of(amount=amount, currency=currency), account)

    assert form_of(stripe.requests[0])["amount"] == str(minor)
    assert form_of(stripe.requests[0])["currency"] == currency.lower()
    assert stripe.refunds_for(ORDER_PAYMENT)[0]["amount"] == minor


@pytest.mark.parametrize(
    ("amount", "currency", "says"),
    [
        (Decimal("10.5"), "JPY", "minor unit"),
        (Decimal("1.005"), "USD", "minor unit"),
        (Decimal("1.2345"), "KWD", "minor unit"),
        (Decimal("5.124"), "KWD", "last decimal digit of 0"),
        (Decimal("40.10"), "ISK", "whole units only"),
        (Decimal("0"), "USD", "positive amount"),
        (Decimal("-5.00"), "USD", "positive amount"),
        (Decimal("5.00"), "US", "not an ISO 4217"),
    ],
)
def test_an_amount_stripe_would_have_to_round_is_refused_before_any_call(
    stripe: FakeStripe, account: ProviderAccount, refund_of: MakeRefund, amount: Decimal, currency: str, says: str
) -> None:
    error = submit_error(refund_of(amount=amount, currency=currency), account)

    assert error.transient is False
    assert says in error.reason
    assert stripe.requests == []


def test_a_charge_reference_is_refunded_and_looked_up_as_a_charge(
    stripe: FakeStripe, account: ProviderAccount, refund_of: MakeRefund
) -> None:
    intent = stripe.add_payment_intent(ORDER_PAYMENT, 50_000, "usd")
    instruction = refund_of(payment_reference=intent.charge_id)

    outcome = adapter.submit(instruction, account)
    found = adapter.lookup(instruction, account)

    assert form_of(stripe.requests[0])["charge"] == intent.charge_id
    assert "payment_intent" not in form_of(stripe.requests[0])
    assert stripe.requests[1].query["charge"] == [intent.charge_id]
    assert found == outcome


@pytest.mark.parametrize("reference", ["", "   "])
def test_an_order_without_a_payment_reference_is_refused_without_a_call(
    stripe: FakeStripe, account: ProviderAccount, refund_of: MakeRefund, reference: str
) -> None:
    instruction = refund_of(payment_reference=reference)

    error = submit_error(instruction, account)
    with pytest.raises(ProviderError) as looked_up:
        adapter.lookup(instruction, account)

    assert error.transient is False
    assert error.reason.startswith("the order has no Stripe payment reference")
    assert looked_up.value.transient is False
    assert stripe.requests == []


def test_stripe_is_asked_for_refunds_only(stripe: FakeStripe, account: ProviderAccount, refund_of: MakeRefund) -> None:
    error = submit_error(refund_of(kind="store_credit"), account)

    assert (error.transient, stripe.requests) == (False, [])


def test_the_app_registers_the_adapter_under_stripe() -> None:
    provider = provider_named("stripe")

    assert isinstance(provider, StripeRefunds)
    assert provider.kinds == frozenset({"refund"})


# --- what Stripe answers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("refund_status", "failure_reason", "status", "detail"),
    [
        ("pending", None, "pending", ""),
        ("requires_action", None, "pending", "Stripe needs the customer to act before the refund is sent"),
        ("failed", "expired_or_canceled_card", "failed", "expired_or_canceled_card"),
        ("canceled", None, "failed", "canceled"),
    ],
)
def test_a_refund_stripe_has_not_completed_keeps_its_status(
    stripe: FakeStripe,
    account: ProviderAccount,
    refund_of: MakeRefund,
    refund_status: str,
    failure_reason: str | None,
    status: str,
    detail: str,
) -> None:
    stripe.add_payment_intent(ORDER_PAYMENT, 50_000, "usd", refund_status=refund_status, failure_reason=failure_reason)

    outcome = adapter.submit(refund_of(), account)

    assert (outcome.status, outcome.detail) == (status, detail)


def test_refunding_more_than_is_left_is_refused_with_stripes_message(
    stripe: FakeStripe, account: ProviderAccount, refund_of: MakeRefund
) -> None:
    stripe.add_payment_intent(ORDER_PAYMENT, 10_000, "usd")

    error = submit_error(refund_of(amount=Decimal("120.00")), account)

    assert error.transient is False
    assert "amount_too_large" in error.reason
    assert "Refund amount (12000 usd) is greater than unrefunded amount on charge (10000 usd)" in error.reason
    assert stripe.created_count == 0


def test_refunding_a_payment_refunded_in_full_elsewhere_is_refused(
    stripe: FakeStripe, account: ProviderAccount, refund_of: MakeRefund
) -> None:
    intent = stripe.add_payment_intent(ORDER_PAYMENT, 12_000, "usd")
    stripe.add_refund(ORDER_PAYMENT, 12_000)

    error = submit_error(refund_of(), account)

    assert error.transient is False
    assert f"Charge {intent.charge_id} has already been refunded." in error.reason
    assert "charge_already_refunded" in error.reason


def test_a_payment_stripe_does_not_know_is_refused_as_not_found(
    stripe: FakeStripe, account: ProviderAccount, refund_of: MakeRefund
) -> None:
    error = submit_error(refund_of(payment_reference="pi_3Unknown"), account)

    assert error.transient is False
    assert "No such payment_intent: 'pi_3Unknown'" in error.reason
    assert "404" in error.reason


def test_a_card_error_is_final_and_names_stripes_message(
    stripe: FakeStripe, account: ProviderAccount, refund_of: MakeRefund
) -> None:
    stripe.add_payment_intent(ORDER_PAYMENT, 50_000, "usd")
    expired = "The card used for this payment has expired."
    status, body = stripe_error(402, type="card_error", code="expired_card", message=expired)
    stripe.misbehave("fail", status=status, body=body)

    error = submit_error(refund_of(), account)

    assert error.transient is False
    assert expired in error.reason


def test_a_wrong_api_key_is_refused_without_showing_the_key(
    stripe: FakeStripe, account: ProviderAccount, refund_of: MakeRefund
) -> None:
    stripe.add_payment_intent(ORDER_PAYMENT, 50_000, "usd")
    wrong = "sk_test_51WrongKeyForThisAccount9876543210"
    wrong_account = ProviderAccount(account.api_base, wrong, account.options)

    error = submit_error(refund_of(), wrong_account)

    assert error.transient is False
    assert error.reason.startswith("Stripe rejected the API key")
    assert wrong not in error.reason
    assert wrong[-4:] not in error.reason
    assert stripe.created_count == 0


def test_a_key_reused_with_another_amount_is_an_idempotency_error(
    stripe: FakeStripe, account: ProviderAccount, refund_of: MakeRefund
) -> None:
    stripe.add_payment_intent(ORDER_PAYMENT, 50_000, "usd")
    adapter.submit(refund_of(amount=Decimal("120.00")), account)

    error = submit_error(refund_of(amount=Decimal("80.00")), account)

    assert error.transient is False
    assert "already used with different parameters" in error.reason
    assert "payout:rma-1001:refund:1" in error.reason
    assert stripe.created_count == 1


@pytest.mark.parametrize(
    "failure",
    [
        stripe_error(500, type="api_error", message="Something went wrong on Stripe's end."),
        stripe_error(502, type="api_error", message="Bad gateway"),
        stripe_error(429, type="invalid_request_error", code="rate_limit", message="Too many requests."),
        stripe_error(
            409,
            type="idempotency_error",
            code="idempotency_key_in_use",
            message="There is currently another in-progress request using this Idempotency-Key.",
        ),
        (503, b"<html>Service Unavailable</html>"),
    ],
    ids=["500", "502", "429", "409-in-progress", "503-html"],
)
def test_a_failure_before_stripe_acts_is_transient_and_the_retry_refunds_once(
    stripe: FakeStripe, account: ProviderAccount, refund_of: MakeRefund, failure: tuple[int, bytes]
) -> None:
    stripe.add_payment_intent(ORDER_PAYMENT, 50_000, "usd")
    status, body = failure
    stripe.misbehave("fail", status=status, body=body)

    error = submit_error(refund_of(), account)
    outcome = adapter.submit(refund_of(), account)

    assert error.transient is True
    assert outcome.status == "succeeded"
    assert stripe.created_count == 1


def test_a_refusal_is_replayed_for_the_same_key_without_a_second_attempt(
    stripe: FakeStripe, account: ProviderAccount, refund_of: MakeRefund
) -> None:
    stripe.add_payment_intent(ORDER_PAYMENT, 10_000, "usd")

    first = submit_error(refund_of(), account)
    again = submit_error(refund_of(), account)

    assert first.reason == again.reason
    assert [request.headers["idempotency-key"] for request in stripe.requests] == ["payout:rma-1001:refund:1"] * 2
    assert stripe.created_count == 0


def test_the_fake_replays_the_first_answer_byte_for_byte_as_stripe_does(stripe: FakeStripe) -> None:
    stripe.add_payment_intent(ORDER_PAYMENT, 50_000, "usd")
    headers = {"Authorization": f"Bearer {STRIPE_SECRET}", "Idempotency-Key": "k-1"}
    form = {"payment_intent": ORDER_PAYMENT, "amount": "500", "metadata[order]": "5001"}

    first = httpx.post(f"{stripe.url}/v1/refunds", data=form, headers=headers, timeout=5)
    again = httpx.post(f"{stripe.url}/v1/refunds", data=form, headers=headers, timeout=5)

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.content == first.content
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert first.json()["object"] == "refund"
    assert first.json()["metadata"] == {"order": "5001"}
    assert stripe.created_count == 1


# --- exactly once across lost answers -------------------------------------------------------------


def test_the_same_key_submitted_twice_refunds_once_with_one_reference(
    stripe: FakeStripe, account: ProviderAccount, refund_of: MakeRefund
) -> None:
    stripe.add_payment_intent(ORDER_PAYMENT, 50_000, "usd")

    first = adapter.submit(refund_of(), account)
    again = adapter.submit(refund_of(), account)

    assert first == again
    assert stripe.created_count == 1
    assert len(stripe.refunds_for(ORDER_PAYMENT)) == 1


def test_a_stall_before_stripe_acts_times_out_and_lookup_finds_nothing(
    stripe: FakeStripe, account: ProviderAccount, refund_of: MakeRefund
) -> None:
    stripe.add_payment_intent(ORDER_PAYMENT, 50_000, "usd")
    stripe.misbehave("stall", seconds=STALL)

    error = submit_error(refund_of(), account)
    found = adapter.lookup(refund_of(), account)

    assert error.transient is True
    assert "did not answer within 0.3 s" in error.reason
    assert found is None
    assert stripe.created_count == 0
    # What lookup sent: a list request, never a create that could refund.
    assert [(request.method, request.path) for request in stripe.requests[1:]] == [("GET", "/v1/refunds")]
    assert stripe.requests[1].query == {"payment_intent": [ORDER_PAYMENT], "limit": ["100"]}


@pytest.mark.parametrize(
    ("mode", "seconds", "says"),
    [("drop_after", 0.0, "lost the connection to Stripe"), ("stall_after", STALL, "did not answer within")],
)
def test_an_answer_lost_after_stripe_refunded_is_found_by_lookup_and_not_repeated(
    stripe: FakeStripe, account: ProviderAccount, refund_of: MakeRefund, mode: str, seconds: float, says: str
) -> None:
    stripe.add_payment_intent(ORDER_PAYMENT, 50_000, "usd")
    stripe.misbehave(mode, seconds=seconds)  # type: ignore[arg-type]

    error = submit_error(refund_of(), account)
    found = adapter.lookup(refund_of(), account)
    resubmitted = adapter.submit(refund_of(), account)

    assert error.transient is True
    assert says in error.reason
    [refund] = stripe.refunds_for(ORDER_PAYMENT)
    assert found is not None
    assert (found.status, found.reference) == ("succeeded", refund["id"])
    assert resubmitted == found
    assert stripe.created_count == 1


def test_lookup_ignores_other_refunds_on_the_same_payment(
    stripe: FakeStripe, account: ProviderAccount, refund_of: MakeRefund
) -> None:
    stripe.add_payment_intent(ORDER_PAYMENT, 50_000, "usd")
    stripe.add_refund(ORDER_PAYMENT, 1_000, metadata={"assay_payout_key": "payout:rma-0999:refund:1"})
    stripe.add_refund(ORDER_PAYMENT, 1_000)

    assert adapter.lookup(refund_of(), account) is None


def test_lookup_pages_through_more_than_a_hundred_refunds(
    stripe: FakeStripe, account: ProviderAccount, refund_of: MakeRefund
) -> None:
    stripe.add_payment_intent(ORDER_PAYMENT, 1_000_000, "usd")
    submitted = adapter.submit(refund_of(amount=Decimal("10.00")), account)
    for number in range(150):  # newer refunds push ours onto the second page
        stripe.add_refund(ORDER_PAYMENT, 100, metadata={"assay_payout_key": f"payout:other:{number}"})

    found = adapter.lookup(refund_of(amount=Decimal("10.00")), account)

    assert found == submitted
    pages = stripe.requests[1:]
    assert len(pages) == 2
    assert "starting_after" not in pages[0].query
    assert pages[1].query["starting_after"] == [stripe.refunds_for(ORDER_PAYMENT)[51]["id"]]


def test_lookup_reports_a_refund_that_failed_after_it_was_made(
    stripe: FakeStripe, account: ProviderAccount, refund_of: MakeRefund
) -> None:
    stripe.add_payment_intent(ORDER_PAYMENT, 50_000, "usd", refund_status="pending")
    made = adapter.submit(refund_of(), account)
    stripe.set_refund_status(made.reference, "failed", failure_reason="lost_or_stolen_card")

    found = adapter.lookup(refund_of(), account)

    assert found is not None
    assert (made.status, found.status, found.detail) == ("pending", "failed", "lost_or_stolen_card")


def test_lookup_errors_are_mapped_like_submit_errors(
    stripe: FakeStripe, account: ProviderAccount, refund_of: MakeRefund
) -> None:
    status, body = stripe_error(503, type="api_error", message="Service unavailable")
    stripe.misbehave("fail", status=status, body=body)

    with pytest.raises(ProviderError) as unavailable:
        adapter.lookup(refund_of(), account)
    with pytest.raises(ProviderError) as wrong_key:
        adapter.lookup(refund_of(), ProviderAccount(account.api_base, "sk_test_wrong", account.options))

    assert unavailable.value.transient is True
    assert wrong_key.value.transient is False


def test_an_unreachable_stripe_is_transient_and_the_secret_stays_out_of_the_reason(
    refund_of: MakeRefund,
) -> None:
    with socket.socket() as probe:  # a free port, then nothing listens on it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    account = ProviderAccount(f"http://127.0.0.1:{port}", STRIPE_SECRET, {"timeout": "0.3"})

    error = submit_error(refund_of(), account)

    assert error.transient is True
    assert "lost the connection to Stripe" in error.reason
    assert STRIPE_SECRET not in error.reason
    assert STRIPE_SECRET not in str(error)
