"""The staff returns API over the test client (and real HTTP for concurrent retries)."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest
from django.db import connection
from django.test import Client

from assay.brands.services import api_token_create
from assay.core.audit import Actor
from assay.core.models import AuditEvent
from assay.policies.services import policy_default_ensure
from assay.returns.models import ReturnNote, ReturnRequest
from assay.returns.tests.conftest import Shop, ask, create, lines_of

OPERATOR = Actor.system("test")


@pytest.fixture
def shop(brand: Any) -> Shop:
    policy_default_ensure(brand_id=brand.pk, actor=OPERATOR)
    return Shop(brand=brand)


@pytest.fixture
def pending(shop: Shop) -> ReturnRequest:
    """A high-value ring return waiting for review."""
    ring = shop.piece("Emerald ring", price="4800", sizes=("6", "7"))
    order = shop.order((ring.size("6"), 1))
    return create(order, ask(lines_of(order)[0], reason="size_too_large"))


@pytest.fixture
def authorised(shop: Shop) -> ReturnRequest:
    ring = shop.piece("Stacking band", price="300", sizes=("6", "7"))
    order = shop.order((ring.size("6"), 1), email="bea@example.com")
    return create(order, ask(lines_of(order)[0], reason="style"))


def _post(api: Client, path: str, body: dict[str, Any], key: str | None = None) -> Any:
    headers = {"Idempotency-Key": key} if key else {}
    return api.post(path, body, content_type="application/json", headers=headers)


@pytest.mark.django_db
def test_the_list_answers_items_and_count_newest_first(api, pending, authorised):
    response = api.get("/api/v1/returns")

    assert response.status_code == 200
    data = response.json()
    assert data["count"] == 2
    assert [item["rma"] for item in data["items"]] == [authorised.rma, pending.rma]
    item = data["items"][1]
    assert item["status"] == "pending_review"
    assert item["value"] == "4800.00"
    assert item["reasons"] == ["size_too_large"]
    assert "manual_review" in item["flags"]
    assert item["lines_count"] == 1


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["rma", "order_number", "email"])
def test_the_list_finds_a_return_by_rma_order_number_or_email(api, pending, authorised, field):
    value = {
        "rma": authorised.rma,
        "order_number": authorised.order.number,
        "email": "BEA@example.com",
    }[field]

    data = api.get("/api/v1/returns", {"q": value}).json()

    assert [item["rma"] for item in data["items"]] == [authorised.rma]


@pytest.mark.django_db
def test_the_list_filters_by_status_and_pages(api, pending, authorised):
    assert [i["rma"] for i in api.get("/api/v1/returns", {"status": "pending_review"}).json()["items"]] == [pending.rma]
    page = api.get("/api/v1/returns", {"limit": 1, "offset": 1}).json()
    assert (page["count"], [i["rma"] for i in page["items"]]) == (2, [pending.rma])
    bad = api.get("/api/v1/returns", {"status": "lost"})
    assert bad.status_code == 422
    assert bad.json()["detail"].startswith("status:")


@pytest.mark.django_db
def test_another_brands_returns_are_neither_listed_nor_readable(api, other_brand):
    other = Shop(brand=other_brand)
    ring = other.piece(price="300")
    order = other.order((ring.size("6"), 1))
    theirs = create(order, ask(lines_of(order)[0]))

    assert api.get("/api/v1/returns").json() == {"items": [], "count": 0}
    response = api.get(f"/api/v1/returns/{theirs.rma}")
    assert response.status_code == 404
    assert response.json() == {"detail": f"no return {theirs.rma}"}
    assert _post(api, f"/api/v1/returns/{theirs.rma}/approve", {}).status_code == 404


@pytest.mark.django_db
def test_the_detail_has_lines_decision_and_timeline(api, pending):
    response = api.get(f"/api/v1/returns/{pending.rma}")

    assert response.status_code == 200
    data = response.json()
    assert (data["rma"], data["status"], data["policy_number"]) == (pending.rma, "pending_review", 1)
    assert data["decision_reason"].startswith("Waiting for our team to review")
    (line,) = data["lines"]
    assert (line["title"], line["quantity"], line["unit_price"], line["resolution"]) == (
        "Emerald ring",
        1,
        "4800.00",
        "refund",
    )
    assert line["decision"]["manual_review"] is True
    assert any(rule["rule_id"] == "high-value" for rule in line["decision"]["matched"])
    assert [event["action"] for event in data["timeline"]][:2] == ["return_requested", "status_changed"]


@pytest.mark.django_db
def test_approving_a_pending_return_authorises_it_and_again_is_a_conflict_naming_both_states(api, pending):
    response = _post(api, f"/api/v1/returns/{pending.rma}/approve", {"note": "regular customer"})

    assert response.status_code == 200
    assert response.json()["status"] == "authorised"
    assert response.json()["ship_by"] is not None
    again = _post(api, f"/api/v1/returns/{pending.rma}/approve", {})
    assert again.status_code == 409
    assert "'authorised'" in again.json()["detail"]
    assert again.json()["detail"].count("'authorised'") == 2


@pytest.mark.django_db
def test_rejecting_needs_a_reason(api, pending):
    missing = _post(api, f"/api/v1/returns/{pending.rma}/reject", {})
    blank = _post(api, f"/api/v1/returns/{pending.rma}/reject", {"reason": "   "})
    done = _post(api, f"/api/v1/returns/{pending.rma}/reject", {"reason": "Worn: scratches on the band"})

    assert (missing.status_code, blank.status_code, done.status_code) == (422, 422, 200)
    assert "reason" in missing.json()["detail"]
    assert done.json()["status"] == "rejected"


@pytest.mark.django_db
def test_cancelling_then_approving_is_a_conflict_naming_both_states(api, authorised):
    cancelled = _post(api, f"/api/v1/returns/{authorised.rma}/cancel", {"why": "shopper phoned"})
    approve = _post(api, f"/api/v1/returns/{authorised.rma}/approve", {})

    assert cancelled.json()["status"] == "cancelled"
    assert approve.status_code == 409
    assert "from 'cancelled' to 'authorised'" in approve.json()["detail"]


@pytest.mark.django_db
def test_an_override_authorises_a_rejected_return_with_its_reason_in_the_timeline(api, pending):
    _post(api, f"/api/v1/returns/{pending.rma}/reject", {"reason": "worn"})

    response = _post(api, f"/api/v1/returns/{pending.rma}/override", {"reason": "goodwill"})

    assert response.status_code == 200
    assert response.json()["status"] == "authorised"
    assert "override" in response.json()["flags"]
    assert any(e["action"] == "policy_overridden" and e["why"] == "goodwill" for e in response.json()["timeline"])


@pytest.mark.django_db
def test_a_note_is_created_internal_and_listed_on_the_detail(api, pending):
    response = _post(api, f"/api/v1/returns/{pending.rma}/notes", {"body": "Asked for photos of the hallmark."})

    assert response.status_code == 201
    assert response.json()["body"] == "Asked for photos of the hallmark."
    assert response.json()["author"].startswith("API token")
    detail = api.get(f"/api/v1/returns/{pending.rma}").json()
    assert [note["body"] for note in detail["notes"]] == ["Asked for photos of the hallmark."]


@pytest.mark.django_db
def test_a_token_without_a_deciding_role_may_read_but_not_decide(brand, pending):
    token = api_token_create(slug=brand.slug, role="copywriter", actor=OPERATOR).raw
    client = Client(headers={"Authorization": f"Bearer {token}"})

    assert client.get(f"/api/v1/returns/{pending.rma}").status_code == 200
    refused = _post(client, f"/api/v1/returns/{pending.rma}/approve", {})
    assert refused.status_code == 403
    assert "copywriter" in refused.json()["detail"]


@pytest.mark.django_db
def test_a_retried_approval_with_its_key_answers_the_first_result_and_moves_once(api, pending):
    first = _post(api, f"/api/v1/returns/{pending.rma}/approve", {"note": "ok"}, key="approve-1")
    retry = _post(api, f"/api/v1/returns/{pending.rma}/approve", {"note": "ok"}, key="approve-1")

    assert (first.status_code, retry.status_code) == (200, 200)
    assert retry.content == first.content
    assert retry["Idempotent-Replayed"] == "true"
    moves = AuditEvent.objects.filter(subject_type="returnrequest", subject_id=pending.pk, to_state="authorised")
    assert moves.count() == 1


@pytest.mark.django_db
def test_a_retried_note_is_not_written_twice_and_a_reused_key_with_another_body_is_refused(api, pending):
    path = f"/api/v1/returns/{pending.rma}/notes"
    first = _post(api, path, {"body": "one"}, key="note-1")
    retry = _post(api, path, {"body": "one"}, key="note-1")
    other = _post(api, path, {"body": "two"}, key="note-1")

    assert (first.status_code, retry.status_code, other.status_code) == (201, 201, 409)
    assert retry.json() == first.json()
    assert "already used for a different request" in other.json()["detail"]
    assert ReturnNote.objects.count() == 1


@pytest.mark.django_db
def test_keys_of_one_brand_do_not_answer_another_brands_calls(api, pending, other_brand):
    other = Shop(brand=other_brand)
    policy_default_ensure(brand_id=other_brand.pk, actor=OPERATOR)
    ring = other.piece("Emerald ring", price="4800")
    order = other.order((ring.size("6"), 1))
    theirs = create(order, ask(lines_of(order)[0]))
    their_api = Client(
        headers={"Authorization": f"Bearer {api_token_create(slug=other_brand.slug, role='ops', actor=OPERATOR).raw}"}
    )

    mine = _post(api, f"/api/v1/returns/{pending.rma}/notes", {"body": "same"}, key="shared-key")
    their = _post(their_api, f"/api/v1/returns/{theirs.rma}/notes", {"body": "same"}, key="shared-key")

    assert (mine.status_code, their.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in their
    assert ReturnNote.objects.count() == 2


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: real concurrent writers")
@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_over_http_write_one_note_and_all_get_the_same_answer(live_server, api_token, pending):
    url = f"{live_server.url}/api/v1/returns/{pending.rma}/notes"
    headers = {"Authorization": f"Bearer {api_token}", "Idempotency-Key": "race-1"}
    barrier = threading.Barrier(6)
    answers: list[httpx.Response | None] = [None] * 6

    def send(index: int) -> None:
        barrier.wait(timeout=30)
        answers[index] = httpx.post(url, json={"body": "only once"}, headers=headers, timeout=60)

    threads = [threading.Thread(target=send, args=(index,)) for index in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert [a.status_code if a else None for a in answers] == [201] * 6
    assert len({a.content for a in answers if a}) == 1
    assert sum(1 for a in answers if a and a.headers.get("Idempotent-Replayed") == "true") == 5
    assert ReturnNote.objects.filter(request=pending).count() == 1
