"""What follows a successful run: the catalog learns the tables, lineage records
source → dataset, subscribers hear about the new data.

Each hook is independent: a failing one is logged on the run and the others still
happen (the data is already in the lake; the run itself succeeded).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ingestion_wizard.executor import RunResult
from ingestion_wizard.models import Pipeline
from portal import aws

log = logging.getLogger(__name__)
PRODUCER = "https://github.com/datahub-portal/ingestion_wizard"


def refresh_catalog(p: Pipeline, table_names: list[str]) -> list[int]:
    """Brings the catalog mirror up to date for ``database.table`` names; returns the Table ids.

    Uses the catalog sync's ``refresh_tables`` (it sends ``tables_changed``, so search
    follows); falls back to ``mirror_tables`` only where the catalog feature lacks it.
    Raises RuntimeError with the sync's own error when the refresh failed.
    """
    from catalog.models import Table

    try:
        from catalog.services.sync import ensure_catalogs, refresh_tables
    except ImportError:
        return mirror_tables(p, table_names)
    catalogs = ensure_catalogs()
    catalog = next((c for c in catalogs if c.account_id == aws.account_id()
                    and c.region == settings.AWS_DEFAULT_REGION), catalogs[0] if catalogs else None)
    if catalog is None:
        return mirror_tables(p, table_names)
    pairs = [tuple(name.split(".", 1)) for name in table_names]
    run = refresh_tables(catalog, pairs)
    if getattr(run, "error", ""):
        raise RuntimeError(run.error)
    return list(Table.objects.live().filter(catalog=catalog, database_name=p.target_database,
                                            name__in=[t for _, t in pairs]).values_list("pk", flat=True))


def mirror_tables(p: Pipeline, table_names: list[str]) -> list[int]:
    """Fallback mirror: upserts the Database, Tables, Columns and Partitions of the
    pipeline's Glue tables into the catalog models, then sends ``tables_changed`` on commit.
    """
    from catalog.models import Column, Database, GlueCatalog, Partition, Table
    from catalog.signals import tables_changed

    glue = aws.client("glue")
    gdb = glue.get_database(Name=p.target_database)["Database"]
    params = gdb.get("Parameters", {})
    now = timezone.now()
    ids: list[int] = []
    with transaction.atomic():
        catalog, _ = GlueCatalog.objects.get_or_create(account_id=aws.account_id(), region=settings.AWS_DEFAULT_REGION)
        db, _ = Database.objects.update_or_create(
            catalog=catalog, name=p.target_database,
            defaults={"description": gdb.get("Description", ""), "location_uri": gdb.get("LocationUri", ""),
                      "parameters": params, "hub": p.hub, "layer": p.layer,
                      "visibility": params.get("visibility", "hub"), "deleted_at": None},
        )
        for qualified in table_names:
            name = qualified.split(".", 1)[1]
            gt = glue.get_table(DatabaseName=p.target_database, Name=name)["Table"]
            sd = gt.get("StorageDescriptor", {})
            table, _ = Table.objects.update_or_create(
                catalog=catalog, database_name=p.target_database, name=name,
                defaults={
                    "database": db, "description": gt.get("Description", ""),
                    "table_type": gt.get("TableType", ""), "location": sd.get("Location", ""),
                    "format": gt.get("Parameters", {}).get("classification", ""),
                    "input_format": sd.get("InputFormat", ""),
                    "serde": sd.get("SerdeInfo", {}).get("SerializationLibrary", ""),
                    "parameters": gt.get("Parameters", {}), "owner": p.owner, "classification": p.classification,
                    "hub": p.hub, "layer": p.layer, "visibility": params.get("visibility", "hub"),
                    "column_count": len(sd.get("Columns", [])), "updated_at": gt.get("UpdateTime") or now,
                    "created_at": gt.get("CreateTime") or now, "deleted_at": None,
                },
            )
            table.columns.all().delete()
            Column.objects.bulk_create(
                [Column(table=table, name=c["Name"], type=c["Type"], comment=c.get("Comment", ""), position=i)
                 for i, c in enumerate(sd.get("Columns", []))]
                + [Column(table=table, name=c["Name"], type=c["Type"], position=i, is_partition_key=True)
                   for i, c in enumerate(gt.get("PartitionKeys", []))]
            )
            parts = glue.get_partitions(DatabaseName=p.target_database, TableName=name).get("Partitions", [])
            for part in parts:
                Partition.objects.update_or_create(
                    table=table, values_key="/".join(part["Values"]),
                    defaults={"values": part["Values"], "location": part.get("StorageDescriptor", {}).get("Location", ""),
                              "created_at": part.get("CreationTime") or now},
                )
            Table.objects.filter(pk=table.pk).update(partition_count=len(parts))
            ids.append(table.pk)
        transaction.on_commit(lambda: tables_changed.send(sender=Pipeline, catalog_id=catalog.pk, table_ids=ids))
    return ids


def source_namespace(p: Pipeline) -> str:
    scheme = {"postgresql": "postgres", "mysql": "mysql", "oracle": "oracle", "sqlserver": "sqlserver"}
    return f"{scheme.get(p.source_kind, p.source_kind)}://{p.host}:{p.port}"


def lineage_event(p: Pipeline, run_uuid: str, source_ref: str, target: str, at: datetime) -> dict[str, Any]:
    """An OpenLineage COMPLETE RunEvent: source table → Glue table."""
    database, table = target.split(".", 1)
    return {
        "eventType": "COMPLETE",
        "eventTime": at.isoformat(),
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": run_uuid},
        "job": {"namespace": f"datahub-ingestion://{p.hub}", "name": f"{p.name}.{table}"},
        "inputs": [{"namespace": source_namespace(p), "name": f"{p.source_database}.{source_ref}"}],
        "outputs": [{"namespace": f"arn:aws:glue:{settings.AWS_DEFAULT_REGION}:{aws.account_id()}",
                     "name": f"table/{database}/{table}"}],
    }


def record_lineage(p: Pipeline, result: RunResult, at: datetime, user: Any = None) -> int:
    """Sends one event per loaded table to the lineage service; returns how many were accepted."""
    try:
        from lineage.services import ingest_event  # type: ignore[attr-defined]
    except ImportError:
        log.info("lineage.services.ingest_event not available; lineage of %s not recorded", p.name)
        return 0
    sent = 0
    for load in result.loads:
        ingest_event(lineage_event(p, str(uuid.uuid4()), load.source, load.target, at), user=user)
        sent += 1
    return sent


def announce(p: Pipeline, result: RunResult, at: datetime) -> None:
    from workspaces.notifications import publish_new_data

    for load in result.loads:
        publish_new_data(load.target, partition=result.partition, rows=load.rows, at=at, source="ingestion")
