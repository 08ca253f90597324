"""/app/policies/: the current policy in words, its history, and publishing a new version."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from assay.backoffice.tests.conftest import PASSWORD, SHOP
from assay.brands.services import staff_add
from assay.core.models import AuditEvent
from assay.policies.models import PolicyVersion
from assay.policies.services import policy_version_publish

STRICT = {
    "name": "Strict",
    "rules": [
        {
            "id": "rings",
            "name": "Rings final sale",
            "when": {"category": ["ring"]},
            "then": {"eligible": False, "reason": "Rings are final sale."},
            "stop": True,
        }
    ],
}


@pytest.fixture
def copywriter_client(brand) -> Client:
    staff_add(slug=brand.slug, email="words@aurelia.example", role="copywriter", password=PASSWORD, actor=SHOP)
    client = Client()
    assert client.login(username="words@aurelia.example", password=PASSWORD)
    return client


def publish_form(client: Client, document, *, based_on: int = 0, note: str = "", action: str = "publish"):
    text = document if isinstance(document, str) else json.dumps(document)
    return client.post("/app/policies/edit/", {"document": text, "note": note, "based_on": based_on, "action": action})


def test_the_built_in_policy_is_shown_in_words_until_one_is_published(staff_client: Client):
    page = staff_client.get("/app/policies/").content.decode()

    assert "Nothing has been published for Aurelia Fine Jewellery yet" in page
    assert "Engraved rings: resize only" in page
    assert "exchange for another size only (resize)" in page
    assert "refund within 30 days" in page
    assert 'href="/app/policies/edit/"' in page
    assert 'aria-current="page">Return policy</a>' in page


def test_the_current_version_is_shown_with_who_published_it_and_why(staff_client: Client, brand):
    policy_version_publish(brand_id=brand.pk, document=STRICT, actor=SHOP, note="rings are final")

    page = staff_client.get("/app/policies/").content.decode()

    assert "version 1" in page
    assert "rings are final" in page
    assert "category is ring" in page
    assert "not returnable: “Rings are final sale.”" in page
    assert "Stops" in page


def test_the_history_lists_versions_newest_first_and_each_can_be_read(staff_client: Client, brand):
    policy_version_publish(brand_id=brand.pk, document={}, actor=SHOP, note="first")
    policy_version_publish(brand_id=brand.pk, document=STRICT, actor=SHOP, note="second")

    history = staff_client.get("/app/policies/versions/").content.decode()
    old = staff_client.get("/app/policies/versions/1/")

    assert history.index("second") < history.index("first")
    assert old.status_code == 200
    assert "No rules: every line gets the terms above." in old.content.decode()
    assert "Current" not in old.content.decode().split("<h1>")[1].split("</h1>")[0]


def test_another_brands_version_is_not_found(staff_client: Client, other_brand):
    policy_version_publish(brand_id=other_brand.pk, document=STRICT, actor=SHOP)

    assert staff_client.get("/app/policies/versions/1/").status_code == 404


def test_the_edit_page_starts_from_the_current_document(staff_client: Client, brand):
    policy_version_publish(brand_id=brand.pk, document=STRICT, actor=SHOP)

    page = staff_client.get("/app/policies/edit/").content.decode()

    assert "&quot;Rings final sale&quot;" in page
    assert 'name="based_on" value="1"' in page


def test_publishing_from_the_page_stores_a_version_by_the_staff_member(staff_client: Client, brand):
    response = publish_form(staff_client, STRICT, note="from the page")

    assert response.status_code == 302
    assert response["Location"] == "/app/policies/"
    version = PolicyVersion.objects.get(brand=brand)
    assert (version.number, version.note, version.created_by) == (1, "from the page", "ops@aurelia.example")
    event = AuditEvent.objects.get(action="policy_published")
    assert (event.actor_kind, event.actor_label) == ("staff", "ops@aurelia.example")
    assert "Version 1 is published" in staff_client.get("/app/policies/").content.decode()


def test_json_that_does_not_parse_is_refused_with_where_and_the_input_kept(staff_client: Client):
    typed = '{"rules": [}'

    response = publish_form(staff_client, typed)

    page = response.content.decode()
    assert response.status_code == 200
    assert "This is not valid JSON: Expecting value at line 1, column 12." in page
    assert "{&quot;rules&quot;: [}</textarea>" in page
    assert not PolicyVersion.objects.exists()


def test_an_invalid_policy_lists_every_problem_and_keeps_the_input(staff_client: Client):
    bad = {"defaults": {"refund_days": -1}, "rules": [{"id": "x", "name": "X", "then": {"eligible": False}}]}

    response = publish_form(staff_client, bad)

    page = response.content.decode()
    assert "defaults.refund_days: Input should be greater than or equal to 0" in page
    assert "rules[0] (id &#x27;x&#x27;).then: a rule that makes a line not eligible must say why" in page
    assert 'aria-invalid="true"' in page
    assert "&quot;refund_days&quot;: -1" in page
    assert not PolicyVersion.objects.exists()


def test_check_reads_the_document_back_in_words_without_publishing(staff_client: Client):
    response = publish_form(staff_client, STRICT, action="check")

    page = response.content.decode()
    assert "The document is valid: 1 rule." in page
    assert "Rings final sale" in page
    assert not PolicyVersion.objects.exists()


def test_a_version_published_meanwhile_is_not_overwritten_blindly(staff_client: Client, brand):
    policy_version_publish(brand_id=brand.pk, document={}, actor=SHOP, note="someone else")

    first = publish_form(staff_client, STRICT, based_on=0)
    again = publish_form(staff_client, STRICT, based_on=1)

    assert "Version 1 was published while you were editing" in first.content.decode()
    assert 'name="based_on" value="1"' in first.content.decode()
    assert again.status_code == 302
    assert PolicyVersion.objects.filter(brand=brand).count() == 2


def test_staff_who_may_not_publish_can_read_but_not_edit(copywriter_client: Client):
    page = copywriter_client.get("/app/policies/").content.decode()
    edit = copywriter_client.get("/app/policies/edit/")
    post = publish_form(copywriter_client, STRICT)

    assert "Edit and publish" not in page
    assert edit.status_code == 403
    assert "Only owners and operations managers" in edit.content.decode()
    assert post.status_code == 403
    assert not PolicyVersion.objects.exists()


def test_the_pages_need_a_login(db):
    response = Client().get("/app/policies/")

    assert response.status_code == 302
    assert response["Location"].startswith("/app/login/")
