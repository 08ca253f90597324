"""The RMA lifecycle through its services: create (and every refusal), decide, move, note, expire."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from assay.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied, TransitionNotAllowed
from assay.core.models import AuditEvent
from assay.core.transitions import transition
from assay.policies.models import PolicyVersion
from assay.returns.models import ReturnLine, ReturnNote, ReturnRequest
from assay.returns.services import (
    request_status_from_lines,
    return_line_move,
    return_note_add,
    return_request_approve,
    return_request_cancel,
    return_request_create,
    return_request_decide,
    return_request_override,
    return_request_reject,
    returns_expire_due,
    ship_by_days,
)
from assay.returns.status import ALLOWED, ReturnStatus
from assay.returns.tests.conftest import SHOPPER, STAFF, SYSTEM, Shop, ask, create, lines_of

pytestmark = pytest.mark.django_db
S = ReturnStatus


# --- the table -----------------------------------------------------------------------------------


@pytest.mark.parametrize("model", [ReturnRequest, ReturnLine])
def test_every_allowed_move_succeeds_and_every_other_names_both_states(shop, model):
    ring = shop.piece(price="500")
    order = shop.order((ring.size("6"), 1))
    request = create(order, ask(lines_of(order)[0]))
    row = request if model is ReturnRequest else request.lines.get()

    for start in S.values:
        for target in S.values:
            model.objects.filter(pk=row.pk).update(status=start)
            with transaction.atomic():
                locked = model.objects.select_for_update().get(pk=row.pk)
                if target in ALLOWED[start]:
                    transition(locked, to=target, allowed=ALLOWED, actor=SYSTEM)
                    assert model.objects.get(pk=row.pk).status == target
                else:
                    with pytest.raises(TransitionNotAllowed) as refused:
                        transition(locked, to=target, allowed=ALLOWED, actor=SYSTEM)
                    assert f"'{start}'" in str(refused.value)
                    assert f"'{target}'" in str(refused.value)


# --- creating ------------------------------------------------------------------------------------


def test_an_ordinary_ring_return_is_authorised_at_once_with_an_rma_and_a_ship_by_date(shop):
    ring = shop.piece(price="500")
    order = shop.order((ring.size("6"), 1))
    line = lines_of(order)[0]

    request = create(order, ask(line, reason="changed_mind", resolution="refund"))

    request.refresh_from_db()
    assert request.rma.startswith("R-")
    assert request.rma[2:].isdigit()
    assert len(request.rma[2:]) >= 6
    assert request.status == S.AUTHORISED
    assert request.authorised_at is not None
    assert request.ship_by == request.authorised_at + timedelta(days=ship_by_days())
    assert request.value == Decimal(500)
    assert request.currency == "USD"
    assert request.policy_version_id == PolicyVersion.objects.get(brand=shop.brand).pk
    assert request.decision["lines"][0]["eligible"] is True
    assert "Authorised automatically" in request.decision["reason"]
    returned = request.lines.get()
    assert (returned.status, returned.quantity, returned.destination) == (S.AUTHORISED, 1, "warehouse")
    assert returned.decision["resolutions"] == ["refund", "store_credit", "exchange"]


def test_rma_numbers_count_up_per_brand(shop, other_shop):
    ring = shop.piece(price="500")
    order = shop.order((ring.size("6"), 3))
    line = lines_of(order)[0]
    other_ring = other_shop.piece(price="500")
    other_order = other_shop.order((other_ring.size("6"), 1))

    first = create(order, ask(line))
    second = create(order, ask(line))
    elsewhere = create(other_order, ask(lines_of(other_order)[0]))

    assert (first.rma, second.rma, elsewhere.rma) == ("R-100001", "R-100002", "R-100001")


def test_a_high_value_piece_waits_for_review_with_the_rules_words(shop):
    ring = shop.piece("Emerald ring", price="4800", stones=("natural",))
    order = shop.order((ring.size("6"), 1))

    request = create(order, ask(lines_of(order)[0]))

    request.refresh_from_db()
    assert request.status == S.PENDING_REVIEW
    assert request.ship_by is None
    assert request.review_reasons
    assert request.review_reasons[0].startswith("Emerald ring: High value")
    assert {"manual_review", "insured", "signature_required", "authenticity_check"} <= set(request.flags)
    assert request.lines.get().status == S.PENDING_REVIEW


def test_a_size_exchange_picks_the_in_stock_variant_of_the_wanted_size(shop):
    ring = shop.piece(sizes=("6", "6.5", "7"))
    order = shop.order((ring.size("6"), 1))

    request = create(
        order,
        ask(
            lines_of(order)[0], reason="size_too_small", resolution="exchange", exchange_kind="size", size_wanted="6.5"
        ),
    )

    line = request.lines.get()
    assert (line.exchange_kind, line.exchange_variant_id, line.exchange_sku) == (
        "size",
        ring.size("6.5").pk,
        ring.size("6.5").sku,
    )
    assert line.size_wanted == Decimal("6.5")


def test_a_variant_and_a_product_exchange_name_the_sku(shop):
    ring = shop.piece(sizes=("6", "7"))
    band = shop.piece("Plain band", sizes=("6",), price="400")
    order = shop.order((ring.size("6"), 2))
    line = lines_of(order)[0]

    request = create(
        order,
        ask(line, reason="style", resolution="exchange", exchange_kind="variant", exchange_sku=ring.size("7").sku),
    )
    other = create(
        order,
        ask(line, reason="style", resolution="exchange", exchange_kind="product", exchange_sku=band.size("6").sku),
    )

    assert request.lines.get().exchange_variant_id == ring.size("7").pk
    assert other.lines.get().exchange_variant_id == band.size("6").pk


def test_every_move_of_a_new_request_is_in_the_audit_trail(shop):
    ring = shop.piece(price="500")
    order = shop.order((ring.size("6"), 1))

    request = create(order, ask(lines_of(order)[0]))

    actions = list(
        AuditEvent.objects.filter(subject_type="returnrequest", subject_id=request.pk).values_list(
            "action", "from_state", "to_state"
        )
    )
    assert actions == [("return_requested", "", "requested"), ("status_changed", "requested", "authorised")]
    assert AuditEvent.objects.filter(subject_type="returnline", to_state="authorised").count() == 1


def _bad(shop: Shop, exc: type[Exception] = InvalidInput, **asked: object) -> str:
    """Create with one line of a fresh order (ring size 6, 2 bought, 500 each); the refusal's text."""
    ring = shop.piece(sizes=("6", "6.5"), price="500")
    shop.piece("Other ring", sizes=("7",), price="500", stock=0)
    order = shop.order((ring.size("6"), 2))
    line = lines_of(order)[0]
    method = str(asked.pop("method", "mail"))
    with pytest.raises(exc) as refused:
        create(order, ask(line, **asked), method=method)  # type: ignore[arg-type]
    assert ReturnRequest.objects.count() == 0
    return str(refused.value)


