"""Catalog sync: the full reconcile and the incremental refresh of named tables.

Both claim the catalog (one running sync per catalog), read Glue through
``catalog.sources.glue``, write through ``catalog.services.mirror`` one database
batch per transaction, and send ``tables_changed`` / ``partitions_added`` after
each commit. Glue unreachable fails the run and leaves the mirror as it was.

Partitions cost one Glue call per table. A refresh (a few named tables) reads
them inline; a full sync only flags new and changed partitioned tables, and the
partition pass (``catalog.services.partitions``) reads those after it, so the
tables of a large catalog are mirrored and searchable without waiting for
thousands of partition listings.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone

from catalog import dispatch, signals
from catalog.models import Database, GlueCatalog, SyncRun, Table
from catalog.services import guard, lf_tags, mirror
from catalog.services.runs import claim_run, finish_run, save_progress
from catalog.sources.glue import (
    DatabaseRecord,
    GlueSource,
    GlueSourceConfig,
    ItemFailed,
    PartitionRecord,
    SourceUnavailable,
    TablePage,
    TableRecord,
    TableVersionRecord,
)
from portal import leases

log = logging.getLogger(__name__)

SIGNAL_CHUNK = 2000
COALESCE_IDS = 1000  # a full sync signals changed tables in groups of at least this many (one bulk each)
PARTITION_THREADS = 4
COUNT_KEYS = (
    "databases_created", "databases_updated", "databases_unchanged", "databases_deleted", "databases_failed",
    "tables_created", "tables_updated", "tables_unchanged", "tables_deleted", "tables_failed",
    "partitions_added", "versions_recorded",
)


def ensure_catalogs() -> list[GlueCatalog]:
    """The GlueCatalog rows for settings.GLUE_CATALOGS (created when missing), in settings order."""
    return [
        GlueCatalog.objects.get_or_create(account_id=ref.account_id, region=ref.region)[0]
        for ref in settings.GLUE_CATALOGS
    ]


def catalog_source(catalog: GlueCatalog, client: Any = None) -> GlueSource:
    return GlueSource(GlueSourceConfig(account_id=catalog.account_id, region=catalog.region), client=client)


def _send_tables_changed(catalog_id: int, table_ids: list[int], refresh: bool = True) -> None:
    # No ids with refresh: only "make what was sent before searchable" (see catalog.signals).
    for start in range(0, max(len(table_ids), 1 if refresh else 0), SIGNAL_CHUNK):
        chunk = table_ids[start:start + SIGNAL_CHUNK]
        # send_robust: a failing subscriber (search, lineage) must not undo or abort the sync.
        for receiver, outcome in signals.tables_changed.send_robust(sender=Table, catalog_id=catalog_id,
                                                                     table_ids=chunk, refresh=refresh):
            if isinstance(outcome, Exception):
                log.error("tables_changed receiver %r failed: %s", receiver, outcome, exc_info=outcome)


def send_partitions_added(added: dict[int, list[dict[str, Any]]]) -> None:
    for table_id, partitions in added.items():
        for receiver, outcome in signals.partitions_added.send_robust(sender=Table, table_id=table_id,
                                                                       partitions=partitions):
            if isinstance(outcome, Exception):
                log.error("partitions_added receiver %r failed: %s", receiver, outcome, exc_info=outcome)


_DONE = object()
PREFETCH_PAGES = 2
READ_AHEAD_DATABASES = 2


@dataclass
class _Raised:
    error: BaseException


class Prefetched:
    """Iterates ``items`` in a background thread started at once, at most ``depth`` items ahead.

    Glue pages arrive while the previous page is written to the database, so a
    sync costs about the slower of the two instead of their sum; ``depth`` keeps
    memory flat (never more than a few pages held). Errors surface in the caller.
    ``close`` stops the thread (also when iteration never started).
    """

    def __init__(self, items: Iterable[Any], depth: int = PREFETCH_PAGES) -> None:
        self._items = items
        self._buffer: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._produce, name="glue-prefetch", daemon=True)
        self._thread.start()

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._buffer.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self) -> None:
        try:
            for item in self._items:
                if not self._put(item):
                    return
            self._put(_DONE)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            self._put(_Raised(exc))

    def __iter__(self) -> Iterator[Any]:
        try:
            while (item := self._buffer.get()) is not _DONE:
                if isinstance(item, _Raised):
                    raise item.error
                yield item
        finally:
            self.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def _walk(source: GlueSource, databases: Iterable[DatabaseRecord]) -> Iterator[tuple[str, DatabaseRecord, Any]]:
    """The catalog as a stream of steps: ("database", db), ("page", db, TablePage)…, then ("done"|"failed", db)."""
    for record in databases:
        yield "database", record, None
        try:
            for page in source.table_pages(record):
                yield "page", record, page
        except ItemFailed as exc:
            yield "failed", record, exc
            continue
        yield "done", record, None


def read_ahead(source: GlueSource, databases: Iterable[DatabaseRecord],
               readers: int | None = None) -> Iterator[tuple[str, DatabaseRecord, Any]]:
    """The steps of ``_walk`` in catalog order, with up to ``readers`` databases read from Glue at once.

    A single reader leaves Glue idle while it parses a page and the next request is
    not sent yet; with two, one request is always in flight. Each database goes
    through its own ``Prefetched`` buffer, so at most ``readers`` × PREFETCH_PAGES
    pages are held, and steps still come database by database, pages in order.
    """
    readers = readers or READ_AHEAD_DATABASES
    remaining = iter(databases)
    streams: deque[Prefetched] = deque()
    try:
        while True:
            while len(streams) < readers and (record := next(remaining, None)) is not None:
                streams.append(Prefetched(_walk(source, [record])))
            if not streams:
                return
            yield from streams[0]
            streams.popleft()
    finally:
        for stream in streams:
            stream.close()


class _SignalDispatcher:
    """Delivers after-commit signals (search indexing, lineage) on one background thread, in commit order.

    During a full sync, indexing batch N then overlaps with reading and writing
    batch N+1. At most ``depth`` batches wait, so memory stays flat; ``close``
    delivers what is left before the run finishes. After ``close`` (or on a
    callback run later, as tests do) delivery is direct.
    """

    def __init__(self, depth: int = 2) -> None:
        self._jobs: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._open = True
        self._thread = threading.Thread(target=self._work, name="sync-signals", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        try:
            while (job := self._jobs.get()) is not None:
                try:
                    job()
                except Exception:  # a receiver's failure must not stop later deliveries
                    log.exception("after-commit signal delivery failed")
        finally:
            connections.close_all()  # this thread's own database connections

    @property
    def closed(self) -> bool:
        return not self._open

    def submit(self, job: Any) -> None:
        if self._open:
            self._jobs.put(job)
        else:
            job()

    def close(self) -> None:
        if self._open:
            self._open = False
            self._jobs.put(None)
            self._thread.join()


@dataclass
class _DatabaseState:
    row: Database
    known: dict[str, mirror.Known]
    seen: set[str] = field(default_factory=set)


class _Sync:
    """State of one run: the source, counts, warnings, and the per-database steps."""

    def __init__(self, catalog: GlueCatalog, run: SyncRun, source: GlueSource, partitions: str,
                 read_partitions: bool) -> None:
        self.catalog = catalog
        self.run = run
        self.source = source
        self.partitions = partitions  # "all" | "changed" | "none": which tables' partitions a batch covers
        # True: a batch reads those partitions itself; False: it flags them for the partition pass.
        self.read_partitions = read_partitions
        self.counts: Counter[str] = Counter({key: 0 for key in COUNT_KEYS})
        self.warnings: list[str] = []
        # Full syncs deliver signals in the background (see _SignalDispatcher); refreshes deliver at once.
        self.dispatcher: _SignalDispatcher | None = None
        self._gathered: list[int] = []  # committed table ids a full sync has not signalled yet
        self._unrefreshed = False  # groups went out without a refresh: the last one must ask for it
        # A full sync holds its soft-deletes until the walk is complete (see catalog.services.guard).
        self.hold_deletes = False
        self.held_tables: list[int] = []
        self.held_databases: list[Database] = []
        self.held = ""  # the guard's message when it stopped the deletions

    def collect_source_warnings(self) -> None:
        # The prefetch thread may append meanwhile: pop one by one so none is lost.
        while self.source.warnings:
            self.warnings.append(self.source.warnings.pop(0))

    def deliver(self, job: Any) -> None:
        if self.dispatcher is not None:
            self.dispatcher.submit(job)
        else:
            job()

    def signal_after_commit(self, table_ids: list[int], added: dict[int, list[dict[str, Any]]] | None = None) -> None:
        if table_ids:
            transaction.on_commit(partial(self._committed, list(table_ids)))
        if added:
            transaction.on_commit(partial(self.deliver, partial(send_partitions_added, added)))

    def _committed(self, table_ids: list[int]) -> None:
        """A refresh of named tables (events, ingestion) signals at once and is searchable at once.

        A full sync gathers committed ids into signals of at least COALESCE_IDS tables:
        the index takes them as a few large bulk requests (many small ones each leave a
        small segment to merge), and visibility is left to the index's refresh interval.
        """
        if self.dispatcher is None:
            _send_tables_changed(self.catalog.pk, table_ids)
            return
        self._gathered.extend(table_ids)
        if self.dispatcher.closed:  # a commit callback run after the sync ended (tests run them late)
            self.flush(last=True)
        elif len(self._gathered) >= COALESCE_IDS:
            self.flush()

    def flush(self, last: bool = False) -> None:
        """Hand the gathered ids of a full sync to the dispatcher; the ``last`` group asks for a refresh."""
        if self._gathered or (last and self._unrefreshed):
            self.deliver(partial(_send_tables_changed, self.catalog.pk, self._gathered, last))
            self._unrefreshed = not last
            self._gathered = []

    # --- Glue reads done before a batch's transaction (no transaction held open on network calls)

    def _partitions_to_read(self, records: list[TableRecord], known: dict[str, mirror.Known]) -> list[TableRecord]:
        if self.partitions == "none":
            return []
        partitioned = [r for r in records if any(c.is_partition_key for c in r.columns)]
        if self.partitions == "all":
            return partitioned
        return [r for r in partitioned
                if r.name not in known or known[r.name].deleted or known[r.name].fingerprint != r.fingerprint]

    def _read_partitions(self, record: TableRecord) -> tuple[str, list[PartitionRecord] | None]:
        try:
            return record.name, list(self.source.partitions(record.database_name, record.name))
        except ItemFailed as exc:
            self.source.warnings.append(str(exc))
            return record.name, None

    def _gap_versions(self, database: DatabaseRecord, records: list[TableRecord],
                      known: dict[str, mirror.Known]) -> dict[str, list[TableVersionRecord]]:
        """Glue versions skipped since the mirror last saw a table (history "as needed")."""
        gaps: dict[str, list[TableVersionRecord]] = {}
        for record in records:
            seen = known.get(record.name)
            old, new = (seen.glue_version_id if seen else ""), record.glue_version_id
            if not (old.isdigit() and new.isdigit() and int(new) > int(old) + 1):
                continue
            try:
                versions = self.source.table_versions(database, record.name)
            except ItemFailed as exc:
                self.warnings.append(str(exc))
                continue
            gaps[record.name] = [v for v in versions if v.version_id.isdigit() and int(old) < int(v.version_id)
                                 < int(new)]
        return gaps

    def apply(self, database: DatabaseRecord, row: Database, records: list[TableRecord],
              known: dict[str, mirror.Known], pool: ThreadPoolExecutor) -> None:
        """Reconcile one batch of tables (one transaction), then signal what changed."""
        for record in records:
            self.warnings.extend(record.warnings)
        covered = {r.name for r in self._partitions_to_read(records, known)}
        # Partitions are read on the pool while this batch's tables are written.
        reads: list[Future[tuple[str, list[PartitionRecord] | None]]] = [
            pool.submit(self._read_partitions, r) for r in records if r.name in covered] if self.read_partitions else []
        pending = () if self.read_partitions else covered
        gaps = self._gap_versions(database, records, known)
        with transaction.atomic():
            result = mirror.write_tables(self.catalog, row, records, known, gaps, partitions_pending=pending)
            if pending and self.partitions == "all":  # unchanged tables are not written: flag them too
                written = set(result.changed_ids)
                mirror.set_partitions_pending([known[n].id for n in pending if known[n].id not in written], True)
            partitions = dict(f.result() for f in reads)
            read = {known[name].id: parts for name, parts in partitions.items() if parts is not None}
            # Read now: nothing left for the pass. Unreadable: the pass tries again.
            mirror.set_partitions_pending(list(read), False)
            mirror.set_partitions_pending([known[name].id for name, parts in partitions.items() if parts is None], True)
            added = mirror.write_partitions(read)
            self.signal_after_commit(result.changed_ids, added)
        self.counts["tables_created"] += len(result.created)
        self.counts["tables_updated"] += len(result.updated)
        self.counts["tables_unchanged"] += result.unchanged
        self.counts["versions_recorded"] += result.versions
        self.counts["partitions_added"] += sum(len(p) for p in added.values())

    def delete_tables(self, table_ids: list[int]) -> None:
        if self.hold_deletes:
            self.held_tables.extend(table_ids)
            return
        with transaction.atomic():
            deleted = mirror.soft_delete_tables(table_ids)
            self.signal_after_commit(table_ids)
        self.counts["tables_deleted"] += deleted

    def upsert_database(self, record: DatabaseRecord, known_dbs: dict[str, Database]) -> Database:
        row, state = mirror.upsert_database(self.catalog, record, known_dbs)
        self.counts[f"databases_{state}"] += 1
        return row

    def delete_database(self, row: Database) -> None:
        if self.hold_deletes:
            self.held_databases.append(row)
            return
        with transaction.atomic():
            ids = mirror.soft_delete_database(row)
            self.signal_after_commit(ids)
        self.counts["databases_deleted"] += 1
        self.counts["tables_deleted"] += len(ids)

    def settle_deletes(self, live: int, allowed: bool) -> None:
        """Apply the held soft-deletes, or keep them back (``held``) when the guard asks for a confirmation.

        ``live``: the catalog's live tables before the sync; ``allowed``: an admin confirmed,
        or the catalog allows mass deletion.
        """
        tables, databases = self.held_tables, self.held_databases
        self.hold_deletes, self.held_tables, self.held_databases = False, [], []
        deleting = len(tables) + Table.objects.filter(database__in=databases, deleted_at__isnull=True).count()
        if not allowed and guard.needs_confirmation(live, deleting, share=guard.max_delete_share(),
                                                    min_deletes=guard.min_guarded_deletes()):
            self.held = guard.held_message(live, deleting, len(databases))
            self.counts["tables_to_delete"], self.counts["databases_to_delete"] = deleting, len(databases)
            return
        if tables:
            self.delete_tables(tables)
        for row in databases:
            self.delete_database(row)

    def consume(self, steps: Iterable[tuple[str, DatabaseRecord, Any]], known_dbs: dict[str, Database],
                pool: ThreadPoolExecutor) -> set[str]:
        """Reconcile the databases of a ``_walk`` stream; tables gone from Glue are soft-deleted.

        Returns the names of the databases seen.
        """
        seen_databases: set[str] = set()
        state: _DatabaseState | None = None
        for step, record, payload in steps:
            if step == "database":
                seen_databases.add(record.name)
                state = _DatabaseState(self.upsert_database(record, known_dbs),
                                       mirror.known_tables(self.catalog, record.name))
            elif step == "page":
                assert state is not None
                page: TablePage = payload
                state.seen.update(r.name for r in page.records)
                # A table that could not be read keeps its last good state: it counts as seen.
                state.seen.update(page.failed)
                self.counts["tables_failed"] += len(page.failed)
                self.apply(record, state.row, page.records, state.known, pool)
            elif step == "failed":
                # The listing is incomplete: deleting "unseen" tables would be wrong.
                self.warnings.append(str(payload))
                self.counts["databases_failed"] += 1
            elif step == "done":
                assert state is not None
                gone = [k.id for name, k in state.known.items() if name not in state.seen and not k.deleted]
                if gone:
                    self.delete_tables(gone)
                self.collect_source_warnings()
                save_progress(self.run, self.counts)
        return seen_databases

    def refresh_database_tables(self, record: DatabaseRecord, known_dbs: dict[str, Database],
                                tables: dict[str, TableRecord | None | ItemFailed], pool: ThreadPoolExecutor) -> None:
        """Mirror the named tables of one database as read from Glue (None: gone, so soft-deleted)."""
        row = self.upsert_database(record, known_dbs)
        known = mirror.known_tables(self.catalog, record.name, tables)
        records: list[TableRecord] = []
        gone: list[int] = []
        for name, table in sorted(tables.items()):
            if isinstance(table, ItemFailed):
                self.warnings.append(str(table))
                self.counts["tables_failed"] += 1
            elif table is not None:
                records.append(table)
            elif name in known and not known[name].deleted:
                gone.append(known[name].id)
        self.apply(record, row, records, known, pool)
        if gone:
            self.delete_tables(gone)


def read_all(pool: ThreadPoolExecutor, read: Any, keys: Iterable[Any]) -> dict[Any, Any]:
    """``read(key)`` for every key, a few at a time; an ItemFailed becomes the key's value."""
    def attempt(key: Any) -> Any:
        try:
            return read(key)
        except ItemFailed as exc:
            return exc

    keys = list(keys)
    return dict(zip(keys, pool.map(attempt, keys)))


