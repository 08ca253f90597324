"""Shared by the Shopify tests: fixture payloads and signed deliveries."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from assay.integrations.shopify.webhooks import shopify_signature
from assay.webhooks.services import inbound_events_process_due

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse
else:
    TestResponse = Any

FIXTURES = Path(__file__).parent / "fixtures"


def payload(name: str) -> dict[str, Any]:
    """A fixture payload as Shopify sends it (a fresh copy each call)."""
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    data.pop("_comment", None)
    return data


def body_of(data: dict[str, Any] | list[Any]) -> bytes:
    # Shopify sends compact UTF-8 JSON, non-ASCII characters unescaped.
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def work_off_due_events() -> int:
    """What the workers' claimers do between deliveries (no worker runs in tests): claim rounds
    until nothing is due. Returns how many events were claimed."""
    claimed = 0
    for _ in range(100):  # a bound, so a bug that keeps an event due fails instead of hanging
        found = inbound_events_process_due()
        if not found:
            return claimed
        claimed += found
    raise AssertionError("events kept coming due: 100 claim rounds did not drain them")


def shopify_headers(
    *, topic: str, body: bytes, secret: str, event_id: str | None = None, signature: str | None = None
) -> dict[str, str]:
    """The headers of a Shopify webhook delivery of `body`, signed with `secret`."""
    headers = {
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": signature if signature is not None else shopify_signature(secret=secret, body=body),
        "X-Shopify-Shop-Domain": "aurelia.myshopify.com",
        "X-Shopify-API-Version": "2024-10",
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        "X-Shopify-Triggered-At": "2024-11-10T15:30:01.123456Z",
        "X-Shopify-Event-Id": event_id or str(uuid.uuid4()),
    }
    if not headers["X-Shopify-Hmac-Sha256"]:
        del headers["X-Shopify-Hmac-Sha256"]
    return headers


class Deliver(Protocol):
    """The `deliver` fixture: POST a signed delivery of `data` (or the raw bytes) to the view."""

    def __call__(
        self,
        topic: str,
        data: Any = None,
        *,
        raw: bytes | None = None,
        event_id: str | None = None,
        signature: str | None = None,
        slug: str | None = None,
        secret: str | None = None,
        drop_headers: tuple[str, ...] = (),
    ) -> TestResponse: ...
