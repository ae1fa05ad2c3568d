"""Filters of the audit trail, shared by the page and the REST API (see portal.filtering)."""

from __future__ import annotations

import django_filters
from django.core.validators import RegexValidator
from django.db.models import QuerySet

from portal.filtering import FilterSet
from identity.models import AuditEvent

# Audit actions are dotted lower-case names (``token.create``, ``catalog.sync.confirm_deletes``).
ACTION_PATTERN = r"^[a-z0-9_.-]*$"  # empty: no filter
_ACTION_SHAPE = RegexValidator(ACTION_PATTERN, "An action is a dotted name such as token.create or workspace.")


class AuditEventFilterSet(FilterSet):
    action = django_filters.CharFilter(
        method="filter_action", max_length=AuditEvent._meta.get_field("action").max_length,
        validators=[_ACTION_SHAPE], label="Action",
        help_text="An action (token.create), or every action under a prefix ending in a dot (workspace.)")
    user = django_filters.CharFilter(field_name="username", max_length=150, label="User",
                                     help_text="Exactly this user name")

    class Meta:
        model = AuditEvent
        fields = ["action", "user"]

    def filter_action(self, queryset: QuerySet[AuditEvent], name: str, value: str) -> QuerySet[AuditEvent]:
        return queryset.filter(action__startswith=value) if value.endswith(".") else queryset.filter(action=value)
