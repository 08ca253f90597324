"""Deliver signed Shopify webhooks to the view through Django's test client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from assay.brands.models import Brand
from assay.brands.selectors import integration_secret
from assay.integrations.shopify.tests.helpers import (
    Deliver,
    TestResponse,
    body_of,
    shopify_headers,
    work_off_due_events,
)


@pytest.fixture
def shopify_secret(brand: Brand) -> str:
    secret = integration_secret(brand_id=brand.pk, integration="shopify")
    assert secret
    return secret


@pytest.fixture
def deliver(
    client: Client, brand: Brand, shopify_secret: str, django_capture_on_commit_callbacks: Callable[..., Any]
) -> Deliver:
    """POST a signed delivery, then let the workers claim and process what is due, as the
    claimer threads of `assay worker` would; on-commit callbacks of both run."""

    def send(
        topic: str,
        data: Any = None,
        *,
        raw: bytes | None = None,
        event_id: str | None = None,
        signature: str | None = None,
        slug: str | None = None,
        secret: str | None = None,
        drop_headers: tuple[str, ...] = (),
    ) -> TestResponse:
        body = raw if raw is not None else body_of(data)
        headers = shopify_headers(
            topic=topic, body=body, secret=secret or shopify_secret, event_id=event_id, signature=signature
        )
        for name in drop_headers:
            headers.pop(name, None)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                f"/hooks/shopify/{slug or brand.slug}/", data=body, content_type="application/json", headers=headers
            )
            work_off_due_events()
        return response

    return send
