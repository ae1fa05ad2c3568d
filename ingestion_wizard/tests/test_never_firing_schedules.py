"""Schedules that can never fire are refused wherever a schedule is taken (wizard, "Save schedule",
the API), with the same rule (validation.validate_cron: Celery beat's own crontab parser, then at
least one run in the future); a draft saved with such a schedule shows the reason, never a 500."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from ingestion_wizard.models import Draft, Pipeline
from ingestion_wizard.tests.test_wizard import post, start, step_url
from ingestion_wizard.validation import next_runs, validate_cron

pytestmark = pytest.mark.django_db
NEVER = ["0 0 31 2 *", "0 0 30 2 *", "0 0 L * ?", "0 0 L * *", "0 0 ? * *", "0 0 * * 1#2"]


@pytest.mark.parametrize("cron, reason", [
    ("0 0 31 2 *", "never fires: day '31' never occurs in month '2'"),
    ("0 0 30 2 *", "never fires: day '30' never occurs in month '2'"),
    ("0 0 31 4,6 *", "never fires"),
    ("0 0 L * ?", "the day-of-month field 'L' is not valid: use 1-31 (Quartz-style ?, L, W and # are not supported)"),
    ("0 0 L * *", "the day-of-month field 'L' is not valid"),
    ("0 0 ? * *", "the day-of-month field '?' is not valid"),
    ("0 0 * * 1#2", "the day-of-week field '1#2' is not valid"),
    ("0 0 * * 7", "the day-of-week field '7' is not valid: use 0-6 or sun-sat"),
    ("0 25 * * *", "the hour field '25' is not valid: use 0-23"),
    ("0 2 * *", "Cron must have five fields"),
])
def test_a_schedule_that_cannot_fire_is_refused_with_its_reason(cron, reason):
    with pytest.raises(ValueError) as refused:
        validate_cron(cron)
    assert reason in str(refused.value)


@pytest.mark.parametrize("cron", ["0 2 * * *", "*/15 * * jan mon-fri", "0 0 29 2 *", "30  4 * *   1"])
def test_schedules_beat_can_run_pass_with_their_whitespace_normalised(cron):
    assert validate_cron(cron) == " ".join(cron.split())


def test_next_runs_read_day_of_month_and_day_of_week_as_beat_does_both_must_match():
    # Celery's crontab fires on the 13th only when it is a Friday; plain cron would fire on either.
    start_at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    runs = next_runs("0 0 13 * 5", 3, start=start_at)
    assert [r.date().isoformat() for r in runs] == ["2026-02-13", "2026-03-13", "2026-11-13"]
    assert all(r.weekday() == 4 and r.day == 13 for r in runs)


def at_the_schedule_step(provider) -> Draft:
    """A kinesis draft filled in up to its schedule step (no source database needed)."""
    draft = start(provider)
    post(provider, draft, "source", {"kind": "kinesis"})
    post(provider, draft, "stream", {"stream_name": "clicks", "shards": 1, "columns": "user_id bigint"})
    post(provider, draft, "target", {"name": "web-clicks", "hub": "finance", "layer": "source",
                                     "database": "finance_web", "classification": "internal",
                                     "partitioning": "load_date"})
    return draft


def test_the_schedule_step_refuses_a_never_firing_cron_and_a_cron_typed_while_on_demand(provider, aws_endpoint):
    draft = at_the_schedule_step(provider)
    for cron in NEVER:
        response = post(provider, draft, "schedule", {"mode": "cron", "cron": cron})
        assert response.status_code == 200, cron  # the step again, with the error next to the field
        assert "is not valid" in response.content.decode() or "never fires" in response.content.decode()
    response = post(provider, draft, "schedule", {"mode": "on_demand", "cron": "0 2 * * *"})
    assert response.status_code == 200
    assert "You typed a schedule but chose “On demand”" in response.content.decode()
    assert post(provider, draft, "schedule", {"mode": "on_demand", "cron": ""}).status_code == 302


def test_a_draft_saved_with_a_never_firing_cron_shows_the_reason_on_review_and_resume(provider, aws_endpoint):
    draft = at_the_schedule_step(provider)
    assert post(provider, draft, "schedule", {"mode": "cron", "cron": "0 2 * * *"}).status_code == 302
    # As a draft saved before this rule existed: the stored answer is 31 February.
    draft = Draft.objects.get(pk=draft.pk)
    draft.data["step_data"]["schedule"]["schedule-cron"] = ["0 0 31 2 *"]
    draft.save()

    review = provider.get(step_url(draft, "review"))
    assert review.status_code == 200
    assert 'data-testid="schedule-error"' in review.content.decode()
    resume = provider.get(f"/ingestion/drafts/{draft.pk}/", follow=True)
    assert resume.status_code == 200 and 'data-testid="schedule-error"' in resume.content.decode()
    # Confirming goes back to the schedule step with the reason; no pipeline is made.
    response = post(provider, draft, "review", {"confirm": "on"})
    page = provider.get(response["Location"], follow=True) if response.status_code == 302 else response
    assert "never fires" in page.content.decode()
    assert not Pipeline.objects.filter(name="web-clicks").exists()


@pytest.fixture
def pipeline(provider) -> Pipeline:
    return Pipeline.objects.create(name="erp-orders", hub="finance", status="ready", source_kind="postgresql",
                                   target_database="finance_erp", schedule="0 1 * * *")


@pytest.mark.parametrize("cron", NEVER)
def test_save_schedule_and_the_api_refuse_a_never_firing_cron(provider, pipeline, cron):
    response = provider.post(f"/ingestion/pipelines/{pipeline.pk}/schedule/", {"schedule": cron}, follow=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "never fires" in page or "is not valid" in page

    response = provider.patch(f"/api/v1/pipelines/{pipeline.pk}", data=json.dumps({"schedule": cron}),
                              content_type="application/json")
    assert response.status_code == 400
    assert "never fires" in json.dumps(response.json()) or "is not valid" in json.dumps(response.json())

    body = {"name": "web-clicks", "hub": "finance", "schedule": cron,
            "source": {"kind": "kinesis", "stream_name": "clicks", "columns": [{"name": "a", "type": "string"}]},
            "target": {"database": "finance_web", "layer": "source"}}
    response = provider.post("/api/v1/pipelines", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 400 and "schedule" in response.json()["detail"]
    assert Pipeline.objects.get(pk=pipeline.pk).schedule == "0 1 * * *"
