"""Brands (tenants), the people who work for them, API tokens and integration secrets."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

from assay.core.models import TimeStamped

slug_validator = RegexValidator(r"^[a-z0-9][a-z0-9-]{1,48}[a-z0-9]$", "3-50 lowercase letters, digits or hyphens")
colour_validator = RegexValidator(r"^#[0-9a-fA-F]{6}$", "a colour like #1f2937")


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    OPS = "ops", "Operations"
    INSPECTOR = "inspector", "Inspector"
    BENCH = "bench", "Bench jeweller"
    COPYWRITER = "copywriter", "Copywriter"
    REVIEWER = "reviewer", "Reviewer"
    MARKETING = "marketing", "Marketing"


class Integration(models.TextChoices):
    SHOPIFY = "shopify", "Shopify"
    SHOPIFY_ADMIN = "shopify_admin", "Shopify Admin API access token"
    BIGCOMMERCE = "bigcommerce", "BigCommerce"
    EASYPOST = "easypost", "EasyPost"
    SHIPPO = "shippo", "Shippo"
    AFTERSHIP = "aftership", "AfterShip"
    STRIPE = "stripe", "Stripe"


class Brand(TimeStamped):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=50, unique=True, validators=[slug_validator])
    logo_url = models.CharField(max_length=500, blank=True)
    primary_colour = models.CharField(max_length=7, default="#1f2937", validators=[colour_validator])
    accent_colour = models.CharField(max_length=7, default="#b08d57", validators=[colour_validator])
    sender_email = models.EmailField(blank=True)
    locale = models.CharField(max_length=10, default="en")
    currency = models.CharField(max_length=3, default="USD")
    timezone = models.CharField(max_length=60, default="UTC")
    shop_domain = models.CharField(max_length=255, blank=True, help_text="e.g. aurelia.myshopify.com")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(TimeStamped):
    """A person's role in one brand; a person can belong to several brands."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "brand"], name="membership_unique_user_brand")]

    def __str__(self) -> str:
        return f"{self.user} - {self.brand} ({self.role})"


class ApiToken(TimeStamped):
    """A bearer token scoped to one brand and role. Only a SHA-256 of the secret is stored."""

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="api_tokens")
    role = models.CharField(max_length=20, choices=Role.choices)
    name = models.CharField(max_length=120, blank=True)
    prefix = models.CharField(max_length=16, db_index=True, help_text="the first characters, to recognise it")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}... ({self.brand.slug}, {self.role})"


class IntegrationSecret(TimeStamped):
    """The signing secret an outside system uses for this brand. Written, never rendered back."""

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="integration_secrets")
    integration = models.CharField(max_length=30, choices=Integration.choices)
    secret = models.CharField(max_length=500, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["brand", "integration"], name="integration_secret_unique_brand_integration")
        ]

    def __str__(self) -> str:
        return f"{self.brand.slug} / {self.integration} (set)"
