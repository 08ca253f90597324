"""Logging in and out, and which brands a person can see and switch to."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from assay.backoffice.scope import SESSION_KEY
from assay.brands.models import Brand
from assay.brands.services import brand_create
from assay.core.audit import Actor

pytestmark = pytest.mark.django_db

STAFF_PAGES = ["/app/", "/app/orders/", "/app/orders/1/", "/app/webhooks/"]


@pytest.mark.parametrize("path", STAFF_PAGES)
def test_every_staff_page_sends_a_signed_out_visitor_to_the_login(client: Client, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"] == f"/app/login/?next={path}"


def test_the_login_page_labels_its_fields(client: Client) -> None:
    response = client.get("/app/login/")

    assert response.status_code == 200
    html = response.content.decode()
    assert '<label for="id_username">E-mail</label>' in html
    assert '<label for="id_password">Password</label>' in html


def test_staff_log_in_with_their_email_in_any_case_and_land_on_the_dashboard(
    client: Client, staff_user: Any, staff_password: str, brand: Brand
) -> None:
    response = client.post(
        "/app/login/", {"username": "  OPS@Aurelia.Example ", "password": staff_password}, follow=True
    )

    assert response.redirect_chain == [("/app/", 302)]
    assert "Dashboard" in response.content.decode()
    assert brand.name in response.content.decode()


def test_a_wrong_password_keeps_the_person_out_with_a_message(client: Client, staff_user: Any) -> None:
    response = client.post("/app/login/", {"username": staff_user.username, "password": "not-the-password"})

    assert response.status_code == 200
    assert "enter a correct" in response.content.decode()
    assert client.get("/app/").status_code == 302


def test_logging_out_takes_a_post_and_ends_the_session(staff_client: Client) -> None:
    assert staff_client.get("/app/logout/").status_code == 405

    response = staff_client.post("/app/logout/")

    assert response.status_code == 302
    assert response["Location"] == "/app/login/"
    assert staff_client.get("/app/").status_code == 302


def test_a_person_in_no_brand_is_told_so_and_sees_nothing(client: Client, brand: Brand) -> None:
    user = get_user_model().objects.create_user("loner@example.com", "loner@example.com", "correct-horse-battery")
    client.force_login(user)

    response = client.get("/app/orders/")

    assert response.status_code == 403
    assert "You do not belong to a brand yet" in response.content.decode()
    assert brand.name not in response.content.decode()


def test_the_header_carries_the_brand_name_and_its_colours(staff_client: Client, brand: Brand) -> None:
    Brand.objects.filter(pk=brand.pk).update(primary_colour="#0b3d2e", accent_colour="#c9a227")

    html = staff_client.get("/app/").content.decode()

    assert '<span class="topbar__name">Aurelia Fine Jewellery</span>' in html
    assert "--brand: #0b3d2e;" in html
    assert "--accent: #c9a227;" in html
    assert "--brand-ink: #ffffff;" in html  # white text on a dark green


def test_a_person_in_one_brand_has_no_brand_menu(staff_client: Client) -> None:
    html = staff_client.get("/app/").content.decode()

    assert 'name="brand"' not in html


def test_a_person_in_two_brands_picks_one_from_the_header(
    two_brand_client: Client, brand: Brand, other_brand: Brand
) -> None:
    html = two_brand_client.get("/app/").content.decode()

    assert '<label for="brand-switch-select">Brand</label>' in html
    assert f'<option value="{brand.pk}" selected>{brand.name}</option>' in html
    assert f'<option value="{other_brand.pk}">{other_brand.name}</option>' in html


def test_switching_brand_keeps_the_choice_for_the_session(
    two_brand_client: Client, brand: Brand, other_brand: Brand
) -> None:
    response = two_brand_client.post("/app/brand/", {"brand": other_brand.pk, "next": "/app/orders/?number=1"})

    assert response.status_code == 302
    assert response["Location"] == "/app/orders/"  # the list, not the old brand's search
    assert two_brand_client.session[SESSION_KEY] == other_brand.pk
    html = two_brand_client.get("/app/").content.decode()
    assert f'<span class="topbar__name">{other_brand.name}</span>' in html
    assert "You are now working in Lumen Diamonds." in html


def test_switching_from_an_order_goes_to_the_order_list_of_the_new_brand(
    two_brand_client: Client, other_brand: Brand
) -> None:
    response = two_brand_client.post("/app/brand/", {"brand": other_brand.pk, "next": "/app/orders/12/"})

    assert response["Location"] == "/app/orders/"


def test_switching_with_an_outside_next_address_stays_in_the_back_office(
    two_brand_client: Client, other_brand: Brand
) -> None:
    response = two_brand_client.post("/app/brand/", {"brand": other_brand.pk, "next": "https://evil.example/app/"})

    assert response["Location"] == "/app/"


def test_switching_to_a_brand_the_person_does_not_belong_to_is_404_and_changes_nothing(
    staff_client: Client, brand: Brand, other_brand: Brand
) -> None:
    staff_client.get("/app/")

    response = staff_client.post("/app/brand/", {"brand": other_brand.pk})

    assert response.status_code == 404
    assert staff_client.session[SESSION_KEY] == brand.pk


@pytest.mark.parametrize("value", ["", "abc", "-3", "99999999999999999999999"])
def test_a_malformed_brand_id_is_404_not_an_error(staff_client: Client, value: str) -> None:
    assert staff_client.post("/app/brand/", {"brand": value}).status_code == 404


def test_switching_brand_needs_a_login(client: Client, brand: Brand) -> None:
    response = client.post("/app/brand/", {"brand": brand.pk})

    assert response.status_code == 302
    assert response["Location"].startswith("/app/login/")


def test_a_forged_brand_in_the_session_falls_back_to_the_persons_own_brand(
    staff_client: Client, brand: Brand, other_brand: Brand
) -> None:
    session = staff_client.session
    session[SESSION_KEY] = other_brand.pk
    session.save()

    html = staff_client.get("/app/").content.decode()

    assert f'<span class="topbar__name">{brand.name}</span>' in html
    assert other_brand.name not in html
    assert staff_client.session[SESSION_KEY] == brand.pk


def test_a_superuser_sees_and_switches_to_every_brand(client: Client, brand: Brand, other_brand: Brand) -> None:
    third = brand_create(slug="ormolu", name="Ormolu", actor=Actor.system("test"))
    admin = get_user_model().objects.create_superuser("root@example.com", "root@example.com", "correct-horse-battery")
    client.force_login(admin)

    html = client.get("/app/").content.decode()
    switched = client.post("/app/brand/", {"brand": third.pk})

    for each in (brand, other_brand, third):
        assert f'<option value="{each.pk}"' in html
    assert switched.status_code == 302
    assert client.session[SESSION_KEY] == third.pk
