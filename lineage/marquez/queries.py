"""Read side of the Marquez API: namespaces, datasets, jobs, runs, versions, events, search, tags.

Every function takes a ``Sight`` (the role's view) and answers only what it may see; lists count
only what they list. ``NotFound`` is answered 404 in Marquez's error shape, alike for a name that
does not exist and one the role may not see.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Max, Min, Q

from catalog.models import Curation, Table
from catalog.queries import dataset_detail
from lineage import naming
from lineage.marquez import shapes
from lineage.marquez.visibility import Sight
from lineage.models import Dataset, Edge, Event, Job, Run, RunDataset

LATEST_RUNS = 10  # Marquez's Job.latestRuns


class NotFound(LookupError):
    """Nothing by that name the role may see (Marquez answers 404 ``{code, message}``)."""


@dataclass
class Page:
    total: int
    items: list[dict[str, Any]]


# --- namespaces ---------------------------------------------------------------------------------

def namespaces(sight: Sight) -> list[dict[str, Any]]:
    """Namespaces holding at least one dataset or job the role may see, by name."""
    spans: dict[str, list[datetime | None]] = {}
    for rows in (
        sight.datasets().values("namespace").annotate(first=Min("created_at"), last=Max("updated_at")),
        sight.jobs().values("namespace").annotate(first=Min("created_at"), last=Max("updated_at")),
    ):
        for row in rows:
            span = spans.setdefault(row["namespace"], [row["first"], row["last"]])
            span[0] = min(d for d in (span[0], row["first"]) if d is not None) if span[0] or row["first"] else None
            span[1] = max(d for d in (span[1], row["last"]) if d is not None) if span[1] or row["last"] else None
    return [shapes.compact({"name": name, "createdAt": shapes.iso(first), "updatedAt": shapes.iso(last), "ownerName": "anonymous",
                            "isHidden": False, "description": None})
            for name, (first, last) in sorted(spans.items())]


def namespace(sight: Sight, name: str) -> dict[str, Any]:
    for item in namespaces_named(sight, name):
        return item
    raise NotFound(f"Namespace '{name}' not found.")


def namespaces_named(sight: Sight, name: str) -> list[dict[str, Any]]:
    return [n for n in namespaces(sight) if n["name"] == name]


# --- datasets ---------------------------------------------------------------------------------

def find_dataset(sight: Sight, namespace_name: str, name: str) -> Dataset:
    """The identity (namespace, name) the role may see; raises NotFound."""
    ns, nm = naming.normalize(namespace_name, name)
    row = sight.datasets().filter(namespace=ns, name=nm).first()
    if row is None:
        raise NotFound(f"Dataset '{name}' not found in namespace '{namespace_name}'.")
    return row


def identities(row: Dataset) -> list[int]:
    """Ids of every identity of the dataset ``row`` is one name of (its canonical and aliases)."""
    canonical = row.canonical_id or row.pk
    return [canonical, *Dataset.objects.filter(canonical_id=canonical).values_list("id", flat=True)]


def _catalog(sight: Sight, row: Dataset) -> dict[str, Any] | None:
    table_id = row.table_id or (Dataset.objects.filter(pk=row.canonical_id).values_list("table_id", flat=True).first() if row.canonical_id else None)
    if not table_id:
        return None
    table = Table.objects.visible_to(sight.role).filter(pk=table_id).first()
    return dataset_detail(table, role=sight.role) if table is not None else None


def _writes(row: Dataset) -> list[RunDataset]:
    """Every run's write of this dataset (through any of its identities), newest first."""
    return list(
        RunDataset.objects.filter(dataset_id__in=identities(row), direction=RunDataset.Direction.OUTPUT)
        .select_related("run", "run__job").order_by("-run__state_at", "-run_id")
    )


def _version(row: Dataset, write: RunDataset) -> dict[str, Any]:
    return {"version": shapes.dataset_version(write.run.run_id, row.canonical_id or row.pk), "facets": write.facets,
            "at": write.run.ended_at or write.run.state_at, "write": write}


def dataset(sight: Sight, row: Dataset) -> dict[str, Any]:
    writes = _writes(row)
    current = _version(row, writes[0]) if writes else None
    return shapes.dataset(row, catalog=_catalog(sight, row), current=current)


def datasets(sight: Sight, namespace_name: str, *, limit: int, offset: int) -> Page:
    rows = sight.datasets().filter(namespace=namespace_name).order_by("name", "id")
    return Page(rows.count(), [dataset(sight, row) for row in rows[offset: offset + limit]])


