"""The partition pass: mirrors the partitions of tables the full sync flagged.

Glue lists partitions one table at a time, so reading them inside a full sync
would make every table of a large catalog wait for thousands of extra calls.
The full sync flags new and changed partitioned tables (``partitions_pending``)
and this pass reads them afterwards: in chunks of tables by id, several tables
at once, one transaction per chunk, ``partitions_added`` after each commit.

It is a run of its own (kind "partitions"), claimed apart from the table syncs:
it never blocks a full sync or an event refresh, and two passes never overlap.
A table that cannot be read stays flagged for the next pass; Glue unreachable
fails the run and keeps what earlier chunks stored.
"""

from __future__ import annotations

import logging
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalog.models import GlueCatalog, SyncRun, Table
from catalog.services import mirror
from catalog.services.runs import claim_run, finish_run, save_progress
from catalog.services.sync import PARTITION_THREADS, catalog_source, read_all, send_partitions_added
from catalog.sources.glue import ItemFailed, PartitionRecord, SourceUnavailable
from portal import leases

log = logging.getLogger(__name__)

CHUNK = 200


def pending_tables(catalog: GlueCatalog) -> Any:
    """Live tables of ``catalog`` whose partitions the pass still has to read."""
    return Table.objects.filter(catalog=catalog, partitions_pending=True, deleted_at__isnull=True)


def sync_partitions(catalog: GlueCatalog, *, client: Any = None, run: SyncRun | None = None) -> SyncRun:
    """Read the partitions of every flagged table of ``catalog``; returns the finished run.

    Raises SyncAlreadyRunning when another partition pass of the catalog is running.
    """
    run = run or claim_run(catalog, SyncRun.Kind.PARTITIONS)
    source = catalog_source(catalog, client)
    counts: Counter[str] = Counter({"tables_read": 0, "tables_failed": 0, "partitions_added": 0})
    warnings: list[str] = []
    after_id = 0
    # A lease like the table sync's: a killed worker's pass is taken over once it lapses (runs._abandoned).
    seconds = settings.WORKER_LEASE_SECONDS
    SyncRun.objects.filter(pk=run.pk).update(lease_expires_at=leases.expiry(seconds))
    try:
        with (leases.held(SyncRun, run.pk, seconds),
              ThreadPoolExecutor(max_workers=PARTITION_THREADS, thread_name_prefix="glue-partitions") as pool):
            while True:
                listed_at = timezone.now()
                chunk = list(pending_tables(catalog).filter(pk__gt=after_id).order_by("pk")
                             .values_list("pk", "database_name", "name")[:CHUNK])
                if not chunk:
                    break
                after_id = chunk[-1][0]
                read: dict[int, list[PartitionRecord]] = {}
                listed = read_all(pool, lambda table: list(source.partitions(table[1], table[2])), chunk)
                for (table_id, _, _), outcome in listed.items():
                    if isinstance(outcome, ItemFailed):
                        warnings.append(str(outcome))  # still flagged: the next pass tries again
                        counts["tables_failed"] += 1
                    else:
                        read[table_id] = outcome
                with transaction.atomic():
                    added = mirror.write_partitions(read)
                    # A table the sync changed meanwhile keeps its flag: its partitions may have changed too.
                    mirror.set_partitions_pending(list(read), False, unchanged_since=listed_at)
                    if added:
                        transaction.on_commit(partial(send_partitions_added, added))
                counts["tables_read"] += len(read)
                counts["partitions_added"] += sum(len(p) for p in added.values())
                save_progress(run, counts)
    except SourceUnavailable as exc:
        return finish_run(run, dict(counts), warnings, error=f"{exc}. Partitions read so far are kept.")
    except Exception as exc:  # a bug must still end the run, or the pass stays claimed
        log.exception("partition pass %s failed", run.pk)
        return finish_run(run, dict(counts), warnings, error=f"Unexpected error: {type(exc).__name__}: {exc}")
    return finish_run(run, dict(counts), warnings)
