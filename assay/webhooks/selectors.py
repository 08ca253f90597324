"""Reads for inbound webhook events: what happened to each delivery, for operators and staff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from assay.webhooks.models import InboundEvent

MAX_ID = 2**63 - 1
MAX_LIMIT = 200


@dataclass(frozen=True, slots=True)
class InboundEventData:
    id: int
    source: str
    event_id: str
    topic: str
    status: str
    error: str
    outcome: str
    attempts: int
    received_at: datetime
    processed_at: datetime | None
    next_attempt_at: datetime | None
    duplicate_of: int | None


@dataclass(frozen=True, slots=True)
class InboundEventPage:
    items: list[InboundEventData]
    count: int
    limit: int
    offset: int


_FIELDS = ("id", "source", "event_id", "topic", "status", "error", "outcome", "attempts", "received_at",
           "processed_at", "next_attempt_at", "duplicate_of_id")  # fmt: skip


def _event(row: dict[str, object]) -> InboundEventData:
    values = dict(row)
    values["duplicate_of"] = values.pop("duplicate_of_id")
    return InboundEventData(**values)  # type: ignore[arg-type]


def inbound_event_filter(
    *, brand_id: int, source: str = "", event_id: str = "", status: str = "", topic: str = ""
) -> QuerySet[InboundEvent]:
    """The brand's inbound events matching each given value exactly. No query until evaluated."""
    events = InboundEvent.objects.filter(brand_id=brand_id)
    if source:
        events = events.filter(source=source)
    if event_id:
        events = events.filter(event_id=event_id)
    if status:
        events = events.filter(status=status)
    if topic:
        events = events.filter(topic=topic)
    return events


def inbound_event_search(
    *,
    brand_id: int,
    source: str = "",
    event_id: str = "",
    status: str = "",
    topic: str = "",
    limit: int = 50,
    offset: int = 0,
) -> InboundEventPage:
    """A page of the brand's inbound events, newest first, with the total count of matches.

    Queries: the page (1) and the count (1, skipped when a short page already tells the total).
    The raw payload is not read.
    """
    limit = max(1, min(int(limit), MAX_LIMIT))
    offset = max(0, int(offset))
    events = inbound_event_filter(brand_id=brand_id, source=source, event_id=event_id, status=status, topic=topic)
    rows = list(events.order_by("-received_at", "-id").values(*_FIELDS)[offset : offset + limit])
    page_tells_total = len(rows) < limit and (bool(rows) or offset == 0)
    count = offset + len(rows) if page_tells_total else events.count()
    return InboundEventPage(items=[_event(row) for row in rows], count=count, limit=limit, offset=offset)


def inbound_event_detail(*, brand_id: int, event_pk: int) -> InboundEventData | None:
    """One of the brand's inbound events, or None (another brand's too). One query."""
    if not 0 < event_pk <= MAX_ID:
        return None
    row = InboundEvent.objects.filter(brand_id=brand_id, pk=event_pk).values(*_FIELDS).first()
    return _event(row) if row is not None else None
