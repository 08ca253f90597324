"""Staff pages for the brand's return policy: the current one in words, its history, and publishing.

Everyone on the brand's staff may read; owners and operations managers (PUBLISHER_ROLES) may publish.
The edit page takes the whole document as JSON and shows every problem without losing what was typed.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from assay.backoffice.scope import StaffScope, page_context, staff_page
from assay.core.audit import Actor
from assay.core.errors import Conflict
from assay.policies.defaults import default_jewellery_policy
from assay.policies.describe import PolicyDescription, describe_policy
from assay.policies.schema import PolicyDocument, PolicyDocumentError, policy_document_parse
from assay.policies.selectors import PolicyVersionData, policy_version, policy_versions
from assay.policies.services import PUBLISHER_ROLES, policy_version_publish

HISTORY_LIMIT = 200
MAX_DOCUMENT_CHARS = 500_000


class PolicyForm(forms.Form):
    document = forms.CharField(
        label="Policy document (JSON)",
        max_length=MAX_DOCUMENT_CHARS,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 30, "spellcheck": "false", "class": "code", "autocomplete": "off"}),
        help_text="The whole policy: defaults, then the rules in order. The schema is at /api/v1/policy/schema.",
    )
    note = forms.CharField(
        label="What changed and why",
        required=False,
        max_length=255,
        widget=forms.TextInput(attrs={"placeholder": "e.g. holiday extension for December orders"}),
    )
    based_on = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    def clean_document(self) -> PolicyDocument:
        text: str = self.cleaned_data["document"]
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                f"This is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
            ) from None
        try:
            return policy_document_parse(data)
        except PolicyDocumentError as exc:
            raise forms.ValidationError(
                [f"{where}: {what}" if where else what for where, what in exc.problems]
            ) from None


def _pretty(document: Any) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False)


def _description(document: dict[str, Any]) -> PolicyDescription | None:
    try:
        return describe_policy(policy_document_parse(document))
    except PolicyDocumentError:  # only a hand-edited row could be invalid; show its JSON instead
        return None


def _current(scope: StaffScope) -> tuple[int, dict[str, Any], PolicyVersionData | None]:
    version = policy_version(brand_id=scope.brand_id)
    if version is None:
        return 0, default_jewellery_policy(), None
    return version.number, version.document, version


def _may_publish(scope: StaffScope) -> bool:
    return scope.role in PUBLISHER_ROLES


@require_GET
@staff_page
def policy_current_view(request: HttpRequest, scope: StaffScope) -> HttpResponse:
    number, document, version = _current(scope)
    return render(
        request,
        "backoffice/policies/current.html",
        page_context(
            scope,
            "policies",
            number=number,
            version=version,
            description=_description(document),
            document_json=_pretty(document),
            may_publish=_may_publish(scope),
        ),
    )


@require_GET
@staff_page
def policy_history_view(request: HttpRequest, scope: StaffScope) -> HttpResponse:
    items, count = policy_versions(brand_id=scope.brand_id, limit=HISTORY_LIMIT)
    return render(
        request,
        "backoffice/policies/history.html",
        page_context(scope, "policies", versions=items, count=count, limit=HISTORY_LIMIT),
    )


@require_GET
@staff_page
def policy_version_view(request: HttpRequest, scope: StaffScope, number: int) -> HttpResponse:
    version = policy_version(brand_id=scope.brand_id, number=number)
    if version is None:
        raise Http404("no such policy version")
    current = policy_version(brand_id=scope.brand_id)
    return render(
        request,
        "backoffice/policies/version.html",
        page_context(
            scope,
            "policies",
            version=version,
            is_current=current is not None and current.number == version.number,
            description=_description(version.document),
            document_json=_pretty(version.document),
            may_publish=_may_publish(scope),
        ),
    )


@require_http_methods(["GET", "POST"])
@staff_page
def policy_edit_view(request: HttpRequest, scope: StaffScope) -> HttpResponse:
    if not _may_publish(scope):
        return render(request, "backoffice/policies/not_allowed.html", page_context(scope, "policies"), status=403)
    number, document, _ = _current(scope)
    checked: PolicyDescription | None = None
    if request.method == "POST":
        form = PolicyForm(request.POST)
        if form.is_valid():
            parsed: PolicyDocument = form.cleaned_data["document"]
            if request.POST.get("action") == "check":
                checked = describe_policy(parsed)
            elif form.cleaned_data["based_on"] != number:
                form.add_error(
                    None,
                    f"Version {number} was published while you were editing. Review it (it is in the history); "
                    "publish again to replace it with this document.",
                )
                form = _with_based_on(form, number)
            else:
                try:
                    version = policy_version_publish(
                        brand_id=scope.brand_id,
                        document=parsed.as_data(),
                        actor=_actor(request),
                        note=form.cleaned_data["note"],
                    )
                except Conflict as exc:
                    form.add_error(None, exc.message)
                else:
                    messages.success(request, f"Version {version.number} is published and now decides every return.")
                    return redirect("backoffice:policies")
    else:
        start = default_jewellery_policy() if request.GET.get("from") == "default" else document
        form = PolicyForm(initial={"document": _pretty(start), "based_on": number})
    return render(
        request,
        "backoffice/policies/edit.html",
        page_context(scope, "policies", form=form, number=number, checked=checked),
    )


def _with_based_on(form: PolicyForm, number: int) -> PolicyForm:
    """The same input, now based on the latest version, so publishing again replaces it."""
    data = {key: form.data.get(key, "") for key in ("document", "note")}
    data["based_on"] = str(number)
    again = PolicyForm(data)
    again.is_valid()
    for error in form.non_field_errors():
        again.add_error(None, error)
    return again


def _actor(request: HttpRequest) -> Actor:
    user = request.user
    return Actor(kind="staff", label=getattr(user, "email", "") or user.get_username(), user_id=user.pk)
