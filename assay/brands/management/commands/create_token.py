"""`assay create_token SLUG --role ROLE`: prints a new API token once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from assay.brands.management.commands._base import OPERATOR, fail
from assay.brands.models import Role
from assay.brands.services import api_token_create
from assay.core.errors import DomainError


class Command(BaseCommand):
    help = "Create an API token for a brand and role. The token is printed once and stored only as a hash."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("slug")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--name", default="", help="a label to recognise the token by")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            issued = api_token_create(slug=options["slug"], role=options["role"], name=options["name"], actor=OPERATOR)
        except DomainError as exc:
            raise fail(exc) from None
        # Only the token on stdout, so scripts can capture it; the note goes to stderr.
        self.stdout.write(issued.raw)
        self.stderr.write(f"Token for '{options['slug']}' ({options['role']}); it will not be shown again.")
