"""Who may call the API, and how it answers what it cannot do."""

from __future__ import annotations

import pytest
from django.test import Client

from assay.brands.models import Brand
from assay.brands.services import api_token_create, api_token_revoke
from assay.core.audit import Actor

OPERATOR = Actor.system("test")


@pytest.mark.django_db
def test_a_request_without_a_token_is_refused_with_401():
    response = Client().get("/api/v1/orders")

    assert response.status_code == 401
    assert response.json() == {"detail": "a valid bearer token is required"}
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    [
        "Bearer assay_not-a-real-token",
        "Bearer something-else-entirely",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "assay_token-without-scheme",
    ],
)
def test_an_unknown_or_malformed_token_is_refused_with_401(brand, header):
    response = Client(headers={"Authorization": header}).get("/api/v1/orders")

    assert response.status_code == 401
    assert response.json() == {"detail": "a valid bearer token is required"}


def test_a_revoked_token_is_refused_with_401(brand: Brand):
    issued = api_token_create(slug=brand.slug, role="ops", actor=OPERATOR)
    client = Client(headers={"Authorization": f"Bearer {issued.raw}"})
    assert client.get("/api/v1/orders").status_code == 200

    api_token_revoke(token_id=issued.token.pk, brand_id=brand.pk, actor=OPERATOR)

    response = client.get("/api/v1/orders")
    assert response.status_code == 401
    assert response.json() == {"detail": "a valid bearer token is required"}


def test_a_token_records_when_it_was_last_used(brand: Brand):
    issued = api_token_create(slug=brand.slug, role="ops", actor=OPERATOR)
    assert issued.token.last_used_at is None

    Client(headers={"Authorization": f"Bearer {issued.raw}"}).get("/api/v1/orders")

    issued.token.refresh_from_db()
    assert issued.token.last_used_at is not None


@pytest.mark.django_db
def test_the_openapi_schema_is_readable_without_a_token():
    response = Client().get("/api/v1/openapi.json")

    assert response.status_code == 200
    assert response.json()["info"]["title"] == "Assay API"
    assert "/api/v1/orders/{order_id}" in response.json()["paths"]


def test_the_openapi_schema_is_readable_with_a_token(api: Client):
    response = api.get("/api/v1/openapi.json")

    assert response.status_code == 200
    assert "/api/v1/orders" in response.json()["paths"]


@pytest.mark.django_db
def test_the_docs_page_is_served_from_local_files_without_a_token():
    response = Client().get("/api/v1/docs")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("post", "/api/v1/orders", "GET"),
        ("delete", "/api/v1/orders/1", "GET"),
        ("put", "/api/v1/products/1", "GET"),
        ("patch", "/api/v1/webhook-events", "GET"),
        ("get", "/api/v1/webhook-events/1/retry", "POST"),
        ("post", "/api/v1/openapi.json", "GET, HEAD"),
        ("delete", "/api/v1/docs", "GET, HEAD"),
    ],
)
def test_an_undeclared_method_answers_405_with_a_detail(method, path, allowed):
    response = getattr(Client(), method)(path)

    assert response.status_code == 405
    assert response["Content-Type"].startswith("application/json")
    assert response["Allow"] == allowed
    assert response.json() == {"detail": f"method {method.upper()} is not allowed on {path}; allowed: {allowed}"}


def test_an_undeclared_method_answers_405_for_a_caller_with_a_token_too(api: Client):
    response = api.delete("/api/v1/orders")

    assert response.status_code == 405
    assert "allowed: GET" in response.json()["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/", "/api/v1/nothing-here", "/api/v1/orders/abc", "/api/v1/orders/1/x"])
def test_an_unknown_api_path_answers_404_as_json(path):
    response = Client().get(path)

    assert response.status_code == 404
    assert response.json() == {"detail": f"no API endpoint at {path}; see /api/v1/docs"}
