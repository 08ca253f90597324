"""Integrations register how their events are processed; the store never imports them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from assay.webhooks.models import InboundEvent


@dataclass(frozen=True, slots=True)
class HandlerResult:
    stale: bool
    outcome: str


Handler = Callable[[InboundEvent], HandlerResult]

_HANDLERS: dict[str, Handler] = {}


def register(source: str, handler: Handler) -> None:
    _HANDLERS[source] = handler


def handler_for(source: str) -> Handler | None:
    return _HANDLERS.get(source)


class RetryLater(Exception):
    """A transient failure (the order a fulfilment belongs to has not arrived yet, a timeout)."""
