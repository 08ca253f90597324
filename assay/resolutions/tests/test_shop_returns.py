"""The shop's record of a return follows Assay's: opened once authorised (once, even after a lost
answer), closed when resolved, cancelled with it; refusals wait for staff."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from assay.resolutions.models import PayoutSettings, ShopReturn, ShopReturnStatus
from assay.resolutions.providers import (
    ProviderAccount,
    ProviderError,
    ShopReturnInstruction,
    ShopReturnState,
    register_shop_returns,
    shop_returns_named,
)
from assay.resolutions.services import resolutions_due
from assay.resolutions.shop_returns import shop_return_retry, shop_returns_run_due
from assay.resolutions.tests.conftest import move_lines, set_resolution_terms
from assay.returns.services import return_request_cancel
from assay.returns.tests.conftest import SHOPPER, STAFF, ask, create, lines_of

pytestmark = pytest.mark.django_db(transaction=True)


class ScriptedShop:
    """A shop that keeps the returns opened in it, by order and lines, and can be told to fail."""

    name = "scriptedshop"

    def __init__(self) -> None:
        self.returns: dict[str, ShopReturnState] = {}
        self.lines: dict[str, tuple[tuple[str, int], ...]] = {}
        self.opened = 0
        self.fail_with: ProviderError | None = None
        self.lose_answer = False

    def _match(self, instruction: ShopReturnInstruction) -> str:
        lines = sorted((line.line_external_id, line.quantity) for line in instruction.lines)
        return f"{instruction.order_external_id}:{lines}"

    def return_find(self, instruction: ShopReturnInstruction, account: ProviderAccount) -> ShopReturnState | None:
        return self.returns.get(self._match(instruction))

    def return_open(self, instruction: ShopReturnInstruction, account: ProviderAccount) -> ShopReturnState:
        if self.fail_with is not None:
            raise self.fail_with
        self.opened += 1
        state = ShopReturnState(reference=f"gid://shop/Return/{self.opened}", status="open")
        self.returns[self._match(instruction)] = state
        if self.lose_answer:
            self.lose_answer = False
            raise ProviderError("the connection dropped", transient=True)
        return state

    def return_close(self, reference: str, account: ProviderAccount) -> ShopReturnState:
        return ShopReturnState(reference=reference, status="closed")

    def return_cancel(self, reference: str, account: ProviderAccount) -> ShopReturnState:
        return ShopReturnState(reference=reference, status="canceled")


@pytest.fixture
def shop_api() -> Iterator[ScriptedShop]:
    before = shop_returns_named("scriptedshop")
    fake = ScriptedShop()
    register_shop_returns(fake)
    yield fake
    if before is not None:
        register_shop_returns(before)


@pytest.fixture
def recorded(shop, shop_api):
    PayoutSettings.objects.create(brand=shop.brand, record_returns_in="scriptedshop")
    ring = shop.piece(price="300")
    order = shop.order((ring.size("6"), 1))
    return create(order, ask(lines_of(order)[0], 1))


def test_an_authorised_return_is_opened_in_the_shop_once_and_closed_when_resolved(recorded, shop_api):
    resolutions_due(brand_id=recorded.brand_id, request_id=recorded.pk)
    resolutions_due(brand_id=recorded.brand_id, request_id=recorded.pk)

    record = ShopReturn.objects.get(request=recorded)
    assert (record.status, record.reference, shop_api.opened) == (ShopReturnStatus.OPEN, "gid://shop/Return/1", 1)

    move_lines(recorded, "in_transit", "received", "inspected")
    resolutions_due(brand_id=recorded.brand_id, request_id=recorded.pk)  # settles, pays, resolves
    shop_returns_run_due()

    record.refresh_from_db()
    assert (record.status, record.shop_status) == (ShopReturnStatus.CLOSED, "closed")


def test_a_lost_answer_is_found_in_the_shop_not_opened_twice(recorded, shop_api):
    shop_api.lose_answer = True

    resolutions_due(brand_id=recorded.brand_id, request_id=recorded.pk)
    record = ShopReturn.objects.get(request=recorded)
    assert (record.status, record.last_error) == (ShopReturnStatus.PENDING, "the connection dropped")
    shop_returns_run_due(now=timezone.now() + timedelta(minutes=6))

    record.refresh_from_db()
    assert (record.status, shop_api.opened) == (ShopReturnStatus.OPEN, 1)


def test_a_cancelled_return_is_cancelled_in_the_shop(recorded, shop_api):
    resolutions_due(brand_id=recorded.brand_id, request_id=recorded.pk)

    return_request_cancel(brand_id=recorded.brand_id, request_id=recorded.pk, actor=SHOPPER)
    shop_returns_run_due()

    record = ShopReturn.objects.get(request=recorded)
    assert (record.status, record.shop_status) == (ShopReturnStatus.CANCELLED, "canceled")


def test_a_refusal_waits_for_staff_who_can_ask_again(recorded, shop_api):
    shop_api.fail_with = ProviderError("Return line item quantity exceeds fulfilled quantity", transient=False)

    resolutions_due(brand_id=recorded.brand_id, request_id=recorded.pk)
    record = ShopReturn.objects.get(request=recorded)
    assert record.status == ShopReturnStatus.FAILED
    assert "exceeds fulfilled quantity" in record.last_error

    shop_api.fail_with = None
    shop_return_retry(brand_id=recorded.brand_id, record_id=record.pk, actor=STAFF)

    record.refresh_from_db()
    assert (record.status, shop_api.opened) == (ShopReturnStatus.OPEN, 1)


def test_nothing_is_recorded_unless_the_brand_asks(shop, shop_api):
    set_resolution_terms(shop.brand.pk, resolve_on="approval")
    ring = shop.piece(price="300")
    order = shop.order((ring.size("6"), 1))
    request = create(order, ask(lines_of(order)[0], 1))

    resolutions_due(brand_id=request.brand_id, request_id=request.pk)

    assert not ShopReturn.objects.exists()
    assert shop_api.opened == 0