def _partitions_policy(kind: str) -> str:
    if kind == SyncRun.Kind.FULL:
        return settings.CATALOG_SYNC_PARTITIONS
    return "all"  # a refresh names few tables: read their partitions every time


def _check_index(catalog: GlueCatalog, kind: str) -> None:
    """The search index checked against the database after a full sync (and after any sync of a
    catalog whose index missed changes), repaired where it differs. OpenSearch down leaves the
    catalog marked stale: beat repairs it once OpenSearch answers (catalog.search.repair)."""
    from catalog.search import repair

    if kind != SyncRun.Kind.FULL and not GlueCatalog.objects.filter(pk=catalog.pk, index_stale=True).exists():
        return
    try:
        repair.repair()
    except Exception as exc:  # the sync's outcome stands; the index is repaired later
        log.warning("search index of %s not checked: %s", catalog, exc)
        GlueCatalog.objects.filter(pk=catalog.pk).update(index_stale=True)


def _finish(sync: _Sync, error: str = "") -> SyncRun:
    sync.collect_source_warnings()
    run = finish_run(sync.run, dict(sync.counts), sync.warnings, error, held=sync.held)
    if not error:
        _check_index(sync.catalog, run.kind)
    return run


def _run(sync: _Sync, body: Any) -> SyncRun:
    """Run ``body(pool)`` under the run's lease and record its outcome; Glue unreachable or any bug
    ends as a failed run."""
    seconds = settings.WORKER_LEASE_SECONDS
    SyncRun.objects.filter(pk=sync.run.pk).update(lease_expires_at=leases.expiry(seconds))
    try:
        try:
            with (leases.held(SyncRun, sync.run.pk, seconds),
                  ThreadPoolExecutor(max_workers=PARTITION_THREADS, thread_name_prefix="glue-partitions") as pool):
                body(pool)
        finally:
            if sync.dispatcher is not None:
                sync.flush(last=True)
                sync.dispatcher.close()  # committed batches are indexed before the run is finished
    except SourceUnavailable as exc:
        return _finish(sync, error=f"{exc}. The mirror keeps its last good state.")
    except Exception as exc:  # a bug must still end the run, or the catalog stays claimed
        log.exception("sync run %s failed", sync.run.pk)
        return _finish(sync, error=f"Unexpected error: {type(exc).__name__}: {exc}")
    return _finish(sync)


