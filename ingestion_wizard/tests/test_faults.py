"""AWS faults on provisioning steps: permanent ones stop with the reason, throttling is retried,
a retry resumes at the failed step; no secret value anywhere."""

from __future__ import annotations

import json
import logging

import pytest
from botocore.stub import Stubber
from django.db import connection

from ingestion_wizard import tasks
from ingestion_wizard.models import Pipeline
from ingestion_wizard.tests import sources
from portal import aws

pytestmark = pytest.mark.django_db


def body(source, database="finance_faults"):
    return {"name": "faulty", "hub": "finance", "source": source,
            "target": {"database": database, "layer": "source"}, "schedule": None}


@pytest.fixture
def stubbed_glue(monkeypatch):
    """Glue calls go to a botocore Stubber (moto cannot answer AccessDenied or throttle); others to moto."""
    real_client = aws.client
    glue = real_client("glue")
    stubber = Stubber(glue)
    monkeypatch.setattr(aws, "client", lambda service, *a, **kw: glue if service == "glue" else real_client(
        service, *a, **kw))
    stubber.activate()
    yield stubber
    stubber.deactivate()


def not_found(stubber, method):
    stubber.add_client_error(method, service_error_code="EntityNotFoundException", service_message="not found",
                             http_status_code=400)


def create(client, source, capture, database="finance_faults"):
    with capture(execute=True):
        response = client.post("/api/v1/pipelines", data=json.dumps(body(source, database)),
                               content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def test_access_denied_fails_the_step_with_the_reason_and_retry_resumes_there(
        provider, pg_source, aws_endpoint, eager, django_capture_on_commit_callbacks, stubbed_glue, monkeypatch):
    not_found(stubbed_glue, "get_database")  # the collision check at create time
    not_found(stubbed_glue, "get_database")
    stubbed_glue.add_client_error(
        "create_database", service_error_code="AccessDeniedException", http_status_code=400,
        service_message="User: arn:aws:sts::123456789012:assumed-role/portal is not authorized to perform: "
                        "glue:CreateDatabase")
    pid = create(provider, pg_source, django_capture_on_commit_callbacks)

    prov = provider.get(f"/api/v1/pipelines/{pid}/provisioning").json()
    assert prov["status"] == "failed"
    steps = {s["key"]: s for s in prov["steps"]}
    assert steps["secret"]["status"] == steps["s3_prefix"]["status"] == "succeeded"
    assert steps["glue_database"]["status"] == "failed"
    assert steps["glue_database"]["error"].startswith("AccessDeniedException on CreateDatabase: User: arn:aws:sts")
    assert steps["glue_connection"]["status"] == steps["glue_job"]["status"] == "pending"
    assert "glue_database" in prov["error"]

    monkeypatch.undo()  # permissions fixed: Glue answers again (moto)
    with django_capture_on_commit_callbacks(execute=True):
        response = provider.post(f"/api/v1/pipelines/{pid}/retry")
    assert response.status_code == 200
    prov = provider.get(f"/api/v1/pipelines/{pid}/provisioning").json()
    assert prov["status"] == "ready", prov
    steps = {s["key"]: s for s in prov["steps"]}
    assert steps["s3_prefix"]["attempts"] == 1  # done once, skipped on the retry
    assert steps["glue_database"]["attempts"] == 2 and steps["glue_database"]["error"] is None


def test_throttling_is_retried_with_backoff_until_it_passes(
        provider, pg_source, aws_endpoint, eager, django_capture_on_commit_callbacks, stubbed_glue):
    not_found(stubbed_glue, "get_database")
    not_found(stubbed_glue, "get_database")
    stubbed_glue.add_client_error("create_database", service_error_code="ThrottlingException",
                                  service_message="Rate exceeded", http_status_code=400)
    not_found(stubbed_glue, "get_database")
    stubbed_glue.add_response("create_database", {})
    not_found(stubbed_glue, "get_connection")
    stubbed_glue.add_response("create_connection", {})
    not_found(stubbed_glue, "get_job")
    stubbed_glue.add_response("create_job", {"Name": "datahub-ingest-finance_faults"})
    pid = create(provider, pg_source, django_capture_on_commit_callbacks)
    steps = {s["key"]: s for s in provider.get(f"/api/v1/pipelines/{pid}/provisioning").json()["steps"]}
    assert steps["glue_database"]["status"] == "succeeded" and steps["glue_database"]["attempts"] == 2
    assert Pipeline.objects.get(pk=pid).status == "ready"
    stubbed_glue.assert_no_pending_responses()
    assert tasks.backoff(0) == 5 and tasks.backoff(3) == 40 and tasks.backoff(10) == 300


def test_throttling_that_never_ends_fails_the_step_after_the_last_attempt(
        provider, pg_source, aws_endpoint, django_capture_on_commit_callbacks, stubbed_glue):
    not_found(stubbed_glue, "get_database")
    with django_capture_on_commit_callbacks(execute=False):  # provisioning is driven by hand below
        response = provider.post("/api/v1/pipelines", data=json.dumps(body(pg_source)),
                                 content_type="application/json")
    pid = response.json()["id"]
    for key in ("secret", "s3_prefix"):
        assert tasks.provision_step.apply(args=(pid, key)).get() == "succeeded"
    not_found(stubbed_glue, "get_database")
    stubbed_glue.add_client_error("create_database", service_error_code="ThrottlingException",
                                  service_message="Rate exceeded", http_status_code=400)
    result = tasks.provision_step.apply(args=(pid, "glue_database"), retries=tasks.MAX_RETRIES).get()
    assert result == "failed"
    step = Pipeline.objects.get(pk=pid).steps.get(key="glue_database")
    assert step.status == "failed"
    assert step.error == "Gave up after 6 attempts: ThrottlingException on CreateDatabase: Rate exceeded"


def test_no_secret_value_reaches_the_database_logs_pages_or_api(
        provider, pg_source, aws_endpoint, eager, django_capture_on_commit_callbacks, caplog):
    caplog.set_level(logging.DEBUG)
    pid = create(provider, pg_source, django_capture_on_commit_callbacks, database="finance_secret_check")
    with django_capture_on_commit_callbacks(execute=True):
        provider.post(f"/api/v1/pipelines/{pid}/runs")
    outputs = [
        provider.get("/api/v1/pipelines").content, provider.get(f"/api/v1/pipelines/{pid}").content,
        provider.get(f"/api/v1/pipelines/{pid}/provisioning").content,
        provider.get(f"/api/v1/pipelines/{pid}/runs").content,
        provider.get("/ingestion/").content, provider.get(f"/ingestion/pipelines/{pid}/").content,
        provider.get(f"/ingestion/pipelines/{pid}/terraform/").content,
    ]
    run_id = json.loads(outputs[3])["results"][0]["id"]
    assert json.loads(outputs[3])["results"][0]["status"] == "succeeded"
    outputs.append(provider.get(f"/api/v1/pipelines/{pid}/runs/{run_id}").content)
    outputs.append(provider.get(f"/ingestion/pipelines/{pid}/runs/{run_id}/").content)
    for output in outputs:
        assert sources.PG_PASSWORD.encode() not in output
    assert sources.PG_PASSWORD not in caplog.text

    # Every row of every table of the portal's database, as text.
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'select * from "{table}"')
            dump = repr(cursor.fetchall())
            assert sources.PG_PASSWORD not in dump, table
    # ...while Secrets Manager does hold it: the test would see a leak if there were one.
    arn = Pipeline.objects.get(pk=pid).secret_arn
    assert sources.PG_PASSWORD in aws.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]


