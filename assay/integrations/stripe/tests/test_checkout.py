"""The Stripe Checkout adapter against a loopback Stripe: payment pages for an exchange's difference,
card holds for instant exchanges, and what survives retries and failures on the wire."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from assay.integrations.loopback import FakeRequest
from assay.integrations.stripe.checkout import StripeCheckout, expires_at_for
from assay.integrations.stripe.client import DEFAULT_API_VERSION
from assay.integrations.stripe.fake import FakeStripe
from assay.integrations.stripe.tests.conftest import STRIPE_SECRET
from assay.resolutions.providers import (
    CheckoutInstruction,
    CheckoutState,
    ProviderAccount,
    ProviderError,
    checkout_provider_named,
)

MakeCheckout = Callable[..., CheckoutInstruction]
NOW = 1_767_225_600.0  # a whole minute
STALL = 0.8  # seconds the fake stalls: well past the client's 0.3 s
DIFFERENCE_KEY = "assay:exchange7:difference:1"
HOLD_KEY = "assay:exchange7:hold:1"


class Clock:
    """The adapter's clock, moved by hand. It starts at the current minute because the fake checks
    `expires_at` against its own (real) clock, as Stripe does."""

    def __init__(self) -> None:
        self.now = float(int(time.time()) // 60 * 60)

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def adapter(clock: Clock) -> StripeCheckout:
    return StripeCheckout(clock=clock)


@pytest.fixture
def checkout_of() -> MakeCheckout:
    """A checkout instruction for an exchange's difference; every field can be overridden by keyword."""

    def make(**overrides: Any) -> CheckoutInstruction:
        values: dict[str, Any] = {
            "key": DIFFERENCE_KEY,
            "purpose": "difference",
            "amount": Decimal("85.00"),
            "currency": "USD",
            "description": "RMA R-100123: Difference for your exchange: Solitaire ring, size 7",
            "customer_email": "ada@example.com",
            "success_url": "https://shop.example/returns/aurelia/status/R-100123",
            "cancel_url": "https://shop.example/returns/aurelia/status/R-100123?cancelled=1",
        }
        values.update(overrides)
        return CheckoutInstruction(**values)

    return make


@pytest.fixture
def held(stripe: FakeStripe, account: ProviderAccount, adapter: StripeCheckout, checkout_of: MakeCheckout) -> str:
    """The PaymentIntent id of a 240.00 USD hold the shopper has authorised."""
    page = adapter.checkout_create(checkout_of(key=HOLD_KEY, purpose="hold", amount=Decimal("240.00")), account)
    intent = stripe.complete_session(page.session_id)
    stripe.requests.clear()
    return intent.id


def form_of(request: FakeRequest) -> dict[str, str]:
    return dict(parse_qsl(request.body.decode(), keep_blank_values=True))


def stripe_error(status: int, **error: str) -> tuple[int, bytes]:
    return status, json.dumps({"error": error}).encode()


def raised(action: Callable[[], object]) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        action()
    return caught.value


# --- a payment page, as Stripe is asked for it -----------------------------------------------------


def test_a_difference_page_is_created_with_stripes_form_fields_and_headers(
    stripe: FakeStripe, account: ProviderAccount, adapter: StripeCheckout, clock: Clock, checkout_of: MakeCheckout
) -> None:
    page = adapter.checkout_create(checkout_of(), account)

    assert page.status == "open"
    assert page.session_id.startswith("cs_")
    assert page.url == f"https://checkout.stripe.com/c/pay/{page.session_id}"
    assert page.payment_reference == ""
    [request] = stripe.requests
    assert (request.method, request.path) == ("POST", "/v1/checkout/sessions")
    assert request.headers["authorization"] == f"Bearer {STRIPE_SECRET}"
    assert request.headers["idempotency-key"] == DIFFERENCE_KEY
    assert request.headers["stripe-version"] == DEFAULT_API_VERSION
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert form_of(request) == {
        "mode": "payment",
        "line_items[0][price_data][currency]": "usd",
        "line_items[0][price_data][unit_amount]": "8500",
        "line_items[0][price_data][product_data][name]": (
            "RMA R-100123: Difference for your exchange: Solitaire ring, size 7"
        ),
        "line_items[0][quantity]": "1",
        "customer_email": "ada@example.com",
        "success_url": "https://shop.example/returns/aurelia/status/R-100123",
        "cancel_url": "https://shop.example/returns/aurelia/status/R-100123?cancelled=1",
        "client_reference_id": DIFFERENCE_KEY,
        "metadata[assay_key]": DIFFERENCE_KEY,
        "expires_at": str(int(clock.now) + 23 * 3600),
    }
    session = stripe.session_for(page.session_id)
    assert (session.amount, session.currency, session.capture_method) == (8500, "usd", "automatic")
    assert stripe.sessions_created == 1


