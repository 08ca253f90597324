"""The store credit ledger: balances never go below zero, each key books once, and credit expires
with what is left of it.

Hypothesis plays random histories against a small model of one shopper's ledger; the examples at
the end tell the same story one case at a time. Each example starts from an empty ledger, because
the expiry run looks at every account in the database. The examples pin
defects found here once, now fixed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db.models import Max
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from assay.brands.models import Brand
from assay.core.audit import Actor
from assay.core.errors import Conflict, InvalidInput
from assay.resolutions.credit import credit_adjust, credit_balances, credit_book, credit_redeem, credits_expire_due
from assay.resolutions.models import CreditAccount, CreditEntry
from assay.resolutions.models import CreditEntryKind as K

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("test")
ZERO = Decimal(0)
START = datetime(2031, 3, 1, 9, 0, tzinfo=UTC)
ADA = "ada@example.com"

LEDGER = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("250"), places=2)
STEP = Decimal("0.01")
ledger_amounts = st.integers(min_value=1, max_value=int(250 / STEP)).map(lambda n: n * STEP)
signed_amounts = st.tuples(ledger_amounts, st.booleans()).map(lambda pair: pair[0] if pair[1] else -pair[0])
# A handful of keys, so that histories reuse them often.
keys = st.sampled_from([f"key-{n}" for n in range(5)])


# --- helpers ------------------------------------------------------------------------------------


def clean_ledger() -> None:
    # Expiries point at the credit they took back (PROTECT): they go first.
    CreditEntry.objects.filter(expires_entry__isnull=False).delete()
    CreditEntry.objects.all().delete()
    CreditAccount.objects.all().delete()


def balance_of(brand: Brand, email: str = ADA, currency: str = "USD") -> Decimal:
    balances = credit_balances(brand_id=brand.pk, email=email)
    return next((b.amount for b in balances if b.currency == currency), ZERO)


def entries_total(brand: Brand, email: str = ADA, currency: str = "USD") -> Decimal:
    """Added up here, in Decimal, entry by entry."""
    entries = CreditEntry.objects.filter(brand=brand, account__email=email, account__currency=currency)
    return sum(entries.values_list("amount", flat=True), ZERO)


def ledger_size() -> tuple[int, int]:
    """Entries and accounts: a refused booking changes neither."""
    return CreditEntry.objects.count(), CreditAccount.objects.count()


def issue(
    brand: Brand,
    amount: str | Decimal,
    *,
    key: str,
    email: str = ADA,
    currency: str = "USD",
    expires_at: datetime | None = None,
) -> CreditEntry:
    return credit_book(
        brand_id=brand.pk,
        email=email,
        currency=currency,
        kind=K.ISSUE,
        amount=Decimal(amount),
        key=key,
        actor=SYSTEM,
        reason="return credit",
        expires_at=expires_at,
    )


def redeem(brand: Brand, amount: str | Decimal, *, key: str, email: str = ADA, currency: str = "USD") -> CreditEntry:
    return credit_redeem(
        brand_id=brand.pk, email=email, currency=currency, amount=Decimal(amount), key=key, actor=SYSTEM
    )


def expire_and_check(brand: Brand, *, now: datetime, email: str = ADA) -> list[CreditEntry]:
    """Run the expiry at `now`, check what any expiry must satisfy, and return the entries it added."""
    last_id = CreditEntry.objects.aggregate(last=Max("id"))["last"] or 0
    reported = credits_expire_due(now=now)
    added = list(CreditEntry.objects.filter(id__gt=last_id).select_related("expires_entry").order_by("id"))
    assert reported == len(added)
    for entry in added:
        credit = entry.expires_entry
        assert entry.kind == K.EXPIRE
        assert entry.amount < 0
        assert credit is not None
        assert credit.account_id == entry.account_id
        assert credit.expires_at is not None
        assert credit.expires_at <= now

    entries = list(CreditEntry.objects.filter(brand=brand, account__email=email))
    credits = [e for e in entries if e.amount > 0]
    for credit in credits:
        taken_back = -sum((e.amount for e in entries if e.expires_entry_id == credit.pk), ZERO)
        assert taken_back <= credit.amount
    still_running = sum((c.amount for c in credits if c.expires_at is None or c.expires_at > now), ZERO)
    balance = balance_of(brand, email)
    assert ZERO <= balance == sum((e.amount for e in entries), ZERO)
    # Whatever was spent from what: after the run, only credit that has not expired can be left.
    assert balance <= still_running

    size = ledger_size()
    assert credits_expire_due(now=now) == 0
    assert ledger_size() == size
    return added


# --- 1. random histories: never below zero, always the sum, refusals write nothing -------------


@dataclass(frozen=True)
class Issue:
    amount: Decimal
    key: str
    expires_in_days: int | None


@dataclass(frozen=True)
class Redeem:
    amount: Decimal
    key: str


@dataclass(frozen=True)
class Adjust:
    amount: Decimal
    key: str


@dataclass(frozen=True)
class RunExpiry:
    days_later: int


@dataclass(frozen=True)
class Repeat:
    """Send an earlier booking again, exactly as it was (a retry)."""

    nth: int


Booking = Issue | Redeem | Adjust

histories = st.lists(
    st.one_of(
        st.builds(Issue, amount=ledger_amounts, key=keys, expires_in_days=st.none() | st.integers(0, 45)),
        st.builds(Redeem, amount=ledger_amounts, key=keys),
        st.builds(Adjust, amount=signed_amounts, key=keys),
        st.builds(RunExpiry, days_later=st.integers(0, 40)),
        st.builds(Repeat, nth=st.integers(0, 20)),
    ),
    max_size=16,
)


def signed(booking: Booking) -> tuple[str, Decimal]:
    if isinstance(booking, Issue):
        return K.ISSUE, booking.amount
    if isinstance(booking, Redeem):
        return K.REDEEM, -booking.amount
    return K.ADJUST, booking.amount


def book(brand: Brand, booking: Booking, *, now: datetime) -> CreditEntry:
    if isinstance(booking, Issue):
        days = booking.expires_in_days
        return issue(
            brand, booking.amount, key=booking.key, expires_at=None if days is None else now + timedelta(days=days)
        )
    if isinstance(booking, Redeem):
        return redeem(brand, booking.amount, key=booking.key)
    return credit_adjust(
        brand_id=brand.pk,
        email=ADA,
        currency="USD",
        amount=booking.amount,
        key=booking.key,
        actor=SYSTEM,
        reason="goodwill",
    )


@LEDGER
@given(history=histories)
def test_no_history_takes_the_balance_below_zero_and_a_refusal_writes_nothing(
    brand: Brand, history: list[Issue | Redeem | Adjust | RunExpiry | Repeat]
) -> None:
    clean_ledger()
    now = START
    balance = ZERO
    booked: dict[str, tuple[str, Decimal, int]] = {}  # key -> kind, amount, entry id
    sent: list[Booking] = []
    for step in history:
        if isinstance(step, RunExpiry):
            # The clock only moves forward: credit is issued to expire after the day it is issued.
            now += timedelta(days=step.days_later)
            expire_and_check(brand, now=now)
            balance = balance_of(brand)
            continue
        if isinstance(step, Repeat):
            if not sent:
                continue
            booking = sent[step.nth % len(sent)]
        else:
            booking = step
        sent.append(booking)

        kind, amount = signed(booking)
        earlier = booked.get(booking.key)
        entries_before, accounts_before = ledger_size()
        if earlier is not None and earlier[:2] == (kind, amount):
            assert book(brand, booking, now=now).pk == earlier[2]
            assert ledger_size() == (entries_before, accounts_before)
        elif earlier is not None or balance + amount < 0:
            with pytest.raises(Conflict):
                book(brand, booking, now=now)
            assert ledger_size() == (entries_before, accounts_before)
        else:
            entry = book(brand, booking, now=now)
            booked[booking.key] = (kind, amount, entry.pk)
            balance += amount
            assert CreditEntry.objects.count() == entries_before + 1

        assert ZERO <= balance == balance_of(brand) == entries_total(brand)


# --- 2. idempotency keys ----------------------------------------------------------------------


@LEDGER
@given(kind=st.sampled_from([K.ISSUE, K.REDEEM, K.ADJUST]), amount=amounts, other=amounts, down=st.booleans())
def test_a_key_books_once_and_only_for_its_own_amount(
    brand: Brand, kind: str, amount: Decimal, other: Decimal, down: bool
) -> None:
    assume(other != amount)
    clean_ledger()
    issue(brand, "1000.00", key="opening")
    sign = -1 if kind == K.REDEEM or (kind == K.ADJUST and down) else 1

    def send(value: Decimal, *, email: str = ADA, as_kind: str = kind) -> CreditEntry:
        return credit_book(
            brand_id=brand.pk,
            email=email,
            currency="USD",
            kind=as_kind,
            amount=sign * value,
            key="order-1001",
            actor=SYSTEM,
            reason="retry",
        )

    first = send(amount)
    size = ledger_size()
    again = send(amount)

    assert again.pk == first.pk
    assert ledger_size() == size
    assert balance_of(brand) == Decimal("1000.00") + sign * amount
    with pytest.raises(Conflict):
        send(other)
    with pytest.raises(Conflict):  # the key belongs to Ada's entry, not to another shopper's
        send(amount, email="grace@example.com")
    if kind != K.ADJUST:
        with pytest.raises(Conflict):  # nor to another kind of entry of the same amount
            send(amount, as_kind=K.ADJUST)
    assert ledger_size() == size
    assert balance_of(brand) == Decimal("1000.00") + sign * amount


# --- 3. expiry takes back exactly what is left -------------------------------------------------


@dataclass(frozen=True)
class Credit:
    amount: Decimal
    days_later: int


@dataclass(frozen=True)
class Spend:
    amount: Decimal
    days_later: int
    by_adjustment: bool


@dataclass(frozen=True)
class Expire:
    days_later: int


@dataclass
class HeldCredit:
    entry_id: int
    expires_at: datetime | None
    left: Decimal


class ModelLedger:
    """What the shopper holds, credit by credit: a spend takes from the credit that expires first
    among those held at that moment, and an expiry takes back what is left of each credit due."""

    def __init__(self) -> None:
        self.credits: list[HeldCredit] = []

    @property
    def balance(self) -> Decimal:
        return sum((c.left for c in self.credits), ZERO)

    def add(self, entry: CreditEntry) -> None:
        self.credits.append(HeldCredit(entry.pk, entry.expires_at, entry.amount))

    def spend(self, amount: Decimal) -> None:
        held = [c for c in self.credits if c.left > 0]
        held.sort(key=lambda c: (c.expires_at is None, c.expires_at or START, c.entry_id))
        for credit in held:
            taken = min(credit.left, amount)
            credit.left -= taken
            amount -= taken
        assert amount == 0

    def expire(self, now: datetime) -> dict[int, Decimal]:
        due = {c.entry_id: c.left for c in self.credits if c.expires_at and c.expires_at <= now and c.left > 0}
        for credit in self.credits:
            if credit.entry_id in due:
                credit.left = ZERO
        return due


def play(brand: Brand, steps: Sequence[Credit | Spend | Expire], *, valid_days: int | None) -> None:
    """Play `steps` against the ledger and the model; compare them after every expiry run."""
    model = ModelLedger()
    now = START
    for n, step in enumerate(steps):
        now += timedelta(days=step.days_later)
        if isinstance(step, Credit):
            expires_at = None if valid_days is None else now + timedelta(days=valid_days)
            model.add(issue(brand, step.amount, key=f"credit-{n}", expires_at=expires_at))
        elif isinstance(step, Spend) and step.amount > model.balance:
            with pytest.raises(Conflict):
                redeem(brand, step.amount, key=f"spend-{n}")
        elif isinstance(step, Spend):
            if step.by_adjustment:
                credit_adjust(
                    brand_id=brand.pk,
                    email=ADA,
                    currency="USD",
                    amount=-step.amount,
                    key=f"spend-{n}",
                    actor=SYSTEM,
                    reason="charged back",
                )
            else:
                redeem(brand, step.amount, key=f"spend-{n}")
            model.spend(step.amount)
        else:
            added = expire_and_check(brand, now=now)
            assert {e.expires_entry_id: -e.amount for e in added} == model.expire(now)
        assert balance_of(brand) == model.balance


@LEDGER
@given(
    valid_days=st.integers(0, 60),
    steps=st.lists(
        st.one_of(
            st.builds(Credit, amount=ledger_amounts, days_later=st.integers(0, 20)),
            st.builds(Spend, amount=ledger_amounts, days_later=st.integers(0, 20), by_adjustment=st.booleans()),
            st.builds(Expire, days_later=st.integers(0, 40)),
        ),
        max_size=14,
    ),
)
def test_expiry_takes_back_exactly_what_is_left_of_each_credit_due(
    brand: Brand, valid_days: int, steps: list[Credit | Spend | Expire]
) -> None:
    # A brand issues its credit with one validity period (PayoutSettings.credit_expiry_days), so
    # credits expire in the order they were issued. Credit issued out of that order is the case below.
    clean_ledger()
    play(brand, [*steps, Expire(days_later=valid_days + 1)], valid_days=valid_days)
    assert balance_of(brand) == ZERO  # and in the end all of it expired


def test_credit_issued_after_the_balance_was_spent_still_expires(brand: Brand) -> None:
    # Goodwill that never expires, spent in full; then a return credit valid for 30 days.
    credit_adjust(
        brand_id=brand.pk,
        email=ADA,
        currency="USD",
        amount=Decimal("10.00"),
        key="goodwill",
        actor=SYSTEM,
        reason="late delivery",
    )
    redeem(brand, "10.00", key="order-1")
    issue(brand, "10.00", key="return-1", expires_at=START + timedelta(days=30))

    credits_expire_due(now=START + timedelta(days=30))

    # The 10.00 held now is the return credit (the goodwill went to order-1): it has expired.
    assert balance_of(brand) == ZERO


def test_the_expiry_run_copes_with_a_credit_issued_with_an_earlier_expiry(brand: Brand) -> None:
    issue(brand, "10.00", key="return-1", expires_at=START + timedelta(days=10))
    redeem(brand, "4.00", key="order-1")
    credits_expire_due(now=START + timedelta(days=10))  # takes back 6.00
    # An imported (or late-booked) credit whose expiry is already behind it.
    issue(brand, "10.00", key="import-1", expires_at=START + timedelta(days=5))

    credits_expire_due(now=START + timedelta(days=11))

    assert balance_of(brand) == ZERO


# --- 4. amounts the currency cannot express, zero, and the sign of each kind -------------------


finer_than_cents = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("999"), places=4).filter(
    lambda d: d != d.quantize(Decimal("0.01"))
)
fractional_yen = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999"), places=2).filter(
    lambda d: d != d.to_integral_value()
)


def refused_in_every_kind(brand: Brand, amount: Decimal, *, currency: str) -> None:
    size = ledger_size()
    for kind, value in [(K.ISSUE, amount), (K.ADJUST, amount), (K.ADJUST, -amount), (K.REDEEM, -amount)]:
        with pytest.raises(InvalidInput):
            credit_book(
                brand_id=brand.pk,
                email=ADA,
                currency=currency,
                kind=kind,
                amount=value,
                key="too-fine",
                actor=SYSTEM,
                reason="test",
            )
    with pytest.raises(InvalidInput):
        credit_book(
            brand_id=brand.pk, email=ADA, currency=currency, kind=K.EXPIRE, amount=-amount, key="too-fine", actor=SYSTEM
        )
    assert ledger_size() == size


@LEDGER
@given(usd=finer_than_cents, yen=fractional_yen)
def test_amounts_finer_than_the_currency_allows_are_refused(brand: Brand, usd: Decimal, yen: Decimal) -> None:
    clean_ledger()
    issue(brand, "1000.00", key="opening-usd")
    issue(brand, "100000", key="opening-jpy", currency="JPY")

    refused_in_every_kind(brand, usd, currency="USD")
    refused_in_every_kind(brand, yen, currency="JPY")

    assert balance_of(brand) == Decimal("1000.00")
    assert balance_of(brand, currency="JPY") == Decimal("100000")
    redeem(brand, "1500", key="whole-yen", currency="JPY")
    assert balance_of(brand, currency="JPY") == Decimal("98500")


@pytest.mark.parametrize("zero", ["0", "0.00", "-0", "0E+3"])
@pytest.mark.parametrize("kind", [K.ISSUE, K.REDEEM, K.EXPIRE, K.ADJUST])
def test_a_zero_entry_is_refused(brand: Brand, kind: str, zero: str) -> None:
    issue(brand, "50.00", key="opening")
    size = ledger_size()

    with pytest.raises(InvalidInput):
        credit_book(
            brand_id=brand.pk,
            email=ADA,
            currency="USD",
            kind=kind,
            amount=Decimal(zero),
            key="nothing",
            actor=SYSTEM,
            reason="test",
        )

    assert ledger_size() == size


@LEDGER
@given(amount=amounts)
def test_issue_only_adds_and_redeem_and_expire_only_take(brand: Brand, amount: Decimal) -> None:
    clean_ledger()
    issue(brand, "1000.00", key="opening")
    size = ledger_size()

    for kind, value in [(K.ISSUE, -amount), (K.REDEEM, amount), (K.EXPIRE, amount)]:
        with pytest.raises(InvalidInput):
            credit_book(
                brand_id=brand.pk, email=ADA, currency="USD", kind=kind, amount=value, key="wrong-way", actor=SYSTEM
            )
    with pytest.raises(InvalidInput):  # credit_redeem takes what is spent, as a positive amount
        redeem(brand, -amount, key="wrong-way")

    assert ledger_size() == size
    assert balance_of(brand) == Decimal("1000.00")


# --- 5. one account per brand and currency -------------------------------------------------------


@LEDGER
@given(usd=amounts, eur=amounts, elsewhere=amounts)
def test_credit_stays_with_its_brand_and_its_currency(
    brand: Brand, other_brand: Brand, usd: Decimal, eur: Decimal, elsewhere: Decimal
) -> None:
    clean_ledger()
    issue(brand, usd, key="return-1")
    issue(brand, eur, key="return-2", currency="EUR")
    issue(other_brand, elsewhere, key="return-1")  # keys are the brand's own: the same one is free here

    def balances(of: Brand) -> list[tuple[str, Decimal]]:
        return [(b.currency, b.amount) for b in credit_balances(brand_id=of.pk, email=ADA)]

    assert balances(brand) == [("EUR", eur), ("USD", usd)]
    assert balances(other_brand) == [("USD", elsewhere)]
    size = ledger_size()
    with pytest.raises(Conflict):  # dollars do not pay for euros
        redeem(brand, eur + Decimal("0.01"), key="order-1", currency="EUR")
    with pytest.raises(Conflict):  # nor does one brand's credit pay at another
        redeem(other_brand, elsewhere + Decimal("0.01"), key="order-1")
    with pytest.raises(Conflict):  # no account at all in this currency
        redeem(other_brand, Decimal("0.01"), key="order-2", currency="EUR")
    assert ledger_size() == size

    redeem(other_brand, elsewhere, key="order-1")
    assert balances(other_brand) == [("USD", ZERO)]
    assert balances(brand) == [("EUR", eur), ("USD", usd)]


# --- examples ------------------------------------------------------------------------------------


def test_credit_issued_then_half_redeemed_then_the_rest_expires_at_its_date(brand: Brand) -> None:
    due = START + timedelta(days=30)
    issue(brand, "80.00", key="return-1", expires_at=due)
    redeem(brand, "40.00", key="order-1")

    assert credits_expire_due(now=due - timedelta(seconds=1)) == 0
    assert balance_of(brand) == Decimal("40.00")

    assert credits_expire_due(now=due) == 1
    entries = list(CreditEntry.objects.filter(account__email=ADA).order_by("id"))
    assert [(e.kind, e.amount) for e in entries] == [
        (K.ISSUE, Decimal("80.00")),
        (K.REDEEM, Decimal("-40.00")),
        (K.EXPIRE, Decimal("-40.00")),
    ]
    assert entries[2].expires_entry_id == entries[0].pk
    assert balance_of(brand) == ZERO
    assert credits_expire_due(now=due + timedelta(days=1)) == 0


def test_redeeming_more_than_the_balance_is_refused_and_changes_nothing(brand: Brand) -> None:
    issue(brand, "25.00", key="return-1")
    size = ledger_size()

    with pytest.raises(Conflict, match="cannot be taken"):
        redeem(brand, "25.01", key="order-1")
    with pytest.raises(Conflict):  # a shopper who never had credit: no account is opened for them
        redeem(brand, "1.00", key="order-2", email="grace@example.com")

    assert ledger_size() == size
    assert balance_of(brand) == Decimal("25.00")
    redeem(brand, "25.00", key="order-1")  # the refused key was not used up
    assert balance_of(brand) == ZERO


def test_an_adjustment_needs_a_reason(brand: Brand) -> None:
    issue(brand, "25.00", key="return-1")
    size = ledger_size()

    for reason in ["", "   "]:
        with pytest.raises(InvalidInput, match="say why"):
            credit_adjust(
                brand_id=brand.pk,
                email=ADA,
                currency="USD",
                amount=Decimal("-5.00"),
                key="fix-1",
                actor=SYSTEM,
                reason=reason,
            )
    assert ledger_size() == size

    entry = credit_adjust(
        brand_id=brand.pk,
        email=ADA,
        currency="USD",
        amount=Decimal("-5.00"),
        key="fix-1",
        actor=SYSTEM,
        reason="charged twice",
    )
    assert (entry.kind, entry.reason, balance_of(brand)) == (K.ADJUST, "charged twice", Decimal("20.00"))


def test_the_shoppers_email_is_matched_whatever_its_case(brand: Brand) -> None:
    issue(brand, "30.00", key="return-1", email="Ada@Example.com ")
    redeem(brand, "10.00", key="order-1", email="ada@example.com")

    assert CreditAccount.objects.count() == 1
    assert balance_of(brand, email=" ADA@example.COM") == Decimal("20.00")


# --- sums: a balance is exact to the cent -------------------------------------------------------

# On SQLite, NUMERIC columns keep amounts as binary floats and SUM() adds them as floats; the
# ledger adds its entries up itself, so a balance is exact to the cent on every database.


def test_the_last_cents_of_a_balance_can_be_spent(brand: Brand) -> None:
    issue(brand, "2500.10", key="return-1")
    redeem(brand, "2500.00", key="order-1")

    redeem(brand, "0.10", key="order-2")

    assert balance_of(brand) == ZERO


def test_a_balance_spent_in_full_reads_zero(brand: Brand) -> None:
    issue(brand, "0.10", key="return-1")
    issue(brand, "0.20", key="return-2")
    redeem(brand, "0.30", key="order-1")

    assert [(b.currency, b.amount) for b in credit_balances(brand_id=brand.pk, email=ADA)] == [("USD", ZERO)]


def test_the_expiry_run_takes_back_the_last_cents_of_a_credit(brand: Brand) -> None:
    due = START + timedelta(days=30)
    issue(brand, "2500.10", key="return-1", expires_at=due)
    redeem(brand, "2500.00", key="order-1")

    assert credits_expire_due(now=due) == 1

    assert balance_of(brand) == ZERO
