"""Dataset owners: portal users or teams (Django groups) with a kind (technical, business, steward).

``set_owners`` replaces a dataset's owners after checking that every user and team exists (a name
that is neither is a CurationError naming it, nothing is stored), records the change (a
``CurationChange`` row and an audit record) and re-indexes the table (search's owner facet lists
people by username and teams as ``team:<name>``); the owners are told (``catalog.services.notices``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Q

from catalog.models import CurationChange, DatasetOwner, Table
from catalog.services.curation import CurationError, CurationForbidden, after_commit
from catalog.services.notices import notify_owners
from identity import audit
from identity.roles import Role, may_curate

MAX_OWNERS = 20


@dataclass(frozen=True)
class OwnerInput:
    """One owner: ``kind`` from DatasetOwner.Kind and either ``user`` (username or e-mail) or ``team`` (group name)."""

    kind: str
    user: str | None = None
    team: str | None = None


def _resolved(specs: Iterable[OwnerInput]) -> list[DatasetOwner]:
    owners: list[DatasetOwner] = []
    seen: set[tuple[str, str, int]] = set()
    users = get_user_model().objects
    for spec in specs:
        if spec.kind not in DatasetOwner.Kind.values:
            raise CurationError(f"An owner's kind is one of {', '.join(DatasetOwner.Kind.values)}, not {spec.kind!r}.", "owners")
        if bool(spec.user) == bool(spec.team):
            raise CurationError("Each owner names either a user or a team.", "owners")
        if spec.user:
            user = users.filter(Q(username=spec.user) | Q(email__iexact=spec.user)).order_by("pk").first()
            if user is None:
                raise CurationError(f"No portal user {spec.user!r}: owners are portal users or teams.", "owners")
            key = (spec.kind, "user", user.pk)
            owner = DatasetOwner(kind=spec.kind, user=user)
        else:
            team = Group.objects.filter(name=spec.team).first()
            if team is None:
                raise CurationError(f"No team {spec.team!r}: owners are portal users or teams.", "owners")
            key = (spec.kind, "team", team.pk)
            owner = DatasetOwner(kind=spec.kind, team=team)
        if key not in seen:
            seen.add(key)
            owners.append(owner)
    if len(owners) > MAX_OWNERS:
        raise CurationError(f"At most {MAX_OWNERS} owners.", "owners")
    return owners


def owner_names(table: Table) -> list[str]:
    return [f"{o.kind}:{o.name}" for o in DatasetOwner.objects.filter(table=table).select_related("user", "team")]


def set_owners(table: Table, specs: Iterable[OwnerInput], *, actor: Any, role: Role | None, ip: str | None = None) -> list[DatasetOwner]:
    """Make ``specs`` the dataset's owners; returns them. Raises CurationForbidden unless the role may
    curate the table's hub, CurationError for an unknown user or team or a bad kind."""
    if not may_curate(role, table.hub):
        raise CurationForbidden(f"Only stewards of hub {table.hub or '—'} may name the owners of {table.qualified_name}.")
    owners = _resolved(specs)
    with transaction.atomic():
        Table.objects.select_for_update().filter(pk=table.pk).first()
        before = owner_names(table)
        DatasetOwner.objects.filter(table=table).delete()
        for owner in owners:
            owner.table = table
        DatasetOwner.objects.bulk_create(owners)
        after = owner_names(table)
        if before != after:
            CurationChange.objects.create(table=table, field="owners", old_value=before, new_value=after,
                                          changed_by=actor if getattr(actor, "pk", None) else None)
            audit.record(actor, "catalog.set_owners", role=role, target=table.qualified_name, ip=ip,
                         details={"from": before, "to": after})
            transaction.on_commit(lambda: after_commit(table.id, None))
            transaction.on_commit(lambda: notify_owners(table.id, f"owners set to {', '.join(after) or 'nobody'}", actor))
    return owners
