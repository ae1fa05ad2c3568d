"""Streamed data is queryable: the stream's Glue table projects its load_date partitions (Athena
partition projection), and a batch Firehose delivers lands under the partition the table resolves."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from ingestion_wizard.aws import provisioning
from ingestion_wizard.models import Pipeline
from portal import aws

pytestmark = pytest.mark.django_db


def projected_location(table: dict, day: dt.date) -> str | None:
    """Where Athena reads ``day``'s partition of a table with date partition projection (None when
    the day is outside the projected range), read from the table definition as Athena reads it."""
    params = table["Parameters"]
    assert params["projection.enabled"] == "true"
    assert [k["Name"] for k in table["PartitionKeys"]] == ["load_date"]
    assert params["projection.load_date.type"] == "date"
    assert (params["projection.load_date.interval"], params["projection.load_date.interval.unit"]) == ("1", "DAYS")
    start, end = params["projection.load_date.range"].split(",")
    today = dt.datetime.now(dt.timezone.utc).date()
    if not dt.date.fromisoformat(start) <= day <= (today if end == "NOW" else dt.date.fromisoformat(end)):
        return None
    value = day.strftime(params["projection.load_date.format"].replace("yyyy", "%Y").replace("MM", "%m")
                         .replace("dd", "%d"))
    return params["storage.location.template"].replace("${load_date}", value)


def test_a_streamed_batch_lands_under_a_partition_the_table_projects(
        provider, aws_endpoint, eager, django_capture_on_commit_callbacks):
    body = {"name": "clicks", "hub": "finance", "target": {"database": "finance_clicks", "layer": "source"},
            "source": {"kind": "kinesis", "stream_name": "clicks", "columns": [
                {"name": "user_id", "type": "bigint"}, {"name": "url", "type": "string"}]}}
    with django_capture_on_commit_callbacks(execute=True):
        response = provider.post("/api/v1/pipelines", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    pipeline = Pipeline.objects.get(pk=response.json()["id"])
    assert pipeline.status == "ready", pipeline.error

    table = aws.client("glue").get_table(DatabaseName="finance_clicks", Name="clicks")["Table"]
    today = dt.datetime.now(dt.timezone.utc).date()
    location = projected_location(table, today)
    assert location == f"s3://datahub-lake/finance/source/finance_clicks/clicks/load_date={today.isoformat()}/"
    assert projected_location(table, today - dt.timedelta(days=1)) is None  # before the pipeline existed

    aws.client("firehose").put_record_batch(DeliveryStreamName=provisioning.firehose_name(pipeline), Records=[
        {"Data": b'{"user_id": 7, "url": "/a"}\n'}, {"Data": b'{"user_id": 8, "url": "/b"}\n'}])
    keys = [o["Key"] for o in aws.client("s3").list_objects_v2(
        Bucket="datahub-lake", Prefix="finance/source/finance_clicks/clicks/")["Contents"]]
    assert len(keys) == 1
    assert f"s3://datahub-lake/{keys[0]}".startswith(location)
    assert "/" not in f"s3://datahub-lake/{keys[0]}".removeprefix(location)  # directly in the partition
