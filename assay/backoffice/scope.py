"""The brand a staff page works in: kept in the session, always one the person belongs to."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, Concatenate, ParamSpec

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from assay.backoffice.selectors import BrandChoice, Branding, branding, brands_visible

SESSION_KEY = "backoffice_brand_id"

P = ParamSpec("P")


@dataclass(frozen=True, slots=True)
class StaffScope:
    brand: Branding
    role: str
    brands: list[BrandChoice]

    @property
    def brand_id(self) -> int:
        return self.brand.id


def staff_scope(request: HttpRequest) -> StaffScope | None:
    """The current brand for this person: the one in the session when they may still see it,
    else their first brand. None when they belong to no brand. Two queries."""
    brands = brands_visible(user=request.user)
    if not brands:
        return None
    wanted = request.session.get(SESSION_KEY)
    choice = next((b for b in brands if b.id == wanted), brands[0])
    if wanted != choice.id:
        request.session[SESSION_KEY] = choice.id
    current = branding(brand_id=choice.id)
    if current is None:  # deleted between the two reads
        return None
    return StaffScope(brand=current, role=choice.role, brands=brands)


def brand_select(request: HttpRequest, *, brand_id: int) -> BrandChoice | None:
    """Make `brand_id` the current brand if this person may see it; None (and no change) if not."""
    choice = next((b for b in brands_visible(user=request.user) if b.id == brand_id), None)
    if choice is not None:
        request.session[SESSION_KEY] = choice.id
    return choice


def _brand_zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def staff_page(
    view: Callable[Concatenate[HttpRequest, StaffScope, P], HttpResponse],
) -> Callable[Concatenate[HttpRequest, P], HttpResponse]:
    """Log-in required; the view receives the current brand scope and runs in the brand's time zone.

    A person with no brand gets a page that says so (403) instead of an empty back office.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        scope = staff_scope(request)
        if scope is None:
            return render(request, "backoffice/no_brand.html", status=403)
        with timezone.override(_brand_zone(scope.brand.timezone)):
            return view(request, scope, *args, **kwargs)

    return login_required(wrapper)


def page_context(scope: StaffScope, section: str, **extra: Any) -> dict[str, Any]:
    return {"scope": scope, "section": section, **extra}
