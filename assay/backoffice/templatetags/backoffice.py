"""Small presentation helpers for the staff pages."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from django import template

from assay.core.money import Money

register = template.Library()

_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


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
    # Contrast with white is 1.05 / (L + 0.05); with black (L + 0.05) / 0.05; pick the larger.
    return "#ffffff" if 1.05 / (luminance + 0.05) >= (luminance + 0.05) / 0.05 else "#111111"


@register.filter
def money(amount: Any, currency: str) -> str:
    """'1,234.50 USD': quantized to the currency's minor unit, grouped for reading."""
    if amount is None or amount == "":
        return ""
    try:
        value = Money(Decimal(str(amount)), str(currency or "XXX").upper()).quantized()
    except (InvalidOperation, ValueError):
        return str(amount)
    return f"{value.amount:,} {value.currency}"


@register.filter
def humanise(value: object) -> str:
    """'partially_refunded' -> 'Partially refunded'."""
    text = str(value or "").replace("_", " ").strip()
    return text[:1].upper() + text[1:]


@register.simple_tag(takes_context=True)
def query_with(context: template.Context, **changes: Any) -> str:
    """The current query string with some parameters replaced (None or '' removes them)."""
    request = context["request"]
    params = {k: v for k, v in request.GET.items()}
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = str(value)
    return "?" + urlencode(params) if params else "?"


@register.filter
def details(data: object) -> list[tuple[str, str]]:
    """An audit event's data as (name, text) pairs: lists joined, nested values written out."""
    if not isinstance(data, dict):
        return []
    pairs = []
    for key, value in data.items():
        if isinstance(value, list | tuple):
            text = ", ".join(str(v) for v in value)
        elif isinstance(value, dict):
            text = ", ".join(f"{k}: {v}" for k, v in value.items())
        else:
            text = str(value)
        pairs.append((humanise(key), text))
    return pairs


@register.filter
def public_properties(properties: object, personalisation: object) -> list[tuple[str, str]]:
    """A line's properties other than its personalisation, the shop's hidden ones ('_name') last."""
    if not isinstance(properties, dict):
        return []
    skip = personalisation if isinstance(personalisation, dict) else {}
    items = [(str(k), str(v)) for k, v in properties.items() if k not in skip]
    return sorted(items, key=lambda item: item[0].startswith("_"))