@pytest.mark.parametrize(
    ("asked", "words"),
    [
        ({"quantity": 0}, "quantity must be at least 1"),
        ({"quantity": 3}, "at most 2 can be returned (2 bought, 0 already in a return)"),
        ({"reason": "bored"}, "'bored' is not a return reason"),
        ({"resolution": "cash"}, "'cash' is not a resolution"),
        ({"method": "pigeon"}, "'pigeon' is not a return method"),
        ({"method": "in_store"}, "cannot be returned by in store; choose mail, drop off"),
        ({"resolution": "exchange"}, "an exchange needs a kind"),
        ({"resolution": "exchange", "exchange_kind": "swap"}, "'swap' is not one"),
        ({"resolution": "exchange", "exchange_kind": "size"}, "say which ring size you want"),
        ({"resolution": "exchange", "exchange_kind": "size", "size_wanted": "9"}, "does not come in size 9"),
        ({"resolution": "exchange", "exchange_kind": "size", "size_wanted": "6"}, "size 6 is the size you have"),
        ({"resolution": "exchange", "exchange_kind": "size", "size_wanted": "40"}, "is not a US ring size"),
        ({"resolution": "exchange", "exchange_kind": "variant"}, "say which item (SKU)"),
        ({"resolution": "exchange", "exchange_kind": "product", "exchange_sku": "NOPE"}, "no item with SKU 'NOPE'"),
        ({"resolution": "refund", "exchange_kind": "size"}, "only goes with the exchange resolution"),
        ({"comment": "x" * 2001}, "comment is too long"),
    ],
)
def test_a_request_the_service_cannot_accept_is_refused_with_a_clear_message(shop, asked, words):
    assert words in _bad(shop, **asked)


