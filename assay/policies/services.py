"""Writes of a brand's return policy: publish a new version, install the default."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max

from assay.brands.models import Brand, Role
from assay.core.audit import Actor, audit_record
from assay.core.errors import Conflict, NotFound
from assay.policies.defaults import default_jewellery_policy
from assay.policies.models import PolicyVersion
from assay.policies.schema import policy_document_parse
from assay.policies.selectors import policy_cache_forget

# Who may publish a policy, in the back office and through the API (owners and operations managers).
PUBLISHER_ROLES: frozenset[str] = frozenset({Role.OWNER, Role.OPS})
DEFAULT_NOTE = "Default fine-jewellery policy"


def _lock_brand(brand_id: int) -> None:
    """Serialise publishing per brand: the next number is read and written under this row lock."""
    if not Brand.objects.select_for_update().filter(pk=brand_id).exists():
        raise NotFound(f"no brand {brand_id}")


def _next_number(brand_id: int) -> int:
    return (PolicyVersion.objects.filter(brand_id=brand_id).aggregate(n=Max("number"))["n"] or 0) + 1


def _publish_locked(*, brand_id: int, document: dict[str, Any], actor: Actor, note: str) -> PolicyVersion:
    parsed = policy_document_parse(document)
    number = _next_number(brand_id)
    try:
        # A savepoint keeps the surrounding transaction usable if the unique constraint fires.
        with transaction.atomic():
            version = PolicyVersion.objects.create(
                brand_id=brand_id,
                number=number,
                document=parsed.as_data(),
                note=note.strip()[:255],
                created_by=actor.label[:200],
            )
    except IntegrityError:
        raise Conflict("another policy version was published at the same moment; reload and try again") from None
    audit_record(
        brand_id=brand_id,
        subject=version,
        action="policy_published",
        actor=actor,
        why=version.note,
        data={"number": version.number, "rules": len(parsed.rules)},
    )
    transaction.on_commit(lambda: policy_cache_forget(brand_id=brand_id))
    return version


@transaction.atomic
def policy_version_publish(*, brand_id: int, document: dict[str, Any], actor: Actor, note: str = "") -> PolicyVersion:
    """Validate `document` and store it as the brand's next version, which becomes current.

    Raises PolicyDocumentError (InvalidInput, 422) naming each problem, NotFound for an unknown brand,
    Conflict if another publish took the number first (the unique (brand, number) constraint).
    """
    _lock_brand(brand_id)
    return _publish_locked(brand_id=brand_id, document=document, actor=actor, note=note)


@transaction.atomic
def policy_default_ensure(*, brand_id: int, actor: Actor) -> PolicyVersion:
    """Install the default jewellery policy as version 1 when the brand has none; otherwise return
    the current version unchanged. Safe to call any number of times."""
    _lock_brand(brand_id)
    current = PolicyVersion.objects.filter(brand_id=brand_id).order_by("-number").first()
    if current is not None:
        return current
    return _publish_locked(brand_id=brand_id, document=default_jewellery_policy(), actor=actor, note=DEFAULT_NOTE)
