"""Reads for the catalogue: product search and detail as plain data.

Hot reads: `.values()` rows, a fixed number of queries stated in each docstring.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet

from assay.catalog.models import Product, Stone, Variant

MAX_ID = 2**63 - 1
MAX_LIMIT = 200


@dataclass(frozen=True, slots=True)
class VariantData:
    id: int
    external_id: str
    sku: str
    title: str
    options: dict[str, str]
    ring_size: Decimal | None
    price: Decimal
    inventory_quantity: int


@dataclass(frozen=True, slots=True)
class SpecificationData:
    metal: str
    karat: int | None
    fineness: Decimal | None
    metal_weight_g: Decimal | None
    width_mm: Decimal | None
    length_mm: Decimal | None
    thickness_mm: Decimal | None
    hollow: bool
    plating: str
    plating_thickness_microns: Decimal | None


@dataclass(frozen=True, slots=True)
class StoneData:
    id: int
    species: str
    origin: str
    treatments: list[str]
    count: int
    carat_weight: Decimal | None
    colour: str
    clarity: str
    cut: str
    shape: str
    lab: str
    report_number: str


@dataclass(frozen=True, slots=True)
class ProductSummary:
    id: int
    external_id: str
    title: str
    handle: str
    vendor: str
    product_type: str
    category: str
    status: str
    tags: list[str]
    option_names: list[str]
    currency: str  # the brand's: variant prices are in it
    engravable: bool
    personalised: bool
    resizable: bool
    resizable_down: Decimal
    resizable_up: Decimal
    final_sale: bool
    hygiene_item: bool
    high_value: bool
    needs_completion: bool
    variants: list[VariantData]


@dataclass(frozen=True, slots=True)
class ProductDetail(ProductSummary):
    specification: SpecificationData | None
    stones: list[StoneData]


@dataclass(frozen=True, slots=True)
class ProductPage:
    items: list[ProductSummary]
    count: int
    limit: int
    offset: int


_PRODUCT_FIELDS = (
    "id", "external_id", "title", "handle", "vendor", "product_type", "category", "status", "tags", "option_names",
    "engravable", "personalised", "resizable", "resizable_down", "resizable_up", "final_sale", "hygiene_item",
    "high_value", "needs_completion",
)  # fmt: skip
_SPEC_FIELDS = (
    "metal", "karat", "fineness", "metal_weight_g", "width_mm", "length_mm", "thickness_mm", "hollow", "plating",
    "plating_thickness_microns",
)  # fmt: skip
_VARIANT_FIELDS = ("id", "product_id", "external_id", "sku", "title", "options", "ring_size", "price",
                   "inventory_quantity")  # fmt: skip
_STONE_FIELDS = ("id", "species", "origin", "treatments", "count", "carat_weight", "colour", "clarity", "cut", "shape",
                 "lab", "report_number")  # fmt: skip


def product_filter(
    *, brand_id: int, sku: str = "", q: str = "", needs_completion: bool | None = None
) -> QuerySet[Product]:
    """The brand's products with a variant of exactly this SKU, a title containing `q` (any case),
    and the given completion flag. No query runs until it is evaluated."""
    products = Product.objects.filter(brand_id=brand_id)
    if sku.strip():
        products = products.filter(
            id__in=Variant.objects.filter(brand_id=brand_id, sku=sku.strip()).values("product_id")
        )
    if q.strip():
        products = products.filter(title__icontains=q.strip())
    if needs_completion is not None:
        products = products.filter(needs_completion=needs_completion)
    return products


def _variants_by_product(*, brand_id: int, product_ids: list[int]) -> dict[int, list[VariantData]]:
    """Variants of these products in the shop's order. One query."""
    found: dict[int, list[VariantData]] = {product_id: [] for product_id in product_ids}
    if not product_ids:
        return found
    rows = (
        Variant.objects.filter(brand_id=brand_id, product_id__in=product_ids)
        .order_by("product_id", "position", "id")
        .values(*_VARIANT_FIELDS)
    )
    for row in rows:
        found[row.pop("product_id")].append(
            VariantData(**{**row, "options": {str(k): str(v) for k, v in (row["options"] or {}).items()}})
        )
    return found


def _summary_values(row: dict[str, Any], variants: list[VariantData]) -> dict[str, Any]:
    values = {name: row[name] for name in _PRODUCT_FIELDS}
    values["tags"] = list(row["tags"] or [])
    values["option_names"] = list(row["option_names"] or [])
    values["currency"] = row["brand__currency"]
    values["variants"] = variants
    return values


def product_search(
    *,
    brand_id: int,
    sku: str = "",
    q: str = "",
    needs_completion: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> ProductPage:
    """A page of the brand's products by title, with their variants and the total count of matches.

    Queries: the page (1), its variants (1, skipped for an empty page) and the count (1, skipped
    when a short page already tells the total). 3 for a full page.
    """
    limit = max(1, min(int(limit), MAX_LIMIT))
    offset = max(0, int(offset))
    products = product_filter(brand_id=brand_id, sku=sku, q=q, needs_completion=needs_completion)
    rows = list(products.order_by("title", "id").values(*_PRODUCT_FIELDS, "brand__currency")[offset : offset + limit])
    page_tells_total = len(rows) < limit and (bool(rows) or offset == 0)
    count = offset + len(rows) if page_tells_total else products.count()
    variants = _variants_by_product(brand_id=brand_id, product_ids=[row["id"] for row in rows]) if rows else {}
    items = [ProductSummary(**_summary_values(row, variants.get(row["id"], []))) for row in rows]
    return ProductPage(items=items, count=count, limit=limit, offset=offset)


def product_detail(*, brand_id: int, product_id: int) -> ProductDetail | None:
    """One of the brand's products with variants, specification and stones; None when the brand
    has no such product (another brand's product included).

    Three queries: the product with its specification (1), variants (1), stones (1). A missing
    product costs one query.
    """
    if not 0 < product_id <= MAX_ID:
        return None
    spec_columns = [f"specification__{name}" for name in _SPEC_FIELDS]
    row = (
        Product.objects.filter(brand_id=brand_id, pk=product_id)
        .values(*_PRODUCT_FIELDS, "brand__currency", "specification__id", *spec_columns)
        .first()
    )
    if row is None:
        return None
    specification = None
    if row["specification__id"] is not None:
        specification = SpecificationData(**{name: row[f"specification__{name}"] for name in _SPEC_FIELDS})
    variants = _variants_by_product(brand_id=brand_id, product_ids=[product_id])[product_id]
    stones = [
        StoneData(**{**stone, "treatments": [str(t) for t in (stone["treatments"] or [])]})
        for stone in Stone.objects.filter(brand_id=brand_id, product_id=product_id)
        .order_by("id")
        .values(*_STONE_FIELDS)
    ]
    return ProductDetail(**_summary_values(row, variants), specification=specification, stones=stones)
