"""Staff returns pages: the review queue with bulk decisions, and one request's full record.

Who may do what, by role in the request's brand (a person's role differs per brand):
- every member may read the queue, a request, its photos and timeline;
- owners and operations staff decide: approve, reject, cancel, and override the policy (with a
  required reason that goes into the audit trail) - the work of an ops person or virtual assistant;
- inspectors may also add internal notes (what they saw on the bench belongs in the record).
Another brand's request answers 404, exactly like one that does not exist.

Every page works without JavaScript; htmx swaps the queue's results and the notes in place.
Domain refusals (a move the status table does not allow, a missing reason) show as messages or form
errors, never as a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from assay.backoffice.returns_forms import (
    ALL_BRANDS,
    ApproveForm,
    BulkDecisionForm,
    CancelForm,
    ExchangeActionForm,
    NoteForm,
    OverrideForm,
    PayoutActionForm,
    RejectForm,
    ResolveForm,
    ReturnQueueForm,
)
from assay.backoffice.scope import StaffScope, brand_select, page_context, staff_page
from assay.backoffice.views import PAGE_SIZE, Pager, _page_number, _wants_partial
from assay.brands.models import Role
from assay.core.audit import Actor
from assay.core.errors import DomainError
from assay.resolutions import payouts, shop_returns
from assay.resolutions import services as resolution_services
from assay.resolutions.checkouts import checkout_page_again
from assay.resolutions.selectors import exchange_of, payout_of, resolution_timing, resolution_view
from assay.resolutions.services import Adjustment
from assay.returns import services as return_services
from assay.returns.queue import (
    AWAITING_DECISION,
    DEFAULT_SORT,
    return_photo_file,
    return_queue,
    return_refs,
    return_staff_record,
    sla_hours,
)
from assay.returns.status import ALLOWED, ReturnStatus

# An override authorises against the policy: a request waiting for review, or one rejected or expired
# (which only an override can reopen). The service holds the same list and checks it under a lock.
OVERRIDABLE = AWAITING_DECISION | {ReturnStatus.REJECTED, ReturnStatus.EXPIRED}

DECIDE_ROLES = frozenset({Role.OWNER, Role.OPS})
OVERRIDE_ROLES = frozenset({Role.OWNER, Role.OPS})
NOTE_ROLES = frozenset({Role.OWNER, Role.OPS, Role.INSPECTOR})

_ROLE_LABELS = dict(Role.choices)


def staff_actor(request: HttpRequest) -> Actor:
    """The person, as the audit trail and the timeline name them."""
    user: Any = request.user
    email = str(getattr(user, "email", "") or user.get_username())
    name = str(user.get_full_name() or "").strip() if hasattr(user, "get_full_name") else ""
    return Actor(kind="staff", label=f"{name} <{email}>" if name else email, user_id=user.pk)


def _role_word(role: str) -> str:
    return _ROLE_LABELS.get(role, role).lower()


# --- the queue ---------------------------------------------------------------------------------


def _brand_ids(scope: StaffScope, chosen: str) -> list[int]:
    if chosen == ALL_BRANDS:
        return [b.id for b in scope.brands]
    if chosen:
        return [int(chosen)]  # the form only offers the person's own brands
    return [scope.brand_id]


def _sort_links(request: HttpRequest, current: str) -> dict[str, dict[str, str]]:
    """For each sortable column: the query string that sorts by it (toggling direction when it is
    the current sort) and its aria-sort state."""
    links = {}
    for column, first in (("rma", "rma"), ("value", "-value"), ("age", "requested_at"), ("status", "status")):
        field = first.lstrip("-")
        if current.lstrip("-") == field:
            target = field if current.startswith("-") else f"-{field}"
            state = "descending" if current.startswith("-") else "ascending"
        else:
            target, state = first, "none"
        # Age sorts by when the request came in: oldest first is "age descending".
        if column == "age" and state != "none":
            state = "ascending" if state == "descending" else "descending"
        params = request.GET.copy()
        params["sort"] = target
        params.pop("page", None)
        links[column] = {"query": "?" + params.urlencode(), "state": state}
    return links


@require_http_methods(["GET", "HEAD", "POST"])
@staff_page
def return_list(request: HttpRequest, scope: StaffScope) -> HttpResponse:
    """The queue (GET) and its bulk decisions (POST to the same address, filters kept in the query)."""
    bulk = BulkDecisionForm(request.POST) if request.method == "POST" else BulkDecisionForm()
    if request.method == "POST":
        if bulk.is_valid():
            _bulk_decide(request, scope, bulk.cleaned_data)
            return HttpResponseRedirect(request.get_full_path())
        return _queue_page(request, scope, bulk=bulk, status=400)
    return _queue_page(request, scope, bulk=bulk)


def _queue_page(request: HttpRequest, scope: StaffScope, *, bulk: BulkDecisionForm, status: int = 200) -> HttpResponse:
    params: QueryDict = request.GET
    form = ReturnQueueForm(params or None, brands=scope.brands, current_brand_id=scope.brand_id)
    rows: list[dict[str, Any]] | None = None
    pager = None
    criteria: dict[str, Any] = {}
    sort = DEFAULT_SORT
    brand_ids = [scope.brand_id]
    if not form.is_bound or form.is_valid():
        data = form.cleaned_data if form.is_bound else {}
        sort = data.get("sort") or DEFAULT_SORT
        brand_ids = _brand_ids(scope, data.get("brand") or "")
        criteria = {
            "status": data.get("status") or None,
            "sla": data.get("sla") or None,
            "older_than_hours": data.get("older_than"),
            "min_value": data.get("min_value"),
            "max_value": data.get("max_value"),
            "reason": data.get("reason") or None,
            "flag": data.get("flag") or None,
            "q": data.get("q") or "",
        }
        page = _page_number(request)
        rows, count = return_queue(
            brand_ids=brand_ids, sort=sort, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, **criteria
        )
        pager = Pager(page=page, count=count, size=PAGE_SIZE, shown=len(rows))
        names = {b.id: b.name for b in scope.brands}
        roles = {b.id: b.role for b in scope.brands}
        for row in rows:
            row["brand_name"] = names.get(row["brand_id"], "")
            row["can_decide"] = roles.get(row["brand_id"]) in DECIDE_ROLES
            row["detail_query"] = "" if row["brand_id"] == scope.brand_id else f"?brand={row['brand_id']}"
    searching = any(v not in (None, "") for v in criteria.values()) or brand_ids != [scope.brand_id]
    context = page_context(
        scope,
        "returns",
        form=form,
        rows=rows,
        pager=pager,
        bulk=bulk,
        ticked={str(i) for i in request.POST.getlist("ids")} if request.method == "POST" else set(),
        searching=searching,
        several_brands=len(brand_ids) > 1,
        sort=sort,
        sort_links=_sort_links(request, sort),
        can_decide=any(b.role in DECIDE_ROLES for b in scope.brands if b.id in brand_ids),
        sla_hours=sla_hours(),
    )
    template = "backoffice/returns/list.html"
    if _wants_partial(request, "return-results"):
        template += "#results"
    return render(request, template, context, status=status)


def _bulk_decide(request: HttpRequest, scope: StaffScope, data: dict[str, Any]) -> None:
    """Each ticked request goes through the service on its own: one that cannot move is reported
    by its RMA with the reason, and the others still move."""
    action: str = data["action"]
    reason: str = data["reason"]
    actor = staff_actor(request)
    roles = {b.id: b.role for b in scope.brands}
    names = {b.id: b.name for b in scope.brands}
    refs = return_refs(brand_ids=list(roles), ids=data["ids"])
    done: list[str] = []
    verb = "approved" if action == "approve" else "rejected"
    for ref in refs:
        role = roles[ref["brand_id"]]
        if role not in DECIDE_ROLES:
            who = f"as {_role_word(role)} in {names[ref['brand_id']]}"
            messages.error(request, f"{ref['rma']} was not {verb}: {who} you cannot decide returns.")
            continue
        try:
            if action == "approve":
                return_services.return_request_approve(
                    brand_id=ref["brand_id"], request_id=ref["id"], actor=actor, note=reason
                )
            else:
                return_services.return_request_reject(
                    brand_id=ref["brand_id"], request_id=ref["id"], actor=actor, reason=reason
                )
        except DomainError as exc:
            messages.error(request, f"{ref['rma']} was not {verb}: {exc.message}")
        else:
            done.append(ref["rma"])
    missing = len(data["ids"]) - len(refs)
    if missing:
        messages.error(
            request, f"{missing} ticked request{'s were' if missing > 1 else ' was'} not found; nothing done to them."
        )
    if done:
        messages.success(
            request, f"{verb.capitalize()} {len(done)} request{'s' if len(done) > 1 else ''}: {', '.join(done)}."
        )


# --- one request -------------------------------------------------------------------------------


def _switch_brand_for(request: HttpRequest, scope: StaffScope, rma: str) -> HttpResponse | None:
    """A queue showing several brands links to another brand's request with ?brand=<id>: make that
    brand current (if the person belongs to it) and come back to the plain address."""
    raw = request.GET.get("brand", "")
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) < 19):
        raise Http404("no such return")
    if int(raw) != scope.brand_id:
        choice = brand_select(request, brand_id=int(raw))
        if choice is None:
            raise Http404("no such return")
        messages.info(request, f"You are now working in {choice.name}.")
    return redirect("backoffice:return-detail", rma=rma)


ActionForms = dict[str, Any]


def _detail_page(
    request: HttpRequest, scope: StaffScope, rma: str, *, forms: ActionForms | None = None, status: int = 200
) -> HttpResponse:
    record = return_staff_record(brand_id=scope.brand_id, rma=rma)
    if record is None:
        raise Http404("no such return")
    role = scope.role
    given = forms or {}
    state = record.request["status"]
    proposals = resolution_services.resolution_propose(brand_id=scope.brand_id, request_id=record.request["id"])
    resolve_form = given.get("resolve") or ResolveForm(proposals=proposals)
    # Offer only the moves the status table allows from here; the service checks again under a lock.
    actions = {
        "approve": state in AWAITING_DECISION,
        "reject": state in AWAITING_DECISION,
        "override": state in OVERRIDABLE,
        "cancel": ReturnStatus.CANCELLED in ALLOWED.get(state, set()),
    }
    context = page_context(
        scope,
        "returns",
        record=record,
        actions={name: True for name, offered in actions.items() if offered},
        can_decide=role in DECIDE_ROLES,
        can_override=role in OVERRIDE_ROLES,
        can_note=role in NOTE_ROLES,
        approve_form=given.get("approve") or ApproveForm(),
        reject_form=given.get("reject") or RejectForm(),
        cancel_form=given.get("cancel") or CancelForm(),
        override_form=given.get("override") or OverrideForm(),
        resolution=resolution_view(brand_id=scope.brand_id, request_id=record.request["id"]),
        resolution_timing=resolution_timing(brand_id=scope.brand_id, request_id=record.request["id"]),
        proposals=proposals,
        resolve_form=resolve_form,
        resolve_rows=[
            (
                proposal,
                resolve_form[f"outcome_{proposal.line.pk}"]
                if f"outcome_{proposal.line.pk}" in resolve_form.fields
                else None,
                resolve_form[f"amount_{proposal.line.pk}"],
            )
            for proposal in proposals
        ],
        can_resolve=role in DECIDE_ROLES,
        note_form=given.get("note") or NoteForm(),
    )
    template = "backoffice/returns/detail.html"
    if _wants_partial(request, "return-notes"):
        template += "#notes"
    return render(request, template, context, status=status)


@require_GET
@staff_page
def return_detail(request: HttpRequest, scope: StaffScope, rma: str) -> HttpResponse:
    switched = _switch_brand_for(request, scope, rma)
    if switched is not None:
        return switched
    return _detail_page(request, scope, rma)


def _request_id(scope: StaffScope, rma: str) -> int:
    refs = return_refs(brand_ids=[scope.brand_id], rmas=[rma])
    if not refs:
        raise Http404("no such return")
    return int(refs[0]["id"])


def _act(
    request: HttpRequest,
    scope: StaffScope,
    rma: str,
    *,
    key: str,
    form_class: type[Any],
    roles: frozenset[str],
    verb: str,
    call: Callable[[int, dict[str, Any]], object],
    done: str,
) -> HttpResponse:
    """The shape of every action on one request: 404 outside the brand, 403 for a role that may not,
    the form re-shown with its errors, the service's refusal as a message, else back to the record."""
    request_id = _request_id(scope, rma)
    if scope.role not in roles:
        messages.error(request, f"As {_role_word(scope.role)} in {scope.brand.name} you cannot {verb} returns.")
        return _detail_page(request, scope, rma, status=403)
    form = form_class(request.POST)
    if not form.is_valid():
        return _detail_page(request, scope, rma, forms={key: form}, status=400)
    try:
        call(request_id, form.cleaned_data)
    except DomainError as exc:
        messages.error(request, f"{rma} was not {done}: {exc.message}")
    else:
        messages.success(request, f"{rma} {done}.")
    return redirect("backoffice:return-detail", rma=rma)


