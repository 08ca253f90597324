"""The brand's return policy: read it, publish a new version, read its history and schema, dry-run it.

A policy is versioned: every publish is a new, immutable version and becomes current at once. The
document format is PolicyDocument (GET /api/v1/policy/schema). Publishing needs an owner or ops
token and honours `Idempotency-Key`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field, SkipValidation

from assay.api.auth import ApiCaller, caller
from assay.api.idempotency import idempotent
from assay.api.pagination import ListParams
from assay.api.schemas import MONEY, ErrorOut, decimal_text
from assay.core.errors import InvalidInput, PermissionDenied
from assay.core.money import money_string
from assay.policies.decision import Bonus, Fee, LineDecision
from assay.policies.defaults import default_jewellery_policy
from assay.policies.engine import CompiledPolicy, compile_policy
from assay.policies.schema import PolicyDocument, Reason, policy_document_parse
from assay.policies.selectors import (
    PolicyVersionData,
    policy_current,
    policy_version,
    policy_version_get,
    policy_versions,
)
from assay.policies.services import PUBLISHER_ROLES, policy_version_publish
from assay.returns.eligibility import order_facts_build

router = Router()

_READ_ERRORS: dict[int, Any] = {401: ErrorOut, 404: ErrorOut, 422: ErrorOut}
_WRITE_ERRORS: dict[int, Any] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
}
BUILT_IN_NOTE = "Built-in default policy: nothing has been published yet"

# Answers carrying a document are dumped by alias (the `not` condition) and without the schema's
# defaults, so a document reads back exactly as it was stored.
_AS_STORED: dict[str, Any] = {"by_alias": True, "exclude_unset": True}


# --- schemas -------------------------------------------------------------------------------------


class PolicyVersionOut(Schema):
    number: int = Field(description="1, 2, 3...; 0 = the built-in default (nothing published yet)")
    document: PolicyDocument = Field(description="the policy document (see GET /api/v1/policy/schema)")
    note: str = Field(description="what changed and why")
    created_by: str = Field(description="who published it")
    created_at: datetime | None = Field(description="when it was published; null for the built-in default")


class PolicyVersionSummaryOut(Schema):
    number: int
    note: str
    created_by: str
    created_at: datetime
    rules: int = Field(description="how many rules the document has")


class PolicyVersionList(Schema):
    items: list[PolicyVersionSummaryOut]
    count: int = Field(description="all versions, not only this page")


class PublishIn(Schema):
    # Checked by the service (policy_document_parse), whose messages name the rule and field; the
    # annotation only puts the document's schema in the API docs.
    document: SkipValidation[PolicyDocument] = Field(description="the whole new policy document")
    note: str = Field("", max_length=255, description="what changed and why (kept with the version)")


class EvaluateIn(Schema):
    order_id: int = Field(ge=1, le=2**63 - 1, description="one of the brand's orders")
    now: datetime | None = Field(None, description="decide as of this moment (default: now)")
    reasons: dict[int, Reason] = Field(
        default_factory=dict,
        description="order line id -> the shopper's reason; lines without one are decided as at the order lookup",
    )
    version: int | None = Field(
        None, ge=0, le=2**31 - 1, description="a published version number instead of the current one"
    )
    document: SkipValidation[PolicyDocument] | None = Field(
        None, description="an unpublished document to try instead (not stored)"
    )


class FeeOut(Schema):
    percent: str = Field(description="percent of the line's value, a decimal string")
    fixed: str = Field(description=MONEY)


class BonusOut(FeeOut):
    cap: str | None = Field(description=f"the most one line can earn; null = no cap. {MONEY}")


class RuleMatchOut(Schema):
    rule_id: str = Field(description="the rule's id, or builtin:... for the engine's own checks")
    rule_name: str
    why: str = Field(description="the facts that made the rule apply")


class LineDecisionOut(Schema):
    line_id: int
    eligible: bool
    reason: str = Field(description="shown to the shopper: why not, or the terms and until when")
    resolutions: list[str] = Field(description="refund, store_credit, exchange; empty when not eligible")
    exchange_kinds: list[str] = Field(description='size, variant, product; ["size"] = resize only')
    methods: list[str] = Field(description="mail, drop_off, in_store")
    refund_until: datetime | None
    exchange_until: datetime | None
    destination: str
    restocking_fee: FeeOut
    label_fee: str = Field(description=f"0 = free label. {MONEY}")
    bonus_store_credit: BonusOut
    bonus_exchange: BonusOut
    manual_review: bool
    insured: bool
    signature_required: bool
    authenticity_check: bool
    keep_item: bool
    matched: list[RuleMatchOut] = Field(description="the rules that applied, in order, with why")


class EvaluateOut(Schema):
    order_id: int
    currency: str
    policy_version: int | None = Field(
        description="the version number that decided; 0 = built-in default; null = the unpublished document sent"
    )
    now: datetime = Field(description="the moment the decision is for")
    lines: list[LineDecisionOut]


# --- shaping -------------------------------------------------------------------------------------


def _version_out(version: PolicyVersionData) -> dict[str, Any]:
    return {
        "number": version.number,
        "document": version.document,
        "note": version.note,
        "created_by": version.created_by,
        "created_at": version.created_at,
    }


def _fee_out(fee: Fee, currency: str) -> dict[str, Any]:
    return {"percent": decimal_text(fee.percent), "fixed": money_string(fee.fixed, currency)}


def _bonus_out(bonus: Bonus, currency: str) -> dict[str, Any]:
    return {
        "percent": decimal_text(bonus.percent),
        "fixed": money_string(bonus.fixed, currency),
        "cap": None if bonus.cap is None else money_string(bonus.cap, currency),
    }


def line_decision_out(decision: LineDecision, currency: str) -> dict[str, Any]:
    return {
        "line_id": decision.line_id,
        "eligible": decision.eligible,
        "reason": decision.reason,
        "resolutions": list(decision.resolutions),
        "exchange_kinds": list(decision.exchange_kinds),
        "methods": list(decision.methods),
        "refund_until": decision.refund_until,
        "exchange_until": decision.exchange_until,
        "destination": decision.destination,
        "restocking_fee": _fee_out(decision.restocking_fee, currency),
        "label_fee": money_string(decision.label_fee, currency),
        "bonus_store_credit": _bonus_out(decision.bonus_store_credit, currency),
        "bonus_exchange": _bonus_out(decision.bonus_exchange, currency),
        "manual_review": decision.manual_review,
        "insured": decision.insured,
        "signature_required": decision.signature_required,
        "authenticity_check": decision.authenticity_check,
        "keep_item": decision.keep_item,
        "matched": [{"rule_id": m.rule_id, "rule_name": m.rule_name, "why": m.why} for m in decision.matched],
    }


def _publisher(request: HttpRequest) -> ApiCaller:
    who = caller(request)
    if who.role not in PUBLISHER_ROLES:
        raise PermissionDenied(f"publishing the return policy needs an owner or ops token, not {who.role}")
    return who


# --- endpoints -----------------------------------------------------------------------------------


@router.get(
    "",
    response={200: PolicyVersionOut, 401: ErrorOut},
    operation_id="policy_current",
    summary="Read the policy",
    **_AS_STORED,
)
def policy_read(request: HttpRequest) -> dict[str, Any]:
    """The brand's current policy: its highest version, or the built-in default (number 0) when
    nothing has been published."""
    current = policy_version(brand_id=caller(request).brand_id)
    if current is None:
        return {
            "number": 0,
            "document": default_jewellery_policy(),
            "note": BUILT_IN_NOTE,
            "created_by": "",
            "created_at": None,
        }
    return _version_out(current)


@router.put(
    "",
    response={200: PolicyVersionOut, **_WRITE_ERRORS},
    operation_id="policy_publish",
    summary="Publish a policy",
    **_AS_STORED,
)
@idempotent()
def policy_publish(request: HttpRequest, body: PublishIn) -> dict[str, Any]:
    """Store the document as the next version, which decides every lookup and return from now on.
    A document that is not valid answers 422 naming each problem (rule, field, what is wrong)."""
    who = _publisher(request)
    version = policy_version_publish(brand_id=who.brand_id, document=body.document, actor=who.actor, note=body.note)  # type: ignore[arg-type]
    return _version_out(policy_version_get(brand_id=who.brand_id, number=version.number))


@router.get(
    "/versions",
    response={200: PolicyVersionList, 401: ErrorOut, 422: ErrorOut},
    operation_id="policy_versions",
    summary="List policy versions",
)
def policy_versions_list(request: HttpRequest, page: Query[ListParams]) -> dict[str, Any]:
    """Every published version, newest first."""
    items, count = policy_versions(brand_id=caller(request).brand_id, limit=page.limit, offset=page.offset)
    return {
        "items": [
            {
                "number": item.number,
                "note": item.note,
                "created_by": item.created_by,
                "created_at": item.created_at,
                "rules": item.rules,
            }
            for item in items
        ],
        "count": count,
    }


@router.get(
    "/versions/{int:number}",
    response={200: PolicyVersionOut, **_READ_ERRORS},
    operation_id="policy_version",
    summary="Read one policy version",
    **_AS_STORED,
)
def policy_version_read(request: HttpRequest, number: int) -> dict[str, Any]:
    """One published version, current or not."""
    return _version_out(policy_version_get(brand_id=caller(request).brand_id, number=number))


@router.get(
    "/schema",
    response={200: dict[str, Any], 401: ErrorOut},
    operation_id="policy_schema",
    summary="The policy document's JSON schema",
)
def policy_schema(request: HttpRequest) -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of a policy document: what PUT /api/v1/policy accepts."""
    return PolicyDocument.model_json_schema()


