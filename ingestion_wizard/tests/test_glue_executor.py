"""In AWS a run starts the pipeline's Glue job and follows it to its end (moto plays Glue)."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings

from portal import aws

pytestmark = pytest.mark.django_db


@override_settings(INGESTION_EXECUTOR="glue")
def test_a_run_starts_the_glue_job_and_ends_with_its_final_state(
        provider, pg_source, aws_endpoint, eager, django_capture_on_commit_callbacks):
    body = {"name": "erp-glue", "hub": "finance", "source": pg_source, "schedule": None,
            "target": {"database": "finance_glue_run", "layer": "source"}}
    with django_capture_on_commit_callbacks(execute=True):
        pid = provider.post("/api/v1/pipelines", data=json.dumps(body), content_type="application/json").json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        assert provider.post(f"/api/v1/pipelines/{pid}/runs").status_code == 202
    run = provider.get(f"/api/v1/pipelines/{pid}/runs").json()["results"][0]
    assert run["status"] == "succeeded", run["error"]
    detail = provider.get(f"/api/v1/pipelines/{pid}/runs/{run['id']}").json()
    job_runs = aws.client("glue").get_job_runs(JobName="datahub-ingest-finance_glue_run")["JobRuns"]
    assert len(job_runs) == 1
    assert f"Started Glue job run {job_runs[0]['Id']}" in detail["log"]
