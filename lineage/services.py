"""Every lineage write: OpenLineage intake, view-SQL lineage, linking datasets to catalog tables.

Entry point for other features (the ingestion pipelines record source → raw
dataset edges through it)::

    ingest_event(event: dict, *, user=None, hub="") -> IngestResult

``event`` is one OpenLineage RunEvent, DatasetEvent or JobEvent as a decoded
JSON dict. Raises ``lineage.events.EventInvalid`` (``.field`` names the bad
field) when it breaks the spec; nothing is stored then. Re-sending the same
event (same runId + eventType + eventTime; for dataset/job events the same
content) stores nothing and returns ``IngestResult(created=False, ...)``.
``hub`` ties the non-catalog datasets and jobs it creates to a data hub (the
API passes the poster's hub; "" = visible to every role).

Every edge write appends a ``GraphChange`` row, which is how the in-memory
graphs of all processes learn of it (see ``lineage.queries``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import DataError, IntegrityError, transaction
from django.db.models import F, Q

from catalog.models import Column, Table
from lineage import naming
from lineage.events import ColumnMapping, DatasetRef, EventInvalid, ParsedEvent, parse_event
from lineage.models import ColumnEdge, Dataset, Edge, Event, GraphChange, GraphVersion, Job, Run, RunStateChange
from lineage.sql import ViewSqlError, referenced_tables, view_lineage

log = logging.getLogger(__name__)

VIEW_JOB_PREFIX = "view:"
DECLARED_JOB_PREFIX = "declared:"
FINAL_STATES = ("COMPLETE", "FAIL", "ABORT")


@dataclass(frozen=True)
class IngestResult:
    created: bool
    event_id: int
    edges: int  # edges (dataset → dataset through the job) this event describes


def _dedupe_key(parsed: ParsedEvent, event: dict[str, Any]) -> str:
    if parsed.kind == "run":
        raw = f"run|{parsed.run_id}|{parsed.event_type}|{parsed.event_time.isoformat()}"
    else:
        raw = parsed.kind + "|" + json.dumps(event, sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


def ingest_event(event: dict[str, Any], *, user: Any = None, hub: str = "") -> IngestResult:
    """Store one OpenLineage event and the lineage it describes (see the module docstring)."""
    parsed = parse_event(event)
    key = _dedupe_key(parsed, event)
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
                )
        except IntegrityError:
            existing = Event.objects.get(dedupe_key=key)
            return IngestResult(created=False, event_id=existing.pk, edges=0)
        except DataError:
            # e.g. a NUL character somewhere in a facet: PostgreSQL's JSON cannot hold it.
            raise EventInvalid("body", "holds text the database cannot store (NUL characters)") from None

        if parsed.kind == "dataset":
            assert parsed.dataset is not None
            if not parsed.dataset.columns:
                _resolve_dataset(parsed.dataset, hub)
                return IngestResult(created=True, event_id=stored.pk, edges=0)
            # Column lineage declared on a dataset alone: a "declared:" job stands for the unknown process.
            ref = parsed.dataset
            job = _job(ref.namespace, f"{DECLARED_JOB_PREFIX}{ref.name}", {}, hub)
            edges = _record_edges(job, [], [ref], hub, Edge.Origin.OPENLINEAGE)
            return IngestResult(created=True, event_id=stored.pk, edges=edges)

        job = _job(parsed.job_namespace, parsed.job_name, parsed.job_facets, hub)
        if parsed.kind == "run":
            _record_run_state(job, parsed)
        edges = _record_edges(job, parsed.inputs, parsed.outputs, hub, Edge.Origin.OPENLINEAGE)
        return IngestResult(created=True, event_id=stored.pk, edges=edges)


# --- jobs and runs ---------------------------------------------------------------------------

def _job(namespace: str, name: str, facets: dict[str, Any], hub: str) -> Job:
    job, created = Job.objects.get_or_create(namespace=namespace, name=name, defaults={"hub": hub, "facets": facets})
    if not created and facets and facets != job.facets:
        job.facets = {**job.facets, **facets}
        job.save(update_fields=["facets"])
    return job


def _record_run_state(job: Job, parsed: ParsedEvent) -> None:
    run, _ = Run.objects.get_or_create(run_id=parsed.run_id, defaults={"job": job, "parent_run_id": parsed.parent_run_id})
    if not parsed.event_type:
        return
    at = parsed.event_time
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
    if fields:
        run.save(update_fields=fields)
    if job.last_run_at is None or at >= job.last_run_at:
        job.last_run_state, job.last_run_at = parsed.event_type, at
        job.save(update_fields=["last_run_state", "last_run_at"])


# --- datasets and catalog links -------------------------------------------------------------

def _catalog_table(reference: naming.CatalogReference | None) -> Table | None:
    """The live catalog table an identity names (by Glue name, or longest S3 location prefix)."""
    if reference is None:
        return None
    tables = Table.objects.live()
    if reference.database and reference.table:
        tables = tables.filter(database_name=reference.database, name=reference.table)
        if reference.region:
            tables = tables.filter(catalog__region=reference.region)
        if reference.account:
            tables = tables.filter(catalog__account_id=reference.account)
        return tables.order_by("id").first()
    if reference.s3_uri:
        uri = reference.s3_uri
        bucket_end = uri.find("/", len("s3://"))
        prefixes = [uri]
        while bucket_end != -1:
            prefixes.append(uri[:bucket_end])
            bucket_end = uri.find("/", bucket_end + 1)
        candidates = tables.filter(location__in=prefixes + [p + "/" for p in prefixes])
        matching = [t for t in candidates if naming.location_matches(t.location, uri)]
        return max(matching, key=lambda t: (len(naming.s3_uri(t.location)), -t.pk), default=None)
    return None


def _table_for_identity(namespace: str, name: str, symlinks: Iterable[tuple[str, str]] = ()) -> Table | None:
    table = _catalog_table(naming.catalog_reference(namespace, name))
    for link_ns, link_name in symlinks:
        if table is not None:
            break
        table = _catalog_table(naming.catalog_reference(*naming.normalize(link_ns, link_name)))
    return table


def _merge_into(alias: Dataset, canonical: Dataset) -> None:
    """Make ``alias`` an alias of ``canonical``: its edges move over (identities learnt late)."""
    edges = list(Edge.objects.filter(Q(source=alias) | Q(target=alias)).prefetch_related("columns"))
    for edge in edges:
        source = canonical if edge.source_id == alias.pk else edge.source
        target = canonical if edge.target_id == alias.pk else edge.target
        moved, _ = Edge.objects.get_or_create(source=source, target=target, job_id=edge.job_id, defaults={"origin": edge.origin})
        ColumnEdge.objects.bulk_create(
            [ColumnEdge(edge=moved, source_column=c.source_column, target_column=c.target_column, transformation=c.transformation) for c in edge.columns.all()],
            ignore_conflicts=True,
        )
        edge.delete()
    Dataset.objects.filter(canonical=alias).update(canonical=canonical)
    alias.canonical, alias.table = canonical, None
    alias.save(update_fields=["canonical", "table"])
    if edges:
        _reload()


def _link(dataset: Dataset, table: Table) -> Dataset:
    """Attach ``dataset`` to ``table``; returns the canonical dataset of the table."""
    canonical = Dataset.objects.filter(table=table).first()
    if canonical is None:
        dataset.table = table
        dataset.save(update_fields=["table", "updated_at"])
        _touch([dataset.pk])
        return dataset  # same node id: the graph is unchanged, only what the node describes
    if canonical.pk != dataset.pk:
        _merge_into(dataset, canonical)
    return canonical


def _resolve_dataset(ref: DatasetRef, hub: str) -> Dataset:
    """The canonical dataset for an identity, created and linked to the catalog as needed."""
    return _dataset(ref.namespace, ref.name, hub, ref.symlinks, ref.schema_fields)


def _dataset(namespace: str, name: str, hub: str, symlinks: Iterable[tuple[str, str]] = (), schema_fields: list[dict[str, Any]] | None = None) -> Dataset:
    namespace, name = naming.normalize(namespace, name)
    dataset, _ = Dataset.objects.get_or_create(namespace=namespace, name=name, defaults={"hub": hub})
    if schema_fields is not None and schema_fields != dataset.schema_fields:
        dataset.schema_fields = schema_fields
        dataset.save(update_fields=["schema_fields", "updated_at"])
    if dataset.canonical_id:
        return Dataset.objects.get(pk=dataset.canonical_id)
    if dataset.table_id:
        return dataset
    table = _table_for_identity(namespace, name, symlinks)
    return _link(dataset, table) if table is not None else dataset


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
    _bump(changed)
    return changed


def _next_version() -> int:
    """Bump the graph version; the row stays locked until this transaction commits."""
    if not GraphVersion.objects.filter(pk=1).update(version=F("version") + 1):
        GraphVersion.objects.get_or_create(pk=1)
        GraphVersion.objects.filter(pk=1).update(version=F("version") + 1)
    return GraphVersion.objects.values_list("version", flat=True).get(pk=1)


def _bump(pairs: Iterable[tuple[int, int]]) -> None:
    """Tell every process's in-memory graph that these (source, target) pairs changed."""
    pairs = list(pairs)
    if pairs:
        version = _next_version()
        GraphChange.objects.bulk_create([GraphChange(version=version, source_id=s, target_id=t) for s, t in pairs])


