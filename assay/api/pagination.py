"""Query parameters every list shares: limit and offset, and clean text filters."""

from __future__ import annotations

from typing import Any

from ninja import Schema
from pydantic import ConfigDict, Field, field_validator

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_OFFSET = 1_000_000_000


NO_NUL = r"^[^\x00]*$"


def _no_nul_in_the_schema(schema: dict[str, Any]) -> None:
    # The validator below refuses NUL in every text filter; the schema says so, so that clients (and
    # schema-driven tests) know such a value is invalid input, not a valid one refused.
    for spec in schema.get("properties", {}).values():
        if spec.get("type") == "string" and "format" not in spec and "enum" not in spec:
            spec.setdefault("pattern", NO_NUL)


class ListParams(Schema):
    """Base of every list's query: paging, and text filters that are trimmed and free of NUL."""

    model_config = ConfigDict(json_schema_extra=_no_nul_in_the_schema)

    limit: int = Field(
        DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=f"items per page, 1 to {MAX_LIMIT} (default {DEFAULT_LIMIT})"
    )
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="how many matching items to skip")

    @field_validator("*", mode="after")
    @classmethod
    def _clean_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            # PostgreSQL refuses NUL in text parameters: refuse it here as bad input, not a 500 later.
            if "\x00" in value:
                raise ValueError("must not contain NUL characters")
            return value.strip()
        return value
