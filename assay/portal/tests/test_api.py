"""The portal API: lookup -> portal token -> start a return -> follow it, as a headless storefront would."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.core import signing
from django.test import Client, override_settings
from pytest_django import DjangoAssertNumQueries

from assay.brands.models import Brand
from assay.orders.models import Order
from assay.orders.schema import CanonicalLine
from assay.portal.tests.shop import ring_product, shop_order
from assay.returns.models import ReturnRequest
from assay.returns.portal_access import LOOKUP_FAILED, TOKEN_TTL_S, order_token_issue

pytestmark = pytest.mark.django_db


def post(client: Client, path: str, body: Any, **headers: str) -> Any:
    return client.post(f"/api/v1/portal{path}", json.dumps(body), content_type="application/json", headers=headers)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def ring_order(brand: Brand) -> Order:
    ring_product(brand)
    return shop_order(
        brand,
        "#1001",
        lines=[
            CanonicalLine(external_id="r", sku="SOL-6.5", title="Solitaire ring", variant_title="6.5", quantity=2,
                          unit_price=Decimal(1200), fulfilled_quantity=2),
            CanonicalLine(external_id="p", sku="PEND-1", title="Initial pendant", quantity=1, unit_price=Decimal(300),
                          properties={"Engraving": "A.L."}, fulfilled_quantity=1),
        ],
    )  # fmt: skip


def lookup(client: Client, number: str = "#1001", email: str = "ada@example.com", **extra: Any) -> Any:
    return post(client, "/lookup", {"order_number": number, "email": email, **extra})


def token_for(client: Client, **extra: Any) -> str:
    response = lookup(client, **extra)
    assert response.status_code == 200, response.content
    return str(response.json()["token"])


def ring_line(order: Order) -> int:
    return order.lines.get(sku="SOL-6.5").pk


def test_a_lookup_answers_a_token_and_each_lines_eligibility(client: Client, brand: Brand, ring_order: Order) -> None:
    response = lookup(client, "1001", "ADA@example.com")

    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"token", "order"}
    assert body["order"]["number"] == "#1001"
    ring, pendant = body["order"]["lines"]
    assert set(ring) >= {"id", "sku", "title", "quantity", "eligibility"}
    assert set(ring["eligibility"]) >= {"eligible", "reason", "resolutions", "methods"}
    assert (ring["id"], ring["sku"], ring["title"], ring["quantity"]) == (
        ring_line(ring_order), "SOL-6.5", "Solitaire ring", 2,
    )  # fmt: skip
    assert ring["eligibility"]["eligible"] is True
    assert ring["eligibility"]["resolutions"] == ["refund", "store_credit", "exchange"]
    assert ring["eligibility"]["methods"] == ["mail", "drop_off"]
    assert pendant["eligibility"] == {
        **pendant["eligibility"],
        "eligible": False,
        "reason": "Engraved and personalised pieces are final sale and cannot be returned.",
        "resolutions": [],
    }


@pytest.mark.parametrize(
    ("number", "email"), [("#1001", "eve@example.com"), ("#1002", "ada@example.com"), ("#404", "x@example.com")]
)
def test_a_wrong_pair_is_404_with_one_generic_message(
    client: Client, brand: Brand, ring_order: Order, make_shop_order: Callable[..., Order], number: str, email: str
) -> None:
    make_shop_order("#1002", email="bob@example.com")

    response = lookup(client, number, email)

    assert response.status_code == 404
    assert response.json() == {"detail": LOOKUP_FAILED}


def test_the_brand_comes_from_the_body_or_a_header_when_there_are_several(
    client: Client, brand: Brand, other_brand: Brand, ring_order: Order
) -> None:
    shop_order(other_brand, "#1001", email="lumen@example.com")

    unnamed = lookup(client)
    in_body = lookup(client, brand="aurelia")
    in_header = post(client, "/lookup", {"order_number": "1001", "email": "lumen@example.com"}, X_Assay_Brand="lumen")
    unknown = lookup(client, brand="nope")

    assert unnamed.status_code == 404
    assert "say which brand" in unnamed.json()["detail"]
    assert in_body.status_code == 200
    assert in_header.status_code == 200
    assert unknown.status_code == 404
    assert lookup(client, brand="lumen").json() == {"detail": LOOKUP_FAILED}


@override_settings(PORTAL_LOOKUPS_PER_CLIENT=10, PORTAL_LOOKUPS_PER_ORDER=100)
def test_lookups_beyond_the_clients_limit_are_429(client: Client, brand: Brand, ring_order: Order) -> None:
    answers = [lookup(client, f"#{3000 + n}").status_code for n in range(10)]

    refused = lookup(client)

    assert answers == [404] * 10
    assert refused.status_code == 429
    assert refused.json() == {"detail": "Too many attempts. Please try again in a minute."}
    assert 1 <= int(refused["Retry-After"]) <= 60


@override_settings(PORTAL_LOOKUPS_PER_CLIENT=100, PORTAL_LOOKUPS_PER_ORDER=5)
def test_lookups_beyond_the_orders_limit_are_429_from_any_client(brand: Brand, ring_order: Order) -> None:
    for n in range(5):
        assert lookup(Client(REMOTE_ADDR=f"203.0.113.{n}"), "#1001", f"guess{n}@example.com").status_code == 404

    assert lookup(Client(REMOTE_ADDR="198.51.100.1")).status_code == 429


def return_body(order_line: int, **line: Any) -> dict[str, Any]:
    item = {"line_id": order_line, "quantity": 1, "reason": "size_too_small", "resolution": "exchange",
            "exchange_sku": "SOL-7", **line}  # fmt: skip
    return {"lines": [item], "method": "mail"}


def test_a_size_exchange_by_sku_is_created_with_the_contracts_shape(
    client: Client, brand: Brand, ring_order: Order
) -> None:
    token = token_for(client)

    response = post(client, "/returns", return_body(ring_line(ring_order)), **bearer(token))

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= {"rma", "status", "lines"}
    assert re.fullmatch(r"R-\d+", body["rma"])
    assert body["status"] in ("authorised", "pending_review")
    [line] = body["lines"]
    assert (line["line_id"], line["resolution"], line["exchange_kind"], line["exchange_sku"], line["size_wanted"]) == (
        ring_line(ring_order), "exchange", "size", "SOL-7", "7",
    )  # fmt: skip


def test_an_exchange_for_another_piece_is_recognised_from_its_sku(
    client: Client, brand: Brand, ring_order: Order
) -> None:
    ring_product(brand, external_id="p-halo", title="Halo ring", sku="HALO", price="1500")
    token = token_for(client)

    response = post(client, "/returns", return_body(ring_line(ring_order), exchange_sku="HALO-7"), **bearer(token))

    assert response.status_code == 201, response.content
    assert response.json()["lines"][0]["exchange_kind"] == "product"


def test_a_refund_and_the_status_with_its_timeline(client: Client, brand: Brand, ring_order: Order) -> None:
    token = token_for(client)
    created = post(
        client, "/returns", return_body(ring_line(ring_order), resolution="refund", exchange_sku="", reason="style"),
        **bearer(token),
    ).json()  # fmt: skip

    response = client.get(f"/api/v1/portal/returns/{created['rma']}", headers=bearer(token))

    assert response.status_code == 200
    body = response.json()
    assert (body["rma"], body["status"]) == (created["rma"], created["status"])
    assert body["timeline"][0]["headline"] == "Return requested"
    assert {"at", "status", "headline", "by", "detail"} <= set(body["timeline"][0])


@pytest.mark.parametrize(
    ("change", "status", "detail"),
    [
        ({"quantity": 3}, 422, "at most 2 can be returned"),
        ({"line_id": 999_999}, 422, "line 999999 is not part of this order"),
        ({"reason": "bored"}, 422, "lines.0.reason"),
        ({"resolution": "exchange", "exchange_sku": ""}, 422, "say what you want in exchange"),
        ({"exchange_sku": "SOL-6.5"}, 422, "is the variant you have"),
        ({"exchange_kind": "size", "exchange_sku": "NOPE-1"}, 422, "'NOPE-1' is not another ring size of this piece"),
        ({"exchange_sku": "NOPE-1"}, 422, "there is no item with SKU 'NOPE-1'"),
        ({"quantity": 0}, 422, "greater than or equal to 1"),
    ],
)
def test_bad_input_is_refused_clearly_and_creates_nothing(
    client: Client, brand: Brand, ring_order: Order, change: dict[str, Any], status: int, detail: str
) -> None:
    token = token_for(client)

    response = post(client, "/returns", return_body(ring_line(ring_order), **change), **bearer(token))

    assert response.status_code == status
    assert detail in response.json()["detail"]
    assert not ReturnRequest.objects.exists()


def test_a_line_of_another_order_is_refused(
    client: Client, brand: Brand, ring_order: Order, make_shop_order: Callable[..., Order]
) -> None:
    other = make_shop_order("#1002", email="bob@example.com")
    token = token_for(client)

    response = post(client, "/returns", return_body(other.lines.get().pk, resolution="refund", exchange_sku=""),
                    **bearer(token))  # fmt: skip

    assert response.status_code == 422
    assert "is not part of this order" in response.json()["detail"]


def test_a_method_the_policy_does_not_allow_is_refused(client: Client, brand: Brand, ring_order: Order) -> None:
    token = token_for(client)
    body = {**return_body(ring_line(ring_order)), "method": "in_store"}

    response = post(client, "/returns", body, **bearer(token))

    assert response.status_code == 422
    assert "cannot be returned by in store" in response.json()["detail"]


def test_a_retry_with_the_same_idempotency_key_answers_the_first_rma(
    client: Client, brand: Brand, ring_order: Order
) -> None:
    token = token_for(client)
    body = return_body(ring_line(ring_order))

    first = post(client, "/returns", body, **bearer(token), Idempotency_Key="k-1")
    again = post(client, "/returns", body, **bearer(token), Idempotency_Key="k-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert ReturnRequest.objects.count() == 1


def test_a_double_submit_without_a_key_cannot_return_the_same_unit_twice(
    client: Client, brand: Brand, ring_order: Order
) -> None:
    token = token_for(client)
    body = return_body(ring_line(ring_order), quantity=2)

    first = post(client, "/returns", body, **bearer(token))
    again = post(client, "/returns", body, **bearer(token))

    assert first.status_code == 201
    assert again.status_code == 422
    assert "at most 0 can be returned (2 bought, 2 already in a return)" in again.json()["detail"]
    assert ReturnRequest.objects.count() == 1


def test_the_same_submission_key_returns_the_request_it_created(
    client: Client, brand: Brand, ring_order: Order
) -> None:
    token = token_for(client)
    body = {**return_body(ring_line(ring_order)), "submission_key": "3f2a9c"}

    first = post(client, "/returns", body, **bearer(token))
    again = post(client, "/returns", body, **bearer(token))

    assert again.json()["rma"] == first.json()["rma"]
    assert ReturnRequest.objects.count() == 1


@pytest.mark.parametrize("path", ["/returns"])
def test_without_a_token_the_returns_calls_are_401(client: Client, brand: Brand, ring_order: Order, path: str) -> None:
    assert post(client, path, return_body(ring_line(ring_order))).status_code == 401
    assert client.get("/api/v1/portal/returns/R-1").status_code == 401


def test_a_staff_api_token_is_no_portal_token(client: Client, api_token: str, ring_order: Order) -> None:
    response = post(client, "/returns", return_body(ring_line(ring_order)), **bearer(api_token))

    assert response.status_code == 401
    assert "not valid" in response.json()["detail"]


def test_an_expired_token_is_401_saying_so(client: Client, brand: Brand, ring_order: Order) -> None:
    old, _ = order_token_issue(brand_id=brand.pk, order_id=ring_order.pk, now=time.time() - TOKEN_TTL_S - 1)

    response = post(client, "/returns", return_body(ring_line(ring_order)), **bearer(old))

    assert response.status_code == 401
    assert response.json() == {"detail": "the portal token has expired; look the order up again"}


def test_a_tampered_token_is_401(client: Client, brand: Brand, ring_order: Order) -> None:
    token = token_for(client)
    payload = signing.loads(token, salt="assay.portal.order-token")
    forged = signing.dumps({**payload, "o": payload["o"] + 1}, salt="not-the-salt")

    for bad in (token[:-2] + "xx", forged):
        response = client.get("/api/v1/portal/returns/R-1", headers=bearer(bad))
        assert response.status_code == 401
        assert response.json() == {"detail": "the portal token is not valid; look the order up again"}


def test_another_orders_return_is_404_with_this_orders_token(
    client: Client, brand: Brand, ring_order: Order, make_shop_order: Callable[..., Order]
) -> None:
    other = make_shop_order("#1002", email="bob@example.com")
    bobs = token_for(client, number="#1002", email="bob@example.com")
    theirs = post(client, "/returns", return_body(other.lines.get().pk, resolution="refund", exchange_sku=""),
                  **bearer(bobs)).json()["rma"]  # fmt: skip
    mine = token_for(client)

    assert client.get(f"/api/v1/portal/returns/{theirs}", headers=bearer(mine)).status_code == 404
    assert post(client, f"/returns/{theirs}/cancel", {}, **bearer(mine)).status_code == 404
    assert client.get(f"/api/v1/portal/returns/{theirs}", headers=bearer(bobs)).status_code == 200


def test_a_shopper_cancels_before_shipping(client: Client, brand: Brand, ring_order: Order) -> None:
    token = token_for(client)
    rma = post(client, "/returns", return_body(ring_line(ring_order)), **bearer(token)).json()["rma"]

    response = post(client, f"/returns/{rma}/cancel", {}, **bearer(token))

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["cancellable"] is False
    again = post(client, f"/returns/{rma}/cancel", {}, **bearer(token))
    assert again.status_code == 409


def test_a_warm_lookup_naming_its_brand_costs_one_query(
    client: Client, brand: Brand, ring_order: Order, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    lookup(client, brand="aurelia")  # the brand's id and its policy are remembered after the first

    with django_assert_num_queries(1):  # the order found by number and e-mail, its facts and history
        response = lookup(client, brand="aurelia")
    with django_assert_num_queries(2):  # unnamed: is this the only brand?
        unnamed = lookup(client)

    assert (response.status_code, unnamed.status_code) == (200, 200)


def test_the_status_says_what_the_shopper_gets_back_and_their_credit(
    client: Client, brand: Brand, ring_order: Order
) -> None:
    from assay.core.audit import Actor
    from assay.policies.services import policy_default_ensure
    from assay.resolutions.tests.conftest import set_resolution_terms

    policy_default_ensure(brand_id=brand.pk, actor=Actor.system("test"))
    set_resolution_terms(brand.pk, resolve_on="approval")
    token = token_for(client)
    created = post(
        client, "/returns",
        return_body(ring_line(ring_order), resolution="store_credit", exchange_sku="", reason="style"),
        **bearer(token),
    ).json()  # fmt: skip

    body = client.get(f"/api/v1/portal/returns/{created['rma']}", headers=bearer(token)).json()

    [payout] = body["payouts"]
    assert (payout["what"], payout["amount"], payout["done"]) == ("Store credit", "1300.00", True)
    assert body["store_credit"] == [{"currency": "USD", "amount": "1300.00"}]
    assert body["exchanges"] == []
