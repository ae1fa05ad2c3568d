"""Reading several Glue databases at once while the sync consumes them in catalog order (no services)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

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
