"""A ready pipeline whose AWS resources vanished (the embedded mode's moto after a restart) is
marked "resources missing" by ``manage.py check_resources``, and Retry re-creates what is gone."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from ingestion_wizard.aws import provisioning
from ingestion_wizard.models import Pipeline
from portal import aws
from identity.models import AuditEvent

pytestmark = pytest.mark.django_db


def ready_pipeline(client, source, capture) -> Pipeline:
    data = {"name": "kept", "hub": "finance", "source": source,
            "target": {"database": "finance_kept", "layer": "source"}, "schedule": "0 3 * * *"}
    with capture(execute=True):
        response = client.post("/api/v1/pipelines", data=json.dumps(data), content_type="application/json")
    assert response.status_code == 201, response.content
    pipeline = Pipeline.objects.get(pk=response.json()["id"])
    assert pipeline.status == Pipeline.Status.READY, pipeline.error
    return pipeline


def test_a_pipeline_whose_glue_job_is_gone_is_marked_and_retry_recreates_it(
        provider, pg_source, aws_endpoint, eager, django_capture_on_commit_callbacks):
    pipeline = ready_pipeline(provider, pg_source, django_capture_on_commit_callbacks)
    call_command("check_resources")
    pipeline.refresh_from_db()
    assert pipeline.status == Pipeline.Status.READY  # everything there: nothing marked

    glue = aws.client("glue")
    glue.delete_job(JobName=provisioning.job_name(pipeline))
    call_command("check_resources")

    pipeline.refresh_from_db()
    assert pipeline.status == Pipeline.Status.RESOURCES_MISSING
    assert f"Glue job {provisioning.job_name(pipeline)}" in pipeline.error
    assert not pipeline.periodic_task.enabled  # no scheduled run against a missing job
    assert AuditEvent.objects.filter(action="ingestion.resources_missing").count() == 1
    page = provider.get(f"/ingestion/pipelines/{pipeline.pk}/").content.decode()
    assert "re-create the resources" in page and "Glue job" in page
    # A run cannot start while the resources are missing.
    assert provider.post(f"/api/v1/pipelines/{pipeline.pk}/runs").status_code == 409

    with django_capture_on_commit_callbacks(execute=True):
        retried = provider.post(f"/api/v1/pipelines/{pipeline.pk}/retry")
    assert retried.status_code == 200, retried.content
    pipeline.refresh_from_db()
    assert pipeline.status == Pipeline.Status.READY, pipeline.error
    assert glue.get_job(JobName=provisioning.job_name(pipeline))["Job"]["Name"] == provisioning.job_name(pipeline)
    assert pipeline.periodic_task.enabled


def test_a_pipeline_aws_cannot_be_asked_about_is_left_as_it_is(
        provider, pg_source, aws_endpoint, eager, django_capture_on_commit_callbacks, settings):
    pipeline = ready_pipeline(provider, pg_source, django_capture_on_commit_callbacks)
    settings.AWS_ENDPOINT_URL = "http://127.0.0.1:1"  # nothing listens: unknown is not missing
    call_command("check_resources")
    pipeline.refresh_from_db()
    assert pipeline.status == Pipeline.Status.READY
