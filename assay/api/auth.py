"""Bearer-token authentication: every API call acts for exactly one brand and role."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from ninja.security import HttpBearer

from assay.brands.selectors import TokenIdentity, token_identity, token_touch
from assay.core.audit import Actor


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
        token_touch(token_id=identity.token_id)
        return ApiCaller(
            brand_id=identity.brand_id,
            brand_slug=identity.brand_slug,
            role=identity.role,
            actor=Actor(kind="token", label=f"API token {identity.prefix}... ({identity.role})"),
        )
