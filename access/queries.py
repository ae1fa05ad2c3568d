"""Read helpers of access requests, always through the role layer, and what Lake Formation says."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.db.models import Q, QuerySet
from django.http import Http404

from access.models import AccessRequest
from catalog.models import Table
from identity.roles import Role, decides_access_q, made_in_role_q
from portal import aws, lake_permissions


def requests_for(user: Any, role: Role | None) -> QuerySet[AccessRequest]:
    """The requests this role sees: its own (made in this role) and those it decides."""
    if role is None:
        return AccessRequest.objects.none()
    own = Q(requester=user) & made_in_role_q(role)
    return AccessRequest.objects.filter(own | decides_access_q(role)).select_related("requester", "decided_by")


def get_request(user: Any, role: Role | None, request_id: int) -> AccessRequest:
    """One request the role sees. Raises Http404 otherwise."""
    try:
        return requests_for(user, role).get(pk=request_id)
    except AccessRequest.DoesNotExist:
        raise Http404("No such access request.") from None


def queue_for(role: Role | None) -> QuerySet[AccessRequest]:
    """The pending requests this role decides (a steward's hub, all for admins), oldest first."""
    return (AccessRequest.objects.filter(decides_access_q(role), state=AccessRequest.State.PENDING)
            .select_related("requester").order_by("created_at", "id"))


def needs_attention_for(role: Role | None) -> QuerySet[AccessRequest]:
    """Failed grants and revocations this role decides: they wait for a retry."""
    return AccessRequest.objects.filter(decides_access_q(role), state=AccessRequest.State.FAILED).order_by("-updated_at")


@dataclass
class DatasetAccess:
    """What the dataset page says about access for the current role."""

    principal: str = ""
    whole_table: bool = False
    columns: list[str] = field(default_factory=list)
    unknown: str = ""  # why Lake Formation could not answer (no IAM role mapped, unreachable)
    open_requests: list[AccessRequest] = field(default_factory=list)
    deciders: str = ""

    @property
    def has_access(self) -> bool:
        return self.whole_table or bool(self.columns)


def dataset_access(user: Any, role: Role, table: Table) -> DatasetAccess:
    """Access of the role's IAM role to ``table`` as Lake Formation lists it now (never from our records),
    the role's open requests for it, and who decides. Lake Formation away → ``unknown`` says so."""
    result = DatasetAccess(deciders=f"the stewards of hub {table.hub}" if table.hub else "the admins")
    result.open_requests = list(requests_for(user, role).filter(
        made_in_role_q(role), requester=user, dataset=table.qualified_name,
        state__in=[AccessRequest.State.PENDING, AccessRequest.State.GRANTING, AccessRequest.State.REVOKING,
                   AccessRequest.State.FAILED]))
    principal = aws.mapped_role_arn(role)
    if not principal:
        result.unknown = f"Your role {role.key} has no IAM role mapped (AWS_ROLE_ARNS)."
        return result
    result.principal = principal
    try:
        access = lake_permissions.table_access(principal, table.database_name, table.name)
    except (ClientError, BotoCoreError) as exc:
        result.unknown = f"Lake Formation did not answer ({exc.__class__.__name__}); try again shortly."
        return result
    result.whole_table, result.columns = access.whole_table, access.columns
    return result
