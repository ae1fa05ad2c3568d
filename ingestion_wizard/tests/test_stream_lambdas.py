"""The streaming path's Lambdas: a Firehose record transformation from a template and a prep stage
enriching events with a catalog table's reference data, each with its own role, provisioned in order,
shown as steps, torn down in reverse; their handlers run on Firehose- and S3-shaped events."""

from __future__ import annotations

import base64
import gzip
import json

import pytest

from ingestion_wizard.aws import provisioning, stream_lambdas
from ingestion_wizard.aws.lambda_handlers import firehose_transform, prep_enrich
from ingestion_wizard.models import Pipeline
from portal import aws

pytestmark = pytest.mark.django_db


def records(*payloads: bytes) -> dict:
    return {"records": [{"recordId": str(i), "approximateArrivalTimestamp": 1_764_720_000_000,
                         "data": base64.b64encode(p).decode()} for i, p in enumerate(payloads)]}


def test_the_transformation_templates_shape_records_and_fail_what_is_not_json(monkeypatch):
    out = firehose_transform.handler(records(b'{"id": 1,  "a": "x"}', b"not json"), None)["records"]
    assert [(r["recordId"], r["result"]) for r in out] == [("0", "Ok"), ("1", "ProcessingFailed")]
    assert base64.b64decode(out[0]["data"]) == b'{"id":1,"a":"x"}\n'
    monkeypatch.setenv("DATAHUB_TRANSFORM", "arrival_time")
    out = firehose_transform.handler(records(b'{"id": 1}'), None)["records"]
    assert json.loads(base64.b64decode(out[0]["data"])) == {"id": 1, "_arrival_time": "2025-12-03T00:00:00+00:00"}


