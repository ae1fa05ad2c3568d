"""Applying a shared filterset (django-filter) the same way on every surface.

A list's filters are declared once, in its app's ``filtersets.py``; the HTML page, the REST
endpoint and the MCP tool all parse, validate and apply them through that class. An unknown
value (a status that does not exist, a catalog id that names nothing) is refused, never
silently ignored: the API answers 400 naming the parameter, a page shows the form's error.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError


class FilterSet(django_filters.FilterSet):
    """A filterset whose form renders as the portal's filter bar (``portal/_filter_form.html``)."""

    @property
    def form(self) -> forms.Form:
        form = super().form
        for field in form.fields.values():
            css = "form-select form-select-sm" if isinstance(field.widget, forms.Select) else "form-control form-control-sm"
            field.widget.attrs.setdefault("class", css)
            if field.help_text and not isinstance(field.widget, forms.Select):
                field.widget.attrs.setdefault("placeholder", field.help_text)
        return form


def filtered_or_400(filterset: FilterSet) -> QuerySet[Any]:
    """The filtered queryset; raises DRF's ValidationError (a 400 with ``detail: {param: [message]}``)."""
    if not filterset.is_valid():
        raise ValidationError(filterset.errors)
    return filterset.qs


def filtered_for_page(filterset: FilterSet) -> QuerySet[Any]:
    """The filtered queryset, or nothing when a filter value is invalid (the page shows the form's errors)."""
    return filterset.qs if filterset.is_valid() else filterset.queryset.none()


def first_error(filterset: FilterSet) -> str:
    """``param: message`` of the first invalid filter, for surfaces with one error line (MCP)."""
    for name, messages in filterset.errors.items():
        return f"{name}: {messages[0]}"
    return ""
