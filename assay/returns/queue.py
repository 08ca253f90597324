"""The staff review queue: return requests of one or several brands, filtered, searched, sorted, paged.

Rows are plain dicts built from `.values()` (no model instances): the queue is the page staff keep
open all day. `return_queue` makes exactly two queries, the page and the count, whatever the filters.

The review SLA: a request still awaiting a decision (requested or pending review) longer than
`settings.RETURNS_REVIEW_SLA_HOURS` hours (default 24) after it was submitted is breached.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import (
    Aggregate,
    CharField,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
)
from django.db.models.functions import Cast
from django.utils import timezone

from assay.core.errors import InvalidInput
from assay.core.money import Money
from assay.orders.schema import number_key
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
from assay.returns.selectors import return_timeline
from assay.returns.status import OPEN, ReturnStatus

DEFAULT_SLA_HOURS = 24
MAX_LIMIT = 200

# Awaiting a staff (or policy) decision: the states the review SLA applies to.
AWAITING_DECISION: frozenset[str] = frozenset({ReturnStatus.REQUESTED, ReturnStatus.PENDING_REVIEW})

# Status filter values beyond the single states: groups staff ask for by name.
STATUS_GROUPS: dict[str, frozenset[str]] = {"open": OPEN, "awaiting_decision": AWAITING_DECISION}

SLA_FILTERS = ("breached", "on_time")

# The flags the policy puts on a request, with the words staff read. A flag not listed here is still
# shown and filterable (humanised); this only orders the filter's choices and names them well.
FLAG_LABELS: dict[str, str] = {
    "manual_review": "Manual review",
    "high_value": "High value",
    "authenticity_check": "Authenticity check",
    "insured": "Insured shipping",
    "signature_required": "Signature required",
    "personalised": "Personalised",
    "keep_item": "Keep the item",
    "override": "Policy overridden",
    "payout_failed": "Payout needs attention",
}
_FLAG_SHAPE = re.compile(r"^[a-z0-9_]{1,40}$")

# Sort keys staff can ask for -> the ORDER BY; the id breaks ties so pages never overlap.
SORTS: dict[str, tuple[str, ...]] = {
    "-requested_at": ("-requested_at", "-id"),
    "requested_at": ("requested_at", "id"),
    "-value": ("-value", "-id"),
    "value": ("value", "id"),
    "rma": ("rma", "id"),
    "-rma": ("-rma", "-id"),
    "status": ("status", "-requested_at", "-id"),
    "-status": ("-status", "-requested_at", "-id"),
}
DEFAULT_SORT = "-requested_at"

_FIELDS = (
    "id", "brand_id", "rma", "email", "status", "method", "source", "currency", "value", "flags",
    "review_reasons", "requested_at", "authorised_at", "resolved_at", "closed_at",
)  # fmt: skip


class _DistinctList(Aggregate):
    """The distinct values of a column joined by commas: GROUP_CONCAT (SQLite), STRING_AGG (PostgreSQL).

    The order is unspecified; callers sort. Only for vocabularies without commas (reasons).
    """

    function = "GROUP_CONCAT"
    template = "%(function)s(%(distinct)s%(expressions)s)"
    allow_distinct = True
    output_field = CharField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            function="STRING_AGG",
            template="%(function)s(%(distinct)s%(expressions)s, ',')",
            **extra_context,
        )


def sla_hours() -> int:
    """Hours a request may wait for a decision before the SLA is breached (settings, default 24)."""
    value = getattr(settings, "RETURNS_REVIEW_SLA_HOURS", DEFAULT_SLA_HOURS)
    return max(1, int(value))


def age_text(delta: timedelta) -> str:
    """'12 min', '5 h', '3 d 4 h': how long, at a glance."""
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h"
    days, rest = divmod(hours, 24)
    return f"{days} d {rest} h" if rest else f"{days} d"


def flag_label(flag: str) -> str:
    text = FLAG_LABELS.get(flag) or flag.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _search(text: str) -> Q:
    """RMA ('R-100123', 'rma r-100123'), order number with or without '#', or the shopper's e-mail."""
    rma = re.sub(r"^rma[\s:#]*", "", text, flags=re.IGNORECASE).strip().upper()
    condition = Q(rma=rma)
    key = number_key(text)
    if key:
        condition |= Q(order__number_key=key)
    if "@" in text:
        condition |= Q(email=text.lower())
    return condition


