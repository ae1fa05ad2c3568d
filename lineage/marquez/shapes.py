"""Marquez JSON objects (Dataset, Job, Run, versions) built from lineage rows; no queries here.

Versions: Marquez names each version with a UUID. Here they are derived, so every process and
every request names a version alike: a dataset version is one run's write of the dataset
(``dataset_version``), a job version the set of datasets one run read and wrote
(``job_version``, so a job whose inputs change gets a new version, as in Marquez).

OpenAPI 3.0 has no null for these fields: values not known are left out rather than sent as null.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from lineage.models import Dataset, Job, Run

# The ``_producer`` of facets the portal writes itself (catalog facts), and of stored facets a
# producer sent without one (Marquez's facet schema requires both keys).
PRODUCER = "https://github.com/datahub-portal/lineage/marquez"
SCHEMA_BASE = "https://openlineage.io/spec/facets/1-0-0/"
_VERSIONS = uuid.UUID("6f1c1d64-3f5e-4c43-9a53-4d2b8f0a7e11")  # the uuid5 namespace of derived versions

# OpenLineage event types → Marquez run states.
RUN_STATES = {"START": "RUNNING", "RUNNING": "RUNNING", "COMPLETE": "COMPLETED", "FAIL": "FAILED", "ABORT": "ABORTED"}
STREAM_SCHEMES = ("kafka://", "kinesis://", "pubsub://", "pulsar://")


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def compact(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` without its None values (see the module docstring)."""
    return {k: v for k, v in obj.items() if v is not None}


def dataset_version(run_uuid: uuid.UUID, dataset_id: int) -> str:
    return str(uuid.uuid5(_VERSIONS, f"dataset:{run_uuid}:{dataset_id}"))


def job_version(namespace: str, name: str, inputs: Iterable[tuple[str, str]], outputs: Iterable[tuple[str, str]]) -> str:
    text = "\n".join([namespace, name, "in", *sorted(f"{a}|{b}" for a, b in inputs), "out", *sorted(f"{a}|{b}" for a, b in outputs)])
    return str(uuid.uuid5(_VERSIONS, "job:" + text))


def facets(raw: dict[str, Any] | None) -> dict[str, Any]:
    """Stored facets as Marquez's facet schema wants them: objects carrying ``_producer`` and ``_schemaURL``."""
    result: dict[str, Any] = {}
    for name, facet in (raw or {}).items():
        if not isinstance(facet, dict):
            continue
        result[name] = {"_producer": PRODUCER, "_schemaURL": f"{SCHEMA_BASE}{name}.json", **facet}
        for key in ("_producer", "_schemaURL"):
            if not isinstance(result[name][key], str) or not result[name][key]:
                result[name][key] = PRODUCER if key == "_producer" else f"{SCHEMA_BASE}{name}.json"
    return result


def dataset_id(namespace: str, name: str) -> dict[str, str]:
    return {"namespace": namespace, "name": name}


def dataset_type(namespace: str) -> str:
    return "STREAM" if namespace.startswith(STREAM_SCHEMES) else "DB_TABLE"


def fields_of(schema_fields: Sequence[Any]) -> list[dict[str, Any]]:
    """OpenLineage schema facet fields → Marquez fields ({name, type, tags, description})."""
    found = []
    for item in schema_fields or []:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            found.append(compact({"name": item["name"], "type": str(item.get("type") or "UNKNOWN"), "tags": [],
                                  "description": item.get("description") if isinstance(item.get("description"), str) else None}))
    return found


