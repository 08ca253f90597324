"""The lookup limits on the Redis cache (production's): counted in one round trip, same rules."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import redis
from django.core.cache import cache
from django.test import override_settings

from assay.returns.portal_access import WINDOW_S, TooManyAttempts, lookup_throttle

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_up() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


pytestmark = pytest.mark.skipif(not _redis_up(), reason=f"needs Redis at {REDIS_URL} (TEST_REDIS_URL)")

NOW = 1_800_000_000.0  # the start of a minute window


@pytest.fixture
def redis_cache() -> Iterator[str]:
    """Django's RedisCache on a key prefix of this test's own; yields the prefix."""
    prefix = f"test-{uuid.uuid4().hex}"
    caches = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                          "KEY_PREFIX": prefix}}  # fmt: skip
    with override_settings(CACHES=caches):
        yield prefix
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)


@override_settings(PORTAL_LOOKUPS_PER_CLIENT=0, PORTAL_LOOKUPS_PER_ORDER=3)
def test_an_order_number_is_refused_after_its_limit_and_counted_with_an_expiry(redis_cache: str) -> None:
    for typed in ("#1001", "1001", " 1001"):
        lookup_throttle(brand_id=1, number=typed, client="203.0.113.5", now=NOW)

    with pytest.raises(TooManyAttempts) as refused:
        lookup_throttle(brand_id=1, number="#1001", client="198.51.100.7", now=NOW + 15)

    assert refused.value.retry_after == WINDOW_S - 15
    lookup_throttle(brand_id=1, number="#1001", client="198.51.100.7", now=NOW + WINDOW_S)  # the next minute
    lookup_throttle(brand_id=2, number="#1001", client="198.51.100.7", now=NOW + 15)  # another brand
    client = redis.Redis.from_url(REDIS_URL)
    counters = {int(client.get(key) or 0): client.ttl(key) for key in client.scan_iter(f"{redis_cache}:*:order:1:*")}
    assert sorted(counters) == [1, 4]  # this minute's (three allowed, one refused) and the next one's
    assert all(0 < ttl <= 2 * WINDOW_S for ttl in counters.values())


@override_settings(PORTAL_LOOKUPS_PER_CLIENT=2, PORTAL_LOOKUPS_PER_ORDER=0)
def test_a_client_is_refused_after_its_limit_and_djangos_cache_reads_the_count(redis_cache: str) -> None:
    lookup_throttle(brand_id=1, number="#1", client="203.0.113.5", now=NOW)
    lookup_throttle(brand_id=1, number="#2", client="203.0.113.5", now=NOW + 1)

    with pytest.raises(TooManyAttempts):
        lookup_throttle(brand_id=1, number="#3", client="203.0.113.5", now=NOW + 2)
    lookup_throttle(brand_id=1, number="#3", client="198.51.100.7", now=NOW + 2)  # another client

    stored = sorted(key.decode() for key in redis.Redis.from_url(REDIS_URL).scan_iter(f"{redis_cache}:*"))
    names = [key.split(":", 2)[2] for key in stored]  # without Django's "<prefix>:<version>:"
    assert sorted(cache.get(name) for name in names) == [1, 3]
