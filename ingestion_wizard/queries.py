"""Read helpers of ingestion pages."""

from __future__ import annotations

from django.db.models import QuerySet

from ingestion_wizard.models import Draft, Pipeline
from identity import roles
from identity.roles import Role


def pipelines_for(role: Role | None) -> QuerySet[Pipeline]:
    return Pipeline.objects.for_role(role).prefetch_related("runs")


def drafts_of(user: object) -> QuerySet[Draft]:
    return Draft.objects.filter(user=user)


def hubs_for(role: Role | None) -> list[str]:
    """Hubs the role may onboard into: its own as a provider, every known hub as an admin."""
    if role is None:
        return []
    if not role.is_admin:
        return [role.hub] if role.hub and roles.may_provide(role, role.hub) else []
    from catalog.models import Database

    hubs = set(Database.objects.exclude(hub="").values_list("hub", flat=True))
    hubs |= set(Pipeline.objects.values_list("hub", flat=True))
    return sorted(hubs) or ["default"]