def test_an_exchange_for_an_out_of_stock_size_or_product_is_refused(shop):
    ring = shop.piece(sizes=("6", "6.5"), price="500")
    sold_out = shop.piece("Sold-out band", sizes=("7",), stock=0)
    ring.size("6.5").inventory_quantity = 0
    ring.size("6.5").save()
    order = shop.order((ring.size("6"), 1))
    line = lines_of(order)[0]

    with pytest.raises(InvalidInput, match=r"in size 6\.5 is out of stock"):
        create(order, ask(line, resolution="exchange", exchange_kind="size", size_wanted="6.5"))
    with pytest.raises(InvalidInput, match="is out of stock"):
        create(order, ask(line, resolution="exchange", exchange_kind="product", exchange_sku=sold_out.size("7").sku))


def test_a_variant_exchange_must_stay_within_the_same_piece(shop):
    ring = shop.piece(sizes=("6",))
    band = shop.piece("Band", sizes=("6",))
    order = shop.order((ring.size("6"), 1))

    with pytest.raises(InvalidInput, match="not another variant of the same piece"):
        create(
            order,
            ask(lines_of(order)[0], resolution="exchange", exchange_kind="variant", exchange_sku=band.size("6").sku),
        )


def test_an_exchange_sku_of_another_brand_does_not_exist_here(shop, other_shop):
    ring = shop.piece(sizes=("6",))
    theirs = other_shop.piece("Their ring", sizes=("6",))
    order = shop.order((ring.size("6"), 1))

    with pytest.raises(InvalidInput, match="no item with SKU"):
        create(
            order,
            ask(lines_of(order)[0], resolution="exchange", exchange_kind="product", exchange_sku=theirs.size("6").sku),
        )


def test_a_line_of_another_order_is_refused(shop):
    ring = shop.piece()
    order = shop.order((ring.size("6"), 1))
    other = shop.order((ring.size("7"), 1))

    with pytest.raises(InvalidInput, match=f"line {lines_of(other)[0].pk} is not part of this order"):
        create(order, ask(lines_of(other)[0]))


def test_a_line_listed_twice_is_refused(shop):
    ring = shop.piece()
    order = shop.order((ring.size("6"), 2))
    line = lines_of(order)[0]

    with pytest.raises(InvalidInput, match="listed twice"):
        create(order, ask(line), ask(line))


def test_no_lines_is_refused(shop):
    ring = shop.piece()
    order = shop.order((ring.size("6"), 1))

    with pytest.raises(InvalidInput, match="at least one item"):
        create(order)


def test_another_brands_order_is_not_found(shop, other_shop):
    ring = other_shop.piece()
    order = other_shop.order((ring.size("6"), 1))

    with pytest.raises(NotFound):
        return_request_create(
            brand_id=shop.brand.pk,
            order_id=order.pk,
            lines=[ask(lines_of(order)[0])],
            method="mail",
            actor=SHOPPER,
            source="portal",
        )


