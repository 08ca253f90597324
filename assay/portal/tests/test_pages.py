"""The shopper's pages: lookup, the order, the return form, confirmation and status."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.urls import reverse

from assay.brands.models import Brand
from assay.orders.models import Order
from assay.orders.schema import CanonicalLine
from assay.portal.session import SESSION_KEY
from assay.portal.tests.shop import ring_product, shop_order
from assay.portal.tests.test_photos import jpeg_with_gps
from assay.returns.models import ReturnPhoto, ReturnRequest
from assay.returns.portal_access import LOOKUP_FAILED

pytestmark = pytest.mark.django_db

GENERIC = LOOKUP_FAILED


def url(name: str, brand: Brand, **kwargs: Any) -> str:
    return reverse(f"portal:{name}", kwargs={"brand": brand.slug, **kwargs})


def look_up(client: Client, brand: Brand, number: str = "#1001", email: str = "ada@example.com") -> Any:
    return client.post(url("lookup", brand), {"order_number": number, "email": email})


def test_an_unknown_brand_is_a_404_page(client: Client) -> None:
    response = client.get("/returns/no-such-brand/")

    assert response.status_code == 404
    assert b"There is no returns page at this address" in response.content


def test_the_lookup_page_wears_the_brands_colours_and_labels_its_inputs(client: Client, brand: Brand) -> None:
    Brand.objects.filter(pk=brand.pk).update(primary_colour="#3b2f4a", logo_url="https://cdn.example/logo.png")

    response = client.get(url("lookup", brand))

    html = response.content.decode()
    assert response.status_code == 200
    assert "--brand: #3b2f4a; --brand-ink: #ffffff" in html
    assert '<img src="https://cdn.example/logo.png" alt="Aurelia Fine Jewellery"' in html
    assert '<label for="id_order_number">Order number</label>' in html
    assert '<label for="id_email">E-mail address</label>' in html
    assert 'name="csrfmiddlewaretoken"' in html


@pytest.mark.parametrize(("number", "email"), [("#1001", "ada@example.com"), ("1001", "ADA@Example.com "),
                                               (" #1001 ", "Ada@example.com")])  # fmt: skip
def test_a_right_pair_opens_the_order_however_it_is_typed(
    client: Client, brand: Brand, ring_order: Order, number: str, email: str
) -> None:
    response = look_up(client, brand, number, email)

    assert response.status_code == 302
    assert response["Location"] == url("order", brand)
    assert client.session[SESSION_KEY][str(brand.pk)]["order"] == ring_order.pk


@pytest.mark.parametrize(
    ("number", "email"),
    [("#1001", "eve@example.com"), ("#1002", "ada@example.com"), ("#9999", "nobody@example.com")],
    ids=["wrong e-mail", "another order", "unknown"],
)
def test_a_wrong_pair_gets_the_same_generic_message_whatever_was_wrong(
    client: Client, brand: Brand, ring_order: Order, make_shop_order: Callable[..., Order], number: str, email: str
) -> None:
    make_shop_order("#1002", email="bob@example.com")

    response = look_up(client, brand, number, email)

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [GENERIC]
    assert SESSION_KEY not in client.session


def test_another_brands_order_is_not_found_on_this_brands_page(
    client: Client, brand: Brand, other_brand: Brand
) -> None:
    shop_order(other_brand, "#1001")

    response = look_up(client, brand)

    assert response.context["form"].non_field_errors() == [GENERIC]


@override_settings(PORTAL_LOOKUPS_PER_CLIENT=10, PORTAL_LOOKUPS_PER_ORDER=100)
def test_after_ten_lookups_a_minute_a_client_is_told_to_wait(client: Client, brand: Brand, ring_order: Order) -> None:
    for n in range(10):
        assert look_up(client, brand, f"#{2000 + n}").status_code == 200

    response = look_up(client, brand)  # even the right pair

    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "Too many attempts. Please try again in a minute." in response.content.decode()


@override_settings(PORTAL_LOOKUPS_PER_CLIENT=100, PORTAL_LOOKUPS_PER_ORDER=5)
def test_after_five_lookups_of_one_order_a_minute_any_client_is_told_to_wait(brand: Brand, ring_order: Order) -> None:
    for n in range(5):
        guesser = Client(REMOTE_ADDR=f"203.0.113.{n}")
        assert look_up(guesser, brand, "#1001", f"guess{n}@example.com").status_code == 200

    response = look_up(Client(REMOTE_ADDR="198.51.100.1"), brand, "1001")

    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()


def test_the_order_page_needs_a_lookup_first(client: Client, brand: Brand, ring_order: Order) -> None:
    response = client.get(url("order", brand), follow=True)

    assert response.redirect_chain == [(url("lookup", brand), 302)]
    assert "Please look up your order again" in response.content.decode()


def test_the_order_page_says_what_each_line_allows_and_why_an_engraved_one_cannot(
    client: Client, brand: Brand, ring_order: Order
) -> None:
    look_up(client, brand)

    response = client.get(url("order", brand))

    html = response.content.decode()
    assert response.status_code == 200
    ring = html[html.index('id="line-') : html.index("Initial pendant")]
    assert "Can be returned for" in ring
    pendant = html[html.index("Initial pendant") :]
    assert "Final sale – cannot be returned" in pendant
    assert "Engraved and personalised pieces are final sale and cannot be returned." in pendant
    assert "A.L." in pendant
    assert url("return-start", brand) in html


def test_the_session_lapses_after_thirty_minutes(
    client: Client, brand: Brand, ring_order: Order, monkeypatch: pytest.MonkeyPatch
) -> None:
    look_up(client, brand)
    session = client.session
    session[SESSION_KEY] = {str(brand.pk): {"order": ring_order.pk, "until": 1}}
    session.save()

    response = client.get(url("order", brand))

    assert response.status_code == 302
    assert response["Location"] == url("lookup", brand)


def return_form(client: Client, brand: Brand) -> Any:
    return client.get(url("return-start", brand))


def test_the_ring_size_exchange_comes_first_with_the_sizes_in_stock(
    client: Client, brand: Brand, ring_order: Order
) -> None:
    look_up(client, brand)

    response = return_form(client, brand)

    form = response.context["form"]
    [group] = form.line_fields()
    assert group.picks[0].value == "exchange_size"
    assert group.picks[0].primary
    sizes = [label for value, label in group.size.field.choices if value]
    assert sizes == ["Size 5", "Size 5.5", "Size 6", "Size 7", "Size 7.5", "Size 8"]
    html = response.content.decode()
    assert html.index("Exchange for another size") < html.index("Store credit") < html.index("Refund")
    assert "1,300.00 USD to spend with us: 100.00 USD bonus on top of your refund value." in html
    assert "Initial pendant" in html  # listed, not selectable
    assert "Final sale" in html
    assert 'name="line-' + str(group.offer.id) + '-selected"' in html


def submit(client: Client, brand: Brand, line_id: int, **overrides: Any) -> Any:
    form = return_form(client, brand).context["form"]
    data = {
        "submission_key": form.initial["submission_key"],
        f"line-{line_id}-selected": "on",
        f"line-{line_id}-reason": "size_too_small",
        f"line-{line_id}-resolution": "exchange_size",
        f"line-{line_id}-size": "SOL-7",
        "method": "mail",
    }
    data.update(overrides)
    return client.post(url("return-start", brand), {k: v for k, v in data.items() if v is not None})


def ring_line(order: Order) -> int:
    return order.lines.get(sku="SOL-6.5").pk


def test_a_size_exchange_becomes_an_rma_shown_on_the_confirmation(
    client: Client, brand: Brand, ring_order: Order
) -> None:
    look_up(client, brand)

    response = submit(client, brand, ring_line(ring_order))

    created = ReturnRequest.objects.get(order=ring_order)
    assert response.status_code == 302
    assert response["Location"] == url("confirmation", brand, rma=created.rma)
    [line] = created.lines.all()
    assert (line.resolution, line.exchange_kind, line.exchange_sku, line.size_wanted) == (
        "exchange", "size", "SOL-7", Decimal("7.00"),
    )  # fmt: skip
    page = client.get(response["Location"]).content.decode()
    assert re.search(r"RMA R-\d+", page)
    assert f"RMA {created.rma}" in page
    assert "What happens next" in page


def test_a_double_submit_finds_the_first_rma(client: Client, brand: Brand, ring_order: Order) -> None:
    look_up(client, brand)
    form = return_form(client, brand).context["form"]
    key = form.initial["submission_key"]
    line_id = ring_line(ring_order)
    data = {
        "submission_key": key, f"line-{line_id}-selected": "on", f"line-{line_id}-reason": "size_too_small",
        f"line-{line_id}-resolution": "exchange_size", f"line-{line_id}-size": "SOL-7", "method": "mail",
    }  # fmt: skip

    first = client.post(url("return-start", brand), data)
    again = client.post(url("return-start", brand), data)

    assert ReturnRequest.objects.filter(order=ring_order).count() == 1
    assert first["Location"] == again["Location"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"line-{id}-resolution": None}, "Choose what you would like instead of Solitaire ring."),
        ({"line-{id}-reason": ""}, "Tell us why you are returning Solitaire ring."),
        ({"line-{id}-size": ""}, "Choose the size you need."),
        ({"line-{id}-size": "SOL-6.5"}, "Select a valid choice."),  # the size they have
        ({"line-{id}-resolution": "exchange_product"}, "Select a valid choice."),  # not offered
        ({"line-{id}-selected": None}, "Choose at least one item to return."),
        ({"method": "in_store"}, "Select a valid choice."),  # not allowed by the policy
        ({"submission_key": "not-a-uuid"}, "The form was altered"),
    ],
)
def test_a_wrong_or_tampered_form_says_what_to_fix_and_creates_nothing(
    client: Client, brand: Brand, ring_order: Order, overrides: dict[str, Any], message: str
) -> None:
    look_up(client, brand)
    line_id = ring_line(ring_order)

    response = submit(client, brand, line_id, **{k.format(id=line_id): v for k, v in overrides.items()})

    assert response.status_code == 422
    assert message in response.content.decode()
    assert not ReturnRequest.objects.exists()


def test_a_line_of_another_order_cannot_be_slipped_into_the_form(
    client: Client, brand: Brand, ring_order: Order, make_shop_order: Callable[..., Order]
) -> None:
    other = make_shop_order("#1002", email="bob@example.com")
    foreign = other.lines.get().pk
    look_up(client, brand)

    response = submit(
        client, brand, ring_line(ring_order), **{f"line-{foreign}-selected": "on", f"line-{foreign}-reason": "other",
                                                 f"line-{foreign}-resolution": "refund"}
    )  # fmt: skip

    created = ReturnRequest.objects.get()
    assert response.status_code == 302
    assert [line.order_line_id for line in created.lines.all()] == [ring_line(ring_order)]


def test_photos_are_stored_without_their_metadata(
    client: Client, brand: Brand, ring_order: Order, settings: Any, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = tmp_path
    look_up(client, brand)
    photo = SimpleUploadedFile("IMG_0001.jpg", jpeg_with_gps(), content_type="image/jpeg")

    response = submit(client, brand, ring_line(ring_order), photos=[photo])

    assert response.status_code == 302
    [stored] = ReturnPhoto.objects.all()
    assert b"Exif" not in (tmp_path / (stored.image.name or "")).read_bytes()


def test_a_file_that_is_not_a_photo_is_refused_with_its_name(client: Client, brand: Brand, ring_order: Order) -> None:
    look_up(client, brand)
    fake = SimpleUploadedFile("receipt.pdf", b"%PDF-1.4 not an image", content_type="image/jpeg")

    response = submit(client, brand, ring_line(ring_order), photos=[fake])

    assert response.status_code == 422
    assert "“receipt.pdf” is not a photo we can read" in response.content.decode()
    assert not ReturnRequest.objects.exists()


def test_the_status_page_shows_the_timeline_and_the_shopper_can_cancel(
    client: Client, brand: Brand, ring_order: Order
) -> None:
    look_up(client, brand)
    submit(client, brand, ring_line(ring_order))
    rma = ReturnRequest.objects.get().rma

    page = client.get(url("status", brand, rma=rma)).content.decode()
    assert "Timeline" in page
    assert "Return requested" in page
    assert "Cancel this return" in page

    response = client.post(url("cancel", brand, rma=rma), follow=True)

    assert ReturnRequest.objects.get().status == "cancelled"
    html = response.content.decode()
    assert f"RMA {rma} is cancelled" in html
    assert "Return cancelled" in html
    assert "Cancel this return" not in html


def test_the_order_page_links_to_its_returns_for_a_later_visit(client: Client, brand: Brand, ring_order: Order) -> None:
    look_up(client, brand)
    submit(client, brand, ring_line(ring_order))
    rma = ReturnRequest.objects.get().rma
    later = Client()
    look_up(later, brand)

    html = later.get(url("order", brand)).content.decode()

    assert f'href="{url("status", brand, rma=rma)}"' in html


def test_another_orders_rma_is_not_found(
    client: Client, brand: Brand, ring_order: Order, make_shop_order: Callable[..., Order]
) -> None:
    ring_product(brand, external_id="p2", sku="SOL2")
    other = make_shop_order("#1002", email="bob@example.com")
    bob = Client()
    look_up(bob, brand, "#1002", "bob@example.com")
    line_id = other.lines.get().pk
    bob_form = bob.get(url("return-start", brand)).context["form"]
    bob.post(url("return-start", brand), {
        "submission_key": bob_form.initial["submission_key"], f"line-{line_id}-selected": "on",
        f"line-{line_id}-reason": "changed_mind", f"line-{line_id}-resolution": "refund", "method": "mail",
    })  # fmt: skip
    bobs = ReturnRequest.objects.get(order=other).rma
    look_up(client, brand)

    for name in ("status", "confirmation"):
        response = client.get(url(name, brand, rma=bobs))
        assert response.status_code == 404
        assert "This order has no return with that number." in response.content.decode()
    assert client.post(url("cancel", brand, rma=bobs)).status_code == 404
    assert ReturnRequest.objects.get(order=other).status != "cancelled"


def test_an_engraved_resizable_ring_says_resize_only_and_offers_only_another_size(client: Client, brand: Brand) -> None:
    ring_product(brand, external_id="p-band", title="Comfort band", sku="BAND", resizable=True)
    order = shop_order(
        brand,
        "#1003",
        lines=[
            CanonicalLine(external_id="b", sku="BAND-7", title="Comfort band", variant_title="7", quantity=1,
                          unit_price=Decimal(900), properties={"Engraving": "Always"}, fulfilled_quantity=1),
        ],
    )  # fmt: skip
    look_up(client, brand, "#1003")

    page = client.get(url("order", brand)).content.decode()
    form = client.get(url("return-start", brand)).context["form"]

    assert "Resize only – can be exchanged for another size" in page
    assert "Engraved and personalised pieces are final sale; this ring can be resized." in page
    [group] = form.line_fields()
    assert group.offer.id == order.lines.get().pk
    assert [pick.value for pick in group.picks] == ["exchange_size"]


def test_another_piece_is_offered_with_its_price_difference(client: Client, brand: Brand, ring_order: Order) -> None:
    ring_product(brand, external_id="p-halo", title="Halo ring", sku="HALO", price="1500", stock={"7": 1})
    look_up(client, brand)

    form = client.get(url("return-start", brand)).context["form"]

    [group] = form.line_fields()
    assert [pick.value for pick in group.picks] == ["exchange_size", "exchange_product", "store_credit", "refund"]
    [(title, choices)] = [choice for choice in group.product.field.choices if choice[0]]
    assert title == "Halo ring"
    assert ("HALO-7", "Halo ring – 7 (you pay 300.00 USD more)") in choices
    assert all(not sku.startswith("SOL") for sku, _ in choices)


def test_an_upload_too_large_for_five_photos_is_refused_before_it_is_read(
    client: Client, brand: Brand, ring_order: Order
) -> None:
    look_up(client, brand)

    response = client.post(url("return-start", brand), {}, CONTENT_LENGTH=str(60 * 1024 * 1024))

    assert response.status_code == 302
    assert response["Location"] == url("return-start", brand)
    page = client.get(response["Location"]).content.decode()
    assert "Your photos are too large together: at most 5 photos of 10 MB each." in page
    assert not ReturnRequest.objects.exists()
