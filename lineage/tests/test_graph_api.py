"""GET /api/v1/lineage/graph and /impact: shape, depth, direction, columns, roles, cycles, freshness."""

from __future__ import annotations

import time

import pytest

from lineage import graph, queries, services
from lineage.models import Edge
from lineage.tests.conftest import make_table, run_event
from portal.testing.personas import login_persona

pytestmark = pytest.mark.django_db

GLUE = "arn:aws:glue:eu-central-1:123456789012"
PG = "postgres://crm.internal:5432"
NODE_KEYS = {"id", "kind", "namespace", "name", "qualified_name", "hidden"}
EDGE_KEYS = {"source", "target", "job", "columns"}


def glue(db: str, table: str) -> tuple[str, str]:
    return GLUE, f"table/{db}/{table}"


def ingest(inputs, outputs, job="job", **kwargs):
    return services.ingest_event(run_event(inputs, outputs, job=job, run_id=kwargs.pop("run_id", None) or _run_id(job), **kwargs))


def _run_id(job: str) -> str:
    import uuid

    return str(uuid.uuid5(uuid.NAMESPACE_DNS, job))


@pytest.fixture
def lake(db):
    """crm (JDBC, non-catalog) → raw.customers → prepared.customers → semantic.customer_kpis (finance, hub-only)
    and prepared.customers → marketing.campaign_targets (marketing, hub-only)."""
    make_table("raw", "customers", visibility="public")
    make_table("prepared", "customers", visibility="public")
    make_table("semantic", "customer_kpis", hub="finance", visibility="hub")
    make_table("marketing", "campaign_targets", hub="marketing", visibility="hub")
    ingest([(PG, "crm.public.customers")], [glue("raw", "customers")], job="ingest_crm",
           columns={"email": [(PG, "crm.public.customers", "email")], "id": [(PG, "crm.public.customers", "id")]})
    ingest([glue("raw", "customers")], [glue("prepared", "customers")], job="prepare",
           columns={"email": [(*glue("raw", "customers"), "email")], "customer_id": [(*glue("raw", "customers"), "id")]})
    ingest([glue("prepared", "customers")], [glue("semantic", "customer_kpis")], job="kpis",
           columns={"customers": [(*glue("prepared", "customers"), "customer_id")]})
    ingest([glue("prepared", "customers")], [glue("marketing", "campaign_targets")], job="campaigns",
           columns={"email": [(*glue("prepared", "customers"), "email")]})


def names(doc):
    return {n["qualified_name"] or n["name"] for n in doc["nodes"] if n["kind"] == "dataset" and not n["hidden"]}


def test_the_graph_has_exactly_the_contract_shape(client, lake):
    login_persona(client, "admin")
    response = client.get("/api/v1/lineage/graph", {"dataset": "prepared.customers"})
    assert response.status_code == 200
    doc = response.json()
    assert set(doc) == {"nodes", "edges", "truncated"}
    assert all(set(n) == NODE_KEYS for n in doc["nodes"])
    assert all(set(e) == EDGE_KEYS for e in doc["edges"])
    assert {n["kind"] for n in doc["nodes"]} == {"dataset", "job"}
    assert doc["truncated"] is False
    ids = {n["id"] for n in doc["nodes"]}
    assert all(e["source"] in ids and e["target"] in ids and e["job"] in ids for e in doc["edges"])
    assert response["X-Lineage-Cycle"] == "false"


def test_default_depth_is_two_both_ways(client, lake):
    login_persona(client, "admin")
    doc = client.get("/api/v1/lineage/graph", {"dataset": "semantic.customer_kpis"}).json()
    assert names(doc) == {"semantic.customer_kpis", "prepared.customers", "raw.customers"}
    doc = client.get("/api/v1/lineage/graph", {"dataset": "semantic.customer_kpis", "depth": 3, "direction": "upstream"}).json()
    assert names(doc) == {"semantic.customer_kpis", "prepared.customers", "raw.customers", "crm.public.customers"}


def test_downstream_only(client, lake):
    login_persona(client, "admin")
    doc = client.get("/api/v1/lineage/graph", {"dataset": "raw.customers", "direction": "downstream", "depth": 5}).json()
    assert names(doc) == {"raw.customers", "prepared.customers", "semantic.customer_kpis", "marketing.campaign_targets"}


def test_a_non_catalog_dataset_is_found_by_namespace_and_name(client, lake):
    login_persona(client, "finance_consumer")
    doc = client.get("/api/v1/lineage/graph", {"node": f"{PG}/crm.public.customers", "direction": "downstream", "depth": 1}).json()
    crm = next(n for n in doc["nodes"] if n["name"] == "crm.public.customers")
    assert crm["namespace"] == PG and crm["qualified_name"] is None
    assert names(doc) == {"crm.public.customers", "raw.customers"}


