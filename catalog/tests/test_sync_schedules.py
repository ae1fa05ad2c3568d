"""The beat schedule of the catalog tasks follows the settings and is safe to ensure on every start."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django_celery_beat.models import PeriodicTask

from catalog.services.schedules import POLL_EVENTS_TASK_NAME, ensure_schedules

pytestmark = pytest.mark.django_db


def test_each_catalog_gets_a_full_sync_every_interval_and_events_are_polled_every_few_seconds(settings: Any) -> None:
    settings.CATALOG_SYNC_INTERVAL_SECONDS = 600
    settings.CATALOG_EVENTS_QUEUE_URL = "http://sqs.local/123456789012/datahub-catalog-events"
    settings.CATALOG_EVENTS_POLL_SECONDS = 5

    names = ensure_schedules()
    ensure_schedules()

    assert len(names) == 2 and PeriodicTask.objects.filter(name__startswith="catalog: ").count() == 2
    sync = PeriodicTask.objects.get(task="catalog.tasks.sync_catalog_task")
    assert (sync.interval.every, sync.interval.period, json.loads(sync.kwargs)) == (600, "seconds", {"full": True})
    poll = PeriodicTask.objects.get(name=POLL_EVENTS_TASK_NAME)
    assert poll.enabled and poll.interval.every == 5


def test_a_changed_interval_updates_the_schedule_and_no_queue_disables_polling(settings: Any) -> None:
    settings.CATALOG_EVENTS_QUEUE_URL = "http://sqs.local/q"
    ensure_schedules()
    settings.CATALOG_SYNC_INTERVAL_SECONDS = 120
    settings.CATALOG_EVENTS_QUEUE_URL = ""

    ensure_schedules()

    assert PeriodicTask.objects.get(task="catalog.tasks.sync_catalog_task").interval.every == 120
    assert not PeriodicTask.objects.get(name=POLL_EVENTS_TASK_NAME).enabled
