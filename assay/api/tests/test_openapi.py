"""The committed openapi.json is the contract other systems build against: it must not drift."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

from django.conf import settings
from django.core.management import call_command

from assay.api.management.commands.export_openapi import openapi_document

COMMITTED = Path(settings.BASE_DIR) / "openapi.json"


def test_the_committed_openapi_json_matches_the_api():
    generated = openapi_document()
    committed = COMMITTED.read_text(encoding="utf-8") if COMMITTED.exists() else ""

    assert committed == generated, (
        "openapi.json differs from the API's schema: if the change is intended, run `make openapi` "
        "and commit openapi.json with it"
    )


def test_export_openapi_prints_the_schema_with_sorted_keys_and_two_space_indent():
    out = StringIO()

    call_command("export_openapi", stdout=out)

    schema = json.loads(out.getvalue())
    assert out.getvalue() == json.dumps(schema, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    assert schema["openapi"].startswith("3.")
    assert set(schema["paths"]) >= {"/api/v1/orders", "/api/v1/products", "/api/v1/webhook-events"}
    assert schema["components"]["securitySchemes"] == {
        "TokenAuth": {"scheme": "bearer", "type": "http"},
        "PortalToken": {"scheme": "bearer", "type": "http"},  # the shopper's token from POST /portal/lookup
    }
