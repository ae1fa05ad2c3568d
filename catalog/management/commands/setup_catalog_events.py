"""``python manage.py setup_catalog_events``: the SQS queue + EventBridge rule for Glue change events."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from catalog.services.events import DEFAULT_QUEUE_NAME, setup_event_queue


class Command(BaseCommand):
    help = ("Create (idempotently) the SQS queue receiving Glue Data Catalog change events and the EventBridge "
            "rule feeding it; prints the CATALOG_EVENTS_QUEUE_URL to set.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--queue-name", default=DEFAULT_QUEUE_NAME)

    def handle(self, *args: Any, **options: Any) -> None:
        url = setup_event_queue(options["queue_name"])
        self.stdout.write(f"CATALOG_EVENTS_QUEUE_URL={url}")
