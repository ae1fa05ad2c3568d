"""Forms of the glossary pages (their values go to glossary.services, which checks them)."""

from __future__ import annotations

from django import forms

from glossary.models import Term
from glossary.services import TermInput


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.replace(",", "\n").splitlines() if line.strip()]


class TermForm(forms.Form):
    name = forms.CharField(max_length=200)
    definition = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}))
    synonyms = forms.CharField(required=False, help_text="One per line (or comma-separated)",
                               widget=forms.Textarea(attrs={"rows": 2}))
    abbreviations = forms.CharField(required=False, help_text="One per line (or comma-separated), e.g. rx",
                                    widget=forms.Textarea(attrs={"rows": 2}))
    parent = forms.CharField(required=False, max_length=200, help_text="The broader term's name")
    owner_hub = forms.CharField(max_length=64, help_text="The hub whose stewards keep this term")
    state = forms.ChoiceField(choices=Term.State.choices)
    datasets = forms.CharField(required=False, help_text="database.table, one per line",
                               widget=forms.Textarea(attrs={"rows": 3}))
    columns = forms.CharField(required=False, help_text="database.table.column, one per line",
                              widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "form-select" if isinstance(field.widget, forms.Select)
                                          else "form-control")

    @classmethod
    def initial_of(cls, data: TermInput) -> dict[str, str]:
        return {"name": data.name, "definition": data.definition, "synonyms": "\n".join(data.synonyms),
                "abbreviations": "\n".join(data.abbreviations), "parent": data.parent, "owner_hub": data.owner_hub,
                "state": data.state, "datasets": "\n".join(data.datasets), "columns": "\n".join(data.columns)}

    def to_input(self) -> TermInput:
        d = self.cleaned_data
        return TermInput(name=d["name"], definition=d["definition"], synonyms=_lines(d["synonyms"]),
                         abbreviations=_lines(d["abbreviations"]), parent=d["parent"], owner_hub=d["owner_hub"],
                         state=d["state"], datasets=_lines(d["datasets"]), columns=_lines(d["columns"]))


class ImportForm(forms.Form):
    file = forms.FileField(required=False, help_text="A glossary CSV (as the export gives it)")
    csv = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 6, "class": "form-control"}),
                          help_text="…or paste the CSV here")

    def text(self) -> str:
        upload = self.cleaned_data.get("file")
        if upload is not None:
            try:
                return upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise forms.ValidationError("The file is not UTF-8 text.") from None
        return self.cleaned_data.get("csv") or ""
