"""Ring sizes: parse what shops write, convert between systems (DOMAIN.md section 3)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_FRACTIONS = {"1/4": Decimal("0.25"), "1/2": Decimal("0.5"), "3/4": Decimal("0.75")}
_US_SIZE = re.compile(r"^(?:us\s*)?(?:size\s*)?(\d{1,2})(?:(?:\.(\d{1,2}))|\s+(1/4|1/2|3/4))?$", re.I)

# Option names shops use for a ring's size.
RING_SIZE_OPTION = re.compile(r"\b(ring\s*)?size\b", re.I)


def parse_us_ring_size(text: str) -> Decimal | None:
    """'6.5', '6 1/2', 'US 7', 'Size 7' -> US size; None when the text is not a US ring size."""
    match = _US_SIZE.match(text.strip())
    if not match:
        return None
    whole, decimals, fraction = match.groups()
    try:
        size = Decimal(whole) + (Decimal("0." + decimals) if decimals else _FRACTIONS.get(fraction or "", Decimal(0)))
    except InvalidOperation:
        return None
    if not Decimal("1") <= size <= Decimal("16"):
        return None
    return size


def us_inner_diameter_mm(size: Decimal) -> Decimal:
    """US inner diameter in inches = 0.458 + 0.032 x size."""
    return ((Decimal("0.458") + Decimal("0.032") * size) * Decimal("25.4")).quantize(Decimal("0.01"))


def iso_circumference_mm(size: Decimal) -> Decimal:
    """ISO 8653 / EU size: the inner circumference in millimetres."""
    return (us_inner_diameter_mm(size) * Decimal("3.14159265")).quantize(Decimal("0.1"))
