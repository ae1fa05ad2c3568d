"""Celery tasks of workspaces: thin wrappers that load by id, call a service and reschedule.

AWS network faults are transient (retried with backoff); AWS refusals end in
the workspace's ``failed`` state inside the service.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from workspaces import leasing, services
from workspaces.models import Workspace

log = logging.getLogger(__name__)

MAX_FOLLOW_POLLS = 120  # with the 60 s cap: follows a workspace for about two hours
MAX_TRANSIENT_RETRIES = 5


def _backoff(attempt: int) -> int:
    return min(2 ** attempt, 60)


@shared_task(bind=True, max_retries=MAX_TRANSIENT_RETRIES, acks_late=True)
def provision_workspace(self, workspace_id: int) -> str:  # type: ignore[no-untyped-def]
    try:
        with leasing.claimed(workspace_id, Workspace.Status.PENDING) as got:
            if not got:
                return "busy"  # another worker provisions it (and follows it after)
            workspace = services.provision_workspace(workspace_id)
    except services.AwsUnavailable as exc:
        if self.request.retries >= MAX_TRANSIENT_RETRIES:
            workspace = Workspace.objects.get(pk=workspace_id)
            services.fail_workspace(workspace, f"AWS stayed unreachable: {exc}")
            return workspace.status
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries + 1))
    if workspace.status == Workspace.Status.PENDING:
        follow_workspace.delay(workspace_id)
    return workspace.status


def _poll_again(task: Any, workspace_id: int, attempt: int, gave_up: str) -> None:
    """Run ``task`` again after a backoff, or fail the workspace once it has waited long enough."""
    if attempt >= MAX_FOLLOW_POLLS:
        services.fail_workspace(Workspace.objects.get(pk=workspace_id), gave_up)
    else:
        task.apply_async((workspace_id, attempt + 1), countdown=_backoff(attempt))


@shared_task(acks_late=True)
def follow_workspace(workspace_id: int, attempt: int = 0) -> str:
    """Poll the notebook until it leaves pending/stopping, backing off up to a minute between polls."""
    try:
        with leasing.claimed(workspace_id, *Workspace.TRANSITIONAL) as got:
            if not got:
                return "busy"  # another worker follows it (or provisions it, and follows it after)
            workspace = services.refresh_workspace(workspace_id)
    except services.AwsUnavailable as exc:
        log.warning("Following workspace %s: %s", workspace_id, exc)
        workspace = Workspace.objects.get(pk=workspace_id)
    if workspace.status in (Workspace.Status.PENDING, Workspace.Status.STOPPING):
        _poll_again(follow_workspace, workspace_id, attempt, "SageMaker did not settle the notebook in time.")
    return workspace.status


@shared_task(acks_late=True)
def teardown_workspace(workspace_id: int, attempt: int = 0) -> str:
    """Remove the workspace's AWS resources, polling while the notebook stops and deletes."""
    try:
        with leasing.claimed(workspace_id, Workspace.Status.DELETING) as got:
            # Held by another worker (a provisioning step still running): look again later.
            done = services.teardown_workspace(workspace_id) if got else not Workspace.objects.filter(
                pk=workspace_id, status=Workspace.Status.DELETING).exists()
    except services.AwsUnavailable as exc:
        log.warning("Deleting workspace %s: %s", workspace_id, exc)
        done = False
    if not done:
        _poll_again(teardown_workspace, workspace_id, attempt, "Delete did not finish in time; delete again to retry.")
    return Workspace.objects.get(pk=workspace_id).status


@shared_task
def resume_stalled_workspaces() -> list[int]:
    """Beat: transitions whose worker was lost (lease free for too long) go to the next worker."""
    return leasing.resume_stalled()


@shared_task
def stop_idle_workspaces() -> list[int]:
    return services.stop_idle_workspaces()


@shared_task(bind=True, max_retries=MAX_TRANSIENT_RETRIES, acks_late=True)
def reconcile_role_holdings(self, user_id: int) -> dict[str, list[int]]:  # type: ignore[no-untyped-def]
    """Pause what a lost role holds, resume what a regained one holds (workspaces.role_loss)."""
    from dataclasses import asdict

    from workspaces import role_loss
    from workspaces.notifications import SubscriptionUnavailable

    try:
        return asdict(role_loss.reconcile(user_id))
    except (services.AwsUnavailable, SubscriptionUnavailable) as exc:
        raise self.retry(exc=exc, countdown=_backoff(self.request.retries + 1))
