"""Staff pages: thin views over the domain selectors and services.

Every page renders fully without JavaScript; with htmx, the results table (and a retried event's
row) is swapped in place from a named template partial.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from assay.backoffice.forms import BrandSwitchForm, EmailLoginForm, EventFilterForm, OrderSearchForm
from assay.backoffice.scope import StaffScope, brand_select, page_context, staff_page
from assay.backoffice.selectors import dashboard_counts
from assay.orders.selectors import OrderDetail, OrderLineData, ShipmentData, order_detail, order_search
from assay.resolutions.selectors import payouts_needing_attention
from assay.returns.queue import return_queue_counts
from assay.webhooks.selectors import inbound_event_detail, inbound_event_search
from assay.webhooks.services import inbound_event_retry
from assay.webhooks.status import EventStatus
from assay.webhooks.tasks import enqueue_processing

PAGE_SIZE = 50
MAX_PAGE = 100_000  # beyond this an offset is a scan, not a page anyone reads


login = auth_views.LoginView.as_view(
    template_name="backoffice/login.html",
    authentication_form=EmailLoginForm,
    redirect_authenticated_user=True,
)
logout = auth_views.LogoutView.as_view()


@dataclass(frozen=True, slots=True)
class Pager:
    page: int
    count: int
    size: int
    shown: int

    @property
    def first(self) -> int:
        return (self.page - 1) * self.size + 1 if self.shown else 0

    @property
    def last(self) -> int:
        return (self.page - 1) * self.size + self.shown

    @property
    def pages(self) -> int:
        return max(1, -(-self.count // self.size))

    @property
    def previous(self) -> int | None:
        return self.page - 1 if self.page > 1 else None

    @property
    def next(self) -> int | None:
        return self.page + 1 if self.page < self.pages else None


def _page_number(request: HttpRequest) -> int:
    raw = request.GET.get("page", "1")
    if not (raw.isascii() and raw.isdigit()):
        return 1
    # A long digit string is past any real page (and int() refuses thousands of digits).
    return MAX_PAGE if len(raw) > 6 else min(max(int(raw), 1), MAX_PAGE)


def _wants_partial(request: HttpRequest, target: str) -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not getattr(htmx, "boosted", False) and getattr(htmx, "target", None) == target


def _safe_next(request: HttpRequest, value: str | None, fallback: str) -> str:
    if value and url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()}, require_https=False):
        return value
    return fallback


@require_GET
@staff_page
def home(request: HttpRequest, scope: StaffScope) -> HttpResponse:
    today = timezone.localdate()
    week_start = today - timedelta(days=today.weekday())
    since = timezone.make_aware(datetime.combine(week_start, time.min))
    counts = dashboard_counts(brand_id=scope.brand_id, since=since)
    returns = return_queue_counts(brand_ids=[scope.brand_id])
    payouts = payouts_needing_attention(brand_ids=[scope.brand_id], limit=20)
    return render(
        request,
        "backoffice/home.html",
        page_context(scope, "home", counts=counts, week_start=week_start, returns=returns, payouts=payouts),
    )


@require_POST
@login_required
def brand_switch(request: HttpRequest) -> HttpResponse:
    """Make another of the person's brands the current one. A brand they do not belong to is 404,
    exactly like one that does not exist."""
    form = BrandSwitchForm(request.POST)
    if not form.is_valid():
        raise Http404("no such brand")
    choice = brand_select(request, brand_id=form.cleaned_data["brand"])
    if choice is None:
        raise Http404("no such brand")
    messages.success(request, f"You are now working in {choice.name}.")
    target = _section_root(_safe_next(request, form.cleaned_data.get("next"), reverse("backoffice:home")))
    if getattr(request, "htmx", None):
        return HttpResponseClientRedirect(target)
    return HttpResponseRedirect(target)


def _section_root(path: str) -> str:
    """After a switch, an order or event of the old brand would be 404: go to its list instead,
    keeping nothing from the old brand's filters."""
    for name in ("backoffice:orders", "backoffice:returns", "backoffice:webhook-events"):
        root = reverse(name)
        if path.startswith(root):
            return root
    return reverse("backoffice:home")


