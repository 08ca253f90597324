"""The staff review queue: filters, search, sorting, paging, the SLA, and two queries a page."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from assay.brands.models import Brand
from assay.core.audit import Actor
from assay.core.errors import InvalidInput
from assay.returns.queue import age_text, return_queue, return_queue_counts, return_staff_record
from assay.returns.services import return_request_approve
from assay.returns.tests.factories import OrderFactory, ReturnLineFactory, ReturnNoteFactory, ReturnRequestFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def rmas(result: tuple[list[dict[str, Any]], int]) -> list[str]:
    return [row["rma"] for row in result[0]]


def request_at(brand: Brand, rma: str, *, hours_ago: float, **fields: Any) -> Any:
    lines = fields.pop("lines", ["size_too_small"])
    request = ReturnRequestFactory.create(brand=brand, rma=rma, requested_at=NOW - timedelta(hours=hours_ago), **fields)
    for reason in lines:
        ReturnLineFactory.create(request=request, reason=reason)
    return request


@pytest.fixture
def queue(brand: Brand, other_brand: Brand) -> dict[str, Any]:
    """Four requests of Aurelia of different ages, states, values and reasons; one of Lumen."""
    return {
        "fresh": request_at(brand, "R-100001", hours_ago=2, value=Decimal("450.00"), lines=["changed_mind"]),
        "late": request_at(
            brand,
            "R-100002",
            hours_ago=30,
            value=Decimal("4200.00"),
            flags=["high_value", "authenticity_check"],
            review_reasons=["value over 2,000.00"],
            lines=["size_too_small", "size_too_small", "damaged"],
        ),
        "authorised": request_at(
            brand, "R-100003", hours_ago=80, status="authorised", value=Decimal("980.00"), lines=["style"]
        ),
        "closed": request_at(
            brand, "R-100004", hours_ago=400, status="closed", value=Decimal("1250.00"), lines=["damaged"]
        ),
        "lumen": request_at(other_brand, "R-100005", hours_ago=50, value=Decimal("5000.00")),
    }


def test_the_queue_shows_only_the_given_brands_newest_first(brand: Brand, queue: dict[str, Any]) -> None:
    result = return_queue(brand_ids=[brand.pk], now=NOW)

    assert rmas(result) == ["R-100001", "R-100002", "R-100003", "R-100004"]
    assert result[1] == 4


def test_a_row_carries_order_lines_reasons_age_and_flags(brand: Brand, queue: dict[str, Any]) -> None:
    rows, _ = return_queue(brand_ids=[brand.pk], q="R-100002", now=NOW)

    (row,) = rows
    assert row["order_number"] == queue["late"].order.number
    assert row["email"] == queue["late"].email
    assert row["lines_count"] == 3
    assert row["reasons"] == ["damaged", "size_too_small"]
    assert row["reason_labels"] == ["Damaged or defective", "Size too small"]
    assert (row["value"], row["currency"]) == (Decimal("4200.00"), "USD")
    assert row["status_label"] == "Pending review"
    assert row["flag_labels"] == ["High value", "Authenticity check"]
    assert row["review_reasons"] == ["value over 2,000.00"]
    assert (row["age_hours"], row["age_text"]) == (30, "30 h")


def test_the_sla_is_breached_only_for_a_request_awaiting_a_decision_past_24_hours(
    brand: Brand, queue: dict[str, Any]
) -> None:
    rows, _ = return_queue(brand_ids=[brand.pk], now=NOW)

    breached = {row["rma"]: row["sla_breached"] for row in rows}
    assert breached == {"R-100001": False, "R-100002": True, "R-100003": False, "R-100004": False}
    due = {row["rma"]: row["sla_due_at"] for row in rows}
    assert due["R-100001"] == queue["fresh"].requested_at + timedelta(hours=24)
    assert due["R-100003"] is None


def test_filter_sla_breached_and_on_time(brand: Brand, queue: dict[str, Any]) -> None:
    assert rmas(return_queue(brand_ids=[brand.pk], sla="breached", now=NOW)) == ["R-100002"]
    assert rmas(return_queue(brand_ids=[brand.pk], sla="on_time", now=NOW)) == ["R-100001"]


def test_the_sla_hours_come_from_settings(brand: Brand, queue: dict[str, Any], settings: Any) -> None:
    settings.RETURNS_REVIEW_SLA_HOURS = 1

    assert rmas(return_queue(brand_ids=[brand.pk], sla="breached", now=NOW)) == ["R-100001", "R-100002"]


def test_filter_by_status_and_by_the_open_group(brand: Brand, queue: dict[str, Any]) -> None:
    assert rmas(return_queue(brand_ids=[brand.pk], status="authorised", now=NOW)) == ["R-100003"]
    assert rmas(return_queue(brand_ids=[brand.pk], status="open", now=NOW)) == ["R-100001", "R-100002", "R-100003"]


def test_filter_by_age(brand: Brand, queue: dict[str, Any]) -> None:
    assert rmas(return_queue(brand_ids=[brand.pk], older_than_hours=72, now=NOW)) == ["R-100003", "R-100004"]


def test_filter_by_value_range_with_inclusive_bounds(brand: Brand, queue: dict[str, Any]) -> None:
    result = return_queue(brand_ids=[brand.pk], min_value=Decimal("980"), max_value=Decimal("1250"), now=NOW)

    assert rmas(result) == ["R-100003", "R-100004"]


def test_filter_by_reason_keeps_every_line_of_the_request(brand: Brand, queue: dict[str, Any]) -> None:
    rows, count = return_queue(brand_ids=[brand.pk], reason="damaged", now=NOW)

    assert [row["rma"] for row in rows] == ["R-100002", "R-100004"]
    assert rows[0]["lines_count"] == 3
    assert count == 2


def test_filter_by_flag_matches_whole_flags_only(brand: Brand, queue: dict[str, Any]) -> None:
    assert rmas(return_queue(brand_ids=[brand.pk], flag="high_value", now=NOW)) == ["R-100002"]
    assert rmas(return_queue(brand_ids=[brand.pk], flag="high", now=NOW)) == []


def test_filter_by_the_manual_review_flag(brand: Brand, queue: dict[str, Any]) -> None:
    request_at(brand, "R-100006", hours_ago=1, flags=["high_value", "manual_review"])

    assert rmas(return_queue(brand_ids=[brand.pk], flag="manual_review", now=NOW)) == ["R-100006"]


@pytest.mark.parametrize("typed", ["R-100003", "r-100003", "RMA R-100003", " rma r-100003 "])
def test_search_by_rma_in_any_case_with_or_without_the_word_rma(
    brand: Brand, queue: dict[str, Any], typed: str
) -> None:
    assert rmas(return_queue(brand_ids=[brand.pk], q=typed, now=NOW)) == ["R-100003"]


@pytest.mark.parametrize("typed", ["#7001", "7001", " # 7001 "])
def test_search_by_order_number_with_or_without_the_hash(brand: Brand, typed: str) -> None:
    order = OrderFactory.create(brand=brand, number="#7001")
    request_at(brand, "R-200001", hours_ago=3, order=order)
    request_at(brand, "R-200002", hours_ago=3)

    assert rmas(return_queue(brand_ids=[brand.pk], q=typed, now=NOW)) == ["R-200001"]


def test_search_by_email_ignores_case(brand: Brand, queue: dict[str, Any]) -> None:
    email = queue["authorised"].email

    assert rmas(return_queue(brand_ids=[brand.pk], q=email.upper(), now=NOW)) == ["R-100003"]


def test_search_never_finds_another_brands_request(brand: Brand, queue: dict[str, Any]) -> None:
    assert return_queue(brand_ids=[brand.pk], q="R-100005", now=NOW) == ([], 0)


def test_several_brands_at_once(brand: Brand, other_brand: Brand, queue: dict[str, Any]) -> None:
    rows, count = return_queue(brand_ids=[brand.pk, other_brand.pk], sla="breached", now=NOW)

    assert [(row["rma"], row["brand_id"]) for row in rows] == [("R-100002", brand.pk), ("R-100005", other_brand.pk)]
    assert count == 2


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("requested_at", ["R-100004", "R-100003", "R-100002", "R-100001"]),
        ("-value", ["R-100002", "R-100004", "R-100003", "R-100001"]),
        ("value", ["R-100001", "R-100003", "R-100004", "R-100002"]),
        ("-rma", ["R-100004", "R-100003", "R-100002", "R-100001"]),
    ],
)
def test_sorting(brand: Brand, queue: dict[str, Any], sort: str, expected: list[str]) -> None:
    assert rmas(return_queue(brand_ids=[brand.pk], sort=sort, now=NOW)) == expected


def test_a_page_and_the_count_of_everything(brand: Brand, queue: dict[str, Any]) -> None:
    rows, count = return_queue(brand_ids=[brand.pk], sort="rma", limit=2, offset=2, now=NOW)

    assert [row["rma"] for row in rows] == ["R-100003", "R-100004"]
    assert count == 4


def test_the_queue_makes_two_queries_with_every_filter(
    brand: Brand, queue: dict[str, Any], django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(2):
        rows, count = return_queue(
            brand_ids=[brand.pk],
            status="pending_review",
            sla="breached",
            older_than_hours=1,
            min_value=Decimal("1"),
            max_value=Decimal("9999"),
            reason="damaged",
            flag="high_value",
            q="R-100002",
            sort="-value",
        )
    assert (len(rows), count) == (1, 1)


def test_a_full_page_of_many_requests_is_still_two_queries(brand: Brand, django_assert_num_queries: Any) -> None:
    for n in range(30):
        request_at(brand, f"R-3{n:05d}", hours_ago=n, lines=["style", "damaged"])

    with django_assert_num_queries(2):
        rows, count = return_queue(brand_ids=[brand.pk], limit=25)
    assert (len(rows), count) == (25, 30)
    assert all(row["lines_count"] == 2 for row in rows)


@pytest.mark.parametrize(
    "bad",
    [{"status": "lost"}, {"sla": "late"}, {"reason": "bored"}, {"flag": "Not a flag!"}, {"sort": "email"}],
)
def test_an_unknown_filter_value_is_a_clear_error(brand: Brand, bad: dict[str, str]) -> None:
    with pytest.raises(InvalidInput):
        return_queue(brand_ids=[brand.pk], **bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(minutes=12), "12 min"),
        (timedelta(hours=5, minutes=59), "5 h"),
        (timedelta(hours=47), "47 h"),
        (timedelta(days=3), "3 d"),
        (timedelta(days=3, hours=4), "3 d 4 h"),
    ],
)
def test_age_reads_in_minutes_hours_or_days(delta: timedelta, text: str) -> None:
    assert age_text(delta) == text


def test_the_staff_record_reads_one_request_in_five_queries(brand: Brand, django_assert_num_queries: Any) -> None:
    request = request_at(brand, "R-400001", hours_ago=3, lines=["damaged", "style"])
    ReturnNoteFactory.create(request=request)

    with django_assert_num_queries(5):
        record = return_staff_record(brand_id=brand.pk, rma="R-400001")

    assert record is not None
    assert [line["reason"] for line in record.lines] == ["damaged", "style"]
    assert record.request["reason_labels"] == ["Damaged or defective", "Not my style"]
    assert len(record.notes) == 1


def test_the_staff_record_of_another_brand_is_none(brand: Brand, other_brand: Brand) -> None:
    request_at(other_brand, "R-400002", hours_ago=3)

    assert return_staff_record(brand_id=brand.pk, rma="R-400002") is None


def test_the_timeline_holds_the_requests_and_its_lines_events_with_who_did_them(brand: Brand) -> None:
    request = request_at(brand, "R-400003", hours_ago=3, lines=["damaged"])
    staff = Actor(kind="staff", label="Ada Lovelace <ops@aurelia.example>", user_id=1)
    return_request_approve(brand_id=brand.pk, request_id=request.pk, actor=staff, note="photos look fine")

    record = return_staff_record(brand_id=brand.pk, rma="R-400003")

    assert record is not None
    moves = [(e["actor_label"], e["to_state"], e["line_number"], e["why"]) for e in record.timeline]
    assert moves == [
        ("Ada Lovelace <ops@aurelia.example>", "authorised", None, "photos look fine"),
        ("Ada Lovelace <ops@aurelia.example>", "authorised", 1, "photos look fine"),
    ]


def test_the_dashboard_counts_requests_awaiting_a_decision_and_those_past_the_sla(
    brand: Brand, queue: dict[str, Any], django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(1):
        counts = return_queue_counts(brand_ids=[brand.pk])

    assert counts == {"awaiting": 2, "breached": 1}
