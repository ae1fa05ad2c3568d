"""Every lineage write: OpenLineage intake, view-SQL lineage, linking datasets to catalog tables.

Entry point for other features (the ingestion pipelines record source → raw
dataset edges through it)::

    ingest_event(event: dict, *, user=None, hub="") -> IngestResult

``event`` is one OpenLineage RunEvent, DatasetEvent or JobEvent as a decoded
JSON dict. Raises ``lineage.events.EventInvalid`` (``.field`` names the bad
field) when it breaks the spec; nothing is stored then. Re-sending the same
event (the same content) stores nothing and returns ``IngestResult(created=False, ...)``.
``hub`` ties the jobs it creates, and the non-catalog datasets they write, to a data
hub (the API passes the poster's hub; "" = visible to every role). Run semantics
(a run's datasets are the union of its events; a job's current edges are its latest
COMPLETE run's) live in ``lineage.runs``; who may write what in ``lineage.access``.

Every edge write appends a ``GraphChange`` row, which is how the in-memory
graphs of all processes learn of it (see ``lineage.queries``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.conf import settings
from django.db import DataError, IntegrityError, transaction
from django.db.models import Q

from catalog.models import Column, Table
from lineage import access, datasets, dispatch, naming, runs
from lineage.events import ColumnMapping, DatasetRef, EventInvalid, ParsedEvent, parse_event
from lineage.models import ColumnEdge, Dataset, Edge, Event, Job, Run, RunStateChange
from lineage.sql import ViewSqlError, referenced_tables, view_lineage
from identity.roles import Role

log = logging.getLogger(__name__)

VIEW_JOB_PREFIX = "view:"
DECLARED_JOB_PREFIX = "declared:"
FINAL_STATES = ("COMPLETE", "FAIL", "ABORT")


@dataclass(frozen=True)
class IngestResult:
    created: bool
    event_id: int
    edges: int  # edges (dataset → dataset through the job) this event describes
    queued: bool = False  # a big event: stored, applied by lineage.tasks.apply_event_task


def _dedupe_key(event: dict[str, Any]) -> str:
    """The event's content: the same event twice is one event, a different one sharing runId,
    eventType and eventTime is another (Marquez keeps both)."""
    return hashlib.sha256(json.dumps(event, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def event_size(parsed: ParsedEvent) -> int:
    """Datasets and column mappings an event names: what applying it costs."""
    refs = [*parsed.inputs, *parsed.outputs, *([parsed.dataset] if parsed.dataset else [])]
    return len(refs) + sum(len(ref.columns) for ref in refs)


def ingest_event(event: dict[str, Any], *, user: Any = None, hub: str = "", role: Role | None = None, defer_big: bool = False) -> IngestResult:
    """Store one OpenLineage event and the lineage it describes (see the module docstring).

    ``role`` (the API passes the caller's) is checked by ``lineage.access.check_write`` first:
    raises ``WriteRefused`` and stores nothing when it may not write this lineage. With
    ``defer_big``, an event naming more than ``LINEAGE_ASYNC_DATASETS`` datasets and column
    mappings is stored ``queued`` and applied by a task after commit (``IngestResult.queued``).
    """
    parsed = parse_event(event)
    with datasets.one_event():
        access.check_write(parsed, role)
        return _store(event, parsed, user=user, hub=hub, defer_big=defer_big)


def _store(event: dict[str, Any], parsed: ParsedEvent, *, user: Any, hub: str, defer_big: bool) -> IngestResult:
    key = _dedupe_key(event)
    queue = defer_big and event_size(parsed) > settings.LINEAGE_ASYNC_DATASETS
    with transaction.atomic():
        try:
            with transaction.atomic():
                stored = Event.objects.create(
                    kind=parsed.kind,
                    dedupe_key=key,
                    run_id=parsed.run_id,
                    event_type=parsed.event_type,
                    event_time=parsed.event_time,
                    payload=event,
                    received_by=getattr(user, "username", "") or "",
                    hub=hub,
                    status=Event.Status.QUEUED if queue else Event.Status.DONE,
                )
        except IntegrityError:
            existing = Event.objects.get(dedupe_key=key)
            return IngestResult(created=False, event_id=existing.pk, edges=0, queued=existing.status == Event.Status.QUEUED)
        except DataError:
            # e.g. a NUL character somewhere in a facet: PostgreSQL's JSON cannot hold it.
            raise EventInvalid("body", "holds text the database cannot store (NUL characters)") from None
        if queue:
            transaction.on_commit(partial(_enqueue, stored.pk))
            return IngestResult(created=True, event_id=stored.pk, edges=0, queued=True)
        return IngestResult(created=True, event_id=stored.pk, edges=_apply(parsed, hub))


def _enqueue(event_id: int) -> None:
    try:
        dispatch.apply_event(event_id)
    except Exception:  # noqa: BLE001 - broker down: apply it here rather than leave it queued
        log.warning("Lineage event %s could not be queued; applying it inline", event_id, exc_info=True)
        apply_queued_event(event_id)


def apply_queued_event(event_id: int) -> str:
    """Apply a stored ``queued`` event (claimed under a row lock, so two workers never both apply
    it; a re-run of a finished one is a no-op). Returns the event's status afterwards."""
    with transaction.atomic():
        stored = Event.objects.select_for_update().filter(pk=event_id).first()
        if stored is None or stored.status != Event.Status.QUEUED:
            return stored.status if stored is not None else "missing"
        try:
            with transaction.atomic():
                _apply(parse_event(stored.payload), stored.hub)
        except (EventInvalid, DataError, IntegrityError) as exc:
            stored.status, stored.error = Event.Status.FAILED, str(exc)[:2000]
        else:
            stored.status = Event.Status.DONE
        stored.save(update_fields=["status", "error"])
        return stored.status


def _apply(parsed: ParsedEvent, hub: str) -> int:
    """Write what an event describes; returns the number of edges it describes."""
    if parsed.kind == "dataset":
        assert parsed.dataset is not None
        if not parsed.dataset.columns:
            datasets.resolve_dataset(parsed.dataset, hub if naming.catalog_reference(parsed.dataset.namespace, parsed.dataset.name) is None else "")
            return 0
        # Column lineage declared on a dataset alone: a "declared:" job stands for the unknown process.
        ref = parsed.dataset
        job = _job(ref.namespace, f"{DECLARED_JOB_PREFIX}{ref.name}", {}, hub)
        return _record_edges(job, [], [ref], hub, Edge.Origin.OPENLINEAGE)
    job = _job(parsed.job_namespace, parsed.job_name, parsed.job_facets, hub)
    if parsed.kind == "run":
        run, created = _record_run_state(job, parsed)
        return runs.record_run_datasets(job, run, parsed, new_run=created)
    return _record_edges(job, parsed.inputs, parsed.outputs, hub, Edge.Origin.OPENLINEAGE)


# --- jobs and runs ---------------------------------------------------------------------------

def _job(namespace: str, name: str, facets: dict[str, Any], hub: str) -> Job:
    job, created = Job.objects.get_or_create(namespace=namespace, name=name, defaults={"hub": hub, "facets": facets})
    if not created and facets and facets != job.facets:
        job.facets = {**job.facets, **facets}
        job.save(update_fields=["facets"])
    return job


def _record_run_state(job: Job, parsed: ParsedEvent) -> tuple[Run, bool]:
    """The event's run with its state brought up to date, and whether this event created it."""
    at = parsed.event_time
    # A run's first event creates it in its state at once (no UPDATE after the INSERT).
    first: dict[str, Any] = {"job": job, "parent_run_id": parsed.parent_run_id, "facets": parsed.run_facets or {}}
    if parsed.event_type:
        first.update(state=parsed.event_type, state_at=at, started_at=at if parsed.event_type == "START" else None,
                     ended_at=at if parsed.event_type in FINAL_STATES else None)
    run, created = Run.objects.get_or_create(run_id=parsed.run_id, defaults=first)
    if not created and parsed.run_facets and {**run.facets, **parsed.run_facets} != run.facets:
        run.facets = {**run.facets, **parsed.run_facets}
        run.save(update_fields=["facets"])
    if not parsed.event_type:
        return run, created
    RunStateChange.objects.create(run=run, state=parsed.event_type, event_time=at)
    fields = []
    # Events may arrive out of order: the latest eventTime decides the state.
    if run.state_at is None or at >= run.state_at:
        run.state, run.state_at = parsed.event_type, at
        fields += ["state", "state_at"]
    if parsed.event_type == "START" and (run.started_at is None or at < run.started_at):
        run.started_at = at
        fields.append("started_at")
    if parsed.event_type in FINAL_STATES:
        run.ended_at = at
        fields.append("ended_at")
    if fields and not created:
        run.save(update_fields=fields)
    if job.last_run_at is None or at >= job.last_run_at:
        job.last_run_state, job.last_run_at = parsed.event_type, at
        job.save(update_fields=["last_run_state", "last_run_at"])
    return run, created


# --- edges ----------------------------------------------------------------------------------

def _write_edges(job: Job, pairs: dict[tuple[int, int], list[ColumnMapping | tuple[str, str, str]]], origin: str) -> set[tuple[int, int]]:
    """Upsert job's edges for (source id, target id) pairs with their column mappings; returns changed pairs."""
    changed: set[tuple[int, int]] = set()
    for (source_id, target_id), mappings in pairs.items():
        edge, created = Edge.objects.get_or_create(source_id=source_id, target_id=target_id, job=job, defaults={"origin": origin})
        if created:
            changed.add((source_id, target_id))
        columns = []
        for m in mappings:
            src, dst, how = (m.source_column, m.target_column, m.transformation) if isinstance(m, ColumnMapping) else m
            columns.append(ColumnEdge(edge=edge, source_column=src[:255], target_column=dst[:255], transformation=how[:255]))
        if columns:
            before = edge.columns.count()
            ColumnEdge.objects.bulk_create(columns, ignore_conflicts=True)
            if edge.columns.count() != before:
                changed.add((source_id, target_id))
    datasets.bump(changed)
    return changed


def _record_edges(job: Job, inputs: list[DatasetRef], outputs: list[DatasetRef], hub: str, origin: str) -> int:
    """Every input feeds every output; columnLineage adds column edges (and inputs the event omitted)."""
    input_datasets = [datasets.resolve_dataset(ref, hub) for ref in inputs]
    pairs: dict[tuple[int, int], list[Any]] = {}
    for ref in outputs:
        target = datasets.resolve_dataset(ref, hub)
        for source in input_datasets:
            pairs.setdefault((source.pk, target.pk), [])
        by_identity: dict[tuple[str, str], Dataset] = {}
        for mapping in ref.columns:
            identity = (mapping.source_namespace, mapping.source_name)
            if identity not in by_identity:
                by_identity[identity] = datasets.get_dataset(*identity, hub)
            pairs.setdefault((by_identity[identity].pk, target.pk), []).append(mapping)
    _write_edges(job, pairs, origin)
    return len(pairs)


# --- catalog follow-up: view SQL lineage and late links ---------------------------------------

def _glue_dataset(table: Table) -> Dataset:
    catalog = table.catalog
    namespace, name = naming.glue_identity(catalog.region, catalog.account_id, table.database_name, table.name)
    return datasets.get_dataset(namespace, name, "")


def derive_view_lineage(table_ids: Iterable[int]) -> int:
    """(Re)derive table and column edges of the given catalog views from their SQL; returns edges written.

    A view's edges belong to the job ``view:DB.VIEW`` in its Glue namespace and
    are replaced as a whole, so edited or dropped views lose stale edges.
    Unparseable SQL is logged and leaves the view without derived lineage.
    """
    written = 0
    for table in Table.objects.filter(pk__in=list(table_ids)).select_related("catalog"):
        namespace, _ = naming.glue_identity(table.catalog.region, table.catalog.account_id, table.database_name, table.name)
        job_name = f"{VIEW_JOB_PREFIX}{table.qualified_name}"
        with transaction.atomic():
            pairs: dict[tuple[int, int], list[Any]] = {}
            if table.deleted_at is None and table.is_view and table.view_sql.strip():
                try:
                    written += _view_pairs(table, pairs)
                except ViewSqlError as exc:
                    log.warning("No lineage for view %s: %s", table.qualified_name, exc)
            job = Job.objects.filter(namespace=namespace, name=job_name).first()
            if job is None and not pairs:
                continue
            job = job or _job(namespace, job_name, {"sql": {"query": table.view_sql[:10000]}}, "")
            stale = Edge.objects.filter(job=job).exclude(
                pk__in=[e.pk for e in Edge.objects.filter(job=job) if (e.source_id, e.target_id) in pairs]
            )
            gone = set(stale.values_list("source_id", "target_id"))
            stale.delete()
            ColumnEdge.objects.filter(edge__job=job).delete()  # columns are re-written below
            changed = _write_edges(job, pairs, Edge.Origin.VIEW_SQL)
            datasets.bump(gone | (set(pairs) - changed))
    return written


def _view_pairs(view: Table, pairs: dict[tuple[int, int], list[Any]]) -> int:
    schema: dict[str, dict[str, dict[str, str]]] = {}
    names = referenced_tables(view.view_sql, default_database=view.database_name)
    by_names = Q(pk__in=[])
    for database, name in names:
        by_names |= Q(database_name=database, name=name)
    sources = Table.objects.live().filter(by_names, catalog_id=view.catalog_id)
    for column in Column.objects.filter(table__in=sources).values("table__database_name", "table__name", "name", "type"):
        schema.setdefault(column["table__database_name"], {}).setdefault(column["table__name"], {})[column["name"]] = column["type"] or "string"
    parsed = view_lineage(view.view_sql, default_database=view.database_name, schema=schema)
    target = _glue_dataset(view)
    by_name: dict[tuple[str, str], Dataset] = {}
    for database, name in sorted(parsed.sources):
        table = sources.filter(database_name=database, name=name).first()
        if table is not None:
            by_name[(database, name)] = _glue_dataset(table)
        else:
            namespace, glue_name = naming.glue_identity(view.catalog.region, view.catalog.account_id, database, name)
            by_name[(database, name)] = datasets.get_dataset(namespace, glue_name, "")
        pairs.setdefault((by_name[(database, name)].pk, target.pk), [])
    for col in parsed.columns:
        source = by_name.get((col.database, col.table))
        if source is not None:
            pairs[(source.pk, target.pk)].append((col.column, col.target_column, col.transformation))
    return len(pairs)


def link_tables(table_ids: Iterable[int]) -> int:
    """Link unlinked datasets that name these catalog tables; unlink soft-deleted ones. Returns links changed."""
    changed = 0
    ids = list(table_ids)
    for dataset in Dataset.objects.filter(table_id__in=ids, table__deleted_at__isnull=False):
        dataset.table = None
        dataset.save(update_fields=["table", "updated_at"])
        datasets.touch([dataset.pk])
        changed += 1
    for table in Table.objects.live().filter(pk__in=ids):
        candidates = Q(name=f"table/{table.database_name}/{table.name}") | Q(name__iexact=f"awsdatacatalog.{table.database_name}.{table.name}") | Q(name__iexact=f"{table.database_name}.{table.name}")
        uri = naming.s3_uri(table.location)
        if uri.startswith("s3://") and "/" in uri[5:]:
            bucket, key = uri[5:].split("/", 1)
            candidates |= Q(namespace=f"s3://{bucket}", name__startswith=key)
        for dataset in Dataset.objects.filter(candidates, table__isnull=True, canonical__isnull=True):
            if datasets.table_for_identity(dataset.namespace, dataset.name) == table:
                with transaction.atomic():
                    datasets.link(dataset, table)
                changed += 1
    return changed


def refresh_for_tables(table_ids: list[int]) -> dict[str, int]:
    """Follow a catalog change: link datasets to new tables, re-derive lineage of changed views."""
    linked = link_tables(table_ids)
    edges = derive_view_lineage(table_ids)
    return {"tables": len(table_ids), "linked": linked, "view_edges": edges}


# The old private name, for callers that tell the graphs of an edge change they made themselves.
_bump = datasets.bump