def test_a_hold_page_asks_stripe_to_authorise_only(
    stripe: FakeStripe, account: ProviderAccount, adapter: StripeCheckout, checkout_of: MakeCheckout
) -> None:
    page = adapter.checkout_create(checkout_of(key=HOLD_KEY, purpose="hold", amount=Decimal("240.00")), account)

    form = form_of(stripe.requests[0])
    assert form["payment_intent_data[capture_method]"] == "manual"
    assert form["payment_intent_data[metadata][assay_key]"] == HOLD_KEY
    assert form["line_items[0][price_data][unit_amount]"] == "24000"
    assert stripe.session_for(page.session_id).capture_method == "manual"


def test_a_difference_page_does_not_ask_for_manual_capture(
    stripe: FakeStripe, account: ProviderAccount, adapter: StripeCheckout, checkout_of: MakeCheckout
) -> None:
    adapter.checkout_create(checkout_of(), account)

    assert not any(name.startswith("payment_intent_data") for name in form_of(stripe.requests[0]))


def test_without_an_email_the_shopper_types_it_on_the_page(
    stripe: FakeStripe, account: ProviderAccount, adapter: StripeCheckout, checkout_of: MakeCheckout
) -> None:
    adapter.checkout_create(checkout_of(customer_email=" "), account)

    assert "customer_email" not in form_of(stripe.requests[0])


@pytest.mark.parametrize(
    ("hours", "lifetime"),
    [
        (23, 23 * 3600),
        (1, 3600),
        (0, 35 * 60),  # below Stripe's 30 minutes: raised, with room for clock skew
        (48, 24 * 3600 - 5 * 60),  # above Stripe's 24 hours: lowered
    ],
)
def test_a_pages_lifetime_is_kept_inside_stripes_window_and_stripe_accepts_it(
    stripe: FakeStripe,
    account: ProviderAccount,
    adapter: StripeCheckout,
    clock: Clock,
    checkout_of: MakeCheckout,
    hours: int,
    lifetime: int,
) -> None:
    page = adapter.checkout_create(checkout_of(expires_in_hours=hours), account)

    assert stripe.session_for(page.session_id).expires_at == int(clock.now) + lifetime


def test_the_expiry_is_taken_on_the_minute_so_a_quick_retry_sends_the_same_form() -> None:
    assert expires_at_for(now=NOW + 59.9, hours=2) == expires_at_for(now=NOW, hours=2) == int(NOW) + 7200
    assert expires_at_for(now=NOW + 60, hours=2) == int(NOW) + 60 + 7200


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [(Decimal("12.34"), "EUR", "1234"), (Decimal("5000"), "JPY", "5000"), (Decimal("500"), "ISK", "50000")],
)
def test_amounts_go_to_stripe_in_the_currencys_minor_units(
    stripe: FakeStripe,
    account: ProviderAccount,
    adapter: StripeCheckout,
    checkout_of: MakeCheckout,
    amount: Decimal,
    currency: str,
    minor: str,
) -> None:
    adapter.checkout_create(checkout_of(amount=amount, currency=currency), account)

    form = form_of(stripe.requests[0])
    assert form["line_items[0][price_data][unit_amount]"] == minor
    assert form["line_items[0][price_data][currency]"] == currency.lower()