def dataset_versions(sight: Sight, row: Dataset, *, limit: int, offset: int) -> Page:
    writes = _writes(row)
    catalog = _catalog(sight, row)
    items = [_dataset_version(sight, row, _version(row, w), catalog) for w in writes[offset: offset + limit]]
    return Page(len(writes), items)


def dataset_version(sight: Sight, row: Dataset, version: str) -> dict[str, Any]:
    catalog = _catalog(sight, row)
    for write in _writes(row):
        found = _version(row, write)
        if found["version"] == version:
            return _dataset_version(sight, row, found, catalog)
    raise NotFound(f"Version '{version}' of dataset '{row.name}' not found.")


def _dataset_version(sight: Sight, row: Dataset, version: dict[str, Any], catalog: dict[str, Any] | None) -> dict[str, Any]:
    body = shapes.dataset(row, catalog=catalog, current=version)
    schema = version["facets"].get("schema") if isinstance(version["facets"].get("schema"), dict) else None
    if schema is not None and catalog is None:
        body["fields"] = shapes.fields_of(schema.get("fields") or [])
    write: RunDataset = version["write"]
    return shapes.compact({
        "id": {"namespace": row.namespace, "name": row.name, "version": version["version"]},
        "type": body["type"], "name": row.name, "physicalName": row.name,
        "createdAt": shapes.iso(version["at"]) or body.get("createdAt"), "version": version["version"],
        "namespace": row.namespace, "sourceName": row.namespace, "fields": body["fields"], "tags": body["tags"],
        "description": body.get("description", ""), "lifecycleState": None,
        "createdByRun": runs(sight, [write.run])[0], "facets": body["facets"],
    })


# --- jobs and runs ------------------------------------------------------------------------------

def find_job(sight: Sight, namespace_name: str, name: str) -> Job:
    job = Job.objects.filter(namespace=namespace_name, name=name).first()
    if job is None or not sight.sees_job(job):
        raise NotFound(f"Job '{name}' not found in namespace '{namespace_name}'.")
    return job


def find_run(sight: Sight, run_id: str) -> Run:
    try:
        key = uuid.UUID(run_id)
    except ValueError:
        raise NotFound(f"Run '{run_id}' not found.") from None
    row = Run.objects.filter(run_id=key).select_related("job").first()
    if row is None or not sight.sees_job(row.job):
        raise NotFound(f"Run '{run_id}' not found.")
    return row


def run_io(run_ids: list[int]) -> dict[int, dict[str, list[tuple[Dataset, dict[str, Any]]]]]:
    io: dict[int, dict[str, list[tuple[Dataset, dict[str, Any]]]]] = defaultdict(lambda: {"in": [], "out": []})
    for rd in RunDataset.objects.filter(run_id__in=run_ids).select_related("dataset").order_by("id"):
        io[rd.run_id][rd.direction].append((rd.dataset, rd.facets))
    return io


def job_version_of(job: Job, io: dict[str, list[tuple[Dataset, dict[str, Any]]]]) -> str:
    return shapes.job_version(job.namespace, job.name, [(d.namespace, d.name) for d, _ in io["in"]],
                              [(d.namespace, d.name) for d, _ in io["out"]])


def runs(sight: Sight, rows: list[Run]) -> list[dict[str, Any]]:
    """Marquez Runs, their dataset versions limited to what the role may see."""
    io = run_io([r.pk for r in rows])
    seen = sight.visible_dataset_ids({d.pk for sides in io.values() for side in sides.values() for d, _ in side})
    answer = []
    for row in rows:
        sides = io[row.pk]

        def versions(side: str, run: Run = row, sides: dict[str, Any] = sides) -> list[dict[str, Any]]:
            return [{"namespace": d.namespace, "name": d.name, "facets": f,
                     "version": shapes.dataset_version(run.run_id, d.canonical_id or d.pk)}
                    for d, f in sides[side] if d.pk in seen]

        answer.append(shapes.run(row, job=row.job, version=job_version_of(row.job, sides), inputs=versions("in"), outputs=versions("out")))
    return answer


def job_runs(sight: Sight, job: Job, *, limit: int, offset: int) -> Page:
    rows = Run.objects.filter(job=job).select_related("job").order_by("-state_at", "-id")
    return Page(rows.count(), runs(sight, list(rows[offset: offset + limit])))


