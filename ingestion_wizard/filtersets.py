"""Filters of the pipeline list, shared by the page, the REST API and the MCP tool (see portal.filtering)."""

from __future__ import annotations

import django_filters

from ingestion_wizard.models import Pipeline
from portal.filtering import FilterSet


class PipelineFilterSet(FilterSet):
    status = django_filters.ChoiceFilter(choices=Pipeline.Status.choices, empty_label="Any status",
                                         help_text="Only pipelines in this status")

    class Meta:
        model = Pipeline
        fields = ["status"]
