"""Liveness and readiness probes."""

from __future__ import annotations

import pytest
from django.test import Client
from huey.contrib.djhuey import HUEY


def test_healthz_answers_ok_without_touching_the_database(client: Client) -> None:
    # No django_db mark: any query here would raise "Database access not allowed".
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_reports_the_database_and_the_task_queue(client: Client) -> None:
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "tasks": "ok"}}


@pytest.mark.django_db
def test_readyz_is_503_with_the_reason_when_the_task_queue_is_unreachable(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable() -> int:
        raise ConnectionError("redis down")

    monkeypatch.setattr(HUEY.storage, "queue_size", unreachable)

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "tasks": "unavailable: ConnectionError"},
    }


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_refuse_other_methods(client: Client, path: str) -> None:
    assert client.post(path).status_code == 405
