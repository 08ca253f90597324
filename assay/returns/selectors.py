"""Reads of return requests for the shopper's status page, the API and the services' callers.

Plain data from `.values()`; each function states its queries and a test pins them. The staff
queue and the staff's full record of one request live in queue.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import F, Q

from assay.core.audit import subject_type_of
from assay.core.models import AuditEvent
from assay.returns.models import (
    ExchangeKind,
    Resolution,
    ReturnLine,
    ReturnMethod,
    ReturnNote,
    ReturnPhoto,
    ReturnReason,
    ReturnRequest,
)
from assay.returns.status import SHOPPER_CANCELLABLE, ReturnStatus

_REQUEST = subject_type_of(ReturnRequest())
_LINE = subject_type_of(ReturnLine())
STATUS_LABELS: dict[str, str] = dict(ReturnStatus.choices)
REASON_LABELS: dict[str, str] = dict(ReturnReason.choices)
RESOLUTION_LABELS: dict[str, str] = dict(Resolution.choices)
EXCHANGE_LABELS: dict[str, str] = dict(ExchangeKind.choices)
METHOD_LABELS: dict[str, str] = dict(ReturnMethod.choices)

# What the shopper reads for each state reached (the timeline's headline).
SHOPPER_HEADLINES: dict[str, str] = {
    ReturnStatus.REQUESTED: "Return requested",
    ReturnStatus.PENDING_REVIEW: "Waiting for review by our team",
    ReturnStatus.AUTHORISED: "Return authorised",
    ReturnStatus.REJECTED: "Return not accepted",
    ReturnStatus.AWAITING_SHIPMENT: "Label ready: waiting for your parcel",
    ReturnStatus.IN_TRANSIT: "Parcel on its way to us",
    ReturnStatus.RECEIVED: "Parcel received",
    ReturnStatus.INSPECTED: "Item inspected",
    ReturnStatus.RESOLVED: "Resolved",
    ReturnStatus.CLOSED: "Closed",
    ReturnStatus.CANCELLED: "Return cancelled",
    ReturnStatus.EXPIRED: "Return authorisation expired",
}
_STOPPED = frozenset({ReturnStatus.REJECTED, ReturnStatus.CANCELLED, ReturnStatus.EXPIRED})
# Who did it, in the shopper's words: never a staff member's name or an API token.
_SHOPPER_ACTORS = {"shopper": "You", "staff": "Our team", "token": "Our team"}


@dataclass(frozen=True, slots=True)
class ReturnLineData:
    id: int
    order_line_id: int
    sku: str
    title: str
    variant_title: str
    quantity: int
    status: str
    reason: str
    size_wanted: Decimal | None
    comment: str
    resolution: str
    exchange_kind: str
    exchange_sku: str
    unit_price: Decimal
    destination: str
    decision: dict[str, Any]

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def reason_label(self) -> str:
        return REASON_LABELS.get(self.reason, self.reason)

    @property
    def resolution_label(self) -> str:
        return RESOLUTION_LABELS.get(self.resolution, self.resolution)


@dataclass(frozen=True, slots=True)
class ReturnSummary:
    """One request as its shopper and API clients see it (no internal notes)."""

    id: int
    rma: str
    order_id: int
    order_number: str
    email: str
    status: str
    method: str
    source: str
    currency: str
    value: Decimal
    flags: list[str]
    review_reasons: list[str]
    requested_at: datetime
    authorised_at: datetime | None
    ship_by: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    policy_number: int | None
    decision_reason: str
    lines: list[ReturnLineData]

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def rma_text(self) -> str:
        return f"RMA {self.rma}"

    @property
    def shopper_cancellable(self) -> bool:
        """Whether the shopper may still cancel: nothing of it is on its way yet."""
        return self.status in SHOPPER_CANCELLABLE and all(
            line.status in SHOPPER_CANCELLABLE or line.status in _STOPPED for line in self.lines
        )


_REQUEST_FIELDS = (
    "id", "rma", "order_id", "email", "status", "method", "source", "currency", "value", "flags", "review_reasons",
    "requested_at", "authorised_at", "ship_by", "resolved_at", "closed_at", "decision",
)  # fmt: skip
_LINE_FIELDS = (
    "id", "request_id", "order_line_id", "quantity", "status", "reason", "size_wanted", "comment", "resolution",
    "exchange_kind", "exchange_sku", "unit_price", "destination", "decision",
)  # fmt: skip


def _summaries(requests: Any) -> list[ReturnSummary]:
    """Requests (a filtered queryset) with their lines: two queries."""
    rows = list(
        requests.order_by("-requested_at", "-id").values(
            *_REQUEST_FIELDS, order_number=F("order__number"), policy_number=F("policy_version__number")
        )
    )
    if not rows:
        return []
    lines: dict[int, list[ReturnLineData]] = {row["id"]: [] for row in rows}
    line_rows = (
        ReturnLine.objects.filter(request_id__in=list(lines))
        .order_by("request_id", "id")
        .values(
            *_LINE_FIELDS,
            sku=F("order_line__sku"),
            title=F("order_line__title"),
            variant_title=F("order_line__variant_title"),
        )
    )
    for line in line_rows:
        request_id = line.pop("request_id")
        line["decision"] = line["decision"] if isinstance(line["decision"], dict) else {}
        lines[request_id].append(ReturnLineData(**line))
    summaries = []
    for row in rows:
        decision = row.pop("decision")
        summaries.append(
            ReturnSummary(
                **row,
                decision_reason=str(decision.get("reason", "")) if isinstance(decision, dict) else "",
                lines=lines[row["id"]],
            )
        )
    return summaries


def return_for_rma(*, brand_id: int, rma: str) -> ReturnSummary | None:
    """The brand's request with this RMA ('R-100123', any case, 'RMA ' prefix allowed), or None. Two queries."""
    text = rma.strip().upper().removeprefix("RMA").strip()
    if not text or len(text) > 20:
        return None
    found = _summaries(ReturnRequest.objects.filter(brand_id=brand_id, rma=text))
    return found[0] if found else None