def _current_io(sight: Sight, job: Job) -> tuple[list[dict[str, str]], list[dict[str, str]], str | None]:
    """The job's current inputs and outputs the role may see, and its current version."""
    if job.current_run_id:
        sides = run_io([job.current_run_id])[job.current_run_id]
        pairs = {side: [d for d, _ in sides[side]] for side in ("in", "out")}
        version: str | None = job_version_of(job, sides)
    else:
        edges = Edge.objects.filter(job=job).select_related("source", "target")
        pairs = {"in": list({e.source_id: e.source for e in edges}.values()), "out": list({e.target_id: e.target for e in edges}.values())}
        version = None
    seen = sight.visible_dataset_ids({d.pk for side in pairs.values() for d in side})
    ids = {side: [shapes.dataset_id(d.namespace, d.name) for d in rows if d.pk in seen] for side, rows in pairs.items()}
    return ids["in"], ids["out"], version


def job(sight: Sight, row: Job) -> dict[str, Any]:
    inputs, outputs, version = _current_io(sight, row)
    latest = runs(sight, list(Run.objects.filter(job=row).select_related("job").order_by("-state_at", "-id")[:LATEST_RUNS]))
    return shapes.job(row, inputs=inputs, outputs=outputs, latest_runs=latest, version=version)


def jobs(sight: Sight, namespace_name: str | None, *, limit: int, offset: int) -> Page:
    rows = sight.jobs().order_by("namespace", "name", "id")
    if namespace_name is not None:
        rows = rows.filter(namespace=namespace_name)
    return Page(rows.count(), [job(sight, row) for row in rows[offset: offset + limit]])


def job_versions(sight: Sight, row: Job, *, limit: int, offset: int) -> Page:
    """One version per distinct set of datasets the job's runs read and wrote, newest first."""
    all_runs = list(Run.objects.filter(job=row).select_related("job").order_by("-state_at", "-id"))
    io = run_io([r.pk for r in all_runs])
    grouped: dict[str, list[Run]] = {}
    for run in all_runs:
        grouped.setdefault(job_version_of(row, io[run.pk]), []).append(run)
    items = []
    for version, members in list(grouped.items())[offset: offset + limit]:
        sides = io[members[0].pk]
        seen = sight.visible_dataset_ids({d.pk for side in sides.values() for d, _ in side})
        items.append(shapes.compact({
            "id": {"namespace": row.namespace, "name": row.name, "version": version},
            "name": row.name, "version": version, "namespace": row.namespace,
            "createdAt": shapes.iso(min((r.started_at or r.created_at) for r in members if (r.started_at or r.created_at)) if any(r.started_at or r.created_at for r in members) else None),
            "inputs": [shapes.dataset_id(d.namespace, d.name) for d, _ in sides["in"] if d.pk in seen],
            "outputs": [shapes.dataset_id(d.namespace, d.name) for d, _ in sides["out"] if d.pk in seen],
            "context": {}, "latestRun": runs(sight, [members[0]])[0], "facets": shapes.facets(row.facets),
        }))
    return Page(len(grouped), items)


def job_version(sight: Sight, row: Job, version: str) -> dict[str, Any]:
    for item in job_versions(sight, row, limit=10**6, offset=0).items:
        if item["version"] == version:
            return item
    raise NotFound(f"Version '{version}' of job '{row.name}' not found.")


def run_facets(run: Run, kind: str) -> dict[str, Any]:
    """``type=run``: the run's facets merged over its events; ``type=job``: the job facets its events sent."""
    if kind == "run":
        return {"runId": str(run.run_id), "facets": shapes.facets(run.facets)}
    merged: dict[str, Any] = {}
    for payload in Event.objects.filter(run_id=run.run_id).order_by("event_time", "id").values_list("payload", flat=True):
        job_facets = (payload.get("job") or {}).get("facets") if isinstance(payload, dict) else None
        if isinstance(job_facets, dict):
            merged.update(job_facets)
    return {"runId": str(run.run_id), "facets": shapes.facets(merged)}


# --- events -------------------------------------------------------------------------------------

def _event_identities(payload: dict[str, Any]) -> tuple[tuple[str, str] | None, list[tuple[str, str]]]:
    job = payload.get("job") if isinstance(payload.get("job"), dict) else None
    job_key = (str(job.get("namespace")), str(job.get("name"))) if job else None
    refs = [*(payload.get("inputs") or []), *(payload.get("outputs") or [])]
    if isinstance(payload.get("dataset"), dict):
        refs.append(payload["dataset"])
    keys = [naming.normalize(str(r.get("namespace", "")), str(r.get("name", ""))) for r in refs if isinstance(r, dict)]
    return job_key, keys


