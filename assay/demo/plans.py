"""The two demo brands: Aurelia, a US fine-jewellery shop, and Lumen, a European diamond house."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from assay.demo.catalogue import AURELIA, LUMEN, ProductSpec
from assay.demo.orders import BrandPlan, Discount, Service
from assay.demo.people import ABROAD_CITIES, EU_CITIES, EU_FIRST, EU_LAST, US_CITIES, US_FIRST, US_LAST, City
from assay.demo.tracking import DHL, FEDEX, UPS, USPS

D = Decimal


@dataclass(frozen=True)
class DemoBrand:
    plan: BrandPlan
    branding: dict[str, str]
    catalogue: list[ProductSpec]
    catalogue_id_base: int
    serial_prefix: str
    first_names: list[str]
    last_names: list[str]
    cities: list[City]
    abroad: list[City]
    abroad_share: float
    phone_format: str
    days: int  # how far back the history goes


AURELIA_BRAND = DemoBrand(
    plan=BrandPlan(
        slug="aurelia",
        name="Aurelia Fine Jewellery",
        currency="USD",
        timezone="America/New_York",
        number_prefix="#",
        first_number=1001,
        taxes_included=False,
        standard=[
            (Service(USPS, "USPS Ground Advantage", (2, 5)), 40),
            (Service(UPS, "UPS Ground", (1, 5)), 40),
            (Service(FEDEX, "FedEx Home Delivery", (1, 5)), 20),
        ],
        express=[Service(UPS, "UPS 2nd Day Air", (2, 2), True), Service(FEDEX, "FedEx 2Day", (2, 2), True)],
        insured=[
            Service(FEDEX, "FedEx Priority Overnight, signature required", (1, 1), True),
            Service(UPS, "UPS Next Day Air, signature required", (1, 1), True),
        ],
        abroad=[
            Service(FEDEX, "FedEx International Priority", (2, 5), True),
            Service(UPS, "UPS Worldwide Express", (2, 4), True),
        ],
        free_shipping_over=D("150.00"),
        standard_fee=D("8.95"),
        express_fee=D("25.00"),
        abroad_fee=D("45.00"),
        express_share=0.12,
        pos_share=0.05,
        welcome=Discount("WELCOME10", D(10)),
        seasonal=Discount("HOLIDAY15", D(15)),
        loyalty=Discount("THANKYOU10", D(10)),
        high_value_threshold=D("2500.00"),
        id_base=5_612_000_000_000,
        home_countries=frozenset({"US"}),
    ),
    branding={
        "primary_colour": "#1f2a44",
        "accent_colour": "#c8a25c",
        "sender_email": "care@aurelia.example",
        "locale": "en",
        "timezone": "America/New_York",
        "shop_domain": "aurelia-fine-jewellery.myshopify.com",
    },
    catalogue=AURELIA,
    catalogue_id_base=8_412_300_000_000,
    serial_prefix="AUR",
    first_names=US_FIRST,
    last_names=US_LAST,
    cities=US_CITIES,
    abroad=ABROAD_CITIES,
    abroad_share=0.05,
    phone_format="+1 212-555-01{:02d}",  # 555-0100 to 0199: reserved for fiction
    days=548,
)

LUMEN_BRAND = DemoBrand(
    plan=BrandPlan(
        slug="lumen",
        name="Lumen Diamonds",
        currency="EUR",
        timezone="Europe/Amsterdam",
        number_prefix="#LU-",
        first_number=1001,
        taxes_included=True,
        standard=[(Service(DHL, "DHL Express Worldwide", (1, 3)), 60), (Service(UPS, "UPS Standard", (2, 4)), 40)],
        express=[Service(DHL, "DHL Express 12:00", (1, 1), True)],
        insured=[Service(DHL, "DHL Express 9:00, signature required", (1, 1), True)],
        abroad=[],
        free_shipping_over=D("100.00"),
        standard_fee=D("9.50"),
        express_fee=D("20.00"),
        abroad_fee=D("0.00"),
        express_share=0.1,
        pos_share=0.0,
        welcome=Discount("WELKOM10", D(10)),
        seasonal=Discount("BLACKWEEK15", D(15)),
        loyalty=Discount("MERCI10", D(10)),
        high_value_threshold=D("2500.00"),
        id_base=4_118_000_000_000,
        home_countries=frozenset(city.country_code for city in EU_CITIES),
    ),
    branding={
        "primary_colour": "#0f3d3e",
        "accent_colour": "#9fd3c7",
        "sender_email": "service@lumen.example",
        "locale": "en",
        "timezone": "Europe/Amsterdam",
        "shop_domain": "lumen-diamonds.myshopify.com",
    },
    catalogue=LUMEN,
    catalogue_id_base=9_101_700_000_000,
    serial_prefix="LUM",
    first_names=EU_FIRST,
    last_names=EU_LAST,
    cities=EU_CITIES,
    abroad=[],
    abroad_share=0.0,
    phone_format="",
    days=365,
)

DEMO_BRANDS = (AURELIA_BRAND, LUMEN_BRAND)
DEMO_SLUGS = tuple(brand.plan.slug for brand in DEMO_BRANDS)
