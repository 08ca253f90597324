"""The demo's return requests: every state of the lifecycle, made through the returns services.

Each request is made on a day of the history (the services take `now`), by the shopper, and then
walked by staff, the carrier and the warehouse through the moves its target state needs, each at a
believable later moment. Reasons follow the jewellery mix of DOMAIN.md section 2 (sizing first);
ring-size problems mostly ask for another size, the easiest path. The audit trail is re-dated to
those moments afterwards (audit rows are stamped when written), so the timelines read as lived.
The same seed and day give the same returns.
"""

from __future__ import annotations

import random
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Case, DateTimeField, Exists, Max, OuterRef, Q, Value, When
from django.db.models.functions import Mod

from assay.catalog.models import Variant
from assay.core.audit import Actor
from assay.core.errors import DomainError
from assay.core.models import AuditEvent
from assay.orders.models import OrderLine, Shipment
from assay.policies.defaults import HIGH_VALUE_FROM
from assay.policies.services import policy_default_ensure
from assay.resolutions.payouts import payout_execute
from assay.resolutions.services import return_resolve
from assay.returns.models import ReturnLine, ReturnNote, ReturnRequest
from assay.returns.services import (
    return_line_move,
    return_note_add,
    return_request_approve,
    return_request_cancel,
    return_request_create,
    return_request_expire,
    return_request_reject,
    ship_by_days,
)
from assay.returns.status import ReturnStatus
from assay.returns.types import ReturnLineRequest

S = ReturnStatus
RETURN_SHARE = 0.03  # of orders: a request through Assay (the demo keeps seeding quick)
EVERY_STATE_FROM = 100  # orders
MAX_RETURNS = 300
CANDIDATES = 20_000  # orders considered at most  # per brand: a million-order benchmark history needs no more
STAFF = Actor(kind="staff", label="owner@aurelia.example")
CARRIER = Actor.webhook("easypost")
WAREHOUSE = Actor(kind="staff", label="warehouse@aurelia.example")

# (target state, weight): where the demo's requests stand today.
PLAN: list[tuple[str, int]] = [
    (S.CLOSED, 30), (S.RESOLVED, 12), (S.INSPECTED, 4), (S.RECEIVED, 5), (S.IN_TRANSIT, 8),
    (S.AWAITING_SHIPMENT, 8), (S.AUTHORISED, 10), (S.PENDING_REVIEW, 6), (S.REQUESTED, 2), (S.REJECTED, 4),
    (S.CANCELLED, 5), (S.EXPIRED, 6),
]  # fmt: skip
# The line moves after authorisation, in order, with how long each takes (hours, low-high).
WALK: list[tuple[str, tuple[int, int], Actor, str]] = [
    (S.AWAITING_SHIPMENT, (1, 20), Actor.system("labels"), "Prepaid label issued"),
    (S.IN_TRANSIT, (12, 72), CARRIER, "Carrier scan: accepted at the post office"),
    (S.RECEIVED, (24, 96), WAREHOUSE, "Parcel received and scanned at the warehouse"),
    (S.INSPECTED, (4, 30), WAREHOUSE, "Inspected: condition as sold, hallmark and stone verified"),
    (S.RESOLVED, (2, 48), STAFF, "Resolution issued"),
    (S.CLOSED, (24, 168), Actor.system("returns"), "Closed"),
]
_WALKED = [state for state, *_ in WALK]
# How long a request has been in its target state (days, low-high).
WAITING: dict[str, tuple[int, int]] = {
    S.REQUESTED: (0, 1), S.PENDING_REVIEW: (0, 2), S.AUTHORISED: (0, 5), S.AWAITING_SHIPMENT: (0, 6),
    S.IN_TRANSIT: (0, 3), S.RECEIVED: (0, 2), S.INSPECTED: (0, 2), S.RESOLVED: (1, 10), S.CLOSED: (1, 300),
    S.REJECTED: (1, 120), S.CANCELLED: (1, 120), S.EXPIRED: (1, 150),
}  # fmt: skip
# The reason mix (DOMAIN.md section 2); "other" covers late arrivals too.
REASONS: list[tuple[str, int]] = [
    ("size_too_small", 30), ("size_too_large", 22), ("changed_mind", 12), ("style", 8), ("not_as_described", 5),
    ("damaged", 5), ("other", 14), ("arrived_late", 4),
]  # fmt: skip
SIZE_REASONS = frozenset({"size_too_small", "size_too_large"})
SIZING_SHARE = sum(w for r, w in REASONS if r in SIZE_REASONS) / sum(w for _r, w in REASONS)
COMMENTS: dict[str, list[str]] = {
    "size_too_small": ["Won't go over my knuckle.", "Beautiful, but a little tight by the evening.", ""],
    "size_too_large": ["Spins on my finger.", "Slides off when my hands are cold.", ""],
    "changed_mind": ["Found something else for the occasion.", ""],
    "style": ["Looks different on than in the photos.", "A bit too bold for every day.", ""],
    "not_as_described": ["The stone looks smaller than described.", "The colour is warmer than on the site."],
    "damaged": ["The clasp does not close properly.", "A prong was bent on arrival."],
    "other": ["Gift did not suit the recipient.", ""],
    "arrived_late": ["It arrived after the birthday it was for.", ""],
}
REJECTIONS = [
    "Signs of wear: scratches on the band and a bent prong, so it cannot be resold as new.",
    "Not in the condition it was sold in: the shank shows resizing marks from another jeweller.",
    "The piece sent back is not the one we shipped (the report number does not match).",
]
CANCELLATIONS = ["Decided to keep it after all.", "Had it resized locally instead.", ""]
REVIEW_NOTES = [
    "Repeat customer, no earlier issues. Fine to approve.",
    "Asked the shopper for a photo of the hallmark before approving.",
    "High value: insured label with signature on delivery.",
]


