"""The Idempotency-Key header on a mutating operation: one execution, the same answer on every retry."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, cast

import pytest
from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema, Status
from ninja.testing import TestClient

from assay.api.idempotency import REPLAYED_HEADER, idempotent
from assay.api.schemas import ErrorOut
from assay.core.errors import Conflict
from assay.core.idempotency import IDEMPOTENCY_TTL, body_fingerprint, idempotency_keys_purge
from assay.core.models import IdempotencyKey

pytestmark = pytest.mark.django_db


class NoteIn(Schema):
    text: str


class NoteOut(Schema):
    number: int
    text: str
    at: Any


def _client() -> tuple[TestClient, list[str]]:
    """A router whose operation records each execution, so a test can count them."""
    executed: list[str] = []
    router = Router()

    @router.post("/notes", response={201: NoteOut, 409: ErrorOut})
    @idempotent(scope=lambda request: "test:1")
    def note_add(request: HttpRequest, body: NoteIn) -> Any:
        executed.append(body.text)
        if body.text == "refuse":
            raise Conflict("refused on purpose")
        IdempotencyKey.objects.filter(key="never").exists()  # a query inside the request's transaction
        return Status(201, {"number": len(executed), "text": body.text, "at": timezone.now()})

    @router.post("/other")
    @idempotent(scope=lambda request: "test:1")
    def other(request: HttpRequest, body: NoteIn) -> dict[str, str]:
        executed.append("other")
        return {"text": body.text}

    return TestClient(router), executed


def test_a_retry_with_the_same_key_returns_the_first_answer_without_running_again():
    client, executed = _client()

    first = client.post("/notes", json={"text": "hello"}, headers={"Idempotency-Key": "k-1"})
    again = client.post("/notes", json={"text": "hello"}, headers={"Idempotency-Key": "k-1"})

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.content == first.content
    assert executed == ["hello"]
    assert REPLAYED_HEADER not in first.headers
    assert again.headers[REPLAYED_HEADER] == "true"


def test_the_same_body_with_other_key_order_or_spacing_counts_as_the_same_request():
    client, executed = _client()

    client.post("/notes", json={"text": "hello"}, headers={"Idempotency-Key": "k-1"})
    spaced = cast(Any, b'{ "text" :  "hello" }')
    again = client.post("/notes", data=spaced, content_type="application/json", headers={"Idempotency-Key": "k-1"})

    assert again.status_code == 201
    assert executed == ["hello"]


def test_without_a_key_every_call_runs():
    client, executed = _client()

    client.post("/notes", json={"text": "a"})
    client.post("/notes", json={"text": "a"})

    assert executed == ["a", "a"]
    assert IdempotencyKey.objects.count() == 0


def test_different_keys_run_separately():
    client, executed = _client()

    client.post("/notes", json={"text": "a"}, headers={"Idempotency-Key": "k-1"})
    second = client.post("/notes", json={"text": "a"}, headers={"Idempotency-Key": "k-2"})

    assert second.json()["number"] == 2
    assert executed == ["a", "a"]


def test_the_same_key_with_a_different_body_is_refused_with_409_and_runs_nothing():
    client, executed = _client()
    client.post("/notes", json={"text": "a"}, headers={"Idempotency-Key": "k-1"})

    response = client.post("/notes", json={"text": "b"}, headers={"Idempotency-Key": "k-1"})

    assert response.status_code == 409
    assert "already used for a different request" in json.loads(response.content)["detail"]
    assert executed == ["a"]


def test_the_same_key_on_another_path_is_refused_with_409():
    client, executed = _client()
    client.post("/notes", json={"text": "a"}, headers={"Idempotency-Key": "k-1"})

    response = client.post("/other", json={"text": "a"}, headers={"Idempotency-Key": "k-1"})

    assert response.status_code == 409
    assert "POST /notes" in response.json()["detail"]
    assert executed == ["a"]


def test_a_domain_refusal_is_remembered_and_replayed_with_its_status():
    client, executed = _client()

    first = client.post("/notes", json={"text": "refuse"}, headers={"Idempotency-Key": "k-1"})
    again = client.post("/notes", json={"text": "refuse"}, headers={"Idempotency-Key": "k-1"})

    assert (first.status_code, again.status_code) == (409, 409)
    assert first.json() == again.json() == {"detail": "refused on purpose"}
    assert again.headers[REPLAYED_HEADER] == "true"
    assert executed == ["refuse"]


def test_an_invalid_body_is_not_remembered_so_a_corrected_retry_runs():
    client, executed = _client()

    invalid = client.post("/notes", json={"txt": "oops"}, headers={"Idempotency-Key": "k-1"})
    fixed = client.post("/notes", json={"text": "ok"}, headers={"Idempotency-Key": "k-1"})

    assert invalid.status_code == 422
    assert fixed.status_code == 201
    assert executed == ["ok"]


@pytest.mark.parametrize("key", ["x" * 256, "tab\there", "ключ"])
def test_a_key_that_cannot_be_stored_faithfully_is_refused_with_422(key):
    client, executed = _client()

    response = client.post("/notes", json={"text": "a"}, headers={"Idempotency-Key": key})

    assert response.status_code == 422
    assert "Idempotency-Key" in str(response.json()["detail"])
    assert executed == []


def test_a_key_older_than_a_day_is_forgotten_and_the_request_runs_again():
    client, executed = _client()
    client.post("/notes", json={"text": "a"}, headers={"Idempotency-Key": "k-1"})
    IdempotencyKey.objects.update(created_at=timezone.now() - IDEMPOTENCY_TTL - timedelta(minutes=1))

    again = client.post("/notes", json={"text": "a"}, headers={"Idempotency-Key": "k-1"})

    assert again.status_code == 201
    assert REPLAYED_HEADER not in again.headers
    assert executed == ["a", "a"]
    assert IdempotencyKey.objects.count() == 1


def test_the_purge_deletes_only_keys_older_than_a_day():
    client, _ = _client()
    client.post("/notes", json={"text": "old"}, headers={"Idempotency-Key": "old"})
    client.post("/notes", json={"text": "new"}, headers={"Idempotency-Key": "new"})
    IdempotencyKey.objects.filter(key="old").update(created_at=timezone.now() - IDEMPOTENCY_TTL - timedelta(hours=1))

    assert idempotency_keys_purge() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]


def test_the_body_fingerprint_ignores_json_key_order_but_not_values():
    assert body_fingerprint(b'{"a": 1, "b": 2}') == body_fingerprint(b'{"b":2,"a":1}')
    assert body_fingerprint(b'{"a": 1}') != body_fingerprint(b'{"a": 2}')
    assert body_fingerprint(b"not json") != body_fingerprint(b"not json!")
