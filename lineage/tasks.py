"""Celery tasks of lineage: thin wrappers that take ids and call a service."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from lineage import services


@shared_task(name="lineage.tasks.refresh_for_tables_task")
def refresh_for_tables_task(table_ids: list[int]) -> dict[str, Any]:
    """Follow a catalog change off the sync: link datasets, re-derive view lineage (see services.refresh_for_tables)."""
    return services.refresh_for_tables(list(table_ids))


@shared_task(name="lineage.tasks.apply_event_task")
def apply_event_task(event_id: int) -> str:
    """Apply a big OpenLineage event the API stored as queued (see services.apply_queued_event)."""
    return services.apply_queued_event(int(event_id))
