"""The search index follows the mirror: incremental updates, soft deletes, full rebuild behind an alias."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from catalog.search import indexer
from catalog.search.indexer import IndexUnavailable, alias_name, index_tables, rebuild
from catalog.tests.search_support import make_table
from portal.opensearch import get_client
from portal.testing.services import free_port

pytestmark = pytest.mark.django_db


def names_in_index() -> set[str]:
    hits = get_client().search(index=alias_name(), body={"size": 100, "query": {"match_all": {}}})["hits"]["hits"]
    return {h["_source"]["qualified_name"] for h in hits}


def test_index_tables_writes_live_tables_and_removes_soft_deleted_ones(search: str) -> None:
    keep = make_table("sales.orders")
    drop = make_table("sales.refunds")
    assert index_tables([keep.id, drop.id]) == 2
    drop.deleted_at = timezone.now()
    drop.save()
    assert index_tables([keep.id, drop.id, 999_999]) == 1
    assert names_in_index() == {"sales.orders"}


def test_rebuild_swaps_the_alias_to_a_new_index_and_drops_the_old_one(search: str) -> None:
    make_table("sales.orders")
    first = rebuild()
    make_table("sales.refunds")
    second = rebuild()
    assert first != second
    client = get_client()
    assert list(client.indices.get_alias(name=alias_name())) == [second]
    assert not client.indices.exists(index=first)
    assert names_in_index() == {"sales.orders", "sales.refunds"}


def test_search_keeps_answering_from_the_old_index_while_the_new_one_builds(search: str, monkeypatch: pytest.MonkeyPatch) -> None:
    tables = [make_table(f"sales.t{i}") for i in range(6)]
    index_tables([tables[0].id])
    monkeypatch.setattr(indexer, "BATCH_SIZE", 2)
    seen_during_build: list[set[str]] = []
    rebuild(progress=lambda done: seen_during_build.append(names_in_index()))
    assert seen_during_build and all(seen == {"sales.t0"} for seen in seen_during_build)
    assert len(names_in_index()) == 6


def test_rebuild_replaces_a_concrete_index_squatting_on_the_alias_name(search: str) -> None:
    get_client().indices.create(index=alias_name())
    make_table("sales.orders")
    rebuild()
    assert names_in_index() == {"sales.orders"}


def test_opensearch_down_raises_index_unavailable(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "OPENSEARCH_URL", f"http://127.0.0.1:{free_port()}")
    table = make_table("sales.orders")
    with pytest.raises(IndexUnavailable):
        index_tables([table.id])
    with pytest.raises(IndexUnavailable):
        rebuild()


def test_the_reindex_command_reports_what_it_built(search: str) -> None:
    make_table("sales.orders")
    out = StringIO()
    call_command("reindex", stdout=out)
    assert f"Reindexed 1 datasets into {alias_name()}-v" in out.getvalue()


def test_matched_columns_of_wide_tables_come_from_the_mirror_at_any_position(search: str) -> None:
    from catalog.search.query import SearchRequest
    from catalog.search.searcher import search as run_search
    from identity.roles import Role

    columns: list[Any] = [(f"metric_{i}", "double", "") for i in range(2_000)]
    columns.append(("churn_probability", "double", "Likelihood the customer leaves"))
    wide = make_table("ml.features_wide", columns)
    index_tables([wide.id])
    result = run_search(SearchRequest(text="churn probability"), Role("admin"))["results"][0]
    assert result["matched_columns"] == [
        {"name": "churn_probability", "type": "double", "comment": "Likelihood the customer leaves"}
    ]


def test_changes_indexed_during_a_rebuild_reach_the_index_being_built(search: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from catalog.search.indexer import building_alias_name

    for i in range(4):
        make_table(f"sales.t{i}")
    monkeypatch.setattr(indexer, "BATCH_SIZE", 2)
    landed: list[bool] = []

    def change_mid_build(done: int) -> None:
        if landed:
            return
        late = make_table("sales.late_arrival")
        index_tables([late.id])
        landed.append(get_client().exists(index=building_alias_name(), id=str(late.id)))

    new = rebuild(progress=change_mid_build)
    assert landed == [True]
    assert list(get_client().indices.get_alias(name=alias_name())) == [new]
    assert not get_client().indices.exists_alias(name=building_alias_name())