@pytest.mark.parametrize(
    ("overrides", "says"),
    [
        ({"amount": Decimal("10.5"), "currency": "JPY"}, "minor unit"),
        ({"amount": Decimal("0")}, "positive amount"),
        ({"description": "  "}, "needs a description"),
        ({"purpose": "refund"}, "a difference or a hold"),
    ],
)
def test_a_page_stripe_would_refuse_or_misstate_is_refused_before_any_call(
    stripe: FakeStripe,
    account: ProviderAccount,
    adapter: StripeCheckout,
    checkout_of: MakeCheckout,
    overrides: dict[str, Any],
    says: str,
) -> None:
    error = raised(lambda: adapter.checkout_create(checkout_of(**overrides), account))

    assert error.transient is False
    assert says in error.reason
    assert stripe.requests == []


def test_the_app_registers_the_checkout_adapter_under_stripe() -> None:
    assert isinstance(checkout_provider_named("stripe"), StripeCheckout)


# --- where a page stands ----------------------------------------------------------------------------


def test_a_difference_page_reads_open_then_paid_once_the_shopper_pays(
    stripe: FakeStripe, account: ProviderAccount, adapter: StripeCheckout, checkout_of: MakeCheckout
) -> None:
    page = adapter.checkout_create(checkout_of(), account)
    before = adapter.checkout_state(page.session_id, account)

    intent = stripe.complete_session(page.session_id)
    after = adapter.checkout_state(page.session_id, account)

    assert before == page
    assert after == CheckoutState(session_id=page.session_id, url="", status="paid", payment_reference=intent.id)
    asked = stripe.requests[-1]
    assert (asked.method, asked.path) == ("GET", f"/v1/checkout/sessions/{page.session_id}")
    assert asked.query == {"expand[]": ["payment_intent"]}


@pytest.mark.parametrize("reported", ["unpaid", "paid"])
def test_an_authorised_hold_reads_held_whatever_payment_status_the_session_reports(
    stripe: FakeStripe,
    account: ProviderAccount,
    adapter: StripeCheckout,
    checkout_of: MakeCheckout,
    reported: str,
) -> None:
    page = adapter.checkout_create(checkout_of(key=HOLD_KEY, purpose="hold"), account)
    intent = stripe.complete_session(page.session_id, hold_payment_status=reported)

    state = adapter.checkout_state(page.session_id, account)

    assert (state.status, state.payment_reference) == ("held", intent.id)
    assert stripe.intents[intent.id].status == "requires_capture"


def test_a_page_left_unpaid_reads_expired(
    stripe: FakeStripe, account: ProviderAccount, adapter: StripeCheckout, checkout_of: MakeCheckout
) -> None:
    page = adapter.checkout_create(checkout_of(), account)
    stripe.expire_session(page.session_id)

    state = adapter.checkout_state(page.session_id, account)

    assert state == CheckoutState(session_id=page.session_id, url="", status="expired")


def test_a_hold_whose_authorisation_lapsed_before_it_was_seen_reads_expired(
    stripe: FakeStripe, account: ProviderAccount, adapter: StripeCheckout, checkout_of: MakeCheckout
) -> None:
    page = adapter.checkout_create(checkout_of(key=HOLD_KEY, purpose="hold"), account)
    intent = stripe.complete_session(page.session_id)
    stripe.set_intent_status(intent.id, "canceled")  # Stripe cancels an uncaptured intent after 7 days

    assert adapter.checkout_state(page.session_id, account).status == "expired"


def test_a_session_stripe_does_not_know_is_refused_as_not_found(
    stripe: FakeStripe, account: ProviderAccount, adapter: StripeCheckout
) -> None:
    error = raised(lambda: adapter.checkout_state("cs_test_unknown", account))

    assert error.transient is False
    assert "Stripe does not know the Checkout Session (404)" in error.reason
    assert "No such checkout.session: 'cs_test_unknown'" in error.reason


