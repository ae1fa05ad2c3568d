"""The Athena engine against moto's Athena (which runs nothing: results are canned through moto's API):
the calls, the hub workgroup the portal creates, the role's STS credentials, masking and refusals.
Nothing is stubbed: moto implements every Athena and STS call the engine makes."""

from __future__ import annotations

import pytest
import requests
from django.conf import settings
from moto.sts.models import sts_backends

from portal import aws
from portal.testing.personas import PERSONAS
from queries.engines import Limits
from queries.engines.athena import AthenaEngine, ensure_workgroup, workgroup_name
from queries.models import Query
from queries.tests.conftest import run_sql
from queries.sql import QueryError

pytestmark = pytest.mark.django_db

RISK = "finance_prepared.cms_hcc__patient_risk_scores"
FINANCE = PERSONAS["finance_consumer"]


@pytest.fixture
def athena(lake, settings):
    settings.QUERY_ENGINE = "athena"
    return aws.client("athena")


def canned(endpoint: str, columns: list[str], rows: list[list[str]]) -> None:
    """What moto's Athena answers to the next query: a header row then ``rows``, as Athena does."""
    info = [{"Name": c, "Type": "varchar"} for c in columns]
    data = [{"Data": [{"VarCharValue": v} for v in row]} for row in [columns, *rows]]
    requests.post(f"{endpoint}/moto-api/static/athena/query-results", timeout=10, json={
        "account_id": settings.AWS_ACCOUNT_ID, "region": settings.AWS_DEFAULT_REGION,
        "results": [{"rows": data, "column_info": info}]})


def test_a_query_runs_in_athena_in_the_hubs_workgroup_as_the_users_role(athena, aws_endpoint, consumer, celery_eager,
                                                                        django_capture_on_commit_callbacks) -> None:
    canned(aws_endpoint, ["person_id", "n"], [["PER1", "3"], ["PER2", "5"]])

    query = run_sql(consumer, f"SELECT person_id, count(*) AS n FROM {RISK} GROUP BY person_id",
                    django_capture_on_commit_callbacks)

    assert query["state"] == "succeeded" and query["engine"] == "athena"
    assert consumer.get(f"/api/v1/queries/{query['id']}/results").json()["rows"] == [["PER1", "3"], ["PER2", "5"]]
    executions = athena.list_query_executions(WorkGroup="datahub-finance")["QueryExecutionIds"]
    assert executions == [Query.objects.get().athena_execution_id]
    group = athena.get_work_group(WorkGroup="datahub-finance")["WorkGroup"]["Configuration"]
    assert group["ResultConfiguration"]["OutputLocation"] == f"s3://{settings.QUERY_RESULTS_BUCKET}/finance/"
    assert group["BytesScannedCutoffPerQuery"] == settings.QUERY_MAX_BYTES_SCANNED
    assumed = sts_backends[settings.AWS_ACCOUNT_ID]["global"].assumed_roles
    assert [(r.role_arn, r.session_name) for r in assumed] == [(aws.role_arn_for(FINANCE), "finance_consumer")]


def test_an_existing_workgroup_is_kept(athena) -> None:
    athena.create_work_group(Name="datahub-finance", Configuration={"BytesScannedCutoffPerQuery": 10**12})

    assert ensure_workgroup(FINANCE, Limits.for_queries()) == workgroup_name(FINANCE) == "datahub-finance"
    kept = athena.get_work_group(WorkGroup="datahub-finance")["WorkGroup"]["Configuration"]
    assert kept["BytesScannedCutoffPerQuery"] == 10**12 and "ResultConfiguration" not in kept


def test_a_preview_masks_the_columns_athena_leaves_out(athena, aws_endpoint, consumer) -> None:
    # Under Lake Formation, Athena's SELECT * returns only the granted columns.
    canned(aws_endpoint, ["person_id", "v24_risk_score"], [["PER1", "1.5"]])

    body = consumer.get(f"/api/v1/datasets/{RISK}/preview").json()

    assert body["rows"][0][:2] == ["PER1", "1.5"] and "blended_risk_score" in body["masked"]
    assert "person_id" not in body["masked"]


def test_a_table_outside_the_role_is_refused_before_athena_in_the_local_engines_words(athena, marketing) -> None:
    engine = AthenaEngine(PERSONAS["marketing_consumer"], "marketing_consumer", Limits.for_queries())

    with pytest.raises(QueryError, match="does not exist or your role may not read it"):
        engine.run(f"SELECT * FROM {RISK}")
    assert athena.list_query_executions()["QueryExecutionIds"] == []


def test_queries_run_outside_the_portal_count_from_the_workgroups_history(athena, consumer, celery_eager,
                                                                           django_capture_on_commit_callbacks) -> None:
    from queries.athena_history import import_athena_history
    from queries.models import TableUsage

    run_sql(consumer, f"SELECT person_id FROM {RISK}", django_capture_on_commit_callbacks)  # the portal's own
    athena.start_query_execution(QueryString=f"SELECT v24_risk_score FROM {RISK}", WorkGroup="datahub-finance")
    athena.create_work_group(Name="someone-elses", Configuration={})
    athena.start_query_execution(QueryString=f"SELECT * FROM {RISK}", WorkGroup="someone-elses")

    assert import_athena_history() == 1
    outside = TableUsage.objects.get(kind="athena")
    assert (outside.table.qualified_name, outside.columns, outside.role_key) == (
        RISK, ["v24_risk_score"], "workgroup:datahub-finance")
    assert import_athena_history() == 0  # each execution once
    assert TableUsage.objects.count() == 2
