"""Leases on workspace transitions (provision, follow a start or stop, teardown): the worker that
works on a workspace claims it with a compare-and-set on ``lease_expires_at`` and renews the lease
while it works (portal.leases); when it is done it releases the lease (sets it to now).

Between two tasks of a transition (a poll scheduled up to a minute later) nobody holds it. A
transitional workspace whose lease has been free for longer than a lease plus the longest poll
interval has lost its worker (killed, its queued task lost): the beat sweep hands it to the next
worker, whose steps are idempotent (services remembers every AWS resource before or as it makes it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from portal import leases

from identity import audit
from workspaces import dispatch
from workspaces.models import Workspace

Status = Workspace.Status
# The longest wait between two polls of a transition (workspaces.tasks backs off up to a minute).
MAX_POLL_GAP_SECONDS = 60


def _seconds() -> int:
    return settings.WORKER_LEASE_SECONDS


@contextmanager
def claimed(workspace_id: int, *statuses: str) -> Iterator[bool]:
    """Claims the workspace when it is in one of ``statuses`` and nobody holds its lease; yields
    whether it did. The lease is renewed while the block runs and released after it."""
    got = Workspace.objects.filter(Q(pk=workspace_id, status__in=statuses) & leases.lapsed()).update(
        lease_expires_at=leases.expiry(_seconds()))
    if not got:
        yield False
        return
    try:
        with leases.held(Workspace, workspace_id, _seconds()):
            yield True
    finally:
        release(workspace_id)


def release(workspace_id: int) -> None:
    """Frees the workspace for the next task of its transition (and starts the stall clock)."""
    Workspace.objects.filter(pk=workspace_id).update(lease_expires_at=timezone.now())


def stalled() -> Q:
    """Transitional workspaces whose lease has been free too long for a live transition."""
    cutoff = timezone.now() - timedelta(seconds=_seconds() + MAX_POLL_GAP_SECONDS)
    # No lease yet: a transition begun before leases existed; its last change tells its age.
    free_since_long = Q(lease_expires_at__lt=cutoff) | Q(lease_expires_at__isnull=True, updated_at__lt=cutoff)
    return Q(status__in=Workspace.TRANSITIONAL) & free_since_long


def resume_stalled() -> list[int]:
    """Beat's sweep: re-enqueues the transition of every stalled workspace (provision, follow or
    teardown). Restarting the stall clock first keeps two sweeps from resuming one twice."""
    resumed = []
    for workspace in Workspace.objects.filter(stalled()):
        if not Workspace.objects.filter(Q(pk=workspace.pk) & stalled()).update(lease_expires_at=timezone.now()):
            continue
        if workspace.status == Status.DELETING:
            dispatch.teardown(workspace.pk)
        elif workspace.status == Status.PENDING and not workspace.notebook_arn:
            dispatch.provision(workspace.pk)
        else:
            dispatch.follow(workspace.pk)
        audit.record(None, "workspace.resumed", target=f"workspace:{workspace.pk}",
                     details={"status": workspace.status})
        resumed.append(workspace.pk)
    return resumed
