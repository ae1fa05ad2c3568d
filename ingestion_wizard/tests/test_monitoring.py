"""Monitoring per pipeline: a CloudWatch log group and alarms created and torn down with it, run
metrics the alarms watch, and the run page showing a Glue run's log lines from CloudWatch Logs."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from ingestion_wizard.aws import monitoring
from ingestion_wizard.models import Pipeline, PipelineRun
from portal import aws

pytestmark = pytest.mark.django_db


def create(client, capture, source, schedule=None):
    body = {"name": "erp-orders", "hub": "finance", "source": source, "schedule": schedule,
            "target": {"database": "finance_monitored", "layer": "source"}}
    with capture(execute=True):
        response = client.post("/api/v1/pipelines", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def alarms() -> dict[str, dict]:
    return {a["AlarmName"]: a for a in aws.client("cloudwatch").describe_alarms()["MetricAlarms"]}


def test_log_group_and_alarms_live_and_die_with_the_pipeline_and_runs_feed_their_metrics(
        provider, pg_source, aws_endpoint, eager, django_capture_on_commit_callbacks):
    pid = create(provider, django_capture_on_commit_callbacks, pg_source, schedule="0 2 * * 1-5")
    groups = aws.client("logs").describe_log_groups(logGroupNamePrefix="/datahub/ingestion/")["logGroups"]
    assert [(g["logGroupName"], g["retentionInDays"]) for g in groups] == [("/datahub/ingestion/finance_monitored", 30)]
    found = alarms()
    assert set(found) == {"datahub-ingest-finance_monitored-failed", "datahub-ingest-finance_monitored-no-new-data"}
    no_data = found["datahub-ingest-finance_monitored-no-new-data"]
    # Friday 02:00 to Monday 02:00 is the longest gap: three day-long periods, missing data breaching.
    assert (no_data["Period"], no_data["EvaluationPeriods"], no_data["TreatMissingData"]) == (86400, 3, "breaching")

    with django_capture_on_commit_callbacks(execute=True):
        provider.post(f"/api/v1/pipelines/{pid}/runs")
    metrics = aws.client("cloudwatch").list_metrics(Namespace="DataHub/Ingestion")["Metrics"]
    assert {(m["MetricName"], m["Dimensions"][0]["Value"]) for m in metrics} == {
        ("RunsFailed", "finance_monitored"), ("RowsLoaded", "finance_monitored")}

    with django_capture_on_commit_callbacks(execute=True):
        provider.delete(f"/api/v1/pipelines/{pid}")
    assert not Pipeline.objects.filter(pk=pid).exists()
    assert alarms() == {}
    assert aws.client("logs").describe_log_groups(logGroupNamePrefix="/datahub/ingestion/")["logGroups"] == []


def test_a_stream_pipeline_alarms_on_firehose_delivery_errors(
        provider, aws_endpoint, eager, django_capture_on_commit_callbacks):
    create(provider, django_capture_on_commit_callbacks, {"kind": "kinesis", "stream_name": "clicks"})
    delivery = alarms()["datahub-ingest-finance_monitored-delivery-errors"]
    assert (delivery["Namespace"], delivery["MetricName"]) == ("AWS/Firehose", "DeliveryToS3.Success")
    assert delivery["Dimensions"] == [{"Name": "DeliveryStreamName", "Value": "datahub-finance_monitored"}]


@pytest.mark.parametrize("cron, seconds", [("*/15 * * * *", 900), ("0 2 * * *", 86400), ("0 2 * * 1-5", 259200)])
def test_the_no_data_period_is_the_longest_gap_of_the_schedule(cron, seconds):
    assert monitoring.schedule_period_seconds(cron) == seconds


def test_the_run_page_shows_a_glue_runs_lines_from_cloudwatch_logs(provider, aws_endpoint):
    pipeline = Pipeline.objects.create(name="erp", hub="finance", source_kind="oracle", target_database="finance_erp",
                                       status="ready")
    run = PipelineRun.objects.create(pipeline=pipeline, status="succeeded", executor="glue", glue_run_id="jr_0a1b",
                                     log="10:00:00 Started Glue job run jr_0a1b\n")
    logs = aws.client("logs")
    logs.create_log_group(logGroupName="/aws-glue/jobs/output")
    logs.create_log_stream(logGroupName="/aws-glue/jobs/output", logStreamName="jr_0a1b")
    ten = datetime.now(timezone.utc).replace(hour=10, minute=0, second=0, microsecond=0)
    if ten > datetime.now(timezone.utc):  # CloudWatch takes no events from the future
        ten -= timedelta(days=1)
    at = int(ten.timestamp() * 1000)
    logs.put_log_events(logGroupName="/aws-glue/jobs/output", logStreamName="jr_0a1b", logEvents=[
        {"timestamp": at, "message": "Reading sales.orders with bookmark on updated_at"},
        {"timestamp": at + 1000, "message": "Wrote 120 rows"}])

    response = provider.get(f"/ingestion/pipelines/{pipeline.pk}/runs/{run.pk}/")
    assert response.status_code == 200, response.status_code
    page = response.content.decode()
    assert "Started Glue job run jr_0a1b" in page
    assert "10:00:00 [output] Reading sales.orders with bookmark on updated_at" in page
    log = provider.get(f"/api/v1/pipelines/{pipeline.pk}/runs/{run.pk}").json()["log"]
    assert log.splitlines()[-1] == "10:00:01 [output] Wrote 120 rows"