@require_POST
@staff_page
def return_approve(request: HttpRequest, scope: StaffScope, rma: str) -> HttpResponse:
    actor = staff_actor(request)
    return _act(
        request,
        scope,
        rma,
        key="approve",
        form_class=ApproveForm,
        roles=DECIDE_ROLES,
        verb="approve",
        done="approved",
        call=lambda pk, data: (
            return_services.return_request_approve(
                brand_id=scope.brand_id, request_id=pk, actor=actor, note=data["note"]
            ),
            resolution_services.resolutions_due(brand_id=scope.brand_id, request_id=pk),
        ),
    )


@require_POST
@staff_page
def return_reject(request: HttpRequest, scope: StaffScope, rma: str) -> HttpResponse:
    actor = staff_actor(request)
    return _act(
        request,
        scope,
        rma,
        key="reject",
        form_class=RejectForm,
        roles=DECIDE_ROLES,
        verb="reject",
        done="rejected",
        call=lambda pk, data: return_services.return_request_reject(
            brand_id=scope.brand_id, request_id=pk, actor=actor, reason=data["reason"]
        ),
    )


@require_POST
@staff_page
def return_cancel(request: HttpRequest, scope: StaffScope, rma: str) -> HttpResponse:
    actor = staff_actor(request)
    return _act(
        request,
        scope,
        rma,
        key="cancel",
        form_class=CancelForm,
        roles=DECIDE_ROLES,
        verb="cancel",
        done="cancelled",
        call=lambda pk, data: return_services.return_request_cancel(
            brand_id=scope.brand_id, request_id=pk, actor=actor, why=data["why"]
        ),
    )


