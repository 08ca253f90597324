"""Forms of the staff pages: labels, validation messages and CSRF come from Django."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm


class EmailLoginForm(AuthenticationForm):
    """The login is the e-mail address, which staff_add stores lowercased."""

    username = forms.CharField(
        label="E-mail",
        max_length=254,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username", "inputmode": "email"}),
    )

    def clean_username(self) -> str:
        value: str = self.cleaned_data["username"].strip()
        return value.lower() if "@" in value else value


class BrandSwitchForm(forms.Form):
    brand = forms.IntegerField(label="Brand", min_value=1)
    next = forms.CharField(required=False, max_length=2000)


class OrderSearchForm(forms.Form):
    number = forms.CharField(
        label="Order number",
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"placeholder": "1001 or #1001", "inputmode": "search"}),
    )
    email = forms.CharField(
        label="E-mail",
        required=False,
        max_length=254,
        widget=forms.TextInput(attrs={"placeholder": "name@example.com", "inputmode": "email"}),
    )
    sku = forms.CharField(label="SKU", required=False, max_length=100)
    placed_from = forms.DateField(
        label="Placed from", required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    placed_to = forms.DateField(
        label="Placed to", required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("placed_from"), data.get("placed_to")
        if start and end and start > end:
            self.add_error("placed_to", "must be on or after the 'placed from' date")
        for name in ("number", "email", "sku"):
            if isinstance(data.get(name), str):
                data[name] = data[name].strip()
        return data


class EventFilterForm(forms.Form):
    status = forms.ChoiceField(
        label="Show",
        required=False,
        choices=[("", "All events"), ("failed", "Failed only")],
    )
