"""The staff returns queue and one request's page: filters, bulk decisions, actions, notes, photos,
and who may see and do what."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from PIL import Image

from assay.backoffice.scope import SESSION_KEY
from assay.brands.models import Brand
from assay.brands.services import staff_add
from assay.core.audit import Actor
from assay.returns.models import ReturnNote, ReturnRequest
from assay.returns.photos import photo_clean, return_photos_attach
from assay.returns.tests.factories import (
    OrderFactory,
    PolicyVersionFactory,
    ReturnLineFactory,
    ReturnNoteFactory,
    ReturnRequestFactory,
)

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"
OPERATOR = Actor.system("test")


def rmas(html: str) -> list[str]:
    """The RMAs of the queue's table, in the order shown."""
    return re.findall(r'class="rma-link" href="[^"]*">([^<]+)</a>', html)


def client_for(brand: Brand, email: str, role: str) -> Client:
    staff_add(slug=brand.slug, email=email, role=role, password=PASSWORD, actor=OPERATOR)
    client = Client()
    assert client.login(username=email, password=PASSWORD)
    return client


def pending(brand: Brand, rma: str, *, hours_ago: float = 2, **fields: Any) -> ReturnRequest:
    reasons = fields.pop("reasons", ["size_too_small"])
    request = ReturnRequestFactory.create(
        brand=brand, rma=rma, requested_at=timezone.now() - timedelta(hours=hours_ago), **fields
    )
    for reason in reasons:
        ReturnLineFactory.create(request=request, reason=reason)
    return request


@pytest.fixture
def queue(brand: Brand, other_brand: Brand) -> dict[str, ReturnRequest]:
    return {
        "fresh": pending(brand, "R-100001", hours_ago=2, order=OrderFactory.create(brand=brand, number="#1001")),
        "late": pending(
            brand,
            "R-100002",
            hours_ago=30,
            value=Decimal("4200.00"),
            flags=["high_value"],
            review_reasons=["value over 2,000.00"],
            reasons=["damaged", "size_too_small"],
        ),
        "closed": pending(brand, "R-100003", hours_ago=300, status="closed", reasons=["style"]),
        "theirs": pending(other_brand, "R-900001", hours_ago=40),
    }


# --- the queue ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/app/returns/", "/app/returns/R-100001/"])
def test_the_returns_pages_send_a_signed_out_visitor_to_the_login(client: Client, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"] == f"/app/login/?next={path}"


def test_the_queue_shows_the_current_brands_requests_with_their_columns(
    staff_client: Client, queue: dict[str, ReturnRequest]
) -> None:
    response = staff_client.get("/app/returns/")

    html = response.content.decode()
    assert response.status_code == 200
    assert rmas(html) == ["R-100001", "R-100002", "R-100003"]
    late = html[html.index('id="return-' + str(queue["late"].pk)) :].split("</tr>")[0]
    assert queue["late"].order.number in late
    assert queue["late"].email in late
    assert '<td class="num">2</td>' in late
    assert "4,200.00 USD" in late
    assert "Damaged or defective, Size too small" in late
    assert "Pending review" in late
    assert "30 h" in late
    assert "SLA breached" in late
    assert "High value" in late
    assert "R-900001" not in html


def test_the_nav_links_to_returns_and_marks_it_current(staff_client: Client, brand: Brand) -> None:
    html = staff_client.get("/app/returns/").content.decode()

    assert '<a href="/app/returns/" aria-current="page">Returns</a>' in html


def test_the_dashboard_counts_returns_awaiting_a_decision_and_past_the_sla(
    staff_client: Client, queue: dict[str, ReturnRequest]
) -> None:
    html = staff_client.get("/app/").content.decode()

    assert re.search(r'stat__value">2</span>\s*<span class="stat__label">Returns awaiting a decision', html)
    assert "(1 past the SLA)" in html
    assert 'href="/app/returns/?status=awaiting_decision"' in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "pending_review"}, ["R-100001", "R-100002"]),
        ({"status": "closed"}, ["R-100003"]),
        ({"sla": "breached"}, ["R-100002"]),
        ({"older_than": "72"}, ["R-100003"]),
        ({"min_value": "2000"}, ["R-100002"]),
        ({"reason": "damaged"}, ["R-100002"]),
        ({"flag": "high_value"}, ["R-100002"]),
        ({"q": "#1001"}, ["R-100001"]),
        ({"q": "1001"}, ["R-100001"]),
        ({"q": "r-100003"}, ["R-100003"]),
        ({"sort": "-value"}, ["R-100002", "R-100003", "R-100001"]),  # equal values: newest id first
    ],
)
def test_the_queue_filters_searches_and_sorts(
    staff_client: Client, queue: dict[str, ReturnRequest], query: dict[str, str], expected: list[str]
) -> None:
    response = staff_client.get("/app/returns/", query)

    assert response.status_code == 200
    assert rmas(response.content.decode()) == expected


