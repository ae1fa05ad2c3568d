"""The 38 real OpenLineage event files ingest through the API and produce the edges they describe."""

from __future__ import annotations

import json

import pytest

from lineage.naming import normalize
from lineage.models import ColumnEdge, Dataset, Edge, Event, Job, Run
from lineage.tests.conftest import make_table, post_event
from lineage.tests.openlineage_fixtures import event_files, load_events
from portal.testing.personas import login_persona

pytestmark = pytest.mark.django_db

HIVE = "hive://localhost:9083"
ATHENA = "awsathena://athena.eu-central-1.amazonaws.com"


def ingest(client, filename: str) -> list:
    responses = [post_event(client, event) for event in load_events(filename)]
    assert [r.status_code for r in responses] == [201] * len(responses), [r.content[:300] for r in responses if r.status_code != 201]
    return responses


def edge(source: tuple[str, str], target: tuple[str, str]) -> Edge:
    return Edge.objects.get(source__namespace=source[0], source__name=source[1], target__namespace=target[0], target__name=target[1])


def columns(e: Edge) -> set[tuple[str, str, str]]:
    return set(e.columns.values_list("source_column", "target_column", "transformation"))


def test_all_38_files_ingest_and_each_file_yields_its_edges(client):
    login_persona(client, "finance_provider")
    files = event_files()
    assert len(files) == 38
    expected_edges = set()
    for filename in files:
        for event in load_events(filename):
            outputs = event.get("outputs") or ([event["dataset"]] if "dataset" in event else [])
            for out in outputs:
                for inp in event.get("inputs") or []:
                    expected_edges.add((*normalize(inp["namespace"], inp["name"]), *normalize(out["namespace"], out["name"])))
        ingest(client, filename)
    # proxy/fluentd's event_full.json shares runId, eventType and eventTime with the python client's
    # example event but differs in content: both are stored (Marquez keeps both too).
    # Dedupe is by content: two different events sharing runId, eventType and eventTime are both kept.
    keys = {json.dumps(e, sort_keys=True) for f in files for e in load_events(f)}
    assert sum(len(load_events(f)) for f in files) == len(keys)
    assert Event.objects.count() == len(keys)
    current = set(Edge.objects.values_list("source__namespace", "source__name", "target__namespace", "target__name"))
    # Runs keep what they read and wrote; the current graph holds each job's latest COMPLETE run
    # (a failed dbt run, or an older run of a Hive job whose inputs changed, is history only).
    history = set()
    for run in Run.objects.prefetch_related("datasets__dataset"):
        ios = {"in": [], "out": []}
        for io in run.datasets.all():
            ios[io.direction].append((io.dataset.namespace, io.dataset.name))
        history |= {(*a, *b) for a in ios["in"] for b in ios["out"]}
    assert expected_edges <= current | history
    assert current - history <= expected_edges | current  # nothing invented beside the events
    failed = ("snowflake://mysnowflakeaccount.us-east-1.aws", "REPORTING.TEST_GENERAL.stg_orders",
              "snowflake://mysnowflakeaccount.us-east-1.aws", "REPORTING.TEST_GENERAL.orders")
    assert failed in history and failed not in current
    for job in Job.objects.filter(runs__isnull=False).distinct():
        run = job.current_run
        if run is None:
            assert not job.edges.filter(origin="openlineage").exists()
            continue
        ios = {"in": set(), "out": set()}
        for io in run.datasets.all():
            ios[io.direction].add(io.dataset.canonical_id or io.dataset_id)
        edges = set(job.edges.values_list("source_id", "target_id"))
        assert {(a, b) for a in ios["in"] for b in ios["out"]} <= edges, job.name
    # Ingesting everything again stores nothing new (dedupe on the event's content).
    before = (Event.objects.count(), Edge.objects.count(), ColumnEdge.objects.count())
    for filename in files[:10]:
        ingest(client, filename)
    assert (Event.objects.count(), Edge.objects.count(), ColumnEdge.objects.count()) == before


def test_hive_ctas_with_joins_gives_table_and_column_edges(client):
    login_persona(client, "finance_provider")
    ingest(client, "integration__hive__hive-openlineage-hook__integrations__container__cllCtasWithJoinsComplete.json")
    t1 = edge((HIVE, "test.t1"), (HIVE, "test.xxx"))
    t2 = edge((HIVE, "test.t2"), (HIVE, "test.xxx"))
    assert t1.job.name == "createtable_as_select.test.xxx"
    # The facet's dataset-level entries (the join and filter on t1.id) are INDIRECT, target column "".
    assert columns(t1) == {("id", "id", "DIRECT/TRANSFORMATION"), ("id", "", "INDIRECT/JOIN, INDIRECT/FILTER")}
    assert columns(t2) == {("name", "name", "DIRECT/IDENTITY"), ("number", "", "INDIRECT/JOIN, INDIRECT/FILTER")}
    assert Dataset.objects.get(namespace=HIVE, name="test.xxx").schema_fields == [
        {"name": "id", "type": "int", "description": ""}, {"name": "name", "type": "string", "description": ""}
    ]


