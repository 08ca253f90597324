"""The shopper's proof of an order on the pages: kept in the session, one order per brand, until
30 minutes pass without a page of it being opened (the API carries the same grant in a signed
bearer token, which does not slide)."""

from __future__ import annotations

import time

from django.http import HttpRequest

from assay.returns.portal_access import TOKEN_TTL_S

SESSION_KEY = "assay_portal"


def grant_store(request: HttpRequest, *, brand_id: int, order_id: int) -> None:
    """Remember that this visitor proved this order. The session key changes at the same moment,
    so a session id planted before the lookup is worth nothing after it."""
    request.session.cycle_key()
    grants = dict(request.session.get(SESSION_KEY) or {})
    grants[str(brand_id)] = {"order": order_id, "until": int(time.time()) + TOKEN_TTL_S}
    request.session[SESSION_KEY] = grants


def granted_order(request: HttpRequest, *, brand_id: int) -> int | None:
    """The order this visitor proved for this brand, if the proof has not lapsed."""
    grants = request.session.get(SESSION_KEY) or {}
    grant = grants.get(str(brand_id)) if isinstance(grants, dict) else None
    if not isinstance(grant, dict) or not isinstance(grant.get("order"), int):
        return None
    now = int(time.time())
    until = int(grant.get("until") or 0)
    if until <= now:
        return None
    if until - now < TOKEN_TTL_S - 60:  # slide, writing the session at most once a minute
        grants = dict(grants)
        grants[str(brand_id)] = {"order": grant["order"], "until": now + TOKEN_TTL_S}
        request.session[SESSION_KEY] = grants
    return int(grant["order"])


def grant_forget(request: HttpRequest, *, brand_id: int) -> None:
    grants = dict(request.session.get(SESSION_KEY) or {})
    if grants.pop(str(brand_id), None) is not None:
        request.session[SESSION_KEY] = grants
