"""The Marquez read API's answers (``lineage.marquez.views``): role-filtered datasets, jobs and
namespaces in the JSON shapes of Marquez's OpenAPI description (``Namespace``, ``Dataset``, ``Job``).

Visibility is the graph's (``lineage.queries``): a catalog dataset follows
``Table.objects.visible_to(role)``; one outside the catalog follows its hub (``roles.sees_hub_q``),
and a provider also sees the datasets its own hub's jobs read and write. A job is listed when its
hub is visible and it writes a dataset the role may see. Aliases (an Athena name of a Glue table)
are not listed; asked by name, they answer as their table's dataset under the name asked.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Min, Q, QuerySet

from catalog.models import Table
from lineage import datasets, naming
from lineage import queries as lineage_queries
from lineage.models import Dataset, Edge, Event, Job, Run, RunDataset
from portal import roles
from portal.roles import Role

OWNERSHIP_SCHEMA = "https://openlineage.io/spec/facets/1-0-1/OwnershipDatasetFacet.json#/$defs/OwnershipDatasetFacet"
EPOCH = "1970-01-01T00:00:00+00:00"
# Marquez's own run states (its RunState enum) for the OpenLineage event types.
RUN_STATES = {"START": "RUNNING", "RUNNING": "RUNNING", "COMPLETE": "COMPLETED", "FAIL": "FAILED", "ABORT": "ABORTED", "OTHER": "NEW"}


def _iso(at: datetime | None) -> str:
    return at.isoformat() if at is not None else EPOCH


def visible_datasets(role: Role | None) -> QuerySet[Dataset]:
    """Canonical datasets the role may see (see the module docstring)."""
    outside = roles.sees_hub_q(role)
    own_hub = roles.provided_hub(role)
    if own_hub:
        own = Edge.objects.filter(job__hub=own_hub)
        outside |= Q(pk__in=own.values("source_id")) | Q(pk__in=own.values("target_id"))
    return Dataset.objects.filter(canonical__isnull=True).filter(
        Q(table__in=Table.objects.visible_to(role)) | (Q(table__isnull=True) & outside)
    )


def visible_jobs(role: Role | None) -> QuerySet[Job]:
    writes_visible = Edge.objects.filter(target__in=visible_datasets(role)).values("job_id")
    return Job.objects.filter(roles.sees_hub_q(role)).filter(pk__in=writes_visible)


def namespaces(role: Role | None) -> list[dict[str, Any]]:
    """Every namespace holding a dataset or job the role may see, by name."""
    found: dict[str, datetime | None] = {}
    for queryset in (visible_datasets(role), visible_jobs(role)):
        for row in queryset.order_by().values("namespace").annotate(first=Min("created_at")):
            known = found.get(row["namespace"])
            found[row["namespace"]] = row["first"] if known is None or (row["first"] and row["first"] < known) else known
    return [namespace_shape(name, at) for name, at in sorted(found.items())]


def namespace_shape(name: str, created: datetime | None) -> dict[str, Any]:
    return {"name": name, "createdAt": _iso(created), "updatedAt": _iso(created), "ownerName": "", "description": ""}


def find_dataset(role: Role | None, namespace: str, name: str) -> Dataset | None:
    """The visible canonical dataset an identity names (any of its identities), or None."""
    namespace, name = naming.normalize(namespace, name)
    row = Dataset.objects.filter(namespace=namespace, name=name).values_list("id", "canonical_id").first()
    if row is not None:
        return visible_datasets(role).select_related("table").filter(pk=row[1] or row[0]).first()
    # An identity no event used yet (an Athena or Glue name of a table known by its S3 path).
    table = datasets.catalog_table(naming.catalog_reference(namespace, name))
    return visible_datasets(role).select_related("table").filter(table=table).first() if table is not None else None


def dataset_shape(dataset: Dataset, namespace: str | None = None, name: str | None = None) -> dict[str, Any]:
    """Marquez's ``Dataset`` for a dataset, under the identity it was asked by (default its own);
    a catalog table fills description, fields (name, type, comment), owner and its catalog facts."""
    namespace, name = namespace or dataset.namespace, name or dataset.name
    table = dataset.table
    fields = [{"name": f.get("name", ""), "type": f.get("type") or "", "tags": [], "description": f.get("description") or ""}
              for f in dataset.schema_fields if isinstance(f, dict)]
    facets: dict[str, Any] = {}
    description = ""
    if table is not None:
        fields = [{"name": c.name, "type": c.type, "tags": [], "description": c.comment}
                  for c in table.columns.order_by("is_partition_key", "position")]
        description = table.description
        producer = settings.SITE_URL
        if table.owner:
            facets["ownership"] = {"_producer": producer, "_schemaURL": OWNERSHIP_SCHEMA, "owners": [{"name": table.owner}]}
        facets["catalog"] = {"_producer": producer, "_schemaURL": f"{producer}/api/docs/", "name": f"{table.database_name}.{table.name}",
                             "hub": table.hub, "layer": table.layer, "classification": table.classification, "location": table.location}
    return {
        "id": {"namespace": namespace, "name": name},
        "type": "DB_TABLE",
        "name": name,
        "physicalName": name,
        "namespace": namespace,
        "sourceName": namespace,
        "createdAt": _iso(dataset.created_at),
        "updatedAt": _iso(dataset.updated_at),
        "fields": fields,
        "tags": [table.classification.upper()] if table is not None and table.classification else [],
        "description": description,
        "facets": facets,
        "deleted": False,
    }


def run_shape(run: Run) -> dict[str, Any]:
    """Marquez's ``Run`` for a stored run."""
    shape: dict[str, Any] = {
        "id": str(run.run_id),
        "createdAt": _iso(run.created_at),
        "updatedAt": _iso(run.state_at or run.created_at),
        "state": RUN_STATES.get(run.state, "NEW"),
        "args": {},
        "facets": run.facets,
    }
    if run.started_at:
        shape["startedAt"] = run.started_at.isoformat()
    if run.ended_at:
        shape["endedAt"] = run.ended_at.isoformat()
    if run.started_at and run.ended_at:
        shape["durationMs"] = int((run.ended_at - run.started_at).total_seconds() * 1000)
    return shape


