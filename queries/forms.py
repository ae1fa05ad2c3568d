from __future__ import annotations

from django import forms


class QueryForm(forms.Form):
    sql = forms.CharField(label="SQL (Athena)", max_length=100_000, strip=True,
                          widget=forms.Textarea(attrs={"rows": 8, "class": "form-control font-monospace",
                                                       "spellcheck": "false", "id": "sql-editor"}))
