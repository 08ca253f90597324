"""Writes for brands, staff, tokens and secrets."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from assay.brands.models import ApiToken, Brand, Integration, IntegrationSecret, Membership, Role, slug_validator
from assay.core.audit import Actor, audit_record
from assay.core.errors import Conflict, InvalidInput, NotFound
from assay.core.money import normalise_currency

TOKEN_PREFIX = "assay_"  # noqa: S105 - a public marker, not a secret


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _brand(slug: str) -> Brand:
    try:
        return Brand.objects.get(slug=slug)
    except Brand.DoesNotExist:
        raise NotFound(f"no brand '{slug}'") from None


def _role(role: str) -> Role:
    if role not in Role.values:
        raise InvalidInput(f"unknown role '{role}'; one of: {', '.join(Role.values)}")
    return Role(role)


@transaction.atomic
def brand_create(*, slug: str, name: str, currency: str = "USD", actor: Actor, **branding: str) -> Brand:
    try:
        slug_validator(slug)
    except ValidationError as exc:
        raise InvalidInput(f"slug '{slug}': {exc.messages[0]}") from None
    if Brand.objects.filter(slug=slug).exists():
        raise Conflict(f"brand '{slug}' already exists")
    brand = Brand(slug=slug, name=name.strip() or slug, currency=normalise_currency(currency), **branding)
    try:
        brand.full_clean()
    except ValidationError as exc:
        raise InvalidInput("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
    brand.save()
    audit_record(brand_id=brand.pk, subject=brand, action="brand_created", actor=actor)
    return brand


@transaction.atomic
def brand_secret_set(*, slug: str, integration: str, secret: str, actor: Actor) -> IntegrationSecret:
    brand = _brand(slug)
    if integration not in Integration.values:
        raise InvalidInput(f"unknown integration '{integration}'; one of: {', '.join(Integration.values)}")
    if len(secret) < 8:
        raise InvalidInput("a signing secret must be at least 8 characters")
    row, created = IntegrationSecret.objects.update_or_create(
        brand=brand, integration=integration, defaults={"secret": secret}
    )
    audit_record(
        brand_id=brand.pk,
        subject=brand,
        action="integration_secret_set" if created else "integration_secret_rotated",
        actor=actor,
        data={"integration": integration},
    )
    return row


OWNERS_GROUP = "Brand owners"
# What an owner may configure in /admin/: their brand, people, catalogue, customers and orders.
_OWNER_APPS = ("brands", "catalog", "orders", "webhooks")


def _owners_group() -> Group:
    group, _ = Group.objects.get_or_create(name=OWNERS_GROUP)
    wanted = Permission.objects.filter(content_type__app_label__in=_OWNER_APPS).exclude(
        codename__in=("add_brand", "delete_brand")
    )
    if group.permissions.count() != wanted.count():
        group.permissions.set(wanted)
    return group


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    raw: str  # shown once to the operator, never stored


@transaction.atomic
def api_token_create(*, slug: str, role: str, name: str = "", actor: Actor) -> IssuedToken:
    brand = _brand(slug)
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        brand=brand, role=_role(role), name=name, prefix=raw[: len(TOKEN_PREFIX) + 6], token_hash=hash_token(raw)
    )
    audit_record(brand_id=brand.pk, subject=token, action="api_token_created", actor=actor, data={"role": role})
    return IssuedToken(token=token, raw=raw)


@transaction.atomic
def api_token_revoke(*, token_id: int, brand_id: int, actor: Actor) -> ApiToken:
    token = ApiToken.objects.select_for_update().filter(pk=token_id, brand_id=brand_id).first()
    if token is None:
        raise NotFound("no such token")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at", "updated_at"])
        audit_record(brand_id=brand_id, subject=token, action="api_token_revoked", actor=actor)
    return token


@transaction.atomic
def staff_add(*, slug: str, email: str, role: str, password: str | None, actor: Actor) -> Membership:
    """Create the person if new (e-mail is the login) and give them a role in the brand."""
    brand = _brand(slug)
    role_value = _role(role)
    email = email.strip().lower()
    if "@" not in email or len(email) > 254:
        raise InvalidInput(f"'{email}' is not an e-mail address")
    user_model = get_user_model()
    user = user_model.objects.filter(username=email).first()
    if user is None:
        if not password:
            raise InvalidInput("a new staff member needs a password")
        user = user_model(username=email, email=email, is_staff=False)
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise InvalidInput(" ".join(exc.messages)) from None
        user.set_password(password)
        user.save()
    elif password:
        user.set_password(password)
        user.save(update_fields=["password"])
    try:
        with transaction.atomic():
            membership, created = Membership.objects.update_or_create(
                user=user, brand=brand, defaults={"role": role_value}
            )
    except IntegrityError:
        raise Conflict(f"{email} was added to {slug} at the same time; try again") from None
    if role_value == Role.OWNER:
        # Owners configure their brand in /admin/ (which shows them only their own brands).
        if not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
        user.groups.add(_owners_group())
    audit_record(
        brand_id=brand.pk,
        subject=membership,
        action="staff_added" if created else "staff_role_changed",
        actor=actor,
        data={"email": email, "role": role_value},
    )
    return membership
