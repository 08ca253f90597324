"""Money: Decimal amounts with an ISO 4217 currency. Never floats, never mixed currencies."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from assay.core.errors import InvalidInput

# Currencies whose minor unit is not 2 digits (ISO 4217); everything else uses cents.
_MINOR_UNITS = {
    "BHD": 3, "CLP": 0, "IQD": 3, "ISK": 0, "JOD": 3, "JPY": 0, "KRW": 0, "KWD": 3,
    "LYD": 3, "OMR": 3, "PYG": 0, "TND": 3, "UGX": 0, "VND": 0, "XAF": 0, "XOF": 0, "XPF": 0,
}  # fmt: skip

MAX_DIGITS = 14
DECIMAL_PLACES = 4


def minor_units(currency: str) -> int:
    return _MINOR_UNITS.get(currency.upper(), 2)


def minor_round(amount: Decimal, currency: str) -> Decimal:
    """`amount` rounded to the currency's minor units, half to even (banker's rounding)."""
    return amount.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_HALF_EVEN)


def normalise_currency(code: str | None) -> str:
    value = (code or "").strip().upper()
    if len(value) != 3 or not value.isalpha():
        raise InvalidInput(f"'{code}' is not an ISO 4217 currency code")
    return value


def to_decimal(value: object, *, field: str = "amount") -> Decimal:
    """Parse a money amount from a string or number; floats go through str() so 0.1 stays 0.1."""
    if value is None or value == "":
        return Decimal("0")
    if isinstance(value, Decimal):
        result = value
    else:
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation:
            raise InvalidInput(f"{field}: '{value}' is not an amount") from None
    if not result.is_finite():
        raise InvalidInput(f"{field}: '{value}' is not an amount")
    if abs(result) >= Decimal(10) ** (MAX_DIGITS - DECIMAL_PLACES):
        raise InvalidInput(f"{field}: '{value}' is too large")
    return result


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    @classmethod
    def of(cls, amount: object, currency: str) -> Money:
        return cls(to_decimal(amount), normalise_currency(currency))

    def quantized(self) -> Money:
        return Money(minor_round(self.amount, self.currency), self.currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise InvalidInput(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __mul__(self, factor: int | Decimal) -> Money:
        return Money(self.amount * Decimal(factor), self.currency)

    def __str__(self) -> str:
        return f"{self.quantized().amount} {self.currency}"


def money_string(amount: Decimal, currency: str) -> str:
    """The decimal string the API shows: quantized to the currency's minor unit."""
    return str(Money(amount, currency).quantized().amount)
