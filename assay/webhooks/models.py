"""Inbound events, stored before they are processed so none is lost and none is applied twice.

The table is also the work queue: a 'received' event whose `next_attempt_at` has come is claimed
by a worker (docs/adr/0003-inbound-events-claimed-from-the-table.md).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from assay.webhooks.status import EventStatus


class InboundEvent(models.Model):
    # Not indexed on their own: every index is written by each delivery. The lookup index leads
    # with brand_id, and duplicates have their own partial index below.
    brand = models.ForeignKey("brands.Brand", on_delete=models.CASCADE, related_name="+", db_index=False)
    source = models.CharField(max_length=30)
    event_id = models.CharField(max_length=200, help_text="the sender's id; duplicate deliveries share it")
    topic = models.CharField(max_length=100)
    status = models.CharField(max_length=20, choices=EventStatus.choices, default=EventStatus.RECEIVED)
    error = models.TextField(blank=True)
    outcome = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    payload = models.TextField(blank=True, help_text="the raw body as received")
    headers = models.JSONField(default=dict, blank=True)
    duplicate_of = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="+", db_index=False
    )
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    # When a 'received' event may next be claimed by a worker: at once for a new delivery, after
    # the backoff for a retry, at the end of the lease while a worker holds it. Empty once settled.
    next_attempt_at = models.DateTimeField(null=True, blank=True, default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["brand", "source", "event_id"],
                condition=models.Q(duplicate_of__isnull=True),
                name="inbound_event_unique_first_delivery",
            )
        ]
        indexes = [
            models.Index(fields=["brand", "source", "event_id"], name="inbound_event_lookup_idx"),
            models.Index(
                fields=["next_attempt_at"], condition=models.Q(status="received"), name="inbound_event_waiting_idx"
            ),
            models.Index(
                fields=["duplicate_of"], condition=models.Q(duplicate_of__isnull=False), name="inbound_event_dup_idx"
            ),
        ]
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.source} {self.topic} {self.event_id} ({self.status})"