def return_queue_filter(
    *,
    brand_ids: Sequence[int],
    status: str | None = None,
    sla: str | None = None,
    older_than_hours: int | None = None,
    min_value: Decimal | None = None,
    max_value: Decimal | None = None,
    reason: str | None = None,
    flag: str | None = None,
    q: str = "",
    now: datetime | None = None,
    sla_hours_limit: int | None = None,
) -> QuerySet[ReturnRequest]:
    """The requests of `brand_ids` matching every given criterion (lazy: no query runs here).

    `status` is a ReturnStatus value or a group ("open", "awaiting_decision"); `sla` is "breached"
    (awaiting a decision past the SLA) or "on_time" (awaiting, within it); `older_than_hours` keeps
    requests submitted at least that long ago; values are compared as stored, in each request's own
    currency; `reason` keeps requests with at least one line for that reason; `flag` keeps requests
    carrying that flag (the services' vocabulary: manual_review, high_value, ...); `q` finds an
    RMA, an order number (with or without '#') or an e-mail address, exactly and ignoring case.
    """
    now = now or timezone.now()
    requests = ReturnRequest.objects.filter(brand_id__in=list(brand_ids))
    if status:
        if status in STATUS_GROUPS:
            requests = requests.filter(status__in=sorted(STATUS_GROUPS[status]))
        elif status in ReturnStatus.values:
            requests = requests.filter(status=status)
        else:
            raise InvalidInput(f"status: '{status}' is not a return status")
    if sla:
        if sla not in SLA_FILTERS:
            raise InvalidInput(f"sla: '{sla}' is not one of {', '.join(SLA_FILTERS)}")
        deadline = now - timedelta(hours=sla_hours_limit or sla_hours())
        requests = requests.filter(status__in=sorted(AWAITING_DECISION))
        if sla == "breached":
            requests = requests.filter(requested_at__lt=deadline)
        else:
            requests = requests.filter(requested_at__gte=deadline)
    if older_than_hours is not None:
        requests = requests.filter(requested_at__lte=now - timedelta(hours=max(0, older_than_hours)))
    if min_value is not None:
        requests = requests.filter(value__gte=min_value)
    if max_value is not None:
        requests = requests.filter(value__lte=max_value)
    if reason:
        if reason not in ReturnReason.values:
            raise InvalidInput(f"reason: '{reason}' is not a return reason")
        requests = requests.filter(
            Exists(ReturnLine.objects.filter(request_id=OuterRef("pk"), brand_id=OuterRef("brand_id"), reason=reason))
        )
    if flag:
        if not _FLAG_SHAPE.match(flag):
            raise InvalidInput(f"flag: '{flag}' is not a flag")
        # JSON text containment works alike on SQLite (which has no JSON `contains`) and PostgreSQL;
        # the quotes make it match a whole list item, never a part of one.
        requests = requests.alias(flags_text=Cast("flags", TextField())).filter(flags_text__contains=f'"{flag}"')
    text = q.strip()
    if text:
        requests = requests.filter(_search(text))
    return requests


