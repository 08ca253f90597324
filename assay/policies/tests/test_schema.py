"""A policy document is validated strictly, with messages that name the rule and the field."""

from __future__ import annotations

import json
from typing import get_args

import pytest

from assay.core.errors import InvalidInput
from assay.policies import facts
from assay.policies.defaults import default_jewellery_policy
from assay.policies.schema import (
    ExchangeKind,
    Method,
    PolicyDocument,
    PolicyDocumentError,
    Reason,
    Resolution,
    policy_document_parse,
)


def problems(document) -> str:
    with pytest.raises(PolicyDocumentError) as caught:
        policy_document_parse(document)
    return caught.value.message


def test_the_schemas_vocabularies_are_the_engines_vocabularies():
    assert get_args(Resolution) == facts.RESOLUTIONS
    assert get_args(ExchangeKind) == facts.EXCHANGE_KINDS
    assert get_args(Method) == facts.METHODS
    assert get_args(Reason) == facts.REASONS


def test_an_empty_document_is_the_default_terms_with_no_rules():
    document = policy_document_parse({})

    assert document.rules == []
    assert document.defaults.refund_days == 30
    assert document.defaults.exchange_days == 60


def test_the_default_jewellery_policy_is_valid_and_survives_a_round_trip():
    document = policy_document_parse(default_jewellery_policy())

    again = policy_document_parse(json.loads(json.dumps(document.as_data())))

    assert again == document
    assert again.as_data() == document.as_data()


def test_a_misspelt_condition_is_refused_rather_than_ignored():
    message = problems({"rules": [{"id": "a", "name": "A", "when": {"categry": ["ring"]}, "then": {"insured": True}}]})

    assert message == (
        "invalid policy: rules[0] (id 'a').when.categry: is not a known field (check the spelling against the schema)"
    )


def test_an_unknown_resolution_names_the_rule_the_field_and_the_choices():
    message = problems({"rules": [{"id": "swap", "name": "S", "then": {"resolutions": ["cash"]}}]})

    assert "rules[0] (id 'swap').then.resolutions[0]: Input should be 'refund', 'store_credit' or 'exchange'" in message


def test_a_rule_that_refuses_a_line_must_say_why():
    message = problems({"rules": [{"id": "no", "name": "No", "then": {"eligible": False}}]})

    assert "must say why in `reason`" in message


def test_a_rule_that_changes_nothing_is_refused():
    assert "changes nothing" in problems({"rules": [{"id": "noop", "name": "Nothing", "then": {}}]})


def test_rule_ids_are_unique_and_slug_like():
    twice = {"rules": [{"id": "a", "name": "A", "then": {"insured": True}}] * 2}

    assert "repeats the id 'a'" in problems(twice)
    assert "is not a rule id" in problems({"rules": [{"id": "Big Rule", "name": "A", "then": {"insured": True}}]})


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"defaults": {"refund_days": -1}}, "defaults.refund_days: Input should be greater than or equal to 0"),
        ({"defaults": {"methods": ["mail", "mail"]}}, "defaults.methods: 'mail' is listed twice"),
        ({"defaults": {"methods": []}}, "defaults.methods: List should have at least 1 item"),
        ({"timezone": "Mars/Base"}, "timezone: 'Mars/Base' is not an IANA time zone"),
        ({"defaults": {"restocking_fee": {"percent": "150"}}}, "restocking_fee.percent: Input should be less than"),
        ({"schema_version": 2}, "schema_version: Input should be 1"),
        ({"resolution": {"resolve_on": "never"}}, "resolution.resolve_on: Input should be 'approval', 'first_scan'"),
        ({"resolution": {"refund_shipping": "sometimes"}}, "resolution.refund_shipping: Input should be a valid bool"),
        ([], "a policy document is a JSON object"),
    ],
)
def test_bad_terms_get_a_specific_message(document, expected):
    assert expected in problems(document)


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ({"days_since": {}}, "days_since needs at_least, at_most or both"),
        ({"days_since": {"at_least": 9, "at_most": 3}}, "at_least (9) is more than at_most (3)"),
        ({"category": []}, "an empty list would never match"),
        ({"placed_between": {"from": "2025-12-31", "to": "2025-11-01"}}, "starts (2025-12-31) after it ends"),
        ({"unit_price_at_least": "200", "unit_price_below": "100"}, "must be below unit_price_below"),
        ({"unit_price_at_least": "lots"}, "unit_price_at_least: Input should be a valid decimal"),
        ({"reason": ["bored"]}, "when.reason[0]: Input should be"),
        ({"country": ["GBR"]}, "when.country[0]: String should match pattern"),
        ({"any": []}, "when.any: List should have at least 1 item"),
        ({"not": {"colour": "red"}}, "when.not.colour: is not a known field"),
    ],
)
def test_bad_conditions_get_a_specific_message(when, expected):
    assert expected in problems({"rules": [{"id": "r", "name": "R", "when": when, "then": {"insured": True}}]})


def test_every_problem_is_reported_at_once_and_kept_for_forms():
    with pytest.raises(PolicyDocumentError) as caught:
        policy_document_parse({"defaults": {"refund_days": "x", "methods": ["post"]}, "rules": "none"})

    wheres = [where for where, _ in caught.value.problems]
    assert wheres == ["defaults.refund_days", "defaults.methods[0]", "rules"]
    assert isinstance(caught.value, InvalidInput)


def test_not_is_written_as_not_and_stored_that_way():
    data = {"rules": [{"id": "r", "name": "R", "when": {"not": {"category": ["ring"]}}, "then": {"insured": True}}]}

    assert policy_document_parse(data).as_data() == data


def test_only_what_the_author_wrote_is_stored():
    stored = policy_document_parse({"defaults": {"refund_days": 14, "label_fee": 5}}).as_data()

    assert stored == {"defaults": {"refund_days": 14, "label_fee": "5"}}


def test_the_json_schema_describes_rules_conditions_and_effects():
    schema = PolicyDocument.model_json_schema()

    assert schema["title"] == "Return policy"
    assert set(schema["properties"]) == {"schema_version", "name", "timezone", "defaults", "resolution", "rules"}
    conditions = schema["$defs"]["Conditions"]["properties"]
    assert {"days_since", "category", "sku_prefix", "reason", "any", "not", "placed_between"} <= set(conditions)
    assert schema["$defs"]["Effects"]["additionalProperties"] is False
    assert "keep_item" in schema["$defs"]["Effects"]["properties"]
