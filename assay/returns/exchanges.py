"""What an order line can be exchanged for: other ring sizes of the same piece, other variants of it,
other pieces. Read by the portal pages and the portal API.

Ring sizes come first: size is the reason for most jewellery returns, so another size of the same
piece must be the easiest path.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from assay.catalog.models import ProductStatus, Variant
from assay.catalog.sizes import RING_SIZE_OPTION
from assay.orders.models import OrderLine

MAX_OTHER_PRODUCTS = 200  # variants offered as "another product": enough to choose from, bounded


@dataclass(frozen=True, slots=True)
class ExchangeChoice:
    sku: str
    product_id: int
    product_title: str
    label: str  # "Size 7", "18k rose gold / 6.5"
    ring_size: Decimal | None
    price: Decimal
    difference: Decimal  # price minus what the shopper paid per unit: > 0 they pay more, < 0 they get back


@dataclass(slots=True)
class ExchangeChoices:
    sizes: list[ExchangeChoice] = field(default_factory=list)
    variants: list[ExchangeChoice] = field(default_factory=list)
    products: list[ExchangeChoice] = field(default_factory=list)
    # Every variant of the same piece, in stock or not (SKU -> ring size), and the one bought: to tell
    # what a client naming a SKU means even when it cannot be offered.
    siblings: dict[str, Decimal | None] = field(default_factory=dict)
    current_sku: str = ""

    def kind_of(self, sku: str) -> str:
        """'size', 'variant' or 'product': what exchanging for this SKU would be."""
        if sku not in self.siblings or sku == self.current_sku:
            return "variant" if sku == self.current_sku and sku else "product"
        size = self.siblings[sku]
        current = self.siblings.get(self.current_sku)
        return "size" if size is not None and current is not None and size != current else "variant"

    def find(self, kind: str, sku: str) -> ExchangeChoice | None:
        pool = {"size": self.sizes, "variant": self.variants, "product": self.products}.get(kind, [])
        return next((choice for choice in pool if choice.sku == sku), None)


@dataclass(frozen=True, slots=True)
class LineAnchor:
    """What an order line was: the piece, the variant, and the price paid per unit."""

    line_id: int
    product_id: int | None
    variant_id: int | None
    paid: Decimal


def _without_size(options: dict[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in (options or {}).items() if not RING_SIZE_OPTION.search(str(k))}


def _size_label(size: Decimal) -> str:
    return f"Size {format(size.normalize(), 'f')}"


def exchange_choices(*, brand_id: int, lines: Iterable[LineAnchor]) -> dict[int, ExchangeChoices]:
    """For each line: in-stock other sizes of the same piece (smallest first), in-stock other variants
    of it, and in-stock variants of the brand's other active pieces of the same categories.

    Two queries: the variants of the lines' products, and those of other products.
    """
    anchors = list(lines)
    found: dict[int, ExchangeChoices] = {anchor.line_id: ExchangeChoices() for anchor in anchors}
    product_ids = {anchor.product_id for anchor in anchors if anchor.product_id is not None}
    if not product_ids:
        return found
    rows = list(
        Variant.objects.filter(brand_id=brand_id, product_id__in=product_ids)
        .order_by("product_id", "ring_size", "position", "id")
        .values(
            "id", "sku", "title", "options", "ring_size", "price", "inventory_quantity", "product_id",
            "product__title", "product__category", "product__status",
        )
    )  # fmt: skip
    by_id = {row["id"]: row for row in rows}
    categories = {row["product__category"] for row in rows}
    others = list(
        Variant.objects.filter(
            brand_id=brand_id,
            product__category__in=categories,
            product__status=ProductStatus.ACTIVE,
            inventory_quantity__gt=0,
        )
        .exclude(product_id__in=product_ids)
        .exclude(sku="")
        .order_by("product__title", "product_id", "ring_size", "position", "id")
        .values("sku", "title", "options", "ring_size", "price", "product_id", "product__title", "product__category")[
            :MAX_OTHER_PRODUCTS
        ]
    )
    for anchor in anchors:
        choices = found[anchor.line_id]
        if anchor.product_id is None:
            continue
        current = by_id.get(anchor.variant_id) if anchor.variant_id is not None else None
        choices.siblings = {row["sku"]: row["ring_size"] for row in rows if row["product_id"] == anchor.product_id}
        choices.current_sku = current["sku"] if current else ""
        current_size = current["ring_size"] if current else None
        current_rest = _without_size(current["options"]) if current else None
        for row in rows:
            if row["product_id"] != anchor.product_id or row["id"] == anchor.variant_id:
                continue
            if row["inventory_quantity"] <= 0 or not row["sku"] or row["product__status"] != ProductStatus.ACTIVE:
                continue
            choice = ExchangeChoice(
                sku=row["sku"],
                product_id=row["product_id"],
                product_title=row["product__title"],
                label=row["title"] or row["sku"],
                ring_size=row["ring_size"],
                price=row["price"],
                difference=row["price"] - anchor.paid,
            )
            same_but_size = current_rest is not None and _without_size(row["options"]) == current_rest
            if row["ring_size"] is not None and row["ring_size"] != current_size and same_but_size:
                choices.sizes.append(replace(choice, label=_size_label(row["ring_size"])))
            elif not same_but_size or current is None:
                choices.variants.append(choice)
        category = current["product__category"] if current else None
        for other in others:
            if category is not None and other["product__category"] != category:
                continue
            title = other["title"] or other["sku"]
            choices.products.append(
                ExchangeChoice(
                    sku=other["sku"],
                    product_id=other["product_id"],
                    product_title=other["product__title"],
                    label=f"{other['product__title']} – {title}" if title != other["product__title"] else title,
                    ring_size=other["ring_size"],
                    price=other["price"],
                    difference=other["price"] - anchor.paid,
                )
            )
    return found


def line_exchange_choices(*, brand_id: int, order_id: int, line_id: int) -> ExchangeChoices | None:
    """The choices for one line of one of the brand's orders; None when the order has no such line.
    Three queries (the line, then those of exchange_choices)."""
    row = (
        OrderLine.objects.filter(brand_id=brand_id, order_id=order_id, pk=line_id)
        .values("product_id", "variant_id", "unit_price", "total_discount", "quantity")
        .first()
    )
    if row is None:
        return None
    quantity = row["quantity"] or 1
    anchor = LineAnchor(
        line_id=line_id,
        product_id=row["product_id"],
        variant_id=row["variant_id"],
        paid=row["unit_price"] - row["total_discount"] / quantity,
    )
    return exchange_choices(brand_id=brand_id, lines=[anchor])[line_id]