# --- exactly one page per key ------------------------------------------------------------------------


def test_a_retry_within_the_minute_is_replayed_by_stripe_as_the_same_page(
    stripe: FakeStripe, account: ProviderAccount, adapter: StripeCheckout, clock: Clock, checkout_of: MakeCheckout
) -> None:
    first = adapter.checkout_create(checkout_of(), account)
    clock.now += 45
    again = adapter.checkout_create(checkout_of(), account)

    assert again == first
    assert stripe.sessions_created == 1
    assert [request.method for request in stripe.requests] == ["POST", "POST"]


def test_a_retry_minutes_later_finds_the_page_stripe_made_for_the_key(
    stripe: FakeStripe, account: ProviderAccount, adapter: StripeCheckout, clock: Clock, checkout_of: MakeCheckout
) -> None:
    first = adapter.checkout_create(checkout_of(), account)
    clock.now += 180  # another expires_at: Stripe refuses to replay, so the page is looked up

    again = adapter.checkout_create(checkout_of(), account)

    assert again == first
    assert stripe.sessions_created == 1
    assert [(request.method, request.path) for request in stripe.requests] == [
        ("POST", "/v1/checkout/sessions"),
        ("POST", "/v1/checkout/sessions"),
        ("GET", "/v1/checkout/sessions"),
    ]
    assert stripe.requests[2].query["created[gte]"] == [str(int(clock.now) - 25 * 3600)]


def test_a_retry_after_the_shopper_paid_answers_the_paid_page(
    stripe: FakeStripe, account: ProviderAccount, adapter: StripeCheckout, clock: Clock, checkout_of: MakeCheckout
) -> None:
    first = adapter.checkout_create(checkout_of(), account)
    intent = stripe.complete_session(first.session_id)
    clock.now += 600

    again = adapter.checkout_create(checkout_of(), account)

    assert (again.session_id, again.status, again.payment_reference) == (first.session_id, "paid", intent.id)
    assert stripe.sessions_created == 1


@pytest.mark.parametrize(("mode", "seconds"), [("drop_after", 0.0), ("stall_after", STALL)])
def test_a_page_whose_answer_was_lost_is_not_made_twice(
    stripe: FakeStripe,
    account: ProviderAccount,
    adapter: StripeCheckout,
    clock: Clock,
    checkout_of: MakeCheckout,
    mode: str,
    seconds: float,
) -> None:
    stripe.misbehave(mode, seconds=seconds)  # type: ignore[arg-type]

    error = raised(lambda: adapter.checkout_create(checkout_of(), account))
    same_minute = adapter.checkout_create(checkout_of(), account)
    clock.now += 120
    later = adapter.checkout_create(checkout_of(), account)

    assert error.transient is True
    assert same_minute == later
    assert stripe.sessions_created == 1


def test_a_key_reused_for_another_amount_stays_an_idempotency_error(
    stripe: FakeStripe, account: ProviderAccount, adapter: StripeCheckout, clock: Clock, checkout_of: MakeCheckout
) -> None:
    adapter.checkout_create(checkout_of(amount=Decimal("85.00")), account)
    clock.now += 120

    error = raised(lambda: adapter.checkout_create(checkout_of(amount=Decimal("95.00")), account))

    assert error.transient is False
    assert f"the idempotency key '{DIFFERENCE_KEY}' was already used with different parameters" in error.reason
    assert stripe.sessions_created == 1


# --- holds: released when the return arrives, captured when it never comes ----------------------------


def test_a_released_hold_is_canceled_once_and_releasing_it_again_is_fine(
    stripe: FakeStripe, account: ProviderAccount, adapter: StripeCheckout, held: str
) -> None:
    adapter.hold_release(held, account, key=f"{HOLD_KEY}:release")
    adapter.hold_release(held, account, key=f"{HOLD_KEY}:release")  # replayed by Stripe
    adapter.hold_release(held, account, key="another-run:release")  # Stripe: already canceled

    request = stripe.requests[0]
    assert (request.method, request.path) == ("POST", f"/v1/payment_intents/{held}/cancel")
    assert request.headers["idempotency-key"] == f"{HOLD_KEY}:release"
    assert form_of(request) == {"cancellation_reason": "requested_by_customer"}
    assert stripe.intents[held].status == "canceled"
    assert stripe.cancellations == 1


