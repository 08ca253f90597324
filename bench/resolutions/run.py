"""Refunds confirmed per second through the API against a loopback Stripe, with a same-run ceiling.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/assay_bench_resolutions .venv/bin/python bench/resolutions/run.py

1. Drops, creates and migrates the database, then builds a brand whose refunds go to Stripe
   (`PayoutSettings`: refund_provider=stripe, stripe_api_base = a FakeStripe serving on 127.0.0.1
   from this process), its Stripe secret and an ops API token; `--returns` orders of one or two
   lines under 2,000 (every fourth has two), each paid by its own PaymentIntent the fake knows;
   one return per order through `return_request_create` (the default policy authorises it), then
   every line in_transit -> received -> inspected, written in bulk (see `lines_inspected`).
2. gunicorn (sync workers) serves the app on PostgreSQL with TASKS_BACKEND=immediate: each payout's
   provider call runs in the request right after the settlement commits, so an answer means the
   refund was made at Stripe and written back (refunds completed end to end, not only recorded).
3. `--clients` threads (httpx, 16): GET /healthz of that server for `--seconds` (the ceiling), then
   POST /api/v1/returns/{rma}/resolve `{}` with every return confirmed twice at about the same
   moment, each time with its own Idempotency-Key, until every return is confirmed or `--seconds` pass.
4. From the database and from the fake: payouts per settled line (must be 1), payouts not succeeded,
   refunds Stripe created against distinct payouts. A duplicate payout, or any other failed check,
   exits non-zero.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from bench.ingest.run import ensure_database  # noqa: E402
from bench.portal.run import sh, wait_up  # noqa: E402

if TYPE_CHECKING:
    from assay.integrations.stripe.fake import FakeStripe
    from assay.returns.types import ReturnLineRequest

SLUG = "benchresolutions"
STRIPE_SECRET = "sk_test_bench_resolutions_0123456789"  # the loopback fake's key
PORT = int(os.environ.get("BENCH_PORT", "8127"))
# (title, category, sizes, price): rings and bands by size, pieces without sizes; all under the
# default policy's high-value review (2,000).
CATALOGUE = (
    ("Stacking band", "band", ("6", "7"), "180"),
    ("Solitaire pendant", "pendant", (), "640"),
    ("Signet ring", "ring", ("7", "8"), "980"),
    ("Tennis bracelet", "bracelet", (), "1450"),
    ("Pearl drop necklace", "necklace", (), "1890"),
)


# --- data ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Built:
    token: str
    rmas: list[str]  # oldest first
    lines: int


def build(*, returns: int, stripe: FakeStripe) -> Built:
    """The brand, its Stripe set-up and token, orders written as rows, returns through the services."""
    from django.utils import timezone

    from assay.brands.services import api_token_create, brand_create, brand_secret_set
    from assay.catalog.models import Product, Variant
    from assay.core.audit import Actor
    from assay.orders.models import Customer, Order, OrderLine, Shipment, ShipmentStatus
    from assay.policies.services import policy_default_ensure
    from assay.resolutions.models import PayoutSettings
    from assay.returns.models import ReturnRequest
    from assay.returns.types import ReturnLineRequest

    operator = Actor.system("resolutions benchmark")
    quick_commits()
    brand = brand_create(slug=SLUG, name="Bench resolutions", currency="USD", actor=operator)
    brand_secret_set(slug=SLUG, integration="stripe", secret=STRIPE_SECRET, actor=operator)
    PayoutSettings.objects.create(brand=brand, refund_provider="stripe", stripe_api_base=stripe.url)
    policy_default_ensure(brand_id=brand.pk, actor=operator)
    token = api_token_create(slug=SLUG, role="ops", name="bench", actor=operator).raw

    variants: list[Variant] = []
    titles: dict[int, str] = {}
    for n, (title, category, sizes, price) in enumerate(CATALOGUE, start=1):
        product = Product.objects.create(
            brand=brand,
            external_id=f"p-{n}",
            title=title,
            category=category,
            product_type=category.title(),
            option_names=["Ring size"] if sizes else [],
        )
        titles[product.pk] = title
        for position, size in enumerate(sizes or ("",), start=1):
            variants.append(
                Variant.objects.create(
                    brand=brand,
                    product=product,
                    external_id=f"v-{n}-{position}",
                    sku=f"B{n}-{size}" if size else f"B{n}",
                    title=size,
                    options={"Ring size": size} if size else {},
                    ring_size=Decimal(size) if size else None,
                    price=Decimal(price),
                    inventory_quantity=1000,
                    position=position,
                )
            )

    started = time.monotonic()
    now = timezone.now()
    placed, delivered = now - timedelta(days=10), now - timedelta(days=5)
    # Every order its own shopper: the default policy reviews frequent returners.
    customers = Customer.objects.bulk_create(
        [Customer(brand=brand, external_id=f"c-{n}", email=f"shopper{n}@example.com") for n in range(returns)],
        batch_size=1000,
    )
    order_variants = [
        [variants[n % len(variants)]] + ([variants[(n + 3) % len(variants)]] if n % 4 == 3 else [])
        for n in range(returns)
    ]
    orders = Order.objects.bulk_create(
        [
            Order(
                brand=brand,
                external_id=f"o-{n}",
                number=f"#{100000 + n}",
                number_key=str(100000 + n),
                email=customers[n].email,
                customer=customers[n],
                currency="USD",
                subtotal=sum((v.price for v in order_variants[n]), Decimal(0)),
                total=sum((v.price for v in order_variants[n]), Decimal(0)),
                financial_status="paid",
                placed_at=placed,
                paid_at=placed,
                source="shopify",
                shipping_country="US",
                payment_reference=f"pi_bench{n:07d}",
            )
            for n in range(returns)
        ],
        batch_size=1000,
    )
    OrderLine.objects.bulk_create(
        [
            OrderLine(
                brand=brand,
                order=order,
                external_id=f"l-{n}-{position}",
                position=position,
                sku=variant.sku,
                variant=variant,
                product_id=variant.product_id,
                title=titles[variant.product_id],
                variant_title=variant.title,
                quantity=1,
                unit_price=variant.price,
                fulfilled_quantity=1,
            )
            for n, order in enumerate(orders)
            for position, variant in enumerate(order_variants[n], start=1)
        ],
        batch_size=1000,
    )
    Shipment.objects.bulk_create(
        [
            Shipment(
                brand=brand,
                order=order,
                external_id=f"f-{n}",
                carrier="UPS",
                tracking_number=f"1ZBENCH{n:08d}",
                status=ShipmentStatus.DELIVERED,
                shipped_at=delivered - timedelta(days=2),
                delivered_at=delivered,
            )
            for n, order in enumerate(orders)
        ],
        batch_size=1000,
    )
    for order in orders:
        stripe.add_payment_intent(order.payment_reference, int(order.total * 100), "usd")
    print(f"orders: {returns:,} with lines, shipments and PaymentIntents in {time.monotonic() - started:.1f} s")

    started = time.monotonic()
    lines_of: dict[int, list[int]] = {}
    for order_id, line_id in OrderLine.objects.filter(brand=brand).order_by("id").values_list("order_id", "id"):
        lines_of.setdefault(order_id, []).append(line_id)
    asked = {
        order.pk: [
            ReturnLineRequest(
                line_id=line_id,
                quantity=1,
                reason="size_too_small" if variant.ring_size is not None else "style",
                resolution="refund",
            )
            for line_id, variant in zip(lines_of[order.pk], order_variants[n], strict=True)
        ]
        for n, order in enumerate(orders)
    }
    returns_create(brand_id=brand.pk, asked=asked)
    rmas = list(ReturnRequest.objects.filter(brand=brand).order_by("id").values_list("rma", flat=True))
    print(f"returns: {len(rmas):,} created in {time.monotonic() - started:.1f} s")

    started = time.monotonic()
    moved = lines_inspected(brand_id=brand.pk)
    print(f"lines: {moved:,} moved to inspected in {time.monotonic() - started:.1f} s")
    return Built(token=token, rmas=rmas, lines=moved)


def quick_commits() -> None:
    """Set-up only: a commit lost to a crash here costs a rerun, not money."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")


