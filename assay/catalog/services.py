"""Writes for the catalogue."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction

from assay.catalog.models import Category, Product, ProductStatus, Variant
from assay.catalog.schema import CanonicalProduct, CanonicalVariant
from assay.catalog.sizes import RING_SIZE_OPTION, parse_us_ring_size
from assay.core.audit import Actor, audit_record

_CATEGORY_WORDS: list[tuple[re.Pattern[str], Category]] = [
    (re.compile(r"\b(wedding\s+)?bands?\b", re.I), Category.BAND),
    (re.compile(r"\brings?\b", re.I), Category.RING),
    (re.compile(r"\b(earrings?|studs?|hoops?|huggies)\b", re.I), Category.EARRINGS),
    (re.compile(r"\b(necklaces?|chains?|chokers?)\b", re.I), Category.NECKLACE),
    (re.compile(r"\bpendants?\b", re.I), Category.PENDANT),
    (re.compile(r"\b(bracelets?|bangles?|cuffs?)\b", re.I), Category.BRACELET),
]
_NOT_PIERCED = re.compile(r"\b(clip[- ]?on|ear\s*cuff|magnetic)\b", re.I)


def category_guess(*texts: str) -> Category:
    """The category a shop's product type, tags or title point to; OTHER when none does."""
    for text in texts:
        for pattern, category in _CATEGORY_WORDS:
            if text and pattern.search(text):
                return category
    return Category.OTHER


def _ring_size(options: dict[str, str]) -> Decimal | None:
    for name, value in options.items():
        if RING_SIZE_OPTION.search(name):
            return parse_us_ring_size(value)
    return None


@dataclass(frozen=True)
class ProductUpsert:
    product: Product
    outcome: str  # created, updated, stale


@transaction.atomic
def product_upsert(*, brand_id: int, incoming: CanonicalProduct, actor: Actor) -> ProductUpsert:
    """Create or update a product and its variants from the shop's catalogue.

    Jewellery facts the shop does not carry (specification, stones, flags) stay as Assay has them;
    the category and hygiene flag are guessed only for a new product.
    """
    product = Product.objects.select_for_update().filter(brand_id=brand_id, external_id=incoming.external_id).first()
    if (
        product
        and product.source_updated_at
        and incoming.updated_at
        and incoming.updated_at < product.source_updated_at
    ):
        return ProductUpsert(product=product, outcome="stale")
    created = product is None
    if product is None:
        category = category_guess(incoming.product_type, " ".join(incoming.tags), incoming.title)
        product = Product(
            brand_id=brand_id,
            external_id=incoming.external_id,
            category=category,
            hygiene_item=category == Category.EARRINGS and not _NOT_PIERCED.search(incoming.title),
            resizable=category == Category.RING,
            resizable_down=Decimal(2) if category == Category.RING else Decimal(0),
            resizable_up=Decimal(2) if category == Category.RING else Decimal(0),
        )
    product.title = incoming.title
    product.handle = incoming.handle
    product.vendor = incoming.vendor
    product.product_type = incoming.product_type
    product.tags = list(incoming.tags)
    product.option_names = list(incoming.option_names)
    product.status = incoming.status if incoming.status in ProductStatus.values else ProductStatus.ACTIVE
    product.source_updated_at = incoming.updated_at or product.source_updated_at
    try:
        with transaction.atomic():
            product.save()
    except IntegrityError:
        # Another worker created it first; apply this version on top of theirs.
        return product_upsert(brand_id=brand_id, incoming=incoming, actor=actor)
    _variants_sync(brand_id=brand_id, product=product, incoming=incoming.variants)
    audit_record(
        brand_id=brand_id,
        subject=product,
        action="product_created" if created else "product_updated",
        actor=actor,
        data={"variants": len(incoming.variants)},
    )
    return ProductUpsert(product=product, outcome="created" if created else "updated")


def _variants_sync(*, brand_id: int, product: Product, incoming: list[CanonicalVariant]) -> None:
    existing = {v.external_id: v for v in Variant.objects.filter(brand_id=brand_id, product=product)}
    for position, item in enumerate(incoming, start=1):
        variant = existing.get(item.external_id) if item.external_id else None
        if variant is None and item.sku:
            # A variant Assay created from an order line before the catalogue arrived.
            variant = Variant.objects.filter(brand_id=brand_id, sku=item.sku, external_id="").first()
        if variant is None:
            variant = Variant(brand_id=brand_id, product=product, external_id=item.external_id)
        variant.product = product
        variant.external_id = item.external_id
        variant.sku = item.sku
        variant.title = item.title
        variant.options = dict(item.options)
        variant.ring_size = _ring_size(item.options)
        variant.price = item.price
        variant.inventory_quantity = item.inventory_quantity
        variant.position = item.position or position
        variant.save()


