"""The beat schedule of the catalog tasks, kept as django-celery-beat rows (idempotent)."""

from __future__ import annotations

import json

from django.conf import settings
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from catalog.services.sync import ensure_catalogs

POLL_EVENTS_TASK_NAME = "catalog: poll Glue change events"


def _every(seconds: int) -> IntervalSchedule:
    return IntervalSchedule.objects.get_or_create(every=seconds, period=IntervalSchedule.SECONDS)[0]


def _ensure(name: str, task: str, seconds: int, args: list, kwargs: dict, *, enabled: bool = True) -> None:
    wanted = {"task": task, "interval": _every(seconds), "args": json.dumps(args), "kwargs": json.dumps(kwargs),
              "enabled": enabled, "expire_seconds": seconds}
    current = PeriodicTask.objects.filter(name=name).first()
    if current is not None and all(getattr(current, k) == v for k, v in wanted.items()):
        return  # saving would make beat reload its schedule for nothing
    PeriodicTask.objects.update_or_create(name=name, defaults=wanted)


def ensure_schedules() -> list[str]:
    """Create or update the periodic tasks: a full sync per catalog every CATALOG_SYNC_INTERVAL_SECONDS,
    and the event poller every CATALOG_EVENTS_POLL_SECONDS when CATALOG_EVENTS_QUEUE_URL is set.

    Returns the names of the enabled tasks. Safe to call on every start.
    """
    names: list[str] = []
    for catalog in ensure_catalogs():
        name = f"catalog: full sync of {catalog}"
        _ensure(name, "catalog.tasks.sync_catalog_task", settings.CATALOG_SYNC_INTERVAL_SECONDS, [catalog.pk],
                {"full": True})
        names.append(name)
    has_queue = bool(settings.CATALOG_EVENTS_QUEUE_URL)
    _ensure(POLL_EVENTS_TASK_NAME, "catalog.tasks.poll_catalog_events", settings.CATALOG_EVENTS_POLL_SECONDS, [],
            {}, enabled=has_queue)
    if has_queue:
        names.append(POLL_EVENTS_TASK_NAME)
    return names
