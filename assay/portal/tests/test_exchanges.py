"""What a line can be exchanged for: other sizes first, then other versions, then other pieces."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pytest_django import DjangoAssertNumQueries

from assay.brands.models import Brand
from assay.catalog.models import Product, ProductStatus
from assay.catalog.schema import CanonicalProduct, CanonicalVariant
from assay.catalog.services import product_upsert
from assay.portal.selectors import rma_for_submission
from assay.portal.tests.shop import INTAKE, ring_product, shop_order
from assay.returns.exchanges import LineAnchor, exchange_choices, line_exchange_choices
from assay.returns.models import ReturnRequest
from assay.returns.tests.factories import ReturnRequestFactory

pytestmark = pytest.mark.django_db


def test_sizes_in_stock_smallest_first_then_other_pieces_of_the_category_in_two_queries(
    brand: Brand, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    ring = ring_product(brand, stock={"5": 0, "8": 0})
    ring_product(brand, external_id="p-halo", title="Halo ring", sku="HALO", price="1100", stock={"6": 1})
    retired = ring_product(brand, external_id="p-old", title="Old ring", sku="OLD")
    Product.objects.filter(pk=retired.pk).update(status=ProductStatus.ARCHIVED)
    bought = ring.variants.get(sku="SOL-6.5")
    anchor = LineAnchor(line_id=1, product_id=ring.pk, variant_id=bought.pk, paid=Decimal("1200"))

    with django_assert_num_queries(2):
        choices = exchange_choices(brand_id=brand.pk, lines=[anchor])[1]

    assert [c.label for c in choices.sizes] == ["Size 5.5", "Size 6", "Size 7", "Size 7.5"]
    assert choices.variants == []
    assert {c.sku for c in choices.products} == {f"HALO-{size}" for size in ("5", "5.5", "6", "6.5", "7", "7.5", "8")}
    assert choices.find("product", "HALO-6") is not None
    assert choices.find("product", "HALO-6").difference == Decimal("-100")  # type: ignore[union-attr]
    assert (choices.kind_of("SOL-7"), choices.kind_of("SOL-5"), choices.kind_of("SOL-6.5")) == (
        "size",
        "size",
        "variant",
    )
    assert choices.kind_of("HALO-6") == "product"


def test_another_metal_of_the_same_piece_is_a_variant_not_a_size(brand: Brand) -> None:
    incoming = CanonicalProduct(
        external_id="p-two",
        title="Twist ring",
        product_type="Rings",
        option_names=["Metal", "Ring size"],
        variants=[
            CanonicalVariant(external_id=f"t-{metal}-{size}", sku=f"TW-{metal}-{size}",
                             title=f"{metal} / {size}", options={"Metal": metal, "Ring size": size},
                             price=Decimal(800), inventory_quantity=2)
            for metal in ("YG", "WG") for size in ("6", "7")
        ],
    )  # fmt: skip
    product = product_upsert(brand_id=brand.pk, incoming=incoming, actor=INTAKE).product
    bought = product.variants.get(sku="TW-YG-6")

    choices = exchange_choices(
        brand_id=brand.pk,
        lines=[LineAnchor(line_id=7, product_id=product.pk, variant_id=bought.pk, paid=Decimal(800))],
    )[7]

    assert [c.sku for c in choices.sizes] == ["TW-YG-7"]
    assert sorted(c.sku for c in choices.variants) == ["TW-WG-6", "TW-WG-7"]


def test_a_line_without_a_catalogue_piece_has_nothing_to_exchange_for(brand: Brand) -> None:
    choices = exchange_choices(
        brand_id=brand.pk, lines=[LineAnchor(line_id=3, product_id=None, variant_id=None, paid=Decimal(1))]
    )

    assert (choices[3].sizes, choices[3].variants, choices[3].products) == ([], [], [])


def test_one_line_of_an_order_is_read_in_three_queries_and_another_orders_line_is_none(
    brand: Brand, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    ring_product(brand)
    order = shop_order(brand, "#1001")
    other = shop_order(brand, "#1002", email="bob@example.com")

    line_id = order.lines.get().pk

    with django_assert_num_queries(3):
        choices = line_exchange_choices(brand_id=brand.pk, order_id=order.pk, line_id=line_id)

    assert choices is not None
    assert choices.find("size", "SOL-7") is not None
    assert line_exchange_choices(brand_id=brand.pk, order_id=order.pk, line_id=other.lines.get().pk) is None


def test_a_double_submit_finds_its_rma_by_the_submission_key_in_one_query(
    brand: Brand, django_assert_num_queries: DjangoAssertNumQueries
) -> None:
    request: ReturnRequest = ReturnRequestFactory(brand=brand, submission_key="a" * 32)  # type: ignore[assignment]

    with django_assert_num_queries(1):
        found = rma_for_submission(brand_id=brand.pk, order_id=request.order_id, submission_key="a" * 32)

    assert found == request.rma
    assert rma_for_submission(brand_id=brand.pk, order_id=request.order_id + 1, submission_key="a" * 32) is None
    with django_assert_num_queries(0):
        assert rma_for_submission(brand_id=brand.pk, order_id=request.order_id, submission_key=" ") is None