def test_column_level_follows_one_column(client, lake):
    login_persona(client, "admin")
    doc = client.get("/api/v1/lineage/graph", {"dataset": "raw.customers", "column": "email", "direction": "downstream", "depth": 5}).json()
    assert names(doc) == {"raw.customers", "prepared.customers", "marketing.campaign_targets"}
    columns = sorted((c["from"], c["to"]) for e in doc["edges"] for c in e["columns"])
    assert columns == [("email", "email"), ("email", "email")]


def test_hidden_datasets_keep_the_shape_but_leak_no_names(client, lake):
    login_persona(client, "marketing_consumer")
    doc = client.get("/api/v1/lineage/graph", {"dataset": "prepared.customers", "direction": "downstream"}).json()
    hidden = [n for n in doc["nodes"] if n["hidden"]]
    datasets = [n for n in hidden if n["kind"] == "dataset"]
    assert len(datasets) == 1  # semantic.customer_kpis, finance hub-only
    assert all(n["name"] is None and n["namespace"] is None and n["qualified_name"] is None for n in hidden)
    assert any(n["kind"] == "job" for n in hidden)  # the job writing only the hidden dataset
    assert "customer_kpis" not in str(doc) and "kpis" not in str(doc)
    edge = next(e for e in doc["edges"] if e["target"] == datasets[0]["id"])
    assert edge["columns"] == []
    assert names(doc) == {"prepared.customers", "marketing.campaign_targets"}


def test_a_dataset_the_role_may_not_see_answers_404(client, lake):
    login_persona(client, "marketing_consumer")
    response = client.get("/api/v1/lineage/graph", {"dataset": "semantic.customer_kpis"})
    assert response.status_code == 404 and "error" in response.json()


def test_an_unknown_dataset_answers_404_json(client, lake):
    login_persona(client, "admin")
    for params in ({"dataset": "nope.nothing"}, {"node": "kafka://x/none"}):
        response = client.get("/api/v1/lineage/graph", params)
        assert response.status_code == 404 and "error" in response.json()
    assert client.get("/api/v1/lineage/impact", {"dataset": "nope.nothing"}).status_code == 404


def test_a_catalog_table_without_lineage_is_a_single_node(client, lake):
    make_table("raw", "lonely")
    login_persona(client, "admin")
    doc = client.get("/api/v1/lineage/graph", {"dataset": "raw.lonely"}).json()
    assert [n["qualified_name"] for n in doc["nodes"]] == ["raw.lonely"] and doc["edges"] == []


@pytest.mark.parametrize("params", [{"depth": 21}, {"depth": -1}, {"depth": "two"}, {"direction": "sideways"}, {}])
def test_bad_parameters_answer_400(client, lake, params):
    login_persona(client, "admin")
    query = {"dataset": "raw.customers", **params} if params else {}
    response = client.get("/api/v1/lineage/graph", query)
    assert response.status_code == 400 and "error" in response.json()


def test_depth_twenty_is_allowed(client, lake):
    login_persona(client, "admin")
    assert client.get("/api/v1/lineage/graph", {"dataset": "raw.customers", "depth": 20}).status_code == 200


def test_the_node_cap_truncates(client, lake, settings):
    settings.LINEAGE_MAX_NODES = 10
    for i in range(15):
        ingest([glue("raw", "customers")], [(PG, f"crm.export.t{i}")], job=f"export{i}")
    login_persona(client, "admin")
    doc = client.get("/api/v1/lineage/graph", {"dataset": "raw.customers", "direction": "downstream", "depth": 1}).json()
    assert doc["truncated"] is True
    assert len([n for n in doc["nodes"] if n["kind"] == "dataset"]) == 10


def test_a_cycle_is_answered_and_flagged(client, lake):
    ingest([glue("semantic", "customer_kpis")], [glue("raw", "customers")], job="feedback")
    login_persona(client, "admin")
    response = client.get("/api/v1/lineage/graph", {"dataset": "raw.customers", "depth": 20, "include": "runs"})
    assert response.status_code == 200
    assert response["X-Lineage-Cycle"] == "true"
    assert response.json()["cycle"] is True
    impact = client.get("/api/v1/lineage/impact", {"dataset": "raw.customers"}).json()
    assert {r["qualified_name"] for r in impact["results"]} >= {"semantic.customer_kpis", "prepared.customers"}


def test_include_runs_gives_the_last_run_state_of_jobs(client, lake):
    # A later run of the job fails: its state shows, the edges of the last COMPLETE run stay current.
    ingest([glue("raw", "customers")], [glue("prepared", "customers")], job="prepare", event_type="FAIL", event_time="2024-05-02T00:00:00Z",
           run_id="0d5c8a39-5b8e-4d0f-9f39-2f7c2d1d0a01")
    login_persona(client, "admin")
    doc = client.get("/api/v1/lineage/graph", {"dataset": "prepared.customers", "include": "runs", "depth": 1, "direction": "upstream"}).json()
    job = next(n for n in doc["nodes"] if n["kind"] == "job" and n["name"] == "prepare")
    assert doc["runs"][job["id"]]["state"] == "FAIL"