@require_POST
@staff_page
def return_override(request: HttpRequest, scope: StaffScope, rma: str) -> HttpResponse:
    actor = staff_actor(request)
    return _act(
        request,
        scope,
        rma,
        key="override",
        form_class=OverrideForm,
        roles=OVERRIDE_ROLES,
        verb="override the policy on",
        done="authorised by override",
        call=lambda pk, data: (
            return_services.return_request_override(
                brand_id=scope.brand_id, request_id=pk, actor=actor, reason=data["reason"]
            ),
            resolution_services.resolutions_due(brand_id=scope.brand_id, request_id=pk),
        ),
    )


@require_POST
@staff_page
def return_note_add(request: HttpRequest, scope: StaffScope, rma: str) -> HttpResponse:
    request_id = _request_id(scope, rma)
    if scope.role not in NOTE_ROLES:
        messages.error(request, f"As {_role_word(scope.role)} in {scope.brand.name} you cannot add notes.")
        return _detail_page(request, scope, rma, status=403)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            return_services.return_note_add(
                brand_id=scope.brand_id,
                request_id=request_id,
                actor=staff_actor(request),
                body=form.cleaned_data["body"],
            )
        except DomainError as exc:
            form.add_error("body", exc.message)
    if _wants_partial(request, "return-notes"):
        # 200 either way: htmx swaps only successful answers, and the errors are in the partial.
        return _detail_page(request, scope, rma, forms={"note": form if form.errors else NoteForm()})
    if form.errors:
        return _detail_page(request, scope, rma, forms={"note": form}, status=400)
    messages.success(request, "Note added.")
    return HttpResponseRedirect(reverse("backoffice:return-detail", kwargs={"rma": rma}) + "#notes")