def test_a_teardown_that_is_refused_keeps_the_record_and_says_where_it_stopped(
        provider, pg_source, aws_endpoint, eager, django_capture_on_commit_callbacks, monkeypatch):
    pid = create(provider, pg_source, django_capture_on_commit_callbacks, database="finance_keep")
    real_client = aws.client
    glue = real_client("glue")
    stubber = Stubber(glue)
    stubber.add_client_error("delete_job", service_error_code="AccessDeniedException", http_status_code=400,
                             service_message="not authorized to perform: glue:DeleteJob")
    monkeypatch.setattr(aws, "client", lambda service, *a, **kw: glue if service == "glue" else real_client(
        service, *a, **kw))
    monkeypatch.setattr(tasks.teardown_pipeline, "max_retries", 0)  # a permanent refusal: no retries to wait for
    with stubber, django_capture_on_commit_callbacks(execute=True):
        assert provider.delete(f"/api/v1/pipelines/{pid}").status_code == 202
    pipeline = Pipeline.objects.get(pk=pid)
    assert pipeline.status == "deleting"
    assert pipeline.error.startswith("Teardown stopped at 'glue_job': AccessDeniedException on DeleteJob")
    steps = {s.key: s.status for s in pipeline.steps.all()}
    assert steps["sns_topic"] == "removed" and steps["glue_job"] == "succeeded" and steps["s3_prefix"] == "succeeded"

    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        assert provider.delete(f"/api/v1/pipelines/{pid}").status_code == 202
    assert not Pipeline.objects.filter(pk=pid).exists()
    assert aws.client("glue").get_databases()["DatabaseList"] == []
