"""Filters of the catalog's lists, shared by the REST API and the pages (see portal.filtering)."""

from __future__ import annotations

import django_filters

from catalog.models import GlueCatalog, SyncRun
from portal.filtering import FilterSet


class SyncRunFilterSet(FilterSet):
    """``?catalog=<id>`` and ``?status=``: both must name something that exists."""

    catalog = django_filters.ModelChoiceFilter(queryset=GlueCatalog.objects.all(), help_text="Catalog id")
    status = django_filters.ChoiceFilter(choices=SyncRun.Status.choices, help_text="Only runs in this status")

    class Meta:
        model = SyncRun
        fields = ["catalog", "status"]
