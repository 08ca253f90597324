"""Django admin for configuration: every page loads, secrets and token hashes never show, and
lists are scoped and filterable by brand."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from assay.brands.models import ApiToken, Brand, IntegrationSecret
from assay.brands.services import api_token_create, staff_add
from assay.catalog.models import Product
from assay.core.audit import Actor
from assay.orders.models import Order
from assay.webhooks import registry
from assay.webhooks.models import InboundEvent
from assay.webhooks.registry import HandlerResult
from assay.webhooks.services import inbound_event_receive
from assay.webhooks.status import EventStatus

pytestmark = pytest.mark.django_db

OPERATOR = Actor.system("test")
NEW_SECRET = "whsec_brand_new_value_9f8e7d6c5b4a"


@pytest.fixture
def admin_client(db: Any) -> Client:
    user = get_user_model().objects.create_superuser("root@example.com", "root@example.com", "correct-horse-battery")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def everything(brand: Brand, make_order: Callable[..., Order]) -> dict[str, Any]:
    order = make_order(brand, "#1001", engraving="A & B", shipped=True)
    token = api_token_create(slug=brand.slug, role="ops", actor=OPERATOR)
    membership = staff_add(slug=brand.slug, email="ops@aurelia.example", role="ops", password="x" * 12, actor=OPERATOR)
    event = InboundEvent.objects.get(
        pk=inbound_event_receive(
            brand_id=brand.pk, source="admin-test", event_id="e1", topic="orders/create", payload="{}", headers={},
            error="broken",
        ).event_id
    )  # fmt: skip
    product = Product.objects.get(brand=brand, variants__sku="RING-SOL-6")
    return {
        "brands/brand": brand.pk,
        "brands/membership": membership.pk,
        "brands/apitoken": token.token.pk,
        "brands/integrationsecret": IntegrationSecret.objects.get(brand=brand).pk,
        "catalog/product": product.pk,
        "orders/order": order.pk,
        "orders/customer": order.customer_id,
        "webhooks/inboundevent": event.pk,
        "token_raw": token.raw,
        "token_hash": token.token.token_hash,
    }


ADMIN_MODELS = [
    "brands/brand",
    "brands/membership",
    "brands/apitoken",
    "brands/integrationsecret",
    "catalog/product",
    "catalog/piece",
    "orders/order",
    "orders/customer",
    "webhooks/inboundevent",
]


@pytest.mark.parametrize("model", ADMIN_MODELS)
def test_every_admin_list_loads_and_filters_by_brand(
    admin_client: Client, everything: dict[str, Any], brand: Brand, model: str
) -> None:
    listing = admin_client.get(f"/admin/{model}/")
    filtered = admin_client.get(f"/admin/{model}/", {"brand": brand.pk} if model != "brands/brand" else {})

    assert listing.status_code == 200
    assert filtered.status_code == 200
    if model != "brands/brand":
        assert f"?brand={brand.pk}" in listing.content.decode()


@pytest.mark.parametrize("model", [m for m in ADMIN_MODELS if m != "catalog/piece"])
def test_every_admin_object_page_loads(admin_client: Client, everything: dict[str, Any], model: str) -> None:
    response = admin_client.get(f"/admin/{model}/{everything[model]}/change/")

    assert response.status_code == 200


def test_the_brand_admin_edits_branding(admin_client: Client, brand: Brand) -> None:
    page = admin_client.get(f"/admin/brands/brand/{brand.pk}/change/").content.decode()
    assert 'name="primary_colour"' in page
    assert 'name="accent_colour"' in page
    assert 'name="logo_url"' in page

    response = admin_client.post(
        f"/admin/brands/brand/{brand.pk}/change/",
        {
            "name": "Aurelia",
            "logo_url": "",
            "primary_colour": "#0b3d2e",
            "accent_colour": "#c9a227",
            "sender_email": "care@aurelia.example",
            "locale": "en",
            "currency": "USD",
            "timezone": "Europe/London",
            "shop_domain": "aurelia.myshopify.com",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    brand.refresh_from_db()
    assert (brand.name, brand.primary_colour, brand.timezone) == ("Aurelia", "#0b3d2e", "Europe/London")


def test_a_colour_that_is_not_a_hex_colour_is_refused(admin_client: Client, brand: Brand) -> None:
    response = admin_client.post(
        f"/admin/brands/brand/{brand.pk}/change/",
        {
            "name": "Aurelia",
            "primary_colour": "#zzzzzz",
            "accent_colour": "#c9a227",
            "locale": "en",
            "currency": "USD",
            "timezone": "UTC",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 200
    assert "a colour like #1f2937" in response.content.decode()


def test_a_secret_set_in_the_admin_is_stored_and_never_rendered_back(admin_client: Client, other_brand: Brand) -> None:
    IntegrationSecret.objects.filter(brand=other_brand, integration="easypost").delete()

    created = admin_client.post(
        "/admin/brands/integrationsecret/add/",
        {"brand": other_brand.pk, "integration": "easypost", "new_secret": NEW_SECRET},
    )

    assert created.status_code == 302
    row = IntegrationSecret.objects.get(brand=other_brand, integration="easypost")
    assert row.secret == NEW_SECRET
    for path in (
        f"/admin/brands/integrationsecret/{row.pk}/change/",
        "/admin/brands/integrationsecret/",
        f"/admin/brands/integrationsecret/{row.pk}/history/",
        f"/admin/brands/integrationsecret/{row.pk}/delete/",
    ):
        html = admin_client.get(path).content.decode()
        assert NEW_SECRET not in html, path
        assert NEW_SECRET[:12] not in html, path


def test_rotating_a_secret_in_the_admin_replaces_it_without_showing_either(admin_client: Client, brand: Brand) -> None:
    row = IntegrationSecret.objects.get(brand=brand, integration="shopify")
    old = row.secret
    page = admin_client.get(f"/admin/brands/integrationsecret/{row.pk}/change/").content.decode()
    assert old not in page
    assert 'type="password" name="new_secret"' in page

    response = admin_client.post(f"/admin/brands/integrationsecret/{row.pk}/change/", {"new_secret": NEW_SECRET})

    assert response.status_code == 302
    row.refresh_from_db()
    assert row.secret == NEW_SECRET
    html = admin_client.get(f"/admin/brands/integrationsecret/{row.pk}/change/").content.decode()
    assert NEW_SECRET not in html
    assert old not in html


def test_saving_a_secret_page_without_a_new_secret_keeps_the_old_one(admin_client: Client, brand: Brand) -> None:
    row = IntegrationSecret.objects.get(brand=brand, integration="shopify")
    old = row.secret

    response = admin_client.post(f"/admin/brands/integrationsecret/{row.pk}/change/", {"new_secret": ""})

    assert response.status_code == 302
    row.refresh_from_db()
    assert row.secret == old


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"integration": "easypost", "new_secret": "short"}, "Ensure this value has at least 8 characters"),
        ({"integration": "easypost", "new_secret": ""}, "A new integration needs its signing secret."),
        ({"integration": "shopify", "new_secret": NEW_SECRET}, "already exists"),
    ],
)
def test_a_bad_secret_is_a_form_error(admin_client: Client, brand: Brand, data: dict[str, str], message: str) -> None:
    response = admin_client.post("/admin/brands/integrationsecret/add/", {"brand": brand.pk, **data})

    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert NEW_SECRET not in html


def test_the_token_admin_never_shows_the_hash_or_the_token_and_cannot_create_one(
    admin_client: Client, everything: dict[str, Any]
) -> None:
    pk = everything["brands/apitoken"]
    pages = [admin_client.get("/admin/brands/apitoken/"), admin_client.get(f"/admin/brands/apitoken/{pk}/change/")]

    for page in pages:
        html = page.content.decode()
        assert everything["token_hash"] not in html
        assert everything["token_raw"] not in html
        assert everything["token_raw"][:12] in html  # the prefix, to recognise it
    assert admin_client.get("/admin/brands/apitoken/add/").status_code == 403


def test_the_revoke_action_revokes_tokens(admin_client: Client, everything: dict[str, Any]) -> None:
    pk = everything["brands/apitoken"]

    response = admin_client.post("/admin/brands/apitoken/", {"action": "revoke", "_selected_action": [pk]})

    assert response.status_code == 302
    assert ApiToken.objects.get(pk=pk).revoked_at is not None


def test_orders_are_read_only_in_the_admin_and_show_their_lines(
    admin_client: Client, everything: dict[str, Any]
) -> None:
    pk = everything["orders/order"]

    page = admin_client.get(f"/admin/orders/order/{pk}/change/").content.decode()

    assert "RING-SOL-6" in page
    assert "A &amp; B" in page
    assert 'name="email"' not in page
    assert admin_client.get("/admin/orders/order/add/").status_code == 403
    assert admin_client.post(f"/admin/orders/order/{pk}/delete/", {"post": "yes"}).status_code == 403


@pytest.mark.parametrize("typed", ["1001", "#1001"])
def test_the_order_admin_finds_an_order_by_number_with_or_without_hash(
    admin_client: Client, everything: dict[str, Any], typed: str
) -> None:
    html = admin_client.get("/admin/orders/order/", {"q": typed}).content.decode()

    assert f"/admin/orders/order/{everything['orders/order']}/change/" in html


def test_the_inbound_event_admin_is_read_only_and_retries_failed_events(
    admin_client: Client, everything: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(registry._HANDLERS, "admin-test", lambda event: HandlerResult(stale=False, outcome="ok"))
    pk = everything["webhooks/inboundevent"]
    page = admin_client.get(f"/admin/webhooks/inboundevent/{pk}/change/").content.decode()
    assert "broken" in page
    assert 'name="status"' not in page

    response = admin_client.post("/admin/webhooks/inboundevent/", {"action": "retry", "_selected_action": [pk]})

    assert response.status_code == 302
    assert InboundEvent.objects.get(pk=pk).status == EventStatus.PROCESSED


def test_a_product_is_created_with_its_specification_stones_and_variants_in_the_brand(
    admin_client: Client, brand: Brand
) -> None:
    data = {
        "brand": brand.pk,
        "title": "Oval halo ring",
        "category": "ring",
        "status": "active",
        "tags": "[]",
        "option_names": '["Ring size"]',
        "resizable_down": "1",
        "resizable_up": "1.5",
        "specification-TOTAL_FORMS": "1",
        "specification-INITIAL_FORMS": "0",
        "specification-0-metal": "platinum",
        "specification-0-fineness": "950",
        "specification-0-metal_weight_g": "4.2",
        "stones-TOTAL_FORMS": "1",
        "stones-INITIAL_FORMS": "0",
        "stones-0-species": "diamond",
        "stones-0-origin": "laboratory_grown",
        "stones-0-treatments": "[]",
        "stones-0-count": "1",
        "stones-0-carat_weight": "1.01",
        "stones-0-lab": "IGI",
        "stones-0-report_number": "LG612345678",
        "variants-TOTAL_FORMS": "1",
        "variants-INITIAL_FORMS": "0",
        "variants-0-sku": "HALO-OV-6",
        "variants-0-options": '{"Ring size": "6"}',
        "variants-0-ring_size": "6",
        "variants-0-price": "2400",
        "variants-0-inventory_quantity": "2",
        "variants-0-position": "1",
    }

    response = admin_client.post("/admin/catalog/product/add/", data)

    assert response.status_code == 302, response.content.decode()[:3000]
    product = Product.objects.get(title="Oval halo ring")
    assert product.brand_id == brand.pk
    assert product.specification.brand_id == brand.pk
    assert product.specification.fineness == 950
    assert [(s.brand_id, s.report_number) for s in product.stones.all()] == [(brand.pk, "LG612345678")]
    assert [(v.brand_id, v.sku) for v in product.variants.all()] == [(brand.pk, "HALO-OV-6")]


def test_a_piece_cannot_point_at_another_brands_variant(
    admin_client: Client, brand: Brand, other_brand: Brand, make_order: Callable[..., Order]
) -> None:
    make_order(other_brand, "#5001", sku="LUM-1")
    foreign_variant = Product.objects.get(brand=other_brand).variants.get()

    response = admin_client.post(
        "/admin/catalog/piece/add/",
        {"brand": brand.pk, "variant": foreign_variant.pk, "serial_number": "AUR-0001", "status": "in_stock"},
    )

    assert response.status_code == 200
    assert "This variant belongs to another brand." in response.content.decode()


def test_staff_with_admin_rights_see_only_their_brands_rows(
    client: Client, brand: Brand, other_brand: Brand, make_order: Callable[..., Order]
) -> None:
    make_order(brand, "#1001")
    make_order(other_brand, "#5001")
    owner = staff_add(slug=brand.slug, email="owner@aurelia.example", role="owner", password="x" * 12, actor=OPERATOR)
    owner.user.user_permissions.add(Permission.objects.get(codename="view_order"))
    client.force_login(owner.user)

    html = client.get("/admin/orders/order/").content.decode()

    assert "#1001" in html
    assert "#5001" not in html
    assert other_brand.name not in html  # not even in the brand filter
    foreign = Order.objects.get(number="#5001")
    assert client.get(f"/admin/orders/order/{foreign.pk}/change/").status_code == 302  # "does not exist"