def returns_create(*, brand_id: int, asked: dict[int, list[ReturnLineRequest]], threads: int = 2) -> None:
    """One return per order through `return_request_create`, from a few threads: about half of
    each call waits on PostgreSQL, and the threads' connections overlap those waits."""
    from django.db import connection

    from assay.core.audit import Actor
    from assay.returns.services import return_request_create

    shopper = Actor(kind="shopper", label="shopper")
    order_ids = list(asked)

    def create(share: list[int]) -> None:
        quick_commits()
        try:
            for order_id in share:
                request = return_request_create(
                    brand_id=brand_id, order_id=order_id, lines=asked[order_id], method="mail", actor=shopper,
                    source="portal",
                )  # fmt: skip
                if request.status != "authorised":
                    raise SystemExit(f"{request.rma} is {request.status}, not authorised: the policy did not take it")
        finally:
            connection.close()

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(create, [order_ids[n::threads] for n in range(threads)]))


def lines_inspected(*, brand_id: int) -> int:
    """Every line in_transit -> received -> inspected, written as rows: the statuses and the audit
    events `transition` records for each move (the return's timeline, which every answer renders,
    is as long as after the real moves). `return_line_move` takes about 8 ms a move here: a minute
    for the default run's 7,500 moves, more than the measurements."""
    from django.db import transaction
    from django.utils import timezone

    from assay.core.models import AuditEvent
    from assay.returns.models import ReturnLine, ReturnRequest

    lines = list(ReturnLine.objects.filter(brand_id=brand_id).order_by("id").values_list("id", "request_id"))
    first_line: dict[int, int] = {}
    for line_id, request_id in lines:
        first_line.setdefault(request_id, line_id)
    now = timezone.now()
    events = []
    for before, after in (("authorised", "in_transit"), ("in_transit", "received"), ("received", "inspected")):
        common = {
            "brand_id": brand_id,
            "actor_kind": "system",
            "actor_label": "warehouse",
            "action": "status_changed",
            "from_state": before,
            "to_state": after,
            "why": "bench",
        }
        events += [
            AuditEvent(**common, subject_type="returnline", subject_id=line_id, data={"shopper": True})
            for line_id, _ in lines
        ]
        events += [
            AuditEvent(
                **common,
                subject_type="returnrequest",
                subject_id=request_id,
                data={"shopper": True, "follows_lines": True, "line_id": line_id},
            )
            for request_id, line_id in first_line.items()
        ]
    with transaction.atomic():
        AuditEvent.objects.bulk_create(events, batch_size=2000)
        ReturnLine.objects.filter(brand_id=brand_id, status="authorised").update(status="inspected", updated_at=now)
        ReturnRequest.objects.filter(brand_id=brand_id, status="authorised").update(status="inspected", updated_at=now)
    return len(lines)


