"""The shopper's forms: labels, validation messages and CSRF come from Django."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile

from assay.core.errors import InvalidInput
from assay.policies.facts import REASON_LABELS, REASONS
from assay.portal.offers import (
    EXCHANGE_PRODUCT,
    EXCHANGE_SIZE,
    EXCHANGE_VARIANT,
    PICK_TO_RESOLUTION,
    LineOffer,
    PickOption,
    money_text,
)
from assay.returns.models import ReturnMethod
from assay.returns.photos import MAX_PHOTOS, CleanPhoto, accepted_content_types, photos_clean
from assay.returns.types import ReturnLineRequest

SIZE_REASONS = ("size_too_small", "size_too_large")


class LookupForm(forms.Form):
    order_number = forms.CharField(
        label="Order number",
        max_length=64,
        help_text="From your order confirmation e-mail, e.g. #1001",
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"}),
        error_messages={"required": "Enter your order number."},
    )
    email = forms.CharField(
        label="E-mail address",
        max_length=254,
        help_text="The address you used when you ordered",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={"required": "Enter the e-mail address you used when you ordered."},
    )


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Several files from one input; each is checked and cleaned in ReturnForm.clean_photos."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": accepted_content_types()}))
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        if not data:
            return []
        files = data if isinstance(data, list | tuple) else [data]
        return [file for file in files if file]


@dataclass(frozen=True, slots=True)
class LineFields:
    """One line's bound fields, for the template to lay out."""

    offer: LineOffer
    selected: forms.BoundField
    quantity: forms.BoundField | None
    reason: forms.BoundField
    resolution: forms.BoundField
    size: forms.BoundField | None
    variant: forms.BoundField | None
    product: forms.BoundField | None
    comment: forms.BoundField

    @property
    def picks(self) -> list[PickOption]:
        return self.offer.picks


def _difference_words(difference: Decimal, currency: str) -> str:
    if difference > 0:
        return f" (you pay {money_text(difference, currency)} more)"
    if difference < 0:
        return f" ({money_text(-difference, currency)} back to you)"
    return " (same price)"


