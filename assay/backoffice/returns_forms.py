"""Forms of the staff returns pages: the queue's filters, bulk decisions, and the actions on one request."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError

from assay.backoffice.selectors import BrandChoice
from assay.returns.models import ReturnReason
from assay.returns.queue import DEFAULT_SORT, FLAG_LABELS, SORTS
from assay.returns.status import ReturnStatus

ALL_BRANDS = "all"
MAX_BULK = 200  # one page of the queue at its largest
REASON_MAX = 1000

_AMOUNT: dict[str, Any] = {
    "min_value": Decimal(0),
    "max_digits": 14,
    "decimal_places": 4,
    "widget": forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "0.00"}),
}

AGE_CHOICES = [
    ("", "Any age"),
    ("24", "Older than 1 day"),
    ("72", "Older than 3 days"),
    ("168", "Older than 7 days"),
    ("336", "Older than 14 days"),
]


class ReturnQueueForm(forms.Form):
    """The queue's filters (GET). Every field is optional; an empty form shows the current brand's
    requests, newest first."""

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=254,
        widget=forms.TextInput(
            attrs={"placeholder": "RMA, order number or e-mail", "inputmode": "search", "type": "search"}
        ),
    )
    status = forms.ChoiceField(
        label="Status",
        required=False,
        choices=[
            ("", "Any status"),
            ("awaiting_decision", "Awaiting a decision"),
            ("open", "Open (not finished)"),
            *ReturnStatus.choices,
        ],
    )
    sla = forms.ChoiceField(
        label="Review SLA",
        required=False,
        choices=[("", "Any"), ("breached", "Breached"), ("on_time", "Within SLA")],
    )
    older_than = forms.TypedChoiceField(label="Age", required=False, choices=AGE_CHOICES, coerce=int, empty_value=None)
    min_value = forms.DecimalField(label="Value from", required=False, **_AMOUNT)
    max_value = forms.DecimalField(label="Value to", required=False, **_AMOUNT)
    reason = forms.ChoiceField(label="Reason", required=False, choices=[("", "Any reason"), *ReturnReason.choices])
    flag = forms.ChoiceField(label="Flag", required=False, choices=[("", "Any flag"), *FLAG_LABELS.items()])
    brand = forms.ChoiceField(label="Brand", required=False, choices=[("", "Current brand")])
    sort = forms.ChoiceField(
        required=False, choices=[(key, key) for key in SORTS], widget=forms.HiddenInput, initial=DEFAULT_SORT
    )

    def __init__(self, *args: Any, brands: Sequence[BrandChoice] = (), current_brand_id: int = 0, **kwargs: Any):
        super().__init__(*args, **kwargs)
        current = next((b for b in brands if b.id == current_brand_id), None)
        choices = [("", current.name if current else "Current brand")]
        if len(brands) > 1:
            choices.append((ALL_BRANDS, f"All my brands ({len(brands)})"))
            choices += [(str(b.id), b.name) for b in brands if b.id != current_brand_id]
        cast(forms.ChoiceField, self.fields["brand"]).choices = choices
        self.brand_count = len(brands)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        low, high = data.get("min_value"), data.get("max_value")
        if low is not None and high is not None and low > high:
            self.add_error("max_value", "must be at least the 'value from' amount")
        if isinstance(data.get("q"), str):
            data["q"] = data["q"].strip()
        return data


class IdListField(forms.Field):
    """Request ids ticked in the queue: whole positive numbers, each once, at most MAX_BULK."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {
        "required": "Tick at least one request.",
        "invalid": "The ticked requests were not understood; reload the queue and try again.",
        "too_many": f"Tick at most {MAX_BULK} requests at a time.",
    }

    def to_python(self, value: Any) -> list[int]:
        if not value:
            return []
        values = value if isinstance(value, list | tuple) else [value]
        ids: list[int] = []
        for raw in values:
            text = str(raw).strip()
            if not (text.isascii() and text.isdigit()) or len(text) > 18 or int(text) < 1:
                raise ValidationError(self.error_messages["invalid"], code="invalid")
            if int(text) not in ids:
                ids.append(int(text))
        if len(ids) > MAX_BULK:
            raise ValidationError(self.error_messages["too_many"], code="too_many")
        return ids