# --- load ----------------------------------------------------------------------------------------


@dataclass
class Answers:
    """What the clients got back: one entry per answered request."""

    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)  # seconds
    answered: set[str] = field(default_factory=set)  # tags of requests answered 200
    spans: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # tag -> (sent, answered) times
    errors: Counter[str] = field(default_factory=Counter)  # transport errors, by kind
    elapsed: float = 0.0


# A request as the clients send it: (method, path, headers, body, tag); None when there is no more work.
Request = tuple[str, str, dict[str, str], bytes | None, str]


def hammer(base: str, *, clients: int, seconds: float, next_request: Callable[[], Request | None]) -> Answers:
    """`clients` threads, one httpx client each, sending what `next_request` hands out until it
    hands out None or `seconds` have passed. Every thread waits for its answer before the next."""
    answers = Answers()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    finished: list[float] = []

    def client() -> None:
        statuses: Counter[int] = Counter()
        latencies: list[float] = []
        answered: set[str] = set()
        spans: list[tuple[str, float, float]] = []
        errors: Counter[str] = Counter()
        with httpx.Client(base_url=base, timeout=60) as http:
            while time.monotonic() < deadline:
                with lock:
                    request = next_request()
                if request is None:
                    break
                method, path, headers, body, tag = request
                started = time.perf_counter()
                try:
                    response = http.request(method, path, headers=headers, content=body)
                except httpx.HTTPError as exc:
                    errors[type(exc).__name__] += 1
                    continue
                ended = time.perf_counter()
                latencies.append(ended - started)
                spans.append((tag, started, ended))
                statuses[response.status_code] += 1
                if response.status_code == 200:
                    answered.add(tag)
        with lock:
            answers.statuses.update(statuses)
            answers.latencies.extend(latencies)
            answers.answered.update(answered)
            for tag, sent, ended in spans:
                answers.spans.setdefault(tag, []).append((sent, ended))
            answers.errors.update(errors)
            finished.append(time.monotonic())

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    answers.elapsed = max(finished) - started
    return answers


