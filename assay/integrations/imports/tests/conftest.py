from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from assay.core.audit import Actor
from assay.integrations.imports.importer import ImportReport, orders_import

FIXTURES = Path(__file__).parent / "fixtures"
ACTOR = Actor(kind="operator", label="import test")

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the bulk writer uses COPY, which needs PostgreSQL"
)


@pytest.fixture
def load() -> Callable[..., ImportReport]:
    """Import a file into a brand the way the command does, and return its report."""

    def run(
        brand: Any, path: Path | str, *, source: str = "shopify", writer: str = "simple", **extra: Any
    ) -> ImportReport:
        path = Path(path)
        if not path.is_absolute() and not path.exists():
            path = FIXTURES / path
        return orders_import(brand_id=brand.pk, path=path, source=source, actor=ACTOR, writer=writer, **extra)

    return run


def fixture_orders() -> list[dict[str, Any]]:
    """The well-formed orders of shopify_orders.jsonl (its lines 1, 2 and 9), in file order."""
    import orjson

    lines = (FIXTURES / "shopify_orders.jsonl").read_bytes().splitlines()
    return [orjson.loads(lines[number - 1]) for number in (1, 2, 9)]


def catalogue(brand: Any) -> None:
    """The shop's catalogue as products/create would have brought it: a personalised signet ring
    and the solitaire; the fixtures' other SKUs are unknown to it."""
    from decimal import Decimal

    from assay.catalog.models import Product
    from assay.catalog.schema import CanonicalProduct, CanonicalVariant
    from assay.catalog.services import product_upsert

    for external_id, title, variant_id, sku in (
        ("632910393", "Solitaire Engagement Ring", "49148385", "AUR-SOL-14Y-7"),
        ("632910400", "Signet Ring", "49148390", "AUR-SIG-9Y-N"),
    ):
        product_upsert(
            brand_id=brand.pk,
            incoming=CanonicalProduct(
                external_id=external_id,
                title=title,
                variants=[CanonicalVariant(external_id=variant_id, sku=sku, price=Decimal("780.00"))],
            ),
            actor=ACTOR,
        )
    Product.objects.filter(brand_id=brand.pk, external_id="632910400").update(personalised=True)


@pytest.fixture
def with_catalogue() -> Callable[[Any], None]:
    return catalogue
