"""A schedule faster than the last run took is refused with the reason (API and pipeline page)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from ingestion_wizard.models import Pipeline, PipelineRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def slow_pipeline(db):
    """A ready pipeline of hub finance whose last run took 22 minutes."""
    pipeline = Pipeline.objects.create(name="erp", hub="finance", source_kind="oracle", target_database="finance_erp",
                                       status="ready", schedule="0 2 * * *")
    end = timezone.now()
    PipelineRun.objects.create(pipeline=pipeline, status="succeeded", started_at=end - timedelta(minutes=22),
                               finished_at=end)
    return pipeline


def test_the_api_refuses_a_schedule_faster_than_the_last_run(provider, slow_pipeline):
    response = provider.patch(f"/api/v1/pipelines/{slow_pipeline.pk}", data=json.dumps({"schedule": "*/15 * * * *"}),
                              content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"]["schedule"] == [
        "'*/15 * * * *' fires every 15 minutes, but the last run took 22 minutes: choose a schedule with more "
        "time between runs."]
    slow_pipeline.refresh_from_db()
    assert slow_pipeline.schedule == "0 2 * * *"

    response = provider.patch(f"/api/v1/pipelines/{slow_pipeline.pk}", data=json.dumps({"schedule": "*/30 * * * *"}),
                              content_type="application/json")
    assert response.status_code == 200 and response.json()["schedule"] == "*/30 * * * *"


def test_the_pipeline_page_says_why(provider, slow_pipeline):
    response = provider.post(f"/ingestion/pipelines/{slow_pipeline.pk}/schedule/", {"schedule": "*/10 * * * *"},
                             follow=True)
    assert "fires every 10 minutes, but the last run took 22 minutes" in response.content.decode()
    slow_pipeline.refresh_from_db()
    assert slow_pipeline.schedule == "0 2 * * *"