def request_sync(catalog: GlueCatalog, *, allow_deletes: bool = False, confirmed_run: int | None = None) -> SyncRun:
    """Claim a full sync now and run it on a worker; returns the claimed (running) run.

    ``allow_deletes``: an admin confirmed the deletions that run ``confirmed_run`` held back.

    Raises SyncAlreadyRunning at once when another sync of the catalog is running,
    so the caller can answer right away (409) instead of queueing a duplicate.
    """
    run = claim_run(catalog, SyncRun.Kind.FULL)
    if confirmed_run is not None:
        run.warnings = [f"The deletions held back by run #{confirmed_run} were confirmed by an admin."]
        SyncRun.objects.filter(pk=run.pk).update(warnings=run.warnings)
    dispatch.run_full_sync(catalog.pk, run.pk, allow_deletes=allow_deletes)
    return run


def _read_lf_tags(sync: _Sync) -> None:
    """The catalog's LF-tags, read in batches after the walk; Lake Formation failing is a warning."""
    try:
        snapshot = lf_tags.read_snapshot(sync.catalog)
    except (ClientError, BotoCoreError) as exc:
        sync.warnings.append(f"LF-tags not read: {exc}")
        return
    with transaction.atomic():
        changed = lf_tags.apply(sync.catalog, snapshot)
        sync.signal_after_commit(changed)


