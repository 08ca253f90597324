"""The store credit ledger: entries are only ever added; a balance is the sum of its entries.

Each entry is booked under its account's row lock and refused when it would take the balance below
zero, so two redemptions at once cannot spend the same credit. Each carries an idempotency key:
booking the same key again returns the first entry (and refuses a different amount under it).
Expiry follows the credit: what is left of each credit when it expires is taken back; spending takes
from the credits held at the time, the earliest-expiring first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from assay.core.audit import Actor
from assay.core.errors import Conflict, InvalidInput
from assay.core.money import minor_round, normalise_currency
from assay.resolutions.models import CreditAccount, CreditEntry, CreditEntryKind

ZERO = Decimal(0)
MAX_AMOUNT = Decimal(10) ** 9  # well inside the MoneyField's 10 integer digits, with room for sums
K = CreditEntryKind


def _account(
    *, brand_id: int, email: str, currency: str, customer_id: int | None, create: bool
) -> CreditAccount | None:
    email = (email or "").strip().lower()
    if not email:
        raise InvalidInput("store credit needs the shopper's e-mail address")
    found = CreditAccount.objects.select_for_update().filter(brand_id=brand_id, email=email, currency=currency).first()
    if found is not None or not create:
        return found
    try:
        with transaction.atomic():
            CreditAccount.objects.create(brand_id=brand_id, email=email, currency=currency, customer_id=customer_id)
    except IntegrityError:
        pass  # opened at the same moment by another booking: lock that one
    return CreditAccount.objects.select_for_update().get(brand_id=brand_id, email=email, currency=currency)


def _balance(account: CreditAccount) -> Decimal:
    # Added up here, not by the database: SQLite sums decimals as floats (0.1 + 0.2 - 0.3 != 0).
    return sum(CreditEntry.objects.filter(account=account).values_list("amount", flat=True), ZERO)


@transaction.atomic
def credit_book(
    *,
    brand_id: int,
    email: str,
    currency: str,
    kind: str,
    amount: Decimal,
    key: str,
    actor: Actor,
    reason: str = "",
    customer_id: int | None = None,
    expires_at: datetime | None = None,
    payout_id: int | None = None,
    expires_entry_id: int | None = None,
) -> CreditEntry:
    """Add one entry. `amount` is signed: issue > 0; redeem and expire < 0; adjust either way.

    Raises Conflict when it would take the balance below zero, or when `key` was booked before with
    another amount; returns the first entry when it was booked with the same one.
    """
    currency = normalise_currency(currency)
    if kind not in K.values:
        raise InvalidInput(f"'{kind}' is not a kind of store credit entry")
    if not amount.is_finite() or abs(amount) >= MAX_AMOUNT or minor_round(amount, currency) != amount:
        raise InvalidInput(f"{amount} is not an amount in {currency}")
    if (kind == K.ISSUE and amount <= 0) or (kind in (K.REDEEM, K.EXPIRE) and amount >= 0) or amount == 0:
        raise InvalidInput(f"a {kind} of {amount} {currency} is not possible")
    if not key or len(key) > 120:
        raise InvalidInput("an entry needs an idempotency key of at most 120 characters")
    account = _account(brand_id=brand_id, email=email, currency=currency, customer_id=customer_id, create=amount > 0)
    if account is None:
        raise Conflict(f"{email} has no store credit in {currency}")
    earlier = CreditEntry.objects.filter(brand_id=brand_id, key=key).first()
    if earlier is not None:
        if (earlier.account_id, earlier.kind, earlier.amount) != (account.pk, kind, amount):
            raise Conflict(f"the key '{key}' was already used for another store credit entry")
        return earlier
    balance = _balance(account)
    if balance + amount < 0:
        shown, asked = minor_round(balance, currency), minor_round(-amount, currency)
        raise Conflict(f"the store credit balance is {shown} {currency}: {asked} {currency} cannot be taken")
    return CreditEntry.objects.create(
        brand_id=brand_id,
        account=account,
        kind=kind,
        amount=amount,
        key=key,
        reason=reason[:300],
        actor=actor.label[:200],
        expires_at=expires_at if amount > 0 else None,
        payout_id=payout_id,
        expires_entry_id=expires_entry_id,
    )


def credit_redeem(
    *, brand_id: int, email: str, currency: str, amount: Decimal, key: str, actor: Actor, reason: str = ""
) -> CreditEntry:
    """Spend credit (an order paid with it): `amount` > 0 is taken from the balance."""
    if amount <= 0:
        raise InvalidInput("the amount to redeem must be more than zero")
    return credit_book(
        brand_id=brand_id,
        email=email,
        currency=currency,
        kind=K.REDEEM,
        amount=-amount,
        key=key,
        actor=actor,
        reason=reason,
    )


def credit_adjust(
    *, brand_id: int, email: str, currency: str, amount: Decimal, key: str, actor: Actor, reason: str
) -> CreditEntry:
    """Staff correct a balance up or down; `reason` is required and kept with the entry."""
    if not (reason or "").strip():
        raise InvalidInput("say why the store credit is adjusted")
    return credit_book(
        brand_id=brand_id,
        email=email,
        currency=currency,
        kind=K.ADJUST,
        amount=amount,
        key=key,
        actor=actor,
        reason=reason,
    )


@dataclass(frozen=True, slots=True)
class Balance:
    currency: str
    amount: Decimal


def credit_balances(*, brand_id: int, email: str) -> list[Balance]:
    """A shopper's store credit at a brand, one balance per currency (one query)."""
    totals: dict[str, Decimal] = {}
    rows = CreditEntry.objects.filter(brand_id=brand_id, account__email=(email or "").strip().lower()).values_list(
        "account__currency", "amount"
    )
    for currency, amount in rows:  # summed here: SQLite would sum decimals as floats
        totals[currency] = totals.get(currency, ZERO) + amount
    return [Balance(currency, totals[currency]) for currency in sorted(totals)]


