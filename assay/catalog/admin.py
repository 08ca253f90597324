"""Admin for the catalogue: products with their specification, stones and variants; pieces."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.forms import BaseInlineFormSet
from django.http import HttpRequest

from assay.brands.admin import BrandScopedAdmin
from assay.catalog.models import Piece, Product, Specification, Stone, Variant


class SpecificationInline(admin.StackedInline):
    model = Specification
    extra = 0
    max_num = 1
    can_delete = True
    fieldsets = [
        ("Metal", {"fields": [("metal", "karat", "fineness"), "metal_weight_g", "hollow"]}),
        ("Dimensions (mm)", {"fields": [("width_mm", "length_mm", "thickness_mm")]}),
        ("Plating", {"fields": [("plating", "plating_thickness_microns")]}),
    ]


class StoneInline(admin.TabularInline):
    model = Stone
    extra = 0
    fields = [
        "species", "origin", "treatments", "count", "carat_weight", "colour", "clarity", "cut", "shape",
        "lab", "report_number",
    ]  # fmt: skip


class VariantInline(admin.TabularInline):
    model = Variant
    extra = 0
    fields = ["sku", "title", "options", "ring_size", "price", "inventory_quantity", "position", "external_id"]
    readonly_fields = ["external_id"]


@admin.register(Product)
class ProductAdmin(BrandScopedAdmin):
    list_display = ["title", "brand", "category", "status", "engravable", "resizable", "needs_completion", "updated_at"]
    list_filter = ["category", "status", "needs_completion", "engravable", "personalised", "final_sale", "high_value"]
    search_fields = ["title", "handle", "external_id", "variants__sku"]
    list_select_related = ["brand"]
    readonly_fields = ["external_id", "source_updated_at", "created_at", "updated_at"]
    inlines = [SpecificationInline, StoneInline, VariantInline]
    fieldsets = [
        (None, {"fields": ["brand", "title", "handle", "vendor", "product_type", "category", "status", "tags"]}),
        ("Options", {"fields": ["option_names"]}),
        (
            "Flags",
            {
                "fields": [
                    ("engravable", "personalised"),
                    ("resizable", "resizable_down", "resizable_up"),
                    ("final_sale", "hygiene_item", "high_value"),
                    "needs_completion",
                ]
            },
        ),
        ("Source", {"fields": ["external_id", "source_updated_at", "created_at", "updated_at"]}),
    ]

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Any], search_term: str) -> Any:
        results, _may_have_duplicates = super().get_search_results(request, queryset, search_term)
        # Searching by variant SKU joins variants; distinct keeps one row per product.
        return results.distinct(), False

    def save_formset(self, request: HttpRequest, form: Any, formset: BaseInlineFormSet, change: bool) -> None:
        # Inline rows belong to their product's brand; the brand is never chosen by hand.
        for row in formset.save(commit=False):
            row.brand_id = form.instance.brand_id
            row.save()
        for gone in formset.deleted_objects:
            gone.delete()
        formset.save_m2m()


class PieceForm(forms.ModelForm):
    class Meta:
        model = Piece
        fields = ["brand", "variant", "serial_number", "inscription", "report_number", "weight_g", "status"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        brand, variant = data.get("brand"), data.get("variant")
        if brand is not None and variant is not None and variant.brand_id != brand.pk:
            self.add_error("variant", "This variant belongs to another brand.")
        return data


@admin.register(Piece)
class PieceAdmin(BrandScopedAdmin):
    list_display = ["serial_number", "brand", "variant", "inscription", "report_number", "weight_g", "status"]
    list_filter = ["status"]
    search_fields = ["serial_number", "inscription", "report_number", "variant__sku"]
    list_select_related = ["brand", "variant"]
    raw_id_fields = ["variant"]
    readonly_fields = ["created_at", "updated_at"]
    form = PieceForm
