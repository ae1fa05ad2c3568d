"""Shared test helpers of the lineage app.

Who may see what (see portal.testing.personas): finance roles see public and
finance-hub datasets; the marketing consumer sees public and marketing ones.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from catalog.models import Database, GlueCatalog, Table
from lineage import event_queue, queries


@pytest.fixture(autouse=True)
def fresh_graph() -> Iterator[None]:
    # Each test's database rolls back; the process's in-memory graph must not outlive it.
    queries.forget_graph()
    yield
    queries.forget_graph()


def post_event(client: Any, event: Any, *, apply: bool = True, **extra: Any) -> Any:
    """POST one event to the intake; with ``apply``, then do what the worker does next (apply the
    queued events), so the test reads the graph as a client would a moment later."""
    body = event if isinstance(event, (str, bytes)) else json.dumps(event)
    response = client.post("/api/v1/lineage", data=body, content_type="application/json", **extra)
    if apply:
        apply_queued()
    return response


def apply_queued() -> event_queue.ApplyReport:
    """Apply the events the intake stored, as the worker's task does after each burst (tests call
    it rather than wait for a worker; test_event_queue.py drives the worker itself)."""
    return event_queue.apply_pending()


def make_table(
    database: str,
    name: str,
    *,
    hub: str = "finance",
    visibility: str = "public",
    location: str = "",
    view_sql: str = "",
    columns: list[tuple[str, str]] = (),  # type: ignore[assignment]
    region: str = "eu-central-1",
    account: str = "123456789012",
) -> Table:
    catalog, _ = GlueCatalog.objects.get_or_create(account_id=account, region=region)
    db, _ = Database.objects.get_or_create(catalog=catalog, name=database, defaults={"hub": hub, "visibility": visibility})
    table = Table.objects.create(
        catalog=catalog, database=db, database_name=database, name=name, hub=hub, visibility=visibility,
        location=location, view_sql=view_sql, table_type="VIRTUAL_VIEW" if view_sql else "EXTERNAL_TABLE",
        column_count=len(columns),
    )
    for position, (column, kind) in enumerate(columns):
        table.columns.create(name=column, type=kind, position=position)
    return table


def run_event(inputs: list[tuple[str, str]], outputs: list[tuple[str, str]], *, job: str = "job", run_id: str = "3f5e83fa-3480-44ff-99c5-ff943904e5e8",
              event_type: str = "COMPLETE", event_time: str = "2024-05-01T12:00:00Z", columns: dict[str, list[tuple[str, str, str]]] | None = None,
              transformations: dict[str, str] | None = None) -> dict[str, Any]:
    """A minimal valid RunEvent; ``columns`` maps output column → [(input ns, input name, input field)];
    ``transformations`` output column → "TYPE/SUBTYPE" (e.g. "DIRECT/IDENTITY") for all its inputs."""
    def field(a: str, b: str, c: str, out: str) -> dict[str, Any]:
        item = {"namespace": a, "name": b, "field": c}
        if transformations and out in transformations:
            kind, _, subtype = transformations[out].partition("/")
            item["transformations"] = [{"type": kind, "subtype": subtype}]
        return item

    def dataset(ns: str, name: str, with_columns: bool) -> dict[str, Any]:
        item: dict[str, Any] = {"namespace": ns, "name": name}
        if with_columns and columns:
            item["facets"] = {"columnLineage": {"fields": {
                out: {"inputFields": [field(a, b, c, out) for a, b, c in sources]} for out, sources in columns.items()
            }}}
        return item

    return {
        "eventType": event_type,
        "eventTime": event_time,
        "producer": "https://example.com/test",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": run_id},
        "job": {"namespace": "tests", "name": job},
        "inputs": [dataset(ns, n, False) for ns, n in inputs],
        "outputs": [dataset(ns, n, True) for ns, n in outputs],
    }
