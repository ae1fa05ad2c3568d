"""The catalog's queue: services call these to have a worker do something once their
transaction commits (right away when none is open).

The one module that knows the catalog tasks' names and arguments. Services import it,
never ``catalog.tasks``; the tasks import the services. Each function imports the task
when called, so importing this module never imports the tasks (no services ↔ tasks circle).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction


def run_full_sync(catalog_id: int, run_id: int, *, allow_deletes: bool = False) -> None:
    """Run the full sync of a run already claimed (``catalog.services.sync.request_sync``);
    ``allow_deletes``: an admin confirmed the deletions the guard held back."""
    from catalog.tasks import sync_catalog_task

    transaction.on_commit(lambda: sync_catalog_task.delay(catalog_id, full=True, run_id=run_id,
                                                          allow_deletes=allow_deletes))


def refresh_tables_later(catalog_id: int, pairs: Iterable[tuple[str, str]], *, countdown: int = 1) -> None:
    """Refresh ``(database, table)`` pairs on a worker; behind a running sync the task retries
    with its own backoff until that sync ends."""
    from catalog.tasks import sync_catalog_task

    tables = [[database, table] for database, table in pairs]
    transaction.on_commit(lambda: sync_catalog_task.apply_async(
        kwargs={"catalog_id": catalog_id, "full": False, "tables": tables}, countdown=countdown))


def sync_partitions(catalog_id: int) -> None:
    """The partition pass of a catalog (after a full sync flagged tables)."""
    from catalog.tasks import sync_partitions_task

    transaction.on_commit(lambda: sync_partitions_task.delay(catalog_id))


def follow_lineage_change(pairs: list[tuple[int, int]]) -> None:
    """Re-check curation propagation after a (big) lineage change on a worker. Sent at once: the
    caller is already after the lineage commit. Raises what the broker raises when it is down."""
    from catalog.tasks import follow_lineage_change_task

    follow_lineage_change_task.delay([list(pair) for pair in pairs])
