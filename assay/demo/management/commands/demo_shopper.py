"""`assay demo_shopper`: an order number and e-mail to try the returns portal with."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from assay.demo.services import demo_shopper_example


class Command(BaseCommand):
    help = "Print a demo order (number and e-mail) whose ring can still be exchanged for another size."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--brand", default="aurelia", help="brand slug (default %(default)s)")

    def handle(self, *args: Any, **options: Any) -> None:
        example = demo_shopper_example(slug=options["brand"])
        if example is None:
            self.stdout.write(
                "no order to try: none can be returned today (fresh demo data: `assay seed_demo --reset`)"
            )
            return
        number, email = example
        self.stdout.write(f"order {number} / {email}")
