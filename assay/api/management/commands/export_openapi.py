"""Print the API's OpenAPI schema as the committed openapi.json has it (`make openapi`)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand

from assay.api.urls import api


def openapi_document() -> str:
    """The schema as text: sorted keys, indent 2, a final newline - stable for diffs."""
    return json.dumps(api.get_openapi_schema(), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


class Command(BaseCommand):
    help = "Print the OpenAPI schema of /api/v1/ (JSON, sorted keys, indent 2)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(openapi_document(), ending="")
