"""A run holds a lease while a worker works on it: a lapsed lease (the worker died) makes the run
resumable by the next worker, which finds what the dead one started instead of starting it twice;
a live lease keeps everyone else off. (A real killed process: test_killed_worker.py; here the
expired lease is set, moto plays Glue.)"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from ingestion_wizard import executor, services
from ingestion_wizard.models import Pipeline, PipelineRun
from portal import aws

pytestmark = pytest.mark.django_db

JOB = "datahub-ingest-finance_leased"


@pytest.fixture
def glue_pipeline(provider, pg_source, aws_endpoint, eager, django_capture_on_commit_callbacks) -> Pipeline:
    body = {"name": "leased", "hub": "finance", "source": pg_source, "schedule": None,
            "target": {"database": "finance_leased", "layer": "source"}}
    with django_capture_on_commit_callbacks(execute=True):
        response = provider.post("/api/v1/pipelines", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    pipeline = Pipeline.objects.get(pk=response.json()["id"])
    assert pipeline.status == Pipeline.Status.READY
    return pipeline


def _running(pipeline: Pipeline, *, lease_seconds: float, glue_run_id: str = "") -> PipelineRun:
    return PipelineRun.objects.create(pipeline=pipeline, status=PipelineRun.Status.RUNNING, executor="glue",
                                      started_at=timezone.now(), glue_run_id=glue_run_id,
                                      lease_expires_at=timezone.now() + timedelta(seconds=lease_seconds))


def _job_runs() -> list[dict]:
    return aws.client("glue").get_job_runs(JobName=JOB)["JobRuns"]


@override_settings(INGESTION_EXECUTOR="glue")
def test_a_glue_run_whose_worker_died_after_starting_the_job_is_resumed_without_a_second_job_run(
        glue_pipeline, django_capture_on_commit_callbacks):
    run = _running(glue_pipeline, lease_seconds=-1)
    # The dead worker got as far as starting the Glue job run, not as far as recording it.
    started = executor.start_glue_run(glue_pipeline, run.pk)
    assert len(_job_runs()) == 1

    with django_capture_on_commit_callbacks(execute=True):
        assert services.resume_stalled_runs() == [run.pk]
    run.refresh_from_db()
    assert run.status == PipelineRun.Status.SUCCEEDED, run.error
    assert run.glue_run_id == started
    assert len(_job_runs()) == 1  # found, not started again


@override_settings(INGESTION_EXECUTOR="glue")
def test_a_glue_run_whose_polls_were_lost_is_followed_again_to_its_end(glue_pipeline,
                                                                       django_capture_on_commit_callbacks):
    run = _running(glue_pipeline, lease_seconds=-1)
    job_run_id = executor.start_glue_run(glue_pipeline, run.pk)
    PipelineRun.objects.filter(pk=run.pk).update(glue_run_id=job_run_id)

    with django_capture_on_commit_callbacks(execute=True):
        assert services.resume_stalled_runs() == [run.pk]
    run.refresh_from_db()
    assert run.status == PipelineRun.Status.SUCCEEDED, run.error
    assert len(_job_runs()) == 1


@override_settings(INGESTION_EXECUTOR="glue")
def test_a_run_under_a_live_lease_is_left_to_its_worker(glue_pipeline, django_capture_on_commit_callbacks):
    run = _running(glue_pipeline, lease_seconds=120)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert services.resume_stalled_runs() == []
    assert callbacks == []
    assert services.claim_run(run.pk) is None  # another worker (a redelivered task) is kept off too
    assert _job_runs() == []
    PipelineRun.objects.filter(pk=run.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert services.claim_run(run.pk) is not None  # once it lapses, the next worker takes it over


@override_settings(INGESTION_EXECUTOR="glue")
def test_a_started_glue_run_holds_a_lease_its_polls_renew(glue_pipeline, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = services.request_run(glue_pipeline, trigger="api")
    run.refresh_from_db()
    assert run.status == PipelineRun.Status.SUCCEEDED
    PipelineRun.objects.filter(pk=run.pk).update(status=PipelineRun.Status.RUNNING, lease_expires_at=None)
    services.follow_glue_run(run.pk)
    run.refresh_from_db()
    # The poll renewed the lease (then ended the run): a lapse now means the polls stopped.
    assert run.lease_expires_at is not None and run.lease_expires_at > timezone.now()
