"""Run and job semantics as Marquez keeps them, driven through openlineage-python's HTTP transport
(with and without gzip) against the live server; the graph and impact APIs then answer as Marquez would.

Roles: the finance provider posts (etl_bot); the admin reads everything.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import column_lineage_dataset
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpCompression, HttpConfig, HttpTransport

from lineage.models import ColumnEdge, Edge, RunDataset
from identity.roles import Role
from portal.testing.personas import login_persona, token_for

PRODUCER = "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/client/python"
PG = "postgres://crm.internal:5432"
T0 = datetime(2024, 6, 1, 8, 0, tzinfo=timezone.utc)

pytestmark = pytest.mark.django_db(transaction=True)


def ol_client(live_server: Any, gzip: bool) -> OpenLineageClient:
    token = token_for("etl_bot", Role("provider", "finance"))
    config = HttpConfig(url=live_server.url, endpoint="api/v1/lineage", auth=ApiKeyTokenProvider({"apiKey": token}), retry={"total": 0},
                        compression=HttpCompression.GZIP if gzip else None)
    return OpenLineageClient(transport=HttpTransport(config))


def emit(client: OpenLineageClient, state: RunState, run: str, job: str, minutes: int, inputs=(), outputs=()) -> None:
    client.emit(RunEvent(eventType=state, eventTime=(T0 + timedelta(minutes=minutes)).isoformat(), run=Run(runId=run),
                         job=Job(namespace="airflow", name=job), producer=PRODUCER, inputs=list(inputs), outputs=list(outputs)))


def pg(name: str) -> InputDataset:
    return InputDataset(namespace=PG, name=name)


def out(name: str, facets: dict | None = None) -> OutputDataset:
    return OutputDataset(namespace=PG, name=name, facets=facets or {})


def upstream(client: Any, name: str, **params: Any) -> set[str]:
    doc = client.get("/api/v1/lineage/graph", {"node": f"{PG}/{name}", "direction": "upstream", "depth": 1, **params})
    assert doc.status_code == 200, doc.content
    return {n["name"] for n in doc.json()["nodes"] if n["kind"] == "dataset" and not n["hidden"]} - {name}


@pytest.mark.parametrize("gzip", [False, True], ids=["plain", "gzip"])
def test_inputs_on_start_and_outputs_on_complete_make_one_edge(live_server, client, gzip):
    ol = ol_client(live_server, gzip)
    run = str(uuid.uuid4())
    emit(ol, RunState.START, run, "trino_load", 0, inputs=[pg("shop.public.orders")])
    emit(ol, RunState.COMPLETE, run, "trino_load", 1, outputs=[out("shop.public.daily")])
    edge = Edge.objects.get()
    assert (edge.source.name, edge.target.name) == ("shop.public.orders", "shop.public.daily")
    login_persona(client, "admin")
    assert upstream(client, "shop.public.daily") == {"shop.public.orders"}


def test_a_job_whose_inputs_change_loses_its_old_edges_but_history_and_at_keep_them(live_server, client):
    ol = ol_client(live_server, gzip=False)
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    emit(ol, RunState.START, first, "daily", 0, inputs=[pg("a.public.old")], outputs=[out("a.public.report")])
    emit(ol, RunState.COMPLETE, first, "daily", 5)
    emit(ol, RunState.START, second, "daily", 60, inputs=[pg("a.public.new")], outputs=[out("a.public.report")])
    login_persona(client, "admin")
    # The second run is still running: the job's current version is the first run's.
    assert upstream(client, "a.public.report") == {"a.public.old"}
    emit(ol, RunState.COMPLETE, second, "daily", 65)
    assert upstream(client, "a.public.report") == {"a.public.new"}
    assert upstream(client, "a.public.report", at=(T0 + timedelta(minutes=30)).isoformat()) == {"a.public.old"}
    impact = client.get("/api/v1/lineage/impact", {"node": f"{PG}/a.public.old", "at": (T0 + timedelta(minutes=30)).isoformat()}).json()
    assert [r["name"] for r in impact["results"]] == ["a.public.report"]
    assert client.get("/api/v1/lineage/impact", {"node": f"{PG}/a.public.old"}).json()["count"] == 0
    # History: each run still says what it read.
    reads = {str(r.run.run_id): r.dataset.name for r in RunDataset.objects.filter(direction="in").select_related("run", "dataset")}
    assert reads == {first: "a.public.old", second: "a.public.new"}
    assert client.get("/api/v1/lineage/graph", {"node": f"{PG}/a.public.report", "at": "yesterday"}).status_code == 400


@pytest.mark.parametrize("final", [RunState.FAIL, RunState.ABORT])
def test_a_failed_or_aborted_run_changes_nothing_current(live_server, client, final):
    ol = ol_client(live_server, gzip=True)
    good, bad = str(uuid.uuid4()), str(uuid.uuid4())
    emit(ol, RunState.COMPLETE, good, "nightly", 0, inputs=[pg("b.public.src")], outputs=[out("b.public.dst")])
    emit(ol, RunState.START, bad, "nightly", 10, inputs=[pg("b.public.other")], outputs=[out("b.public.dst")])
    emit(ol, final, bad, "nightly", 11)
    login_persona(client, "admin")
    assert upstream(client, "b.public.dst") == {"b.public.src"}
    assert RunDataset.objects.filter(run__run_id=bad, dataset__name="b.public.other").exists()


def test_direct_and_indirect_column_lineage_are_stored_shown_and_filtered(live_server, client):
    ol = ol_client(live_server, gzip=False)
    facet = column_lineage_dataset.ColumnLineageDatasetFacet(
        fields={"total": column_lineage_dataset.Fields(inputFields=[column_lineage_dataset.InputField(
            namespace=PG, name="c.public.orders", field="amount",
            transformations=[column_lineage_dataset.Transformation(type="DIRECT", subtype="AGGREGATION")])])},
        dataset=[column_lineage_dataset.InputField(namespace=PG, name="c.public.orders", field="status",
                                                   transformations=[column_lineage_dataset.Transformation(type="INDIRECT", subtype="FILTER")])],
    )
    emit(ol, RunState.COMPLETE, str(uuid.uuid4()), "agg", 0, inputs=[pg("c.public.orders")], outputs=[out("c.public.totals", {"columnLineage": facet})])
    assert set(ColumnEdge.objects.values_list("source_column", "target_column", "transformation")) == {
        ("amount", "total", "DIRECT/AGGREGATION"), ("status", "", "INDIRECT/FILTER")}
    login_persona(client, "admin")
    params = {"node": f"{PG}/c.public.totals", "direction": "upstream", "depth": 1}
    columns = client.get("/api/v1/lineage/graph", params).json()["edges"][0]["columns"]
    assert sorted(columns, key=lambda c: c["from"]) == [
        {"from": "amount", "to": "total", "transformation": "DIRECT/AGGREGATION", "kind": "DIRECT"},
        {"from": "status", "to": None, "transformation": "INDIRECT/FILTER", "kind": "INDIRECT"},
    ]
    direct_only = client.get("/api/v1/lineage/graph", {**params, "indirect": "exclude"}).json()["edges"][0]["columns"]
    assert [c["from"] for c in direct_only] == ["amount"]
    # Column walks follow field-to-field mappings only.
    walked = client.get("/api/v1/lineage/impact", {"node": f"{PG}/c.public.orders", "column": "status"}).json()
    assert walked["count"] == 0
    assert client.get("/api/v1/lineage/impact", {"node": f"{PG}/c.public.orders", "column": "amount"}).json()["results"][0]["column"] == "total"


def test_a_dataset_outside_the_catalog_belongs_to_its_producer_and_readers_see_their_inputs(live_server, client):
    finance = ol_client(live_server, gzip=False)
    marketing_token = token_for("mkt_bot", Role("provider", "marketing"))
    marketing = OpenLineageClient(transport=HttpTransport(HttpConfig(
        url=live_server.url, endpoint="api/v1/lineage", auth=ApiKeyTokenProvider({"apiKey": marketing_token}), retry={"total": 0})))
    # Marketing's job reads the JDBC table first; finance's job produces it afterwards.
    emit(marketing, RunState.COMPLETE, str(uuid.uuid4()), "mkt_job", 0, inputs=[pg("d.public.shared")], outputs=[out("d.public.mkt_out")])
    emit(finance, RunState.COMPLETE, str(uuid.uuid4()), "fin_job", 5, inputs=[pg("d.public.raw")], outputs=[out("d.public.shared")])
    from lineage.models import Dataset

    assert Dataset.objects.get(name="d.public.shared").hub == "finance"  # the producer, not the first reader
    assert Dataset.objects.get(name="d.public.mkt_out").hub == "marketing"
    login_as_marketing_provider(client)
    doc = client.get("/api/v1/lineage/graph", {"node": f"{PG}/d.public.mkt_out", "direction": "upstream", "depth": 1}).json()
    shared = [n for n in doc["nodes"] if n["kind"] == "dataset" and n["id"] != doc["nodes"][0]["id"] or n.get("name") == "d.public.shared"]
    assert any(n["name"] == "d.public.shared" and not n["hidden"] for n in shared)  # its own job's input


def login_as_marketing_provider(client: Any) -> None:
    from portal.testing.personas import login_as

    login_as(client, "mkt_person", Role("provider", "marketing"))
