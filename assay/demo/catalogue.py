"""The demo brands' catalogues: what a fine-jewellery shop sells, with the facts behind each piece.

Every product is written through `product_upsert` (as a shop's catalogue would arrive), then
completed with what Assay keeps and the shop does not: flags, specification, stones and the
serialised pieces in stock.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import accumulate

from django.utils.text import slugify

from assay.catalog.models import Category, Metal, Piece, PieceStatus, Product, Specification, Stone, StoneOrigin
from assay.catalog.schema import CanonicalProduct, CanonicalVariant
from assay.catalog.services import product_upsert
from assay.core.audit import Actor

D = Decimal

# Parts per thousand for each karat (DOMAIN.md section 4). 14K is 583.3 exactly; the
# international hallmark rounds it to 585, which is what a European brand stamps and lists.
KARAT_FINENESS = {9: D("375.0"), 10: D("416.7"), 14: D("583.3"), 18: D("750.0"), 22: D("916.7"), 24: D("999.0")}
KARAT_FINENESS_INTERNATIONAL = {**KARAT_FINENESS, 14: D("585.0")}
PLATINUM_FINENESS = D("950.0")
STERLING_FINENESS = D("925.0")

RING_SIZES = [D(4) + D("0.5") * step for step in range(13)]  # US 4 to 10 in half sizes
RESIZABLE_RANGE = D(2)  # gold, platinum and silver rings: about two sizes either way
CARAT_GRAMS = D("0.2")  # 1 ct = 200 mg
CENT = D("0.01")

# Ordered sizes by who usually wears the piece: engagement rings centre on US 6-7, men's bands on 9-10.
_SIZE_WEIGHTS: dict[str, list[float]] = {
    "women": [1, 2, 5, 8, 14, 16, 16, 11, 8, 4, 3, 1, 1],
    "men": [0.2, 0.2, 0.3, 0.5, 0.8, 1, 2, 3, 6, 8, 12, 13, 14],
    "unisex": [1, 1.5, 3, 5, 8, 10, 11, 9, 8, 6, 6, 5, 5],
}
_CHAIN_LENGTHS = [("16 in", 25.0), ("18 in", 55.0), ("20 in", 20.0)]
_BRACELET_LENGTHS = [("6.5 in", 30.0), ("7 in", 50.0), ("7.5 in", 20.0)]


@dataclass(frozen=True)
class StoneSpec:
    species: str
    origin: str = StoneOrigin.NATURAL
    count: int = 1
    carat_weight: Decimal | None = None
    colour: str = ""
    clarity: str = ""
    cut: str = ""
    shape: str = ""
    lab: str = ""  # GIA for natural diamonds, IGI for laboratory-grown: each gets a report number
    treatments: tuple[str, ...] = ()
    centre: bool = False  # the stone each serialised piece carries its own report for


@dataclass(frozen=True)
class ProductSpec:
    code: str
    title: str
    product_type: str
    category: str
    price: Decimal
    popularity: float
    metal: str
    karat: int | None = None
    fineness: Decimal | None = None
    metal_weight_g: Decimal | None = None
    width_mm: Decimal | None = None
    length_mm: Decimal | None = None
    thickness_mm: Decimal | None = None
    hollow: bool = False
    plating: str = ""
    plating_microns: Decimal | None = None
    stones: tuple[StoneSpec, ...] = ()
    sizes: str = ""  # ring, chain, bracelet or "" for one size
    audience: str = "women"
    engravable: bool = False
    personalised: bool = False
    resizable: bool = False
    final_sale: bool = False
    hygiene_item: bool = False
    serialised: bool = False
    personalisation: str = ""  # engraving, initials, initial, bar: what shoppers type at checkout
    engraving_share: float = 0.0  # of lines that carry engraving when it is optional
    made_to_order_days: int = 0  # business days before it ships (engraving, setting, sizing)
    tags: tuple[str, ...] = ()


def _gold(karat: int, *, international: bool = False) -> Decimal:
    return (KARAT_FINENESS_INTERNATIONAL if international else KARAT_FINENESS)[karat]


AURELIA: list[ProductSpec] = [
    ProductSpec(
        code="AUR-SOL-NAT", title="Round Brilliant Solitaire Engagement Ring, 1.01 ct Natural Diamond, 18K White Gold",
        product_type="Engagement Rings", category=Category.RING, price=D("8950.00"), popularity=3,
        metal=Metal.WHITE_GOLD, karat=18, fineness=_gold(18), metal_weight_g=D("3.20"), width_mm=D("2.00"),
        stones=(StoneSpec("diamond", count=1, carat_weight=D("1.01"), colour="G", clarity="VS1", cut="Excellent",
                          shape="round", lab="GIA", centre=True),),
        sizes="ring", engravable=True, resizable=True, serialised=True, personalisation="engraving",
        engraving_share=0.15, made_to_order_days=4, tags=("engagement", "gia-certified"),
    ),
    ProductSpec(
        code="AUR-SOL-LG", title="Oval Solitaire Engagement Ring, 1.50 ct Laboratory-Grown Diamond, 14K Yellow Gold",
        product_type="Engagement Rings", category=Category.RING, price=D("2650.00"), popularity=6,
        metal=Metal.YELLOW_GOLD, karat=14, fineness=_gold(14), metal_weight_g=D("2.90"), width_mm=D("1.80"),
        stones=(StoneSpec("diamond", origin=StoneOrigin.LABORATORY_GROWN, carat_weight=D("1.50"), colour="E",
                          clarity="VS1", cut="Excellent", shape="oval", lab="IGI", centre=True),),
        sizes="ring", engravable=True, resizable=True, serialised=True, personalisation="engraving",
        engraving_share=0.15, made_to_order_days=4, tags=("engagement", "lab-grown", "igi-certified"),
    ),
    ProductSpec(
        code="AUR-HALO-SAP", title="Blue Sapphire Halo Ring, 18K White Gold", product_type="Rings",
        category=Category.RING, price=D("3200.00"), popularity=2, metal=Metal.WHITE_GOLD, karat=18,
        fineness=_gold(18), metal_weight_g=D("3.60"), width_mm=D("2.20"),
        stones=(StoneSpec("sapphire", carat_weight=D("1.20"), colour="royal blue", shape="cushion",
                          treatments=("heated",)),
                StoneSpec("diamond", count=18, carat_weight=D("0.36"), colour="G-H", clarity="VS", shape="round")),
        sizes="ring", resizable=True, tags=("sapphire", "halo"),
    ),
    ProductSpec(
        code="AUR-BND-14Y", title="Classic Comfort-Fit Wedding Band 4mm, 14K Yellow Gold", product_type="Wedding Bands",
        category=Category.BAND, price=D("690.00"), popularity=9, metal=Metal.YELLOW_GOLD, karat=14,
        fineness=_gold(14), metal_weight_g=D("4.10"), width_mm=D("4.00"), thickness_mm=D("1.60"),
        sizes="ring", audience="unisex", engravable=True, resizable=True, personalisation="engraving",
        engraving_share=0.45, tags=("wedding", "engravable"),
    ),
    ProductSpec(
        code="AUR-BND-PT", title="Platinum Wedding Band 3mm", product_type="Wedding Bands", category=Category.BAND,
        price=D("1280.00"), popularity=5, metal=Metal.PLATINUM, fineness=PLATINUM_FINENESS, metal_weight_g=D("6.00"),
        width_mm=D("3.00"), thickness_mm=D("1.70"), sizes="ring", audience="unisex", engravable=True, resizable=True,
        personalisation="engraving", engraving_share=0.45, tags=("wedding", "engravable", "platinum"),
    ),
    ProductSpec(
        code="AUR-BND-TUN", title="Tungsten Carbide Band 6mm", product_type="Wedding Bands", category=Category.BAND,
        price=D("189.00"), popularity=6, metal=Metal.TUNGSTEN, metal_weight_g=D("14.00"), width_mm=D("6.00"),
        thickness_mm=D("2.00"), sizes="ring", audience="men", engravable=True, resizable=False,
        personalisation="engraving", engraving_share=0.35, tags=("wedding", "engravable", "mens"),
    ),
    ProductSpec(
        code="AUR-BND-TI", title="Brushed Titanium Band 5mm", product_type="Wedding Bands", category=Category.BAND,
        price=D("149.00"), popularity=4, metal=Metal.TITANIUM, metal_weight_g=D("3.90"), width_mm=D("5.00"),
        thickness_mm=D("1.80"), sizes="ring", audience="men", engravable=True, resizable=False,
        personalisation="engraving", engraving_share=0.35, tags=("wedding", "engravable", "mens"),
    ),
    ProductSpec(
        code="AUR-ETR-LG", title="Full Eternity Band, 2.00 ctw Laboratory-Grown Diamonds, 14K White Gold",
        product_type="Wedding Bands", category=Category.BAND, price=D("1850.00"), popularity=4,
        metal=Metal.WHITE_GOLD, karat=14, fineness=_gold(14), metal_weight_g=D("2.70"), width_mm=D("2.50"),
        stones=(StoneSpec("diamond", origin=StoneOrigin.LABORATORY_GROWN, count=20, carat_weight=D("2.00"),
                          colour="F", clarity="VS2", cut="Excellent", shape="round", lab="IGI"),),
        sizes="ring", resizable=False, made_to_order_days=6, tags=("eternity", "lab-grown"),
    ),
    ProductSpec(
        code="AUR-SIG-14Y", title="Custom Signet Ring, 14K Yellow Gold", product_type="Rings", category=Category.RING,
        price=D("1150.00"), popularity=2, metal=Metal.YELLOW_GOLD, karat=14, fineness=_gold(14),
        metal_weight_g=D("7.80"), width_mm=D("11.00"), sizes="ring", audience="unisex", engravable=True,
        personalised=True, resizable=True, final_sale=True, personalisation="initials", made_to_order_days=8,
        tags=("custom", "final-sale"),
    ),
    ProductSpec(
        code="AUR-STK-925", title="Stackable Beaded Ring, Sterling Silver", product_type="Rings",
        category=Category.RING, price=D("85.00"), popularity=7, metal=Metal.SILVER, fineness=STERLING_FINENESS,
        metal_weight_g=D("1.60"), width_mm=D("1.50"), sizes="ring", resizable=True, tags=("stacking",),
    ),
    ProductSpec(
        code="AUR-RUB-SALE", title="Ruby Cocktail Ring, 14K Rose Gold (Archive Sale)", product_type="Rings",
        category=Category.RING, price=D("1450.00"), popularity=1, metal=Metal.ROSE_GOLD, karat=14,
        fineness=_gold(14), metal_weight_g=D("4.40"), width_mm=D("2.40"),
        stones=(StoneSpec("ruby", carat_weight=D("1.05"), colour="red", shape="oval", treatments=("heated",)),),
        sizes="ring", resizable=True, final_sale=True, tags=("sale", "final-sale"),
    ),
    ProductSpec(
        code="AUR-STUD-050", title="Diamond Stud Earrings 0.50 ctw, 14K White Gold", product_type="Earrings",
        category=Category.EARRINGS, price=D("1190.00"), popularity=7, metal=Metal.WHITE_GOLD, karat=14,
        fineness=_gold(14), metal_weight_g=D("1.10"),
        stones=(StoneSpec("diamond", count=2, carat_weight=D("0.50"), colour="G-H", clarity="SI1", cut="Very Good",
                          shape="round"),),
        hygiene_item=True, tags=("studs", "pierced"),
    ),
    ProductSpec(
        code="AUR-HOOP-14Y", title="Hollow Gold Hoop Earrings 25mm, 14K Yellow Gold", product_type="Earrings",
        category=Category.EARRINGS, price=D("420.00"), popularity=6, metal=Metal.YELLOW_GOLD, karat=14,
        fineness=_gold(14), metal_weight_g=D("2.10"), length_mm=D("25.00"), thickness_mm=D("2.00"), hollow=True,
        hygiene_item=True, tags=("hoops", "pierced"),
    ),
    ProductSpec(
        code="AUR-CLIP-PRL", title="Cultured Freshwater Pearl Clip-On Earrings, Sterling Silver",
        product_type="Earrings", category=Category.EARRINGS, price=D("145.00"), popularity=3, metal=Metal.SILVER,
        fineness=STERLING_FINENESS, metal_weight_g=D("3.20"),
        # A cultured pearl grows in a mollusc: natural in origin, and always named "cultured".
        stones=(StoneSpec("cultured freshwater pearl", count=2, colour="white", shape="button"),),
        tags=("pearl", "clip-on"),
    ),
    ProductSpec(
        code="AUR-HUG-LG", title="Laboratory-Grown Diamond Huggie Earrings, 14K Rose Gold", product_type="Earrings",
        category=Category.EARRINGS, price=D("590.00"), popularity=5, metal=Metal.ROSE_GOLD, karat=14,
        fineness=_gold(14), metal_weight_g=D("2.30"), length_mm=D("11.00"),
        stones=(StoneSpec("diamond", origin=StoneOrigin.LABORATORY_GROWN, count=16, carat_weight=D("0.30"),
                          colour="F-G", clarity="VS", shape="round"),),
        hygiene_item=True, tags=("huggies", "pierced", "lab-grown"),
    ),
    ProductSpec(
        code="AUR-PEN-NAT", title="Round Diamond Solitaire Pendant 0.75 ct, 18K White Gold", product_type="Necklaces",
        category=Category.PENDANT, price=D("3950.00"), popularity=3, metal=Metal.WHITE_GOLD, karat=18,
        fineness=_gold(18), metal_weight_g=D("2.40"),
        stones=(StoneSpec("diamond", carat_weight=D("0.75"), colour="F", clarity="VS2", cut="Excellent",
                          shape="round", lab="GIA", centre=True),),
        sizes="chain", serialised=True, tags=("pendant", "gia-certified"),
    ),
    ProductSpec(
        code="AUR-PEN-PRL", title="Akoya Cultured Pearl Pendant, 18K Yellow Gold", product_type="Necklaces",
        category=Category.PENDANT, price=D("480.00"), popularity=4, metal=Metal.YELLOW_GOLD, karat=18,
        fineness=_gold(18), metal_weight_g=D("1.90"),
        stones=(StoneSpec("cultured akoya pearl", colour="white rose", shape="round"),),
        sizes="chain", tags=("pearl", "pendant"),
    ),
    ProductSpec(
        code="AUR-NCK-VRM", title="Gold Vermeil Initial Necklace", product_type="Necklaces", category=Category.NECKLACE,
        price=D("120.00"), popularity=7, metal=Metal.SILVER, fineness=STERLING_FINENESS, metal_weight_g=D("2.80"),
        # Vermeil: sterling silver under at least 2.5 microns of 10K-or-better gold (16 CFR 23.5).
        plating="vermeil (18K gold over sterling silver)", plating_microns=D("2.500"), sizes="chain",
        personalised=True, final_sale=True, personalisation="initial", made_to_order_days=3,
        tags=("personalised", "vermeil", "final-sale"),
    ),
    ProductSpec(
        code="AUR-BAR-GP", title="Engravable Bar Necklace, Gold-Plated Sterling Silver", product_type="Necklaces",
        category=Category.NECKLACE, price=D("95.00"), popularity=5, metal=Metal.SILVER, fineness=STERLING_FINENESS,
        metal_weight_g=D("3.10"), length_mm=D("30.00"), width_mm=D("5.00"),
        plating="gold electroplate", plating_microns=D("0.500"), sizes="chain", engravable=True,
        personalisation="bar", engraving_share=0.55, made_to_order_days=3, tags=("engravable", "plated"),
    ),
    ProductSpec(
        code="AUR-CHN-FIG", title="Figaro Chain Necklace, 14K Yellow Gold", product_type="Necklaces",
        category=Category.NECKLACE, price=D("890.00"), popularity=4, metal=Metal.YELLOW_GOLD, karat=14,
        fineness=_gold(14), metal_weight_g=D("5.60"), width_mm=D("3.20"), sizes="chain", audience="unisex",
        tags=("chain",),
    ),
    ProductSpec(
        code="AUR-TEN-NCK", title="Diamond Tennis Necklace 5.00 ctw, 14K White Gold", product_type="Necklaces",
        category=Category.NECKLACE, price=D("7800.00"), popularity=1, metal=Metal.WHITE_GOLD, karat=14,
        fineness=_gold(14), metal_weight_g=D("14.50"), length_mm=D("406.4"),
        stones=(StoneSpec("diamond", count=110, carat_weight=D("5.00"), colour="G-H", clarity="SI1", shape="round"),),
        tags=("tennis",),
    ),
    ProductSpec(
        code="AUR-TEN-LG", title="Laboratory-Grown Diamond Tennis Bracelet 4.00 ctw, 14K White Gold",
        product_type="Bracelets", category=Category.BRACELET, price=D("3400.00"), popularity=3,
        metal=Metal.WHITE_GOLD, karat=14, fineness=_gold(14), metal_weight_g=D("9.80"),
        stones=(StoneSpec("diamond", origin=StoneOrigin.LABORATORY_GROWN, count=52, carat_weight=D("4.00"),
                          colour="F", clarity="VS1", shape="round", lab="IGI"),),
        sizes="bracelet", tags=("tennis", "lab-grown"),
    ),
    ProductSpec(
        code="AUR-ID-925", title="Engravable ID Bracelet, Sterling Silver", product_type="Bracelets",
        category=Category.BRACELET, price=D("165.00"), popularity=3, metal=Metal.SILVER, fineness=STERLING_FINENESS,
        metal_weight_g=D("12.40"), width_mm=D("6.00"), sizes="bracelet", audience="unisex", engravable=True,
        personalisation="engraving", engraving_share=0.6, made_to_order_days=3, tags=("engravable",),
    ),
]  # fmt: skip

LUMEN: list[ProductSpec] = [
    ProductSpec(
        code="LUM-SOL-LG", title="Laboratory-Grown Diamond Solitaire Ring 1.00 ct, Platinum",
        product_type="Engagement Rings", category=Category.RING, price=D("2900.00"), popularity=5,
        metal=Metal.PLATINUM, fineness=PLATINUM_FINENESS, metal_weight_g=D("4.80"), width_mm=D("1.90"),
        stones=(StoneSpec("diamond", origin=StoneOrigin.LABORATORY_GROWN, carat_weight=D("1.00"), colour="D",
                          clarity="VVS2", cut="Excellent", shape="round", lab="IGI", centre=True),),
        sizes="ring", engravable=True, resizable=True, serialised=True, personalisation="engraving",
        engraving_share=0.2, made_to_order_days=4, tags=("engagement", "lab-grown"),
    ),
    ProductSpec(
        code="LUM-STUD-NAT", title="Natural Diamond Stud Earrings 1.00 ctw, 18K White Gold", product_type="Earrings",
        category=Category.EARRINGS, price=D("3600.00"), popularity=3, metal=Metal.WHITE_GOLD, karat=18,
        fineness=_gold(18, international=True), metal_weight_g=D("1.40"),
        stones=(StoneSpec("diamond", carat_weight=D("0.50"), colour="F", clarity="VS1", cut="Excellent",
                          shape="round", lab="GIA"),
                StoneSpec("diamond", carat_weight=D("0.50"), colour="F", clarity="VS1", cut="Excellent",
                          shape="round", lab="GIA")),
        hygiene_item=True, tags=("studs", "pierced", "gia-certified"),
    ),
    ProductSpec(
        code="LUM-BND-PAV", title="Pavé Diamond Band, 14K White Gold", product_type="Wedding Bands",
        category=Category.BAND, price=D("1450.00"), popularity=4, metal=Metal.WHITE_GOLD, karat=14,
        fineness=_gold(14, international=True), metal_weight_g=D("2.60"), width_mm=D("2.20"),
        stones=(StoneSpec("diamond", count=24, carat_weight=D("0.30"), colour="G", clarity="VS", shape="round"),),
        sizes="ring", engravable=True, resizable=True, personalisation="engraving", engraving_share=0.4,
        tags=("wedding", "engravable"),
    ),
    ProductSpec(
        code="LUM-PEN-LG", title="Laboratory-Grown Diamond Pendant 0.50 ct, 18K Yellow Gold", product_type="Necklaces",
        category=Category.PENDANT, price=D("890.00"), popularity=4, metal=Metal.YELLOW_GOLD, karat=18,
        fineness=_gold(18, international=True), metal_weight_g=D("1.70"),
        stones=(StoneSpec("diamond", origin=StoneOrigin.LABORATORY_GROWN, carat_weight=D("0.50"), colour="E",
                          clarity="VS1", cut="Excellent", shape="round", lab="IGI", centre=True),),
        sizes="chain", serialised=True, tags=("pendant", "lab-grown"),
    ),
]  # fmt: skip


class PieceMint:
    """Serial numbers and grading-report numbers, unique within a brand and reproducible from the seed.

    GIA reports are 10 digits (DOMAIN.md section 6); IGI reports on laboratory-grown diamonds are
    "LG" and nine digits (the prefix is what IGI prints today: kept here as data, not as a rule).
    """

    def __init__(self, rng: random.Random, *, serial_prefix: str) -> None:
        self._rng = rng
        self._gia = rng.randrange(2_141_000_000, 2_240_000_000)
        self._igi = rng.randrange(600_000_000, 640_000_000)
        self._serial = 0
        self.prefix = serial_prefix

    def report(self, lab: str) -> str:
        if lab == "GIA":
            self._gia += self._rng.randrange(1, 4_000)
            return str(self._gia)
        self._igi += self._rng.randrange(1, 400)
        return f"LG{self._igi}"

    def serial(self, year: int) -> str:
        self._serial += 1
        return f"{self.prefix}-{year % 100:02d}-{self._serial:06d}"

    @staticmethod
    def inscription(lab: str, report: str) -> str:
        return f"{lab} {report}"


@dataclass
class DemoVariant:
    id: int
    sku: str
    title: str
    price: Decimal
    ring_size: Decimal | None


@dataclass
class DemoProduct:
    id: int
    spec: ProductSpec
    variants: list[DemoVariant]
    variant_popularity: list[float]
    variant_weights: list[float]  # cumulative, for rng.choices
    high_value: bool
    centre: StoneSpec | None  # the stone a serialised piece carries its own report for

    def piece_weight(self, variant: DemoVariant) -> Decimal:
        """Metal plus stones; a ring gains about 0.08 g of metal per size."""
        weight = self.spec.metal_weight_g or D(0)
        if variant.ring_size is not None:
            weight += (variant.ring_size - D("6.5")) * D("0.08")
        weight += sum(((s.carat_weight or D(0)) * CARAT_GRAMS for s in self.spec.stones), D(0))
        return weight.quantize(D("0.001"))


@dataclass
class DemoCatalogue:
    products: list[DemoProduct]
    weights: list[float]  # cumulative popularity, for rng.choices
    pieces_in_stock: int
    variants: int = field(default=0)


def _size_label(size: Decimal) -> str:
    return f"{size.normalize():f}"


def _variants_for(spec: ProductSpec) -> list[tuple[str, str, dict[str, str], float, Decimal]]:
    """(sku suffix, title, options, weight, price) for each variant of a product."""
    if spec.sizes == "ring":
        return [
            (_size_label(size), _size_label(size), {"Ring size": _size_label(size)}, weight, spec.price)
            for size, weight in zip(RING_SIZES, _SIZE_WEIGHTS[spec.audience], strict=True)
        ]
    lengths = _CHAIN_LENGTHS if spec.sizes == "chain" else _BRACELET_LENGTHS if spec.sizes == "bracelet" else []
    if lengths:
        name = "Chain length" if spec.sizes == "chain" else "Length"
        # A longer chain costs a little more gold.
        step = D("0.04") if spec.sizes == "chain" else D(0)
        return [
            (
                label.replace(" ", "").upper(),
                label,
                {name: label},
                weight,
                (spec.price * (1 + step * index)).quantize(D("1.00")),
            )
            for index, (label, weight) in enumerate(lengths)
        ]
    return [("OS", "Default Title", {}, 1.0, spec.price)]


def catalogue_build(
    *,
    brand_id: int,
    specs: list[ProductSpec],
    vendor: str,
    id_base: int,
    high_value_threshold: Decimal,
    mint: PieceMint,
    rng: random.Random,
    actor: Actor,
    at: datetime,
) -> DemoCatalogue:
    """Write the catalogue through the catalogue's own service, then complete each product."""
    products: list[DemoProduct] = []
    pieces: list[Piece] = []
    variant_count = 0
    for index, spec in enumerate(specs):
        shaped = _variants_for(spec)
        option_names = list(shaped[0][2]) if shaped[0][2] else []
        product_external_id = str(id_base + index * 1_009)
        incoming = CanonicalProduct(
            external_id=product_external_id,
            title=spec.title,
            handle=slugify(spec.title),
            vendor=vendor,
            product_type=spec.product_type,
            tags=list(spec.tags),
            option_names=option_names,
            variants=[
                CanonicalVariant(
                    external_id=str(id_base * 10 + index * 1_009 + position),
                    sku=f"{spec.code}-{suffix}" if len(shaped) > 1 else spec.code,
                    title=title,
                    options=options,
                    price=price,
                    inventory_quantity=rng.randrange(0, 12),
                    position=position,
                )
                for position, (suffix, title, options, _weight, price) in enumerate(shaped, start=1)
            ],
            updated_at=at,
        )
        product = product_upsert(brand_id=brand_id, incoming=incoming, actor=actor).product
        high_value = max(price for *_rest, price in shaped) >= high_value_threshold
        Product.objects.filter(pk=product.pk, brand_id=brand_id).update(
            category=spec.category,
            engravable=spec.engravable,
            personalised=spec.personalised,
            resizable=spec.resizable,
            resizable_down=RESIZABLE_RANGE if spec.resizable else D(0),
            resizable_up=RESIZABLE_RANGE if spec.resizable else D(0),
            final_sale=spec.final_sale,
            hygiene_item=spec.hygiene_item,
            high_value=high_value,
            needs_completion=False,
        )
        Specification.objects.create(
            brand_id=brand_id,
            product=product,
            metal=spec.metal,
            karat=spec.karat,
            fineness=spec.fineness,
            metal_weight_g=spec.metal_weight_g,
            width_mm=spec.width_mm,
            length_mm=spec.length_mm,
            thickness_mm=spec.thickness_mm,
            hollow=spec.hollow,
            plating=spec.plating,
            plating_thickness_microns=spec.plating_microns,
        )
        variants = [
            DemoVariant(id=v.pk, sku=v.sku, title=v.title, price=v.price.quantize(CENT), ring_size=v.ring_size)
            for v in product.variants.filter(brand_id=brand_id).order_by("position")
        ]
        variant_count += len(variants)
        demo = DemoProduct(
            id=product.pk,
            spec=spec,
            variants=variants,
            variant_popularity=[w for *_rest, w, _price in shaped],
            variant_weights=list(accumulate(w for *_rest, w, _price in shaped)),
            high_value=high_value,
            centre=next((s for s in spec.stones if s.centre), None),
        )
        stock = (
            _stock_pieces(brand_id=brand_id, product=demo, mint=mint, rng=rng, at=at)
            if spec.serialised and demo.centre is not None
            else []
        )
        pieces.extend(stock)
        Stone.objects.bulk_create(
            [
                Stone(
                    brand_id=brand_id,
                    product=product,
                    species=stone.species,
                    origin=stone.origin,
                    treatments=list(stone.treatments),
                    count=stone.count,
                    carat_weight=stone.carat_weight,
                    colour=stone.colour,
                    clarity=stone.clarity,
                    cut=stone.cut,
                    shape=stone.shape,
                    lab=stone.lab,
                    report_number=_stone_report(stone, stock, mint),
                )
                for stone in spec.stones
            ]
        )
        products.append(demo)
    Piece.objects.bulk_create(pieces)
    return DemoCatalogue(
        products=products,
        weights=list(accumulate(p.spec.popularity for p in products)),
        pieces_in_stock=len(pieces),
        variants=variant_count,
    )


def _stock_pieces(
    *, brand_id: int, product: DemoProduct, mint: PieceMint, rng: random.Random, at: datetime
) -> list[Piece]:
    """A few finished pieces on the shelf, in the sizes that sell most."""
    assert product.centre is not None
    ranked = sorted(zip(product.variant_popularity, range(len(product.variants)), strict=True), reverse=True)
    popular = [product.variants[index] for _weight, index in ranked[:3]]
    made = at - timedelta(days=rng.randrange(5, 60))
    rows = []
    for variant in popular:
        report = mint.report(product.centre.lab)
        rows.append(
            Piece(
                brand_id=brand_id,
                variant_id=variant.id,
                serial_number=mint.serial(made.year),
                inscription=PieceMint.inscription(product.centre.lab, report),
                report_number=report,
                weight_g=product.piece_weight(variant),
                status=PieceStatus.IN_STOCK,
            )
        )
    return rows


def _stone_report(stone: StoneSpec, stock: list[Piece], mint: PieceMint) -> str:
    """A serialised product's centre stone shows the report of the first piece on the shelf; every
    piece carries its own."""
    if not stone.lab:
        return ""
    if stone.centre and stock:
        return stock[0].report_number
    return mint.report(stone.lab)
