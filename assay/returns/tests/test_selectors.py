"""Reads of returns: the shopper's and the staff's timeline, lookups by RMA and order, query counts."""

from __future__ import annotations

import pytest

from assay.returns.selectors import return_detail, return_for_rma, return_timeline, returns_for_order
from assay.returns.services import (
    return_line_move,
    return_note_add,
    return_request_approve,
    return_request_override,
    return_request_reject,
)
from assay.returns.status import ReturnStatus
from assay.returns.tests.conftest import STAFF, SYSTEM, ask, create, lines_of

pytestmark = pytest.mark.django_db
S = ReturnStatus


@pytest.fixture
def reviewed(shop):
    """A two-line return that went to review, got an internal note, was approved, and whose first
    line is already back."""
    ring = shop.piece("Emerald ring", price="4800", sizes=("6", "7"))
    order = shop.order((ring.size("6"), 1), (ring.size("7"), 1))
    first, second = lines_of(order)
    request = create(order, ask(first), ask(second, reason="style"))
    return_note_add(brand_id=shop.brand.pk, request_id=request.pk, actor=STAFF, body="Known customer, fine.")
    return_request_approve(brand_id=shop.brand.pk, request_id=request.pk, actor=STAFF, note="internal approval note")
    line = request.lines.order_by("id").first()
    return_line_move(brand_id=shop.brand.pk, line_id=line.pk, to=S.IN_TRANSIT, actor=SYSTEM, why="carrier scan")
    return request


def test_the_staff_timeline_has_every_event_with_who_and_why(reviewed):
    timeline = return_timeline(brand_id=reviewed.brand_id, request_id=reviewed.pk)

    actions = [(e["subject_type"], e["action"], e["to_state"]) for e in timeline]
    assert actions[0] == ("returnrequest", "return_requested", "requested")
    assert ("returnrequest", "note_added", "") in actions
    assert ("returnline", "status_changed", "in_transit") in actions
    approval = next(e for e in timeline if e["subject_type"] == "returnrequest" and e["to_state"] == "authorised")
    assert (approval["actor_label"], approval["why"]) == (STAFF.label, "internal approval note")
    assert [e["at"] for e in timeline] == sorted(e["at"] for e in timeline)


def test_the_shopper_timeline_leaves_out_notes_staff_names_and_internal_reasons(reviewed):
    timeline = return_timeline(brand_id=reviewed.brand_id, request_id=reviewed.pk, shopper=True)

    assert [(e["status"], e["line_id"] is not None) for e in timeline] == [
        ("requested", False),
        ("pending_review", False),
        ("authorised", False),
        ("in_transit", True),
    ]
    text = repr(timeline)
    assert "Known customer" not in text
    assert "internal approval note" not in text
    assert STAFF.label not in text
    assert timeline[2]["by"] == "Our team"
    assert timeline[0]["by"] == "You"
    assert timeline[3]["headline"] == "Parcel on its way to us"


def test_the_shopper_reads_a_rejections_reason_but_not_an_overrides(shop):
    ring = shop.piece("Emerald ring", price="4800")
    order = shop.order((ring.size("6"), 1))
    request = create(order, ask(lines_of(order)[0]))
    return_request_reject(brand_id=shop.brand.pk, request_id=request.pk, actor=STAFF, reason="Worn and scratched")
    return_request_override(brand_id=shop.brand.pk, request_id=request.pk, actor=STAFF, reason="secret goodwill")

    timeline = return_timeline(brand_id=shop.brand.pk, request_id=request.pk, shopper=True)

    rejected = next(e for e in timeline if e["status"] == "rejected")
    assert rejected["detail"] == "Worn and scratched"
    assert timeline[-1]["status"] == "authorised"
    assert "secret goodwill" not in repr(timeline)


def test_an_automatic_authorisation_tells_the_shopper_why(shop):
    ring = shop.piece(price="300")
    order = shop.order((ring.size("6"), 1))
    request = create(order, ask(lines_of(order)[0]))

    timeline = return_timeline(brand_id=shop.brand.pk, request_id=request.pk, shopper=True)

    assert [e["status"] for e in timeline] == ["requested", "authorised"]
    assert timeline[1]["detail"].startswith("Authorised automatically by the return policy (version 1)")
    assert timeline[0]["by"] == "You"
    assert timeline[1]["by"] == ""  # the policy decided, not the shopper whose submission carried it


def test_the_timeline_is_one_query(reviewed, django_assert_num_queries):
    with django_assert_num_queries(1):
        return_timeline(brand_id=reviewed.brand_id, request_id=reviewed.pk, shopper=True)


def test_a_return_is_found_by_its_rma_in_any_spelling_in_two_queries(reviewed, django_assert_num_queries):
    with django_assert_num_queries(2):
        found = return_for_rma(brand_id=reviewed.brand_id, rma=f" rma {reviewed.rma.lower()} ")

    assert found is not None
    assert (found.id, found.status, found.rma_text) == (reviewed.pk, "authorised", f"RMA {reviewed.rma}")
    assert [line.status for line in found.lines] == ["in_transit", "authorised"]
    assert found.lines[0].title == "Emerald ring"
    assert not found.shopper_cancellable  # one of its lines is on its way


def test_another_brands_rma_is_not_found(reviewed, other_brand):
    assert return_for_rma(brand_id=other_brand.pk, rma=reviewed.rma) is None
    assert return_detail(brand_id=other_brand.pk, rma=reviewed.rma) is None


def test_an_orders_returns_are_listed_newest_first_in_two_queries(shop, django_assert_num_queries):
    ring = shop.piece(price="300")
    order = shop.order((ring.size("6"), 3))
    line = lines_of(order)[0]
    first = create(order, ask(line))
    second = create(order, ask(line, reason="style"))

    with django_assert_num_queries(2):
        found = returns_for_order(brand_id=shop.brand.pk, order_id=order.pk)

    assert [r.rma for r in found] == [second.rma, first.rma]
    with django_assert_num_queries(1):
        assert returns_for_order(brand_id=shop.brand.pk, order_id=order.pk + 1000) == []


def test_the_staff_detail_has_lines_notes_and_timeline_in_five_queries(reviewed, django_assert_num_queries):
    with django_assert_num_queries(5):
        detail = return_detail(brand_id=reviewed.brand_id, rma=reviewed.rma)

    assert detail is not None
    assert [note["body"] for note in detail.notes] == ["Known customer, fine."]
    assert len(detail.summary.lines) == 2
    assert detail.summary.policy_number == 1
    assert detail.photos == []
    assert any(event["action"] == "note_added" for event in detail.timeline)
