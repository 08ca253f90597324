"""Inbound webhook events: what happened to each delivery, and a staff retry of a failed one."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from assay.api.auth import caller
from assay.api.schemas import ErrorOut, WebhookEventFilters, WebhookEventList, WebhookEventOut, webhook_event_out
from assay.brands.models import Role
from assay.core.errors import Conflict, NotFound, PermissionDenied
from assay.webhooks.selectors import inbound_event_detail, inbound_event_search
from assay.webhooks.services import inbound_event_retry
from assay.webhooks.status import EventStatus
from assay.webhooks.tasks import enqueue_processing

router = Router()

# Replaying a shop's event changes orders: operations work, not every role's.
RETRY_ROLES = {Role.OWNER, Role.OPS}


@router.get(
    "",
    response={200: WebhookEventList, 401: ErrorOut, 422: ErrorOut},
    operation_id="webhook_events_list",
    summary="Search inbound webhook events",
)
def webhook_events_list(request: HttpRequest, filters: Query[WebhookEventFilters]) -> dict[str, Any]:
    """The brand's inbound deliveries, newest first, with their processing state."""
    page = inbound_event_search(
        brand_id=caller(request).brand_id,
        source=filters.source,
        event_id=filters.event_id,
        status=str(filters.status or ""),
        topic=filters.topic,
        limit=filters.limit,
        offset=filters.offset,
    )
    return {"items": [webhook_event_out(event) for event in page.items], "count": page.count}


@router.get(
    "/{int:event_pk}",
    response={200: WebhookEventOut, 401: ErrorOut, 404: ErrorOut},
    operation_id="webhook_event_detail",
    summary="Read an inbound webhook event",
)
def webhook_event_read(request: HttpRequest, event_pk: int) -> dict[str, Any]:
    event = inbound_event_detail(brand_id=caller(request).brand_id, event_pk=event_pk)
    if event is None:
        raise NotFound(f"no webhook event {event_pk}")
    return webhook_event_out(event)


@router.post(
    "/{int:event_pk}/retry",
    response={202: WebhookEventOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    operation_id="webhook_event_retry",
    summary="Retry a failed inbound webhook event",
)
def webhook_event_retry(request: HttpRequest, event_pk: int) -> Status[dict[str, Any]]:
    """Queue a failed event to be processed again (owner and ops tokens). Answers 202 with the event
    as queued; read it again to see the result."""
    who = caller(request)
    event = inbound_event_detail(brand_id=who.brand_id, event_pk=event_pk)
    if event is None:
        raise NotFound(f"no webhook event {event_pk}")
    if who.role not in RETRY_ROLES:
        raise PermissionDenied(f"a '{who.role}' token cannot retry events; use an owner or ops token")
    if event.status != EventStatus.FAILED:
        raise Conflict(f"only a failed event can be retried; this one is '{event.status}'")
    inbound_event_retry(event_pk=event.id, brand_id=who.brand_id)
    enqueue_processing(event.id)
    queued = inbound_event_detail(brand_id=who.brand_id, event_pk=event.id)
    if queued is None:  # pragma: no cover - the brand's own event cannot vanish in between
        raise NotFound(f"no webhook event {event_pk}")
    return Status(202, webhook_event_out(queued))
