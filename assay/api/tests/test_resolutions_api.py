"""Resolving returns through the API: resolve now, adjustments, payouts and exchanges on the detail."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from assay.core.audit import Actor
from assay.policies.services import policy_default_ensure
from assay.resolutions.models import Payout, Settlement
from assay.returns.models import ReturnLine, ReturnRequest
from assay.returns.tests.conftest import Shop, ask, create, lines_of

OPERATOR = Actor.system("test")
pytestmark = pytest.mark.django_db(transaction=True)  # payouts leave after commit


@pytest.fixture
def authorised(brand: Any) -> ReturnRequest:
    policy_default_ensure(brand_id=brand.pk, actor=OPERATOR)
    shop = Shop(brand=brand)
    ring = shop.piece("Stacking band", price="300", sizes=("6", "7"))
    order = shop.order((ring.size("6"), 1), (ring.size("7"), 1), email="bea@example.com")
    first, second = lines_of(order)
    return create(order, ask(first, reason="style"), ask(second, reason="style", resolution="store_credit"))


def _resolve(api: Client, rma: str, body: dict[str, Any], key: str | None = None) -> Any:
    headers = {"Idempotency-Key": key} if key else {}
    return api.post(f"/api/v1/returns/{rma}/resolve", body, content_type="application/json", headers=headers)


def test_the_detail_proposes_the_resolution_broken_down_before_anything_is_paid(api, authorised):
    detail = api.get(f"/api/v1/returns/{authorised.rma}").json()

    assert (detail["settlements"], detail["payouts"], detail["exchanges"]) == ([], [], [])
    proposed = {p["breakdown"]["resolution"]: p["breakdown"] for p in detail["proposed"]}
    assert proposed["refund"]["total"] == "300.00"
    assert (proposed["store_credit"]["bonus"], proposed["store_credit"]["total"]) == ("30.00", "330.00")


def test_resolving_now_pays_each_line_once_and_lists_the_payouts(api, authorised):
    first = _resolve(api, authorised.rma, {})
    again = _resolve(api, authorised.rma, {})

    assert (first.status_code, again.status_code) == (200, 200)
    payouts = sorted((p["kind"], p["amount"], p["status"], p["provider"]) for p in again.json()["payouts"])
    assert payouts == [
        ("refund", "300.00", "succeeded", "simulated"),
        ("store_credit", "330.00", "succeeded", "ledger"),
    ]
    assert again.json()["proposed"] == []
    assert Payout.objects.count() == 2


def test_an_adjustment_needs_a_reason_and_is_kept_with_the_settlement(api, authorised):
    line = ReturnLine.objects.filter(request=authorised, resolution="refund").get()

    refused = _resolve(api, authorised.rma, {"lines": [{"line_id": line.pk, "amount": "250.00"}]})
    assert refused.status_code == 422
    assert "say why" in refused.json()["detail"]
    assert not Settlement.objects.exists()

    done = _resolve(api, authorised.rma, {"lines": [{"line_id": line.pk, "amount": "250.00", "reason": "worn"}]})

    settled = {s["line_id"]: s for s in done.json()["settlements"]}
    assert (settled[line.pk]["amount"], settled[line.pk]["proposed_amount"]) == ("250.00", "300.00")
    assert settled[line.pk]["adjustment_reason"] == "worn"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"lines": [{"line_id": 999999, "amount": "1.00", "reason": "x"}]}, 422),
        ({"lines": [{"line_id": 1, "amount": "-1"}]}, 422),
        ({"lines": [{"line_id": 1, "amount": "1e3"}]}, 422),
        ({"lines": [{"line_id": 1, "resolution": "cash"}]}, 422),
        ({"lines": "all"}, 422),
    ],
)
def test_malformed_resolutions_are_refused_and_pay_nothing(api, authorised, body, status):
    response = _resolve(api, authorised.rma, body)

    assert response.status_code == status
    assert not Payout.objects.exists()


def test_a_retried_resolve_with_its_key_answers_the_first_result(api, authorised):
    first = _resolve(api, authorised.rma, {}, key="resolve-1")
    again = _resolve(api, authorised.rma, {}, key="resolve-1")

    assert again.status_code == 200
    assert again.content == first.content
    assert Payout.objects.count() == 2


def test_a_reading_role_cannot_resolve(brand, authorised):
    from assay.brands.services import api_token_create

    token = api_token_create(slug=brand.slug, role="copywriter", actor=OPERATOR).raw
    response = _resolve(Client(headers={"Authorization": f"Bearer {token}"}), authorised.rma, {})

    assert response.status_code == 403
    assert not Payout.objects.exists()


def test_another_brands_return_cannot_be_resolved(api, other_brand):
    policy_default_ensure(brand_id=other_brand.pk, actor=OPERATOR)
    shop = Shop(brand=other_brand)
    ring = shop.piece(price="300")
    order = shop.order((ring.size("6"), 1))
    theirs = create(order, ask(lines_of(order)[0]))

    assert _resolve(api, theirs.rma, {}).status_code == 404
    assert not Payout.objects.exists()