@require_GET
@staff_page
def return_photo(request: HttpRequest, scope: StaffScope, rma: str, photo_id: int) -> HttpResponse:
    """A shopper's photo, only to staff of the request's brand; never from a public address."""
    photo = return_photo_file(brand_id=scope.brand_id, rma=rma, photo_id=photo_id)
    if photo is None:
        raise Http404("no such photo")
    try:
        with photo["storage"].open(photo["name"], "rb") as handle:
            content = handle.read()  # re-encoded, at most 4096 px a side: a few MB at worst
    except OSError:
        raise Http404("the photo's file is missing") from None
    response = HttpResponse(content, content_type=photo["content_type"])
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = f'inline; filename="{rma}-photo-{photo_id}"'
    return response


# --- resolution: confirm the settlement, act on payouts and exchanges ----------------------------


@require_POST
@staff_page
def return_resolve(request: HttpRequest, scope: StaffScope, rma: str) -> HttpResponse:
    """Settle the return's authorised lines now, as proposed or adjusted (with a reason)."""
    request_id = _request_id(scope, rma)
    if scope.role not in DECIDE_ROLES:
        messages.error(request, f"As {_role_word(scope.role)} in {scope.brand.name} you cannot settle returns.")
        return _detail_page(request, scope, rma, status=403)
    proposals = resolution_services.resolution_propose(brand_id=scope.brand_id, request_id=request_id)
    form = ResolveForm(request.POST, proposals=proposals)
    if not form.is_valid():
        return _detail_page(request, scope, rma, forms={"resolve": form}, status=400)
    by_line = {p.line.pk: p.breakdown for p in proposals}
    adjustments = {}
    for line_id, given in form.adjustments().items():
        proposed = by_line[line_id]
        outcome = given["resolution"] if given["resolution"] not in (None, "", proposed.resolution) else None
        amount = given["amount"] if given["amount"] is not None and given["amount"] != proposed.total else None
        if outcome is not None or amount is not None:
            adjustments[line_id] = Adjustment(resolution=outcome, amount=amount, reason=given["reason"])
    try:
        result = resolution_services.return_resolve(
            brand_id=scope.brand_id,
            request_id=request_id,
            actor=staff_actor(request),
            trigger="staff",
            line_ids=list(by_line),
            adjustments=adjustments,
        )
    except DomainError as exc:
        messages.error(request, f"{rma} was not settled: {exc.message}")
    else:
        count = len(result.settlements)
        messages.success(request, f"{rma}: {count} line{'s' if count != 1 else ''} settled.")
    return redirect("backoffice:return-detail", rma=rma)


