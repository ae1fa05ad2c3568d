"""OpenLineage event validation and reading (pure, no ORM).

``parse_event`` checks what the OpenLineage spec (2-0-2) requires of a
RunEvent, DatasetEvent or JobEvent and returns a ``ParsedEvent``; it raises
``EventInvalid`` naming the offending field (``inputs[1].name``) otherwise.
Unknown facets are kept verbatim in the stored event and otherwise ignored,
as the spec asks of consumers.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

RUN_STATES = ("START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER")


class EventInvalid(ValueError):
    """The event breaks the spec; ``field`` is a path into the event such as ``run.runId``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ColumnMapping:
    source_namespace: str
    source_name: str
    source_column: str
    target_column: str
    transformation: str


@dataclass
class DatasetRef:
    namespace: str
    name: str
    schema_fields: list[dict[str, Any]] | None = None
    columns: list[ColumnMapping] = field(default_factory=list)
    symlinks: list[tuple[str, str]] = field(default_factory=list)
    facets: dict[str, Any] = field(default_factory=dict)


@dataclass
class ParsedEvent:
    kind: str  # "run" | "dataset" | "job"
    event_time: datetime
    producer: str
    event_type: str = ""
    run_id: uuid.UUID | None = None
    parent_run_id: uuid.UUID | None = None
    job_namespace: str = ""
    job_name: str = ""
    job_facets: dict[str, Any] = field(default_factory=dict)
    run_facets: dict[str, Any] = field(default_factory=dict)
    inputs: list[DatasetRef] = field(default_factory=list)
    outputs: list[DatasetRef] = field(default_factory=list)
    dataset: DatasetRef | None = None


def _require(obj: dict[str, Any], key: str, path: str) -> Any:
    if key not in obj or obj[key] is None:
        raise EventInvalid(f"{path}{key}", "is required")
    return obj[key]


# Longest namespace/name we store (see lineage.models); longer ones are refused, not cut.
MAX_LENGTH = {"namespace": 512, "name": 1024, "field": 255}


def _text_schema(key: str) -> dict[str, Any]:
    """A string as ``_string`` takes it: something besides spaces, no NUL, at most MAX_LENGTH[key]."""
    return {"type": "string", "pattern": r"^[^\x00]*[^\s\x00][^\x00]*$", "maxLength": MAX_LENGTH.get(key, 10_000)}


_NAMED = {"type": "object", "required": ["namespace", "name"],
          "properties": {"namespace": _text_schema("namespace"), "name": _text_schema("name"),
                         "facets": {"type": ["object", "null"]}}}
_NOT_A_RUN = {"not": {"anyOf": [{"required": ["run"]}, {"required": ["eventType"]}]}}
# The request body of POST /api/v1/lineage as parse_event reads it (OpenAPI 3.1 / JSON Schema),
# for the API's schema: a RunEvent (run and job), a DatasetEvent (dataset) or a JobEvent (job).
EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["eventTime", "producer"],
    "properties": {
        "eventTime": {"type": "string", "format": "date-time"},
        "producer": _text_schema("producer"),
        "schemaURL": {"type": "string"},
        "eventType": {"enum": [*RUN_STATES, None]},
        "run": {"type": "object", "required": ["runId"],
                "properties": {"runId": {"type": "string", "format": "uuid"}, "facets": {"type": ["object", "null"]}}},
        "job": _NAMED,
        "dataset": _NAMED,
        "inputs": {"type": ["array", "null"], "items": _NAMED},
        "outputs": {"type": ["array", "null"], "items": _NAMED},
    },
    "anyOf": [{"required": ["run", "job"]}, {"required": ["dataset"], **_NOT_A_RUN},
              {"required": ["job"], **_NOT_A_RUN}],
}


def _string(obj: dict[str, Any], key: str, path: str) -> str:
    value = _require(obj, key, path)
    if not isinstance(value, str) or not value.strip():
        raise EventInvalid(f"{path}{key}", "must be a non-empty string")
    if len(value) > MAX_LENGTH.get(key, 10_000) or "\x00" in value:
        raise EventInvalid(f"{path}{key}", f"must be at most {MAX_LENGTH.get(key, 10_000)} characters, without NUL")
    return value