def dataset(row: Dataset, *, catalog: dict[str, Any] | None, current: dict[str, Any] | None) -> dict[str, Any]:
    """A Marquez Dataset under the identity ``row`` (the name it was asked by).

    ``catalog``: ``catalog.queries.dataset_detail`` of its table (description, owner, tags and
    columns the portal knows override what the events said); ``current``: its latest version
    ({version, facets, at}) or None when no run ever wrote it."""
    fields = fields_of(row.schema_fields)
    description = None
    tags: list[str] = []
    extra: dict[str, Any] = {}
    if catalog is not None:
        fields = [compact({"name": c["name"], "type": c["type"] or "UNKNOWN", "tags": ["PII"] if c.get("pii") else [],
                           "description": c["comment"] or None}) for c in catalog["columns"]]
        description = catalog["description"] or None
        tags = list(catalog["curation"]["tags"])
        if catalog["owner"]:
            extra["ownership"] = {"_producer": PRODUCER, "_schemaURL": f"{SCHEMA_BASE}OwnershipDatasetFacet.json",
                                  "owners": [{"name": catalog["owner"], "type": "OWNER"}]}
    facet_map = {**facets(current["facets"] if current else {}), **extra}
    return compact({
        "id": dataset_id(row.namespace, row.name),
        "type": dataset_type(row.namespace),
        "name": row.name,
        "physicalName": row.name,
        "createdAt": iso(row.created_at),
        "updatedAt": iso(row.updated_at),
        "namespace": row.namespace,
        "sourceName": row.namespace,
        "fields": fields,
        "tags": tags,
        "lastModifiedAt": iso(current["at"]) if current else None,
        "description": description,
        "facets": facet_map,
        "currentVersion": current["version"] if current else None,
        "deleted": False,
    })


def run(row: Run, *, job: Job, version: str, inputs: list[dict[str, Any]], outputs: list[dict[str, Any]]) -> dict[str, Any]:
    """A Marquez Run; ``inputs``/``outputs``: [{namespace, name, version, facets}] the role may see."""
    nominal = row.facets.get("nominalTime") if isinstance(row.facets.get("nominalTime"), dict) else {}
    duration = int((row.ended_at - row.started_at).total_seconds() * 1000) if row.started_at and row.ended_at else None
    return compact({
        "id": str(row.run_id),
        "createdAt": iso(row.created_at),
        "updatedAt": iso(row.state_at or row.created_at),
        "nominalStartTime": nominal.get("nominalStartTime") if isinstance(nominal.get("nominalStartTime"), str) else None,
        "nominalEndTime": nominal.get("nominalEndTime") if isinstance(nominal.get("nominalEndTime"), str) else None,
        "state": RUN_STATES.get(row.state, "RUNNING" if row.started_at else "NEW"),
        "startedAt": iso(row.started_at),
        "endedAt": iso(row.ended_at),
        "durationMs": duration,
        "args": {},
        "jobVersion": {"namespace": job.namespace, "name": job.name, "version": version},
        "inputDatasetVersions": [_dataset_version_ref(d) for d in inputs],
        "outputDatasetVersions": [_dataset_version_ref(d) for d in outputs],
        "context": {},
        "facets": facets(row.facets),
    })


def _dataset_version_ref(item: dict[str, Any]) -> dict[str, Any]:
    return {"datasetVersionId": {"namespace": item["namespace"], "name": item["name"], "version": item["version"]},
            "facets": facets(item.get("facets"))}


def job(row: Job, *, inputs: list[dict[str, str]], outputs: list[dict[str, str]], latest_runs: list[dict[str, Any]],
        version: str | None) -> dict[str, Any]:
    """A Marquez Job (its current inputs and outputs the role may see, its latest runs first)."""
    source = row.facets.get("sourceCodeLocation") if isinstance(row.facets.get("sourceCodeLocation"), dict) else {}
    documentation = row.facets.get("documentation") if isinstance(row.facets.get("documentation"), dict) else {}
    job_type = row.facets.get("jobType") if isinstance(row.facets.get("jobType"), dict) else {}
    return compact({
        "id": {"namespace": row.namespace, "name": row.name},
        "type": "STREAM" if job_type.get("processingType") == "STREAMING" else "BATCH",
        "name": row.name,
        "simpleName": row.name.rsplit(".", 1)[-1],
        "createdAt": iso(row.created_at),
        "updatedAt": iso(row.updated_at),
        "namespace": row.namespace,
        "inputs": inputs,
        "outputs": outputs,
        "location": source.get("url") if isinstance(source.get("url"), str) else None,
        "context": {},
        "description": documentation.get("description") if isinstance(documentation.get("description"), str) else None,
        "latestRun": latest_runs[0] if latest_runs else None,
        "latestRuns": latest_runs,
        "facets": facets(row.facets),
        "currentVersion": version,
    })
