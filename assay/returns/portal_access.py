"""How a shopper proves an order: lookup by number + e-mail, its rate limits, and the short-lived
token (API) that stands for a proved order afterwards.

Shared by the portal pages and the portal API, which may not import each other; so it lives here,
below both. The pages keep the same grant in the session instead of a bearer token.
"""

from __future__ import annotations

import hashlib
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.redis import RedisCache

from assay.brands.models import Brand
from assay.core.errors import DomainError, NotFound
from assay.orders.schema import number_key
from assay.orders.selectors import PortalOrder, order_for_portal
from assay.returns.eligibility import PortalEligibility, portal_order_eligibility

# One message for every failed lookup, whichever part was wrong: it must not tell whether an order
# with that number exists.
LOOKUP_FAILED = "We could not find an order with that number and e-mail address. Please check both and try again."
TOO_MANY = "Too many attempts. Please try again in a minute."

TOKEN_SALT = "assay.portal.order-token"  # noqa: S105 - a signing namespace, not a secret
TOKEN_TTL_S = 30 * 60
WINDOW_S = 60


class TooManyAttempts(DomainError):
    status_code = 429

    def __init__(self, message: str = TOO_MANY, *, retry_after: int = WINDOW_S) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PortalTokenInvalid(DomainError):
    """A portal token that is expired, altered or for another brand: the shopper looks up again."""

    status_code = 401


@dataclass(frozen=True, slots=True)
class OrderGrant:
    """A proved order: the shopper may see and return this one order of this brand until `expires_at`."""

    brand_id: int
    order_id: int
    expires_at: datetime


# --- rate limits -------------------------------------------------------------------------------


