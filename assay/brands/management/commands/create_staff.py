"""`assay create_staff SLUG EMAIL --role ROLE --password P`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from assay.brands.management.commands._base import OPERATOR, fail
from assay.brands.models import Role
from assay.brands.services import staff_add
from assay.core.errors import DomainError


class Command(BaseCommand):
    help = "Add a person to a brand with a role (creating their login if new). A person can work for several brands."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("slug")
        parser.add_argument("email")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--password", default=None, help="required for a new person; resets an existing one's")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            membership = staff_add(
                slug=options["slug"],
                email=options["email"],
                role=options["role"],
                password=options["password"],
                actor=OPERATOR,
            )
        except DomainError as exc:
            raise fail(exc) from None
        self.stdout.write(f"{membership.user.get_username()} is {membership.role} at '{options['slug']}'.")
