"""Deliveries through the production WSGI handler: webhooks past the browser middleware, the rest through it."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core import signals
from django.db import close_old_connections
from django.test import override_settings

from assay.brands.models import Brand
from assay.integrations.shopify.tests.helpers import body_of, payload, shopify_headers
from assay.webhooks.models import InboundEvent
from assay.webhooks.status import EventStatus
from assay.webhooks.wsgi import HooksAwareWSGIHandler
from config.wsgi import application


class Answer:
    def __init__(self, handler: HooksAwareWSGIHandler, environ: dict[str, Any]) -> None:
        self.status = ""
        self.headers: dict[str, str] = {}
        chunks = handler(environ, self._start)
        try:
            self.body = b"".join(chunks)
        finally:
            chunks.close()

    def _start(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], object]:
        self.status = status
        self.headers = dict(headers)
        return lambda data: None

    @property
    def code(self) -> int:
        return int(self.status.split()[0])


def wsgi_environ(method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


@pytest.fixture(autouse=True)
def _keep_the_tests_connection() -> Iterator[None]:
    """As Django's test client does: a request must not close the connection holding the test's
    transaction (close_old_connections would, between requests)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def handler() -> HooksAwareWSGIHandler:
    return HooksAwareWSGIHandler()


@pytest.fixture
def delivery(brand: Brand, shopify_secret: str) -> dict[str, Any]:
    """The WSGI environ of a signed orders/create delivery to the brand's hook."""
    body = body_of(payload("order_full"))
    headers = shopify_headers(topic="orders/create", body=body, secret=shopify_secret, event_id="wsgi-1")
    return wsgi_environ("POST", f"/hooks/shopify/{brand.slug}/", body, headers)


def test_the_served_application_is_the_hooks_aware_handler() -> None:
    assert isinstance(application, HooksAwareWSGIHandler)


@pytest.mark.django_db
def test_a_delivery_is_stored_without_passing_the_browser_middleware(
    handler: HooksAwareWSGIHandler, delivery: dict[str, Any]
) -> None:
    answer = Answer(handler, delivery)

    assert answer.code == 200, answer.body
    assert json.loads(answer.body)["status"] == "received"
    assert InboundEvent.objects.get(event_id="wsgi-1").status == EventStatus.RECEIVED
    # What the skipped middleware would have added: the clickjacking header, a Vary: Cookie.
    assert "X-Frame-Options" not in answer.headers
    assert "Cookie" not in answer.headers.get("Vary", "")
    # SecurityMiddleware still applies.
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_other_paths_still_take_the_whole_middleware_stack(handler: HooksAwareWSGIHandler) -> None:
    answer = Answer(handler, wsgi_environ("GET", "/healthz"))

    assert answer.code == 200
    assert answer.headers["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_a_delivery_to_a_host_not_allowed_is_refused(handler: HooksAwareWSGIHandler, delivery: dict[str, Any]) -> None:
    delivery["HTTP_HOST"] = "evil.example"

    answer = Answer(handler, delivery)

    assert answer.code == 400
    assert not InboundEvent.objects.exists()


@pytest.mark.django_db
def test_an_unknown_hook_path_answers_404(handler: HooksAwareWSGIHandler) -> None:
    answer = Answer(handler, wsgi_environ("POST", "/hooks/nowhere/", b"{}"))

    assert answer.code == 404


@pytest.mark.django_db
def test_plain_http_is_still_redirected_to_https_when_production_asks_for_it(delivery: dict[str, Any]) -> None:
    with override_settings(SECURE_SSL_REDIRECT=True):
        answer = Answer(HooksAwareWSGIHandler(), delivery)

    assert answer.code == 301
    assert answer.headers["Location"].startswith("https://")
    assert not InboundEvent.objects.exists()
