"""Admin for customers and orders. Orders come from the shop, so they are read-only here: the
back office (/app/orders/) is where staff work with them."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from assay.brands.admin import BrandScopedAdmin
from assay.orders.models import Customer, Order, OrderLine, Shipment


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


_LINE_FIELDS = ("position", "sku", "title", "variant_title", "quantity", "unit_price", "properties", "personalised")
_SHIPMENT_FIELDS = ("carrier", "service", "tracking_numbers", "status", "shipped_at", "delivered_at")


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = _LINE_FIELDS
    readonly_fields = _LINE_FIELDS


class ShipmentInline(ReadOnlyInline):
    model = Shipment
    fields = _SHIPMENT_FIELDS
    readonly_fields = _SHIPMENT_FIELDS


@admin.register(Customer)
class CustomerAdmin(BrandScopedAdmin):
    list_display = ["__str__", "email", "brand", "phone", "created_at"]
    search_fields = ["email", "first_name", "last_name", "external_id"]
    list_select_related = ["brand"]
    readonly_fields = ["brand", "external_id", "created_at", "updated_at"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # customers arrive with their orders


@admin.register(Order)
class OrderAdmin(BrandScopedAdmin):
    list_display = ["number", "brand", "email", "total_display", "financial_status", "fulfillment_status", "placed_at"]
    list_filter = ["source", "financial_status", "fulfillment_status", "channel"]
    search_fields = ["=number_key", "=external_id", "email", "=lines__sku"]
    list_select_related = ["brand"]
    date_hierarchy = "placed_at"
    ordering = ["-placed_at", "-id"]
    # Counting a million rows for "N total" on every page is the slow part of a changelist.
    show_full_result_count = False
    inlines = [OrderLineInline, ShipmentInline]
    fieldsets = [
        (None, {"fields": ["brand", "number", "external_id", "email", "customer", "source", "channel"]}),
        (
            "Totals",
            {
                "fields": [
                    "currency",
                    ("subtotal", "total_discounts", "total_shipping", "total_tax", "total"),
                    "taxes_included",
                ]
            },
        ),
        ("Status", {"fields": [("financial_status", "fulfillment_status"), ("placed_at", "paid_at", "closed_at")]}),
        ("Cancellation", {"fields": [("cancelled_at", "cancel_reason")]}),
        ("Other", {"fields": ["tags", "discount_codes", "shipping_address", "shipping_country", "source_updated_at"]}),
    ]

    def get_search_results(self, request: HttpRequest, queryset: Any, search_term: str) -> Any:
        # Staff type "#1001" as often as "1001"; number_key has neither "#" nor spaces.
        term = search_term.strip().lstrip("#").lower() if search_term.strip().startswith("#") else search_term
        return super().get_search_results(request, queryset, term)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    @admin.display(description="total", ordering="total")
    def total_display(self, obj: Order) -> str:
        return f"{obj.total} {obj.currency}"
