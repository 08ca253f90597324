"""Presentation helpers for the shopper pages: brand colours, money, the shopper's words for codes."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django import template

from assay.core.money import Money
from assay.policies.facts import REASON_LABELS
from assay.returns.models import ExchangeKind, Resolution, ReturnMethod
from assay.returns.status import ReturnStatus

register = template.Library()

_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")

# What a shopper reads for each status: plain words, not the staff's.
STATUS_WORDS = {
    ReturnStatus.REQUESTED: "Requested",
    ReturnStatus.PENDING_REVIEW: "Being reviewed",
    ReturnStatus.AUTHORISED: "Approved",
    ReturnStatus.REJECTED: "Not approved",
    ReturnStatus.AWAITING_SHIPMENT: "Waiting for you to send it",
    ReturnStatus.IN_TRANSIT: "On its way to us",
    ReturnStatus.RECEIVED: "Received",
    ReturnStatus.INSPECTED: "Checked",
    ReturnStatus.RESOLVED: "Completed",
    ReturnStatus.CLOSED: "Closed",
    ReturnStatus.CANCELLED: "Cancelled",
    ReturnStatus.EXPIRED: "Expired",
}


@register.filter
def colour(value: object, default: str = "#1f2937") -> str:
    """A #rrggbb colour safe to put in a style attribute; the default for anything else."""
    text = str(value or "")
    return text if _HEX.match(text) else default


@register.filter
def ink(value: object) -> str:
    """Black or white text, whichever reads better on the given background (WCAG luminance)."""
    text = colour(value)
    channels = []
    for i in (1, 3, 5):
        c = int(text[i : i + 2], 16) / 255
        channels.append(c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4)
    luminance = 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]
    return "#ffffff" if 1.05 / (luminance + 0.05) >= (luminance + 0.05) / 0.05 else "#111111"


@register.filter
def money(amount: Any, currency: str) -> str:
    """'1,234.50 USD', quantized to the currency's minor unit."""
    if amount is None or amount == "":
        return ""
    try:
        value = Money(Decimal(str(amount)), str(currency or "XXX").upper()).quantized()
    except (InvalidOperation, ValueError):
        return str(amount)
    return f"{value.amount:,} {value.currency}"


@register.filter
def size_text(value: Any) -> str:
    """Decimal('6.50') -> '6.5'."""
    if value is None or value == "":
        return ""
    try:
        return format(Decimal(str(value)).normalize(), "f")
    except InvalidOperation:
        return str(value)


@register.filter
def reason_label(code: object) -> str:
    return REASON_LABELS.get(str(code), str(code).replace("_", " ").capitalize())


@register.filter
def resolution_label(code: object) -> str:
    try:
        return str(Resolution(str(code)).label)
    except ValueError:
        return str(code).replace("_", " ").capitalize()


@register.filter
def exchange_label(code: object) -> str:
    try:
        return str(ExchangeKind(str(code)).label)
    except ValueError:
        return str(code).replace("_", " ").capitalize()


@register.filter
def method_label(code: object) -> str:
    try:
        return str(ReturnMethod(str(code)).label)
    except ValueError:
        return str(code).replace("_", " ").capitalize()


@register.filter
def status_label(code: object) -> str:
    return STATUS_WORDS.get(str(code), str(code).replace("_", " ").capitalize())  # type: ignore[call-overload]
