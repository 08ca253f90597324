"""Products: the brand's catalogue with variants, jewellery specification, stones and flags."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from assay.api.auth import caller
from assay.api.schemas import ErrorOut, ProductDetailOut, ProductFilters, ProductList, product_detail_out, product_out
from assay.catalog.selectors import product_detail, product_search
from assay.core.errors import NotFound

router = Router()


@router.get(
    "",
    response={200: ProductList, 401: ErrorOut, 422: ErrorOut},
    operation_id="products_list",
    summary="Search products",
)
def products_list(request: HttpRequest, filters: Query[ProductFilters]) -> dict[str, Any]:
    """The brand's products by title, with their variants. Every filter given must match."""
    page = product_search(
        brand_id=caller(request).brand_id,
        sku=filters.sku,
        q=filters.q,
        needs_completion=filters.needs_completion,
        limit=filters.limit,
        offset=filters.offset,
    )
    return {"items": [product_out(product) for product in page.items], "count": page.count}


@router.get(
    "/{int:product_id}",
    response={200: ProductDetailOut, 401: ErrorOut, 404: ErrorOut},
    operation_id="product_detail",
    summary="Read a product",
)
def product_read(request: HttpRequest, product_id: int) -> dict[str, Any]:
    """One product with variants, specification, stones and flags."""
    product = product_detail(brand_id=caller(request).brand_id, product_id=product_id)
    if product is None:
        raise NotFound(f"no product {product_id}")
    return product_detail_out(product)
