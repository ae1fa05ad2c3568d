"""Marquez's lineage graphs by ``nodeId`` (``GET /lineage`` and ``GET /column-lineage``).

Node ids are Marquez's: ``dataset:NAMESPACE:NAME``, ``job:NAMESPACE:NAME``,
``datasetField:NAMESPACE:NAME:FIELD``, optionally ``#VERSION``. Namespaces hold colons
(``arn:aws:glue:…``, ``postgres://host:5432``), so each split is tried against the stored names.

The walks are the graph API's (``lineage.graph`` over the process's current graph) and so is the
role filter (``lineage.queries.render_subgraph``): a dataset or job the role may not see is a
node whose id names nothing (``HIDDEN_ID``) and whose data carries no name or field.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from django.db.models import Q

from catalog.queries import columns_of
from lineage import graph as lineage_graph
from lineage import naming
from lineage import queries as lineage_queries
from lineage.marquez import shapes
from lineage.marquez.queries import NotFound
from lineage.marquez.visibility import Sight
from lineage.models import Dataset, Edge, Job

HIDDEN_ID = "{kind}::hidden-{ref}"  # an empty namespace: no OpenLineage name has one
MAX_START_DATASETS = 50  # a job's datasets walked from, for a job nodeId
# Colons a namespace may hold ("arn:aws:glue:REGION:ACCOUNT" has 4): splits after more are not
# tried, so a nodeId of colons costs a bounded number of lookups.
MAX_NAMESPACE_COLONS = 8


class BadNodeId(ValueError):
    """A nodeId that is not one of Marquez's formats (answered 400)."""


def parse_node_id(node_id: str) -> tuple[str, list[tuple[str, str]], str | None]:
    """(kind, candidate (namespace, name) pairs, field) of a Marquez nodeId; raises BadNodeId."""
    kind, _, rest = node_id.partition(":")
    if kind not in ("dataset", "job", "datasetField") or not rest or len(node_id) > naming.MAX_NODE_CHARS + 300:
        raise BadNodeId("nodeId must be dataset:NAMESPACE:NAME, job:NAMESPACE:NAME or datasetField:NAMESPACE:NAME:FIELD.")
    body, hash_mark, version = rest.rpartition("#")
    if hash_mark and _is_uuid(version):
        rest = body
    field = None
    if kind == "datasetField":
        rest, colon, field = rest.rpartition(":")
        if not colon or not field:
            raise BadNodeId("A datasetField nodeId ends with :FIELD.")
    pairs = [(rest[:at], rest[at + 1:]) for at in range(len(rest)) if rest[at] == ":" and 0 < at < len(rest) - 1]
    pairs = pairs[: MAX_NAMESPACE_COLONS + 1]
    if not pairs:
        raise BadNodeId("nodeId must name a namespace and a name (NAMESPACE:NAME).")
    return kind, pairs, field


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _find_dataset(sight: Sight, pairs: list[tuple[str, str]]) -> Dataset:
    keys = [naming.normalize(ns, name) for ns, name in pairs]
    names = Q(pk__in=[])
    for ns, name in keys:
        names |= Q(namespace=ns, name=name)
    found = {(row.namespace, row.name): row for row in sight.datasets().filter(names)}
    for key in keys:  # the first split that names a dataset, as written
        if key in found:
            return found[key]
    raise NotFound("Dataset not found.")


def _find_job(sight: Sight, pairs: list[tuple[str, str]]) -> Job:
    for ns, name in pairs:
        job = Job.objects.filter(namespace=ns, name=name).first()
        if job is not None and sight.sees_job(job):
            return job
    raise NotFound("Job not found.")


def _starts(sight: Sight, node_id: str) -> tuple[list[int], Job | None, Dataset | None, str | None]:
    """(canonical dataset ids to walk from, start job, start dataset identity, field)."""
    kind, pairs, field = parse_node_id(node_id)
    if kind == "job":
        job = _find_job(sight, pairs)
        ids: set[int] = set()
        for s, t in Edge.objects.filter(job=job).values_list("source_id", "target_id")[:MAX_START_DATASETS]:
            ids.update((s, t))
        return sorted(ids), job, None, None
    row = _find_dataset(sight, pairs)
    return [row.canonical_id or row.pk], None, row, field


def _union(parts: list[lineage_graph.Subgraph]) -> lineage_graph.Subgraph:
    distances: dict[int, int] = {}
    edges: dict[tuple[int, int, int], tuple[lineage_graph.ColumnMapping, ...]] = {}
    for part in parts:
        for node, distance in part.distances.items():
            distances[node] = min(distance, distances.get(node, distance))
        for s, t, j, columns in part.edges:
            edges[(s, t, j)] = tuple(dict.fromkeys(edges.get((s, t, j), ()) + columns))
    return lineage_graph.Subgraph(distances, [(s, t, j, c) for (s, t, j), c in edges.items()], any(p.truncated for p in parts))


