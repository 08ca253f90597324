"""GET /api/v1/products and /api/v1/products/{id}: catalogue with variants, specification, stones, flags."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from assay.api.tests.conftest import INTAKE, canonical_order
from assay.brands.services import api_token_create
from assay.catalog.models import Metal, Product, Specification, Stone, StoneOrigin
from assay.catalog.schema import CanonicalVariant
from assay.orders.schema import CanonicalLine
from assay.orders.services import order_upsert


def titles(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["title"] for item in response.json()["items"]]


def test_the_list_answers_items_and_count_by_title(api: Client, make_product):
    make_product("p-2", title="Tennis bracelet")
    make_product("p-1", title="Solitaire ring")
    make_product("p-3", title="Pearl studs")

    response = api.get("/api/v1/products")

    assert titles(response) == ["Pearl studs", "Solitaire ring", "Tennis bracelet"]
    assert response.json()["count"] == 3


def test_products_are_found_by_a_variants_sku_and_by_words_in_the_title(api: Client, make_product):
    make_product("p-1", title="Solitaire ring")
    make_product("p-2", title="Eternity band")

    assert titles(api.get("/api/v1/products?sku=SKU-p-2-6")) == ["Eternity band"]
    assert titles(api.get("/api/v1/products?q=SOLITAIRE")) == ["Solitaire ring"]
    assert titles(api.get("/api/v1/products?sku=NOPE")) == []


def test_products_awaiting_completion_can_be_listed_apart(api: Client, brand, make_product):
    make_product("p-1", title="Solitaire ring")
    line = CanonicalLine(external_id="x", sku="UNKNOWN-1", title="Mystery pendant", quantity=1, unit_price=Decimal(10))
    order_upsert(brand_id=brand.pk, incoming=canonical_order("#1", lines=[line]), actor=INTAKE)

    assert titles(api.get("/api/v1/products?needs_completion=true")) == ["Mystery pendant"]
    assert titles(api.get("/api/v1/products?needs_completion=false")) == ["Solitaire ring"]
    [made] = api.get("/api/v1/products?needs_completion=true").json()["items"]
    assert made["needs_completion"] is True
    assert made["variants"][0]["sku"] == "UNKNOWN-1"


def test_the_detail_shows_variants_specification_stones_and_flags(api: Client, brand, make_product):
    product = make_product(
        "p-1",
        title="Oval diamond solitaire",
        variants=[
            CanonicalVariant(
                external_id="v1",
                sku="OVL-6",
                options={"Ring size": "6 1/2"},
                price=Decimal("4200"),
                inventory_quantity=2,
            ),
            CanonicalVariant(external_id="v2", sku="OVL-7", options={"Ring size": "7"}, price=Decimal("4200")),
        ],
    )
    Product.objects.filter(pk=product.pk).update(engravable=True, high_value=True, final_sale=False)
    Specification.objects.create(
        brand=brand,
        product=product,
        metal=Metal.PLATINUM,
        fineness=Decimal("950.0"),
        metal_weight_g=Decimal("4.200"),
        width_mm=Decimal("2.00"),
    )
    Stone.objects.create(
        brand=brand,
        product=product,
        species="diamond",
        origin=StoneOrigin.LABORATORY_GROWN,
        carat_weight=Decimal("1.010"),
        colour="F",
        clarity="VS1",
        shape="oval",
        lab="IGI",
        report_number="LG512345678",
        treatments=["HPHT"],
    )

    body = api.get(f"/api/v1/products/{product.pk}").json()

    assert body["title"] == "Oval diamond solitaire"
    assert body["category"] == "ring"
    assert [(v["sku"], v["ring_size"], v["price"], v["options"]) for v in body["variants"]] == [
        ("OVL-6", "6.5", "4200.00", {"Ring size": "6 1/2"}),
        ("OVL-7", "7", "4200.00", {"Ring size": "7"}),
    ]
    assert body["variants"][0]["inventory_quantity"] == 2
    assert body["specification"]["metal"] == "platinum"
    assert body["specification"]["fineness"] == "950"
    assert body["specification"]["metal_weight_g"] == "4.2"
    assert body["specification"]["karat"] is None
    [stone] = body["stones"]
    assert (stone["species"], stone["origin"], stone["carat_weight"]) == ("diamond", "laboratory_grown", "1.01")
    assert (stone["lab"], stone["report_number"], stone["treatments"]) == ("IGI", "LG512345678", ["HPHT"])
    flags = {k: body[k] for k in ("engravable", "personalised", "final_sale", "hygiene_item", "high_value")}
    assert flags == {
        "engravable": True,
        "personalised": False,
        "final_sale": False,
        "hygiene_item": False,
        "high_value": True,
    }
    assert body["resizable"] is True
    assert body["resizable_range"] == {"down": "2", "up": "2"}
    assert body["needs_completion"] is False


def test_a_product_without_specification_or_resizing_says_so(api: Client, make_product):
    product = make_product("p-1", title="Pearl studs", product_type="Earrings", option_names=[], variants=[])

    body = api.get(f"/api/v1/products/{product.pk}").json()

    assert body["specification"] is None
    assert body["stones"] == []
    assert body["resizable"] is False
    assert body["resizable_range"] is None
    assert body["hygiene_item"] is True


def test_variant_prices_are_in_the_brands_currency_and_its_minor_units(make_brand, make_product):
    tokyo = make_brand(slug="kin-tokyo", name="Kin Tokyo", currency="JPY")
    product = make_product("p-1", for_brand=tokyo, variants=[CanonicalVariant(sku="K-1", price=Decimal("98000"))])
    client = Client(
        headers={"Authorization": f"Bearer {api_token_create(slug=tokyo.slug, role='ops', actor=INTAKE).raw}"}
    )

    body = client.get(f"/api/v1/products/{product.pk}").json()

    assert body["currency"] == "JPY"
    assert body["variants"][0]["price"] == "98000"


def test_another_brands_product_is_absent_and_answers_404_like_a_missing_one(api: Client, make_product, other_brand):
    mine = make_product("p-1", title="Mine")
    theirs = make_product("p-1", for_brand=other_brand, title="Theirs")

    assert titles(api.get("/api/v1/products")) == ["Mine"]
    assert titles(api.get("/api/v1/products?sku=SKU-p-1-6&q=Theirs")) == []
    assert api.get(f"/api/v1/products/{mine.pk}").status_code == 200
    response = api.get(f"/api/v1/products/{theirs.pk}")
    assert response.status_code == 404
    assert response.json() == {"detail": f"no product {theirs.pk}"}
    assert api.get(f"/api/v1/products/{theirs.pk + 1000}").json() == {"detail": f"no product {theirs.pk + 1000}"}


def test_product_pages_count_every_match(api: Client, make_product):
    for n in range(5):
        make_product(f"p-{n}", title=f"Ring {n}")

    first = api.get("/api/v1/products?limit=2")
    last = api.get("/api/v1/products?limit=2&offset=4")

    assert titles(first) == ["Ring 0", "Ring 1"]
    assert titles(last) == ["Ring 4"]
    assert (first.json()["count"], last.json()["count"]) == (5, 5)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("needs_completion=perhaps", "needs_completion: Input should be a valid boolean"),
        ("limit=500", "limit: Input should be less than or equal to 200"),
        ("q=" + "x" * 256, "q: String should have at most 255 characters"),
        ("sku=A%00B", "sku: must not contain NUL characters"),
    ],
)
def test_bad_product_query_parameters_answer_422(api: Client, query, message):
    response = api.get(f"/api/v1/products?{query}")

    assert response.status_code == 422
    assert response.json()["detail"].startswith(message)
