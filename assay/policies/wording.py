"""The shopper-facing sentences of a decision: the terms, and why a window is closed.

"Refund until 21 June 2026; store credit or exchange until 21 July 2026"
"The 30-day refund window closed on 3 May 2026; exchange or store credit until 2 June 2026"
"The return window closed on 30 April 2026 (60 days from delivery)"
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime

MONTHS = (
    "", "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
RESOLUTION_WORDS = {"refund": "refund", "store_credit": "store credit", "exchange": "exchange"}
SIZE_ONLY_WORDS = "exchange for another size"
_DAY_CACHE_MAX = 4096


def day_text(moment: datetime | date, zone: zoneinfo.ZoneInfo | None = None) -> str:
    """3 May 2026: the calendar day of a moment in the policy's time zone."""
    if isinstance(moment, datetime) and zone is not None:
        moment = moment.astimezone(zone)
    return f"{moment.day} {MONTHS[moment.month]} {moment.year}"


class Wording:
    """Sentences for one policy (its time zone). Remembers the day texts it wrote (the lines of an
    order share their windows) and, per combination of resolutions, how to group them."""

    __slots__ = ("_days", "_plans", "zone")

    def __init__(self, zone: zoneinfo.ZoneInfo) -> None:
        self.zone = zone
        self._days: dict[datetime, str] = {}
        self._plans: dict[tuple[tuple[str, ...], bool, bool, bool], tuple[tuple[bool, str], ...]] = {}

    def day(self, moment: datetime) -> str:
        text = self._days.get(moment)
        if text is None:
            if len(self._days) >= _DAY_CACHE_MAX:
                self._days.clear()
            text = self._days[moment] = day_text(moment, self.zone)
        return text

    def terms(
        self,
        note: str,
        allowed: tuple[str, ...],
        offered: tuple[str, ...],
        refund_until: datetime,
        exchange_until: datetime,
        credit_by_refund: bool,
        refund_days: int,
        size_only: bool,
        extended: bool,
    ) -> str:
        """What the shopper may still do and until when, after the rule's note if it has one."""
        same = refund_until == exchange_until
        key = (offered, credit_by_refund, size_only, same)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = _plan(offered, credit_by_refund, size_only, same)
        text = "; ".join(
            [f"{words} until {self.day(refund_until if by_refund else exchange_until)}" for by_refund, words in plan]
        )
        if len(offered) < len(allowed):
            closed = [r for r in allowed if r not in offered]
            by_refund = [r == "refund" or (r == "store_credit" and credit_by_refund) for r in closed]
            closing = (
                refund_until
                if all(by_refund)
                else exchange_until
                if not any(by_refund)
                else max(refund_until, exchange_until)
            )
            what = " and ".join(_words(r, size_only) for r in closed)
            window = f"{refund_days}-day {what}" if closed == ["refund"] and not extended else what
            text = f"The {window} window closed on {self.day(closing)}; {text[:1].lower()}{text[1:]}"
        if note:
            return f"{note}{'' if note[-1] in '.!?' else '.'} {text}"
        return text

    def closed(self, *, closing: datetime, days: int, since: str, extended: bool) -> str:
        """Every window has closed."""
        if extended:
            return f"The return window closed on {self.day(closing)}"
        return f"The return window closed on {self.day(closing)} ({days} days from {since})"


def _plan(
    offered: tuple[str, ...], credit_by_refund: bool, size_only: bool, same: bool
) -> tuple[tuple[bool, str], ...]:
    """Resolutions grouped by the window they follow, in the order offered: ((by refund window?, words), ...).
    Neighbours closing at the same moment share a clause: "store credit or exchange until ..."."""
    groups: list[tuple[bool, list[str]]] = []
    for resolution in offered:
        by_refund = resolution == "refund" or (resolution == "store_credit" and credit_by_refund)
        if groups and (same or groups[-1][0] == by_refund):
            groups[-1][1].append(_words(resolution, size_only))
        else:
            groups.append((by_refund, [_words(resolution, size_only)]))
    plan = [(by_refund, " or ".join(words)) for by_refund, words in groups]
    first_by_refund, first_words = plan[0]
    plan[0] = (first_by_refund, first_words[:1].upper() + first_words[1:])
    return tuple(plan)


def _words(resolution: str, size_only: bool) -> str:
    if resolution == "exchange" and size_only:
        return SIZE_ONLY_WORDS
    return RESOLUTION_WORDS[resolution]