def test_an_ineligible_line_is_refused_with_the_policys_reason(shop):
    studs = shop.piece("Pierced studs", category="earrings", sizes=(), hygiene_item=True)
    order = shop.order((studs.size(""), 1))

    with pytest.raises(InvalidInput, match="'Pierced studs' cannot be returned: Pierced earrings cannot be returned"):
        create(order, ask(lines_of(order)[0], reason="changed_mind"))


def test_a_refund_after_the_refund_window_is_refused_but_an_exchange_is_accepted(shop):
    ring = shop.piece()
    order = shop.order((ring.size("6"), 1), placed_days_ago=50, delivered_days_ago=40)
    line = lines_of(order)[0]

    with pytest.raises(InvalidInput, match="refund is not available"):
        create(order, ask(line, resolution="refund"))
    request = create(order, ask(line, resolution="exchange", exchange_kind="size", size_wanted="7"))
    assert request.status == S.AUTHORISED


def test_an_engraved_resizable_ring_can_only_come_back_for_a_size_to_the_bench(shop):
    ring = shop.piece(resizable=True)
    order = shop.order((ring.size("6"), 1), engraved=(1,))
    line = lines_of(order)[0]

    with pytest.raises(InvalidInput, match="refund is not available"):
        create(order, ask(line, resolution="refund"))
    request = create(order, ask(line, resolution="exchange", exchange_kind="size", size_wanted="7"))
    assert request.lines.get().destination == "bench"


def test_a_cancelled_order_cannot_be_returned(shop):
    ring = shop.piece()
    order = shop.order((ring.size("6"), 1), cancelled=True)

    with pytest.raises(InvalidInput, match="cancelled"):
        create(order, ask(lines_of(order)[0]))


def test_quantities_already_claimed_count_against_the_next_request(shop):
    ring = shop.piece()
    order = shop.order((ring.size("6"), 3))
    line = lines_of(order)[0]
    create(order, ask(line, 2))

    with pytest.raises(InvalidInput, match=r"at most 1 can be returned \(3 bought, 2 already in a return\)"):
        create(order, ask(line, 2))
    assert create(order, ask(line, 1)).lines.get().quantity == 1


def test_a_request_held_as_requested_gets_its_stored_decision_when_decided(shop):
    ring = shop.piece("Emerald ring", price="4800")
    cheap = shop.piece("Band", price="300")
    order = shop.order((ring.size("6"), 1), (cheap.size("6"), 1))
    big, small = lines_of(order)

    held = create(order, ask(big), decide=False)
    plain = create(order, ask(small), decide=False)

    assert (held.status, plain.status) == (S.REQUESTED, S.REQUESTED)
    assert return_request_decide(brand_id=shop.brand.pk, request_id=held.pk, actor=SYSTEM).status == S.PENDING_REVIEW
    decided = return_request_decide(brand_id=shop.brand.pk, request_id=plain.pk, actor=SYSTEM)
    assert (decided.status, decided.lines.get().status) == (S.AUTHORISED, S.AUTHORISED)
    with pytest.raises(TransitionNotAllowed, match="'authorised' to 'authorised'"):
        return_request_decide(brand_id=shop.brand.pk, request_id=plain.pk, actor=SYSTEM)


def test_a_repeated_submission_key_returns_the_first_request(shop):
    ring = shop.piece()
    order = shop.order((ring.size("6"), 1))
    line = lines_of(order)[0]

    first = create(order, ask(line), submission_key="form-123")
    again = create(order, ask(line), submission_key="form-123")

    assert again.pk == first.pk
    assert ReturnRequest.objects.count() == 1


def test_a_submission_key_of_another_order_is_refused(shop):
    ring = shop.piece()
    order = shop.order((ring.size("6"), 1))
    other = shop.order((ring.size("7"), 1))
    create(order, ask(lines_of(order)[0]), submission_key="form-123")

    with pytest.raises(InvalidInput, match="already used for another order"):
        create(other, ask(lines_of(other)[0]), submission_key="form-123")


