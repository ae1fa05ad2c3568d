"""What people and other apps ask of the sync: "Sync now" (with its audit record) and
"refresh these tables" (from ingestion runs). Views, the API and other apps call these;
the sync itself lives in ``catalog.services.sync``.
"""

from __future__ import annotations

from typing import Any

from catalog import dispatch
from catalog.models import GlueCatalog, SyncRun
from catalog.services.runs import SyncAlreadyRunning
from catalog.services.sync import refresh_tables, request_sync
from identity import audit, roles
from identity.roles import Role


class SyncForbidden(PermissionError):
    """The role may not start a sync (identity.roles.may_start_sync)."""


def start_sync(catalog: GlueCatalog, *, user: Any, role: Role | None, ip: str | None = None) -> SyncRun:
    """"Sync now" for people (operations page, ``POST /api/v1/sync-runs``): checks the role,
    claims and queues a full sync (``request_sync``) and records who started it.

    Raises SyncForbidden for a role that may not, SyncAlreadyRunning while one runs
    (nothing is recorded then: nothing started).
    """
    if not roles.may_start_sync(role):
        raise SyncForbidden("Only admins may start a sync.")
    run = request_sync(catalog)
    audit.record(user, "catalog.sync.start", role=role, target=str(catalog), details={"run": run.pk}, ip=ip)
    return run


class RefreshQueued(RuntimeError):
    """A sync of the catalog was running: the refresh is queued to follow it."""


def refresh_tables_or_queue(catalog: GlueCatalog, pairs: list[tuple[str, str]]) -> SyncRun:
    """Refresh ``(database, table)`` pairs now; returns the finished run.

    While another sync of the catalog runs (it may have passed these tables already), queues
    the refresh to follow it on a worker (the catalog task's own retries wait for that sync)
    and raises RefreshQueued saying so.
    """
    try:
        return refresh_tables(catalog, pairs)
    except SyncAlreadyRunning as exc:
        dispatch.refresh_tables_later(catalog.pk, pairs)
        names = ", ".join(f"{database}.{table}" for database, table in pairs)
        raise RefreshQueued(f"{exc} The refresh of {names} is queued to follow it.") from exc