@dataclass
class _Candidate:
    order_id: int
    delivered_at: datetime


def _weighted(rng: random.Random, options: list[tuple[str, int]]) -> str:
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


class _Demo:
    def __init__(self, *, brand_id: int, orders: int, rng: random.Random, now: datetime) -> None:
        self.brand_id = brand_id
        self.rng = rng
        self.now = now
        self.used: set[int] = set()
        returnable = OrderLine.objects.filter(
            order_id=OuterRef("order_id"), personalised=False, product__hygiene_item=False, product__final_sale=False
        )
        high = Decimal(HIGH_VALUE_FROM)
        shipments = Shipment.objects.filter(
            brand_id=brand_id,
            delivered_at__isnull=False,
            delivered_at__gte=now - timedelta(days=420),
            order__cancelled_at__isnull=True,
        )
        if orders > CANDIDATES:
            # A benchmark-sized history: a thin slice of it offers more than enough orders.
            shipments = shipments.alias(slot=Mod("order_id", orders // CANDIDATES)).filter(slot=0)
        delivered = (
            shipments.values("order_id")
            .annotate(
                last=Max("delivered_at"),
                ordinary=Exists(returnable.filter(unit_price__lt=high)),
                valuable=Exists(returnable.filter(unit_price__gte=high)),
                ordinary_ring=Exists(returnable.filter(unit_price__lt=high, variant__ring_size__isnull=False)),
                valuable_ring=Exists(returnable.filter(unit_price__gte=high, variant__ring_size__isnull=False)),
            )
            .order_by("last", "order_id")
            .values_list("order_id", "last", "ordinary", "valuable", "ordinary_ring", "valuable_ring")
        )
        # Orders with a line that can come back, by kind: (worth review?, a ring?).
        self.pools: dict[tuple[bool, bool], tuple[list[_Candidate], list[datetime]]] = {}
        for order_id, last, *kinds in delivered:
            for kind, present in zip(((False, False), (True, False), (False, True), (True, True)), kinds, strict=True):
                if present:
                    candidates, times = self.pools.setdefault(kind, ([], []))
                    candidates.append(_Candidate(order_id, last))
                    times.append(last)
        self.stock = {
            (product_id, size)
            for product_id, size in Variant.objects.filter(
                brand_id=brand_id, ring_size__isnull=False, inventory_quantity__gt=0
            ).values_list("product_id", "ring_size")
        }

    # --- time ----------------------------------------------------------------------------------

    def _restamp(self, request: ReturnRequest, line_ids: list[int], when: dict[str, datetime]) -> None:
        """Date the request's audit trail as it was lived: each state (and note) at the moment its step
        happened. Audit rows are stamped when written, so this runs once the request's walk is done."""
        subjects = Q(subject_type="returnrequest", subject_id=request.pk) | Q(
            subject_type="returnline", subject_id__in=line_ids
        )
        cases = [When(action="note_added", then=Value(when["note"]))] if "note" in when else []
        cases += [When(action="line_settled", then=Value(when["settled"]))] if "settled" in when else []
        cases += [
            When(to_state=state, then=Value(at)) for state, at in when.items() if state not in ("note", "settled")
        ]
        AuditEvent.objects.filter(subjects, brand_id=self.brand_id).update(
            at=Case(*cases, default=Value(when[S.REQUESTED]), output_field=DateTimeField())
        )

    def _hours(self, low: int, high: int) -> timedelta:
        return timedelta(hours=self.rng.randint(low, high), minutes=self.rng.randrange(60))

    # --- one request ---------------------------------------------------------------------------

    def _steps(self, target: str, *, review: bool) -> list[tuple[str, timedelta]]:
        """The moves after creation that reach `target`, each with its delay after the previous one."""
        rng = self.rng
        steps: list[tuple[str, timedelta]] = []
        if target in (S.REQUESTED, S.PENDING_REVIEW):
            return steps
        if review:
            steps.append(("note", self._hours(1, 6)))
            if target == S.REJECTED:
                return [*steps, ("reject", self._hours(1, 20))]
            steps.append(("approve", self._hours(1, 20)))
        if target == S.REJECTED:
            return steps
        if target == S.CANCELLED:
            return [*steps, ("cancel", self._hours(1, 48))]
        if target == S.EXPIRED:
            return [*steps, ("expire", timedelta(days=ship_by_days(), hours=rng.randint(1, 20)))]
        if target in _WALKED:
            for state, (low, high), _actor, _why in WALK[: _WALKED.index(target) + 1]:
                steps.append((state, self._hours(low, high)))
        return steps

    def _lines(self, order_id: int, *, high_value: bool, rings: bool) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = [
            dict(row)
            for row in OrderLine.objects.filter(brand_id=self.brand_id, order_id=order_id)
            .order_by("position", "id")
            .filter(personalised=False, product__hygiene_item=False, product__final_sale=False)
            .values("id", "quantity", "unit_price", "product_id", "variant__ring_size")
        ]
        return [
            r
            for r in rows
            if (r["unit_price"] >= Decimal(HIGH_VALUE_FROM)) == high_value
            and (r["variant__ring_size"] is not None or not rings)
        ]

    def _ask(self, line: dict[str, Any], *, sizing: bool, exchange: bool) -> ReturnLineRequest:
        rng = self.rng
        size = line["variant__ring_size"]
        sizing = sizing and size is not None
        reason = _weighted(rng, [(r, w) for r, w in REASONS if (r in SIZE_REASONS) == sizing])
        comment = rng.choice(COMMENTS[reason])
        if sizing and exchange:
            step = Decimal("0.5") * rng.choice((1, 1, 1, 2))
            wanted = size + step if reason == "size_too_small" else size - step
            if (line["product_id"], wanted) in self.stock:
                return ReturnLineRequest(
                    line_id=line["id"], quantity=1, reason=reason, resolution="exchange", exchange_kind="size",
                    size_wanted=wanted, comment=comment,
                )  # fmt: skip
        resolution = rng.choices(("refund", "store_credit"), weights=(68, 32))[0]
        return ReturnLineRequest(line_id=line["id"], quantity=1, reason=reason, resolution=resolution, comment=comment)

    def _pick(self, at: datetime, *, high_value: bool, ring: bool) -> _Candidate | None:
        """An unused order delivered 1 to 25 days before `at` (else up to 55), with a line of the kind wanted."""
        candidates, times = self.pools.get((high_value, ring), ([], []))
        for low, high in ((1, 25), (1, 55)):
            start = bisect_left(times, at - timedelta(days=high))
            end = bisect_right(times, at - timedelta(days=low))
            free = [c for c in candidates[start:end] if c.order_id not in self.used]
            if free:
                chosen = self.rng.choice(free)
                self.used.add(chosen.order_id)
                return chosen
        return None

    def make(self, target: str) -> bool:
        """One request that ends in `target`; False when no order fits or the policy refuses it."""
        rng = self.rng
        review = target in (S.PENDING_REVIEW, S.REJECTED) or rng.random() < 0.08
        steps = self._steps(target, review=review)
        span = sum((delay for _step, delay in steps), timedelta())
        waiting = timedelta(days=rng.uniform(*WAITING[target]))
        requested_at = self.now - span - waiting - timedelta(minutes=rng.randrange(30, 600))
        # Sizing is about half of jewellery returns (DOMAIN.md section 2): those are rings.
        sizing = rng.random() < SIZING_SHARE
        for _attempt in range(3):
            candidate = self._pick(requested_at, high_value=review, ring=sizing) or self._pick(
                requested_at, high_value=review, ring=False
            )
            if candidate is None:
                return False
            lines = self._lines(candidate.order_id, high_value=review, rings=sizing)
            if not lines:
                continue
            chosen = lines if len(lines) > 1 and rng.random() < 0.15 else [rng.choice(lines)]
            exchange = rng.random() < 0.65
            asks = [self._ask(line, sizing=sizing, exchange=exchange) for line in chosen]
            for method in (rng.choices(("mail", "drop_off"), weights=(70, 30))[0], "mail"):
                try:
                    request = return_request_create(
                        brand_id=self.brand_id, order_id=candidate.order_id, lines=asks, method=method,
                        actor=Actor(kind="shopper", label="shopper"), source="demo",
                        decide=target != S.REQUESTED, now=requested_at,
                    )  # fmt: skip
                except DomainError:
                    asks = [_as_refund(ask) for ask in asks]  # e.g. that size is sold out
                    continue
                if (request.status == S.PENDING_REVIEW) != (review and target != S.REQUESTED):
                    steps = []  # the policy saw it otherwise: keep what it decided
                self._walk(request, steps, requested_at)
                return True
        return False

    def _settle(self, request: ReturnRequest, actor: Actor, at: datetime) -> None:
        """Staff settle the inspected return: refunds and gift cards through the simulated provider,
        store credit in the ledger, exchanges with their replacement orders."""
        result = return_resolve(brand_id=self.brand_id, request_id=request.pk, actor=actor, trigger="staff", now=at)
        for payout in result.payouts:
            payout_execute(payout_id=payout.pk, now=at)

    def _walk(self, request: ReturnRequest, steps: list[tuple[str, timedelta]], at: datetime) -> None:
        rng, brand_id = self.rng, self.brand_id
        line_ids = list(request.lines.order_by("id").values_list("id", flat=True))
        # Creation reached requested and then authorised or pending review at once.
        when: dict[str, datetime] = {S.REQUESTED: at, S.AUTHORISED: at, S.PENDING_REVIEW: at}
        for step, delay in steps:
            at += delay
            if step == "note":
                note = return_note_add(
                    brand_id=brand_id, request_id=request.pk, actor=STAFF, body=rng.choice(REVIEW_NOTES)
                )
                ReturnNote.objects.filter(pk=note.pk).update(created_at=at, updated_at=at)
                when["note"] = at
            elif step == "approve":
                return_request_approve(brand_id=brand_id, request_id=request.pk, actor=STAFF, now=at)
                when[S.AUTHORISED] = at
            elif step == "reject":
                reason = rng.choice(REJECTIONS)
                return_request_reject(brand_id=brand_id, request_id=request.pk, actor=STAFF, reason=reason, now=at)
                when[S.REJECTED] = at
            elif step == "cancel":
                why = rng.choice(CANCELLATIONS)
                shopper = Actor(kind="shopper", label="shopper")
                return_request_cancel(brand_id=brand_id, request_id=request.pk, actor=shopper, why=why, now=at)
                when[S.CANCELLED] = at
            elif step == "expire":
                return_request_expire(brand_id=brand_id, request_id=request.pk, now=at)
                when[S.EXPIRED] = at
            else:
                _state, _hours, actor, why = WALK[_WALKED.index(step)]
                if step == S.RESOLVED:
                    self._settle(request, actor, at)
                    when["settled"] = at
                done = set(ReturnLine.objects.filter(request=request, status=step).values_list("id", flat=True))
                for line_id in line_ids:
                    if line_id not in done:  # settling moved it already
                        return_line_move(brand_id=brand_id, line_id=line_id, to=step, actor=actor, why=why, now=at)
                when[step] = at
        self._restamp(request, line_ids, when)


def _as_refund(ask: ReturnLineRequest) -> ReturnLineRequest:
    """The same line asked as a refund: what a shopper does when the size they wanted is sold out."""
    return ReturnLineRequest(
        line_id=ask.line_id, quantity=ask.quantity, reason=ask.reason, resolution="refund", comment=ask.comment
    )


def demo_returns_seed(*, brand_id: int, orders: int, rng: random.Random, now: datetime, actor: Actor) -> int:
    """The brand's default policy and its demo returns, about RETURN_SHARE of `orders` (at most
    MAX_RETURNS), at least one per state when the history allows; how many were made."""
    policy_default_ensure(brand_id=brand_id, actor=actor)
    wanted = min(MAX_RETURNS, round(orders * RETURN_SHARE))
    if wanted <= 0:
        return 0
    demo = _Demo(brand_id=brand_id, orders=orders, rng=rng, now=now)
    # Every state once when the history is long enough to show them, then by weight.
    targets = [state for state, _weight in PLAN] if orders >= EVERY_STATE_FROM else []
    targets += [_weighted(rng, PLAN) for _ in range(max(0, wanted - len(targets)))]
    return sum(1 for target in targets if demo.make(target))
