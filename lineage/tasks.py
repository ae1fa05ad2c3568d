"""Celery tasks of lineage: thin wrappers that take ids and call a service."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from lineage import event_queue, services


@shared_task(name="lineage.tasks.refresh_for_tables_task")
def refresh_for_tables_task(table_ids: list[int]) -> dict[str, Any]:
    """Follow a catalog change off the sync: link datasets, re-derive view lineage (see services.refresh_for_tables)."""
    return services.refresh_for_tables(list(table_ids))


@shared_task(name="lineage.tasks.apply_pending_task")
def apply_pending_task() -> dict[str, int]:
    """Apply the queued OpenLineage events in batches (see lineage.event_queue.apply_pending)."""
    return event_queue.apply_pending().as_dict()


@shared_task(name="lineage.tasks.apply_event_task")
def apply_event_task(event_id: int) -> dict[str, int]:
    """A message sent before events were applied in batches (one per big event): the same work."""
    return event_queue.apply_pending().as_dict()
