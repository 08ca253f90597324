"""Fixtures shared by every test: brands, staff, API tokens, and an API client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from assay.brands.models import Brand
from assay.brands.services import api_token_create, brand_create, brand_secret_set, staff_add
from assay.core.audit import Actor

OPERATOR = Actor.system("test")
SHOPIFY_SECRET = "shpss_test_secret_0123456789"


@pytest.fixture
def make_brand(db: Any) -> Callable[..., Brand]:
    def make(slug: str = "aurelia", name: str = "Aurelia Fine Jewellery", currency: str = "USD") -> Brand:
        brand = brand_create(slug=slug, name=name, currency=currency, actor=OPERATOR)
        brand_secret_set(slug=slug, integration="shopify", secret=SHOPIFY_SECRET + slug, actor=OPERATOR)
        return brand

    return make


@pytest.fixture
def brand(make_brand: Callable[..., Brand]) -> Brand:
    return make_brand()


@pytest.fixture
def other_brand(make_brand: Callable[..., Brand]) -> Brand:
    return make_brand(slug="lumen", name="Lumen Diamonds", currency="EUR")


@pytest.fixture
def api_token(brand: Brand) -> str:
    return api_token_create(slug=brand.slug, role="ops", actor=OPERATOR).raw


@pytest.fixture
def api(api_token: str) -> Client:
    """A Django test client that sends the brand's bearer token."""
    return Client(headers={"Authorization": f"Bearer {api_token}"})


@pytest.fixture
def staff_password() -> str:
    return "correct-horse-battery"


@pytest.fixture
def staff_user(brand: Brand, staff_password: str) -> Any:
    return staff_add(
        slug=brand.slug, email="ops@aurelia.example", role="ops", password=staff_password, actor=OPERATOR
    ).user


@pytest.fixture(autouse=True)
def _fresh_secret_cache() -> Any:
    """Each test builds its brands anew (new ids, same slugs): no cached secret may outlive it."""
    from assay.brands.selectors import integration_secret_cache_clear

    integration_secret_cache_clear()
    yield
    integration_secret_cache_clear()


@pytest.fixture(autouse=True)
def _fresh_policy_cache() -> Any:
    """Compiled policies and each brand's current version are cached per process; tests rebuild
    brands and versions with reused ids, so no cached policy may outlive a test."""
    from assay.policies.selectors import policy_cache_clear

    policy_cache_clear()
    yield
    policy_cache_clear()
