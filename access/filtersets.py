"""Filters of the access request list, shared by the queue page and the REST API (see portal.filtering)."""

from __future__ import annotations

import django_filters

from access.models import AccessRequest
from portal.filtering import FilterSet


class AccessRequestFilterSet(FilterSet):
    state = django_filters.ChoiceFilter(choices=AccessRequest.State.choices, empty_label="Any state",
                                        help_text="Only requests in this state")

    class Meta:
        model = AccessRequest
        fields = ["state"]