def return_by_id(*, brand_id: int, request_id: int) -> ReturnSummary | None:
    """The brand's request with this id, or None. Two queries."""
    if not 0 < request_id < 2**63:
        return None
    found = _summaries(ReturnRequest.objects.filter(brand_id=brand_id, pk=request_id))
    return found[0] if found else None


def returns_for_order(*, brand_id: int, order_id: int) -> list[ReturnSummary]:
    """The order's requests, newest first, with their lines (the shopper's status page). Two queries
    (one when there are none)."""
    return _summaries(ReturnRequest.objects.filter(brand_id=brand_id, order_id=order_id))


def return_timeline(*, brand_id: int, request_id: int, shopper: bool = False) -> list[dict[str, Any]]:
    """The request's record: its own and its lines' audit events, oldest first. One query.

    Staff (default): every event with who did it, why, and its data (notes included).
    `shopper=True`: only what the shopper may read - the states reached (request and lines), each
    with a headline, who ("You", "Our team", or "" for the policy's and other automatic moves) and the reason only
    where it was written for the shopper (a rejection, the policy's decision, an expiry); internal
    notes, overrides, staff names and approval notes are left out.
    """
    lines = ReturnLine.objects.filter(brand_id=brand_id, request_id=request_id).values("id")
    events = (
        AuditEvent.objects.filter(brand_id=brand_id)
        .filter(Q(subject_type=_REQUEST, subject_id=request_id) | Q(subject_type=_LINE, subject_id__in=lines))
        .order_by("at", "id")
        .values(
            "at",
            "actor_kind",
            "actor_label",
            "subject_type",
            "subject_id",
            "action",
            "from_state",
            "to_state",
            "why",
            "data",
        )
    )
    if not shopper:
        return [
            {**event, "line_id": event["subject_id"] if event["subject_type"] == _LINE else None} for event in events
        ]
    entries: list[dict[str, Any]] = []
    for event in events:
        data = event["data"] if isinstance(event["data"], dict) else {}
        if event["action"] == "return_requested":
            state: str = ReturnStatus.REQUESTED
        elif event["action"] == "status_changed":
            state = event["to_state"]
        else:
            continue  # notes, overrides and other internal records
        on_line = event["subject_type"] == _LINE
        # Each move is told once: a request-wide decision by the request's event (its lines moved
        # with it), a line's own move by the line's event (the request only followed it).
        if data.get("with_request") if on_line else data.get("follows_lines"):
            continue
        entries.append(
            {
                "at": event["at"],
                "status": state,
                "status_label": STATUS_LABELS.get(state, state),
                "headline": SHOPPER_HEADLINES.get(state, STATUS_LABELS.get(state, state)),
                # The policy's own decision is nobody's doing, whoever's submission carried it.
                "by": "" if data.get("policy") else _SHOPPER_ACTORS.get(event["actor_kind"], ""),
                "detail": event["why"] if data.get("shopper") is True and event["action"] == "status_changed" else "",
                "line_id": event["subject_id"] if on_line else None,
            }
        )
    return entries


@dataclass(frozen=True, slots=True)
class ReturnDetail:
    """One request as staff read it: the summary with lines, the shopper's photos, internal notes and
    the full timeline."""

    summary: ReturnSummary
    photos: list[dict[str, Any]]
    notes: list[dict[str, Any]]
    timeline: list[dict[str, Any]]


def return_detail(*, brand_id: int, rma: str) -> ReturnDetail | None:
    """The brand's request with this RMA for staff, or None. Five queries: request, lines, photos,
    notes, timeline."""
    summary = return_for_rma(brand_id=brand_id, rma=rma)
    if summary is None:
        return None
    photos = [
        dict(row)
        for row in ReturnPhoto.objects.filter(brand_id=brand_id, request_id=summary.id)
        .order_by("created_at", "id")
        .values("id", "line_id", "content_type", "width", "height", "size_bytes", "created_at")
    ]
    notes = [
        dict(row)
        for row in ReturnNote.objects.filter(brand_id=brand_id, request_id=summary.id)
        .order_by("created_at", "id")
        .values("id", "author", "body", "created_at")
    ]
    timeline = return_timeline(brand_id=brand_id, request_id=summary.id)
    return ReturnDetail(summary=summary, photos=photos, notes=notes, timeline=timeline)
