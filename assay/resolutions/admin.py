"""Admin for resolutions: each brand's payout settings are edited here; payouts, settlements and the
store credit ledger are read-only records (staff act on them in the back office)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from assay.brands.admin import BrandScopedAdmin
from assay.resolutions.models import CreditEntry, Exchange, Payout, PayoutSettings, Settlement


@admin.register(PayoutSettings)
class PayoutSettingsAdmin(BrandScopedAdmin):
    list_display = ["brand", "refund_provider", "gift_card_provider", "coupon_provider", "store_credit_as_gift_card"]
    readonly_fields = ["created_at", "updated_at"]


class ReadOnlyAdmin(BrandScopedAdmin):
    """Money records: written by the services only, never edited or deleted by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(Payout)
class PayoutAdmin(ReadOnlyAdmin):
    list_display = [
        "id", "request", "kind", "amount", "currency", "status", "provider", "provider_reference", "attempts",
    ]  # fmt: skip
    list_filter = ["status", "kind", "provider"]
    search_fields = ["key", "provider_reference", "request__rma"]

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).select_related("request")


@admin.register(Settlement)
class SettlementAdmin(ReadOnlyAdmin):
    list_display = ["id", "request", "return_line", "resolution", "amount", "proposed_amount", "currency", "trigger"]
    search_fields = ["request__rma"]


@admin.register(CreditEntry)
class CreditEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "account", "kind", "amount", "expires_at", "reason", "actor", "created_at"]
    list_filter = ["kind"]
    search_fields = ["account__email", "key"]


@admin.register(Exchange)
class ExchangeAdmin(ReadOnlyAdmin):
    list_display = ["id", "request", "sku", "quantity", "difference", "currency", "status", "replacement_order"]
    list_filter = ["status", "kind"]