def healthz_requests() -> Callable[[], Request | None]:
    def next_request() -> Request:
        return ("GET", "/healthz", {}, None, "healthz")

    return next_request


def confirmations(rmas: list[str], token: str) -> Callable[[], Request | None]:
    """Each return twice in a row, so two clients take it at about the same moment; each
    confirmation with its own Idempotency-Key (two people confirming, not one retrying)."""
    work = iter([(rma, copy) for rma in rmas for copy in ("a", "b")])
    auth = f"Bearer {token}"

    def next_request() -> Request | None:
        item = next(work, None)
        if item is None:
            return None
        rma, copy = item
        headers = {"Authorization": auth, "Content-Type": "application/json", "Idempotency-Key": f"bench-{rma}-{copy}"}
        return ("POST", f"/api/v1/returns/{rma}/resolve", headers, b"{}", rma)

    return next_request


def overlapping(answers: Answers) -> int:
    """Returns whose two confirmations were both in flight at some moment."""
    both = [sorted(spans) for spans in answers.spans.values() if len(spans) == 2]
    return sum(1 for (_, first_ended), (second_sent, _) in both if second_sent < first_ended)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def latency_text(answers: Answers) -> str:
    p50, p99 = percentile(answers.latencies, 0.50) * 1000, percentile(answers.latencies, 0.99) * 1000
    return f"p50 {p50:6.1f} ms  p99 {p99:6.1f} ms"


# --- checks --------------------------------------------------------------------------------------


@dataclass
class Audit:
    settled_lines: int
    resolved_lines: int  # settled lines that followed their paid settlement to resolved
    lines_without_settlement: int  # lines of returns answered 200 that were not settled
    payouts: int
    payouts_per_line: Counter[int]  # payouts on a settled line -> how many lines
    not_succeeded: Counter[str]  # status -> payouts
    stripe_created: int
    stripe_distinct_keys: int
    stripe_unknown_keys: int  # refunds at Stripe no payout of ours carries
    references_mismatched: int  # payouts whose provider_reference is not the fake's refund for their key
    refunded_cents: int
    paid_cents: int
    load_refunds: int  # refund payouts of the returns confirmed during the measured load

    @property
    def duplicates(self) -> int:
        twice_at_stripe = self.stripe_created - self.stripe_distinct_keys
        twice_in_assay = sum((count - 1) * lines for count, lines in self.payouts_per_line.items() if count > 1)
        return twice_at_stripe + twice_in_assay + self.stripe_unknown_keys


