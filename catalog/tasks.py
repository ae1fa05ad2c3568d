"""Celery tasks of the catalog: thin wrappers that load ids, call a service and return the outcome."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from celery.signals import beat_init
from django.conf import settings

from catalog.models import GlueCatalog, SyncRun
from catalog.services.events import poll_events
from catalog.services.partitions import pending_tables, sync_partitions
from catalog.services.runs import SyncAlreadyRunning
from catalog.services.sync import full_sync, refresh_tables


# A table refresh waiting behind a running full sync tries again for about half an hour.
TABLE_REFRESH_MAX_RETRIES = 30


@shared_task(bind=True, name="catalog.tasks.sync_catalog_task", max_retries=TABLE_REFRESH_MAX_RETRIES)
def sync_catalog_task(self: Any, catalog_id: int, full: bool = True, run_id: int | None = None,
                      tables: list[list[str]] | None = None, allow_deletes: bool = False) -> dict[str, Any]:
    """A full reconcile of one catalog (``full``), or a refresh of ``tables`` ([[database, table], ...]).

    ``run_id`` names a run already claimed by ``request_sync``; a run that is no
    longer running (a redelivered message) makes this a no-op. A full sync that
    finds another one running is skipped (that one covers it); a refresh of named
    tables is retried with backoff instead, since the running sync may already have
    passed those tables. ``allow_deletes``: an admin confirmed the deletions the guard held back.
    """
    catalog = GlueCatalog.objects.filter(pk=catalog_id).first()
    if catalog is None:
        return {"error": f"catalog {catalog_id} does not exist"}
    run = None
    if run_id is not None:
        run = SyncRun.objects.filter(pk=run_id, catalog=catalog).first()
        if run is None or run.status != SyncRun.Status.RUNNING:
            return {"run_id": run_id, "skipped": "run already finished"}
    try:
        if full or not tables:
            run = full_sync(catalog, run=run, allow_deletes=allow_deletes)
        else:
            run = refresh_tables(catalog, [(d, t) for d, t in tables])
    except SyncAlreadyRunning as exc:
        if tables and not full:
            raise self.retry(exc=exc, countdown=min(2 ** self.request.retries, 60))
        return {"skipped": str(exc), "running_run_id": exc.run.pk}
    if run.kind == SyncRun.Kind.FULL and pending_tables(catalog).exists():
        sync_partitions_task.delay(catalog.pk)
    return {"run_id": run.pk, "status": run.status, "counts": run.counts, "error": run.error}


@shared_task(bind=True, name="catalog.tasks.sync_partitions_task", max_retries=TABLE_REFRESH_MAX_RETRIES)
def sync_partitions_task(self: Any, catalog_id: int) -> dict[str, Any]:
    """The partition pass after a full sync. Behind a running pass it retries: that one may have
    passed the tables flagged since."""
    catalog = GlueCatalog.objects.filter(pk=catalog_id).first()
    if catalog is None:
        return {"error": f"catalog {catalog_id} does not exist"}
    try:
        run = sync_partitions(catalog)
    except SyncAlreadyRunning as exc:
        raise self.retry(exc=exc, countdown=min(2 ** self.request.retries, 60))
    return {"run_id": run.pk, "status": run.status, "counts": run.counts, "error": run.error}


@shared_task(name="catalog.tasks.poll_catalog_events")
def poll_catalog_events() -> dict[str, Any]:
    """Refresh the tables named by Glue change events on CATALOG_EVENTS_QUEUE_URL (runs every few seconds)."""
    if not settings.CATALOG_EVENTS_QUEUE_URL:
        return {"skipped": "CATALOG_EVENTS_QUEUE_URL is not set"}
    return poll_events(settings.CATALOG_EVENTS_QUEUE_URL, seconds=settings.CATALOG_EVENTS_POLL_SECONDS).as_dict()


@shared_task(name="catalog.tasks.repair_search_index")
def repair_search_index() -> dict[str, int] | None:
    """Beat: the index checked against the database once OpenSearch answers, repaired when off."""
    from catalog.search.repair import repair_if_due

    return repair_if_due()


@shared_task(name="catalog.tasks.follow_lineage_change_task")
def follow_lineage_change_task(pairs: list[list[int]]) -> dict[str, int]:
    """Re-check curation propagation after a big lineage change (see services.propagation.follow_lineage_change)."""
    from catalog.services.propagation import follow_lineage_change

    outcome = follow_lineage_change([(int(s), int(t)) for s, t in pairs])
    return {"proposed": outcome.proposed, "withdrawn": outcome.withdrawn, "tables": len(outcome.tables)}


@beat_init.connect
def _ensure_schedules_on_beat_start(**kwargs: Any) -> None:
    """Whenever beat starts, the catalog's periodic tasks exist and follow the settings."""
    from catalog.services.schedules import ensure_schedules

    ensure_schedules()