def credit_history(*, brand_id: int, email: str, limit: int = 50) -> list[CreditEntry]:
    """A shopper's latest ledger entries at a brand, newest first (one query)."""
    return list(
        CreditEntry.objects.filter(brand_id=brand_id, account__email=(email or "").strip().lower())
        .select_related("account")
        .order_by("-id")[:limit]
    )


def _remaining_credits(entries: list[CreditEntry]) -> dict[int, Decimal]:
    """What is left of each credit (issue or upward adjustment), replaying the ledger in order: each
    spend takes from the credits held at that moment, the earliest-expiring first, so credit issued
    after a spend is untouched by it; an expiry takes from its own credit."""
    remaining: dict[int, Decimal] = {}
    expiry: dict[int, tuple[bool, Any, int]] = {}
    for entry in sorted(entries, key=lambda e: e.pk):
        if entry.amount > 0:
            remaining[entry.pk] = entry.amount
            expiry[entry.pk] = (entry.expires_at is None, entry.expires_at, entry.pk)
        elif entry.kind == K.EXPIRE and entry.expires_entry_id in remaining:
            remaining[entry.expires_entry_id] = max(remaining[entry.expires_entry_id] + entry.amount, ZERO)
        else:
            owed = -entry.amount
            for credit_id in sorted(remaining, key=lambda pk: expiry[pk]):
                if owed <= 0:
                    break
                used = min(remaining[credit_id], owed)
                remaining[credit_id] -= used
                owed -= used
    return remaining


def credits_expire_due(*, now: datetime | None = None) -> int:
    """Daily: take back what is left of credits whose expiry passed. Returns how many expired."""
    now = now or timezone.now()
    accounts = (
        CreditEntry.objects.filter(expires_at__lte=now, amount__gt=0).values_list("account_id", flat=True).distinct()
    )
    expired = 0
    for account_id in list(accounts):
        with transaction.atomic():
            account = CreditAccount.objects.select_for_update().get(pk=account_id)
            entries = list(CreditEntry.objects.filter(account=account).order_by("id"))
            remaining = _remaining_credits(entries)
            for entry in entries:
                left = remaining.get(entry.pk, ZERO)
                if entry.expires_at is None or entry.expires_at > now or left <= 0:
                    continue
                credit_book(
                    brand_id=account.brand_id,
                    email=account.email,
                    currency=account.currency,
                    kind=K.EXPIRE,
                    amount=-left,
                    key=f"expire:{entry.pk}:{entry.expires_at.isoformat()}",
                    actor=Actor.system("store credit expiry"),
                    reason=f"credit of {entry.created_at:%Y-%m-%d} expired",
                    expires_entry_id=entry.pk,
                )
                expired += 1
    return expired
