"""What the policy engine answers: per line, what the shopper may do, on which terms, and why."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from assay.core.money import minor_round


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else Decimal(0)


@dataclass(frozen=True, slots=True)
class RuleMatch:
    """One rule that applied to a line, and the facts that made it apply (for staff and the audit)."""

    rule_id: str
    rule_name: str
    why: str  # e.g. "category is ring; 12 days since delivery (<= 30)"


@dataclass(frozen=True, slots=True)
class Fee:
    """A deduction: a percentage of the refunded amount, a fixed amount, or both (percent first)."""

    percent: Decimal = Decimal(0)
    fixed: Decimal = Decimal(0)

    def amount(self, base: Decimal, currency: str) -> Decimal:
        """The fee on `base`, in the currency's minor units; never more than `base`."""
        return min(minor_round(base * self.percent / Decimal(100) + self.fixed, currency), base)

    @classmethod
    def from_data(cls, data: Mapping[str, Any] | None) -> Fee:
        """As stored in a line's decision (JSON: decimal strings)."""
        data = data or {}
        return cls(percent=_decimal(data.get("percent")), fixed=_decimal(data.get("fixed")))


@dataclass(frozen=True, slots=True)
class Bonus:
    """Extra credit for choosing store credit or an exchange: percent and/or fixed, capped."""

    percent: Decimal = Decimal(0)
    fixed: Decimal = Decimal(0)
    cap: Decimal | None = None

    def amount(self, value: Decimal, currency: str) -> Decimal:
        """The bonus a line of this value earns: percent of it plus the fixed part, capped, in minor units."""
        amount = value * self.percent / Decimal(100) + self.fixed
        if self.cap is not None:
            amount = min(amount, self.cap)
        return minor_round(max(amount, Decimal(0)), currency)

    @classmethod
    def from_data(cls, data: Mapping[str, Any] | None) -> Bonus:
        """As stored in a line's decision (JSON: decimal strings; no cap as null)."""
        data = data or {}
        cap = data.get("cap")
        return cls(
            percent=_decimal(data.get("percent")),
            fixed=_decimal(data.get("fixed")),
            cap=_decimal(cap) if cap not in (None, "") else None,
        )


@dataclass(frozen=True, slots=True)
class LineDecision:
    line_id: int
    eligible: bool
    reason: str  # shopper-facing: why not, or the terms ("Exchange only: the refund window closed on 3 May")
    resolutions: tuple[str, ...]  # subset of facts.RESOLUTIONS in display order; empty when not eligible
    exchange_kinds: tuple[str, ...]  # subset of facts.EXCHANGE_KINDS; ("size",) = resize / size swap only
    methods: tuple[str, ...]  # subset of facts.METHODS
    refund_until: datetime | None
    exchange_until: datetime | None
    destination: str  # where the item goes back to: "warehouse", "bench", "vendor", or a brand's own name
    restocking_fee: Fee
    label_fee: Decimal  # 0 = free label
    bonus_store_credit: Bonus
    bonus_exchange: Bonus
    manual_review: bool
    insured: bool
    signature_required: bool
    authenticity_check: bool
    keep_item: bool
    matched: tuple[RuleMatch, ...]


@dataclass(frozen=True, slots=True)
class OrderDecision:
    policy_version_id: int | None  # the PolicyVersion row that decided; None for an unsaved document
    lines: tuple[LineDecision, ...]

    def for_line(self, line_id: int) -> LineDecision:
        for decision in self.lines:
            if decision.line_id == line_id:
                return decision
        raise KeyError(line_id)
