"""Bearer-token authentication: every API call acts for exactly one brand and role."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.http import HttpRequest
from ninja.security import HttpBearer

from assay.brands.selectors import TokenIdentity, token_identity, token_touch
from assay.core.audit import Actor

# token_touch records use at most once a minute in the database; remembering here when this
# process last asked keeps that UPDATE (a write lock on SQLite) off nearly every read.
_TOUCH_EVERY_S = 60.0
_last_touch: dict[tuple[int, str], float] = {}


@dataclass(frozen=True, slots=True)
class ApiCaller:
    brand_id: int
    brand_slug: str
    role: str
    actor: Actor


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiCaller | None:
        identity: TokenIdentity | None = token_identity(raw=token.strip())
        if identity is None:
            return None
        now = time.monotonic()
        key = (identity.token_id, identity.prefix)
        if now - _last_touch.get(key, -_TOUCH_EVERY_S) >= _TOUCH_EVERY_S:
            _last_touch[key] = now
            token_touch(token_id=identity.token_id)
        return ApiCaller(
            brand_id=identity.brand_id,
            brand_slug=identity.brand_slug,
            role=identity.role,
            actor=Actor(kind="token", label=f"API token {identity.prefix}... ({identity.role})"),
        )


def caller(request: HttpRequest) -> ApiCaller:
    """Who is calling: set by TokenAuth on every authenticated operation."""
    auth = getattr(request, "auth", None)
    if not isinstance(auth, ApiCaller):  # pragma: no cover - ninja runs auth before the operation
        raise TypeError("the operation ran without TokenAuth")
    return auth
