"""/api/v1/policy: read, publish (validated, idempotent, role-checked), history, schema and dry run."""

from __future__ import annotations

import pytest
from django.test import Client

from assay.brands.services import api_token_create
from assay.core.audit import Actor
from assay.policies.defaults import default_jewellery_policy
from assay.policies.models import PolicyVersion
from assay.policies.services import policy_version_publish

OPERATOR = Actor.system("test")
STRICT = {
    "defaults": {"refund_days": 14},
    "rules": [
        {
            "id": "no-rings",
            "name": "Rings are final sale",
            "when": {"not": {"category": ["necklace"]}, "sku_prefix": ["AUR-RING"]},
            "then": {"eligible": False, "reason": "Rings are final sale."},
        }
    ],
}


def put(api: Client, document, note: str = "", **headers):
    return api.put("/api/v1/policy", {"document": document, "note": note}, content_type="application/json", **headers)


def test_before_anything_is_published_the_built_in_default_is_current(api: Client):
    response = api.get("/api/v1/policy")

    assert response.status_code == 200
    body = response.json()
    assert (body["number"], body["created_at"]) == (0, None)
    assert body["document"] == default_jewellery_policy()


def test_a_published_document_becomes_current_and_reads_back_exactly(api: Client, brand):
    published = put(api, STRICT, note="rings final sale")

    assert published.status_code == 200, published.content
    assert published.json()["number"] == 1
    current = api.get("/api/v1/policy").json()
    assert (current["number"], current["note"], current["document"]) == (1, "rings final sale", STRICT)
    assert current["created_by"].startswith("API token")
    assert PolicyVersion.objects.get(brand=brand).document == STRICT


def test_an_invalid_document_answers_422_naming_the_rule_and_field_and_stores_nothing(api: Client):
    bad = {"rules": [{"id": "x", "name": "X", "when": {"categry": ["ring"]}, "then": {"resolutions": ["cash"]}}]}

    response = put(api, bad)

    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "rules[0] (id 'x').when.categry: is not a known field" in detail
    assert "rules[0] (id 'x').then.resolutions[0]: Input should be 'refund', 'store_credit' or 'exchange'" in detail
    assert not PolicyVersion.objects.exists()


@pytest.mark.parametrize("body", [{"note": "no document"}, {"document": ["not", "an", "object"]}])
def test_a_publish_without_a_document_object_answers_422(api: Client, body):
    response = api.put("/api/v1/policy", body, content_type="application/json")

    assert response.status_code == 422
    assert response.json()["detail"]


def test_only_owner_and_ops_tokens_may_publish(brand):
    copywriter = Client(
        headers={"Authorization": f"Bearer {api_token_create(slug=brand.slug, role='copywriter', actor=OPERATOR).raw}"}
    )

    response = put(copywriter, STRICT)

    assert response.status_code == 403
    assert "owner or ops" in response.json()["detail"]
    assert copywriter.get("/api/v1/policy").status_code == 200


def test_a_retried_publish_with_the_same_idempotency_key_stores_one_version(api: Client, brand):
    first = put(api, STRICT, HTTP_IDEMPOTENCY_KEY="publish-1")
    again = put(api, STRICT, HTTP_IDEMPOTENCY_KEY="publish-1")

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert PolicyVersion.objects.filter(brand=brand).count() == 1


def test_versions_are_listed_newest_first_and_read_one_by_one(api: Client):
    put(api, {}, note="first")
    put(api, STRICT, note="second")

    listing = api.get("/api/v1/policy/versions").json()
    first = api.get("/api/v1/policy/versions/1")

    assert listing["count"] == 2
    assert [(v["number"], v["note"], v["rules"]) for v in listing["items"]] == [(2, "second", 1), (1, "first", 0)]
    assert first.status_code == 200
    assert first.json()["document"] == {}
    assert api.get("/api/v1/policy/versions?limit=1&offset=1").json()["items"][0]["number"] == 1


