"""Reads for brands, memberships, tokens and secrets."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db.models import F, Q
from django.utils import timezone

from assay.brands.models import ApiToken, Brand, IntegrationSecret, Membership
from assay.brands.services import TOKEN_PREFIX, hash_token


@dataclass(frozen=True, slots=True)
class TokenIdentity:
    token_id: int
    brand_id: int
    brand_slug: str
    role: str
    prefix: str


def token_identity(*, raw: str) -> TokenIdentity | None:
    """The brand and role behind a bearer token, or None if unknown or revoked. One query."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    row = (
        ApiToken.objects.filter(token_hash=hash_token(raw), revoked_at__isnull=True)
        .values("id", "brand_id", "role", "prefix", slug=F("brand__slug"))
        .first()
    )
    if row is None:
        return None
    return TokenIdentity(
        token_id=row["id"], brand_id=row["brand_id"], brand_slug=row["slug"], role=row["role"], prefix=row["prefix"]
    )


def token_touch(*, token_id: int) -> None:
    """Record use at most once a minute, so reads do not turn into a write each."""
    now = timezone.now()
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - timedelta(minutes=1))
    ApiToken.objects.filter(stale, pk=token_id).update(last_used_at=now)


def brand_by_slug(*, slug: str) -> Brand | None:
    return Brand.objects.filter(slug=slug).first()


def integration_secret(*, brand_id: int, integration: str) -> str | None:
    return (
        IntegrationSecret.objects.filter(brand_id=brand_id, integration=integration)
        .values_list("secret", flat=True)
        .first()
    )


def brands_for_user(*, user_id: int) -> list[dict[str, Any]]:
    """The brands a person works for, with their role, by name. One query."""
    rows = (
        Membership.objects.filter(user_id=user_id)
        .order_by("brand__name")
        .values("brand_id", "role", name=F("brand__name"), slug=F("brand__slug"))
    )
    return [dict(row) for row in rows]


def membership_role(*, user_id: int, brand_id: int) -> str | None:
    return Membership.objects.filter(user_id=user_id, brand_id=brand_id).values_list("role", flat=True).first()


def integration_secret_for_slug(*, slug: str, integration: str) -> tuple[int, str] | None:
    """The brand id and signing secret of a brand's integration, found by the brand's slug; None
    when the brand or its secret is unknown. One query (webhook intake runs it on every delivery)."""
    row = (
        IntegrationSecret.objects.filter(brand__slug=slug, integration=integration)
        .values_list("brand_id", "secret")
        .first()
    )
    return (row[0], row[1]) if row is not None else None


# Webhook intake reads a brand's secret on every delivery; a short per-process cache saves that
# query. A signature that does not match the cached secret is checked again against the database
# (`fresh=True`), so a rotated secret is accepted at once; the old one lapses within the TTL.
SECRET_CACHE_SECONDS = 10.0
_secret_cache: dict[tuple[str, str], tuple[float, tuple[int, str]]] = {}


def integration_secret_cached(*, slug: str, integration: str, fresh: bool = False) -> tuple[int, str] | None:
    """Like integration_secret_for_slug, from a per-process cache: no query while it is warm."""
    key = (slug, integration)
    now = time.monotonic()
    if not fresh:
        hit = _secret_cache.get(key)
        if hit is not None and now - hit[0] < SECRET_CACHE_SECONDS:
            return hit[1]
    found = integration_secret_for_slug(slug=slug, integration=integration)
    if found is None:
        _secret_cache.pop(key, None)  # unknown slugs are not remembered: the cache stays bounded
    else:
        _secret_cache[key] = (now, found)
    return found


def integration_secret_cache_clear() -> None:
    _secret_cache.clear()