def test_a_brand_without_a_policy_gets_the_default_recorded_on_its_first_return(brand):
    shop = Shop(brand=brand)  # no policy_default_ensure
    ring = shop.piece(price="500")
    order = shop.order((ring.size("6"), 1))

    request = create(order, ask(lines_of(order)[0]))

    assert PolicyVersion.objects.filter(brand=brand).count() == 1
    assert request.policy_version_id == PolicyVersion.objects.get(brand=brand).pk


def test_staff_can_override_what_the_policy_refuses_at_creation_with_a_reason(shop):
    studs = shop.piece("Pierced studs", category="earrings", sizes=(), hygiene_item=True)
    order = shop.order((studs.size(""), 1))

    request = create(order, ask(lines_of(order)[0]), actor=STAFF, source="staff", override_reason="sealed, never worn")

    request.refresh_from_db()
    assert request.status == S.AUTHORISED
    assert "override" in request.flags
    event = AuditEvent.objects.get(subject_type="returnrequest", subject_id=request.pk, action="policy_overridden")
    assert event.why == "sealed, never worn"
    assert "Pierced studs" in event.data["overridden"][0]


def test_a_shopper_cannot_override_the_policy(shop):
    ring = shop.piece()
    order = shop.order((ring.size("6"), 1))

    with pytest.raises(PermissionDenied):
        create(order, ask(lines_of(order)[0]), override_reason="please")


# --- deciding ------------------------------------------------------------------------------------


@pytest.fixture
def pending(shop):
    ring = shop.piece("Emerald ring", price="4800", sizes=("6", "7"))
    order = shop.order((ring.size("6"), 1), (ring.size("7"), 1))
    first, second = lines_of(order)
    request = create(order, ask(first), ask(second))
    assert request.status == S.PENDING_REVIEW
    return request


def test_approving_authorises_the_request_and_its_lines(pending):
    approved = return_request_approve(brand_id=pending.brand_id, request_id=pending.pk, actor=STAFF, note="ok")

    assert approved.status == S.AUTHORISED
    assert approved.ship_by is not None
    assert set(approved.lines.values_list("status", flat=True)) == {S.AUTHORISED}


def test_approving_an_authorised_request_is_a_conflict_naming_both_states(pending):
    return_request_approve(brand_id=pending.brand_id, request_id=pending.pk, actor=STAFF)

    with pytest.raises(TransitionNotAllowed, match="'authorised' to 'authorised'"):
        return_request_approve(brand_id=pending.brand_id, request_id=pending.pk, actor=STAFF)


def test_rejecting_needs_a_reason_and_moves_every_line(pending):
    with pytest.raises(InvalidInput, match="say why"):
        return_request_reject(brand_id=pending.brand_id, request_id=pending.pk, actor=STAFF, reason="  ")

    rejected = return_request_reject(brand_id=pending.brand_id, request_id=pending.pk, actor=STAFF, reason="worn")

    assert rejected.status == S.REJECTED
    assert rejected.closed_at is not None
    assert set(rejected.lines.values_list("status", flat=True)) == {S.REJECTED}


def test_another_brands_request_is_not_found(pending, other_brand):
    with pytest.raises(NotFound):
        return_request_approve(brand_id=other_brand.pk, request_id=pending.pk, actor=STAFF)


def test_the_shopper_can_cancel_before_shipping_but_not_once_in_transit(shop):
    ring = shop.piece()
    order = shop.order((ring.size("6"), 2))
    line = lines_of(order)[0]
    early = create(order, ask(line))
    late = create(order, ask(line))
    return_line_move(brand_id=shop.brand.pk, line_id=late.lines.get().pk, to=S.IN_TRANSIT, actor=SYSTEM)

    cancelled = return_request_cancel(brand_id=shop.brand.pk, request_id=early.pk, actor=SHOPPER)

    assert cancelled.status == S.CANCELLED
    with pytest.raises(Conflict, match="can no longer be cancelled: it is in transit"):
        return_request_cancel(brand_id=shop.brand.pk, request_id=late.pk, actor=SHOPPER)


