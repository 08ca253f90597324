"""Actors and the audit trail: every change says who made it and why."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import models

from assay.core.models import AuditEvent


@dataclass(frozen=True, slots=True)
class Actor:
    kind: str  # staff, token, system, webhook, shopper
    label: str
    user_id: int | None = None

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        return cls(kind="system", label=label)

    @classmethod
    def webhook(cls, source: str) -> Actor:
        return cls(kind="webhook", label=source)


def subject_type_of(obj: models.Model) -> str:
    return obj._meta.model_name or type(obj).__name__.lower()


def audit_record(
    *,
    brand_id: int,
    subject: models.Model,
    action: str,
    actor: Actor,
    why: str = "",
    from_state: str = "",
    to_state: str = "",
    data: Mapping[str, Any] | None = None,
) -> AuditEvent:
    return AuditEvent.objects.create(
        brand_id=brand_id,
        actor_kind=actor.kind,
        actor_label=actor.label[:200],
        actor_user_id=actor.user_id,
        subject_type=subject_type_of(subject),
        subject_id=subject.pk,
        action=action,
        from_state=from_state,
        to_state=to_state,
        why=why,
        data=dict(data or {}),
    )


def audit_trail(*, brand_id: int, subject_type: str, subject_id: int) -> list[dict[str, Any]]:
    """The history of one record, oldest first. One query."""
    rows = (
        AuditEvent.objects.filter(brand_id=brand_id, subject_type=subject_type, subject_id=subject_id)
        .order_by("at", "id")
        .values("at", "actor_kind", "actor_label", "action", "from_state", "to_state", "why", "data")
    )
    return [dict(row) for row in rows]