@transaction.atomic
def product_mark_deleted(
    *, brand_id: int, external_id: str, actor: Actor, at: datetime | None = None
) -> Product | None:
    """The shop deleted the product: keep it (orders and returns point at it), mark it deleted."""
    product = Product.objects.select_for_update().filter(brand_id=brand_id, external_id=external_id).first()
    if product is None or product.status == ProductStatus.DELETED:
        return product
    previous = product.status
    product.status = ProductStatus.DELETED
    product.save(update_fields=["status", "updated_at"])
    audit_record(
        brand_id=brand_id,
        subject=product,
        action="product_deleted",
        actor=actor,
        from_state=previous,
        to_state=ProductStatus.DELETED,
        why="deleted in the shop",
    )
    return product


@dataclass(frozen=True, slots=True)
class UnknownLine:
    """An order line the catalogue has no variant for, with whatever the shop said about it."""

    sku: str
    title: str
    variant_title: str = ""
    product_external_id: str = ""
    variant_external_id: str = ""


def products_for_unknown_lines(*, brand_id: int, lines: list[UnknownLine]) -> list[Variant]:
    """A variant for each order line the catalogue does not know yet, in the order given.

    Each gets a product built from the line and flagged for completion, so the order lands now and
    the specification is completed in Assay later. When the shop named its product and variant ids,
    the new rows carry them: the shop's catalogue event for that product later completes these rows
    instead of creating a second product beside them.
    """
    products: dict[str, Product] = {}
    made: dict[str, Variant] = {}
    result: list[Variant] = []
    for line in lines:
        key = f"id:{line.variant_external_id}" if line.variant_external_id else f"sku:{line.sku}"
        variant = made.get(key)
        if variant is None:
            product = products.get(line.product_external_id) if line.product_external_id else None
            if product is None:
                product = _placeholder_product(brand_id=brand_id, line=line)
                if line.product_external_id:
                    products[line.product_external_id] = product
            variant = _placeholder_variant(brand_id=brand_id, product=product, line=line)
            made[key] = variant
        result.append(variant)
    return result


def _placeholder_product(*, brand_id: int, line: UnknownLine) -> Product:
    if line.product_external_id:
        existing = Product.objects.filter(brand_id=brand_id, external_id=line.product_external_id).first()
        if existing is not None:
            return existing
    category = category_guess(line.title)
    product = Product(
        brand_id=brand_id,
        external_id=line.product_external_id,
        title=line.title,
        category=category,
        needs_completion=True,
        hygiene_item=category == Category.EARRINGS and not _NOT_PIERCED.search(line.title),
    )
    try:
        with transaction.atomic():
            product.save()
    except IntegrityError:
        # Another order with the same new product landed first.
        return Product.objects.get(brand_id=brand_id, external_id=line.product_external_id)
    return product


def _placeholder_variant(*, brand_id: int, product: Product, line: UnknownLine) -> Variant:
    variant = Variant(
        brand_id=brand_id,
        product=product,
        external_id=line.variant_external_id,
        sku=line.sku,
        title=line.variant_title,
    )
    try:
        with transaction.atomic():
            variant.save()
    except IntegrityError:
        return Variant.objects.select_related("product").get(brand_id=brand_id, external_id=line.variant_external_id)
    return variant


def products_for_unknown_skus(*, brand_id: int, lines: list[tuple[str, str, str]]) -> dict[str, Variant]:
    """Variants for order-line SKUs the catalogue does not know yet, by SKU; each (sku, title,
    variant_title) gets a product flagged for completion (see `products_for_unknown_lines`)."""
    unknown = [UnknownLine(sku=sku, title=title, variant_title=variant_title) for sku, title, variant_title in lines]
    variants = products_for_unknown_lines(brand_id=brand_id, lines=unknown)
    return {line.sku: variant for line, variant in zip(unknown, variants, strict=True)}
