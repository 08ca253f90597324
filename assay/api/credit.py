"""Store credit for staff clients and checkouts: a shopper's balances and ledger, spending credit on an
order, and staff adjustments. Amounts are decimal strings in the currency's minor units.

Spending is keyed by the order that spends it (`reference`): the same order spending again is
answered with the first entry, never charged twice; a different amount under the same reference is
refused (409). Every call also honours `Idempotency-Key`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from assay.api.auth import caller
from assay.api.idempotency import idempotent
from assay.api.returns import DECIDING_ROLES, TEXT, WORDS
from assay.api.schemas import MONEY, ErrorOut
from assay.core.errors import PermissionDenied
from assay.core.money import money_string
from assay.resolutions.credit import credit_adjust, credit_balances, credit_history, credit_redeem

router = Router()

_ERRORS: dict[int, Any] = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
AMOUNT = r"^\d{1,9}(\.\d{1,4})?$"
SIGNED_AMOUNT = r"^-?\d{1,9}(\.\d{1,4})?$"
EMAIL = r"^[^\s@\x00]{1,200}@[^\s@\x00]{1,200}$"


class BalanceOut(Schema):
    currency: str
    amount: str = Field(description=MONEY)


class EntryOut(Schema):
    id: int
    kind: str = Field(description="issue, redeem, expire or adjust")
    currency: str
    amount: str = Field(description=f"positive adds credit, negative takes it; {MONEY}")
    reason: str
    actor: str
    expires_at: datetime | None
    created_at: datetime


class CreditOut(Schema):
    email: str
    balances: list[BalanceOut] = Field(description="per currency; the sum of the entries")
    entries: list[EntryOut] = Field(description="the latest entries, newest first")


class RedeemIn(Schema):
    email: str = Field(max_length=254, pattern=EMAIL)
    currency: str = Field(min_length=3, max_length=3, pattern=r"^[A-Za-z]{3}$")
    amount: str = Field(pattern=AMOUNT, description=f"what the order spends; {MONEY}")
    reference: str = Field(
        min_length=1, max_length=100, pattern=WORDS, description="the order that spends it, e.g. its number"
    )


class AdjustIn(Schema):
    email: str = Field(max_length=254, pattern=EMAIL)
    currency: str = Field(min_length=3, max_length=3, pattern=r"^[A-Za-z]{3}$")
    amount: str = Field(pattern=SIGNED_AMOUNT, description=f"positive adds, negative takes; {MONEY}")
    reason: str = Field(max_length=300, pattern=WORDS, description="why; kept with the entry")
    reference: str = Field(
        "", max_length=100, pattern=TEXT, description="your id for this adjustment; the same one never books twice"
    )


def _entry_out(entry: Any) -> dict[str, Any]:
    currency = entry.account.currency
    return {
        "id": entry.pk,
        "kind": entry.kind,
        "currency": currency,
        "amount": money_string(entry.amount, currency),
        "reason": entry.reason,
        "actor": entry.actor,
        "expires_at": entry.expires_at,
        "created_at": entry.created_at,
    }


def _credit_out(brand_id: int, email: str) -> dict[str, Any]:
    email = email.strip().lower()
    return {
        "email": email,
        "balances": [
            {"currency": b.currency, "amount": money_string(b.amount, b.currency)}
            for b in credit_balances(brand_id=brand_id, email=email)
        ],
        "entries": [_entry_out(e) for e in credit_history(brand_id=brand_id, email=email)],
    }


@router.post(
    "/redeem",
    response={201: EntryOut, **_ERRORS},
    operation_id="store_credit_redeem",
    summary="Spend store credit on an order",
)
@idempotent()
def store_credit_redeem(request: HttpRequest, body: RedeemIn) -> Status[dict[str, Any]]:
    """Take `amount` from the shopper's balance for the order `reference`. 409 when the balance is
    smaller, or when the reference spent another amount before; the same spend again answers the
    first entry."""
    who = caller(request)
    entry = credit_redeem(
        brand_id=who.brand_id,
        email=body.email,
        currency=body.currency,
        amount=Decimal(body.amount),
        key=f"redeem:{body.reference.strip()}",
        actor=who.actor,
        reason=f"spent on {body.reference.strip()}",
    )
    return Status(201, _entry_out(entry))


@router.post(
    "/adjust",
    response={201: EntryOut, **_ERRORS},
    operation_id="store_credit_adjust",
    summary="Adjust a shopper's store credit",
)
@idempotent()
def store_credit_adjust(request: HttpRequest, body: AdjustIn) -> Status[dict[str, Any]]:
    """Add (positive) or take (negative) credit with a reason: owner and ops tokens only. Never below zero."""
    who = caller(request)
    if who.role not in DECIDING_ROLES:
        raise PermissionDenied(f"a {who.role} token cannot adjust store credit; use an owner or ops token")
    reference = body.reference.strip() or request.headers.get("Idempotency-Key", "") or _fresh()
    entry = credit_adjust(
        brand_id=who.brand_id,
        email=body.email,
        currency=body.currency,
        amount=Decimal(body.amount),
        key=f"adjust:{reference}"[:120],
        actor=who.actor,
        reason=body.reason,
    )
    return Status(201, _entry_out(entry))


# Last: its path would otherwise take /redeem and /adjust as e-mail addresses.
@router.get(
    "/{email}",
    response={200: CreditOut, 401: ErrorOut, 422: ErrorOut},
    operation_id="store_credit_read",
    summary="A shopper's store credit",
)
def store_credit_read(request: HttpRequest, email: str) -> dict[str, Any]:
    """Balances per currency and the latest 50 entries of the shopper's ledger (none: empty lists)."""
    return _credit_out(caller(request).brand_id, email[:254])


def _fresh() -> str:
    import uuid

    return uuid.uuid4().hex
