"""``python manage.py reindex``: rebuild the search index into a new index and swap the alias atomically."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from catalog.search.indexer import IndexUnavailable, alias_name, rebuild
from portal.opensearch import get_client


class Command(BaseCommand):
    help = "Rebuild the catalog search index from the database (search keeps answering from the old index)."

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()

        def progress(done: int) -> None:
            if options["verbosity"] > 1 and done % 10_000 == 0:
                self.stdout.write(f"  {done} documents…")

        try:
            name = rebuild(progress=progress)
        except IndexUnavailable as exc:
            raise CommandError(f"Reindex failed, search still uses the previous index: {exc}") from exc
        seconds = time.monotonic() - started
        count = get_client().count(index=alias_name())["count"]
        self.stdout.write(self.style.SUCCESS(
            f"Reindexed {count} datasets into {name} in {seconds:.1f}s; {alias_name()} now points at it."))