@router.post(
    "/evaluate",
    response={200: EvaluateOut, 400: ErrorOut, **_READ_ERRORS},
    operation_id="policy_evaluate",
    summary="Dry-run the policy on an order",
)
def policy_evaluate(request: HttpRequest, body: EvaluateIn) -> dict[str, Any]:
    """What the policy decides for each line of one of the brand's orders, and why, without
    creating anything: the current version, a published one (`version`), or an unpublished
    `document`. Lines of a cancelled order are refused by the returns portal whatever this says."""
    brand_id = caller(request).brand_id
    compiled: CompiledPolicy
    if body.document is not None and body.version is not None:
        raise InvalidInput("give either version or document, not both")
    if body.document is not None:
        compiled, number = compile_policy(policy_document_parse(body.document)), None
    elif body.version:
        stored = policy_version_get(brand_id=brand_id, number=body.version)
        compiled = compile_policy(policy_document_parse(stored.document), version_id=stored.id)
        number = stored.number
    else:
        current = policy_current(brand_id=brand_id)
        compiled, number = current.compiled, current.number
    facts = order_facts_build(brand_id=brand_id, order_id=body.order_id, now=body.now, reasons=body.reasons)
    decision = compiled.evaluate(facts)
    return {
        "order_id": facts.order_id,
        "currency": facts.currency,
        "policy_version": number,
        "now": facts.now,
        "lines": [line_decision_out(line, facts.currency) for line in decision.lines],
    }
