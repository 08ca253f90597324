"""Apply a stored Shopify event: parse its body by topic, map it, call the domain's services.

Runs inside `inbound_event_process`'s transaction: the writes and the event's new status commit
together. An error raised here is recorded on the event (a payload the domain refuses fails at
once; an order that has not arrived yet is retried).
"""

from __future__ import annotations

import orjson

from assay.catalog.services import product_mark_deleted, product_upsert
from assay.core.audit import Actor
from assay.core.errors import DomainError
from assay.integrations.shopify.mapping import (
    SOURCE,
    order_from_shopify,
    product_from_shopify,
    refund_from_shopify,
    shipment_from_fulfillment,
)
from assay.integrations.shopify.payloads import (
    TOPIC_MODELS,
    ShopifyDeletedProduct,
    ShopifyFulfillment,
    ShopifyOrder,
    ShopifyProduct,
    ShopifyRefund,
)
from assay.orders.services import order_upsert, shipment_upsert, shop_refund_record
from assay.webhooks.models import InboundEvent
from assay.webhooks.registry import HandlerResult
from assay.webhooks.services import inbound_events_make_due
from assay.webhooks.status import EventStatus

__all__ = ["process_event"]

ACTOR = Actor.webhook(SOURCE)
# Topics whose body names an order that may not have arrived yet.
_WAITS_FOR_ORDER = ("fulfillments/create", "fulfillments/update", "refunds/create")


def process_event(event: InboundEvent) -> HandlerResult:
    """Apply one Shopify event to the brand's orders or catalogue; says what happened."""
    model = TOPIC_MODELS.get(event.topic)
    if model is None:
        raise DomainError(f"unsupported Shopify topic '{event.topic}'")
    payload = model.model_validate_json(event.payload)
    if isinstance(payload, ShopifyOrder):
        return _order(event, payload)
    if isinstance(payload, ShopifyFulfillment):
        return _fulfillment(event, payload)
    if isinstance(payload, ShopifyRefund):
        return _refund(event, payload)
    if isinstance(payload, ShopifyProduct):
        return _product(event, payload)
    if isinstance(payload, ShopifyDeletedProduct):
        return _product_deleted(event, payload)
    raise DomainError(f"no handler for Shopify topic '{event.topic}'")  # pragma: no cover - TOPIC_MODELS is closed


def _order(event: InboundEvent, payload: ShopifyOrder) -> HandlerResult:
    incoming = order_from_shopify(payload)
    result = order_upsert(brand_id=event.brand_id, incoming=incoming, actor=ACTOR)
    label = f"order {incoming.number}"
    if result.outcome == "stale":
        return HandlerResult(stale=True, outcome=f"stale: {label} already at a newer version")
    if result.outcome == "created":
        _wake_events_waiting_for(brand_id=event.brand_id, order_external_id=incoming.external_id)
        return HandlerResult(stale=False, outcome=f"{label} created")
    if result.outcome == "updated":
        if "cancelled_at" in result.changed and incoming.cancelled_at is not None:
            return HandlerResult(stale=False, outcome=f"{label} cancelled")
        return HandlerResult(stale=False, outcome=f"{label} updated: {', '.join(result.changed)}")
    return HandlerResult(stale=False, outcome=f"{label} unchanged")


def _fulfillment(event: InboundEvent, payload: ShopifyFulfillment) -> HandlerResult:
    incoming = shipment_from_fulfillment(payload)
    outcome = shipment_upsert(
        brand_id=event.brand_id, order_external_id=str(payload.order_id), incoming=incoming, actor=ACTOR
    )
    label = f"fulfilment {payload.name or payload.id}"
    if outcome == "stale":
        return HandlerResult(stale=True, outcome=f"stale: {label} already at a newer version")
    return HandlerResult(stale=False, outcome=f"{label} {outcome} ({incoming.status})")


def _refund(event: InboundEvent, payload: ShopifyRefund) -> HandlerResult:
    incoming = refund_from_shopify(payload)
    outcome = shop_refund_record(
        brand_id=event.brand_id, order_external_id=str(payload.order_id), incoming=incoming, actor=ACTOR
    )
    if outcome == "created":
        return HandlerResult(stale=False, outcome=f"refund {payload.id} of {incoming.amount} recorded")
    return HandlerResult(stale=False, outcome=f"refund {payload.id} already recorded")


def _product(event: InboundEvent, payload: ShopifyProduct) -> HandlerResult:
    incoming = product_from_shopify(payload)
    result = product_upsert(brand_id=event.brand_id, incoming=incoming, actor=ACTOR)
    label = f"product '{incoming.title}'"
    if result.outcome == "stale":
        return HandlerResult(stale=True, outcome=f"stale: {label} already at a newer version")
    return HandlerResult(stale=False, outcome=f"{label} {result.outcome} with {len(incoming.variants)} variants")


def _product_deleted(event: InboundEvent, payload: ShopifyDeletedProduct) -> HandlerResult:
    product = product_mark_deleted(brand_id=event.brand_id, external_id=str(payload.id), actor=ACTOR)
    if product is None:
        return HandlerResult(stale=False, outcome=f"product {payload.id} is not known; nothing to delete")
    return HandlerResult(stale=False, outcome=f"product '{product.title}' marked deleted")


def _order_id_of(raw: str) -> str | None:
    try:
        value = orjson.loads(raw).get("order_id")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return str(value) if value is not None else None


def _wake_events_waiting_for(*, brand_id: int, order_external_id: str) -> None:
    """Fulfilments and refunds that arrived before their order are retried as soon as it lands,
    instead of at the end of their backoff: they become due with this transaction. One query, two
    when some are waiting."""
    waiting = InboundEvent.objects.filter(
        brand_id=brand_id,
        source=SOURCE,
        status=EventStatus.RECEIVED,
        attempts__gt=0,
        topic__in=_WAITS_FOR_ORDER,
        duplicate_of__isnull=True,
        payload__contains=order_external_id,  # narrows in SQL; the parse below decides
    ).values_list("id", "payload")
    inbound_events_make_due(event_pks=[pk for pk, raw in waiting if _order_id_of(raw) == order_external_id])