def client_address(meta: Mapping[str, str]) -> str:
    """The client's address: REMOTE_ADDR, or the last hop a trusted proxy recorded in the header
    named by CLIENT_IP_HEADER (the last entry is the one the proxy itself appended)."""
    header = getattr(settings, "CLIENT_IP_HEADER", "")
    if header:
        forwarded = [part.strip() for part in str(meta.get(header, "")).split(",") if part.strip()]
        if forwarded:
            return forwarded[-1][:100]
    return str(meta.get("REMOTE_ADDR", ""))[:100] or "unknown"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _within(name: str, limit: int, now: float) -> tuple[bool, int]:
    """Count one attempt in this minute's window; (allowed, seconds until the window ends)."""
    window = int(now // WINDOW_S)
    count = _count(f"portal-lookup:{name}:{window}")
    return count <= limit, max(1, int((window + 1) * WINDOW_S - now))


# The redis-py client per cache backend: Django builds a new one for every operation, and building
# one costs more than the round trip (it copies ~170 response callbacks). The client only holds
# the connection pool, which it shares with Django's, and is safe to share between threads.
_redis_clients: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def _redis_client(backend: RedisCache) -> Any:
    raw = backend._cache
    client = _redis_clients.get(raw)
    if client is None:
        client = _redis_clients[raw] = raw.get_client(write=True)
    return client


def _count(key: str) -> int:
    """Add one to the counter under `key` (created for two windows); the count afterwards."""
    backend = caches[DEFAULT_CACHE_ALIAS]
    if isinstance(backend, RedisCache):
        # One round trip: Django's add() and incr() cost three (incr asks EXISTS first). SET NX
        # creates the counter with its expiry, INCR counts; Django stores ints as plain Redis
        # integers, so cache.get() reads the same value.
        name = backend.make_and_validate_key(key)
        pipe = _redis_client(backend).pipeline(transaction=False)
        pipe.set(name, 0, ex=WINDOW_S * 2, nx=True)
        pipe.incr(name)
        return int(pipe.execute()[1])
    # add() is a no-op when the counter exists; incr() is atomic on Redis, close enough elsewhere.
    backend.add(key, 0, timeout=WINDOW_S * 2)
    try:
        return int(backend.incr(key))
    except ValueError:  # evicted between add and incr
        backend.set(key, 1, timeout=WINDOW_S * 2)
        return 1


def lookup_throttle(*, brand_id: int, number: str, client: str, now: float | None = None) -> None:
    """Count a lookup attempt against its client and its order number; TooManyAttempts beyond
    PORTAL_LOOKUPS_PER_CLIENT or PORTAL_LOOKUPS_PER_ORDER in a minute (0 = no limit).

    The order number counts whether or not such an order exists, so a refusal tells nothing either.
    """
    at = time.time() if now is None else now
    per_client = int(getattr(settings, "PORTAL_LOOKUPS_PER_CLIENT", 20))
    per_order = int(getattr(settings, "PORTAL_LOOKUPS_PER_ORDER", 10))
    if per_client > 0:
        allowed, wait = _within(f"client:{_digest(client)}", per_client, at)
        if not allowed:
            raise TooManyAttempts(retry_after=wait)
    if per_order > 0:
        allowed, wait = _within(f"order:{brand_id}:{_digest(number_key(number))}", per_order, at)
        if not allowed:
            raise TooManyAttempts(retry_after=wait)


# --- lookup ------------------------------------------------------------------------------------


def portal_lookup(*, brand_id: int, number: str, email: str, client: str) -> PortalOrder:
    """The order a shopper names by number and e-mail. TooManyAttempts when rate-limited; NotFound
    with one generic message for any mismatch. One query (none when rate-limited)."""
    lookup_throttle(brand_id=brand_id, number=number, client=client)
    order = order_for_portal(brand_id=brand_id, number=number, email=email)
    if order is None:
        raise NotFound(LOOKUP_FAILED)
    return order


def portal_lookup_eligibility(*, brand_id: int, number: str, email: str, client: str) -> PortalEligibility:
    """portal_lookup with the order's facts and eligibility, for an answer that shows them at once
    (the API). One query (none when rate-limited) once the brand's policy is cached."""
    lookup_throttle(brand_id=brand_id, number=number, client=client)
    found = portal_order_eligibility(brand_id=brand_id, number=number, email=email)
    if found is None:
        raise NotFound(LOOKUP_FAILED)
    return found


# Brand slugs are resolved on every API lookup; they almost never change, so a short per-process
# memory saves that query (an unknown slug is never remembered, keeping the memory bounded).
_BRAND_TTL_S = 30.0
_brand_ids: dict[str, tuple[float, int]] = {}


def brand_id_for_slug(slug: str) -> int | None:
    """The id of the brand with this slug, or None. At most one query."""
    now = time.monotonic()
    hit = _brand_ids.get(slug)
    if hit is not None and now - hit[0] < _BRAND_TTL_S:
        return hit[1]
    found = Brand.objects.filter(slug=slug).values_list("id", flat=True).first()
    if found is None:
        _brand_ids.pop(slug, None)
        return None
    _brand_ids[slug] = (now, found)
    return found


def only_brand_id() -> int | None:
    """The brand of a single-brand installation; None when there are none or several. One query."""
    ids = list(Brand.objects.order_by("id").values_list("id", flat=True)[:2])
    return ids[0] if len(ids) == 1 else None


def brand_cache_clear() -> None:
    _brand_ids.clear()


# --- tokens ------------------------------------------------------------------------------------


def order_token_issue(*, brand_id: int, order_id: int, now: float | None = None) -> tuple[str, datetime]:
    """A bearer token for one proved order, valid for TOKEN_TTL_S; (token, expires_at).

    Signed with the SECRET_KEY (django.core.signing) and carrying brand, order and expiry: nothing
    is stored, and changing any character breaks the signature.
    """
    expires = int(time.time() if now is None else now) + TOKEN_TTL_S
    token = signing.dumps({"b": brand_id, "o": order_id, "e": expires}, salt=TOKEN_SALT, compress=False)
    return token, datetime.fromtimestamp(expires, tz=UTC)


def order_token_read(token: str, *, now: float | None = None) -> OrderGrant:
    """The grant a token carries; PortalTokenInvalid when it is expired, altered or malformed."""
    token = token.strip()
    if not token or len(token) > 500:
        raise PortalTokenInvalid("the portal token is missing or malformed; look the order up again")
    try:
        payload = signing.loads(token, salt=TOKEN_SALT)
    except signing.BadSignature:
        raise PortalTokenInvalid("the portal token is not valid; look the order up again") from None
    if not isinstance(payload, dict) or not all(isinstance(payload.get(k), int) for k in ("b", "o", "e")):
        raise PortalTokenInvalid("the portal token is not valid; look the order up again")
    if (time.time() if now is None else now) >= payload["e"]:
        raise PortalTokenInvalid("the portal token has expired; look the order up again")
    return OrderGrant(
        brand_id=payload["b"], order_id=payload["o"], expires_at=datetime.fromtimestamp(payload["e"], tz=UTC)
    )
