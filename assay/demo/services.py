"""Build (and rebuild) the demo brands: Aurelia with a believable history, Lumen beside it."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from assay.brands.models import Brand
from assay.brands.services import api_token_create, brand_create, brand_secret_set, staff_add
from assay.catalog.models import Category, Piece, Product, Specification, Stone, Variant
from assay.core.audit import Actor
from assay.core.errors import Conflict, InvalidInput
from assay.core.models import AuditEvent
from assay.demo.bulk import BulkWriter, bulk_load
from assay.demo.catalogue import PieceMint, catalogue_build
from assay.demo.orders import Counts, OrderHistory
from assay.demo.people import Population
from assay.demo.plans import AURELIA_BRAND, DEMO_BRANDS, DEMO_SLUGS, LUMEN_BRAND, DemoBrand
from assay.demo.returns import demo_returns_seed
from assay.orders.bulk import orders_bulk_analyze
from assay.orders.models import Customer, Order, OrderLine, Shipment, ShipmentLine, ShopRefund
from assay.resolutions.models import (
    Checkout,
    CreditAccount,
    CreditEntry,
    Exchange,
    Payout,
    Settlement,
    ShopReturn,
)
from assay.returns.eligibility import order_eligibility
from assay.returns.models import ReturnLine, ReturnNote, ReturnPhoto, ReturnRequest

OWNER_EMAIL = "owner@aurelia.example"
OWNER_PASSWORD = "aurelia-demo"  # noqa: S105 - the published demo login
DEFAULT_SEED = 20_250_601
DEFAULT_ORDERS = 2_000
DEFAULT_LUMEN_ORDERS = 60
MAX_ORDERS = 1_000_000
CHUNK = 5_000  # orders held in memory before they are written
# From this many orders on, PostgreSQL indexes and checks references once at the end, not row by row.
LARGE_RUN = 50_000
BULK_MODELS = [Customer, Order, OrderLine, Piece, Shipment, ShipmentLine, ShopRefund, AuditEvent]

ACTOR = Actor.system("demo")
ORDER_ACTOR_LABEL = "demo/shopify"  # orders that imitate what the shop would have sent


@dataclass
class BrandSeeded:
    slug: str
    name: str
    currency: str
    products: int
    variants: int
    pieces_in_stock: int
    counts: Counts
    returns: int = 0


@dataclass
class DemoSeedResult:
    staff_email: str
    staff_password: str
    api_token: str
    shopify_secrets: dict[str, str]
    brands: list[BrandSeeded] = field(default_factory=list)
    seconds: float = 0.0


def demo_brand_count() -> int:
    """How many brands exist at all: `seed_demo --if-empty` leaves any populated database alone."""
    return Brand.objects.count()


def shopify_secret_for(slug: str) -> str:
    return f"{slug}-demo-shopify-secret"


def demo_seed(
    *,
    orders: int = DEFAULT_ORDERS,
    lumen_orders: int = DEFAULT_LUMEN_ORDERS,
    seed: int = DEFAULT_SEED,
    reset: bool = False,
    as_of: date | None = None,
    progress: Callable[[str], None] | None = None,
) -> DemoSeedResult:
    """Create the demo brands with their staff, token, secrets, catalogues and order histories.

    All or nothing: one transaction. An existing demo brand is refused unless `reset`, which
    deletes both demo brands and everything they own first. The same seed and `as_of` day give
    the same data.
    """
    for name, value in (("orders", orders), ("lumen orders", lumen_orders)):
        if not 0 <= value <= MAX_ORDERS:
            raise InvalidInput(f"{name} must be between 0 and {MAX_ORDERS:,}; got {value:,}")
    started = time.perf_counter()
    day = as_of or timezone.now().date()
    with transaction.atomic():
        existing = list(Brand.objects.filter(slug__in=DEMO_SLUGS).values_list("slug", flat=True))
        if existing and not reset:
            raise Conflict(
                f"the demo brand '{existing[0]}' already exists; run `assay seed_demo --reset` to delete "
                "the demo brands' data and build it again"
            )
        if existing:
            demo_reset(progress=progress)
        writer = BulkWriter()
        large = orders + lumen_orders >= LARGE_RUN
        with bulk_load(BULK_MODELS) if large else nullcontext():
            seeded = [
                _brand_seed(demo=AURELIA_BRAND, orders=orders, seed=seed, as_of=day, writer=writer, progress=progress),
                _brand_seed(
                    demo=LUMEN_BRAND, orders=lumen_orders, seed=seed, as_of=day, writer=writer, progress=progress
                ),
            ]
            if large and progress is not None:
                progress("indexing and checking every row's references")
        # Through the returns services, so after the bulk load has put its indexes back, and with
        # the planner told how big the tables grew (else it scans them for every lookup).
        if large and connection.vendor == "postgresql":
            orders_bulk_analyze()
        for demo, brand_seeded in zip(DEMO_BRANDS, seeded, strict=True):
            brand_seeded.returns = _returns_seed(demo=demo, seeded=brand_seeded, seed=seed, as_of=day)
        staff_add(slug="aurelia", email=OWNER_EMAIL, role="owner", password=OWNER_PASSWORD, actor=ACTOR)
        # The same person works for Lumen too, so the back office has a brand to switch to.
        staff_add(slug="lumen", email=OWNER_EMAIL, role="ops", password=None, actor=ACTOR)
        token = api_token_create(slug="aurelia", role="ops", name="demo", actor=ACTOR).raw
        secrets = {}
        for demo in DEMO_BRANDS:
            secrets[demo.plan.slug] = shopify_secret_for(demo.plan.slug)
            brand_secret_set(slug=demo.plan.slug, integration="shopify", secret=secrets[demo.plan.slug], actor=ACTOR)
    return DemoSeedResult(
        staff_email=OWNER_EMAIL,
        staff_password=OWNER_PASSWORD,
        api_token=token,
        shopify_secrets=secrets,
        brands=seeded,
        seconds=time.perf_counter() - started,
    )


def _brand_seed(
    *,
    demo: DemoBrand,
    orders: int,
    seed: int,
    as_of: date,
    writer: BulkWriter,
    progress: Callable[[str], None] | None,
) -> BrandSeeded:
    plan = demo.plan
    rng = random.Random(f"assay-demo:{seed}:{plan.slug}")
    brand = brand_create(slug=plan.slug, name=plan.name, currency=plan.currency, actor=ACTOR, **demo.branding)
    mint = PieceMint(rng, serial_prefix=demo.serial_prefix)
    catalogue_at = datetime.combine(as_of - timedelta(days=demo.days + 30), datetime.min.time(), tzinfo=UTC)
    catalogue = catalogue_build(
        brand_id=brand.pk,
        specs=demo.catalogue,
        vendor=plan.name,
        id_base=demo.catalogue_id_base,
        high_value_threshold=plan.high_value_threshold,
        mint=mint,
        rng=rng,
        actor=ACTOR,
        at=catalogue_at,
    )
    population = Population(
        salt=rng.getrandbits(64),
        first=demo.first_names,
        last=demo.last_names,
        cities=demo.cities,
        abroad=demo.abroad,
        abroad_share=demo.abroad_share,
        phone_format=demo.phone_format,
        serial_digits=max(4, len(str(orders)) + 1),
    )
    history = OrderHistory(
        plan=plan,
        brand_id=brand.pk,
        catalogue=catalogue,
        population=population,
        mint=mint,
        rng=rng,
        as_of=as_of,
        days=demo.days,
        actor_label=ORDER_ACTOR_LABEL,
        writer=writer,
    )
    report = None
    if progress is not None and orders >= 4 * CHUNK:
        started = time.perf_counter()

        def report(done: int) -> None:
            rate = done / max(time.perf_counter() - started, 1e-9)
            progress(f"{plan.slug}: {done:,} / {orders:,} orders ({rate:,.0f} a second)")

    counts = history.run(orders=orders, chunk=CHUNK, progress=report)
    return BrandSeeded(
        slug=plan.slug,
        name=plan.name,
        currency=plan.currency,
        products=len(catalogue.products),
        variants=catalogue.variants,
        pieces_in_stock=catalogue.pieces_in_stock,
        counts=counts,
    )


def _returns_seed(*, demo: DemoBrand, seeded: BrandSeeded, seed: int, as_of: date) -> int:
    brand_id = Brand.objects.values_list("id", flat=True).get(slug=demo.plan.slug)
    now = datetime.combine(as_of, datetime.min.time(), tzinfo=ZoneInfo(demo.plan.timezone)).astimezone(UTC)
    rng = random.Random(f"assay-demo-returns:{seed}:{demo.plan.slug}")
    return demo_returns_seed(brand_id=brand_id, orders=seeded.counts.orders, rng=rng, now=now, actor=ACTOR)


# Children before parents: these tables hold millions of rows after a benchmark run, far too many
# for the ORM's cascade, which loads every row it deletes.
_BULK_DELETE_ORDER: list[tuple[type[Model], str]] = [
    (CreditEntry, "brand_id IN ({brands})"),
    (CreditAccount, "brand_id IN ({brands})"),
    (Checkout, "brand_id IN ({brands})"),
    (ShopReturn, "brand_id IN ({brands})"),
    (Payout, "brand_id IN ({brands})"),
    (Exchange, "brand_id IN ({brands})"),
    (Settlement, "brand_id IN ({brands})"),
    (ReturnPhoto, "brand_id IN ({brands})"),
    (ReturnNote, "brand_id IN ({brands})"),
    (ReturnLine, "brand_id IN ({brands})"),
    (ReturnRequest, "brand_id IN ({brands})"),
    (ShipmentLine, "shipment_id IN (SELECT id FROM {shipment} WHERE brand_id IN ({brands}))"),
    (AuditEvent, "brand_id IN ({brands})"),
    (ShopRefund, "brand_id IN ({brands})"),
    (Shipment, "brand_id IN ({brands})"),
    (OrderLine, "brand_id IN ({brands})"),
    (Order, "brand_id IN ({brands})"),
    (Customer, "brand_id IN ({brands})"),
    (Piece, "brand_id IN ({brands})"),
    (Stone, "brand_id IN ({brands})"),
    (Specification, "brand_id IN ({brands})"),
    (Variant, "brand_id IN ({brands})"),
    (Product, "brand_id IN ({brands})"),
]


@transaction.atomic
def demo_reset(*, progress: Callable[[str], None] | None = None) -> int:
    """Delete the demo brands and everything they own; the number of brands deleted.

    The large tables go first with one DELETE each; the brand's own delete then cascades to
    whatever else points at it (memberships, tokens, secrets, webhook events, later apps' rows).
    """
    brand_ids = list(Brand.objects.filter(slug__in=DEMO_SLUGS).values_list("id", flat=True))
    if not brand_ids:
        return 0
    quote = connection.ops.quote_name
    brands = ", ".join(str(int(pk)) for pk in brand_ids)
    with connection.cursor() as cursor:
        for model, where in _BULK_DELETE_ORDER:
            condition = where.format(brands=brands, shipment=quote(Shipment._meta.db_table))
            cursor.execute(f"DELETE FROM {quote(model._meta.db_table)} WHERE {condition}")  # noqa: S608 - ids are ints
            if progress is not None and cursor.rowcount > 100_000:
                progress(f"deleted {cursor.rowcount:,} rows of {model._meta.db_table}")
    Brand.objects.filter(pk__in=brand_ids).delete()
    return len(brand_ids)


def demo_shopper_example(*, slug: str = "aurelia", now: datetime | None = None) -> tuple[str, str] | None:
    """An order of the brand a visitor can try in the returns portal: recent, not yet returned, with a
    ring whose size can still be exchanged. (number, e-mail), or None when the data has none."""
    brand_id = Brand.objects.filter(slug=slug).values_list("id", flat=True).first()
    if brand_id is None:
        return None
    candidates = (
        Order.objects.filter(
            brand_id=brand_id,
            cancelled_at__isnull=True,
            return_requests__isnull=True,
            lines__product__category__in=[Category.RING, Category.BAND],
        )
        .exclude(email="")
        .order_by("-placed_at")
        .values_list("id", "number", "email")
        .distinct()[:40]
    )
    for order_id, number, email in candidates:
        decision = order_eligibility(brand_id=brand_id, order_id=order_id, now=now)
        if any(line.eligible and "size" in line.exchange_kinds for line in decision.lines):
            return number, email
    return None
