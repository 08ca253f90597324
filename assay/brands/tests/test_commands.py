"""The operator's commands, as an operator runs them (console script `assay`)."""

import subprocess
import sys
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from assay.brands.models import Brand, IntegrationSecret, Membership
from assay.brands.selectors import token_identity


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_an_operator_connects_a_store_with_the_four_commands():
    run("create_brand", "aurelia", "--name", "Aurelia Fine Jewellery")
    out, _ = run("brand_secret", "aurelia", "--integration", "shopify", "--secret", "shpss_abcdef123")
    token, _ = run("create_token", "aurelia", "--role", "ops")
    run("create_staff", "aurelia", "Ops@Aurelia.example", "--role", "ops", "--password", "a-long-password")

    brand = Brand.objects.get(slug="aurelia")
    assert "shpss_abcdef123" not in out
    assert IntegrationSecret.objects.get(brand=brand, integration="shopify").secret == "shpss_abcdef123"
    identity = token_identity(raw=token.strip())
    assert identity is not None
    assert (identity.brand_slug, identity.role) == ("aurelia", "ops")
    user = get_user_model().objects.get(username="ops@aurelia.example")
    assert user.check_password("a-long-password")
    assert Membership.objects.get(user=user, brand=brand).role == "ops"


@pytest.mark.django_db
def test_one_person_can_work_for_two_brands():
    run("create_brand", "aurelia", "--name", "Aurelia")
    run("create_brand", "lumen", "--name", "Lumen")
    run("create_staff", "aurelia", "va@example.com", "--role", "ops", "--password", "a-long-password")
    run("create_staff", "lumen", "va@example.com", "--role", "marketing")
    roles = dict(Membership.objects.filter(user__username="va@example.com").values_list("brand__slug", "role"))
    assert roles == {"aurelia": "ops", "lumen": "marketing"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("create_brand", "Bad Slug!", "--name", "x"), "slug"),
        (("brand_secret", "nobrand", "--integration", "shopify", "--secret", "abcdefgh"), "no brand 'nobrand'"),
        (("create_token", "nobrand", "--role", "ops"), "no brand"),
        (("create_staff", "nobrand", "a@b.example", "--role", "ops", "--password", "pw-long-enough"), "no brand"),
    ],
)
def test_bad_operator_input_gets_a_clear_error(args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)


@pytest.mark.django_db
def test_a_brand_cannot_be_created_twice():
    run("create_brand", "aurelia", "--name", "Aurelia")
    with pytest.raises(CommandError, match="already exists"):
        run("create_brand", "aurelia", "--name", "Aurelia again")


@pytest.mark.django_db
def test_a_new_staff_member_needs_a_password_that_passes_the_rules():
    run("create_brand", "aurelia", "--name", "Aurelia")
    with pytest.raises(CommandError, match="needs a password"):
        run("create_staff", "aurelia", "new@aurelia.example", "--role", "ops")
    with pytest.raises(CommandError, match="too short"):
        run("create_staff", "aurelia", "new@aurelia.example", "--role", "ops", "--password", "short")


def test_the_assay_console_script_is_installed_and_answers():
    result = subprocess.run(
        [sys.executable, "-m", "assay", "help", "create_token"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert "--role" in result.stdout


@pytest.mark.django_db
def test_an_owner_can_configure_their_brand_in_the_admin(client):
    run("create_brand", "aurelia", "--name", "Aurelia")
    run("create_staff", "aurelia", "owner@aurelia.example", "--role", "owner", "--password", "a-long-password")
    client.login(username="owner@aurelia.example", password="a-long-password")
    brand = Brand.objects.get(slug="aurelia")
    page = client.get(f"/admin/brands/brand/{brand.pk}/change/")
    assert page.status_code == 200
    assert b"Aurelia" in page.content
