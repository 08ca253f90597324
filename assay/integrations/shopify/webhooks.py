"""POST /hooks/shopify/<brand>/: verify, store, answer. A worker claims the stored event and processes it.

Shopify gives up on a delivery that takes 5 s and retries it (at-least-once, with the original
payload), so the request does the least it can: the brand's secret (cached), an HMAC of the raw
body, a validation of the body against the topic's model, and one insert that both stores the
event and makes it due for the workers - no queue round trip
(docs/adr/0003-inbound-events-claimed-from-the-table.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from pydantic import ValidationError

from assay.brands.selectors import integration_secret_cached
from assay.integrations.shopify.payloads import TOPIC_MODELS
from assay.webhooks.services import inbound_event_receive

log = logging.getLogger(__name__)

SOURCE = "shopify"
_EVENT_ID_MAX = 200
# Headers kept with the event for operators (the signature is not: it proves nothing later).
_KEPT_HEADERS = (
    "X-Shopify-Topic",
    "X-Shopify-Shop-Domain",
    "X-Shopify-API-Version",
    "X-Shopify-Webhook-Id",
    "X-Shopify-Event-Id",
    "X-Shopify-Triggered-At",
)
# Read from request.META: request.headers would first build a case-insensitive copy of every header.
_KEPT_META = tuple((name, "HTTP_" + name.upper().replace("-", "_")) for name in _KEPT_HEADERS)
_SUPPORTED = ", ".join(TOPIC_MODELS)
_NO_SECRET = "no brand has this secret"  # noqa: S105 - a stand-in, never a valid key


def _answer(http_status: int, /, **body: object) -> JsonResponse:
    return JsonResponse(body, status=http_status)


def _too_big(limit: int) -> JsonResponse:
    return _answer(413, detail=f"the body is larger than {limit} bytes")


def _refused() -> JsonResponse:
    # One answer for an unknown brand, a brand without a Shopify secret, and a wrong signature.
    return _answer(401, detail="the request is not signed with this shop's webhook secret")


def shopify_signature(*, secret: str, body: bytes) -> str:
    """Shopify's X-Shopify-Hmac-Sha256: base64 of the HMAC-SHA256 of the raw body."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _signature_valid(*, secret: str, body: bytes, given: str) -> bool:
    expected = shopify_signature(secret=secret, body=body).encode()
    return hmac.compare_digest(expected, given.encode("utf-8", "replace"))


def _validation_reason(topic: str, exc: ValidationError) -> tuple[int, str]:
    errors = exc.errors(include_url=False, include_input=False)
    if errors and errors[0]["type"] == "json_invalid":
        return 400, f"malformed JSON: {errors[0]['msg']}"
    parts = [f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}" for err in errors[:5]]
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return 422, f"invalid {topic} payload: " + "; ".join(parts) + more


def _verified_brand(*, slug: str, body: bytes, given: str) -> int | None:
    """The brand whose Shopify secret signed this body, or None. A mismatch against the cached
    secret is checked once more against the database, in case the secret was just rotated."""
    for fresh in (False, True):
        found = integration_secret_cached(slug=slug, integration=SOURCE, fresh=fresh)
        # An unknown brand costs the same HMAC as a known one, so timing does not tell them apart.
        secret = found[1] if found is not None else _NO_SECRET
        if _signature_valid(secret=secret, body=body, given=given) and found is not None:
            return found[0]
        if found is None:
            return None
    return None


@csrf_exempt
def shopify_webhook(request: HttpRequest, brand: str) -> JsonResponse:
    if request.method != "POST":
        response = _answer(405, detail="only POST is accepted here")
        response["Allow"] = "POST"
        return response

    limit: int = settings.WEBHOOK_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _answer(400, detail="Content-Length is not a number")
    if declared > limit:
        return _too_big(limit)
    try:
        body = request.body
    except RequestDataTooBig:
        return _too_big(limit)
    if len(body) > limit:
        return _too_big(limit)

    meta = request.META
    given = meta.get("HTTP_X_SHOPIFY_HMAC_SHA256", "")
    if not given:
        return _refused()
    found = _verified_brand(slug=brand, body=body, given=given)
    if found is None:
        log.info("shopify webhook refused: bad signature", extra={"brand": brand})
        return _refused()
    brand_id = found

    topic = meta.get("HTTP_X_SHOPIFY_TOPIC", "").strip()
    model = TOPIC_MODELS.get(topic)
    if model is None:
        shown = topic[:100] or "(none)"
        return _answer(400, detail=f"unsupported topic '{shown}'; this endpoint accepts {_SUPPORTED}")
    event_id = (meta.get("HTTP_X_SHOPIFY_EVENT_ID") or meta.get("HTTP_X_SHOPIFY_WEBHOOK_ID") or "").strip()
    if not event_id:
        return _answer(400, detail="X-Shopify-Event-Id (or X-Shopify-Webhook-Id) is missing")
    if len(event_id) > _EVENT_ID_MAX:
        return _answer(400, detail=f"the event id is longer than {_EVENT_ID_MAX} characters")
    if "\x00" in event_id:
        return _answer(400, detail="the event id contains a NUL character")

    # Only the body is signed: a replayed body can come with any headers, and PostgreSQL cannot store NUL.
    headers = {name: value.replace("\x00", "\ufffd") for name, key in _KEPT_META if (value := meta.get(key))}
    # Stored as text; PostgreSQL text cannot hold NUL, which only a malformed body can carry raw.
    text = body.decode("utf-8", "replace").replace("\x00", "\ufffd")
    try:
        model.model_validate_json(body)
    except ValidationError as exc:
        status, reason = _validation_reason(topic, exc)
        receipt = inbound_event_receive(
            brand_id=brand_id,
            source=SOURCE,
            event_id=event_id,
            topic=topic,
            payload=text,
            headers=headers,
            error=reason,
        )
        return _answer(status, detail=reason, event=receipt.event_id)

    receipt = inbound_event_receive(
        brand_id=brand_id, source=SOURCE, event_id=event_id, topic=topic, payload=text, headers=headers
    )
    if receipt.duplicate:
        return _answer(200, status="duplicate", event=receipt.event_id)
    return _answer(200, status="received", event=receipt.event_id)
