"""Proving an order: lookup rate limits and the portal token."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from django.core import signing
from django.test import override_settings

from assay.brands.models import Brand
from assay.core.errors import NotFound
from assay.orders.models import Order
from assay.returns.portal_access import (
    LOOKUP_FAILED,
    TOKEN_TTL_S,
    PortalTokenInvalid,
    TooManyAttempts,
    client_address,
    lookup_throttle,
    order_token_issue,
    order_token_read,
    portal_lookup,
)

pytestmark = pytest.mark.django_db

NOW = 1_800_000_000.0  # the start of a minute window (divisible by 60)


@override_settings(PORTAL_LOOKUPS_PER_CLIENT=10, PORTAL_LOOKUPS_PER_ORDER=100)
def test_a_client_gets_its_ten_lookups_a_minute_then_is_refused_until_the_minute_ends() -> None:
    for n in range(10):
        lookup_throttle(brand_id=1, number=f"#{1000 + n}", client="203.0.113.5", now=NOW + n)

    with pytest.raises(TooManyAttempts) as refused:
        lookup_throttle(brand_id=1, number="#2000", client="203.0.113.5", now=NOW + 20)

    assert refused.value.status_code == 429
    assert refused.value.message == "Too many attempts. Please try again in a minute."
    assert refused.value.retry_after == 40
    lookup_throttle(brand_id=1, number="#2000", client="198.51.100.7", now=NOW + 21)  # another client
    lookup_throttle(brand_id=1, number="#2000", client="203.0.113.5", now=NOW + 60)  # the next minute


@override_settings(PORTAL_LOOKUPS_PER_CLIENT=100, PORTAL_LOOKUPS_PER_ORDER=5)
def test_an_order_number_gets_five_lookups_a_minute_from_any_clients_however_written() -> None:
    for n, typed in enumerate(["#1001", "1001", " 1001", "#1001 ", "1001"]):
        lookup_throttle(brand_id=1, number=typed, client=f"203.0.113.{n}", now=NOW)

    with pytest.raises(TooManyAttempts):
        lookup_throttle(brand_id=1, number="#1001", client="198.51.100.99", now=NOW + 1)

    lookup_throttle(brand_id=2, number="#1001", client="198.51.100.99", now=NOW + 1)  # another brand's 1001
    lookup_throttle(brand_id=1, number="#1002", client="198.51.100.99", now=NOW + 1)


def test_the_default_limits_let_a_real_shopper_through() -> None:
    for n in range(10):
        lookup_throttle(brand_id=1, number="#1001" if n < 5 else f"#{n}", client="203.0.113.5", now=NOW)


@override_settings(PORTAL_LOOKUPS_PER_CLIENT=0, PORTAL_LOOKUPS_PER_ORDER=0)
def test_a_limit_of_zero_is_no_limit() -> None:
    for _ in range(200):
        lookup_throttle(brand_id=1, number="#1001", client="203.0.113.5", now=NOW)


def test_the_client_is_the_socket_address_unless_a_proxy_header_is_trusted() -> None:
    meta = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "1.2.3.4, 203.0.113.5"}

    assert client_address(meta) == "10.0.0.2"
    with override_settings(CLIENT_IP_HEADER="HTTP_X_FORWARDED_FOR"):
        assert client_address(meta) == "203.0.113.5"
        assert client_address({"REMOTE_ADDR": "10.0.0.2"}) == "10.0.0.2"


@pytest.mark.parametrize(("number", "email"), [("#1001", "eve@example.com"), ("#9999", "ada@example.com")])
def test_a_wrong_pair_gets_one_generic_message(
    brand: Brand, make_shop_order: Callable[..., Order], number: str, email: str
) -> None:
    make_shop_order("#1001", email="ada@example.com")

    with pytest.raises(NotFound) as missing:
        portal_lookup(brand_id=brand.pk, number=number, email=email, client="203.0.113.5")

    assert missing.value.message == LOOKUP_FAILED


def test_a_token_carries_its_brand_and_order_until_it_expires() -> None:
    token, expires_at = order_token_issue(brand_id=3, order_id=42, now=NOW)

    grant = order_token_read(token, now=NOW + TOKEN_TTL_S - 1)

    assert (grant.brand_id, grant.order_id, grant.expires_at) == (3, 42, expires_at)
    assert expires_at.timestamp() == NOW + TOKEN_TTL_S
    with pytest.raises(PortalTokenInvalid, match="expired"):
        order_token_read(token, now=NOW + TOKEN_TTL_S)


def test_a_token_issued_now_reads_now() -> None:
    token, _ = order_token_issue(brand_id=3, order_id=42)

    assert order_token_read(token).order_id == 42
    with pytest.raises(PortalTokenInvalid):
        order_token_read(token, now=time.time() + TOKEN_TTL_S + 1)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # the signature
        lambda t: "x" + t[1:],  # the payload
        lambda t: signing.dumps({"b": 3, "o": 43, "e": int(NOW) + 999}, salt="another.salt", compress=False),
        lambda t: signing.dumps({"b": 3, "o": "43", "e": int(NOW) + 999}, salt="assay.portal.order-token"),
        lambda t: "",
        lambda t: "not-a-token",
        lambda t: t * 10,
    ],
)
def test_an_altered_or_foreign_token_is_refused(tamper: Callable[[str], str]) -> None:
    token, _ = order_token_issue(brand_id=3, order_id=42, now=NOW)

    with pytest.raises(PortalTokenInvalid) as refused:
        order_token_read(tamper(token), now=NOW + 1)

    assert refused.value.status_code == 401
