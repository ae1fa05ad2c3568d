"""Celery tasks of lineage: thin wrappers that take ids and call a service."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from lineage import services


@shared_task(name="lineage.tasks.refresh_for_tables_task")
def refresh_for_tables_task(table_ids: list[int]) -> dict[str, Any]:
    """Follow a catalog change off the sync: link datasets, re-derive view lineage (see services.refresh_for_tables)."""
    return services.refresh_for_tables(list(table_ids))