def _object(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise EventInvalid(path, "must be an object")
    return value


def _facets(obj: dict[str, Any], path: str) -> dict[str, Any]:
    """An object's facets: an object, or none (missing or null); anything else breaks the spec."""
    value = obj.get("facets")
    return {} if value is None else _object(value, path)


def _uuid(value: Any, path: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise EventInvalid(path, "must be a UUID") from None


def _time(value: Any, path: str) -> datetime:
    if not isinstance(value, str):
        raise EventInvalid(path, "must be an ISO 8601 date-time string")
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise EventInvalid(path, f"is not an ISO 8601 date-time: {value!r}") from None
    if parsed.tzinfo is None:
        raise EventInvalid(path, "needs a time zone offset")
    return parsed


def _input_field(item: Any, item_path: str, column: str, legacy: str) -> ColumnMapping:
    item = _object(item, item_path)
    transformations = item.get("transformations") or []
    if not isinstance(transformations, list):
        raise EventInvalid(f"{item_path}.transformations", "must be a list")
    described = ", ".join(
        "/".join(str(t.get(k)) for k in ("type", "subtype") if isinstance(t, dict) and t.get(k))
        for t in transformations
    )
    return ColumnMapping(
        _string(item, "namespace", f"{item_path}."),
        _string(item, "name", f"{item_path}."),
        _string(item, "field", f"{item_path}."),
        column,
        (described or legacy)[:255],
    )


def _column_mappings(facet: Any, path: str, target_ns: str, target_name: str) -> list[ColumnMapping]:
    """Field-level mappings, then the dataset-level ones (the facet's ``dataset`` array: columns that
    filter, join or group the whole output) with target column "" and an INDIRECT transformation."""
    facet = _object(facet, path)
    fields = _object(facet.get("fields", {}), f"{path}.fields")
    mappings: list[ColumnMapping] = []
    for column, spec in fields.items():
        spec_path = f"{path}.fields.{column}"
        spec = _object(spec, spec_path)
        inputs = spec.get("inputFields", [])
        if not isinstance(inputs, list):
            raise EventInvalid(f"{spec_path}.inputFields", "must be a list")
        # Facet 1-0 put the transformation on the output field; 1-1+ puts a list on each input.
        legacy = "/".join(t for t in (spec.get("transformationType"), spec.get("transformationDescription")) if t)
        mappings += [_input_field(item, f"{spec_path}.inputFields[{i}]", str(column), legacy) for i, item in enumerate(inputs)]
    whole = facet.get("dataset") or []
    if not isinstance(whole, list):
        raise EventInvalid(f"{path}.dataset", "must be a list")
    for i, item in enumerate(whole):
        mapping = _input_field(item, f"{path}.dataset[{i}]", "", "")
        if not is_indirect(mapping.transformation):
            # The array holds indirect dependencies by definition; say so when the producer did not.
            how = "INDIRECT" + (f", {mapping.transformation}" if mapping.transformation else "")
            mapping = ColumnMapping(mapping.source_namespace, mapping.source_name, mapping.source_column, "", how[:255])
        mappings.append(mapping)
    return mappings


# Transformations that copy a column unchanged (possibly renamed): what curation propagates along.
# "DIRECT/IDENTITY" from facet 1-1+ and view SQL, "IDENTITY" from facet 1-0, "DIRECT" without a subtype.
DIRECT_COPY_TRANSFORMATIONS = ("DIRECT/IDENTITY", "IDENTITY", "DIRECT")


def is_direct_copy(transformation: str) -> bool:
    """Whether a stored transformation says the target column is a copy of the source column."""
    return transformation in DIRECT_COPY_TRANSFORMATIONS


def is_indirect(transformation: str) -> bool:
    """Whether a stored transformation describes an INDIRECT dependency (filter, join, group, sort…)."""
    return transformation.startswith("INDIRECT")


def _dataset(value: Any, path: str) -> DatasetRef:
    obj = _object(value, path)
    namespace = _string(obj, "namespace", f"{path}.")
    name = _string(obj, "name", f"{path}.")
    facets = _facets(obj, f"{path}.facets")
    ref = DatasetRef(namespace, name, facets=facets)
    schema = facets.get("schema")
    if schema is not None:
        fields = _object(schema, f"{path}.facets.schema").get("fields", [])
        if not isinstance(fields, list):
            raise EventInvalid(f"{path}.facets.schema.fields", "must be a list")
        ref.schema_fields = []
        for i, item in enumerate(fields):
            item = _object(item, f"{path}.facets.schema.fields[{i}]")
            ref.schema_fields.append(
                {
                    "name": _string(item, "name", f"{path}.facets.schema.fields[{i}]."),
                    "type": str(item.get("type") or ""),
                    "description": str(item.get("description") or ""),
                }
            )
    if facets.get("columnLineage") is not None:
        ref.columns = _column_mappings(facets["columnLineage"], f"{path}.facets.columnLineage", namespace, name)
    symlinks = facets.get("symlinks")
    if isinstance(symlinks, dict):
        for ident in symlinks.get("identifiers") or []:
            if isinstance(ident, dict) and ident.get("namespace") and ident.get("name"):
                ref.symlinks.append((str(ident["namespace"]), str(ident["name"])))
    return ref


def _datasets(event: dict[str, Any], key: str) -> list[DatasetRef]:
    value = event.get(key)
    value = [] if value is None else value
    if not isinstance(value, list):
        raise EventInvalid(key, "must be a list")
    return [_dataset(item, f"{key}[{i}]") for i, item in enumerate(value)]


def _job_and_datasets(event: dict[str, Any], job: dict[str, Any]) -> dict[str, Any]:
    """The job identity and its input/output datasets, as RunEvents and JobEvents both carry them."""
    return {
        "job_namespace": _string(job, "namespace", "job."),
        "job_name": _string(job, "name", "job."),
        "job_facets": _facets(job, "job.facets"),
        "inputs": _datasets(event, "inputs"),
        "outputs": _datasets(event, "outputs"),
    }


def parse_event(event: Any) -> ParsedEvent:
    """Validate ``event`` (a decoded JSON value) and read what lineage needs from it."""
    if not isinstance(event, dict):
        raise EventInvalid("body", "must be a JSON object (one OpenLineage event)")
    event_time = _time(_require(event, "eventTime", ""), "eventTime")
    producer = _string(event, "producer", "")
    if "schemaURL" in event and not isinstance(event["schemaURL"], str):
        raise EventInvalid("schemaURL", "must be a string")
    # A part the event's kind does not read must still be well formed: the spec (and the API's
    # schema) hold the whole event.
    for key in ("job", "dataset"):
        if key in event:
            _dataset(event[key], key)

    if "run" in event or "eventType" in event:
        run = _object(_require(event, "run", ""), "run")
        job = _object(_require(event, "job", ""), "job")
        event_type = event.get("eventType")
        if event_type is None:
            event_type = ""
        elif not isinstance(event_type, str) or event_type not in RUN_STATES:
            raise EventInvalid("eventType", f"must be one of {', '.join(RUN_STATES)}")
        parent_run_id = None
        parent = _facets(run, "run.facets").get("parent")
        if isinstance(parent, dict) and isinstance(parent.get("run"), dict) and parent["run"].get("runId"):
            try:
                parent_run_id = uuid.UUID(str(parent["run"]["runId"]))
            except ValueError:
                parent_run_id = None  # a broken optional facet does not make the event invalid
        return ParsedEvent(
            kind="run",
            run_facets=_facets(run, "run.facets"),
            event_time=event_time,
            producer=producer,
            event_type=event_type,
            run_id=_uuid(_require(run, "runId", "run."), "run.runId"),
            parent_run_id=parent_run_id,
            **_job_and_datasets(event, job),
        )
    if "dataset" in event:
        return ParsedEvent(kind="dataset", event_time=event_time, producer=producer, dataset=_dataset(event["dataset"], "dataset"))
    if "job" in event:
        job = _object(event["job"], "job")
        return ParsedEvent(kind="job", event_time=event_time, producer=producer, **_job_and_datasets(event, job))
    raise EventInvalid("run", "is required (a RunEvent needs run and job; a DatasetEvent dataset; a JobEvent job)")
