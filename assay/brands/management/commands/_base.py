"""Operator commands share one shape: parse, call a service, print the result or a clear error."""

from __future__ import annotations

from django.core.management.base import CommandError

from assay.core.audit import Actor
from assay.core.errors import DomainError

OPERATOR = Actor(kind="operator", label="command line")


def fail(exc: DomainError) -> CommandError:
    return CommandError(exc.message)
