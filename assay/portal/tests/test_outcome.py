"""The shopper's status page says what they get back, and their store credit balance."""

from __future__ import annotations

import pytest
from django.test import Client

from assay.brands.models import Brand
from assay.core.audit import Actor
from assay.orders.models import Order
from assay.policies.services import policy_default_ensure
from assay.portal.tests.test_pages import look_up, ring_line, submit, url
from assay.resolutions.models import Payout
from assay.resolutions.tests.conftest import set_resolution_terms
from assay.returns.models import ReturnRequest

pytestmark = pytest.mark.django_db


def test_store_credit_settled_on_approval_shows_with_the_balance(
    client: Client, brand: Brand, ring_order: Order
) -> None:
    policy_default_ensure(brand_id=brand.pk, actor=Actor.system("test"))
    set_resolution_terms(brand.pk, resolve_on="approval")
    look_up(client, brand)

    submit(client, brand, ring_line(ring_order), **{f"line-{ring_line(ring_order)}-resolution": "store_credit"})

    rma = ReturnRequest.objects.get().rma
    assert Payout.objects.get().kind == "store_credit"
    page = client.get(url("status", brand, rma=rma)).content.decode()
    assert "What you get back" in page
    assert "Store credit: <strong>1,300.00 USD</strong> — Issued on" in page  # 1,200 + the 10% bonus, capped at 100
    assert "Your store credit balance: <strong>1,300.00 USD</strong>" in page


def test_nothing_is_promised_before_the_return_is_settled(client: Client, brand: Brand, ring_order: Order) -> None:
    look_up(client, brand)
    submit(client, brand, ring_line(ring_order))
    rma = ReturnRequest.objects.get().rma

    page = client.get(url("status", brand, rma=rma)).content.decode()

    assert "What you get back" not in page
