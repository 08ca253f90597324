from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assay.core.errors import InvalidInput
from assay.core.money import Money, money_string, to_decimal


def test_amounts_keep_their_exact_decimal_value():
    assert Money.of("409.94", "usd") == Money(Decimal("409.94"), "USD")
    assert to_decimal(0.1) == Decimal("0.1")


def test_mixing_currencies_is_refused():
    with pytest.raises(InvalidInput, match="USD with EUR"):
        Money.of("1", "USD") + Money.of("1", "EUR")


@pytest.mark.parametrize("bad", ["abc", "NaN", "Infinity", "1e30"])
def test_non_amounts_are_refused_with_the_value_named(bad):
    with pytest.raises(InvalidInput, match=r"amount|too large"):
        to_decimal(bad)


def test_the_api_shows_amounts_in_the_currencys_minor_units():
    assert money_string(Decimal("1000"), "JPY") == "1000"
    assert money_string(Decimal("12.5"), "USD") == "12.50"
    assert money_string(Decimal("1.2345"), "KWD") == "1.234"


@given(st.decimals(min_value=-(10**9), max_value=10**9, places=2), st.decimals(min_value=0, max_value=10**6, places=2))
def test_adding_then_subtracting_returns_the_original(a, b):
    assert (Money(a, "USD") + Money(b, "USD") - Money(b, "USD")) == Money(a, "USD")