def job_shape(role: Role | None, job: Job) -> dict[str, Any]:
    """Marquez's ``Job``: its current inputs and outputs (the visible ones) and its latest runs."""
    visible = visible_datasets(role)
    edges = Edge.objects.filter(job=job)
    inputs = visible.filter(pk__in=edges.values("source_id")).order_by("namespace", "name").values("namespace", "name")
    outputs = visible.filter(pk__in=edges.values("target_id")).order_by("namespace", "name").values("namespace", "name")
    latest = list(Run.objects.filter(job=job).order_by("-state_at", "-id")[:10])
    shape: dict[str, Any] = {
        "id": {"namespace": job.namespace, "name": job.name},
        "type": "BATCH",
        "name": job.name,
        "simpleName": job.name.rsplit(".", 1)[-1],
        "namespace": job.namespace,
        "createdAt": _iso(job.created_at),
        "updatedAt": _iso(job.updated_at),
        "inputs": [{"namespace": d["namespace"], "name": d["name"]} for d in inputs],
        "outputs": [{"namespace": d["namespace"], "name": d["name"]} for d in outputs],
        "facets": job.facets,
        "latestRuns": [run_shape(r) for r in latest],
        "description": str((job.facets.get("documentation") or {}).get("description", "")) if isinstance(job.facets.get("documentation"), dict) else "",
    }
    if latest:
        shape["latestRun"] = run_shape(latest[0])
    return shape


# --- lineage as Marquez draws it: dataset → job → dataset ---------------------------------------

def _identity_pairs(rest: str) -> list[tuple[str, str]]:
    """(namespace, name) readings of "NAMESPACE:NAME" (a namespace may hold colons: postgres://h:5432)."""
    return [(rest[:i], rest[i + 1:]) for i, ch in enumerate(rest) if ch == ":" and 0 < i < len(rest) - 1]


def lineage_start(role: Role | None, node_id: str) -> lineage_queries.Start | None:
    """Where ``lineage?nodeId=`` starts: a dataset ``dataset:NS:NAME`` (any identity of it), or a
    job ``job:NS:NAME`` (the first dataset it writes or reads). None when the role may not see it."""
    kind, _, rest = node_id.partition(":")
    pairs = _identity_pairs(rest)
    if not pairs or kind not in ("dataset", "job"):
        return None
    match = Q(pk__in=[])
    for namespace, name in pairs:
        match |= Q(namespace=namespace, name=name)
    if kind == "job":
        job = visible_jobs(role).filter(match).first()
        edge = Edge.objects.filter(job=job).order_by("id").first() if job is not None else None
        dataset = Dataset.objects.filter(pk=edge.target_id).first() if edge is not None else None
    else:
        dataset = next((d for d in (find_dataset(role, *pair) for pair in pairs) if d is not None), None)
    if dataset is None:
        return None
    try:
        return lineage_queries.find_start(role, node=f"{dataset.namespace}/{dataset.name}")
    except lineage_queries.UnknownDataset:
        return None


