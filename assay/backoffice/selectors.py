"""Reads the back office needs that no domain app owns: which brands a person sees, and the
dashboard's counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from assay.brands.models import Brand, Role
from assay.brands.selectors import brands_for_user
from assay.catalog.selectors import product_filter
from assay.orders.selectors import order_filter
from assay.webhooks.selectors import inbound_event_filter
from assay.webhooks.status import EventStatus


@dataclass(frozen=True, slots=True)
class BrandChoice:
    id: int
    name: str
    slug: str
    role: str


@dataclass(frozen=True, slots=True)
class Branding:
    id: int
    name: str
    slug: str
    logo_url: str
    primary_colour: str
    accent_colour: str
    currency: str
    timezone: str


def brands_visible(*, user: AbstractBaseUser | AnonymousUser) -> list[BrandChoice]:
    """The brands a person may work in, by name. Superusers see every brand (as owner); everyone
    else sees the brands they hold a membership in. One query."""
    if not user.is_authenticated:
        return []
    if getattr(user, "is_superuser", False):
        rows = Brand.objects.order_by("name").values_list("id", "name", "slug")
        return [BrandChoice(id=pk, name=name, slug=slug, role=Role.OWNER) for pk, name, slug in rows]
    return [
        BrandChoice(id=row["brand_id"], name=row["name"], slug=row["slug"], role=row["role"])
        for row in brands_for_user(user_id=user.pk)
    ]


def branding(*, brand_id: int) -> Branding | None:
    """A brand's name, colours and logo for the page header. One query."""
    row = (
        Brand.objects.filter(pk=brand_id)
        .values("id", "name", "slug", "logo_url", "primary_colour", "accent_colour", "currency", "timezone")
        .first()
    )
    return Branding(**row) if row else None


@dataclass(frozen=True, slots=True)
class DashboardCounts:
    orders: int
    orders_since: int
    failed_events: int
    products_needing_completion: int


def dashboard_counts(*, brand_id: int, since: datetime) -> DashboardCounts:
    """Headline numbers for one brand. Four COUNT queries, each on an indexed brand column."""
    return DashboardCounts(
        orders=order_filter(brand_id=brand_id).count(),
        orders_since=order_filter(brand_id=brand_id, placed_from=since).count(),
        failed_events=inbound_event_filter(brand_id=brand_id, status=EventStatus.FAILED).count(),
        products_needing_completion=product_filter(brand_id=brand_id, needs_completion=True).count(),
    )