def _node_ids(document: dict[str, Any], start: Dataset | None) -> dict[str, str]:
    """Graph API node id ("d3", "j7") → Marquez nodeId (the start under the name it was asked by)."""
    ids = {}
    for node in document["nodes"]:
        kind = "dataset" if node["kind"] == "dataset" else "job"
        if node["hidden"]:
            ids[node["id"]] = HIDDEN_ID.format(kind=kind, ref=node["id"])
        else:
            ids[node["id"]] = f"{kind}:{node['namespace']}:{node['name']}"
    if start is not None:
        canonical = f"d{start.canonical_id or start.pk}"
        if canonical in ids and not ids[canonical].startswith("dataset::"):
            ids[canonical] = f"dataset:{start.namespace}:{start.name}"
    return ids


def lineage(sight: Sight, node_id: str, depth: int) -> dict[str, Any]:
    """Marquez's LineageGraph around ``node_id``: datasets and jobs, edges dataset → job → dataset."""
    starts, job, start_row, _ = _starts(sight, node_id)
    g, arrays = lineage_queries.current_engine()
    parts = [lineage_graph.neighbourhood(g, s, direction="both", depth=depth, max_nodes=lineage_queries.max_nodes(), arrays=arrays) for s in starts]
    document = lineage_queries.render_subgraph(sight.role, _union(parts)) if parts else {"nodes": [], "edges": []}
    ids = _node_ids(document, start_row)
    nodes: dict[str, dict[str, Any]] = {}
    rows = Dataset.objects.in_bulk([int(n["id"][1:]) for n in document["nodes"] if n["kind"] == "dataset" and not n["hidden"]])
    fields = _fields(list(rows.values()))
    for node in document["nodes"]:
        marquez_id = ids[node["id"]]
        if node["hidden"]:
            data: dict[str, Any] = {"type": "DATASET" if node["kind"] == "dataset" else "JOB", "hidden": True}
        elif node["kind"] == "dataset":
            row = rows[int(node["id"][1:])]
            namespace, name = row.namespace, row.name
            if start_row is not None and marquez_id == f"dataset:{start_row.namespace}:{start_row.name}":
                namespace, name = start_row.namespace, start_row.name
            data = {"id": shapes.dataset_id(namespace, name), "type": "DATASET", "name": name, "physicalName": name,
                    "namespace": namespace, "sourceName": namespace, "fields": fields.get(row.pk, []), "facets": {},
                    "createdAt": shapes.iso(row.created_at), "updatedAt": shapes.iso(row.updated_at)}
        else:
            data = {"id": {"namespace": node["namespace"], "name": node["name"]}, "type": "JOB", "name": node["name"],
                    "simpleName": node["name"].rsplit(".", 1)[-1], "namespace": node["namespace"], "inputs": [], "outputs": [], "facets": {}}
        nodes[marquez_id] = {"id": marquez_id, "type": data["type"], "data": data, "inEdges": [], "outEdges": []}
    if job is not None:
        job_id = f"job:{job.namespace}:{job.name}"
        nodes.setdefault(job_id, {"id": job_id, "type": "JOB", "inEdges": [], "outEdges": [], "data": {
            "id": {"namespace": job.namespace, "name": job.name}, "type": "JOB", "name": job.name, "namespace": job.namespace,
            "simpleName": job.name.rsplit(".", 1)[-1], "inputs": [], "outputs": [], "facets": {}}})
    seen_edges: set[tuple[str, str]] = set()
    for edge in document["edges"]:
        source, target, job_node = ids[edge["source"]], ids[edge["target"]], ids[edge["job"]]
        for origin, destination in ((source, job_node), (job_node, target)):
            if (origin, destination) in seen_edges:
                continue
            seen_edges.add((origin, destination))
            nodes[origin]["outEdges"].append({"origin": origin, "destination": destination})
            nodes[destination]["inEdges"].append({"origin": origin, "destination": destination})
        job_data = nodes[job_node]["data"]
        if "inputs" in job_data:
            for side, dataset_node in (("inputs", source), ("outputs", target)):
                data = nodes[dataset_node]["data"]
                if "id" in data and data["id"] not in job_data[side]:
                    job_data[side].append(data["id"])
    return {"graph": list(nodes.values())}


def _fields(rows: list[Dataset]) -> dict[int, list[dict[str, Any]]]:
    """Marquez fields of datasets: their catalog columns where linked, else their last schema facet."""
    catalog = columns_of([r.table_id for r in rows if r.table_id])
    return {r.pk: ([{"name": c["name"], "type": c["type"] or "UNKNOWN", "tags": []} for c in catalog[r.table_id]]
                   if r.table_id and r.table_id in catalog else shapes.fields_of(r.schema_fields)) for r in rows}


