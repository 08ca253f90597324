"""`assay brand_secret SLUG --integration NAME --secret S`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from assay.brands.management.commands._base import OPERATOR, fail
from assay.brands.models import Integration
from assay.brands.services import brand_secret_set
from assay.core.errors import DomainError


class Command(BaseCommand):
    help = "Set (or rotate) the signing secret an integration uses for a brand's webhooks."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("slug")
        parser.add_argument("--integration", required=True, choices=Integration.values)
        parser.add_argument("--secret", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            brand_secret_set(
                slug=options["slug"], integration=options["integration"], secret=options["secret"], actor=OPERATOR
            )
        except DomainError as exc:
            raise fail(exc) from None
        # The secret itself is never echoed back.
        self.stdout.write(f"Set the {options['integration']} signing secret for '{options['slug']}'.")
