"""Returns ready to settle: the returns tests' shop, plus helpers to move lines along and providers to steer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from assay.policies.models import PolicyVersion
from assay.policies.services import policy_version_publish
from assay.resolutions.providers import (
    PayoutInstruction,
    ProviderAccount,
    ProviderError,
    ProviderOutcome,
    provider_named,
    register,
)
from assay.returns.models import ReturnLine, ReturnRequest
from assay.returns.services import return_line_move
from assay.returns.tests.conftest import SYSTEM, other_shop, shop

__all__ = ["other_shop", "shop"]


def move_lines(request: ReturnRequest, *states: str) -> None:
    """Walk every line of the request through `states` (e.g. in_transit, received, inspected)."""
    for line in ReturnLine.objects.filter(request=request).order_by("id"):
        for state in states:
            return_line_move(brand_id=request.brand_id, line_id=line.pk, to=state, actor=SYSTEM, why="test")


def set_resolution_terms(brand_id: int, **terms: Any) -> None:
    """Publish the brand's current policy again with these resolution settings."""
    current = PolicyVersion.objects.filter(brand_id=brand_id).order_by("-number").first()
    document = dict(current.document) if current is not None else {}
    document["resolution"] = {**document.get("resolution", {}), **terms}
    policy_version_publish(brand_id=brand_id, document=document, actor=SYSTEM, note="test terms")


class ScriptedProvider:
    """A provider whose answers a test scripts: a queue of outcomes or errors, then success.

    It keeps what it paid by key, as real providers do, and counts the calls that really paid.
    `crash_after_paying` raises a BaseException after paying: a worker killed before its write-back.
    """

    name = "scripted"
    kinds = frozenset({"refund", "gift_card", "coupon"})

    def __init__(self) -> None:
        self.script: list[ProviderOutcome | ProviderError] = []
        self.paid: dict[str, ProviderOutcome] = {}
        self.submits = 0
        self.lookups = 0
        self.crash_after_paying = False

    def submit(self, instruction: PayoutInstruction, account: ProviderAccount) -> ProviderOutcome:
        self.submits += 1
        if self.script:
            step = self.script.pop(0)
            if isinstance(step, ProviderError):
                raise step
            return step
        outcome = self.paid.setdefault(
            instruction.key, ProviderOutcome(status="succeeded", reference=f"sc_{len(self.paid) + 1}")
        )
        if self.crash_after_paying:
            self.crash_after_paying = False
            raise WorkerKilled
        return outcome

    def lookup(self, instruction: PayoutInstruction, account: ProviderAccount) -> ProviderOutcome | None:
        self.lookups += 1
        return self.paid.get(instruction.key)


class WorkerKilled(BaseException):
    """Not an Exception: nothing in the payout code may catch it, as nothing survives a SIGKILL."""


@pytest.fixture
def scripted() -> Iterator[ScriptedProvider]:
    before = provider_named("scripted")
    provider = ScriptedProvider()
    register(provider)
    yield provider
    if before is not None:
        register(before)
