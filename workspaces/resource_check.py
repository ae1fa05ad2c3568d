"""Is a settled workspace's notebook still there, and re-creating it when it is not.

The embedded mode's local AWS (moto) keeps nothing across restarts while the portal's database
keeps every workspace: after a restart a workspace would still say "in service" though SageMaker
has no such notebook. ``mark_missing`` (run at each embedded start once the local AWS is up)
marks those "resources missing"; ``recreate_workspace`` launches the same workspace again (same
datasets, type and role: the provisioning steps run anew and grant what ``grants`` lists).
"""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.utils import timezone

from portal import aws

from identity import audit
from identity.roles import Role
from workspaces import dispatch
from workspaces.models import Workspace
from workspaces.services import ActionConflict, describe_notebook

log = logging.getLogger(__name__)
Status = Workspace.Status
CHECKED = (Status.IN_SERVICE, Status.STOPPED)
MISSING_REASON = ("Its notebook instance is gone: the local AWS keeps nothing across restarts (on AWS, someone "
                  "deleted it). Re-create it to launch the same workspace again.")


def mark_missing() -> list[int]:
    """Mark every in-service or stopped workspace whose notebook is gone; returns their ids. One
    that AWS cannot be asked about is left as it is (and logged)."""
    sagemaker = aws.client("sagemaker")
    marked = []
    for workspace in Workspace.objects.filter(status__in=CHECKED).exclude(notebook_arn=""):
        try:
            exists = describe_notebook(sagemaker, workspace.name) is not None
        except (BotoCoreError, ClientError):
            log.warning("Cannot check the notebook of workspace %s", workspace.pk, exc_info=True)
            continue
        if exists:
            continue
        # Compare-and-set: an action that raced the check wins.
        if Workspace.objects.filter(pk=workspace.pk, status=workspace.status).update(
                status=Status.RESOURCES_MISSING, status_reason=MISSING_REASON, updated_at=timezone.now()):
            audit.record(None, "workspace.resources_missing", target=f"workspace:{workspace.pk}")
            marked.append(workspace.pk)
    return marked


def recreate_workspace(workspace: Workspace, *, actor: Any, role: Role | None, ip: str | None = None) -> Workspace:
    """Launch a workspace whose resources went missing again. Raises ActionConflict otherwise."""
    if not workspace.can_recreate:
        raise ActionConflict(f"Only a workspace whose resources are missing can be re-created (it is {workspace.status}).")
    claimed = Workspace.objects.filter(pk=workspace.pk, status=Status.RESOURCES_MISSING).update(
        status=Status.PENDING, status_reason="", notebook_arn="", notebook_url="", lifecycle_config_name="",
        emr_cluster_id="", updated_at=timezone.now())
    if not claimed:
        raise ActionConflict("The workspace changed meanwhile; reload the page.")
    audit.record(actor, "workspace.recreate", role=role, target=f"workspace:{workspace.pk}", ip=ip)
    dispatch.provision(workspace.pk)
    workspace.refresh_from_db()
    return workspace
