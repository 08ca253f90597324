"""Admin for brands, memberships, API tokens and integration secrets.

Token hashes and signing secrets are never rendered: tokens are created by `assay create_token`
(shown once there), and a secret is a write-only field that sets a new value.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from assay.brands.models import ApiToken, Brand, Integration, IntegrationSecret, Membership
from assay.brands.services import api_token_revoke, brand_secret_set
from assay.core.audit import Actor
from assay.core.errors import DomainError


def admin_actor(request: HttpRequest) -> Actor:
    user = request.user
    return Actor(kind="staff", label=f"admin: {user.get_username()}", user_id=user.pk)


def brand_ids_for(request: HttpRequest) -> list[int] | None:
    """The brands an admin user may see: None for superusers (all), else their memberships."""
    user = request.user
    if getattr(user, "is_superuser", False):
        return None
    if user.pk is None:
        return []
    return list(Membership.objects.filter(user_id=user.pk).values_list("brand_id", flat=True))


class BrandListFilter(admin.SimpleListFilter):
    """Filter by brand, listing only the brands the admin user may see (no scan of the table)."""

    title = "brand"
    parameter_name = "brand"

    def __init__(self, request: HttpRequest, params: Any, model: Any, model_admin: Any) -> None:
        self.brand_field: str = getattr(model_admin, "brand_field", "brand")
        super().__init__(request, params, model, model_admin)

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        brands = Brand.objects.order_by("name")
        allowed = brand_ids_for(request)
        if allowed is not None:
            brands = brands.filter(pk__in=allowed)
        return [(str(pk), name) for pk, name in brands.values_list("pk", "name")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value is None:
            return queryset
        if not str(value).isdigit():
            raise IncorrectLookupParameters(f"brand '{value}' is not a brand id")
        return queryset.filter(**{f"{self.brand_field}_id": int(str(value))})


class BrandScopedAdmin(admin.ModelAdmin):
    """Rows of the brands the admin user belongs to, with a brand filter on the list.

    Superusers see every brand; staff with model permissions see only their own brands' rows.
    """

    brand_field = "brand"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        allowed = brand_ids_for(request)
        if allowed is None:
            return queryset
        return queryset.filter(**{f"{self.brand_field}__in": allowed})

    def get_list_filter(self, request: HttpRequest) -> Any:
        filters = list(super().get_list_filter(request))
        return [BrandListFilter, *[f for f in filters if f != self.brand_field]]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "brand":
            allowed = brand_ids_for(request)
            if allowed is not None:
                kwargs["queryset"] = Brand.objects.filter(pk__in=allowed)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]


@admin.register(Brand)
class BrandAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "currency", "timezone", "locale", "shop_domain", "created_at"]
    search_fields = ["name", "slug", "shop_domain"]
    list_filter = ["currency"]
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "slug", "shop_domain"]}),
        ("Branding", {"fields": ["logo_url", "primary_colour", "accent_colour", "sender_email"]}),
        ("Locale", {"fields": ["locale", "currency", "timezone"]}),
        ("Record", {"fields": ["created_at", "updated_at"]}),
    ]
    inlines = [MembershipInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Brand]:
        queryset = super().get_queryset(request)
        allowed = brand_ids_for(request)
        return queryset if allowed is None else queryset.filter(pk__in=allowed)

    def get_readonly_fields(self, request: HttpRequest, obj: Brand | None = None) -> Any:
        # The slug is in webhook URLs and tokens' scope: fixed once the brand exists.
        base = list(super().get_readonly_fields(request, obj))
        return [*base, "slug"] if obj is not None else base


@admin.register(Membership)
class MembershipAdmin(BrandScopedAdmin):
    list_display = ["user", "brand", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__email", "brand__name"]
    autocomplete_fields = ["user"]
    list_select_related = ["user", "brand"]


@admin.register(ApiToken)
class ApiTokenAdmin(BrandScopedAdmin):
    """Tokens are issued by `assay create_token` (the secret is shown once there); here they are
    listed, renamed and revoked. The hash is never shown."""

    list_display = ["prefix", "brand", "role", "name", "revoked", "last_used_at", "created_at"]
    list_filter = ["role", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "name"]
    fields = ["prefix", "brand", "role", "name", "revoked_at", "last_used_at", "created_at"]
    readonly_fields = ["prefix", "brand", "role", "revoked_at", "last_used_at", "created_at"]
    list_select_related = ["brand"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(boolean=True, description="revoked", ordering="revoked_at")
    def revoked(self, obj: ApiToken) -> bool:
        return obj.revoked_at is not None

    @admin.action(description="Revoke the selected tokens", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        actor = admin_actor(request)
        count = 0
        for token_id, brand_id in queryset.filter(revoked_at__isnull=True).values_list("id", "brand_id"):
            api_token_revoke(token_id=token_id, brand_id=brand_id, actor=actor)
            count += 1
        self.message_user(request, f"Revoked {count} token(s).", messages.SUCCESS)


class IntegrationSecretForm(forms.ModelForm):
    """The secret is write-only: the field is always rendered empty and sets a new value."""

    new_secret = forms.CharField(
        label="New signing secret",
        required=False,
        min_length=8,
        max_length=500,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only: the stored secret is never shown. Leave empty to keep it.",
    )

    class Meta:
        model = IntegrationSecret
        fields = ["brand", "integration"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.instance.pk is None and not data.get("new_secret"):
            self.add_error("new_secret", "A new integration needs its signing secret.")
        return data


@admin.register(IntegrationSecret)
class IntegrationSecretAdmin(BrandScopedAdmin):
    form = IntegrationSecretForm
    list_display = ["brand", "integration", "created_at", "updated_at"]
    list_filter = ["integration"]
    list_select_related = ["brand"]

    def get_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        return ["brand", "integration", "new_secret", "updated_at"] if obj else ["brand", "integration", "new_secret"]

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> Any:
        # One secret per brand and integration: to use another pair, add a new row.
        return ["brand", "integration", "updated_at"] if obj else []

    def save_model(self, request: HttpRequest, obj: IntegrationSecret, form: Any, change: bool) -> None:
        secret = form.cleaned_data.get("new_secret")
        if not secret:
            return  # nothing else on the row is editable
        try:
            saved = brand_secret_set(
                slug=obj.brand.slug,
                integration=Integration(obj.integration),
                secret=secret,
                actor=admin_actor(request),
            )
        except DomainError as exc:  # validated by the form already; kept as a message, not a 500
            self.message_user(request, exc.message, messages.ERROR)
            return
        obj.pk = saved.pk
        obj.secret = saved.secret
        obj.created_at, obj.updated_at = saved.created_at, saved.updated_at