def _touch(dataset_ids: Iterable[int]) -> None:
    """Tell every process that these datasets' rows changed (their catalog link): the (d, d) pair
    re-reads nothing but a self-loop, and makes the readers drop what they cached of d."""
    _bump((pk, pk) for pk in dataset_ids)


def _reload() -> None:
    """Tell every process to reload its graph (node identities changed)."""
    GraphChange.objects.create(version=_next_version(), reload=True)


def _record_edges(job: Job, inputs: list[DatasetRef], outputs: list[DatasetRef], hub: str, origin: str) -> int:
    """Every input feeds every output; columnLineage adds column edges (and inputs the event omitted)."""
    input_datasets = [_resolve_dataset(ref, hub) for ref in inputs]
    pairs: dict[tuple[int, int], list[Any]] = {}
    for ref in outputs:
        target = _resolve_dataset(ref, hub)
        for source in input_datasets:
            pairs.setdefault((source.pk, target.pk), [])
        by_identity: dict[tuple[str, str], Dataset] = {}
        for mapping in ref.columns:
            identity = (mapping.source_namespace, mapping.source_name)
            if identity not in by_identity:
                by_identity[identity] = _dataset(*identity, hub)
            pairs.setdefault((by_identity[identity].pk, target.pk), []).append(mapping)
    _write_edges(job, pairs, origin)
    return len(pairs)


