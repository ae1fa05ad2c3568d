"""Run lineage as Marquez keeps it (called by ``lineage.services.ingest_event`` only).

- A run's inputs and outputs are the union over all of its events (START, RUNNING, COMPLETE…),
  stored as ``RunDataset`` rows; a dataset's facets merge by name (a later event's facet replaces
  the one of the same name), its column lineage accumulates.
- A job's edges in the current graph are those of its *current run*: the latest COMPLETE one (the
  job's current version), or while it has none the latest run that did not FAIL or ABORT (so a
  running job shows). A FAIL or ABORT run changes nothing current. Edges the current run no
  longer has leave the graph; the runs keep saying what each read and wrote (``history``).
- A dataset outside the catalog belongs to the hub of the job that writes it (its producer);
  readers never claim it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db.models import Q

from lineage import datasets
from lineage.events import DatasetRef, ParsedEvent
from lineage.models import ColumnEdge, Dataset, Edge, Job, Run, RunDataset

FAILED_STATES = ("FAIL", "ABORT")
Column = tuple[str, str, str]


def record_run_datasets(job: Job, run: Run, parsed: ParsedEvent, *, new_run: bool = False) -> int:
    """Add this event's datasets (and column lineage) to its run, then bring the job's current
    edges up to date (``new_run``: this event created the run, which has no datasets yet).
    Returns the number of (source, target) pairs the event describes."""
    refs: list[DatasetRef] = [*parsed.inputs, *parsed.outputs]
    sources = [DatasetRef(m.source_namespace, m.source_name) for ref in parsed.outputs for m in ref.columns]
    # Readers never claim a dataset: inputs and column sources are created unowned, outputs by the job's hub.
    read = datasets.resolve_many([*parsed.inputs, *sources], "")
    written = datasets.resolve_many(parsed.outputs, job.hub)
    inputs, column_sources = read[: len(parsed.inputs)], read[len(parsed.inputs):]
    _claim(written, job.hub)

    wanted: dict[tuple[int, str], tuple[dict[str, Any], list[list[str | int]]]] = {}
    for ref, dataset in zip(parsed.inputs, inputs):
        facets, _ = wanted.setdefault((dataset.pk, RunDataset.Direction.INPUT), ({}, []))
        facets.update(ref.facets)
    source_iter = iter(column_sources)
    pairs: set[tuple[int, int]] = {(i.pk, o.pk) for i in inputs for o in written}
    for ref, dataset in zip(parsed.outputs, written):
        facets, columns = wanted.setdefault((dataset.pk, RunDataset.Direction.OUTPUT), ({}, []))
        facets.update(ref.facets)
        for mapping in ref.columns:
            source = next(source_iter)
            columns.append([source.pk, mapping.source_column[:255], mapping.target_column[:255], mapping.transformation[:255]])
            pairs.add((source.pk, dataset.pk))
    del refs

    existing = {} if new_run else {(r.dataset_id, r.direction): r for r in RunDataset.objects.filter(run=run)}
    new, changed = [], []
    for (dataset_id, direction), (facets, columns) in wanted.items():
        row = existing.get((dataset_id, direction))
        if row is None:
            new.append(RunDataset(run=run, dataset_id=dataset_id, direction=direction, facets=_slim(facets), columns=_unique(columns)))
            continue
        merged_facets = {**row.facets, **_slim(facets)}
        merged_columns = _unique(row.columns + columns)
        if merged_facets != row.facets or merged_columns != row.columns:
            row.facets, row.columns = merged_facets, merged_columns
            changed.append(row)
    RunDataset.objects.bulk_create(new, batch_size=datasets.CHUNK, ignore_conflicts=True)
    if changed:
        RunDataset.objects.bulk_update(changed, ["facets", "columns"], batch_size=datasets.CHUNK)
    deferred = _deferred.get()
    if deferred is not None and job.pk in deferred:
        pass  # refreshed once at the end of the batch (see refresh_once)
    elif _may_change_current(job, run, parsed.event_type):
        if deferred is not None:
            deferred[job.pk] = job
        else:
            refresh_current(job)
    return len(pairs)


# Jobs whose current edges wait for the end of a batch of events (see ``refresh_once``).
_deferred: ContextVar[dict[int, Job] | None] = ContextVar("lineage_jobs_to_refresh", default=None)


@contextmanager
def refresh_once() -> Iterator[None]:
    """Within this block, a job whose current edges may change is refreshed once, when the block
    ends, instead of after each of its events. ``refresh_current`` derives the edges from the
    runs' stored state alone, so once after many events gives what once after each would: a
    batch holding a run's START and COMPLETE, or a later COMPLETE replacing the job's edges,
    ends as those events applied one by one. An exception skips the refresh (its transaction
    is rolled back anyway)."""
    jobs: dict[int, Job] = {}
    token = _deferred.set(jobs)
    try:
        yield
    finally:
        _deferred.reset(token)
    for job in jobs.values():
        refresh_current(job)


def _may_change_current(job: Job, run: Run, event_type: str | None) -> bool:
    """Whether this event of ``run`` can change the job's current run or its datasets. It cannot
    when another run is current and COMPLETE and this event is not a COMPLETE: only a COMPLETE
    run replaces a COMPLETE one, and only the current run's datasets are the job's edges. (Most
    events are a new run's START: this spares them re-reading the job's edges.)"""
    if event_type == "COMPLETE" or job.current_run_id is None or job.current_run_id == run.pk:
        return True
    return not Run.objects.filter(pk=job.current_run_id, state="COMPLETE").exists()


def _slim(facets: dict[str, Any]) -> dict[str, Any]:
    """Dataset facets kept per run: column lineage is stored as ``columns`` already."""
    return {k: v for k, v in facets.items() if k != "columnLineage"}


def _unique(columns: list[list[Any]]) -> list[list[Any]]:
    return [list(c) for c in dict.fromkeys(tuple(c) for c in columns)]


def _claim(written: list[Dataset], hub: str) -> None:
    """The producer's hub owns an unowned dataset outside the catalog."""
    if not hub:
        return
    ids = [d.pk for d in written if not d.table_id and not d.hub]
    if ids:
        Dataset.objects.filter(pk__in=ids, hub="").update(hub=hub)
        datasets.touch(ids)  # readers cache a dataset's hub with its row
        for d in written:
            if d.pk in ids:
                d.hub = hub