def test_nobody_can_cancel_a_request_once_one_of_its_lines_is_on_its_way(pending):
    return_request_approve(brand_id=pending.brand_id, request_id=pending.pk, actor=STAFF)
    line = pending.lines.order_by("id").first()
    return_line_move(brand_id=pending.brand_id, line_id=line.pk, to=S.IN_TRANSIT, actor=SYSTEM)

    with pytest.raises(Conflict, match="can no longer be cancelled: it is in transit"):
        return_request_cancel(brand_id=pending.brand_id, request_id=pending.pk, actor=SHOPPER)
    with pytest.raises(TransitionNotAllowed, match="'in_transit' to 'cancelled'"):
        return_request_cancel(brand_id=pending.brand_id, request_id=pending.pk, actor=STAFF)
    pending.refresh_from_db()
    assert pending.status == S.AUTHORISED


def test_a_request_with_a_line_on_its_way_does_not_expire(pending):
    return_request_approve(brand_id=pending.brand_id, request_id=pending.pk, actor=STAFF)
    line = pending.lines.order_by("id").first()
    return_line_move(brand_id=pending.brand_id, line_id=line.pk, to=S.IN_TRANSIT, actor=SYSTEM)
    ReturnRequest.objects.filter(pk=pending.pk).update(ship_by=timezone.now() - timedelta(days=1))

    assert returns_expire_due() == 0
    pending.refresh_from_db()
    assert pending.status == S.AUTHORISED


def test_staff_cannot_cancel_a_closed_request_either(pending):
    return_request_reject(brand_id=pending.brand_id, request_id=pending.pk, actor=STAFF, reason="worn")

    with pytest.raises(TransitionNotAllowed, match="'rejected' to 'cancelled'"):
        return_request_cancel(brand_id=pending.brand_id, request_id=pending.pk, actor=STAFF)


def test_an_override_authorises_a_rejected_request_and_records_what_it_overruled(pending):
    return_request_reject(brand_id=pending.brand_id, request_id=pending.pk, actor=STAFF, reason="worn")
    with pytest.raises(InvalidInput, match="say why"):
        return_request_override(brand_id=pending.brand_id, request_id=pending.pk, actor=STAFF, reason="")

    request = return_request_override(
        brand_id=pending.brand_id, request_id=pending.pk, actor=STAFF, reason="VIP customer"
    )

    assert request.status == S.AUTHORISED
    assert "override" in request.flags
    assert set(request.lines.values_list("status", flat=True)) == {S.AUTHORISED}
    event = AuditEvent.objects.get(subject_id=pending.pk, subject_type="returnrequest", action="policy_overridden")
    assert (event.why, event.data["overridden_status"]) == ("VIP customer", "rejected")


def test_an_override_of_a_request_in_transit_is_a_conflict(shop):
    ring = shop.piece()
    order = shop.order((ring.size("6"), 1))
    request = create(order, ask(lines_of(order)[0]))
    return_line_move(brand_id=shop.brand.pk, line_id=request.lines.get().pk, to=S.IN_TRANSIT, actor=SYSTEM)

    with pytest.raises(Conflict, match="'in_transit' to 'authorised'"):
        return_request_override(brand_id=shop.brand.pk, request_id=request.pk, actor=STAFF, reason="x")


def test_a_note_is_kept_with_its_author_and_audited(pending):
    note = return_note_add(brand_id=pending.brand_id, request_id=pending.pk, actor=STAFF, body=" Called her. ")

    assert (note.body, note.author) == ("Called her.", STAFF.label)
    assert ReturnNote.objects.count() == 1
    assert AuditEvent.objects.filter(subject_id=pending.pk, action="note_added").exists()
    with pytest.raises(InvalidInput):
        return_note_add(brand_id=pending.brand_id, request_id=pending.pk, actor=STAFF, body="   ")