@require_GET
@staff_page
def order_list(request: HttpRequest, scope: StaffScope) -> HttpResponse:
    form = OrderSearchForm(request.GET or None)
    criteria: dict[str, Any] = {}
    if form.is_bound and form.is_valid():
        criteria = {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}
    page = _page_number(request)
    if form.is_bound and not form.is_valid():
        result = None
        pager = None
    else:
        result = order_search(
            brand_id=scope.brand_id,
            tz=scope.brand.timezone,
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
            with_lines=True,
            **criteria,
        )
        pager = Pager(page=page, count=result.count, size=PAGE_SIZE, shown=len(result.items))
    context = page_context(scope, "orders", form=form, result=result, pager=pager, searching=bool(criteria))
    template = "backoffice/orders/list.html"
    if _wants_partial(request, "order-results"):
        template += "#results"
    return render(request, template, context)


@dataclass(frozen=True, slots=True)
class ShippedLine:
    line: OrderLineData | None
    quantity: int


@dataclass(frozen=True, slots=True)
class Tracking:
    number: str
    url: str  # empty when the carrier gave none, or gave something that is not a web address


@dataclass(frozen=True, slots=True)
class ShipmentView:
    shipment: ShipmentData
    tracking: list[Tracking]
    lines: list[ShippedLine]


def _tracking(shipment: ShipmentData) -> list[Tracking]:
    """Tracking numbers with their links; the shop sends the two lists in the same order."""
    urls = [u if u.startswith(("https://", "http://")) else "" for u in shipment.tracking_urls]
    numbers = shipment.tracking_numbers or ([shipment.tracking_number] if shipment.tracking_number else [])
    found = [Tracking(number=n, url=urls[i] if i < len(urls) else "") for i, n in enumerate(numbers)]
    found += [Tracking(number="", url=u) for u in urls[len(numbers) :] if u]
    return found


@require_GET
@staff_page
def order_view(request: HttpRequest, scope: StaffScope, order_id: int) -> HttpResponse:
    order: OrderDetail | None = order_detail(brand_id=scope.brand_id, order_id=order_id)
    if order is None:
        raise Http404("no such order")
    lines_by_id = {line.id: line for line in order.lines}
    shipments = [
        ShipmentView(
            shipment=shipment,
            tracking=_tracking(shipment),
            lines=[ShippedLine(line=lines_by_id.get(item.line_id), quantity=item.quantity) for item in shipment.lines],
        )
        for shipment in order.shipments
    ]
    return render(
        request,
        "backoffice/orders/detail.html",
        page_context(
            scope,
            "orders",
            order=order,
            shipments=shipments,
            personalised_count=sum(1 for line in order.lines if line.personalised),
        ),
    )


@require_GET
@staff_page
def webhook_events(request: HttpRequest, scope: StaffScope) -> HttpResponse:
    form = EventFilterForm(request.GET or None)
    status = ""
    if form.is_bound and form.is_valid():
        status = form.cleaned_data.get("status") or ""
    page = _page_number(request)
    result = inbound_event_search(
        brand_id=scope.brand_id, status=status, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    pager = Pager(page=page, count=result.count, size=PAGE_SIZE, shown=len(result.items))
    context = page_context(scope, "webhooks", form=form, result=result, pager=pager, status=status)
    template = "backoffice/webhooks/list.html"
    if _wants_partial(request, "event-results"):
        template += "#results"
    return render(request, template, context)


@require_POST
@staff_page
def webhook_event_retry(request: HttpRequest, scope: StaffScope, event_pk: int) -> HttpResponse:
    """Put a failed event back in the queue. Another brand's event is 404; an event that has not
    failed is left alone with a message saying so."""
    event = inbound_event_detail(brand_id=scope.brand_id, event_pk=event_pk)
    if event is None:
        raise Http404("no such event")
    if event.status == EventStatus.FAILED:
        inbound_event_retry(event_pk=event.id, brand_id=scope.brand_id)
        enqueue_processing(event.id)
        after = inbound_event_detail(brand_id=scope.brand_id, event_pk=event.id) or event
        level, text = messages.SUCCESS, f"Event {event.event_id} queued again (now: {after.status})."
    else:
        after = event
        level, text = messages.WARNING, f"Event {event.event_id} has not failed ({event.status}); nothing to retry."
    if _wants_partial(request, f"event-{event.id}"):
        return render(
            request,
            "backoffice/webhooks/list.html#event-row",
            page_context(scope, "webhooks", event=after, notice=text),
        )
    messages.add_message(request, level, text)
    return redirect(_safe_next(request, request.POST.get("next"), reverse("backoffice:webhook-events")))
