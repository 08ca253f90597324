"""`assay seed_demo`: the demo brands with a believable jewellery business behind them."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from assay.core.errors import DomainError
from assay.demo.services import (
    DEFAULT_LUMEN_ORDERS,
    DEFAULT_ORDERS,
    DEFAULT_SEED,
    MAX_ORDERS,
    DemoSeedResult,
    demo_brand_count,
    demo_seed,
)


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--as-of: '{value}' is not a date like 2025-06-30") from None


class Command(BaseCommand):
    help = (
        "Create the demo brands: Aurelia Fine Jewellery (catalogue, customers, orders, shipments, refunds) "
        "and Lumen Diamonds, a staff login, an API token and Shopify signing secrets."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--orders",
            type=int,
            default=DEFAULT_ORDERS,
            help=f"Aurelia's orders (0 to {MAX_ORDERS:,}; default %(default)s)",
        )
        parser.add_argument(
            "--lumen-orders", type=int, default=DEFAULT_LUMEN_ORDERS, help="Lumen's orders (default %(default)s)"
        )
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="the same seed makes the same data")
        parser.add_argument("--as-of", default=None, help="the day the history runs up to, YYYY-MM-DD (default: today)")
        parser.add_argument(
            "--if-empty", action="store_true", help="do nothing when the database has any brand (for `make run`)"
        )
        parser.add_argument(
            "--reset", action="store_true", help="delete the demo brands and all their data first, then rebuild"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"]:
            brands = demo_brand_count()
            if brands:
                self.stdout.write(f"Demo data not loaded: the database already has {brands} brand(s).")
                return
        as_of = _day(options["as_of"]) if options["as_of"] else None
        verbose = options["verbosity"] >= 1
        self.stdout.write(f"Building the demo brands ({options['orders']:,} orders for Aurelia)...")
        try:
            result = demo_seed(
                orders=options["orders"],
                lumen_orders=options["lumen_orders"],
                seed=options["seed"],
                reset=options["reset"],
                as_of=as_of,
                progress=(lambda message: self.stderr.write(f"  {message}")) if verbose else None,
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self._summary(result)

    def _summary(self, result: DemoSeedResult) -> None:
        out = self.stdout.write
        out("")
        for brand in result.brands:
            c = brand.counts
            out(f"  {brand.name} ({brand.slug}, {brand.currency})")
            out(
                f"    {brand.products} products, {brand.variants} variants, "
                f"{brand.pieces_in_stock + c.pieces_sold:,} serialised pieces ({c.pieces_sold:,} sold)"
            )
            out(
                f"    {c.customers:,} customers, {c.orders:,} orders, {c.lines:,} lines "
                f"({c.personalised_lines:,} personalised), {c.shipments:,} shipments, "
                f"{c.refunds:,} refunds, {c.cancelled:,} cancelled, {c.audit_events:,} audit events"
            )
            out(f"    {brand.returns:,} return requests (RMAs)")
        out("")
        out(f"  Staff login:      {result.staff_email} / {result.staff_password}  (owner of aurelia, ops at lumen)")
        out(f"  API token:        {result.api_token}  (aurelia, ops; shown only now)")
        for slug, secret in result.shopify_secrets.items():
            out(f"  Shopify secret:   {secret}  (POST /hooks/shopify/{slug}/)")
        out(f"  Done in {result.seconds:.1f} s.")
