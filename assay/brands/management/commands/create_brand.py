"""`assay create_brand SLUG --name NAME`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from assay.brands.management.commands._base import OPERATOR, fail
from assay.brands.services import brand_create
from assay.core.errors import DomainError


class Command(BaseCommand):
    help = "Create a brand (a tenant): its slug is used in URLs such as /returns/<slug>/."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--currency", default="USD", help="ISO 4217 code (default USD)")
        parser.add_argument("--timezone", default="UTC")
        parser.add_argument("--sender-email", default="")
        parser.add_argument("--shop-domain", default="", help="e.g. aurelia.myshopify.com")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            brand = brand_create(
                slug=options["slug"],
                name=options["name"],
                currency=options["currency"],
                actor=OPERATOR,
                timezone=options["timezone"],
                sender_email=options["sender_email"],
                shop_domain=options["shop_domain"],
            )
        except DomainError as exc:
            raise fail(exc) from None
        self.stdout.write(f"Created brand '{brand.slug}' ({brand.name}, {brand.currency}).")