def test_a_hold_whose_authorisation_lapsed_is_released_without_error(
    stripe: FakeStripe, account: ProviderAccount, adapter: StripeCheckout, held: str
) -> None:
    stripe.set_intent_status(held, "canceled")

    adapter.hold_release(held, account, key=f"{HOLD_KEY}:release")

    assert stripe.cancellations == 0


def test_a_captured_hold_answers_its_charge_and_capturing_again_the_same(
    stripe: FakeStripe, account: ProviderAccount, adapter: StripeCheckout, held: str
) -> None:
    charge = adapter.hold_capture(held, Decimal("240.00"), "USD", account, key=f"{HOLD_KEY}:capture")
    replayed = adapter.hold_capture(held, Decimal("240.00"), "USD", account, key=f"{HOLD_KEY}:capture")
    other_run = adapter.hold_capture(held, Decimal("240.00"), "USD", account, key="another-run:capture")

    intent = stripe.intents[held]
    assert charge == replayed == other_run == intent.charge_id
    request = stripe.requests[0]
    assert (request.method, request.path) == ("POST", f"/v1/payment_intents/{held}/capture")
    assert request.headers["idempotency-key"] == f"{HOLD_KEY}:capture"
    assert form_of(request) == {"amount_to_capture": "24000"}
    assert (intent.status, intent.to_json()["amount_received"]) == ("succeeded", 24000)
    assert stripe.captures == 1


def test_capturing_a_released_hold_is_refused_with_stripes_message(
    stripe: FakeStripe, account: ProviderAccount, adapter: StripeCheckout, held: str
) -> None:
    adapter.hold_release(held, account, key=f"{HOLD_KEY}:release")

    error = raised(lambda: adapter.hold_capture(held, Decimal("240.00"), "USD", account, key=f"{HOLD_KEY}:capture"))

    assert error.transient is False
    assert "payment_intent_unexpected_state" in error.reason
    assert "could not be captured because it has a status of canceled" in error.reason
    assert stripe.captures == 0


def test_releasing_a_captured_hold_is_refused_with_stripes_message(
    stripe: FakeStripe, account: ProviderAccount, adapter: StripeCheckout, held: str
) -> None:
    adapter.hold_capture(held, Decimal("240.00"), "USD", account, key=f"{HOLD_KEY}:capture")

    error = raised(lambda: adapter.hold_release(held, account, key=f"{HOLD_KEY}:release"))

    assert error.transient is False
    assert "You cannot cancel this PaymentIntent because it has a status of succeeded" in error.reason
    assert stripe.intents[held].status == "succeeded"


def test_capturing_more_than_was_held_is_refused(
    stripe: FakeStripe, account: ProviderAccount, adapter: StripeCheckout, held: str
) -> None:
    error = raised(lambda: adapter.hold_capture(held, Decimal("300.00"), "USD", account, key=f"{HOLD_KEY}:capture"))

    assert error.transient is False
    assert "amount_too_large" in error.reason
    assert stripe.captures == 0


def test_a_reference_that_is_not_a_payment_intent_is_refused_without_a_call(
    stripe: FakeStripe, account: ProviderAccount, adapter: StripeCheckout
) -> None:
    error = raised(lambda: adapter.hold_release("ch_3Assay", account, key="k"))

    assert error.transient is False
    assert "not a Stripe PaymentIntent id" in error.reason
    assert stripe.requests == []