def audit(*, stripe: FakeStripe, answered: set[str], measured: set[str]) -> Audit:
    """The database's and the fake's account of every payout; `answered` are the returns confirmed
    (200) in the whole run, `measured` those of the measured load."""
    from django.db.models import Count

    from assay.brands.models import Brand
    from assay.integrations.stripe.refunds import PAYOUT_KEY_METADATA
    from assay.resolutions.models import Payout, Settlement
    from assay.returns.models import ReturnLine

    brand = Brand.objects.get(slug=SLUG)
    per_line = Counter(
        row["n"]
        for row in Payout.objects.filter(brand=brand, settlement__isnull=False)
        .values("settlement__return_line_id")
        .annotate(n=Count("id"))
    )
    settled = Settlement.objects.filter(brand=brand).count()
    without_payout = settled - sum(per_line.values())
    if without_payout:
        per_line[0] += without_payout
    missing = ReturnLine.objects.filter(brand=brand, request__rma__in=answered, settlement__isnull=True).count()
    payouts = list(Payout.objects.filter(brand=brand).values("key", "status", "provider_reference", "amount"))
    with stripe.lock:
        refunds = [dict(refund) for refund in stripe.refunds]
        created = stripe.created_count
    by_key: dict[str, list[dict[str, Any]]] = {}
    for refund in refunds:
        by_key.setdefault(refund["metadata"].get(PAYOUT_KEY_METADATA, ""), []).append(refund)
    ours = {payout["key"] for payout in payouts}
    mismatched = sum(
        1
        for payout in payouts
        if [refund["id"] for refund in by_key.get(payout["key"], [])] != [payout["provider_reference"]]
    )
    return Audit(
        settled_lines=settled,
        resolved_lines=ReturnLine.objects.filter(brand=brand, settlement__isnull=False, status="resolved").count(),
        lines_without_settlement=missing,
        payouts=len(payouts),
        payouts_per_line=per_line,
        not_succeeded=Counter(p["status"] for p in payouts if p["status"] != "succeeded"),
        stripe_created=created,
        stripe_distinct_keys=len(by_key),
        stripe_unknown_keys=sum(len(found) for key, found in by_key.items() if key not in ours),
        references_mismatched=mismatched,
        refunded_cents=sum(int(refund["amount"]) for refund in refunds),
        paid_cents=sum(int(payout["amount"] * 100) for payout in payouts if payout["status"] == "succeeded"),
        load_refunds=Payout.objects.filter(brand=brand, request__rma__in=measured, kind="refund").count(),
    )


# --- the run -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--returns", type=int, default=2000, help="returns built and confirmed")
    parser.add_argument("--seconds", type=int, default=25, help="at most, for each measurement")
    parser.add_argument("--clients", type=int, default=16, help="concurrent client threads")
    parser.add_argument("--web-workers", type=int, default=4, help="gunicorn sync workers")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/assay_bench_resolutions")
    if not url.startswith("postgres"):
        raise SystemExit("DATABASE_URL must point at PostgreSQL")
    env = {
        **os.environ,
        "DATABASE_URL": url,
        # Each payout's provider call runs in the request, right after the settlement commits.
        "TASKS_BACKEND": "immediate",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
    }
    python = str(ROOT / ".venv" / "bin" / "python")
    ensure_database(url)
    sh(python, "manage.py", "migrate", "--noinput", "-v", "0", env=env)
    os.environ.update(env)
    import django

    django.setup()
    from django.db import connection, connections

    from assay.integrations.stripe.fake import FakeStripe

    stripe = FakeStripe(secret=STRIPE_SECRET)
    warm = 4 * args.web_workers  # returns confirmed before measuring, so every worker has run the path
    built = build(returns=args.returns + warm, stripe=stripe)
    with connection.cursor() as cursor:  # planner statistics: this server may run with autovacuum off
        cursor.execute("ANALYZE")
    connections.close_all()

    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "config.wsgi:application", "--bind", f"127.0.0.1:{PORT}",
         "--workers", str(args.web_workers), "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{PORT}"
        wait_up(base + "/healthz", workers=args.web_workers)
        hammer(base, clients=args.clients, seconds=3, next_request=healthz_requests())
        first = confirmations(built.rmas[:warm], built.token)
        warmed = hammer(base, clients=args.clients, seconds=60, next_request=first)
        if set(warmed.statuses) != {200}:
            raise SystemExit(f"warm-up confirmations answered {dict(warmed.statuses)}")
        ceiling = hammer(base, clients=args.clients, seconds=args.seconds, next_request=healthz_requests())
        load = hammer(
            base, clients=args.clients, seconds=args.seconds, next_request=confirmations(built.rmas[warm:], built.token)
        )
    finally:
        server.terminate()
        server.wait(timeout=30)

    checked = audit(stripe=stripe, answered=warmed.answered | load.answered, measured=load.answered)
    stripe.close()
    report(args=args, built=built, ceiling=ceiling, load=load, checked=checked)


