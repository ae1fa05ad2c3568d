"""POST /api/v1/queries and friends on the local engine: Athena SQL over the demo lake in moto S3, run by
the real task (inline), joins through semantic-layer views, partition filters, masked columns, refusals,
limits, paging and the CSV."""

from __future__ import annotations

import csv
import io
import threading
import time

import pytest
from django.db import connections
from django.test import override_settings

from portal.testing.personas import PERSONAS
from queries import services
from queries.models import Query, TableUsage
from queries.tests.conftest import grant_columns, run_sql

pytestmark = pytest.mark.django_db

RISK = "finance_prepared.cms_hcc__patient_risk_scores"
# 5^16 rows of a cross join summed: hours of work for DuckDB, so only a stop ends it.
ENDLESS = ("SELECT sum(t0.v24_risk_score * t15.v28_risk_score) FROM "
           + ", ".join(f"{RISK} t{i}" for i in range(16)))


def test_a_select_is_queued_then_runs_to_its_result(lake, consumer, celery_eager,
                                                   django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        created = consumer.post("/api/v1/queries", {"sql": f"SELECT person_id FROM {RISK}"}, format="json")
    assert created.status_code == 201 and set(created.json()) >= {"id", "state"}
    assert created.json()["state"] == "queued"
    services.run_query(created.json()["id"])  # what the task does

    assert consumer.get(f"/api/v1/queries/{created.json()['id']}").json()["state"] == "succeeded"
    query = run_sql(consumer, f"SELECT count(*) AS n, max(v24_risk_score) AS top FROM {RISK}",
                    django_capture_on_commit_callbacks)

    assert query["state"] == "succeeded" and "error" not in query
    assert query["bytes_scanned"] > 0 and query["seconds"] is not None
    page = consumer.get(f"/api/v1/queries/{query['id']}/results").json()
    assert page["columns"] == ["n", "top"] and page["rows"][0][0] == 5 and page["next"] is None


def test_a_join_through_a_semantic_layer_view_reads_the_views_sources(lake, consumer, celery_eager,
                                                                     django_capture_on_commit_callbacks) -> None:
    sql = ("SELECT v.person_id, r.blended_risk_score FROM finance_semantic.semantic_layer__stg_cms_hcc__patient_risk_scores v "
           f"JOIN {RISK} r ON r.person_id = v.person_id")

    query = run_sql(consumer, sql, django_capture_on_commit_callbacks)

    assert query["state"] == "succeeded", query
    rows = consumer.get(f"/api/v1/queries/{query['id']}/results").json()["rows"]
    assert len(rows) == 5 and all(row[0].startswith("PER") for row in rows)


def test_a_view_reads_hub_only_sources_its_reader_may_not_name(lake, marketing, celery_eager,
                                                              django_capture_on_commit_callbacks) -> None:
    # The public view reads finance's hub-only table with its definer's rights; the table itself stays refused.
    view = run_sql(marketing, "SELECT count(*) FROM finance_semantic.semantic_layer__stg_cms_hcc__patient_risk_scores",
                   django_capture_on_commit_callbacks)
    table = run_sql(marketing, f"SELECT count(*) FROM {RISK}", django_capture_on_commit_callbacks)

    assert view["state"] == "succeeded"
    assert table["state"] == "failed" and "does not exist or your role may not read it" in table["error"]


def test_a_partition_filter_reads_only_that_partitions_objects(lake, consumer, celery_eager,
                                                              django_capture_on_commit_callbacks) -> None:
    table = "finance_source.billing__premium_invoice"
    every = run_sql(consumer, f"SELECT count(*) FROM {table}", django_capture_on_commit_callbacks)
    one = run_sql(consumer, f"SELECT count(*), min(ingest_date) FROM {table} WHERE ingest_date = '2026-10-31'",
                  django_capture_on_commit_callbacks)

    assert one["state"] == "succeeded"
    assert 0 < one["bytes_scanned"] < every["bytes_scanned"]
    assert consumer.get(f"/api/v1/queries/{one['id']}/results").json()["rows"] == [[5, "2026-10-31"]]


def test_a_column_without_a_grant_is_refused_with_the_reason(lake, consumer, celery_eager,
                                                            django_capture_on_commit_callbacks) -> None:
    grant_columns(PERSONAS["finance_consumer"], "finance_prepared", "cms_hcc__patient_risk_scores", ["person_id"])

    refused = run_sql(consumer, f"SELECT blended_risk_score FROM {RISK}", django_capture_on_commit_callbacks)
    star = run_sql(consumer, f"SELECT * FROM {RISK}", django_capture_on_commit_callbacks)

    assert refused["state"] == "failed"
    assert "may not read column blended_risk_score" in refused["error"] and "Lake Formation" in refused["error"]
    assert consumer.get(f"/api/v1/queries/{star['id']}/results").json()["columns"] == ["person_id"]


@pytest.mark.parametrize("sql, reason", [
    (f"DROP TABLE {RISK}", "Only SELECT and WITH queries"),
    (f"INSERT INTO {RISK} (person_id) VALUES ('x')", "Only SELECT and WITH queries"),
    (f"SELECT 1; DROP TABLE {RISK}", "one statement at a time"),
    ("SELECT * FROM read_csv('/etc/passwd')", "not files or table functions"),
    ("SELECT person_id FROM cms_hcc__patient_risk_scores", "DATABASE.TABLE"),
    ("SELEC person_id FROM x.y", "Syntax error"),
])
def test_statements_other_than_a_query_are_refused_with_a_clear_400(lake, consumer, sql, reason) -> None:
    response = consumer.post("/api/v1/queries", {"sql": sql}, format="json")

    assert response.status_code == 400 and reason in response.json()["error"]
    assert not Query.objects.exists()


def test_a_sql_error_says_where(lake, consumer, celery_eager, django_capture_on_commit_callbacks) -> None:
    query = run_sql(consumer, f"SELECT no_such_column FROM {RISK}", django_capture_on_commit_callbacks)

    assert query["state"] == "failed" and "no_such_column" in query["error"] and "LINE 1" in query["error"]


def test_a_query_over_the_time_cap_is_stopped(lake, consumer, celery_eager, django_capture_on_commit_callbacks) -> None:
    with override_settings(QUERY_TIME_LIMIT_SECONDS=1):
        started = time.monotonic()
        query = run_sql(consumer, ENDLESS, django_capture_on_commit_callbacks)

    assert query["state"] == "failed" and "longer than the limit of 1 s" in query["error"]
    assert time.monotonic() - started < 30


def test_the_bytes_scanned_cap_refuses_a_large_scan(lake, consumer, celery_eager, django_capture_on_commit_callbacks) -> None:
    with override_settings(QUERY_MAX_BYTES_SCANNED=100):
        query = run_sql(consumer, f"SELECT * FROM {RISK}", django_capture_on_commit_callbacks)

    assert query["state"] == "failed" and "QUERY_MAX_BYTES_SCANNED" in query["error"]


def test_one_running_query_per_user(lake, consumer, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        assert consumer.post("/api/v1/queries", {"sql": f"SELECT 1 FROM {RISK}"}, format="json").status_code == 201
        second = consumer.post("/api/v1/queries", {"sql": f"SELECT 2 FROM {RISK}"}, format="json")

    assert second.status_code == 429 and "wait for it or cancel it" in second.json()["error"]


def test_a_queued_query_cancelled_never_runs(lake, consumer, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        query_id = consumer.post("/api/v1/queries", {"sql": f"SELECT 1 FROM {RISK}"}, format="json").json()["id"]

    assert consumer.post(f"/api/v1/queries/{query_id}/cancel").json()["state"] == "cancelled"
    assert services.run_query(query_id).state == "cancelled"
    assert consumer.get(f"/api/v1/queries/{query_id}/results").status_code == 409


@pytest.mark.django_db(transaction=True)
def test_cancel_stops_a_running_query(aws_endpoint, consumer) -> None:
    from queries.testing import mirrored_small_lake

    mirrored_small_lake()
    query = Query.objects.create(user=consumer.user, role=PERSONAS["finance_consumer"].as_dict(),
                                 role_key="consumer:finance", sql=ENDLESS, engine="local")

    def work() -> None:
        try:
            services.run_query(query.pk)
        finally:
            connections.close_all()  # this thread's own, so the test database can be dropped

    worker = threading.Thread(target=work)
    worker.start()
    deadline = time.monotonic() + 30
    while Query.objects.get(pk=query.pk).state == "queued" and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1)  # into DuckDB's cross join

    assert consumer.post(f"/api/v1/queries/{query.pk}/cancel").json()["state"] == "cancelled"
    worker.join(timeout=30)

    assert not worker.is_alive()
    assert Query.objects.get(pk=query.pk).state == "cancelled"


def test_results_come_in_pages_and_as_csv(lake, consumer, celery_eager, django_capture_on_commit_callbacks) -> None:
    sql = ("SELECT ingest_date, invoice_id FROM finance_source.billing__premium_invoice ORDER BY ingest_date, invoice_id")
    with override_settings(QUERY_RESULTS_PAGE_SIZE=4):
        query = run_sql(consumer, sql, django_capture_on_commit_callbacks)
        first = consumer.get(f"/api/v1/queries/{query['id']}/results").json()
        second = consumer.get(f"/api/v1/queries/{query['id']}/results?page={first['next']}").json()
        third = consumer.get(f"/api/v1/queries/{query['id']}/results?page=3").json()

    assert (len(first["rows"]), first["next"], len(second["rows"]), second["next"]) == (4, 2, 4, 3)
    assert (len(third["rows"]), third["next"]) == (2, None)
    download = consumer.get(f"/api/v1/queries/{query['id']}/csv")
    assert download["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert lines[0] == ["ingest_date", "invoice_id"] and lines[1:] == first["rows"] + second["rows"] + third["rows"]
    assert consumer.get(f"/api/v1/queries/{query['id']}/results?page=zero").status_code == 400


def test_the_history_lists_the_users_own_queries_only(lake, consumer, marketing, celery_eager,
                                                      django_capture_on_commit_callbacks) -> None:
    mine = run_sql(consumer, f"SELECT 1 FROM {RISK}", django_capture_on_commit_callbacks)

    listed = consumer.get("/api/v1/queries").json()
    assert [q["id"] for q in listed["results"]] == [mine["id"]]
    assert listed["results"][0]["state"] == "succeeded"
    assert marketing.get("/api/v1/queries").json()["results"] == []
    assert marketing.get(f"/api/v1/queries/{mine['id']}").status_code == 404


def test_a_query_records_the_tables_and_columns_it_read(lake, consumer, celery_eager,
                                                        django_capture_on_commit_callbacks) -> None:
    run_sql(consumer, f"SELECT person_id, max(v24_risk_score) FROM {RISK} GROUP BY person_id",
            django_capture_on_commit_callbacks)

    record = TableUsage.objects.get()
    assert (record.kind, record.role_key, sorted(record.columns)) == ("query", "consumer:finance",
                                                                      ["person_id", "v24_risk_score"])


def test_values_json_cannot_carry_come_back_as_text(lake, consumer, celery_eager,
                                                   django_capture_on_commit_callbacks) -> None:
    query = run_sql(consumer, f"SELECT CAST('NaN' AS DOUBLE) AS x, DATE '2026-01-02' AS d FROM {RISK} LIMIT 1",
                    django_capture_on_commit_callbacks)

    assert query["state"] == "succeeded", query
    assert consumer.get(f"/api/v1/queries/{query['id']}/results").json()["rows"] == [["nan", "2026-01-02"]]