def test_spark_column_lineage_names_every_input_column(client):
    login_persona(client, "finance_provider")
    ingest(client, "integration__spark__app__integrations__container__pysparkCLLEnd.json")
    target = ("file", "/tmp/cll_test/tbl1")
    from_1 = columns(edge(("file", "/tmp/cll_test/cll_source1"), target))
    from_2 = columns(edge(("file", "/tmp/cll_test/cll_source2"), target))
    assert {(a, b) for a, b, _ in from_1} >= {("a", "ident"), ("b", "trans")}
    assert ("c", "agg") in {(a, b) for a, b, _ in from_2}


def test_the_bare_column_lineage_facet_declares_edges_from_both_inputs(client):
    login_persona(client, "finance_provider")
    ingest(client, "spec__tests__ColumnLineageDatasetFacet__1.json")
    customers = edge(("SnowflakeOpenLineage", "CUSTOMERS"), ("snowflake://fixture-account", "PUBLIC.DISCOUNTED_CUSTOMERS"))
    assert ("NAME", "NAME", "DIRECT/IDENTITY") in columns(customers)
    assert ("ID", "NAME", "INDIRECT/JOIN") in columns(customers)
    discounts = edge(("SnowflakeOpenLineage", "DISCOUNTS"), ("snowflake://fixture-account", "PUBLIC.DISCOUNTED_CUSTOMERS"))
    assert ("AMOUNT_OFF", "AMOUNT_OFF", "DIRECT/IDENTITY") in columns(discounts)


def test_airflow_postgres_events_follow_jdbc_naming_and_keep_run_states(client):
    login_persona(client, "finance_provider")
    ingest(client, "integration__airflow__tests__integration__requests__postgres.json")
    pg = "postgres://postgres:5432"
    e = edge((pg, "food_delivery.public.top_delivery_times"), (pg, "food_delivery.public.popular_orders_day_of_week"))
    assert e.job.name == "postgres_orders_popular_day_of_week.postgres_insert"
    assert [s.state for s in Run.objects.get(job=e.job).states.all()] == ["START", "COMPLETE"]


def test_a_failed_airflow_task_keeps_its_fail_state(client):
    login_persona(client, "finance_provider")
    ingest(client, "integration__airflow__tests__integration__requests__failing__bash.json")
    assert Job.objects.get(name="bash_dag.failing_task").last_run_state == "FAIL"
    assert Job.objects.get(name="bash_dag.success_task").last_run_state == "COMPLETE"


def test_athena_and_s3_identities_link_to_catalog_tables(client):
    orders = make_table("openlineage_integration_ci", "test_orders", location="s3://lake-fixture/test_orders")
    results = make_table("athena_results", "query_output", location="s3://athena-results-fixture/output/")
    login_persona(client, "finance_provider")
    ingest(client, "integration__airflow__tests__integration__requests__athena.json")
    athena = Dataset.objects.get(namespace=ATHENA, name="AwsDataCatalog.openlineage_integration_ci.test_orders")
    assert athena.table == orders
    s3 = Dataset.objects.get(namespace="s3://athena-results-fixture", name="output/ci")
    assert s3.table == results  # by S3 location prefix
    e = Edge.objects.get(source=athena, target=s3)
    assert e.job.name == "athena_dag.athena_select_from_other_db"
    graph = client.get("/api/v1/lineage/graph", {"dataset": "openlineage_integration_ci.test_orders", "direction": "downstream"}).json()
    assert {n["qualified_name"] for n in graph["nodes"] if n["kind"] == "dataset"} == {"openlineage_integration_ci.test_orders", "athena_results.query_output"}


def test_a_glue_identity_links_by_region_account_database_and_table(client):
    orders = make_table("sales", "orders", region="eu-west-1", account="111122223333")
    make_table("sales", "orders", region="us-east-1", account="111122223333")
    login_persona(client, "finance_provider")
    event = load_events("client__python__tests__example_full_event.json")[0]
    event["inputs"] = [{"namespace": "arn:aws:glue:eu-west-1:111122223333", "name": "table/sales/orders"}]
    event["outputs"] = [{"namespace": "s3://unknown-bucket", "name": "/x"}]
    assert post_event(client, event).status_code == 201
    assert Dataset.objects.get(namespace="arn:aws:glue:eu-west-1:111122223333").table == orders
    assert Dataset.objects.get(namespace="s3://unknown-bucket").table is None