def report(*, args: argparse.Namespace, built: Built, ceiling: Answers, load: Answers, checked: Audit) -> None:
    left = args.returns - len(load.answered)
    print(
        f"{args.returns:,} returns to confirm ({built.lines:,} lines with the warm-up's), {args.clients} clients,"
        f" {args.web_workers} gunicorn sync workers, PostgreSQL, TASKS_BACKEND=immediate, Stripe on loopback"
    )
    ceiling_rate = ceiling.statuses[200] / ceiling.elapsed
    print(
        f"ceiling  GET /healthz           {ceiling_rate:8.0f} req/s            {latency_text(ceiling)}"
        f"  ({sum(ceiling.statuses.values()):,} in {ceiling.elapsed:.1f} s)"
    )
    confirmations_rate = load.statuses[200] / load.elapsed
    returns_rate = len(load.answered) / load.elapsed
    print(
        f"resolve  POST .../{{rma}}/resolve {confirmations_rate:8.1f} confirmations/s  {latency_text(load)}"
        f"  ({load.statuses[200]:,} answered 200 in {load.elapsed:.1f} s)"
    )
    print(
        f"concurrent confirmations: {overlapping(load):,} of {len(load.answered):,} returns had both of theirs"
        " in flight at once (each with its own Idempotency-Key)"
    )
    print(
        f"refunds confirmed: {returns_rate:.1f} returns/s ({checked.load_refunds / load.elapsed:.1f} refunds/s,"
        f" one per line, paid at Stripe before the answer); "
        + ("every return confirmed" if not left else f"stopped after {args.seconds} s with {left:,} returns left")
    )
    print(f"ratio refunds confirmed / healthz: {returns_rate / ceiling_rate:.3f}")
    print(
        f"payouts per settled line: {dict(sorted(checked.payouts_per_line.items()))} ({checked.settled_lines:,} lines,"
        f" {checked.resolved_lines:,} of them resolved);"
        f" payouts not succeeded: {sum(checked.not_succeeded.values())} {dict(checked.not_succeeded) or ''}"
    )
    print(
        f"Stripe created {checked.stripe_created:,} refunds for {checked.stripe_distinct_keys:,} distinct payout keys;"
        f" Assay holds {checked.payouts:,} payouts; refunded {checked.refunded_cents / 100:,.2f} USD at Stripe,"
        f" {checked.paid_cents / 100:,.2f} USD paid in Assay"
    )
    print(f"duplicate payouts: {checked.duplicates}")

    failures = []
    if checked.duplicates:
        failures.append(f"{checked.duplicates} DUPLICATE PAYOUTS")
    others = {status: n for status, n in load.statuses.items() if status != 200}
    if others or load.errors:
        failures.append(f"confirmations not answered 200: {others} {dict(load.errors)}")
    if checked.not_succeeded:
        failures.append(f"payouts not succeeded: {dict(checked.not_succeeded)}")
    if set(checked.payouts_per_line) != {1}:
        failures.append(f"settled lines without exactly one payout: {dict(checked.payouts_per_line)}")
    if checked.resolved_lines != checked.settled_lines:
        failures.append(f"{checked.settled_lines - checked.resolved_lines} settled lines were not resolved")
    if checked.lines_without_settlement:
        failures.append(f"{checked.lines_without_settlement} lines of confirmed returns were not settled")
    if checked.references_mismatched:
        failures.append(f"{checked.references_mismatched} payouts do not name the one Stripe refund of their key")
    if checked.refunded_cents != checked.paid_cents:
        failures.append("Stripe refunded another sum than Assay paid")
    if failures:
        raise SystemExit("FAILED: " + "; ".join(failures))


if __name__ == "__main__":
    main()
