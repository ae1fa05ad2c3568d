"""Lineage's queue: the one module that knows the lineage tasks' names and arguments.

Receivers and services call these, never ``lineage.tasks``; the tasks import the services.
Each function imports the task when called (no services ↔ tasks circle).
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings

log = logging.getLogger(__name__)


def refresh_for_tables(table_ids: list[int]) -> None:
    """Re-derive the view lineage of these catalog tables on a worker. Sent at once: the
    callers (catalog signal receivers) already run after the catalog's commit. Raises what
    the broker raises when it cannot take the message."""
    from lineage.tasks import refresh_for_tables_task

    refresh_for_tables_task.delay(table_ids)


# When this process last asked for an applier: one task per LINEAGE_APPLY_DEBOUNCE_MS at most.
_applier_due_at = 0.0
_applier_lock = threading.Lock()


def apply_pending_soon() -> None:
    """Have a worker apply the queued OpenLineage events within ``LINEAGE_APPLY_DEBOUNCE_MS``.

    A burst of events makes one task per window and process: the first event of a window sends a
    task due at the window's end, the events after it ride along (the task, due after they were
    committed, finds them). A broker that cannot take the message leaves the events queued for the
    periodic sweep (``lineage-apply-pending``) or the next event's task; never an error to the
    client, whose event is stored."""
    global _applier_due_at
    from lineage.tasks import apply_pending_task

    window = settings.LINEAGE_APPLY_DEBOUNCE_MS / 1000
    now = time.monotonic()
    with _applier_lock:
        if now < _applier_due_at:
            return
        _applier_due_at = now + window
    try:
        apply_pending_task.apply_async(countdown=window)
    except Exception:  # noqa: BLE001 - broker down: the sweep applies the events later
        log.warning("Could not queue the lineage applier; the queued events wait for the sweep", exc_info=True)
        with _applier_lock:
            _applier_due_at = 0.0
