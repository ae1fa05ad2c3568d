"""Beat's scheduled runs, and the pipeline page's actions (the same services as the API)."""

from __future__ import annotations

import json

import pytest
from django_celery_beat.models import PeriodicTask

from ingestion_wizard import tasks
from ingestion_wizard.models import Pipeline, PipelineRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready_pipeline(provider, pg_source, aws_endpoint, eager, django_capture_on_commit_callbacks):
    body = {"name": "erp-nightly", "hub": "finance", "source": pg_source, "schedule": "0 1 * * *",
            "target": {"database": "finance_nightly", "layer": "source"}}
    with django_capture_on_commit_callbacks(execute=True):
        pid = provider.post("/api/v1/pipelines", data=json.dumps(body), content_type="application/json").json()["id"]
    return Pipeline.objects.get(pk=pid)


def test_the_beat_entry_runs_the_pipeline_unless_it_is_paused(provider, ready_pipeline,
                                                             django_capture_on_commit_callbacks):
    entry = PeriodicTask.objects.get(name=f"ingestion-pipeline-{ready_pipeline.pk}")
    assert entry.task == "ingestion_wizard.tasks.scheduled_run" and json.loads(entry.args) == [ready_pipeline.pk]
    with django_capture_on_commit_callbacks(execute=True):
        run_id = tasks.scheduled_run.apply(args=json.loads(entry.args)).get()
    run = PipelineRun.objects.get(pk=run_id)
    assert (run.trigger, run.status, run.rows) == ("schedule", "succeeded", 120)

    provider.post(f"/ingestion/pipelines/{ready_pipeline.pk}/pause/")
    assert tasks.scheduled_run.apply(args=[ready_pipeline.pk]).get() is None
    assert ready_pipeline.runs.count() == 1


def test_a_second_run_while_one_is_queued_is_refused(provider, ready_pipeline):
    PipelineRun.objects.create(pipeline=ready_pipeline)  # queued, its worker not there yet
    response = provider.post(f"/api/v1/pipelines/{ready_pipeline.pk}/runs")
    assert response.status_code == 409 and "already queued or running" in response.json()["error"]
    assert tasks.scheduled_run.apply(args=[ready_pipeline.pk]).get() is None


def test_a_run_lost_with_its_worker_does_not_block_later_runs(provider, ready_pipeline,
                                                             django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    lost = PipelineRun.objects.create(pipeline=ready_pipeline, status="running")
    PipelineRun.objects.filter(pk=lost.pk).update(created_at=timezone.now() - timedelta(hours=49))
    with django_capture_on_commit_callbacks(execute=True):
        assert provider.post(f"/api/v1/pipelines/{ready_pipeline.pk}/runs").status_code == 202
    lost.refresh_from_db()
    assert lost.status == "failed" and lost.error.startswith("Abandoned: no outcome after 48 hours")
    assert ready_pipeline.runs.filter(status="succeeded").count() == 1


def test_the_pipeline_page_pauses_resumes_reschedules_and_runs(provider, ready_pipeline,
                                                               django_capture_on_commit_callbacks):
    url = f"/ingestion/pipelines/{ready_pipeline.pk}/"
    page = provider.get(url).content.decode()
    assert "At 01:00 (UTC)" in page and "Run now" in page and "Download Terraform" in page

    provider.post(url + "pause/")
    assert Pipeline.objects.get(pk=ready_pipeline.pk).status == "paused"
    assert "Resume" in provider.get(url).content.decode()
    provider.post(url + "resume/")
    assert Pipeline.objects.get(pk=ready_pipeline.pk).status == "ready"

    response = provider.post(url + "schedule/", {"schedule": "99 * * * *"}, follow=True)
    assert "the minute field &#x27;99&#x27; is not valid: use 0-59" in response.content.decode()
    provider.post(url + "schedule/", {"schedule": ""})
    assert Pipeline.objects.get(pk=ready_pipeline.pk).schedule == ""
    assert not PeriodicTask.objects.filter(name=f"ingestion-pipeline-{ready_pipeline.pk}").exists()

    with django_capture_on_commit_callbacks(execute=True):
        provider.post(url + "run/")
    runs = provider.get(url + "runs/").content.decode()
    assert "succeeded" in runs and ">120<" in runs


def test_other_hubs_providers_get_not_found(client, ready_pipeline):
    from identity.roles import Role
    from portal.testing.personas import login_as

    login_as(client, "mallory", Role("provider", "marketing"))
    assert client.get(f"/ingestion/pipelines/{ready_pipeline.pk}/").status_code == 404
    assert client.get(f"/api/v1/pipelines/{ready_pipeline.pk}").status_code == 404
    assert client.get("/api/v1/pipelines").json()["results"] == []
