"""The one way a status field changes: table check, row lock, audit event, then side effects."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django.db import models, transaction

from assay.core.audit import Actor, audit_record
from assay.core.errors import TransitionNotAllowed


def transition(
    obj: models.Model,
    *,
    to: str,
    allowed: Mapping[Any, set[Any]],
    actor: Actor,
    why: str = "",
    field: str = "status",
    data: Mapping[str, Any] | None = None,
    after_commit: Callable[[], None] | None = None,
) -> models.Model:
    """Move `obj` to state `to` if the table allows it.

    The caller passes a row it locked with select_for_update inside the current transaction; this
    re-checks the state it holds, saves, records the audit event and schedules `after_commit`.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("transition() must run inside transaction.atomic with the row locked")
    current = str(getattr(obj, field))
    target = str(to)
    if target not in {str(state) for state in allowed.get(current, set())}:
        raise TransitionNotAllowed(subject=str(obj._meta.verbose_name or "record"), from_state=current, to_state=target)
    setattr(obj, field, target)
    update_fields = [field]
    if any(f.name == "updated_at" for f in obj._meta.get_fields()):
        update_fields.append("updated_at")
    obj.save(update_fields=update_fields)
    audit_record(
        brand_id=obj.brand_id,  # type: ignore[attr-defined]
        subject=obj,
        action=f"{field}_changed",
        actor=actor,
        why=why,
        from_state=current,
        to_state=target,
        data=data,
    )
    if after_commit is not None:
        transaction.on_commit(after_commit)
    return obj