# --- failures on the wire ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        stripe_error(500, type="api_error", message="Something went wrong on Stripe's end."),
        stripe_error(429, type="invalid_request_error", code="rate_limit", message="Too many requests."),
        (503, b"<html>Service Unavailable</html>"),
    ],
    ids=["500", "429", "503-html"],
)
def test_a_failure_before_stripe_acts_is_transient_and_the_retry_makes_one_page(
    stripe: FakeStripe,
    account: ProviderAccount,
    adapter: StripeCheckout,
    checkout_of: MakeCheckout,
    failure: tuple[int, bytes],
) -> None:
    status, body = failure
    stripe.misbehave("fail", status=status, body=body)

    error = raised(lambda: adapter.checkout_create(checkout_of(), account))
    page = adapter.checkout_create(checkout_of(), account)

    assert error.transient is True
    assert page.status == "open"
    assert stripe.sessions_created == 1


def test_a_stall_is_transient_for_every_call(
    stripe: FakeStripe, account: ProviderAccount, adapter: StripeCheckout, checkout_of: MakeCheckout, held: str
) -> None:
    page = adapter.checkout_create(checkout_of(), account)
    calls: list[Callable[[], object]] = [
        lambda: adapter.checkout_create(checkout_of(key="assay:exchange8:difference:1"), account),
        lambda: adapter.checkout_state(page.session_id, account),
        lambda: adapter.hold_release(held, account, key="k:release"),
        lambda: adapter.hold_capture(held, Decimal("240.00"), "USD", account, key="k:capture"),
    ]
    for action in calls:
        stripe.misbehave("stall", seconds=STALL)
        error = raised(action)
        assert error.transient is True
        assert "did not answer within 0.3 s" in error.reason
    assert (stripe.captures, stripe.cancellations) == (0, 0)


def test_a_wrong_api_key_is_refused_without_showing_the_key(
    stripe: FakeStripe, account: ProviderAccount, adapter: StripeCheckout, checkout_of: MakeCheckout, held: str
) -> None:
    wrong = "sk_test_51WrongKeyForThisAccount9876543210"
    wrong_account = ProviderAccount(account.api_base, wrong, account.options)

    errors = [
        raised(lambda: adapter.checkout_create(checkout_of(), wrong_account)),
        raised(lambda: adapter.hold_capture(held, Decimal("240.00"), "USD", wrong_account, key="k")),
    ]

    for error in errors:
        assert error.transient is False
        assert error.reason.startswith("Stripe rejected the API key")
        assert wrong not in error.reason
        assert wrong[-4:] not in error.reason
    assert (stripe.sessions_created, stripe.captures) == (1, 0)  # the held fixture's page only


# --- the fake keeps Stripe's rules ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"expires_at": "+600"}, "must be at least 30 minutes from Checkout Session creation"),
        ({"expires_at": "+90000"}, "must be less than 24 hours from Checkout Session creation"),
        ({"line_items[0][price_data][product_data][name]": None}, "Missing required param"),
        ({"payment_intent_data[capture_method]": "later"}, "Invalid payment_intent_data[capture_method]"),
        ({"shipping_options[0]": "x"}, "Received unknown parameter: shipping_options[0]"),
    ],
)
def test_the_fake_refuses_a_session_stripe_would_refuse_and_saves_nothing(
    stripe: FakeStripe, change: dict[str, str | None], says: str
) -> None:
    form = {
        "mode": "payment",
        "line_items[0][price_data][currency]": "usd",
        "line_items[0][price_data][unit_amount]": "500",
        "line_items[0][price_data][product_data][name]": "Difference",
        "line_items[0][quantity]": "1",
        "success_url": "https://shop.example/done",
    }
    for name, value in change.items():
        if value is None:
            form.pop(name)
        elif value.startswith("+"):
            form[name] = str(int(time.time()) + int(value))
        else:
            form[name] = value
    headers = {"Authorization": f"Bearer {STRIPE_SECRET}", "Idempotency-Key": "k-1"}

    refused = httpx.post(f"{stripe.url}/v1/checkout/sessions", data=form, headers=headers, timeout=5)

    assert refused.status_code == 400
    assert says in refused.json()["error"]["message"]
    assert stripe.sessions_created == 0
