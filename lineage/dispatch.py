"""Lineage's queue: the one module that knows the lineage tasks' names and arguments.

Receivers and services call these, never ``lineage.tasks``; the tasks import the services.
Each function imports the task when called (no services ↔ tasks circle).
"""

from __future__ import annotations


def refresh_for_tables(table_ids: list[int]) -> None:
    """Re-derive the view lineage of these catalog tables on a worker. Sent at once: the
    callers (catalog signal receivers) already run after the catalog's commit. Raises what
    the broker raises when it cannot take the message."""
    from lineage.tasks import refresh_for_tables_task

    refresh_for_tables_task.delay(table_ids)


def apply_event(event_id: int) -> None:
    """Apply a stored (large) OpenLineage event on a worker. Raises what the broker raises when
    it cannot take the message; the caller then applies it inline."""
    from lineage.tasks import apply_event_task

    apply_event_task.delay(event_id)
