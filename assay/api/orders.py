"""Orders: search the brand's orders and read one with its lines, shipments and history."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from assay.api.auth import caller
from assay.api.schemas import ErrorOut, OrderDetailOut, OrderFilters, OrderList, order_detail_out, order_out
from assay.core.errors import NotFound
from assay.orders.selectors import order_detail, order_search

router = Router()

_ERRORS: dict[int, Any] = {401: ErrorOut, 404: ErrorOut, 422: ErrorOut}


@router.get(
    "", response={200: OrderList, 401: ErrorOut, 422: ErrorOut}, operation_id="orders_list", summary="Search orders"
)
def orders_list(request: HttpRequest, filters: Query[OrderFilters]) -> dict[str, Any]:
    """The brand's orders, newest first. Every filter given must match."""
    page = order_search(
        brand_id=caller(request).brand_id,
        q=filters.q,
        number=filters.number,
        email=filters.email,
        sku=filters.sku,
        placed_from=filters.placed_from,
        placed_to=filters.placed_to,
        limit=filters.limit,
        offset=filters.offset,
    )
    return {"items": [order_out(order) for order in page.items], "count": page.count}


@router.get(
    "/{int:order_id}", response={200: OrderDetailOut, **_ERRORS}, operation_id="order_detail", summary="Read an order"
)
def order_read(request: HttpRequest, order_id: int) -> dict[str, Any]:
    """One order with its customer, lines, shipments and audit trail."""
    order = order_detail(brand_id=caller(request).brand_id, order_id=order_id)
    if order is None:
        raise NotFound(f"no order {order_id}")
    return order_detail_out(order)
