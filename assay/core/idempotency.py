"""Idempotency keys: the first answer to a request is stored and replayed to every retry.

The HTTP side (the `Idempotency-Key` header on django-ninja operations) is assay.api.idempotency;
this module holds the storage rules so that any entry point (API, pages, tasks) can share them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from assay.core.errors import Conflict, InvalidInput
from assay.core.models import IdempotencyKey

# Stripe replays a key's first result for at least 24 h; clients retry within minutes.
IDEMPOTENCY_TTL = timedelta(hours=24)
MAX_KEY_LENGTH = 255
KEY_PATTERN = r"^[ -~]*$"  # printable ASCII: what a header carries faithfully


@dataclass(frozen=True, slots=True)
class Claim:
    """Either the right to run the request (`record` to complete), or the stored answer to replay."""

    record: IdempotencyKey | None
    replay_status: int = 0
    replay_body: str = ""

    @property
    def is_replay(self) -> bool:
        return self.record is None


def body_fingerprint(body: bytes) -> str:
    """SHA-256 of the body; JSON is canonicalised first so that key order and spacing do not count."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    except (ValueError, UnicodeDecodeError):
        canonical = body
    return hashlib.sha256(canonical).hexdigest()


def idempotency_key_clean(raw: str | None) -> str:
    """The key as sent, or '' when none was sent; refuses keys that cannot be stored faithfully."""
    key = (raw or "").strip()
    if not key:
        return ""
    if len(key) > MAX_KEY_LENGTH or not key.isprintable() or not key.isascii():
        raise InvalidInput(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters")
    return key


def idempotency_claim(
    *, scope: str, key: str, method: str, path: str, fingerprint: str, now: datetime | None = None
) -> Claim:
    """Claim `key` for this request, or find the answer its first use got.

    Must run inside the transaction that also runs the request and completes the claim: the row
    stays invisible to others until that commits, so a concurrent duplicate blocks on the unique
    constraint (PostgreSQL; SQLite serialises writers) and then replays the finished answer.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("idempotency_claim() must run inside transaction.atomic with the request")
    now = now or timezone.now()
    for _attempt in range(2):
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(
                    scope=scope, key=key, method=method, path=path[:500], fingerprint=fingerprint, created_at=now
                )
            return Claim(record=record)
        except IntegrityError:
            first = IdempotencyKey.objects.select_for_update().filter(scope=scope, key=key).first()
        if first is None:
            continue  # expired and purged between our insert and our read: claim it afresh
        if first.created_at < now - IDEMPOTENCY_TTL:
            first.delete()
            continue
        if (first.method, first.path, first.fingerprint) != (method, path[:500], fingerprint):
            # 409: the request may be fine; it conflicts with what this key already stands for.
            raise Conflict(
                f"this Idempotency-Key was already used for a different request ({first.method} {first.path}); "
                "send a new key for a new request"
            )
        if first.response_status == 0:  # pragma: no cover - only visible if a transaction committed half-way
            raise Conflict("a request with this Idempotency-Key is still being processed; retry shortly")
        return Claim(record=None, replay_status=first.response_status, replay_body=first.response_body)
    raise Conflict("this Idempotency-Key is being claimed by another request; retry shortly")  # pragma: no cover


def idempotency_complete(*, record: IdempotencyKey, status: int, body: str) -> None:
    """Store the answer that retries will get."""
    record.response_status = status
    record.response_body = body
    record.save(update_fields=["response_status", "response_body"])


def idempotency_keys_purge(*, now: datetime | None = None) -> int:
    """Delete keys older than IDEMPOTENCY_TTL; how many. Claims also ignore expired keys lazily."""
    cutoff = (now or timezone.now()) - IDEMPOTENCY_TTL
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