def lineage_graph(role: Role | None, start: lineage_queries.Start, depth: int) -> dict[str, Any]:
    """Marquez's ``LineageGraph`` around ``start``: dataset and job nodes with their in/out edges;
    what the role may not see is a node ``hidden:<id>`` without a name or data."""
    document, _ = lineage_queries.graph_document(role, start, direction="both", depth=depth, column=None)
    ids: dict[str, str] = {}
    for node in document["nodes"]:
        prefix = "dataset" if node["kind"] == "dataset" else "job"
        ids[node["id"]] = f"hidden:{node['id']}" if node["hidden"] else f"{prefix}:{node['namespace']}:{node['name']}"
    dataset_pks = [int(n["id"][1:]) for n in document["nodes"] if n["kind"] == "dataset" and not n["hidden"] and n["id"][0] == "d"]
    job_pks = [int(n["id"][1:]) for n in document["nodes"] if n["kind"] == "job" and not n["hidden"]]
    data: dict[str, dict[str, Any]] = {
        f"d{d.pk}": dataset_shape(d) for d in Dataset.objects.filter(pk__in=dataset_pks).select_related("table").prefetch_related("table__columns")
    }
    data.update({f"j{j.pk}": job_shape(role, j) for j in Job.objects.filter(pk__in=job_pks)})
    edges_in: dict[str, list[dict[str, str]]] = {key: [] for key in ids}
    edges_out: dict[str, list[dict[str, str]]] = {key: [] for key in ids}
    for edge in document["edges"]:
        for origin, destination in ((edge["source"], edge["job"]), (edge["job"], edge["target"])):
            link = {"origin": ids[origin], "destination": ids[destination]}
            if link not in edges_out[origin]:
                edges_out[origin].append(link)
                edges_in[destination].append(link)
    graph = []
    for node in document["nodes"]:
        key = node["id"]
        item: dict[str, Any] = {"id": ids[key], "type": "DATASET" if node["kind"] == "dataset" else "JOB",
                                "inEdges": edges_in[key], "outEdges": edges_out[key]}
        if key in data:
            # openapi.yml picks a node's data schema by its "type" (DATASET or JOB), so the data says the node's type.
            item["data"] = {**data[key], "type": item["type"]}
        graph.append(item)
    return {"graph": graph}


def find_run(role: Role | None, run_id: str) -> Run | None:
    """A run of a job the role may see, by its OpenLineage runId."""
    try:
        return Run.objects.filter(run_id=run_id, job__in=visible_jobs(role)).first()
    except ValidationError:  # not a UUID
        return None


def search(role: Role | None, q: str, *, kind: str | None, sort: str, limit: int, namespace: str | None) -> dict[str, Any]:
    """Marquez's ``SearchResultList``: visible datasets and jobs whose name holds ``q``."""
    results: list[dict[str, Any]] = []
    sources: list[tuple[str, QuerySet[Any]]] = []
    if kind in (None, "DATASET"):
        sources.append(("DATASET", visible_datasets(role)))
    if kind in (None, "JOB"):
        sources.append(("JOB", visible_jobs(role)))
    total = 0
    for label, rows in sources:
        rows = rows.filter(name__icontains=q)
        if namespace:
            rows = rows.filter(namespace=namespace)
        total += rows.count()
        for namespace_, name, updated in rows.order_by("-updated_at" if sort == "UPDATE_AT" else "name").values_list("namespace", "name", "updated_at")[:limit]:
            results.append({"type": label, "name": name, "namespace": namespace_, "updatedAt": _iso(updated),
                            "nodeId": f"{label.lower()}:{namespace_}:{name}"})
    results.sort(key=(lambda r: r["updatedAt"]) if sort == "UPDATE_AT" else (lambda r: r["name"]), reverse=sort == "UPDATE_AT")
    return {"totalCount": total, "results": results[:limit]}


def events(role: Role | None, *, before: datetime | None, after: datetime | None, ascending: bool) -> QuerySet[Event]:
    """Stored RunEvents of the runs of jobs the role may see (``events/lineage``), by eventTime."""
    runs = Run.objects.filter(job__in=visible_jobs(role)).values("run_id")
    rows = Event.objects.filter(kind="run", run_id__in=runs)
    if before is not None:
        rows = rows.filter(event_time__lt=before)
    if after is not None:
        rows = rows.filter(event_time__gt=after)
    return rows.order_by("event_time" if ascending else "-event_time", "id" if ascending else "-id")


def tags(role: Role | None) -> list[dict[str, str]]:
    """Marquez's tags are the catalog's classifications of the tables the role may see."""
    found = Table.objects.visible_to(role).exclude(classification="").order_by().values_list("classification", flat=True).distinct()
    return [{"name": c.upper(), "description": f"Catalog classification: {c}"} for c in sorted(set(found))]