def column_lineage(sight: Sight, node_id: str, depth: int, with_downstream: bool) -> dict[str, Any]:
    """Marquez's column lineage: one ``DATASET_FIELD`` node per field, ``inputFields`` naming what feeds it
    (DIRECT field mappings, and the INDIRECT ones of the columnLineage facet's dataset array)."""
    starts, _job, start_row, field = _starts(sight, node_id)
    g = lineage_queries.current_graph()
    direction = "both" if with_downstream else "upstream"
    parts = []
    for dataset_id in starts:
        for column in ([field] if field else _columns(g, dataset_id)):
            parts.append(lineage_graph.column_neighbourhood(g, dataset_id, column, direction=direction, depth=depth,
                                                            max_nodes=lineage_queries.max_nodes()))
    sub = _union(parts) if parts else lineage_graph.Subgraph({}, [])
    # INDIRECT dependencies (a filter, a join) of every dataset reached, on all of its fields.
    indirect = [(s, t, j, tuple(m for m in mappings if not m[1]))
                for t in list(sub.distances) for s, jobs in g._pred.get(t, {}).items()  # type: ignore[attr-defined]
                for j, mappings in jobs.items() if any(not m[1] for m in mappings)]
    sub = _union([sub, lineage_graph.Subgraph({**{s: 1 for s, _, _, _ in indirect}, **sub.distances}, indirect)])
    document = lineage_queries.render_subgraph(sight.role, sub)
    names = {n["id"]: n for n in document["nodes"] if n["kind"] == "dataset"}
    rows = Dataset.objects.in_bulk([int(key[1:]) for key, n in names.items() if not n["hidden"]])
    types = {pk: {f["name"]: f["type"] for f in fields} for pk, fields in _fields(list(rows.values())).items()}
    nodes: dict[str, dict[str, Any]] = {}
    owner: dict[str, str] = {}  # field nodeId → graph API dataset id ("d3")

    def field_node(dataset_key: str, column: str | None) -> str:
        node = names[dataset_key]
        if node["hidden"]:
            marquez_id = HIDDEN_ID.format(kind="datasetField", ref=dataset_key)
            nodes.setdefault(marquez_id, {"id": marquez_id, "type": "DATASET_FIELD", "data": {"type": "DATASET_FIELD", "hidden": True},
                                          "inEdges": [], "outEdges": []})
            return marquez_id
        namespace, name = node["namespace"], node["name"]
        if start_row is not None and dataset_key == f"d{start_row.canonical_id or start_row.pk}":
            namespace, name = start_row.namespace, start_row.name
        marquez_id = f"datasetField:{namespace}:{name}:{column}"
        nodes.setdefault(marquez_id, {"id": marquez_id, "type": "DATASET_FIELD", "inEdges": [], "outEdges": [], "data": {
            "type": "DATASET_FIELD", "namespace": namespace, "dataset": name, "field": column,
            "fieldType": types.get(int(dataset_key[1:]), {}).get(column or "", "UNKNOWN"), "inputFields": []}})
        owner[marquez_id] = dataset_key
        return marquez_id

    indirect_by_target: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for edge in document["edges"]:
        for mapping in edge["columns"]:
            if mapping["to"] is None:
                indirect_by_target[edge["target"]].append((edge["source"], mapping["from"], mapping["transformation"]))
    for edge in document["edges"]:
        for mapping in edge["columns"]:
            if mapping["to"] is not None:
                _link(nodes, field_node(edge["source"], mapping["from"]), field_node(edge["target"], mapping["to"]), mapping["transformation"], "DIRECT")
    for target, sources in indirect_by_target.items():
        for field_id in [k for k, key in list(owner.items()) if key == target]:
            for source, column, how in sources:
                _link(nodes, field_node(source, column), field_id, how, "INDIRECT")
    return {"graph": list(nodes.values())}


def _link(nodes: dict[str, dict[str, Any]], origin: str, destination: str, transformation: str, kind: str) -> None:
    edge = {"origin": origin, "destination": destination}
    if edge not in nodes[origin]["outEdges"]:
        nodes[origin]["outEdges"].append(edge)
        nodes[destination]["inEdges"].append(edge)
    source = nodes[origin]["data"]
    if "field" in source:
        entry = {"namespace": source["namespace"], "dataset": source["dataset"], "field": source["field"],
                 "transformationDescription": transformation, "transformationType": kind}
        if entry not in nodes[destination]["data"].get("inputFields", []):
            nodes[destination]["data"].setdefault("inputFields", []).append(entry)


def _columns(g: Any, dataset_id: int) -> list[str]:
    """Columns of a dataset that column lineage knows: targets of its incoming and sources of its outgoing mappings."""
    found: dict[str, None] = {}
    for jobs in g._pred.get(dataset_id, {}).values():
        for mappings in jobs.values():
            found.update((m[1], None) for m in mappings if m[1])
    for jobs in g._succ.get(dataset_id, {}).values():
        for mappings in jobs.values():
            found.update((m[0], None) for m in mappings)
    return list(found)
