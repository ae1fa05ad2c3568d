"""Filters of the workspace list, shared by the page and the REST API (see portal.filtering)."""

from __future__ import annotations

import django_filters

from workspaces.models import Workspace
from portal.filtering import FilterSet


class WorkspaceFilterSet(FilterSet):
    status = django_filters.ChoiceFilter(choices=Workspace.Status.choices, empty_label="Any status",
                                         help_text="Only workspaces in this status")

    class Meta:
        model = Workspace
        fields = ["status"]
