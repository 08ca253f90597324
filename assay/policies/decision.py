"""What the policy engine answers: per line, what the shopper may do, on which terms, and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


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


@dataclass(frozen=True, slots=True)
class Bonus:
    """Extra credit for choosing store credit or an exchange: percent and/or fixed, capped."""

    percent: Decimal = Decimal(0)
    fixed: Decimal = Decimal(0)
    cap: Decimal | None = None


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
