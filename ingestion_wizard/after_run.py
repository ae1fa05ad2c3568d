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

from ingestion_wizard.executor import RunResult
from ingestion_wizard.models import Pipeline
from portal import aws

log = logging.getLogger(__name__)
PRODUCER = "https://github.com/datahub-portal/ingestion_wizard"


def refresh_catalog(p: Pipeline, table_names: list[str]) -> list[int]:
    """Brings the catalog mirror up to date for ``database.table`` names through the catalog
    sync's ``refresh_tables`` (which sends ``tables_changed``, so search follows); returns the
    Table ids. Raises RuntimeError with the sync's own error when the refresh failed.
    """
    from catalog.models import Table
    from catalog.services.operations import RefreshQueued, refresh_tables_or_queue
    from catalog.services.sync import ensure_catalogs

    catalogs = ensure_catalogs()
    catalog = next((c for c in catalogs if c.account_id == aws.account_id()
                    and c.region == settings.AWS_DEFAULT_REGION), None)
    if catalog is None:
        raise RuntimeError(f"GLUE_CATALOGS does not include {aws.account_id()}:{settings.AWS_DEFAULT_REGION}, "
                           "where pipelines create their tables.")
    pairs = [(db, table) for db, _, table in (name.partition(".") for name in table_names)]
    try:
        run = refresh_tables_or_queue(catalog, pairs)
    except RefreshQueued as exc:
        raise RuntimeError(str(exc)) from exc
    if run.error:
        raise RuntimeError(run.error)
    return list(Table.objects.live().filter(catalog=catalog, database_name=p.target_database,
                                            name__in=[t for _, t in pairs]).values_list("pk", flat=True))


def source_namespace(p: Pipeline) -> str:
    scheme = {"postgresql": "postgres", "mysql": "mysql", "oracle": "oracle", "sqlserver": "sqlserver"}
    return f"{scheme.get(p.source_kind, p.source_kind)}://{p.host}:{p.port}"


def source_name(p: Pipeline, source_ref: str) -> str:
    """OpenLineage dataset name: ``database.schema.table`` (PostgreSQL), ``database.table`` (MySQL,
    where the schema is the database)."""
    if p.source_kind == "mysql":
        return f"{p.source_database}.{source_ref.rpartition('.')[2]}"
    return f"{p.source_database}.{source_ref}"


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
        "inputs": [{"namespace": source_namespace(p), "name": source_name(p, source_ref)}],
        "outputs": [{"namespace": f"arn:aws:glue:{settings.AWS_DEFAULT_REGION}:{aws.account_id()}",
                     "name": f"table/{database}/{table}"}],
    }


def record_lineage(p: Pipeline, result: RunResult, at: datetime, user: Any = None) -> int:
    """Sends one event per loaded table to the lineage service; returns how many were accepted."""
    from lineage.services import ingest_event
    sent = 0
    for load in result.loads:
        ingest_event(lineage_event(p, str(uuid.uuid4()), load.source, load.target, at), user=user, hub=p.hub)
        sent += 1
    return sent


def announce(p: Pipeline, result: RunResult, at: datetime) -> None:
    from workspaces.notifications import publish_new_data

    for load in result.loads:
        publish_new_data(load.target, partition=result.partition, rows=load.rows, at=at, source="ingestion")
