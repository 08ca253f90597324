"""`assay import_orders SLUG --source shopify|csv PATH [--rejects FILE]`."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from assay.brands.selectors import brand_by_slug
from assay.core.audit import Actor
from assay.integrations.imports.importer import WRITERS, ImportReport, orders_import
from assay.integrations.imports.readers import ImportFileError
from assay.integrations.imports.sources import SOURCES

SHOWN_REJECTS = 200


class Command(BaseCommand):
    help = (
        "Load a shop's orders from a file of any size: Shopify Order objects as a JSON array or JSON lines "
        "(--source shopify), or Shopify's orders export CSV (--source csv). Safe to run again: orders "
        "already loaded are updated only where they changed. Ends with a summary and the rejected records."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("slug", help="the brand's slug")
        parser.add_argument("path", help="the file to load")
        parser.add_argument("--source", choices=SOURCES, required=True, help="what the file holds")
        parser.add_argument("--rejects", metavar="FILE", help="write every rejected record here, as JSON lines")
        parser.add_argument(
            "--writer",
            choices=WRITERS,
            default="auto",
            help="simple: one order at a time; bulk: batches through COPY (PostgreSQL); "
            "auto (default): bulk on PostgreSQL for files over 256 KB",
        )
        parser.add_argument("--batch-size", type=int, default=None, help="orders per batch (default per writer)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")

    def handle(self, *args: Any, **options: Any) -> None:
        brand = brand_by_slug(slug=options["slug"])
        if brand is None:
            raise CommandError(f"unknown brand '{options['slug']}' (see `assay create_brand`)", returncode=2)
        path = Path(options["path"])
        actor = Actor(kind="operator", label=f"import_orders {path.name}"[:200])
        with ExitStack() as stack:
            rejects = None
            if options["rejects"]:
                try:
                    rejects = stack.enter_context(Path(options["rejects"]).open("wb"))
                except OSError as exc:
                    message = f"cannot write rejects to {options['rejects']}: {exc.strerror}"
                    raise CommandError(message, returncode=2) from None
            try:
                report = orders_import(
                    brand_id=brand.pk,
                    path=path,
                    source=options["source"],
                    actor=actor,
                    writer=options["writer"],
                    batch_size=options["batch_size"],
                    rejects_file=rejects,
                    progress=not options["no_progress"],
                )
            except ImportFileError as exc:
                raise CommandError(str(exc), returncode=2) from None
            except DatabaseError as exc:
                detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise CommandError(
                    f"the database stopped the import ({detail}); the batches already written stay, "
                    "and running the same import again completes it",
                    returncode=2,
                ) from None
        self.stdout.write(summary(report, brand=brand.slug, rejects_path=options["rejects"]))
        if report.stopped:
            raise CommandError(report.stopped, returncode=2)
        if not report.loaded:
            what = f"all {report.rejected} records were rejected" if report.read else "the file holds no orders"
            raise CommandError(f"nothing was loaded: {what}", returncode=1)


def summary(report: ImportReport, *, brand: str, rejects_path: str | None) -> str:
    rows = [
        ("read", f"{report.read:,}"),
        ("created", f"{report.created:,}"),
        ("updated", f"{report.updated:,}"),
        ("unchanged", f"{report.unchanged:,}"),
        ("stale", f"{report.stale:,}"),
        ("rejected", f"{report.rejected:,}"),
        ("seconds", f"{report.seconds:,.2f}"),
        ("records/s", f"{report.records_per_second:,.0f}"),
    ]
    lines = [f"Imported {report.path} into {brand} ({report.source}, {report.format}, {report.writer} writer)"]
    lines += [f"  {name:<10}{value:>14}" for name, value in rows]
    if report.rejects:
        lines.append(f"Rejected records ({report.rejected:,}):")
        lines += [f"  {rejected}" for rejected in report.rejects[:SHOWN_REJECTS]]
        hidden = report.rejected - min(len(report.rejects), SHOWN_REJECTS)
        if hidden:
            where = f"all of them are in {rejects_path}" if rejects_path else "use --rejects FILE to list them all"
            lines.append(f"  ... and {hidden:,} more ({where})")
        elif rejects_path:
            lines.append(f"  (also written to {rejects_path})")
    return "\n".join(lines)