def _version_id(row: RunDataset) -> str:
    """A dataset version is one run's write of it: a stable id for (run, dataset) row."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:data-hub-portal:dataset-version:{row.pk}"))


def dataset_versions(dataset: Dataset, namespace: str, name: str) -> list[dict[str, Any]]:
    """Marquez's ``DatasetVersion`` for every run that wrote ``dataset`` (any of its identities), newest first."""
    ids = [dataset.pk, *Dataset.objects.filter(canonical=dataset).values_list("id", flat=True)]
    rows = RunDataset.objects.filter(dataset_id__in=ids, direction=RunDataset.Direction.OUTPUT).select_related("run")
    versions = []
    for row in rows.order_by("-run__state_at", "-id"):
        schema = row.facets.get("schema") if isinstance(row.facets.get("schema"), dict) else {}
        fields = [{"name": str(f.get("name", "")), "type": str(f.get("type") or ""), "tags": [], "description": str(f.get("description") or "")}
                  for f in schema.get("fields", []) if isinstance(f, dict)]
        versions.append({
            "id": {"namespace": namespace, "name": name, "version": _version_id(row)},
            "type": "DB_TABLE", "name": name, "physicalName": name, "namespace": namespace, "sourceName": namespace,
            "createdAt": _iso(row.run.state_at or row.run.created_at), "version": _version_id(row),
            "fields": fields, "description": "", "createdByRun": run_shape(row.run), "facets": row.facets,
        })
    return versions


def column_lineage(role: Role | None, node_id: str, depth: int, downstream: bool, indirect: bool = True) -> dict[str, Any] | None:
    """Marquez's column lineage (``column-lineage?nodeId=``) as a ``LineageGraph`` of
    ``DATASET_FIELD`` nodes ``datasetField:NS:NAME:FIELD`` (Marquez's own node type for fields;
    openapi.yml's NodeType lists only JOB and DATASET). ``nodeId`` is a dataset, a dataset field
    or a job, optionally with ``#version`` (ignored: the current graph). Each field's
    ``inputFields`` say DIRECT or INDIRECT; dataset-level INDIRECT dependencies (a filter or join
    on a source column, no target field) are left out of the field graph. None when the role may
    not see the node."""
    node_id = node_id.split("#", 1)[0]
    kind, _, rest = node_id.partition(":")
    field: str | None = None
    if kind == "datasetField":
        rest, _, field = rest.rpartition(":")
        kind = "dataset"
    start = lineage_start(role, f"{kind}:{rest}")
    if start is None:
        return None
    document, _ = lineage_queries.graph_document(role, start, direction="both" if downstream else "upstream", depth=depth,
                                                 column=field or None, indirect=indirect)
    names = {n["id"]: (n["namespace"], n["name"]) for n in document["nodes"] if n["kind"] == "dataset" and not n["hidden"]}
    nodes: dict[str, dict[str, Any]] = {}

    def node(dataset: str, column: str) -> dict[str, Any]:
        namespace, name = names[dataset]
        key = f"datasetField:{namespace}:{name}:{column}"
        if key not in nodes:
            nodes[key] = {"id": key, "type": "DATASET_FIELD", "inEdges": [], "outEdges": [], "data": {
                "type": "DATASET_FIELD", "namespace": namespace, "dataset": name, "field": column, "fieldType": None,
                "transformationDescription": None, "transformationType": None, "inputFields": []}}
        return nodes[key]

    for edge in document["edges"]:
        if edge["source"] not in names or edge["target"] not in names:
            continue
        for mapping in edge["columns"]:
            if mapping["to"] is None:
                continue
            source, target = node(edge["source"], mapping["from"]), node(edge["target"], mapping["to"])
            link = {"origin": source["id"], "destination": target["id"]}
            if link not in source["outEdges"]:
                source["outEdges"].append(link)
                target["inEdges"].append(link)
                target["data"]["inputFields"].append({
                    "namespace": source["data"]["namespace"], "dataset": source["data"]["dataset"], "field": mapping["from"],
                    "transformationDescription": mapping["transformation"] or None, "transformationType": mapping["kind"]})
    return {"graph": [nodes[key] for key in sorted(nodes)]}


SOURCE_TYPES = {"postgres": "POSTGRESQL", "mysql": "MYSQL", "s3": "S3", "s3a": "S3", "arn": "GLUE", "awsathena": "ATHENA",
                "kafka": "KAFKA", "bigquery": "BIGQUERY", "snowflake": "SNOWFLAKE", "hive": "HIVE", "file": "FILE"}


def sources(role: Role | None) -> list[dict[str, Any]]:
    """Marquez's sources: the namespaces of the datasets the role may see (``sourceName`` of each)."""
    found = visible_datasets(role).order_by().values("namespace").annotate(first=Min("created_at"))
    return [{"type": SOURCE_TYPES.get(row["namespace"].split(":", 1)[0].lower(), row["namespace"].split(":", 1)[0].upper()),
             "name": row["namespace"], "connectionUrl": row["namespace"], "createdAt": _iso(row["first"]),
             "updatedAt": _iso(row["first"]), "description": ""} for row in sorted(found, key=lambda r: r["namespace"])]
