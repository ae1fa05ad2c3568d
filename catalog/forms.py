"""HTML forms of the catalog: steward curation (the API uses catalog.api.serializers)."""

from __future__ import annotations

from typing import Any

from django import forms

from catalog.models import CLASSIFICATIONS, PII_KINDS, ColumnCuration
from catalog.services.column_curation import NOT_PII, UNCHANGED, ColumnCurationInput
from catalog.services.curation import CurationInput
from catalog.services.owners import OwnerInput


class CurationForm(forms.Form):
    description = forms.CharField(required=False, max_length=20_000,
                                  widget=forms.Textarea(attrs={"rows": 4, "class": "form-control form-control-sm"}))
    tags = forms.CharField(required=False, max_length=2_000, help_text="Comma-separated, e.g. gold, finance-kpi",
                           widget=forms.TextInput(attrs={"class": "form-control form-control-sm"}))
    owner = forms.CharField(required=False, max_length=255,
                            widget=forms.TextInput(attrs={"class": "form-control form-control-sm"}))
    classification = forms.ChoiceField(required=False, choices=[("", "— as in Glue —")] + [(c, c) for c in CLASSIFICATIONS],
                                       widget=forms.Select(attrs={"class": "form-select form-select-sm"}))
    pii_columns = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple, label="PII columns")
    deprecated = forms.BooleanField(required=False, label="Deprecated",
                                    widget=forms.CheckboxInput(attrs={"class": "form-check-input"}))
    deprecation_reason = forms.CharField(required=False, max_length=20_000, label="Why it is deprecated",
                                         widget=forms.Textarea(attrs={"rows": 2, "class": "form-control form-control-sm"}))
    deprecation_date = forms.DateField(required=False, label="Maintained until", help_text="YYYY-MM-DD",
                                       widget=forms.DateInput(attrs={"type": "date", "class": "form-control form-control-sm"}))
    replacement = forms.CharField(required=False, max_length=511, label="Use instead", help_text="database.table",
                                  widget=forms.TextInput(attrs={"class": "form-control form-control-sm"}))
    owners = forms.CharField(required=False, max_length=2_000, label="Owners (people and teams)",
                             help_text="Comma-separated kind:name, e.g. technical:ana, business:team:finance-analysts, "
                                       "steward:ana@example.com; kinds: technical, business, steward",
                             widget=forms.TextInput(attrs={"class": "form-control form-control-sm"}))

    @staticmethod
    def owners_text(owners: list[dict[str, Any]]) -> str:
        return ", ".join(f"{o['kind']}:{o['name']}" for o in owners)

    def clean_owners(self) -> list[OwnerInput]:
        parsed = []
        for entry in (e.strip() for e in self.cleaned_data["owners"].split(",")):
            if not entry:
                continue
            kind, sep, name = entry.partition(":")
            if not sep or not name.strip():
                raise forms.ValidationError(f"{entry!r}: write kind:name, e.g. technical:ana or business:team:analysts.")
            name = name.strip()
            team = name.removeprefix("team:") if name.startswith("team:") else None
            parsed.append(OwnerInput(kind.strip(), None if team else name, team))
        return parsed

    def __init__(self, *args: Any, column_names: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["pii_columns"].choices = [(name, name) for name in column_names]

    def to_input(self) -> CurationInput:
        data = self.cleaned_data
        return CurationInput(
            description=data["description"],
            tags=[t for t in data["tags"].split(",") if t.strip()],
            owner=data["owner"],
            classification=data["classification"],
            pii_columns=list(data["pii_columns"]),
            deprecated=data["deprecated"],
            deprecation_reason=data["deprecation_reason"],
            deprecation_date=data["deprecation_date"],
            replacement=data["replacement"],
        )


# The PII choice of the column form: "" leaves the flag as it is (e.g. suspected), NOT_PII_CHOICE clears it.
NOT_PII_CHOICE = "none"


class ColumnCurationForm(forms.Form):
    description = forms.CharField(required=False, max_length=20_000,
                                  widget=forms.Textarea(attrs={"rows": 3, "class": "form-control form-control-sm"}))
    tags = forms.CharField(required=False, max_length=2_000, help_text="Comma-separated, e.g. identity, billing",
                           widget=forms.TextInput(attrs={"class": "form-control form-control-sm"}))
    classification = forms.ChoiceField(required=False, choices=[("", "— not classified —")] + [(c, c) for c in CLASSIFICATIONS],
                                       widget=forms.Select(attrs={"class": "form-select form-select-sm"}))
    pii = forms.ChoiceField(required=False, label="Personal data (PII)",
                            choices=[("", "— leave as it is —"), (NOT_PII_CHOICE, "not personal data")]
                            + [(k, f"PII: {k}") for k in PII_KINDS],
                            widget=forms.Select(attrs={"class": "form-select form-select-sm"}))

    @staticmethod
    def initial_for(curated: ColumnCuration | None) -> dict[str, Any]:
        if curated is None:
            return {}
        pii = curated.pii_kind if curated.pii_status == ColumnCuration.PiiStatus.CONFIRMED else (
            NOT_PII_CHOICE if curated.pii_status == ColumnCuration.PiiStatus.CLEARED else "")
        return {"description": curated.description, "tags": ", ".join(curated.tags),
                "classification": curated.classification, "pii": pii}

    def to_input(self) -> ColumnCurationInput:
        data = self.cleaned_data
        pii = data["pii"]
        return ColumnCurationInput(
            description=data["description"],
            tags=[t for t in data["tags"].split(",") if t.strip()],
            classification=data["classification"],
            pii=UNCHANGED if not pii else (NOT_PII if pii == NOT_PII_CHOICE else pii),
        )