# --- lines moving separately ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], None),
        (["authorised", "in_transit"], "authorised"),
        (["received", "cancelled"], "received"),
        (["rejected", "rejected"], "rejected"),
        (["rejected", "cancelled"], "cancelled"),
        (["resolved", "closed"], "resolved"),
    ],
)
def test_a_request_follows_its_least_advanced_active_line(statuses, expected):
    assert request_status_from_lines(statuses) == expected


def test_lines_move_separately_and_the_request_follows_the_slowest(pending):
    return_request_approve(brand_id=pending.brand_id, request_id=pending.pk, actor=STAFF)
    first, second = pending.lines.order_by("id")

    return_line_move(brand_id=pending.brand_id, line_id=first.pk, to=S.RECEIVED, actor=SYSTEM)
    pending.refresh_from_db()
    assert pending.status == S.AUTHORISED

    return_line_move(brand_id=pending.brand_id, line_id=second.pk, to=S.IN_TRANSIT, actor=SYSTEM)
    return_line_move(brand_id=pending.brand_id, line_id=second.pk, to=S.RECEIVED, actor=SYSTEM)
    pending.refresh_from_db()
    assert pending.status == S.RECEIVED
    trail = list(
        AuditEvent.objects.filter(subject_type="returnrequest", subject_id=pending.pk, action="status_changed")
        .order_by("id")
        .values_list("to_state", flat=True)
    )
    assert trail[-1] == "received"

    for line in (first, second):
        return_line_move(brand_id=pending.brand_id, line_id=line.pk, to=S.INSPECTED, actor=SYSTEM)
        return_line_move(brand_id=pending.brand_id, line_id=line.pk, to=S.RESOLVED, actor=SYSTEM)
    pending.refresh_from_db()
    assert pending.status == S.RESOLVED
    assert pending.resolved_at is not None


def test_a_line_move_the_table_does_not_allow_is_refused_naming_both_states(pending):
    line = pending.lines.first()

    with pytest.raises(TransitionNotAllowed, match="'pending_review' to 'received'"):
        return_line_move(brand_id=pending.brand_id, line_id=line.pk, to=S.RECEIVED, actor=SYSTEM)


# --- expiry --------------------------------------------------------------------------------------


def test_authorised_requests_not_shipped_by_their_date_expire_and_others_stay(shop):
    ring = shop.piece()
    order = shop.order((ring.size("6"), 3))
    line = lines_of(order)[0]
    due = create(order, ask(line))
    fresh = create(order, ask(line))
    shipped = create(order, ask(line))
    return_line_move(brand_id=shop.brand.pk, line_id=shipped.lines.get().pk, to=S.IN_TRANSIT, actor=SYSTEM)
    past = timezone.now() - timedelta(days=1)
    ReturnRequest.objects.filter(pk__in=[due.pk, shipped.pk]).update(ship_by=past)

    assert returns_expire_due() == 1

    statuses = dict(ReturnRequest.objects.values_list("pk", "status"))
    assert (statuses[due.pk], statuses[fresh.pk], statuses[shipped.pk]) == (S.EXPIRED, S.AUTHORISED, S.IN_TRANSIT)
    assert due.lines.get().status == S.EXPIRED
    assert returns_expire_due() == 0
    # An expired request's units can be claimed again.
    assert create(order, ask(line)).status == S.AUTHORISED


def test_the_periodic_task_expires_due_requests(shop):
    from assay.returns.tasks import expire_unshipped_returns

    ring = shop.piece()
    order = shop.order((ring.size("6"), 1))
    due = create(order, ask(lines_of(order)[0]))
    ReturnRequest.objects.filter(pk=due.pk).update(ship_by=timezone.now() - timedelta(minutes=1))

    assert expire_unshipped_returns.call_local() == 1
    due.refresh_from_db()
    assert due.status == S.EXPIRED