def full_sync(catalog: GlueCatalog, *, client: Any = None, run: SyncRun | None = None,
              allow_deletes: bool = False) -> SyncRun:
    """Reconcile the whole catalog with Glue; returns the finished run.

    Raises SyncAlreadyRunning when another sync of the catalog is running
    (``run``: a run already claimed by ``request_sync``). Unchanged tables cost
    no writes; tables and databases gone from Glue are soft-deleted; one
    unreadable database or table becomes a warning. Partitions of new and
    changed tables are left to ``catalog.services.partitions.sync_partitions``.
    Deleting more than CATALOG_SYNC_MAX_DELETE_SHARE of the tables ends the run as
    ``needs_confirm`` with nothing deleted, unless ``allow_deletes`` (an admin confirmed)
    or the catalog's ``allow_mass_delete``.
    """
    run = run or claim_run(catalog, SyncRun.Kind.FULL)

    sync = _Sync(catalog, run, catalog_source(catalog, client), _partitions_policy(SyncRun.Kind.FULL),
                 read_partitions=False)
    sync.warnings.extend(run.warnings or [])  # e.g. "deletions confirmed", noted when the run was claimed
    sync.dispatcher = _SignalDispatcher()
    sync.hold_deletes = True

    def body(pool: ThreadPoolExecutor) -> None:
        known_dbs = {d.name: d for d in Database.objects.filter(catalog=catalog)}
        live = Table.objects.filter(catalog=catalog, deleted_at__isnull=True).count()
        seen = sync.consume(read_ahead(sync.source, sync.source.databases()), known_dbs, pool)
        # Reached only when the whole database listing succeeded.
        for name, row in known_dbs.items():
            if name not in seen and row.deleted_at is None:
                sync.delete_database(row)
        sync.settle_deletes(live, allow_deletes or catalog.allow_mass_delete)
        if settings.CATALOG_SYNC_LF_TAGS:
            _read_lf_tags(sync)
        GlueCatalog.objects.filter(pk=catalog.pk).update(last_full_sync_at=timezone.now())

    return _run(sync, body)


