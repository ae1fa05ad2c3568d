"""Apache Iceberg tables of the Glue catalog, read with pyiceberg through the Glue catalog.

A Glue table whose ``table_type`` parameter is ICEBERG keeps its truth in the Iceberg metadata file
Glue points at (``metadata_location``): the current schema with field ids, the partition spec, the
sort order, the snapshots and the schema history. ``describe`` reads it (one Glue call, one S3 read of
the metadata JSON) and ``summarize`` turns it into the plain dict the dataset page's History tab and
``GET /api/v1/datasets/DB.TABLE/iceberg`` show. Glue's own change events already cover Iceberg
commits (each commit updates the Glue table's ``metadata_location``), so the sync's event path applies.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from django.conf import settings


class IcebergUnavailable(Exception):
    """The metadata could not be read (Glue or S3 unreachable, the table not Iceberg, a broken file)."""


def is_iceberg(parameters: Mapping[str, Any] | None) -> bool:
    """True for a Glue table of table type ICEBERG."""
    return str((parameters or {}).get("table_type", "")).upper() == "ICEBERG"


def catalog_properties() -> dict[str, Any]:
    """pyiceberg's Glue catalog configured like ``portal.aws`` (endpoint, region; default credentials)."""
    props: dict[str, Any] = {"glue.region": settings.AWS_DEFAULT_REGION, "s3.region": settings.AWS_DEFAULT_REGION}
    if settings.AWS_ENDPOINT_URL:
        props.update({"glue.endpoint": settings.AWS_ENDPOINT_URL, "s3.endpoint": settings.AWS_ENDPOINT_URL,
                      "s3.force-virtual-addressing": False})
    return props


def glue_catalog() -> Any:
    from pyiceberg.catalog.glue import GlueCatalog

    return GlueCatalog("glue", **catalog_properties())


def describe(database: str, table: str) -> dict[str, Any]:
    """The Iceberg metadata of ``database.table`` as ``summarize`` shapes it. Raises IcebergUnavailable."""
    try:
        loaded = glue_catalog().load_table(f"{database}.{table}")
    except Exception as exc:  # noqa: BLE001 - pyiceberg raises many kinds (botocore, OSError, its own)
        raise IcebergUnavailable(f"The Iceberg metadata of {database}.{table} could not be read: "
                                 f"{type(exc).__name__}: {exc}") from exc
    return summarize(loaded.metadata, loaded.metadata_location)


def _time(ms: int | None) -> str | None:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat() if ms is not None else None


def _fields(schema: Any) -> list[dict[str, Any]]:
    return [{"id": f.field_id, "name": f.name, "type": str(f.field_type), "required": bool(f.required),
             "doc": f.doc or ""} for f in schema.fields]


def schema_changes(schemas: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What each schema changed from the one before, by field id (pure): added, dropped, renamed, retyped."""
    changes = []
    for before, after in zip(schemas, schemas[1:]):
        old = {f["id"]: f for f in before["fields"]}
        new = {f["id"]: f for f in after["fields"]}
        changes.append({
            "schema_id": after["schema_id"],
            "added": [new[i]["name"] for i in new if i not in old],
            "dropped": [old[i]["name"] for i in old if i not in new],
            "renamed": [{"from": old[i]["name"], "to": new[i]["name"]} for i in new
                        if i in old and old[i]["name"] != new[i]["name"]],
            "retyped": [{"name": new[i]["name"], "from": old[i]["type"], "to": new[i]["type"]} for i in new
                        if i in old and old[i]["type"] != new[i]["type"]],
        })
    return changes


def _summary_int(summary: Mapping[str, Any], key: str) -> int:
    try:
        return int(summary.get(key, 0) or 0)
    except (TypeError, ValueError):
        return 0


def summarize(metadata: Any, metadata_location: str = "") -> dict[str, Any]:
    """A pyiceberg ``TableMetadata`` as plain data: schema with field ids, partition spec, sort order,
    snapshots (newest first) and schema changes."""
    schemas = [{"schema_id": s.schema_id, "fields": _fields(s)} for s in metadata.schemas]
    current = next((s for s in schemas if s["schema_id"] == metadata.current_schema_id), schemas[-1])
    names = {f["id"]: f["name"] for s in schemas for f in s["fields"]}
    spec = next((p for p in metadata.partition_specs if p.spec_id == metadata.default_spec_id), None)
    order = next((o for o in metadata.sort_orders if o.order_id == metadata.default_sort_order_id), None)
    snapshots = []
    for snapshot in sorted(metadata.snapshots, key=lambda s: s.timestamp_ms, reverse=True):
        summary = snapshot.summary
        details: Mapping[str, Any] = summary.additional_properties if summary is not None else {}
        operation = summary.operation.value if summary is not None and summary.operation is not None else ""
        snapshots.append({
            "snapshot_id": snapshot.snapshot_id, "parent_id": snapshot.parent_snapshot_id,
            "time": _time(snapshot.timestamp_ms), "operation": operation, "schema_id": snapshot.schema_id,
            "added_files": _summary_int(details, "added-data-files"),
            "removed_files": _summary_int(details, "deleted-data-files"),
            "added_records": _summary_int(details, "added-records"),
            "removed_records": _summary_int(details, "deleted-records"),
            "total_records": _summary_int(details, "total-records"),
        })
    return {
        "format_version": metadata.format_version,
        "table_uuid": str(metadata.table_uuid),
        "location": metadata.location,
        "metadata_location": metadata_location,
        "current_snapshot_id": metadata.current_snapshot_id,
        "current_schema_id": metadata.current_schema_id,
        "schema": current["fields"],
        "partition_spec": [{"source_id": f.source_id, "source": names.get(f.source_id, ""), "field_id": f.field_id,
                            "name": f.name, "transform": str(f.transform)} for f in (spec.fields if spec else [])],
        "sort_order": [{"source_id": f.source_id, "source": names.get(f.source_id, ""), "transform": str(f.transform),
                        "direction": str(f.direction.value if hasattr(f.direction, "value") else f.direction),
                        "null_order": str(f.null_order.value if hasattr(f.null_order, "value") else f.null_order)}
                       for f in (order.fields if order else [])],
        "snapshots": snapshots,
        "schema_changes": schema_changes(schemas),
    }