def test_another_brands_versions_are_not_found(api: Client, other_brand):
    policy_version_publish(brand_id=other_brand.pk, document=STRICT, actor=OPERATOR)

    assert api.get("/api/v1/policy/versions/1").status_code == 404
    assert api.get("/api/v1/policy/versions").json()["count"] == 0
    assert api.get("/api/v1/policy").json()["number"] == 0


def test_the_schema_endpoint_answers_the_documents_json_schema(api: Client):
    schema = api.get("/api/v1/policy/schema").json()

    assert schema["title"] == "Return policy"
    assert {"defaults", "rules"} <= set(schema["properties"])
    assert "not" in schema["$defs"]["Conditions"]["properties"]


def test_the_api_requires_a_token(db):
    assert Client().get("/api/v1/policy").status_code == 401


# --- dry run -------------------------------------------------------------------------------------


def evaluate(api: Client, **body):
    return api.post("/api/v1/policy/evaluate", body, content_type="application/json")


def test_a_dry_run_answers_each_lines_decision_with_the_rules_that_applied(api: Client, make_order):
    order = make_order("#1001")
    line_id = order.lines.get().pk

    response = evaluate(api, order_id=order.pk, now="2024-03-10T10:00:00Z")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["order_id"], body["currency"], body["policy_version"]) == (order.pk, "USD", 0)
    [line] = body["lines"]
    assert line["line_id"] == line_id
    assert line["eligible"] is True
    assert line["resolutions"] == ["refund", "store_credit", "exchange"]
    assert line["label_fee"] == "0.00"
    assert line["bonus_store_credit"] == {"percent": "10", "fixed": "0.00", "cap": "100.00"}
    assert line["refund_until"].startswith("2024-03-31")


def test_a_dry_run_can_try_an_unpublished_document_or_an_older_version(api: Client, make_order):
    order = make_order("#1001")
    put(api, {}, note="permissive")

    draft = evaluate(api, order_id=order.pk, now="2024-03-10T10:00:00Z", document=STRICT).json()
    old = evaluate(api, order_id=order.pk, now="2024-03-10T10:00:00Z", version=1).json()

    assert draft["policy_version"] is None
    assert draft["lines"][0]["eligible"] is False
    assert draft["lines"][0]["reason"] == "Rings are final sale."
    assert draft["lines"][0]["matched"] == [
        {
            "rule_id": "no-rings",
            "rule_name": "Rings are final sale",
            "why": "SKU AUR-RING-6 starts with AUR-RING; not excluded (category is ring)",
        }
    ]
    assert old["policy_version"] == 1
    assert old["lines"][0]["eligible"] is True
    assert not PolicyVersion.objects.filter(number=2).exists()


def test_a_dry_run_decides_with_the_reasons_given(api: Client, make_order):
    order = make_order("#1001")
    line_id = order.lines.get().pk
    mind = {
        "rules": [
            {
                "id": "mind",
                "name": "Mind",
                "when": {"reason": ["changed_mind"]},
                "then": {"eligible": False, "reason": "No."},
            }
        ]
    }

    lookup = evaluate(api, order_id=order.pk, now="2024-03-10T10:00:00Z", document=mind).json()
    submitted = evaluate(
        api, order_id=order.pk, now="2024-03-10T10:00:00Z", document=mind, reasons={str(line_id): "changed_mind"}
    ).json()

    assert lookup["lines"][0]["eligible"] is True
    assert submitted["lines"][0]["eligible"] is False


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"order_id": 999_999}, 404, ""),
        ({"version": 5}, 404, "no policy version 5"),
        ({"version": 1, "document": {}}, 422, "either version or document"),
        ({"document": {"rules": "x"}}, 422, "invalid policy"),
        ({"reasons": {"1": "bored"}}, 422, "reasons"),
    ],
)
def test_a_bad_dry_run_is_refused_clearly(api: Client, make_order, body, status, message):
    order = make_order("#1001")

    response = evaluate(api, **{"order_id": order.pk, **body})

    assert response.status_code == status, response.content
    assert message in response.json()["detail"]


def test_another_brands_order_is_not_found(api: Client, make_order, other_brand):
    theirs = make_order("#2001", for_brand=other_brand)

    assert evaluate(api, order_id=theirs.pk).status_code == 404