def _money_action(
    request: HttpRequest,
    scope: StaffScope,
    rma: str,
    *,
    what: str,
    pk: int,
    belongs: Callable[[int, int], bool],
    form: Any,
    run: Callable[[dict[str, Any]], object],
    done: str,
) -> HttpResponse:
    """The shape of an action on one of a return's payouts or exchanges: 404 unless it is this return's,
    403 for a role that may not, the service's refusal as a message, else back to the record."""
    request_id = _request_id(scope, rma)
    if not belongs(request_id, pk):
        raise Http404(f"no such {what}")
    if scope.role not in DECIDE_ROLES:
        messages.error(request, f"As {_role_word(scope.role)} in {scope.brand.name} you cannot act on {what}s.")
        return _detail_page(request, scope, rma, status=403)
    if not form.is_valid():
        messages.error(request, f"Choose what to do with the {what}.")
        return redirect("backoffice:return-detail", rma=rma)
    try:
        run(form.cleaned_data)
    except DomainError as exc:
        messages.error(request, f"{what.capitalize()} {pk}: {exc.message}")
    else:
        messages.success(request, f"{what.capitalize()} {pk}: {done}.")
    return redirect("backoffice:return-detail", rma=rma)


@require_POST
@staff_page
def payout_action(request: HttpRequest, scope: StaffScope, rma: str, payout_id: int) -> HttpResponse:
    actor, brand_id = staff_actor(request), scope.brand_id

    def run(data: dict[str, Any]) -> object:
        if data["action"] == "retry":
            return payouts.payout_retry(brand_id=brand_id, payout_id=payout_id, actor=actor, why=data["text"])
        if data["action"] == "cancel":
            return payouts.payout_cancel(brand_id=brand_id, payout_id=payout_id, actor=actor, why=data["text"])
        return payouts.payout_record_manual(brand_id=brand_id, payout_id=payout_id, actor=actor, reference=data["text"])

    return _money_action(
        request, scope, rma, what="payout", pk=payout_id, belongs=payout_of,
        form=PayoutActionForm(request.POST), run=run, done="done",
    )  # fmt: skip