class ReturnForm(forms.Form):
    """Lines to return with reason and resolution each, one return method, photos, and the hidden
    submission key that makes a double submit find the first request instead of making a second."""

    submission_key = forms.CharField(widget=forms.HiddenInput, max_length=64)
    method = forms.ChoiceField(
        label="How will you send it back?",
        widget=forms.RadioSelect,
        error_messages={"required": "Choose how you will send it back."},
    )
    photos = PhotosField(
        label="Photos (optional)",
        required=False,
        help_text=f"Up to {MAX_PHOTOS} photos, JPEG, PNG or WebP, 10 MB each. Helpful for damage or a fault.",
    )

    def __init__(self, *args: Any, offers: list[LineOffer], methods: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.offers = [offer for offer in offers if offer.eligible]
        method = self.fields["method"]
        assert isinstance(method, forms.ChoiceField)
        method.choices = [(code, ReturnMethod(code).label) for code in methods]
        if not self.is_bound:
            self.initial.setdefault("submission_key", uuid.uuid4().hex)
            if len(methods) == 1:
                self.initial.setdefault("method", methods[0])
        self.photos_cleaned: list[CleanPhoto] = []
        for offer in self.offers:
            self._add_line_fields(offer)

    def _name(self, offer: LineOffer, part: str) -> str:
        return f"line-{offer.id}-{part}"

    def _add_line_fields(self, offer: LineOffer) -> None:
        title = offer.line.title
        self.fields[self._name(offer, "selected")] = forms.BooleanField(
            label=f"Return {title}", required=False, initial=len(self.offers) == 1
        )
        if offer.returnable > 1:
            self.fields[self._name(offer, "quantity")] = forms.TypedChoiceField(
                label="How many?",
                choices=[(n, str(n)) for n in range(1, offer.returnable + 1)],
                coerce=int,
                initial=1,
            )
        self.fields[self._name(offer, "reason")] = forms.ChoiceField(
            label="Why are you returning it?",
            required=False,
            choices=[("", "Choose a reason"), *((code, REASON_LABELS[code]) for code in REASONS)],
        )
        picks = offer.picks
        self.fields[self._name(offer, "resolution")] = forms.ChoiceField(
            label="What would you like instead?",
            required=False,
            widget=forms.RadioSelect,
            choices=[(pick.value, pick.label) for pick in picks],
            initial=picks[0].value if len(picks) == 1 else None,
        )
        offered = {pick.value for pick in picks}
        currency = offer.currency
        if EXCHANGE_SIZE in offered:
            self.fields[self._name(offer, "size")] = forms.ChoiceField(
                label="New size (US)",
                required=False,
                choices=[("", "Choose your size")]
                + [
                    (c.sku, c.label + (_difference_words(c.difference, currency) if c.difference else ""))
                    for c in offer.choices.sizes
                ],
            )
        if EXCHANGE_VARIANT in offered:
            self.fields[self._name(offer, "variant")] = forms.ChoiceField(
                label="Version you would like",
                required=False,
                choices=[("", "Choose a version")]
                + [(c.sku, c.label + _difference_words(c.difference, currency)) for c in offer.choices.variants],
            )
        if EXCHANGE_PRODUCT in offered:
            grouped: dict[str, list[tuple[str, str]]] = {}
            for c in offer.choices.products:
                grouped.setdefault(c.product_title, []).append(
                    (c.sku, c.label + _difference_words(c.difference, currency))
                )
            self.fields[self._name(offer, "product")] = forms.ChoiceField(
                label="Piece you would like",
                required=False,
                choices=[("", "Choose a piece"), *grouped.items()],
            )
        self.fields[self._name(offer, "comment")] = forms.CharField(
            label="Anything else we should know? (optional)",
            required=False,
            max_length=2000,
            widget=forms.Textarea(attrs={"rows": 2}),
        )

    def line_fields(self) -> list[LineFields]:
        def bound(offer: LineOffer, part: str) -> forms.BoundField | None:
            name = self._name(offer, part)
            return self[name] if name in self.fields else None

        groups = []
        for offer in self.offers:
            groups.append(
                LineFields(
                    offer=offer,
                    selected=self[self._name(offer, "selected")],
                    quantity=bound(offer, "quantity"),
                    reason=self[self._name(offer, "reason")],
                    resolution=self[self._name(offer, "resolution")],
                    size=bound(offer, "size"),
                    variant=bound(offer, "variant"),
                    product=bound(offer, "product"),
                    comment=self[self._name(offer, "comment")],
                )
            )
        return groups

    def clean_submission_key(self) -> str:
        raw = str(self.cleaned_data.get("submission_key") or "")
        try:
            return uuid.UUID(raw).hex
        except ValueError:
            raise forms.ValidationError("The form was altered; please reload the page and try again.") from None

    def clean_photos(self) -> list[UploadedFile]:
        files: list[UploadedFile] = self.cleaned_data.get("photos") or []
        try:
            self.photos_cleaned = photos_clean(files)
        except InvalidInput as exc:
            raise forms.ValidationError(exc.message) from None
        return files

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        chosen = [offer for offer in self.offers if data.get(self._name(offer, "selected"))]
        if not chosen:
            raise forms.ValidationError("Choose at least one item to return.")
        requests: list[ReturnLineRequest] = []
        for offer in chosen:
            line_request = self._line_request(offer, data)
            if line_request is not None:
                requests.append(line_request)
        method = data.get("method")
        if method:
            for offer in chosen:
                allowed = offer.decision.methods if offer.decision is not None else ()
                if method not in allowed:
                    words = " or ".join(str(ReturnMethod(code).label).lower() for code in allowed) or "no method"
                    self.add_error("method", f"{offer.line.title} can only be sent back this way: {words}.")
        data["lines"] = requests
        return data

    def _line_request(self, offer: LineOffer, data: dict[str, Any]) -> ReturnLineRequest | None:
        title = offer.line.title
        reason = data.get(self._name(offer, "reason")) or ""
        pick = data.get(self._name(offer, "resolution")) or ""
        ok = True
        if not reason:
            self.add_error(self._name(offer, "reason"), f"Tell us why you are returning {title}.")
            ok = False
        if not pick:
            self.add_error(self._name(offer, "resolution"), f"Choose what you would like instead of {title}.")
            return None
        resolution, kind = PICK_TO_RESOLUTION[pick]
        sku = ""
        size_wanted = None
        field = {EXCHANGE_SIZE: "size", EXCHANGE_VARIANT: "variant", EXCHANGE_PRODUCT: "product"}.get(pick)
        if field is not None:
            sku = data.get(self._name(offer, field)) or ""
            choice = offer.choice(kind, sku) if sku else None
            if choice is None:
                words = {"size": "the size you need", "variant": "the version you would like"}.get(
                    field, "the piece you would like"
                )
                self.add_error(self._name(offer, field), f"Choose {words}.")
                return None
            size_wanted = choice.ring_size if kind == "size" else None
        elif reason in SIZE_REASONS and self._name(offer, "size") in self.fields:
            # A refund for a size reason may still say which size would have fitted.
            wanted = offer.choice("size", data.get(self._name(offer, "size")) or "")
            size_wanted = wanted.ring_size if wanted is not None else None
        if not ok:
            return None
        return ReturnLineRequest(
            line_id=offer.id,
            quantity=int(data.get(self._name(offer, "quantity")) or 1),
            reason=reason,
            resolution=resolution,
            exchange_kind=kind,
            exchange_sku=sku,
            size_wanted=size_wanted,
            comment=(data.get(self._name(offer, "comment")) or "").strip(),
        )
