"""`assay worker`: run the task worker (Huey consumer) for queued and periodic tasks."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the background task worker."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--workers", type=int, default=None, help="worker threads (default from settings)")

    def handle(self, *args: Any, **options: Any) -> None:
        extra = ["--workers", str(options["workers"])] if options["workers"] else []
        call_command("run_huey", *extra)
