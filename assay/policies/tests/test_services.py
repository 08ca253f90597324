"""Publishing versions, installing the default, and reading the current policy through its cache."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from assay.core.audit import Actor
from assay.core.errors import Conflict, NotFound
from assay.core.models import AuditEvent
from assay.policies import selectors
from assay.policies.defaults import default_jewellery_policy
from assay.policies.models import PolicyVersion
from assay.policies.schema import PolicyDocumentError
from assay.policies.selectors import policy_current, policy_version, policy_version_get, policy_versions
from assay.policies.services import DEFAULT_NOTE, policy_default_ensure, policy_version_publish
from assay.policies.tests.conftest import line, order

OWNER = Actor(kind="staff", label="owner@aurelia.example", user_id=1)
STRICT = {"defaults": {"refund_days": 14, "exchange_days": 30}}

pytestmark = pytest.mark.django_db


def test_publishing_stores_the_next_number_with_who_why_and_an_audit_event(brand):
    first = policy_version_publish(brand_id=brand.pk, document=STRICT, actor=OWNER, note="  shorter windows ")
    second = policy_version_publish(brand_id=brand.pk, document={}, actor=OWNER)

    assert (first.number, second.number) == (1, 2)
    assert first.note == "shorter windows"
    assert first.created_by == "owner@aurelia.example"
    assert first.document == STRICT
    event = AuditEvent.objects.get(subject_type="policyversion", subject_id=first.pk)
    assert (event.action, event.actor_label, event.why, event.data) == (
        "policy_published",
        "owner@aurelia.example",
        "shorter windows",
        {"number": 1, "rules": 0},
    )


def test_numbers_are_per_brand(brand, other_brand):
    policy_version_publish(brand_id=brand.pk, document={}, actor=OWNER)

    theirs = policy_version_publish(brand_id=other_brand.pk, document={}, actor=OWNER)

    assert theirs.number == 1


def test_the_stored_document_is_normalised_json(brand):
    version = policy_version_publish(brand_id=brand.pk, document={"defaults": {"label_fee": 7.5}}, actor=OWNER)

    version.refresh_from_db()
    assert version.document == {"defaults": {"label_fee": "7.5"}}


def test_an_invalid_document_is_refused_with_its_problems_and_nothing_is_stored(brand):
    with pytest.raises(PolicyDocumentError, match=r"defaults\.refund_days: Input should be greater"):
        policy_version_publish(brand_id=brand.pk, document={"defaults": {"refund_days": -3}}, actor=OWNER)

    assert not PolicyVersion.objects.exists()
    assert not AuditEvent.objects.filter(action="policy_published").exists()


def test_publishing_for_an_unknown_brand_is_not_found(db):
    with pytest.raises(NotFound):
        policy_version_publish(brand_id=999_999, document={}, actor=OWNER)


def test_a_number_taken_by_someone_else_is_a_conflict_not_an_error_page(brand, monkeypatch):
    PolicyVersion.objects.create(brand=brand, number=1, document={})
    # Simulate a publisher that read the latest number before the other one committed.
    monkeypatch.setattr("assay.policies.services._next_number", lambda brand_id: 1)

    with pytest.raises(Conflict, match="published at the same moment"):
        policy_version_publish(brand_id=brand.pk, document={}, actor=OWNER)


def test_the_default_is_installed_once_as_version_one(brand):
    first = policy_default_ensure(brand_id=brand.pk, actor=OWNER)
    again = policy_default_ensure(brand_id=brand.pk, actor=OWNER)

    assert first.pk == again.pk
    assert first.number == 1
    assert first.note == DEFAULT_NOTE
    assert first.document == default_jewellery_policy()
    assert PolicyVersion.objects.filter(brand=brand).count() == 1


def test_ensuring_the_default_leaves_a_published_policy_alone(brand):
    policy_version_publish(brand_id=brand.pk, document={}, actor=OWNER)
    current = policy_version_publish(brand_id=brand.pk, document=STRICT, actor=OWNER)

    assert policy_default_ensure(brand_id=brand.pk, actor=OWNER).pk == current.pk


# --- the current policy ------------------------------------------------------------------------


def test_a_brand_without_a_version_is_decided_by_the_built_in_default(brand, django_assert_num_queries):
    with django_assert_num_queries(1):
        current = policy_current(brand_id=brand.pk)

    assert (current.version_id, current.number) == (None, 0)
    assert current.document == default_jewellery_policy()
    assert current.compiled.evaluate(order(line(personalised=True, category="pendant"))).lines[0].eligible is False


def test_the_current_policy_is_the_highest_version_compiled_with_its_id(brand):
    policy_version_publish(brand_id=brand.pk, document={}, actor=OWNER)
    latest = policy_version_publish(brand_id=brand.pk, document=STRICT, actor=OWNER)

    current = policy_current(brand_id=brand.pk)

    assert (current.version_id, current.number, current.document) == (latest.pk, 2, STRICT)
    assert current.compiled.evaluate(order(line())).policy_version_id == latest.pk


def test_the_current_policy_is_read_once_then_served_from_memory(brand, django_assert_num_queries):
    policy_version_publish(brand_id=brand.pk, document=STRICT, actor=OWNER)

    with django_assert_num_queries(1):
        first = policy_current(brand_id=brand.pk)
    with django_assert_num_queries(0):
        again = policy_current(brand_id=brand.pk)

    assert again is first


def test_a_publish_in_this_process_is_current_at_once_after_commit(brand, django_capture_on_commit_callbacks):
    policy_version_publish(brand_id=brand.pk, document={}, actor=OWNER)
    assert policy_current(brand_id=brand.pk).number == 1

    with django_capture_on_commit_callbacks(execute=True):
        policy_version_publish(brand_id=brand.pk, document=STRICT, actor=OWNER)

    assert policy_current(brand_id=brand.pk).number == 2


def test_a_publish_elsewhere_is_seen_once_the_remembered_version_expires(brand, monkeypatch):
    policy_version_publish(brand_id=brand.pk, document={}, actor=OWNER)
    clock = [1000.0]
    monkeypatch.setattr(selectors.time, "monotonic", lambda: clock[0])
    assert policy_current(brand_id=brand.pk).number == 1
    # Another process publishes: nothing here is told.
    PolicyVersion.objects.create(brand=brand, number=2, document=STRICT)

    clock[0] += selectors.CURRENT_TTL_S - 0.1
    still = policy_current(brand_id=brand.pk)
    clock[0] += 0.2
    fresh = policy_current(brand_id=brand.pk)

    assert (still.number, fresh.number) == (1, 2)


def test_each_brand_gets_its_own_policy(brand, other_brand):
    policy_version_publish(brand_id=brand.pk, document=STRICT, actor=OWNER)

    assert policy_current(brand_id=brand.pk).number == 1
    assert policy_current(brand_id=other_brand.pk).version_id is None


def test_compiled_versions_are_bounded_in_memory(brand, monkeypatch):
    monkeypatch.setattr(selectors, "COMPILED_MAX", 2)
    monkeypatch.setattr(selectors, "CURRENT_TTL_S", 0.0)
    for _ in range(4):
        policy_version_publish(brand_id=brand.pk, document={}, actor=OWNER)
        policy_current(brand_id=brand.pk)

    assert len(selectors._compiled) == 2


# --- history -----------------------------------------------------------------------------------


def test_versions_are_listed_newest_first_with_a_count(brand, other_brand, django_assert_num_queries):
    policy_version_publish(brand_id=brand.pk, document={}, actor=OWNER, note="first")
    policy_version_publish(brand_id=brand.pk, document=default_jewellery_policy(), actor=OWNER, note="second")
    policy_version_publish(brand_id=other_brand.pk, document={}, actor=OWNER)

    with django_assert_num_queries(2):
        items, count = policy_versions(brand_id=brand.pk)

    assert count == 2
    assert [(v.number, v.note, v.rules) for v in items] == [(2, "second", 7), (1, "first", 0)]


def test_one_version_is_read_by_number_and_another_brands_is_not_found(brand, other_brand):
    policy_version_publish(brand_id=brand.pk, document=STRICT, actor=OWNER, note="strict")

    assert policy_version_get(brand_id=brand.pk, number=1).document == STRICT
    current = policy_version(brand_id=brand.pk)
    assert current is not None
    assert current.number == 1
    assert policy_version(brand_id=other_brand.pk) is None
    with pytest.raises(NotFound, match="no policy version 1"):
        policy_version_get(brand_id=other_brand.pk, number=1)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: real concurrent writers")
def test_concurrent_publishes_each_get_their_own_number(brand):
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def publish(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            policy_version_publish(brand_id=brand.pk, document={}, actor=OWNER, note=f"writer {index}")
        except BaseException as exc:  # the assertion below reports it
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=publish, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(PolicyVersion.objects.filter(brand=brand).values_list("number", flat=True)) == [1, 2, 3, 4]