def current_run(job: Job) -> Run | None:
    """The run whose datasets are the job's current edges (see the module docstring)."""
    runs = Run.objects.filter(job=job)
    done = runs.filter(state="COMPLETE").order_by("-ended_at", "-state_at", "-id").first()
    if done is not None:
        return done
    return runs.exclude(state__in=FAILED_STATES).order_by("-state_at", "-id").first()


def run_pairs(run_ids: list[int]) -> dict[int, dict[tuple[int, int], list[Column]]]:
    """Per run: (source, target) canonical dataset ids → column mappings, from what the runs read and wrote."""
    rows = list(RunDataset.objects.filter(run_id__in=run_ids).values_list("run_id", "dataset_id", "direction", "columns"))
    ids = {r[1] for r in rows} | {c[0] for r in rows for c in r[3]}
    canonical = dict(Dataset.objects.filter(pk__in=ids, canonical__isnull=False).values_list("id", "canonical_id")) if ids else {}
    by_run: dict[int, dict[str, list[Any]]] = defaultdict(lambda: {"in": [], "out": []})
    for run_id, dataset_id, direction, columns in rows:
        by_run[run_id][direction].append((canonical.get(dataset_id, dataset_id), columns))
    result: dict[int, dict[tuple[int, int], list[Column]]] = {}
    for run_id, io in by_run.items():
        pairs: dict[tuple[int, int], list[Column]] = {}
        for target, columns in io["out"]:
            for source, _ in io["in"]:
                pairs.setdefault((source, target), [])
            for source, a, b, how in columns:
                pairs.setdefault((canonical.get(source, source), target), []).append((a, b, how))
        result[run_id] = pairs
    return result