# --- catalog follow-up: view SQL lineage and late links ---------------------------------------

def _glue_dataset(table: Table) -> Dataset:
    catalog = table.catalog
    namespace, name = naming.glue_identity(catalog.region, catalog.account_id, table.database_name, table.name)
    return _dataset(namespace, name, "")


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
            _bump(gone | (set(pairs) - changed))
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
            by_name[(database, name)] = _dataset(namespace, glue_name, "")
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
        _touch([dataset.pk])
        changed += 1
    for table in Table.objects.live().filter(pk__in=ids):
        candidates = Q(name=f"table/{table.database_name}/{table.name}") | Q(name__iexact=f"awsdatacatalog.{table.database_name}.{table.name}") | Q(name__iexact=f"{table.database_name}.{table.name}")
        uri = naming.s3_uri(table.location)
        if uri.startswith("s3://") and "/" in uri[5:]:
            bucket, key = uri[5:].split("/", 1)
            candidates |= Q(namespace=f"s3://{bucket}", name__startswith=key)
        for dataset in Dataset.objects.filter(candidates, table__isnull=True, canonical__isnull=True):
            if _table_for_identity(dataset.namespace, dataset.name) == table:
                with transaction.atomic():
                    _link(dataset, table)
                changed += 1
    return changed


def refresh_for_tables(table_ids: list[int]) -> dict[str, int]:
    """Follow a catalog change: link datasets to new tables, re-derive lineage of changed views."""
    linked = link_tables(table_ids)
    edges = derive_view_lineage(table_ids)
    return {"tables": len(table_ids), "linked": linked, "view_edges": edges}