def test_impact_lists_downstream_datasets_with_distance_and_count(client, lake):
    login_persona(client, "admin")
    doc = client.get("/api/v1/lineage/impact", {"node": f"{PG}/crm.public.customers"}).json()
    assert doc["count"] == 4
    assert [(r["qualified_name"], r["distance"]) for r in doc["results"]][:2] == [("raw.customers", 1), ("prepared.customers", 2)]
    page = client.get("/api/v1/lineage/impact", {"node": f"{PG}/crm.public.customers", "page_size": 3}).json()
    assert len(page["results"]) == 3 and page["next"] and page["previous"] is None
    second = client.get(page["next"]).json()
    assert len(second["results"]) == 1 and second["next"] is None


def test_column_impact_lists_columns(client, lake):
    login_persona(client, "admin")
    doc = client.get("/api/v1/lineage/impact", {"dataset": "raw.customers", "column": "id"}).json()
    assert [(r["qualified_name"], r["column"], r["distance"]) for r in doc["results"]] == [
        ("prepared.customers", "customer_id", 1), ("semantic.customer_kpis", "customers", 2)
    ]


def test_impact_hides_what_the_role_may_not_see_but_counts_it(client, lake):
    login_persona(client, "marketing_consumer")
    doc = client.get("/api/v1/lineage/impact", {"dataset": "raw.customers", "column": "id"}).json()
    assert doc["count"] == 2
    assert doc["results"][1]["hidden"] is True and doc["results"][1]["column"] is None and doc["results"][1]["name"] is None


def test_the_graph_follows_new_edges_without_a_full_reload(client, lake):
    login_persona(client, "admin")
    client.get("/api/v1/lineage/graph", {"dataset": "raw.customers"})
    loaded = queries._loaded
    ingest([glue("semantic", "customer_kpis")], [(PG, "crm.public.kpi_export")], job="export")
    doc = client.get("/api/v1/lineage/graph", {"dataset": "semantic.customer_kpis", "direction": "downstream"}).json()
    assert "crm.public.kpi_export" in names(doc)
    assert queries._loaded.graph is loaded.graph  # patched in place, not rebuilt
    export = Edge.objects.get(job__name="export")
    export.delete()
    services._bump([(export.source_id, export.target_id)])  # what every edge-removing service does
    doc = client.get("/api/v1/lineage/graph", {"dataset": "semantic.customer_kpis", "direction": "downstream"}).json()
    assert "crm.public.kpi_export" not in names(doc)


def test_the_array_snapshot_catches_up_with_changes_in_the_background(client, lake):
    login_persona(client, "admin")
    client.get("/api/v1/lineage/graph", {"dataset": "raw.customers"})
    _, built_with_the_graph = queries.current_engine()
    assert built_with_the_graph is not None
    ingest([glue("semantic", "customer_kpis")], [(PG, "crm.public.kpi_export")], job="export")
    client.get("/api/v1/lineage/graph", {"dataset": "raw.customers"})  # applies the change
    deadline = time.monotonic() + 20
    while (arrays := queries.current_engine()[1]) is None or arrays is built_with_the_graph:
        assert time.monotonic() < deadline, "the snapshot was not rebuilt"
        time.sleep(0.02)
    export = Edge.objects.get(job__name="export")
    walked = arrays.neighbourhood(export.source_id, direction="downstream", depth=1)
    assert {e[:3] for e in walked.edges} == {(export.source_id, export.target_id, export.job_id)}
    g = queries.current_graph()
    assert list(arrays.impact(export.source_id)) == list(graph.impact(g, export.source_id))


def test_an_s3_dataset_is_found_however_its_path_is_written(client, lake):
    ingest([("s3://landing", "/crm/export")], [(PG, "crm.public.copy")], job="copy")
    login_persona(client, "admin")
    for node in ("s3://landing/crm/export", "s3://landing//crm/export", "s3a://landing/crm/export/"):
        response = client.get("/api/v1/lineage/graph", {"node": node})
        assert response.status_code == 200, node
        assert "crm.public.copy" in names(response.json())


@pytest.mark.django_db
def test_a_dataset_linked_later_to_a_hub_only_table_turns_hidden_for_other_hubs(client):
    from catalog.signals import tables_changed

    services.ingest_event(run_event([("s3://landing", "/fin/ledger")], [("postgres://x:5432", "a.b.c")]), hub="")
    login_persona(client, "marketing_consumer")
    shown = lambda: client.get("/api/v1/lineage/graph", {"node": "postgres://x:5432/a.b.c"}).json()["nodes"]  # noqa: E731
    assert "s3://landing" in {n["namespace"] for n in shown()}  # described once, and remembered by the process
    table = make_table("fin", "ledger", hub="finance", visibility="hub", location="s3://landing/fin/ledger/")
    tables_changed.send(sender=None, catalog_id=table.catalog_id, table_ids=[table.pk])
    landing = [n for n in shown() if n["kind"] == "dataset" and n["namespace"] != "postgres://x:5432"]
    assert len(landing) == 1 and landing[0]["hidden"] is True
