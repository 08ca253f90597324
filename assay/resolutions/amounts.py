"""What a returned line is worth back to the shopper, broken down. Pure: no database.

Every figure is rounded to the currency's minor units (half to even) before it is added, so the
parts shown always add up to the total paid.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from assay.core.money import minor_round
from assay.policies.decision import Bonus, Fee

ZERO = Decimal(0)
HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class LineValue:
    """What the shopper paid for the returned units: price after discounts, and tax when charged on top."""

    currency: str
    quantity: int
    unit_price: Decimal  # after the order's discounts
    line_quantity: int  # how many the order line had (its tax is shared among them)
    line_tax: Decimal
    taxes_included: bool

    @property
    def merchandise(self) -> Decimal:
        return minor_round(self.unit_price * self.quantity, self.currency)

    @property
    def tax(self) -> Decimal:
        # Prices that include tax already refund it with the price; tax charged on top is refunded pro rata.
        if self.taxes_included or self.line_quantity <= 0:
            return ZERO
        return minor_round(self.line_tax * self.quantity / self.line_quantity, self.currency)

    @property
    def paid(self) -> Decimal:
        return self.merchandise + self.tax


@dataclass(frozen=True, slots=True)
class Breakdown:
    """The parts of a line's settlement; `total` is what the shopper receives (refund, credit or card).

    For an exchange, `replacement` is what the new piece costs and `difference` what is left:
    > 0 the shopper pays it, < 0 it is refunded (a bonus for exchanging is never paid out as cash).
    """

    resolution: str
    currency: str
    merchandise: Decimal
    tax: Decimal
    restocking_fee: Decimal
    label_fee: Decimal
    bonus: Decimal
    total: Decimal
    replacement: Decimal = ZERO
    difference: Decimal = ZERO

    def as_data(self) -> dict[str, str]:
        return {
            "resolution": self.resolution,
            "currency": self.currency,
            "merchandise": str(self.merchandise),
            "tax": str(self.tax),
            "restocking_fee": str(self.restocking_fee),
            "label_fee": str(self.label_fee),
            "bonus": str(self.bonus),
            "total": str(self.total),
            "replacement": str(self.replacement),
            "difference": str(self.difference),
        }


def line_breakdown(
    *,
    value: LineValue,
    resolution: str,
    terms: dict[str, Any],
    carries_label_fee: bool,
    replacement_price: Decimal | None = None,
) -> Breakdown:
    """The proposed settlement of one line under its policy terms (ReturnLine.decision).

    Refund: paid - restocking fee - label fee. Store credit: paid + bonus - label fee. Exchange:
    the replacement against paid + bonus; a label fee is taken from a refunded difference only.
    `carries_label_fee`: the request's label fee is charged once, on one line.
    """
    currency = value.currency
    paid = value.paid
    label = minor_round(Decimal(str(terms.get("label_fee") or 0)), currency) if carries_label_fee else ZERO
    if resolution == "refund":
        restocking = Fee.from_data(terms.get("restocking_fee")).amount(value.merchandise, currency)
        label = min(label, paid - restocking)
        total = paid - restocking - label
        return Breakdown(resolution, currency, value.merchandise, value.tax, restocking, label, ZERO, total)
    if resolution == "exchange":
        bonus = Bonus.from_data(terms.get("bonus_exchange")).amount(value.merchandise, currency)
        replacement = minor_round((replacement_price or ZERO) * value.quantity, currency)
        if replacement >= paid:
            difference = max(replacement - paid - bonus, ZERO)
            return Breakdown(
                resolution, currency, value.merchandise, value.tax, ZERO, ZERO, bonus, ZERO, replacement, difference
            )
        back = paid - replacement
        label = min(label, back)
        return Breakdown(
            resolution, currency, value.merchandise, value.tax, ZERO, label, bonus, ZERO, replacement, -(back - label)
        )
    # store credit, gift card or coupon: the value as credit, with the bonus for choosing it
    bonus = Bonus.from_data(terms.get("bonus_store_credit")).amount(value.merchandise, currency)
    label = min(label, paid + bonus)
    total = paid + bonus - label
    return Breakdown(resolution, currency, value.merchandise, value.tax, ZERO, label, bonus, total)