def refresh_current(job: Job) -> None:
    """Make the job's OpenLineage edges those of its current run (a job never run keeps its
    declared edges: JobEvents). Only the differences are written and logged for the graphs."""
    run = current_run(job)
    if run is None and not Run.objects.filter(job=job).exists():
        return
    pairs = run_pairs([run.pk]).get(run.pk, {}) if run is not None else {}
    replace_edges(job, pairs)
    if job.current_run_id != (run.pk if run else None):
        job.current_run = run
        job.save(update_fields=["current_run", "updated_at"])


def replace_edges(job: Job, pairs: dict[tuple[int, int], list[Column]]) -> None:
    """Make ``job``'s OpenLineage edges exactly ``pairs`` (with their column mappings), in bulk."""
    existing = {(s, t): pk for pk, s, t in Edge.objects.filter(job=job, origin=Edge.Origin.OPENLINEAGE).values_list("id", "source_id", "target_id")}
    changed: set[tuple[int, int]] = set()
    gone = [pk for pair, pk in existing.items() if pair not in pairs]
    if gone:
        Edge.objects.filter(pk__in=gone).delete()
        changed |= {pair for pair, pk in existing.items() if pair not in pairs}
    new = [Edge(source_id=s, target_id=t, job=job, origin=Edge.Origin.OPENLINEAGE) for (s, t) in pairs if (s, t) not in existing]
    if new:
        Edge.objects.bulk_create(new, batch_size=datasets.CHUNK, ignore_conflicts=True)
        changed |= {(e.source_id, e.target_id) for e in new}
    edge_ids = existing if not (gone or new) else {
        (s, t): pk for pk, s, t in Edge.objects.filter(job=job, origin=Edge.Origin.OPENLINEAGE).values_list("id", "source_id", "target_id")
    }
    have: dict[int, set[Column]] = defaultdict(set)
    for edge_id, a, b, how in ColumnEdge.objects.filter(edge__job=job, edge__origin=Edge.Origin.OPENLINEAGE).values_list(
        "edge_id", "source_column", "target_column", "transformation"
    ):
        have[edge_id].add((a, b, how))
    drop = Q(pk__in=[])
    add = []
    for pair, edge_id in edge_ids.items():
        # One mapping per (source column, target column): the unique key of ColumnEdge.
        want = {(a, b): how for a, b, how in pairs.get(pair, [])}
        wanted = {(a, b, how) for (a, b), how in want.items()}
        if wanted == have.get(edge_id, set()):
            continue
        changed.add(pair)
        stale = have.get(edge_id, set()) - wanted
        for a, b, _ in stale:
            drop |= Q(edge_id=edge_id, source_column=a, target_column=b)
        keep = {(a, b) for a, b, _ in have.get(edge_id, set()) - stale}
        add += [ColumnEdge(edge_id=edge_id, source_column=a, target_column=b, transformation=how) for a, b, how in wanted if (a, b) not in keep]
    if drop.children:
        ColumnEdge.objects.filter(drop).delete()
    ColumnEdge.objects.bulk_create(add, batch_size=datasets.CHUNK, ignore_conflicts=True)
    datasets.bump(changed)


def history(job_id: int, *, at: Any = None, limit: int = 100) -> list[dict[str, Any]]:
    """The job's runs, newest first, each with the dataset ids it read and wrote (``at``: runs begun by then)."""
    runs = Run.objects.filter(job_id=job_id).order_by("-state_at", "-id")
    if at is not None:
        runs = runs.filter(Q(started_at__lte=at) | Q(started_at__isnull=True, state_at__lte=at))
    rows = list(runs[:limit])
    io: dict[int, dict[str, list[int]]] = defaultdict(lambda: {"in": [], "out": []})
    for run_id, dataset_id, direction in RunDataset.objects.filter(run__in=rows).values_list("run_id", "dataset_id", "direction"):
        io[run_id][direction].append(dataset_id)
    return [{"run": r, "inputs": sorted(io[r.pk]["in"]), "outputs": sorted(io[r.pk]["out"])} for r in rows]
