"""A loopback Stripe, an account that reaches it, and refund instructions for the adapter's tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from assay.integrations.stripe.fake import FakeStripe
from assay.resolutions.providers import PayoutInstruction, ProviderAccount

STRIPE_SECRET = "sk_test_51AssayLoopbackSecretKey0123456789"
CLIENT_TIMEOUT = "0.3"  # seconds; the fake stalls longer than this


@pytest.fixture(scope="module")
def stripe_server() -> Iterator[FakeStripe]:
    fake = FakeStripe(secret=STRIPE_SECRET)
    yield fake
    fake.close()


@pytest.fixture
def stripe(stripe_server: FakeStripe) -> FakeStripe:
    """The module's loopback Stripe, emptied for this test."""
    stripe_server.reset()
    return stripe_server


@pytest.fixture
def account(stripe: FakeStripe) -> ProviderAccount:
    return ProviderAccount(api_base=stripe.url, secret=STRIPE_SECRET, options={"timeout": CLIENT_TIMEOUT})


@pytest.fixture
def refund_of() -> Callable[..., PayoutInstruction]:
    """A refund instruction; every field can be overridden by keyword."""

    def make(**overrides: Any) -> PayoutInstruction:
        values: dict[str, Any] = {
            "key": "payout:rma-1001:refund:1",
            "kind": "refund",
            "amount": Decimal("120.00"),
            "currency": "USD",
            "order_external_id": "5001",
            "payment_reference": "pi_3AssayOrder5001",
            "customer_external_id": "c-77",
            "customer_email": "ada@example.com",
            "note": "ring returned unworn",
        }
        values.update(overrides)
        return PayoutInstruction(**values)

    return make