def return_queue(
    *,
    brand_ids: Sequence[int],
    status: str | None = None,
    sla: str | None = None,
    older_than_hours: int | None = None,
    min_value: Decimal | None = None,
    max_value: Decimal | None = None,
    reason: str | None = None,
    flag: str | None = None,
    q: str = "",
    sort: str = DEFAULT_SORT,
    limit: int = 50,
    offset: int = 0,
    now: datetime | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """A page of the queue and the number of all matching requests. Two queries: page, count.

    Filters as in `return_queue_filter`. Each row: id, brand_id, rma, order_id, order_number, email,
    lines_count, value, currency, reasons (sorted codes) and reason_labels, status and status_label,
    method, source, flags and flag_labels, review_reasons, requested_at, age (timedelta), age_hours,
    age_text, awaiting_decision, sla_due_at (None unless awaiting), sla_breached.
    """
    if sort not in SORTS:
        raise InvalidInput(f"sort: '{sort}' is not one of {', '.join(SORTS)}")
    now = now or timezone.now()
    limit = max(1, min(int(limit), MAX_LIMIT))
    offset = max(0, int(offset))
    hours = sla_hours()
    requests = return_queue_filter(
        brand_ids=brand_ids,
        status=status,
        sla=sla,
        older_than_hours=older_than_hours,
        min_value=min_value,
        max_value=max_value,
        reason=reason,
        flag=flag,
        q=q,
        now=now,
        sla_hours_limit=hours,
    )
    lines = ReturnLine.objects.filter(request_id=OuterRef("pk")).order_by().values("request_id")
    page = (
        requests.annotate(
            lines_count=Subquery(lines.annotate(n=Count("id")).values("n"), output_field=IntegerField()),
            reason_list=Subquery(lines.annotate(r=_DistinctList("reason", distinct=True)).values("r")),
        )
        .order_by(*SORTS[sort])
        .values(*_FIELDS, "order_id", "lines_count", "reason_list", order_number=F("order__number"))
    )[offset : offset + limit]
    rows = [_row(row, now=now, sla=timedelta(hours=hours)) for row in page]
    return rows, requests.order_by().count()


_STATUS_LABELS = dict(ReturnStatus.choices)
_REASON_LABELS = dict(ReturnReason.choices)


def _row(row: dict[str, Any], *, now: datetime, sla: timedelta) -> dict[str, Any]:
    reasons = sorted(r for r in (row.pop("reason_list") or "").split(",") if r)
    flags = [str(f) for f in (row["flags"] or [])]
    age = now - row["requested_at"]
    awaiting = row["status"] in AWAITING_DECISION
    due = row["requested_at"] + sla if awaiting else None
    return {
        **row,
        "lines_count": row["lines_count"] or 0,
        "reasons": reasons,
        "reason_labels": [_REASON_LABELS.get(r, r) for r in reasons],
        "status_label": _STATUS_LABELS.get(row["status"], row["status"]),
        "flags": flags,
        "flag_labels": [flag_label(f) for f in flags],
        "review_reasons": [str(r) for r in (row["review_reasons"] or [])],
        "age": age,
        "age_hours": max(0, int(age.total_seconds() // 3600)),
        "age_text": age_text(age),
        "awaiting_decision": awaiting,
        "sla_due_at": due,
        "sla_breached": due is not None and now > due,
    }


def return_queue_counts(*, brand_ids: Sequence[int], now: datetime | None = None) -> dict[str, int]:
    """How many requests await a decision, and how many of them are past the review SLA. One query."""
    deadline = (now or timezone.now()) - timedelta(hours=sla_hours())
    counts = ReturnRequest.objects.filter(brand_id__in=list(brand_ids), status__in=sorted(AWAITING_DECISION)).aggregate(
        awaiting=Count("id"), breached=Count("id", filter=Q(requested_at__lt=deadline))
    )
    return {"awaiting": int(counts["awaiting"] or 0), "breached": int(counts["breached"] or 0)}


def return_refs(
    *, brand_ids: Sequence[int], ids: Sequence[int] | None = None, rmas: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """id, brand_id, rma and status of the requests of `brand_ids` among `ids` or `rmas` (ticked in the
    queue, or named in an address); requests of other brands are simply absent. One query."""
    requests = ReturnRequest.objects.filter(brand_id__in=list(brand_ids))
    if ids is not None:
        requests = requests.filter(pk__in=[i for i in ids if 0 < i < 2**63])
    if rmas is not None:
        requests = requests.filter(rma__in=list(rmas))
    return [dict(row) for row in requests.order_by("rma", "id").values("id", "brand_id", "rma", "status")]


def return_photo_file(*, brand_id: int, rma: str, photo_id: int) -> dict[str, Any] | None:
    """Where one of a request's photos is stored (storage, name) and its content type; None unless
    the photo belongs to that brand's request `rma`. One query."""
    if not 0 < photo_id < 2**63:
        return None
    row = (
        ReturnPhoto.objects.filter(brand_id=brand_id, request__brand_id=brand_id, request__rma=rma, pk=photo_id)
        .values("image", "content_type")
        .first()
    )
    if row is None or not row["image"]:
        return None
    storage = ReturnPhoto._meta.get_field("image").storage
    return {"storage": storage, "name": row["image"], "content_type": row["content_type"]}


# --- one request, as staff read it ----------------------------------------------------------------

_LINE_FIELDS = (
    "id", "quantity", "status", "reason", "size_wanted", "comment", "resolution", "exchange_kind", "exchange_sku",
    "unit_price", "destination", "decision", "order_line_id",
)  # fmt: skip
_RESOLUTION_LABELS = dict(Resolution.choices)
_EXCHANGE_LABELS = dict(ExchangeKind.choices)
_METHOD_LABELS = dict(ReturnMethod.choices)


# Audit data that is bookkeeping, not news for staff: ids, whether the shopper's timeline shows the
# event (shown as a marker instead), and per-line lists the lines table already holds.
_BOOKKEEPING_DATA = ("shopper", "with_request", "follows_lines", "note_id", "order_id", "lines")


@dataclass(frozen=True, slots=True)
class StaffReturnRecord:
    """Everything staff read about one request: its terms, lines, photos, why the policy decided as
    it did, the internal notes and the timeline."""

    request: dict[str, Any]
    lines: list[dict[str, Any]]
    photos: list[dict[str, Any]]
    notes: list[dict[str, Any]]
    timeline: list[dict[str, Any]]


def _amount(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value))
    except ArithmeticError:
        return Decimal(0)
    return amount if amount.is_finite() else Decimal(0)


def _money_text(value: Any, currency: str) -> str:
    return f"{Money(_amount(value), currency).quantized().amount:,} {currency}"


def _share_text(value: Any, currency: str) -> str:
    """A fee or bonus ({percent, fixed, cap}) in words: '10%', '25.00 USD', '5% + 10.00 USD, up to 50.00 USD'."""
    if not isinstance(value, dict):
        return ""
    parts = []
    if _amount(value.get("percent")):
        parts.append(f"{_amount(value.get('percent')).normalize():f}%")
    if _amount(value.get("fixed")):
        parts.append(_money_text(value.get("fixed"), currency))
    text = " + ".join(parts)
    if text and value.get("cap") not in (None, ""):
        text += f", up to {_money_text(value.get('cap'), currency)}"
    return text


_TERM_FLAGS = (
    ("insured", "Insured shipping"),
    ("signature_required", "Signature required"),
    ("authenticity_check", "Authenticity check on arrival"),
    ("keep_item", "Keeps the item"),
    ("manual_review", "Needs review"),
)


def _money_terms(decision: dict[str, Any], currency: str) -> list[tuple[str, str]]:
    """A line's terms from its stored decision (LineDecision's fields), as (name, text), leaving out
    what does not apply."""
    terms = [
        (name, _share_text(decision.get(key), currency))
        for key, name in (("restocking_fee", "Restocking fee"), ("bonus_store_credit", "Store-credit bonus"))
    ]
    if _amount(decision.get("label_fee")):
        terms.append(("Label fee", _money_text(decision.get("label_fee"), currency)))
    terms.append(("Exchange bonus", _share_text(decision.get("bonus_exchange"), currency)))
    for key, name in (("refund_until", "Refund until"), ("exchange_until", "Exchange until")):
        if decision.get(key):
            terms.append((name, str(decision[key])[:10]))
    terms += [(name, "yes") for key, name in _TERM_FLAGS if decision.get(key) is True]
    return [(name, text) for name, text in terms if text]


def _size_text(size: Decimal | None) -> str:
    return "" if size is None else f"{size.normalize():f}"


def _matched(decision: dict[str, Any]) -> list[dict[str, str]]:
    rules = decision.get("matched") or decision.get("rules") or []
    found = []
    for rule in rules if isinstance(rules, list) else []:
        if isinstance(rule, dict):
            found.append(
                {
                    "id": str(rule.get("rule_id") or rule.get("id") or ""),
                    "name": str(rule.get("rule_name") or rule.get("name") or rule.get("rule_id") or "rule"),
                    "why": str(rule.get("why") or ""),
                }
            )
    return found


def return_staff_record(*, brand_id: int, rma: str, now: datetime | None = None) -> StaffReturnRecord | None:
    """One request of the brand by its RMA, or None. Five queries: the request with its order and
    policy version, the lines with their order lines, the photos, the notes, and the timeline (the
    request's and its lines' audit events, oldest first, with who did each)."""
    now = now or timezone.now()
    row = (
        ReturnRequest.objects.filter(brand_id=brand_id, rma=rma)
        .values(
            *_FIELDS,
            "order_id",
            "ship_by",
            "decision",
            "customer_id",
            order_number=F("order__number"),
            order_placed_at=F("order__placed_at"),
            policy_number=F("policy_version__number"),
            policy_note=F("policy_version__note"),
            customer_first_name=F("customer__first_name"),
            customer_last_name=F("customer__last_name"),
        )
        .first()
    )
    if row is None:
        return None
    request = _row({**row, "lines_count": None, "reason_list": ""}, now=now, sla=timedelta(hours=sla_hours()))
    request["method_label"] = _METHOD_LABELS.get(row["method"], row["method"])
    request["customer_name"] = f"{row['customer_first_name'] or ''} {row['customer_last_name'] or ''}".strip()
    decision = row["decision"] if isinstance(row["decision"], dict) else {}
    request["policy_reason"] = str(decision.get("reason") or "")

    line_rows = (
        ReturnLine.objects.filter(brand_id=brand_id, request_id=row["id"])
        .order_by("id")
        .values(
            *_LINE_FIELDS,
            sku=F("order_line__sku"),
            title=F("order_line__title"),
            variant_title=F("order_line__variant_title"),
            bought_quantity=F("order_line__quantity"),
            personalised=F("order_line__personalised"),
        )
    )
    lines = []
    for line in line_rows:
        terms = line["decision"] if isinstance(line["decision"], dict) else {}
        lines.append(
            {
                **line,
                "status_label": _STATUS_LABELS.get(line["status"], line["status"]),
                "reason_label": _REASON_LABELS.get(line["reason"], line["reason"]),
                "resolution_label": _RESOLUTION_LABELS.get(line["resolution"], line["resolution"]),
                "exchange_label": _EXCHANGE_LABELS.get(line["exchange_kind"], line["exchange_kind"]),
                "terms": _money_terms(terms, row["currency"]),
                "size_wanted_text": _size_text(line["size_wanted"]),
                "matched": _matched(terms),
                "policy_reason": str(terms.get("reason") or ""),
            }
        )
    request["lines_count"] = len(lines)
    request["reasons"] = sorted({line["reason"] for line in lines})
    request["reason_labels"] = [_REASON_LABELS.get(r, r) for r in request["reasons"]]

    photos = [
        dict(photo)
        for photo in ReturnPhoto.objects.filter(brand_id=brand_id, request_id=row["id"])
        .order_by("created_at", "id")
        .values("id", "line_id", "content_type", "width", "height", "size_bytes", "created_at")
    ]
    notes = [
        dict(note)
        for note in ReturnNote.objects.filter(brand_id=brand_id, request_id=row["id"])
        .order_by("created_at", "id")
        .values("id", "author", "body", "created_at")
    ]
    line_numbers = {line["id"]: n for n, line in enumerate(lines, start=1)}
    timeline = []
    for event in return_timeline(brand_id=brand_id, request_id=row["id"]):
        data = dict(event["data"]) if isinstance(event["data"], dict) else {}
        shown_to_shopper = bool(data.get("shopper"))
        for key in _BOOKKEEPING_DATA:
            data.pop(key, None)
        line_number = line_numbers.get(event["line_id"]) if event["line_id"] is not None else None
        timeline.append({**event, "data": data, "shown_to_shopper": shown_to_shopper, "line_number": line_number})
    return StaffReturnRecord(request=request, lines=lines, photos=photos, notes=notes, timeline=timeline)
