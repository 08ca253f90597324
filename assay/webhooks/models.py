"""Inbound events, stored before they are processed so none is lost and none is applied twice."""

from __future__ import annotations

from django.db import models

from assay.webhooks.status import EventStatus


class InboundEvent(models.Model):
    brand = models.ForeignKey("brands.Brand", on_delete=models.CASCADE, related_name="+")
    source = models.CharField(max_length=30)
    event_id = models.CharField(max_length=200, help_text="the sender's id; duplicate deliveries share it")
    topic = models.CharField(max_length=100)
    status = models.CharField(max_length=20, choices=EventStatus.choices, default=EventStatus.RECEIVED)
    error = models.TextField(blank=True)
    outcome = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    payload = models.TextField(blank=True, help_text="the raw body as received")
    headers = models.JSONField(default=dict, blank=True)
    duplicate_of = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

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
            models.Index(fields=["status", "next_attempt_at"], name="inbound_event_due_idx"),
        ]
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.source} {self.topic} {self.event_id} ({self.status})"