def _visible_events(sight: Sight, rows: list[Event]) -> list[Event]:
    """Events naming only a job and datasets the role may see (anything else would name hidden ones)."""
    if sight.sees_all:
        return rows
    identities = {row.pk: _event_identities(row.payload) for row in rows}
    keys = {k for _, ks in identities.values() for k in ks}
    by_key: dict[tuple[str, str], int] = {}
    names = Q(pk__in=[])
    for ns, nm in keys:
        names |= Q(namespace=ns, name=nm)
    if keys:
        by_key = {(ns, nm): pk for pk, ns, nm in Dataset.objects.filter(names).values_list("id", "namespace", "name")}
    seen = sight.visible_dataset_ids(by_key.values())
    job_names = Q(pk__in=[])
    for job_key, _ in identities.values():
        if job_key is not None:
            job_names |= Q(namespace=job_key[0], name=job_key[1])
    visible_jobs = {(ns, nm) for pk, ns, nm in Job.objects.filter(job_names).values_list("id", "namespace", "name") if pk in sight.job_ids()}
    return [row for row in rows
            if (identities[row.pk][0] is None or identities[row.pk][0] in visible_jobs)
            and all(by_key.get(k) in seen for k in identities[row.pk][1])]


def events(sight: Sight, *, before: datetime | None, after: datetime | None, ascending: bool, limit: int, offset: int,
           namespace: str | None = None) -> Page:
    """Stored OpenLineage events (verbatim) the role may see, by event time; ``namespace``: of their job."""
    rows = Event.objects.all()
    if namespace is not None:
        rows = rows.filter(payload__job__namespace=namespace)
    if before is not None:
        rows = rows.filter(event_time__lt=before)
    if after is not None:
        rows = rows.filter(event_time__gt=after)
    order = ("event_time", "id") if ascending else ("-event_time", "-id")
    visible = _visible_events(sight, list(rows.order_by(*order)))
    return Page(len(visible), [row.payload for row in visible[offset: offset + limit]])


# --- search and tags ------------------------------------------------------------------------

def like_pattern(q: str) -> str:
    """Marquez's ``q`` (``%`` any run of characters, ``_`` one, case-insensitive substring) as a regex."""
    return "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in q)


def search(sight: Sight, q: str, *, kind: str | None, sort: str, limit: int, namespace_name: str | None,
           before: datetime | None, after: datetime | None) -> Page:
    pattern = like_pattern(q)
    found: list[dict[str, Any]] = []
    sources: list[tuple[str, Any]] = []
    if kind in (None, "DATASET"):
        sources.append(("DATASET", sight.datasets()))
    if kind in (None, "JOB"):
        sources.append(("JOB", sight.jobs()))
    for node_type, rows in sources:
        rows = rows.filter(name__iregex=pattern)
        if namespace_name:
            rows = rows.filter(namespace=namespace_name)
        if before is not None:
            rows = rows.filter(updated_at__lt=before)
        if after is not None:
            rows = rows.filter(updated_at__gte=after)
        for ns, name, updated in rows.values_list("namespace", "name", "updated_at"):
            prefix = "dataset" if node_type == "DATASET" else "job"
            found.append(shapes.compact({"type": node_type, "name": name, "updatedAt": shapes.iso(updated), "namespace": ns,
                                         "nodeId": f"{prefix}:{ns}:{name}"}))
    if sort == "UPDATE_AT":
        found.sort(key=lambda r: r.get("updatedAt") or "", reverse=True)
    else:
        found.sort(key=lambda r: (r["name"], r["namespace"], r["type"]))
    return Page(len(found), found[:limit])


def tags(sight: Sight, *, limit: int, offset: int) -> Page:
    """Tags stewards put on catalog datasets the role may see (``PII`` where columns are marked so)."""
    curations = Curation.objects.filter(table__in=Table.objects.visible_to(sight.role).values("pk")).values_list("tags", "pii_columns")
    names: set[str] = set()
    for tag_list, pii in curations:
        names.update(str(t) for t in tag_list or [] if t)
        if pii:
            names.add("PII")
    items = [{"name": name, "description": "PII column" if name == "PII" else ""} for name in sorted(names)]
    return Page(len(items), items[offset: offset + limit])