def refresh_tables(catalog: GlueCatalog, tables: Iterable[tuple[str, str]], *, databases: Iterable[str] = (),
                   kind: str = SyncRun.Kind.INCREMENTAL, client: Any = None) -> SyncRun:
    """Re-read just the named ``(database, table)`` pairs (and whole ``databases``); returns the finished run.

    A table or database Glue no longer has is soft-deleted. Raises SyncAlreadyRunning
    when another sync of the catalog is running.
    """
    by_database: dict[str, set[str]] = defaultdict(set)
    for database_name, table_name in tables:
        by_database[database_name].add(table_name)
    whole = sorted(set(databases))
    run = claim_run(catalog, kind)
    sync = _Sync(catalog, run, catalog_source(catalog, client), _partitions_policy(kind), read_partitions=True)

    def body(pool: ThreadPoolExecutor) -> None:
        names = sorted(set(by_database) | set(whole))
        known_dbs = {d.name: d for d in Database.objects.filter(catalog=catalog, name__in=names)}
        # A burst of events spans many databases: every Glue read up front, a few at a time.
        found = read_all(pool, sync.source.get_database, names)
        tables = read_all(pool, lambda pair: sync.source.get_table(found[pair[0]], pair[1]), (
            (name, table) for name, record in found.items() if isinstance(record, DatabaseRecord)
            and name not in whole for table in sorted(by_database[name])))
        for database_name in names:
            record = found[database_name]
            if isinstance(record, ItemFailed):
                sync.warnings.append(str(record))
                sync.counts["databases_failed"] += 1
                continue
            if record is None:
                row = known_dbs.get(database_name)
                if row is not None and row.deleted_at is None:
                    sync.delete_database(row)
                continue
            if database_name in whole:
                sync.consume(_walk(sync.source, [record]), known_dbs, pool)
            else:
                read = {name: tables[(database_name, name)] for name in by_database[database_name]}
                sync.refresh_database_tables(record, known_dbs, read, pool)
            save_progress(run, sync.counts)

    return _run(sync, body)
