"""The mass-deletion guard of a full sync.

A reachable but empty (or half-restored) Glue catalog looks exactly like "every
table was dropped": without a guard one sync soft-deletes the whole mirror. A
full sync therefore holds its soft-deletes until the walk is complete, then asks
``needs_confirmation``: more than CATALOG_SYNC_MAX_DELETE_SHARE of the live
tables gone stops the run (nothing deleted, status ``needs_confirm``) until an
admin confirms it (``confirm_deletions``: a new full sync allowed to delete), or
the catalog is configured with ``allow_mass_delete``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from catalog.models import GlueCatalog, SyncRun


class NotAwaitingConfirmation(ValueError):
    """The run is not stopped by the guard (never was, or already confirmed)."""


def max_delete_share() -> float:
    return settings.CATALOG_SYNC_MAX_DELETE_SHARE


def min_guarded_deletes() -> int:
    return settings.CATALOG_SYNC_GUARD_MIN_DELETES


def needs_confirmation(live: int, deleting: int, *, share: float, min_deletes: int) -> bool:
    """True when deleting ``deleting`` of ``live`` tables must wait for an admin.

    Below ``min_deletes`` deletions the share is not checked (dropping 2 of 5 tables
    is ordinary work), except when the sync would leave no table at all: that is the
    shape of a catalog that came back empty, the case this guard exists for.
    """
    if live <= 0 or deleting <= 0:
        return False
    if deleting >= live:
        return True
    return deleting >= min_deletes and deleting > share * live


def held_message(live: int, deleting: int, databases: int) -> str:
    return (f"Stopped before deleting anything: Glue no longer lists {deleting} of the {live} tables mirrored "
            f"({databases} databases), more than the {max_delete_share():.0%} a sync may delete on its own "
            "(CATALOG_SYNC_MAX_DELETE_SHARE). If the catalog really lost them, an admin confirms the deletion "
            "on the operations page or with POST /api/v1/catalog/sync-runs/<id>/confirm.")


def confirm_deletions(run: SyncRun) -> SyncRun:
    """Confirm the deletions a guarded run held back: marks it ``confirmed`` and claims a full sync
    allowed to delete, run on a worker; returns that new (running) run.

    Raises NotAwaitingConfirmation when ``run`` is not held by the guard, and
    SyncAlreadyRunning when another sync of the catalog is running (the held run stays held).
    """
    from catalog.services.sync import request_sync

    with transaction.atomic():
        if not SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.NEEDS_CONFIRMATION).update(
                status=SyncRun.Status.CONFIRMED):
            raise NotAwaitingConfirmation(f"Sync run #{run.pk} is not waiting for a confirmation.")
        new = request_sync(run.catalog, allow_deletes=True, confirmed_run=run.pk)
    run.refresh_from_db()
    return new


def allows_mass_delete(catalog: GlueCatalog) -> bool:
    return bool(catalog.allow_mass_delete)
