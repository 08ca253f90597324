"""Reads of a brand's return policy: the current one (compiled, cached) and its version history.

`policy_current` is on the hot path of every shopper lookup. Versions are immutable, so a compiled
policy is cached per process for as long as the process lives (bounded, least recently used out).
Which version is current is remembered per brand for CURRENT_TTL_S seconds: a publish in this
process is seen at once (the service forgets the brand), one in another process within that time.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from assay.core.errors import NotFound
from assay.policies.defaults import default_jewellery_policy
from assay.policies.engine import CompiledPolicy, compile_policy
from assay.policies.models import PolicyVersion
from assay.policies.schema import policy_document_parse

CURRENT_TTL_S = 5.0
COMPILED_MAX = 256  # versions kept compiled per process (least recently used go first)


@dataclass(frozen=True, slots=True)
class CurrentPolicy:
    version_id: int | None  # None: the brand has published nothing; the built-in default applies
    number: int  # 0 for the built-in default
    compiled: CompiledPolicy
    document: dict[str, Any]


@dataclass(frozen=True, slots=True)
class PolicyVersionData:
    id: int
    number: int
    document: dict[str, Any]
    note: str
    created_by: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PolicyVersionSummary:
    id: int
    number: int
    note: str
    created_by: str
    created_at: datetime
    rules: int


_lock = threading.Lock()
# (version id, created_at) -> the compiled version. created_at is part of the key so that a row id
# reused after a rollback (SQLite reuses ids) can never answer with another document.
_compiled: OrderedDict[tuple[int, datetime], CurrentPolicy] = OrderedDict()
# brand id -> (monotonic time read, the key above, or None when the brand has no version)
_current: dict[int, tuple[float, tuple[int, datetime] | None]] = {}
_default: CurrentPolicy | None = None


def _builtin_default() -> CurrentPolicy:
    global _default  # one compiled default per process
    if _default is None:
        document = default_jewellery_policy()
        _default = CurrentPolicy(
            version_id=None, number=0, compiled=compile_policy(policy_document_parse(document)), document=document
        )
    return _default


def policy_current(*, brand_id: int) -> CurrentPolicy:
    """The brand's highest-numbered version, compiled; the built-in default when it has none.

    Queries: none while the brand's current version is remembered (up to CURRENT_TTL_S seconds) and
    compiled in this process; otherwise one (id, number, created_at and document of the highest
    version, by the (brand, number) unique index). Compiling happens once per version per process.
    """
    now = time.monotonic()
    remembered = _current.get(brand_id)
    if remembered is not None and now - remembered[0] < CURRENT_TTL_S:
        key = remembered[1]
        if key is None:
            return _builtin_default()
        hit = _compiled.get(key)
        if hit is not None:
            return hit
    row = (
        PolicyVersion.objects.filter(brand_id=brand_id)
        .order_by("-number")
        .values("id", "number", "created_at", "document")
        .first()
    )
    if row is None:
        with _lock:
            _current[brand_id] = (now, None)
        return _builtin_default()
    key = (row["id"], row["created_at"])
    with _lock:
        current = _compiled.get(key)
        if current is None:
            current = CurrentPolicy(
                version_id=row["id"],
                number=row["number"],
                compiled=compile_policy(policy_document_parse(row["document"]), version_id=row["id"]),
                document=row["document"],
            )
            _compiled[key] = current
            while len(_compiled) > COMPILED_MAX:
                _compiled.popitem(last=False)
        else:
            _compiled.move_to_end(key)
        _current[brand_id] = (now, key)
    return current


def policy_cache_forget(*, brand_id: int) -> None:
    """Make the next policy_current for this brand read the database (after a publish)."""
    with _lock:
        _current.pop(brand_id, None)


def policy_cache_clear() -> None:
    """Forget everything (tests, where brands and versions are rebuilt with reused ids)."""
    with _lock:
        _current.clear()
        _compiled.clear()


def policy_versions(*, brand_id: int, limit: int = 50, offset: int = 0) -> tuple[list[PolicyVersionSummary], int]:
    """The brand's versions, newest first, and how many there are. Two queries."""
    qs = PolicyVersion.objects.filter(brand_id=brand_id)
    rows = qs.order_by("-number").values("id", "number", "note", "created_by", "created_at", "document")[
        offset : offset + limit
    ]
    items = [
        PolicyVersionSummary(
            id=row["id"],
            number=row["number"],
            note=row["note"],
            created_by=row["created_by"],
            created_at=row["created_at"],
            rules=len(row["document"].get("rules", [])) if isinstance(row["document"], dict) else 0,
        )
        for row in rows
    ]
    return items, qs.count()


def policy_version(*, brand_id: int, number: int | None = None) -> PolicyVersionData | None:
    """One version of the brand's policy (the current one when `number` is None); None if absent. One query."""
    qs = PolicyVersion.objects.filter(brand_id=brand_id)
    if number is not None:
        qs = qs.filter(number=number)
    row = qs.order_by("-number").values("id", "number", "document", "note", "created_by", "created_at").first()
    return PolicyVersionData(**row) if row else None


def policy_version_get(*, brand_id: int, number: int) -> PolicyVersionData:
    """Like policy_version, raising NotFound for a number the brand does not have."""
    found = policy_version(brand_id=brand_id, number=number)
    if found is None:
        raise NotFound(f"no policy version {number}")
    return found
