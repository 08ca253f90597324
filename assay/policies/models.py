"""A brand's return policy as versioned data: every save is a new, immutable version."""

from __future__ import annotations

from django.db import models

from assay.core.models import BrandOwned


class PolicyVersion(BrandOwned):
    """One published version of a brand's return policy. Never edited: a change is a new number.

    The brand's current policy is its highest number; a return records the version that decided it.
    """

    number = models.PositiveIntegerField()
    document = models.JSONField(help_text="the policy document (schema: assay.policies.schema.PolicyDocument)")
    note = models.CharField(max_length=255, blank=True, help_text="what changed and why")
    created_by = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["brand", "number"], name="policy_version_unique_number")]
        ordering = ["brand_id", "-number"]

    def __str__(self) -> str:
        return f"policy v{self.number}"
