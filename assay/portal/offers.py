"""What the shopper may do with each line of a proved order, shaped for the pages: the policy's
decision on the line itself, how many units are left to return, and the exchange choices."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from assay.core.money import minor_round
from assay.orders.selectors import OrderDetail, OrderLineData
from assay.policies.decision import Bonus, LineDecision, OrderDecision
from assay.policies.facts import OrderFacts
from assay.returns.exchanges import ExchangeChoice, ExchangeChoices, LineAnchor, exchange_choices

# The resolution a shopper picks on the form: a resolution, and for an exchange what kind.
EXCHANGE_SIZE = "exchange_size"
EXCHANGE_VARIANT = "exchange_variant"
EXCHANGE_PRODUCT = "exchange_product"
STORE_CREDIT = "store_credit"
REFUND = "refund"
PICK_TO_RESOLUTION: dict[str, tuple[str, str]] = {
    EXCHANGE_SIZE: ("exchange", "size"),
    EXCHANGE_VARIANT: ("exchange", "variant"),
    EXCHANGE_PRODUCT: ("exchange", "product"),
    STORE_CREDIT: ("store_credit", ""),
    REFUND: ("refund", ""),
}


@dataclass(frozen=True, slots=True)
class PickOption:
    value: str  # one of PICK_TO_RESOLUTION
    label: str
    detail: str
    primary: bool = False


@dataclass(frozen=True, slots=True)
class LineOffer:
    line: OrderLineData
    decision: LineDecision | None
    returnable: int  # units not yet claimed by another return
    paid: Decimal  # per unit, after the line's discount
    currency: str
    choices: ExchangeChoices

    @property
    def id(self) -> int:
        return self.line.id

    @property
    def eligible(self) -> bool:
        return self.decision is not None and self.decision.eligible and self.returnable > 0 and bool(self.picks)

    @property
    def resize_only(self) -> bool:
        decision = self.decision
        return (
            decision is not None
            and decision.eligible
            and tuple(decision.resolutions) == ("exchange",)
            and tuple(decision.exchange_kinds) == ("size",)
        )

    @property
    def verdict(self) -> str:
        """The headline on the line: what can be done, or plainly why not."""
        if self.returnable <= 0:
            return "Already part of a return"
        if self.decision is None or not self.decision.eligible:
            # The policy's reason says why; the headline names a final sale only when that is the why
            # (an engraved piece past its window is simply late, not final sale).
            final_sale = self.decision is not None and "final sale" in self.decision.reason.lower()
            return "Final sale – cannot be returned" if final_sale else "Cannot be returned"
        if self.resize_only:
            if not self.choices.sizes:
                return "Resize only – no other size is in stock right now"
            return "Resize only – can be exchanged for another size"
        if not self.picks:
            return "Nothing can be offered for this item right now"
        words = {"refund": "a refund", "store_credit": "store credit", "exchange": "an exchange"}
        offered = {PICK_TO_RESOLUTION[pick.value][0] for pick in self.picks}
        allowed = [words[r] for r in self.decision.resolutions if r in words and r in offered]
        return "Can be returned for " + _listing(allowed)

    @property
    def explanation(self) -> str:
        """The policy's reason in the shopper's words; for a fully returned line, that fact."""
        if self.returnable <= 0:
            return "Every unit of this item is already in a return."
        return self.decision.reason if self.decision is not None else "This item cannot be returned online."

    @property
    def picks(self) -> list[PickOption]:
        """The resolutions the shopper may choose, the ring-size exchange first."""
        decision = self.decision
        if decision is None or not decision.eligible:
            return []
        options: list[PickOption] = []
        if "exchange" in decision.resolutions:
            exchange_bonus = self._bonus_words(decision.bonus_exchange)
            if "size" in decision.exchange_kinds and self.choices.sizes:
                options.append(
                    PickOption(
                        EXCHANGE_SIZE,
                        "Exchange for another size",
                        "The same piece in the size that fits, sent once yours is on its way back." + exchange_bonus,
                        primary=True,
                    )
                )
            if "variant" in decision.exchange_kinds and self.choices.variants:
                options.append(
                    PickOption(EXCHANGE_VARIANT, "Exchange for another version of this piece", exchange_bonus.strip())
                )
            if "product" in decision.exchange_kinds and self.choices.products:
                options.append(
                    PickOption(
                        EXCHANGE_PRODUCT,
                        "Exchange for another piece",
                        ("Any price difference is shown with each piece." + exchange_bonus).strip(),
                    )
                )
        if "store_credit" in decision.resolutions:
            options.append(PickOption(STORE_CREDIT, "Store credit", self._credit_words(decision.bonus_store_credit)))
        if "refund" in decision.resolutions:
            options.append(PickOption(REFUND, "Refund", "To your original payment method."))
        return options

    def _bonus_words(self, bonus: Bonus) -> str:
        amount = bonus.amount(self.paid, self.currency)
        if amount <= 0:
            return ""
        each = " per item" if self.returnable > 1 else ""
        return f" Includes a bonus credit of {money_text(amount, self.currency)}{each}."

    def _credit_words(self, bonus: Bonus) -> str:
        amount = bonus.amount(self.paid, self.currency)
        each = " per item" if self.returnable > 1 else ""
        if amount <= 0:
            return f"{money_text(self.paid, self.currency)}{each} to spend with us."
        total = money_text(self.paid + amount, self.currency)
        return f"{total}{each} to spend with us: {money_text(amount, self.currency)} bonus on top of your refund value."

    def choice(self, kind: str, sku: str) -> ExchangeChoice | None:
        return self.choices.find(kind, sku)


def _listing(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " or " + words[-1]


def money_text(amount: Decimal, currency: str) -> str:
    return f"{minor_round(amount, currency):,} {currency}"


def unit_paid(line: OrderLineData) -> Decimal:
    if line.quantity <= 0:
        return line.unit_price
    return line.unit_price - line.total_discount / line.quantity


def line_offers(*, brand_id: int, order: OrderDetail, facts: OrderFacts, decision: OrderDecision) -> list[LineOffer]:
    """One offer per order line, in the shop's order. Two queries (the exchange choices)."""
    decisions = {item.line_id: item for item in decision.lines}
    returnable = {item.line_id: item.returnable_quantity for item in facts.lines}
    anchors = [
        LineAnchor(line_id=line.id, product_id=line.product_id, variant_id=line.variant_id, paid=unit_paid(line))
        for line in order.lines
    ]
    choices = exchange_choices(brand_id=brand_id, lines=anchors)
    return [
        LineOffer(
            line=line,
            decision=decisions.get(line.id),
            returnable=returnable.get(line.id, 0),
            paid=unit_paid(line),
            currency=order.currency,
            choices=choices[line.id],
        )
        for line in order.lines
    ]