class BulkDecisionForm(forms.Form):
    """Approve or reject the ticked requests; a rejection needs a reason the shopper will read."""

    ids = IdListField(label="Requests")
    action = forms.ChoiceField(
        label="Action",
        choices=[("approve", "Approve"), ("reject", "Reject")],
        error_messages={"required": "Choose approve or reject.", "invalid_choice": "Choose approve or reject."},
    )
    reason = forms.CharField(
        label="Reason or note",
        required=False,
        max_length=REASON_MAX,
        widget=forms.TextInput(attrs={"placeholder": "required to reject"}),
    )
    next = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["reason"] = (data.get("reason") or "").strip()
        if data.get("action") == "reject" and not data["reason"]:
            self.add_error("reason", "Give the reason for rejecting; the shopper is told it.")
        return data


class ApproveForm(forms.Form):
    note = forms.CharField(label="Note (optional)", required=False, max_length=REASON_MAX, widget=forms.TextInput())


class RejectForm(forms.Form):
    reason = forms.CharField(
        label="Reason for rejecting",
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Give the reason for rejecting; the shopper is told it."},
    )


class CancelForm(forms.Form):
    why = forms.CharField(label="Why cancel (optional)", required=False, max_length=REASON_MAX)


class OverrideForm(forms.Form):
    reason = forms.CharField(
        label="Reason for overriding the policy",
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "An override needs its reason; it goes into the audit trail."},
    )


class NoteForm(forms.Form):
    body = forms.CharField(
        label="Internal note",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Seen by staff only, never by the shopper"}),
        error_messages={"required": "Write the note first."},
    )


OUTCOME_CHOICES = [
    ("refund", "Refund to the original payment"),
    ("store_credit", "Store credit"),
    ("gift_card", "Gift card"),
    ("coupon", "Coupon"),
]


class ResolveForm(forms.Form):
    """Confirm the proposed settlement of each line, or change a line's outcome or amount with a reason.

    Built with the lines proposed: per line `outcome_<id>` and `amount_<id>` (blank = as proposed);
    exchanges keep their outcome. One reason covers the adjustments.
    """

    reason = forms.CharField(
        label="Why the settlement differs from the policy's (required when you change anything)",
        required=False,
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": "e.g. scratch on the band; goodwill"}),
    )

    def __init__(self, *args: Any, proposals: Sequence[Any] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.line_ids: list[int] = []
        for proposal in proposals:
            line_id = proposal.line.pk
            self.line_ids.append(line_id)
            breakdown = proposal.breakdown
            if breakdown.resolution != "exchange":
                self.fields[f"outcome_{line_id}"] = forms.ChoiceField(
                    label=f"Outcome for line {line_id}", choices=OUTCOME_CHOICES, initial=breakdown.resolution
                )
            self.fields[f"amount_{line_id}"] = forms.DecimalField(
                label=f"Amount for line {line_id}", required=False, **_AMOUNT
            )

    def adjustments(self) -> dict[int, dict[str, Any]]:
        """Per line: the outcome and amount given (None when left as proposed), with the reason."""
        data = self.cleaned_data
        return {
            line_id: {
                "resolution": data.get(f"outcome_{line_id}"),
                "amount": data.get(f"amount_{line_id}"),
                "reason": data.get("reason", ""),
            }
            for line_id in self.line_ids
        }


class PayoutActionForm(forms.Form):
    """Send a payout again, cancel it (why required), or record a manual payment (reference required)."""

    action = forms.ChoiceField(choices=[("retry", "Send again"), ("cancel", "Cancel"), ("record", "Record payment")])
    text = forms.CharField(required=False, max_length=300, label="Why, or the payment's reference")


class ExchangeActionForm(forms.Form):
    action = forms.ChoiceField(
        choices=[("paid", "Difference paid"), ("stock", "Try the stock again"), ("page", "Send a new payment page")]
    )
    text = forms.CharField(required=False, max_length=300, label="The payment's reference")
