"""Admin for inbound webhook events: read-only, with a retry action for failed ones."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from assay.brands.admin import BrandScopedAdmin
from assay.webhooks.models import InboundEvent
from assay.webhooks.services import inbound_event_retry
from assay.webhooks.status import EventStatus
from assay.webhooks.tasks import enqueue_processing

_FIELDS = (
    "brand", "source", "topic", "event_id", "status", "outcome", "error", "attempts", "received_at",
    "processed_at", "next_attempt_at", "duplicate_of", "headers", "payload",
)  # fmt: skip


@admin.register(InboundEvent)
class InboundEventAdmin(BrandScopedAdmin):
    list_display = ["received_at", "brand", "source", "topic", "event_id", "status", "attempts", "short_error"]
    list_filter = ["status", "source", "topic"]
    search_fields = ["=event_id", "topic"]
    list_select_related = ["brand"]
    date_hierarchy = "received_at"
    show_full_result_count = False
    fields = _FIELDS
    readonly_fields = _FIELDS
    actions = ["retry"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    @admin.display(description="error")
    def short_error(self, obj: InboundEvent) -> str:
        return obj.error if len(obj.error) <= 120 else obj.error[:117] + "..."

    @admin.action(description="Retry the selected failed events", permissions=["view"])
    def retry(self, request: HttpRequest, queryset: QuerySet[InboundEvent]) -> None:
        failed = list(queryset.filter(status=EventStatus.FAILED).values_list("pk", "brand_id"))
        for event_pk, brand_id in failed:
            inbound_event_retry(event_pk=event_pk, brand_id=brand_id)
            enqueue_processing(event_pk)
        skipped = queryset.count() - len(failed)
        note = f" ({skipped} not failed, left as they were)" if skipped else ""
        self.message_user(request, f"Queued {len(failed)} event(s) for processing again{note}.", messages.SUCCESS)