def vehicles_table() -> None:
    """A catalog table of vehicle master data (JSON lines) in the lake."""
    glue, s3 = aws.client("glue"), aws.client("s3")
    s3.create_bucket(Bucket="datahub-lake", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    glue.create_database(DatabaseInput={"Name": "fleet_master"})
    glue.create_table(DatabaseName="fleet_master", TableInput={"Name": "vehicles", "StorageDescriptor": {
        "Location": "s3://datahub-lake/fleet/source/fleet_master/vehicles", "Columns": [
            {"Name": "vehicle_id", "Type": "string"}, {"Name": "model", "Type": "string"}]}})
    s3.put_object(Bucket="datahub-lake", Key="fleet/source/fleet_master/vehicles/part-0.json",
                  Body=b'{"vehicle_id": "v1", "model": "e-Van"}\n{"vehicle_id": "v2", "model": "Truck"}\n')


def create(client, capture, **source):
    body = {"name": "telemetry", "hub": "finance", "target": {"database": "finance_telemetry", "layer": "source"},
            "source": {"kind": "kinesis", "stream_name": "telemetry", **source}}
    with capture(execute=True):
        response = client.post("/api/v1/pipelines", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    return Pipeline.objects.get(pk=response.json()["id"])


def test_transformation_and_prep_stage_are_provisioned_run_and_torn_down_in_reverse(
        provider, aws_endpoint, eager, django_capture_on_commit_callbacks):
    vehicles_table()
    p = create(provider, django_capture_on_commit_callbacks, transform="json_lines",
               prep_reference_table="fleet_master.vehicles", prep_join_key="vehicle_id")
    assert p.status == "ready", p.error
    steps = provider.get(f"/api/v1/pipelines/{p.pk}/provisioning").json()["steps"]
    assert [s["key"] for s in steps] == ["s3_prefix", "glue_database", "kinesis_stream", "transform_lambda",
                                         "firehose", "glue_table", "prep_lambda", "monitoring", "sns_topic"]
    assert all(s["status"] == "succeeded" for s in steps)

    lam = aws.client("lambda")
    transform = lam.get_function(FunctionName="datahub-transform-finance_telemetry")["Configuration"]
    prep = lam.get_function(FunctionName="datahub-prep-finance_telemetry")["Configuration"]
    assert transform["Role"].endswith(":role/datahub-transform-finance_telemetry")  # each its own role
    assert prep["Role"].endswith(":role/datahub-prep-finance_telemetry")
    firehose = aws.client("firehose").describe_delivery_stream(DeliveryStreamName="datahub-finance_telemetry")
    destination = firehose["DeliveryStreamDescription"]["Destinations"][0]["ExtendedS3DestinationDescription"]
    assert destination["ProcessingConfiguration"]["Processors"][0]["Parameters"] == [
        {"ParameterName": "LambdaArn", "ParameterValue": transform["FunctionArn"]}]
    notifications = aws.client("s3").get_bucket_notification_configuration(Bucket="datahub-lake")
    assert [c["LambdaFunctionArn"] for c in notifications["LambdaFunctionConfigurations"]] == [prep["FunctionArn"]]

    # A delivered batch, and the prep stage run with the configuration provisioning gave it.
    aws.client("firehose").put_record_batch(DeliveryStreamName=provisioning.firehose_name(p), Records=[
        {"Data": b'{"vehicle_id": "v1", "speed": 80}\n'}, {"Data": b'{"vehicle_id": "v9", "speed": 10}\n'}])
    s3 = aws.client("s3")
    (raw_key,) = [o["Key"] for o in s3.list_objects_v2(Bucket="datahub-lake", Prefix=p.raw_prefix)["Contents"]
                  if "/telemetry/" in o["Key"]]
    event = {"Records": [{"s3": {"bucket": {"name": "datahub-lake"}, "object": {"key": raw_key}}}]}
    with pytest.MonkeyPatch.context() as env:
        for name, value in prep["Environment"]["Variables"].items():
            env.setenv(name, value)
        assert prep_enrich.handler(event, None, s3=s3) == {"events": 2}
    prepared_key = stream_lambdas.prepared_prefix(p) + raw_key.removeprefix(f"{p.raw_prefix}telemetry/")
    lines = gzip.decompress(s3.get_object(Bucket="datahub-lake", Key=prepared_key)["Body"].read()).splitlines()
    assert [json.loads(line) for line in lines] == [{"vehicle_id": "v1", "model": "e-Van", "speed": 80},
                                                    {"vehicle_id": "v9", "speed": 10}]

    with django_capture_on_commit_callbacks(execute=True):
        assert provider.delete(f"/api/v1/pipelines/{p.pk}").status_code in (200, 202, 204)
    assert not Pipeline.objects.filter(pk=p.pk).exists()
    assert lam.list_functions()["Functions"] == []
    roles = {r["RoleName"] for r in aws.client("iam").list_roles()["Roles"]}
    assert not roles & {"datahub-transform-finance_telemetry", "datahub-prep-finance_telemetry"}
    notifications = aws.client("s3").get_bucket_notification_configuration(Bucket="datahub-lake")
    assert notifications.get("LambdaFunctionConfigurations", []) == []


def test_an_unknown_reference_table_fails_its_step_with_the_reason_and_a_retry_finishes(
        provider, aws_endpoint, eager, django_capture_on_commit_callbacks):
    p = create(provider, django_capture_on_commit_callbacks, prep_reference_table="fleet_master.vehicles",
               prep_join_key="vehicle_id")
    assert p.status == "failed"
    step = p.steps.get(key="prep_lambda")
    assert step.status == "failed" and step.error == "Reference table fleet_master.vehicles is not in the Glue catalog."
    assert not aws.client("lambda").list_functions()["Functions"]  # nothing of the step half-made

    aws.client("glue").create_database(DatabaseInput={"Name": "fleet_master"})
    aws.client("glue").create_table(DatabaseName="fleet_master", TableInput={"Name": "vehicles", "StorageDescriptor": {
        "Location": "s3://datahub-lake/fleet/source/fleet_master/vehicles/"}})
    with django_capture_on_commit_callbacks(execute=True):
        assert provider.post(f"/api/v1/pipelines/{p.pk}/retry").status_code == 200
    p.refresh_from_db()
    assert p.status == "ready", p.error


def test_the_prep_stage_needs_its_join_key(provider, aws_endpoint, django_capture_on_commit_callbacks):
    body = {"name": "telemetry", "hub": "finance", "target": {"database": "finance_telemetry"},
            "source": {"kind": "kinesis", "stream_name": "telemetry", "prep_reference_table": "fleet_master.vehicles"}}
    response = provider.post("/api/v1/pipelines", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert "needs both the reference table and the join key" in json.dumps(response.json())
