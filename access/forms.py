"""Forms of the access pages; they only parse input, the services decide."""

from __future__ import annotations

from typing import Any

from django import forms

from access.models import AccessRequest


class RequestForm(forms.Form):
    columns = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, required=False,
                                        help_text="Leave all unticked for the whole table.")
    purpose = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000,
                              help_text="What the access is for; the stewards read it.")
    until = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), help_text="The access ends after this day.")

    def __init__(self, *args: Any, column_names: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["columns"].choices = [(n, n) for n in column_names]


class DecisionForm(forms.Form):
    scope = forms.ChoiceField(choices=[("", "As asked"), *AccessRequest.Scope.choices], required=False)
    columns = forms.CharField(required=False, help_text="Comma-separated, for scope columns.")
    tag_expression = forms.CharField(required=False, help_text="KEY=v1|v2, KEY2=v3 for scope tags.")

    def approval(self) -> dict[str, Any]:
        """The keyword arguments of services.approve."""
        data = self.cleaned_data
        out: dict[str, Any] = {"scope": data["scope"] or None}
        if data["columns"].strip():
            out["columns"] = [c.strip() for c in data["columns"].split(",") if c.strip()]
        if data["tag_expression"].strip():
            expression: dict[str, list[str]] = {}
            for part in data["tag_expression"].split(","):
                key, _, values = part.partition("=")
                if key.strip():
                    expression[key.strip()] = [v.strip() for v in values.split("|") if v.strip()]
            out["tag_expression"] = expression
        return out