@require_POST
@staff_page
def exchange_action(request: HttpRequest, scope: StaffScope, rma: str, exchange_id: int) -> HttpResponse:
    actor, brand_id = staff_actor(request), scope.brand_id

    def run(data: dict[str, Any]) -> object:
        if data["action"] == "paid":
            return resolution_services.exchange_difference_paid(
                brand_id=brand_id, exchange_id=exchange_id, actor=actor, reference=data["text"]
            )
        if data["action"] == "page":
            return checkout_page_again(brand_id=brand_id, exchange_id=exchange_id)
        return resolution_services.exchange_retry_stock(brand_id=brand_id, exchange_id=exchange_id, actor=actor)

    return _money_action(
        request, scope, rma, what="exchange", pk=exchange_id, belongs=exchange_of,
        form=ExchangeActionForm(request.POST), run=run, done="done",
    )  # fmt: skip


@require_POST
@staff_page
def shop_return_retry(request: HttpRequest, scope: StaffScope, rma: str) -> HttpResponse:
    """Ask the shop again to record the return, after fixing what it refused."""
    request_id = _request_id(scope, rma)
    record = resolution_view(brand_id=scope.brand_id, request_id=request_id).shop_return
    if record is None:
        raise Http404("no shop record for this return")
    if scope.role not in DECIDE_ROLES:
        messages.error(request, f"As {_role_word(scope.role)} in {scope.brand.name} you cannot do this.")
        return _detail_page(request, scope, rma, status=403)
    try:
        shop_returns.shop_return_retry(brand_id=scope.brand_id, record_id=record.id, actor=staff_actor(request))
    except DomainError as exc:
        messages.error(request, f"{rma}: {exc.message}")
    else:
        messages.success(request, f"{rma}: asked the shop again.")
    return redirect("backoffice:return-detail", rma=rma)
