"""Reading several Glue databases at once while the sync consumes them in catalog order (no services)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from opensearchpy import OpenSearch

from catalog.search.indexer import alias_name
from catalog.services.sync import _walk, read_ahead
from catalog.sources.glue import DatabaseRecord, ItemFailed, SourceUnavailable, TablePage


def database(name: str) -> DatabaseRecord:
    return DatabaseRecord(name, "", "", {}, "", "", "", "", "", None)


class SlowSource:
    """Pages arrive after random delays; records how many databases were being read at once."""

    def __init__(self, pages: dict[str, int], fail: dict[str, Exception] | None = None) -> None:
        self.pages = pages
        self.fail = fail or {}
        self.reading = 0
        self.most_at_once = 0
        self.lock = threading.Lock()
        self.rng = random.Random(3)

    def table_pages(self, record: DatabaseRecord) -> Iterator[TablePage]:
        with self.lock:
            self.reading += 1
            self.most_at_once = max(self.most_at_once, self.reading)
        try:
            for number in range(self.pages[record.name]):
                time.sleep(self.rng.random() / 200)
                yield TablePage([], [f"{record.name}-{number}"])
            if record.name in self.fail:
                raise self.fail[record.name]
        finally:
            with self.lock:
                self.reading -= 1


def steps(items: Any) -> list[tuple[str, str, Any]]:
    return [(step, record.name, payload.failed if isinstance(payload, TablePage) else str(payload or ""))
            for step, record, payload in items]


def test_steps_come_in_catalog_order_while_databases_are_read_at_once() -> None:
    source = SlowSource({f"db{i}": i % 4 for i in range(12)})
    databases = [database(f"db{i}") for i in range(12)]

    concurrent = steps(read_ahead(source, databases, readers=3))  # type: ignore[arg-type]

    assert concurrent == steps(_walk(source, databases))  # type: ignore[arg-type]
    assert source.most_at_once > 1


def test_a_database_that_cannot_be_listed_is_a_failed_step_and_the_rest_goes_on() -> None:
    source = SlowSource({"a": 1, "b": 2, "c": 1}, fail={"b": ItemFailed("b: tables not readable")})

    result = steps(read_ahead(source, [database("a"), database("b"), database("c")]))  # type: ignore[arg-type]

    assert ("failed", "b", "b: tables not readable") in result
    assert result[-1] == ("done", "c", "")


def test_glue_unreachable_reaches_the_consumer() -> None:
    source = SlowSource({"a": 1, "b": 1}, fail={"b": SourceUnavailable("Glue unreachable")})

    with pytest.raises(SourceUnavailable, match="Glue unreachable"):
        list(read_ahead(source, [database("a"), database("b")]))  # type: ignore[arg-type]


def test_stopping_early_stops_the_readers() -> None:
    source = SlowSource({f"db{i}": 50 for i in range(4)})
    before = threading.active_count()

    stream = read_ahead(source, [database(f"db{i}") for i in range(4)])  # type: ignore[arg-type]
    next(stream)
    stream.close()

    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() == before


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("group", "expected"), [
    # Three databases of three tables, committed one by one: groups without a refresh, and the
    # last group asks for the one refresh (with no ids when the last commit filled a group).
    (5, [(6, False), (3, True)]),
    (3, [(3, False), (3, False), (3, False), (0, True)]),
])
def test_a_full_sync_signals_committed_tables_in_large_groups(aws_endpoint: str, search: str, group: int,
                                                              expected: list[tuple[int, bool]],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from catalog import signals
    from catalog.services import sync
    from catalog.tests import sync_glue as g

    monkeypatch.setattr(sync, "COALESCE_IDS", group)
    for name in ("a", "b", "c"):
        g.create_database(name)
        for number in range(3):
            g.create_table(name, f"t{number}")
    signalled: list[tuple[int, bool]] = []

    def receiver(sender: Any, table_ids: list[int], refresh: bool = True, **kwargs: Any) -> None:
        signalled.append((len(table_ids), refresh))

    signals.tables_changed.connect(receiver, dispatch_uid="test-coalescing")
    try:
        sync.full_sync(sync.ensure_catalogs()[0])
        refreshed = sync.refresh_tables(sync.ensure_catalogs()[0], [("a", "t0")], databases=[])
    finally:
        signals.tables_changed.disconnect(dispatch_uid="test-coalescing")

    assert signalled == expected
    # The whole sync is searchable when the run ends; the event refresh that follows changes nothing.
    assert sync_search_names() == {f"t{n}" for n in range(3)}
    assert refreshed.counts["tables_unchanged"] == 1


def sync_search_names() -> set[str]:
    hits = OpenSearch(hosts=[settings.OPENSEARCH_URL]).search(index=alias_name(), body={"size": 50})["hits"]["hits"]
    return {hit["_source"]["name"] for hit in hits}
