"""The canonical order built without a second validation equals the one validation builds.

`order_from_shopify` trusts the values the Shopify payload model validated and checks only the
bounds the canonical schema adds; validating the same values must give the same order (values,
types, set fields), and an order outside those bounds must be refused for the same reason.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from assay.integrations.shopify.mapping import order_from_shopify, order_values
from assay.integrations.shopify.payloads import ShopifyOrder
from assay.integrations.shopify.tests.helpers import FIXTURES, payload
from assay.orders.schema import CanonicalOrder

ORDER_FIXTURES = sorted(path.stem for path in FIXTURES.glob("order_*.json"))


def outcome(build: Any, shopify: ShopifyOrder) -> CanonicalOrder | str:
    try:
        result: CanonicalOrder = build(shopify)
    except ValidationError as exc:
        return str(exc)
    return result


def validated(shopify: ShopifyOrder) -> CanonicalOrder:
    return CanonicalOrder.model_validate(order_values(shopify))


def shape(model: Any) -> Any:
    """Everything that tells two models apart: class, set fields and each value's type and repr."""
    if isinstance(model, BaseModel):
        return (type(model), sorted(model.model_fields_set), {k: shape(v) for k, v in vars(model).items()})
    if isinstance(model, list):
        return [shape(item) for item in model]
    if isinstance(model, dict):
        return {key: shape(value) for key, value in model.items()}
    return (type(model), repr(model))


def assert_same(shopify: ShopifyOrder) -> None:
    fast = outcome(order_from_shopify, shopify)
    slow = outcome(validated, shopify)
    if isinstance(slow, str) or isinstance(fast, str):
        assert fast == slow
        return
    assert fast == slow
    assert shape(fast) == shape(slow)
    assert fast.model_dump_json() == slow.model_dump_json()


@pytest.mark.parametrize("name", ORDER_FIXTURES)
def test_each_fixture_order_is_the_same_built_or_validated(name: str) -> None:
    assert_same(ShopifyOrder.model_validate(payload(name)))


def test_the_fixtures_take_the_fast_path() -> None:
    # Guards the test above: were every order validated, it would compare validation with itself.
    shopify = ShopifyOrder.model_validate(payload("order_full"))
    values = order_values(shopify)
    built = order_from_shopify(shopify)

    assert type(built.lines[0]) is type(validated(shopify).lines[0])
    assert built.lines[0].__dict__.keys() == values["lines"][0].keys()
    assert built.model_fields_set == set(values)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda d: d["line_items"][0].update(sku="X" * 101), "lines.0.sku"),
        (lambda d: d["line_items"][0].update(quantity=0), "lines.0.quantity"),
        (lambda d: d["line_items"][0].update(price="-1.00"), "lines.0.unit_price"),
        (lambda d: d["line_items"][0].update(price="1.00001"), "lines.0.unit_price"),
        (lambda d: d.update(total_price="12345678901.00"), "total"),
        (lambda d: d.update(currency="EURO"), "currency"),
        (lambda d: d.update(name="#" + "9" * 64), "number"),
        (lambda d: d["customer"].update(first_name="A" * 121), "customer.first_name"),
        (lambda d: d.update(financial_status="p" * 31), "financial_status"),
    ],
)
def test_a_value_beyond_a_canonical_bound_is_refused_as_validation_refuses_it(change: Any, reason: str) -> None:
    data = payload("order_full")
    change(data)
    shopify = ShopifyOrder.model_validate(data)

    with pytest.raises(ValidationError) as refused:
        order_from_shopify(shopify)

    assert reason in str(refused.value)
    assert str(refused.value) == outcome(validated, shopify)


def test_values_the_canonical_validators_change_are_changed_alike() -> None:
    data = payload("order_full") | {"email": "  Amelia.HART@Example.com ", "currency": " usd "}
    data["line_items"][0]["price"] = "12.50000"  # trailing zeros: within 4 places once normalised
    shopify = ShopifyOrder.model_validate(data)

    built = order_from_shopify(shopify)

    assert (built.email, built.currency) == ("amelia.hart@example.com", "USD")
    assert str(built.lines[0].unit_price) == "12.50000"
    assert_same(shopify)


