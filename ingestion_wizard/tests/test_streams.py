"""Unbounded sources: a new or existing Kinesis stream, Firehose into the raw prefix, a Glue table over it."""

from __future__ import annotations

import json

import pytest

from portal import aws

pytestmark = pytest.mark.django_db


def stream_body(mode="new", name="clicks"):
    return {"name": "web-clicks", "hub": "finance", "schedule": None,
            "source": {"kind": "kinesis", "stream_name": name, "stream_mode": mode, "shards": 2,
                       "columns": [{"name": "user_id", "type": "bigint"}, {"name": "url", "type": "string"}]},
            "target": {"database": "finance_clicks", "layer": "source"}}


def test_a_new_stream_gets_kinesis_firehose_and_a_glue_table(provider, aws_endpoint, eager,
                                                            django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = provider.post("/api/v1/pipelines", data=json.dumps(stream_body()), content_type="application/json")
    assert response.status_code == 201, response.content
    prov = provider.get(f"/api/v1/pipelines/{response.json()['id']}/provisioning").json()
    assert prov["status"] == "ready", prov
    assert [s["key"] for s in prov["steps"]] == ["s3_prefix", "glue_database", "kinesis_stream", "firehose",
                                                 "glue_table", "monitoring", "sns_topic"]
    summary = aws.client("kinesis").describe_stream_summary(StreamName="clicks")["StreamDescriptionSummary"]
    assert summary["OpenShardCount"] == 2
    firehose = aws.client("firehose").describe_delivery_stream(DeliveryStreamName="datahub-finance_clicks")[
        "DeliveryStreamDescription"]
    s3_dest = firehose["Destinations"][0]["ExtendedS3DestinationDescription"]
    assert s3_dest["Prefix"] == "finance/source/finance_clicks/clicks/load_date=!{timestamp:yyyy-MM-dd}/"
    table = aws.client("glue").get_table(DatabaseName="finance_clicks", Name="clicks")["Table"]
    assert [c["Name"] for c in table["StorageDescriptor"]["Columns"]] == ["user_id", "url"]
    assert table["StorageDescriptor"]["Location"] == "s3://datahub-lake/finance/source/finance_clicks/clicks/"


def test_an_existing_stream_that_is_missing_fails_its_step_by_name(provider, aws_endpoint, eager,
                                                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = provider.post("/api/v1/pipelines", data=json.dumps(stream_body("existing", "orders-events")),
                                 content_type="application/json")
    prov = provider.get(f"/api/v1/pipelines/{response.json()['id']}/provisioning").json()
    assert prov["status"] == "failed"
    failed = [s for s in prov["steps"] if s["status"] == "failed"]
    assert [(s["key"], s["error"]) for s in failed] == [("kinesis_stream", "Kinesis stream orders-events does not exist.")]
