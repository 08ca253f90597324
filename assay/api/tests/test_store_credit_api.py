"""Store credit through the API: balances and ledger, spending it on an order once, staff adjustments."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from assay.brands.services import api_token_create
from assay.core.audit import Actor
from assay.resolutions.credit import credit_book
from assay.resolutions.models import CreditEntry

pytestmark = pytest.mark.django_db
OPERATOR = Actor.system("test")


@pytest.fixture
def credited(brand: Any) -> str:
    credit_book(
        brand_id=brand.pk, email="ada@example.com", currency="USD", kind="issue", amount=Decimal("120.00"),
        key="return-R-100001", actor=OPERATOR, reason="return R-100001",
    )  # fmt: skip
    return "ada@example.com"


def _post(api: Client, path: str, body: Any) -> Any:
    return api.post(f"/api/v1/store-credit/{path}", json.dumps(body), content_type="application/json")


def test_the_balance_and_ledger_of_a_shopper(api, credited):
    body = api.get("/api/v1/store-credit/Ada@Example.com").json()

    assert body["balances"] == [{"currency": "USD", "amount": "120.00"}]
    assert [(e["kind"], e["amount"], e["reason"]) for e in body["entries"]] == [("issue", "120.00", "return R-100001")]


def test_spending_on_an_order_is_taken_once_and_never_below_zero(api, credited):
    first = _post(api, "redeem", {"email": credited, "currency": "usd", "amount": "100.00", "reference": "#1042"})
    again = _post(api, "redeem", {"email": credited, "currency": "USD", "amount": "100.00", "reference": "#1042"})
    other = _post(api, "redeem", {"email": credited, "currency": "USD", "amount": "90.00", "reference": "#1042"})
    over = _post(api, "redeem", {"email": credited, "currency": "USD", "amount": "20.01", "reference": "#1043"})

    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json()["id"] == again.json()["id"]
    assert other.status_code == 409
    assert "already used" in other.json()["detail"]
    assert over.status_code == 409
    assert over.json()["detail"] == "the store credit balance is 20.00 USD: 20.01 USD cannot be taken"
    assert api.get(f"/api/v1/store-credit/{credited}").json()["balances"] == [{"currency": "USD", "amount": "20.00"}]


@pytest.mark.parametrize(
    "body",
    [
        {"email": "ada@example.com", "currency": "USD", "amount": "0", "reference": "#1"},
        {"email": "ada@example.com", "currency": "USD", "amount": "1.001", "reference": "#1"},
        {"email": "ada@example.com", "currency": "USD", "amount": "-5", "reference": "#1"},
        {"email": "not-an-address", "currency": "USD", "amount": "5", "reference": "#1"},
        {"email": "ada@example.com", "currency": "US", "amount": "5", "reference": "#1"},
        {"email": "ada@example.com", "currency": "USD", "amount": "5", "reference": "   "},
    ],
)
def test_malformed_spending_is_refused_and_takes_nothing(api, credited, body):
    response = _post(api, "redeem", body)

    assert response.status_code == 422
    assert CreditEntry.objects.count() == 1


def test_staff_adjust_with_a_reason_and_readers_cannot(api, brand, credited):
    done = _post(api, "adjust", {"email": credited, "currency": "USD", "amount": "-20", "reason": "goodwill reversed"})
    below = _post(api, "adjust", {"email": credited, "currency": "USD", "amount": "-500", "reason": "mistake"})
    token = api_token_create(slug=brand.slug, role="copywriter", actor=OPERATOR).raw
    reader = Client(headers={"Authorization": f"Bearer {token}"})
    refused = _post(reader, "adjust", {"email": credited, "currency": "USD", "amount": "5", "reason": "x"})

    assert (done.status_code, done.json()["amount"]) == (201, "-20.00")
    assert below.status_code == 409
    assert refused.status_code == 403
    assert api.get(f"/api/v1/store-credit/{credited}").json()["balances"] == [{"currency": "USD", "amount": "100.00"}]