# --- generated orders: the fixtures with their values redrawn, at most one of them out of bounds ------

_short_texts = st.one_of(st.just(""), st.text(max_size=12), st.just("  Mixed.Case@Example.IO "))
_valid_amounts = st.one_of(
    st.decimals(min_value=0, max_value=10**6, places=2),
    st.decimals(min_value=0, max_value=Decimal("9999999999.9999"), places=4),
    st.sampled_from(["0", "1.2300", "0E-10", "1E+3", "9999999999.9999", "-0"]).map(Decimal),
)
_valid_quantities = st.one_of(st.integers(min_value=1, max_value=5), st.just(10**6))
_valid_ids = st.integers(min_value=1, max_value=2**63 - 1)
# Values the Shopify payload model takes and the canonical schema refuses, one per drawn order.
_OUT_OF_BOUNDS: dict[str, Any] = {
    "sku": st.text(min_size=101, max_size=120),
    "name": st.text(min_size=65, max_size=80).map(lambda text: "#" + text),
    "email": st.text(min_size=255, max_size=260),
    "first_name": st.text(min_size=121, max_size=130),
    "amount places": st.sampled_from(["0.00001", "1.23456"]).map(Decimal),
    "amount size": st.sampled_from(["10000000000", "123456789012.5"]).map(Decimal),
    "negative price": st.decimals(min_value=-100, max_value=Decimal("-0.01"), places=2),
    "quantity": st.sampled_from([0, -1, 10**6 + 1]),
    "id": st.just(10**70),
    "currency": st.sampled_from(["EURO", "€€€", "us"]),
    "tracking number": st.text(min_size=101, max_size=110),
}


def _amount_text(value: Decimal) -> str:
    return format(value, "f")


@st.composite
def shopify_orders(draw: st.DrawFn) -> dict[str, Any]:
    data: dict[str, Any] = payload(draw(st.sampled_from(ORDER_FIXTURES)))
    broken = draw(st.one_of(st.none(), st.sampled_from(sorted(_OUT_OF_BOUNDS))))

    def value(kind: str, valid: Any) -> Any:
        return draw(_OUT_OF_BOUNDS[kind] if broken == kind else valid)

    data["id"] = value("id", _valid_ids)
    data["name"] = value("name", st.one_of(st.none(), _short_texts))
    data["email"] = value("email", st.one_of(st.none(), _short_texts))
    data["currency"] = value("currency", st.sampled_from(["USD", " eur ", "jpy", "Gbp"]))
    for field in ("subtotal_price", "total_price", "total_tax", "total_discounts"):
        data[field] = _amount_text(value("amount size", _valid_amounts))
    if data.get("customer"):
        data["customer"] |= {"first_name": value("first_name", _short_texts), "email": draw(_short_texts)}
    for item in data["line_items"]:
        item["id"] = draw(_valid_ids)
        item["sku"] = value("sku", st.one_of(st.none(), _short_texts))
        item["quantity"] = value("quantity", _valid_quantities)
        item["price"] = _amount_text(value("negative price", _valid_amounts))
        item["total_discount"] = _amount_text(value("amount places", _valid_amounts))
        item["tax_lines"] = [{"price": _amount_text(draw(_valid_amounts))} for _ in range(draw(st.integers(0, 2)))]
    for fulfillment in data.get("fulfillments") or []:
        fulfillment["tracking_numbers"] = [value("tracking number", _short_texts)]
    for refund in data.get("refunds") or []:
        for transaction in refund.get("transactions") or []:
            transaction["amount"] = _amount_text(draw(_valid_amounts))
    return copy.deepcopy(data)


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=shopify_orders())
def test_generated_orders_are_the_same_built_or_validated(data: dict[str, Any]) -> None:
    try:
        shopify = ShopifyOrder.model_validate(data)
    except ValidationError:
        assume(False)  # not a Shopify order: refused before the mapping
        raise
    assert_same(shopify)