def test_search_by_email_ignores_case(staff_client: Client, queue: dict[str, ReturnRequest]) -> None:
    html = staff_client.get("/app/returns/", {"q": queue["late"].email.upper()}).content.decode()

    assert rmas(html) == ["R-100002"]


def test_a_value_range_upside_down_is_a_form_error_not_a_500(
    staff_client: Client, queue: dict[str, ReturnRequest]
) -> None:
    response = staff_client.get("/app/returns/", {"min_value": "500", "max_value": "100"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "must be at least the &#x27;value from&#x27; amount" in html
    assert rmas(html) == []


def test_an_unknown_filter_value_is_a_form_error(staff_client: Client, queue: dict[str, ReturnRequest]) -> None:
    response = staff_client.get("/app/returns/", {"status": "lost", "sort": "email"})

    assert response.status_code == 200
    assert "Fix the filters to see returns" in response.content.decode()


def test_sorting_links_toggle_the_direction_and_keep_the_filters(
    staff_client: Client, queue: dict[str, ReturnRequest]
) -> None:
    html = staff_client.get("/app/returns/", {"status": "pending_review", "sort": "-value"}).content.decode()

    assert 'aria-sort="descending"><a href="?status=pending_review&amp;sort=value"' in html


def test_htmx_gets_only_the_results(staff_client: Client, queue: dict[str, ReturnRequest]) -> None:
    response = staff_client.get(
        "/app/returns/", {"status": "closed"}, headers={"HX-Request": "true", "HX-Target": "return-results"}
    )

    html = response.content.decode()
    assert html.lstrip().startswith('<section id="return-results"')
    assert rmas(html) == ["R-100003"]


def test_a_person_in_two_brands_sees_the_current_one_all_or_another(
    brand: Brand, other_brand: Brand, queue: dict[str, ReturnRequest], two_brand_client: Client
) -> None:
    assert rmas(two_brand_client.get("/app/returns/").content.decode()) == ["R-100001", "R-100002", "R-100003"]

    everything = two_brand_client.get("/app/returns/", {"brand": "all", "status": "awaiting_decision"})
    html = everything.content.decode()
    assert rmas(html) == ["R-100001", "R-100002", "R-900001"]
    assert '<th scope="col">Brand</th>' in html
    assert f'href="/app/returns/R-900001/?brand={other_brand.pk}"' in html

    theirs = two_brand_client.get("/app/returns/", {"brand": str(other_brand.pk)}).content.decode()
    assert rmas(theirs) == ["R-900001"]


def test_the_brand_filter_refuses_a_brand_the_person_does_not_belong_to(
    staff_client: Client, other_brand: Brand, queue: dict[str, ReturnRequest]
) -> None:
    html = staff_client.get("/app/returns/", {"brand": str(other_brand.pk)}).content.decode()

    assert "R-900001" not in html
    assert "Fix the filters to see returns" in html


# --- bulk decisions ----------------------------------------------------------------------------


def test_a_bulk_reject_without_a_reason_is_a_form_error_and_changes_nothing(
    staff_client: Client, queue: dict[str, ReturnRequest]
) -> None:
    ids = [queue["fresh"].pk, queue["late"].pk]

    response = staff_client.post("/app/returns/?status=pending_review", {"ids": ids, "action": "reject", "reason": " "})

    html = response.content.decode()
    assert response.status_code == 400
    assert "Give the reason for rejecting; the shopper is told it." in html
    assert html.count(" checked>") == 2, "the ticks survive the error"
    assert set(ReturnRequest.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"pending_review"}


def test_a_bulk_action_with_nothing_ticked_says_so(staff_client: Client, queue: dict[str, ReturnRequest]) -> None:
    response = staff_client.post("/app/returns/", {"action": "approve"})

    assert response.status_code == 400
    assert "Tick at least one request." in response.content.decode()


def test_bulk_approve_moves_what_it_can_and_names_what_it_cannot(
    staff_client: Client, queue: dict[str, ReturnRequest]
) -> None:
    ids = [queue["fresh"].pk, queue["late"].pk, queue["closed"].pk]

    response = staff_client.post(
        "/app/returns/?status=open", {"ids": ids, "action": "approve", "reason": "checked photos"}, follow=True
    )

    html = response.content.decode()
    assert response.redirect_chain == [("/app/returns/?status=open", 302)]
    assert "Approved 2 requests: R-100001, R-100002." in html
    assert "R-100003 was not approved:" in html
    statuses = dict(ReturnRequest.objects.filter(pk__in=ids).values_list("rma", "status"))
    assert statuses == {"R-100001": "authorised", "R-100002": "authorised", "R-100003": "closed"}


def test_bulk_reject_with_a_reason_rejects_each_request(staff_client: Client, queue: dict[str, ReturnRequest]) -> None:
    ids = [queue["fresh"].pk, queue["late"].pk]

    response = staff_client.post(
        "/app/returns/", {"ids": ids, "action": "reject", "reason": "worn beyond the policy"}, follow=True
    )

    assert "Rejected 2 requests: R-100001, R-100002." in response.content.decode()
    assert set(ReturnRequest.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"rejected"}


def test_bulk_never_touches_another_brands_request(staff_client: Client, queue: dict[str, ReturnRequest]) -> None:
    response = staff_client.post(
        "/app/returns/", {"ids": [queue["theirs"].pk], "action": "approve", "reason": ""}, follow=True
    )

    assert "1 ticked request was not found; nothing done to them." in response.content.decode()
    queue["theirs"].refresh_from_db()
    assert queue["theirs"].status == "pending_review"


def test_bulk_by_a_role_that_may_not_decide_is_refused_per_request(
    brand: Brand, queue: dict[str, ReturnRequest]
) -> None:
    inspector = client_for(brand, "bench@aurelia.example", "inspector")

    response = inspector.post("/app/returns/", {"ids": [queue["fresh"].pk], "action": "approve"}, follow=True)

    assert "R-100001 was not approved: as inspector in Aurelia Fine Jewellery you cannot decide returns." in (
        response.content.decode()
    )
    queue["fresh"].refresh_from_db()
    assert queue["fresh"].status == "pending_review"


# --- one request -------------------------------------------------------------------------------


@pytest.fixture
def reviewed(brand: Brand, settings: Any, tmp_path: Path) -> ReturnRequest:
    """A high-value request sent to review by policy version 3, with a photo and a note."""
    settings.MEDIA_ROOT = tmp_path
    policy = PolicyVersionFactory.create(brand=brand, number=3, note="holiday extension")
    request = ReturnRequestFactory.create(
        brand=brand,
        rma="R-100777",
        value=Decimal("4200.00"),
        policy_version=policy,
        flags=["high_value", "authenticity_check"],
        review_reasons=["Items over 2,000.00 need a person's review"],
    )
    ReturnLineFactory.create(
        request=request,
        order_line__sku="RING-SOL-7",
        order_line__title="Solitaire ring",
        reason="size_too_small",
        size_wanted=Decimal("7.5"),
        resolution="exchange",
        exchange_kind="size",
        exchange_sku="RING-SOL-7.5",
        destination="bench",
        decision={
            "reason": "Exchange for another size within 60 days",
            "restocking_fee": {"percent": "10", "fixed": "0"},
            "bonus_exchange": {"percent": "0", "fixed": "25.00", "cap": None},
            "matched": [
                {"rule_id": "high-value", "rule_name": "High value needs review", "why": "price 4,200.00 >= 2,000.00"}
            ],
        },
    )
    image = io.BytesIO()
    Image.new("RGB", (8, 6), (200, 30, 30)).save(image, format="PNG")
    image.seek(0)
    return_photos_attach(brand_id=brand.pk, request_id=request.pk, photos=[photo_clean(image, name="ring.png")])
    ReturnNoteFactory.create(request=request, author="lead@aurelia.example", body="Shopper called: ring is unworn.")
    return request


def test_the_detail_shows_lines_terms_policy_reasons_photos_notes(
    staff_client: Client, reviewed: ReturnRequest
) -> None:
    response = staff_client.get("/app/returns/R-100777/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>RMA R-100777</h1>" in html
    for text in [
        "RING-SOL-7",
        "Solitaire ring",
        "size wanted: 7.5",
        "RING-SOL-7.5",
        "Bench",
        "Restocking fee",
        "10%",
        "Exchange bonus",
        "25.00 USD",
        "policy version 3",
        "High value needs review",
        "price 4,200.00 &gt;= 2,000.00",
        "Items over 2,000.00 need a person&#x27;s review",
        "Authenticity check",
        "Shopper called: ring is unworn.",
        "lead@aurelia.example",
    ]:
        assert text in html, text
    photo = reviewed.photos.get()
    assert f'src="/app/returns/R-100777/photos/{photo.pk}/"' in html
    assert "/media/" not in html


def test_a_photo_is_served_to_staff_of_the_brand_only(
    staff_client: Client, reviewed: ReturnRequest, other_brand: Brand
) -> None:
    photo = reviewed.photos.get()

    response = staff_client.get(f"/app/returns/R-100777/photos/{photo.pk}/")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.content.startswith(b"\x89PNG")
    outsider = client_for(other_brand, "ops@lumen.example", "ops")
    assert outsider.get(f"/app/returns/R-100777/photos/{photo.pk}/").status_code == 404
    pending(reviewed.brand, "R-100778")
    assert staff_client.get(f"/app/returns/R-100778/photos/{photo.pk}/").status_code == 404


def test_another_brands_request_is_404_for_every_page_and_action(
    staff_client: Client, queue: dict[str, ReturnRequest]
) -> None:
    assert staff_client.get("/app/returns/R-900001/").status_code == 404
    for action in ["approve", "reject", "cancel", "override", "notes"]:
        response = staff_client.post(f"/app/returns/R-900001/{action}/", {"reason": "x", "body": "x"})
        assert response.status_code == 404, action
    queue["theirs"].refresh_from_db()
    assert queue["theirs"].status == "pending_review"


def test_a_link_from_the_all_brands_queue_switches_to_the_requests_brand(
    other_brand: Brand, queue: dict[str, ReturnRequest], two_brand_client: Client
) -> None:
    response = two_brand_client.get(f"/app/returns/R-900001/?brand={other_brand.pk}", follow=True)

    assert response.redirect_chain == [("/app/returns/R-900001/", 302)]
    assert "You are now working in Lumen Diamonds." in response.content.decode()
    assert two_brand_client.session[SESSION_KEY] == other_brand.pk


def test_a_brand_switch_to_a_brand_the_person_lacks_is_404(
    staff_client: Client, other_brand: Brand, queue: dict[str, ReturnRequest]
) -> None:
    assert staff_client.get(f"/app/returns/R-900001/?brand={other_brand.pk}").status_code == 404
    assert staff_client.get("/app/returns/R-100001/?brand=nope").status_code == 404


def test_approving_moves_the_request_and_records_who_in_the_timeline(
    staff_client: Client, queue: dict[str, ReturnRequest]
) -> None:
    response = staff_client.post("/app/returns/R-100001/approve/", {"note": "size swap, easy"}, follow=True)

    html = response.content.decode()
    assert response.redirect_chain == [("/app/returns/R-100001/", 302)]
    assert "R-100001 approved." in html
    queue["fresh"].refresh_from_db()
    assert queue["fresh"].status == "authorised"
    timeline = html[html.index('id="timeline"') :]
    assert "ops@aurelia.example" in timeline
    assert "size swap, easy" in timeline


def test_rejecting_without_a_reason_is_a_form_error(staff_client: Client, queue: dict[str, ReturnRequest]) -> None:
    response = staff_client.post("/app/returns/R-100001/reject/", {"reason": "   "})

    assert response.status_code == 400
    assert "Give the reason for rejecting; the shopper is told it." in response.content.decode()
    queue["fresh"].refresh_from_db()
    assert queue["fresh"].status == "pending_review"


def test_rejecting_with_a_reason_rejects(staff_client: Client, queue: dict[str, ReturnRequest]) -> None:
    staff_client.post("/app/returns/R-100001/reject/", {"reason": "engraved: final sale"})

    queue["fresh"].refresh_from_db()
    assert queue["fresh"].status == "rejected"


def test_a_move_the_status_table_refuses_is_a_message_not_a_500(
    staff_client: Client, queue: dict[str, ReturnRequest]
) -> None:
    response = staff_client.post("/app/returns/R-100003/approve/", {"note": ""}, follow=True)

    assert response.status_code == 200
    assert "R-100003 was not approved:" in response.content.decode()
    queue["closed"].refresh_from_db()
    assert queue["closed"].status == "closed"


def test_cancelling_a_request_awaiting_review(staff_client: Client, queue: dict[str, ReturnRequest]) -> None:
    response = staff_client.post("/app/returns/R-100001/cancel/", {"why": "shopper asked by phone"}, follow=True)

    assert "R-100001 cancelled." in response.content.decode()
    queue["fresh"].refresh_from_db()
    assert queue["fresh"].status == "cancelled"


def test_an_override_needs_a_reason_and_then_authorises_a_rejected_request(staff_client: Client, brand: Brand) -> None:
    rejected = pending(brand, "R-100050", status="rejected")

    refused = staff_client.post("/app/returns/R-100050/override/", {"reason": ""})
    assert refused.status_code == 400
    assert "An override needs its reason; it goes into the audit trail." in refused.content.decode()

    response = staff_client.post(
        "/app/returns/R-100050/override/", {"reason": "VIP client, approved by the owner"}, follow=True
    )

    assert "R-100050 authorised by override." in response.content.decode()
    rejected.refresh_from_db()
    assert rejected.status == "authorised"
    assert "VIP client, approved by the owner" in response.content.decode()


def test_the_detail_offers_only_the_moves_the_status_allows(
    staff_client: Client, queue: dict[str, ReturnRequest]
) -> None:
    waiting = staff_client.get("/app/returns/R-100001/").content.decode()
    closed = staff_client.get("/app/returns/R-100003/").content.decode()

    assert "/app/returns/R-100001/approve/" in waiting
    assert "/app/returns/R-100001/reject/" in waiting
    assert "/app/returns/R-100003/approve/" not in closed
    assert "/app/returns/R-100003/cancel/" not in closed


def test_an_inspector_reads_and_notes_but_cannot_decide(brand: Brand, queue: dict[str, ReturnRequest]) -> None:
    inspector = client_for(brand, "bench@aurelia.example", "inspector")

    page = inspector.get("/app/returns/R-100001/").content.decode()
    assert "/app/returns/R-100001/approve/" not in page
    refused = inspector.post("/app/returns/R-100001/approve/", {"note": ""})
    assert refused.status_code == 403
    assert "As inspector in Aurelia Fine Jewellery you cannot approve returns." in refused.content.decode()
    noted = inspector.post("/app/returns/R-100001/notes/", {"body": "Stone loose on arrival photo."})
    assert noted.status_code == 302
    queue["fresh"].refresh_from_db()
    assert queue["fresh"].status == "pending_review"
    assert ReturnNote.objects.filter(request=queue["fresh"], body="Stone loose on arrival photo.").exists()


def test_a_copywriter_may_read_but_not_add_notes(brand: Brand, queue: dict[str, ReturnRequest]) -> None:
    copywriter = client_for(brand, "words@aurelia.example", "copywriter")

    assert copywriter.get("/app/returns/R-100001/").status_code == 200
    assert copywriter.post("/app/returns/R-100001/notes/", {"body": "hello"}).status_code == 403
    assert not ReturnNote.objects.filter(request=queue["fresh"]).exists()


def test_adding_a_note_shows_it_with_its_author(staff_client: Client, queue: dict[str, ReturnRequest]) -> None:
    response = staff_client.post(
        "/app/returns/R-100001/notes/", {"body": "Asked for a photo of the hallmark."}, follow=True
    )

    html = response.content.decode()
    notes = html[html.index('id="return-notes"') :]
    assert "Asked for a photo of the hallmark." in notes
    assert "ops@aurelia.example" in notes


def test_an_empty_note_is_a_form_error(staff_client: Client, queue: dict[str, ReturnRequest]) -> None:
    response = staff_client.post("/app/returns/R-100001/notes/", {"body": "  "})

    assert response.status_code == 400
    assert "Write the note first." in response.content.decode()
    assert not ReturnNote.objects.filter(request=queue["fresh"]).exists()


def test_an_htmx_note_answers_the_notes_section_only(staff_client: Client, queue: dict[str, ReturnRequest]) -> None:
    response = staff_client.post(
        "/app/returns/R-100001/notes/",
        {"body": "Left a voicemail."},
        headers={"HX-Request": "true", "HX-Target": "return-notes"},
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section class="card" id="return-notes"')
    assert "Left a voicemail." in html
    assert 'name="body"' in html
    assert "Left a voicemail.</textarea>" not in html, "the form comes back empty"


def test_an_empty_htmx_note_answers_the_section_with_the_error(
    staff_client: Client, queue: dict[str, ReturnRequest]
) -> None:
    response = staff_client.post(
        "/app/returns/R-100001/notes/", {"body": ""}, headers={"HX-Request": "true", "HX-Target": "return-notes"}
    )

    assert response.status_code == 200
    assert "Write the note first." in response.content.decode()
    assert not ReturnNote.objects.filter(request=queue["fresh"]).exists()


def test_switching_brand_on_a_request_lands_on_the_returns_queue(
    other_brand: Brand, queue: dict[str, ReturnRequest], two_brand_client: Client
) -> None:
    response = two_brand_client.post("/app/brand/", {"brand": other_brand.pk, "next": "/app/returns/R-100001/"})

    assert response.status_code == 302
    assert response["Location"] == "/app/returns/"
