"""Base models shared by every domain app: timestamps, brand scoping and the audit trail."""

from __future__ import annotations

from django.db import models


class TimeStamped(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class BrandOwned(TimeStamped):
    """A tenant-owned row: every query on it is filtered by brand."""

    brand = models.ForeignKey("brands.Brand", on_delete=models.CASCADE, related_name="+")

    class Meta:
        abstract = True


class AuditEvent(models.Model):
    """Who did what to which record, when, from which state to which, and why.

    Append-only: the complete documentation record of an order, a return or a piece.
    """

    brand = models.ForeignKey("brands.Brand", on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor_kind = models.CharField(max_length=16)
    actor_label = models.CharField(max_length=200)
    actor_user_id = models.BigIntegerField(null=True, blank=True)
    subject_type = models.CharField(max_length=40)
    subject_id = models.BigIntegerField()
    action = models.CharField(max_length=60)
    from_state = models.CharField(max_length=40, blank=True)
    to_state = models.CharField(max_length=40, blank=True)
    why = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["brand", "subject_type", "subject_id", "at"], name="audit_subject_idx")]
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.subject_type}#{self.subject_id} {self.action} by {self.actor_label}"


class MoneyField(models.DecimalField):
    """An amount of money: 14 digits, 4 decimals (enough for any currency's minor units)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("max_digits", 14)
        kwargs.setdefault("decimal_places", 4)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]


class IdempotencyKey(models.Model):
    """The first answer to a request sent with an `Idempotency-Key` header, replayed to its retries.

    `scope` names whose key it is ("api:<brand id>", "portal:<order id>"), so two clients cannot
    collide or read each other's answers. Inserted and completed inside the request's own
    transaction: a concurrent duplicate waits on the unique constraint and then sees the finished
    answer, and a request that crashed leaves no row behind, so its retry runs afresh. Kept for a
    day (IDEMPOTENCY_TTL), as Stripe does for refunds.
    """

    scope = models.CharField(max_length=100)
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the request body (canonical JSON)")
    response_status = models.PositiveSmallIntegerField(default=0, help_text="0 while the first request runs")
    response_body = models.TextField(blank=True, help_text="the exact JSON text first answered")
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="idempotency_unique_scope_key")]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"
