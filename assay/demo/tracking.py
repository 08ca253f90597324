"""Carrier tracking numbers that pass each carrier's own check-digit rule.

Demo shipments carry numbers of the right shape, so carrier detection and validation written
against real numbers also work on the demo data. None of these numbers is a real parcel.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from itertools import cycle


def ups_check_digit(body: str) -> str:
    """UPS 1Z numbers: the 15 characters after '1Z'; letters count as (ord - 3) mod 10."""
    odd = even = 0
    for index, char in enumerate(body):
        value = int(char) if char.isdigit() else (ord(char) - 3) % 10
        if index % 2:
            even += value
        else:
            odd += value
    return str((10 - (odd + 2 * even) % 10) % 10)


def fedex_express_check_digit(body: str) -> str:
    """FedEx Express 12-digit numbers: weights 1, 3, 7 from the right, modulo 11, then modulo 10."""
    total = sum(int(char) * weight for char, weight in zip(reversed(body), cycle((1, 3, 7)), strict=False))
    return str(total % 11 % 10)


def usps_check_digit(body: str) -> str:
    """USPS IMpb 22-digit numbers: weights 3, 1 from the right, modulo 10."""
    total = sum(int(char) * weight for char, weight in zip(reversed(body), cycle((3, 1)), strict=False))
    return str((10 - total % 10) % 10)


def dhl_express_check_digit(body: str) -> str:
    """DHL Express 10-digit waybills: the first nine digits modulo 7."""
    return str(int(body) % 7)


_UPS_SHIPPER = "A4E72V"  # one demo shipper account, as a brand's labels all carry its own


def ups_number(rng: random.Random, service_code: str = "03") -> str:
    body = f"{_UPS_SHIPPER}{service_code}{rng.randrange(10**7):07d}"
    return "1Z" + body + ups_check_digit(body)


def fedex_number(rng: random.Random) -> str:
    body = f"7{rng.randrange(10**10):010d}"
    return body + fedex_express_check_digit(body)


def usps_number(rng: random.Random) -> str:
    # 94001 = USPS Tracking with the shipper's mailer id; the rest is the package serial.
    body = f"940011{rng.randrange(10**15):015d}"
    return body + usps_check_digit(body)


def dhl_number(rng: random.Random) -> str:
    body = str(rng.randrange(100_000_000, 999_999_999))
    return body + dhl_express_check_digit(body)


@dataclass(frozen=True, slots=True)
class Carrier:
    name: str
    url: str  # tracking page, {} is the number

    def tracking_url(self, number: str) -> str:
        return self.url.format(number)


UPS = Carrier("UPS", "https://www.ups.com/track?tracknum={}")
FEDEX = Carrier("FedEx", "https://www.fedex.com/fedextrack/?trknbr={}")
USPS = Carrier("USPS", "https://tools.usps.com/go/TrackConfirmAction?tLabels={}")
DHL = Carrier("DHL Express", "https://www.dhl.com/en/express/tracking.html?AWB={}")


def tracking_number(carrier: Carrier, rng: random.Random, *, express: bool = False) -> str:
    if carrier is UPS:
        return ups_number(rng, "01" if express else "03")
    if carrier is FEDEX:
        return fedex_number(rng)
    if carrier is USPS:
        return usps_number(rng)
    return dhl_number(rng)
