"""The sync keeps the search index following, and survives OpenSearch being down (osmem, moto, PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest

from catalog.models import GlueCatalog, SyncRun, Table
from catalog.services.sync import ensure_catalogs, full_sync
from catalog.tests import sync_glue as g
from portal.opensearch import get_client, index_name

pytestmark = pytest.mark.django_db

DOWN = "http://127.0.0.1:1"


@pytest.fixture
def catalog(aws_endpoint: str) -> GlueCatalog:
    g.create_database("sales", hub="sales", visibility="public")
    g.create_table("sales", "orders", [("order_id", "bigint")])
    g.create_table("sales", "customers", [("customer_id", "bigint")])
    return ensure_catalogs()[0]


def indexed_names() -> set[str]:
    client = get_client()
    client.indices.refresh(index=index_name("tables"))
    hits = client.search(index=index_name("tables"), body={"size": 100, "query": {"match_all": {}}})["hits"]["hits"]
    return {hit["_source"]["name"] for hit in hits}


def test_committed_changes_reach_the_search_index(catalog: GlueCatalog, search: str,
                                                  django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        full_sync(catalog)

    assert indexed_names() == {"orders", "customers"}
    g.glue().delete_table(CatalogId=g.ACCOUNT, DatabaseName="sales", Name="customers")
    with django_capture_on_commit_callbacks(execute=True):
        full_sync(catalog)
    assert indexed_names() == {"orders"}


def test_opensearch_down_still_syncs_and_the_next_success_catches_up(
        catalog: GlueCatalog, search: str, settings: Any, django_capture_on_commit_callbacks: Any) -> None:
    settings.OPENSEARCH_URL = DOWN
    with django_capture_on_commit_callbacks(execute=True):
        run = full_sync(catalog)

    assert run.status == SyncRun.Status.SUCCEEDED
    assert Table.objects.live().count() == 2
    assert GlueCatalog.objects.get(pk=catalog.pk).index_stale

    settings.OPENSEARCH_URL = search
    with django_capture_on_commit_callbacks(execute=True):
        again = full_sync(catalog)

    assert again.counts["tables_unchanged"] == 2  # nothing changed in Glue, yet the index is caught up
    assert not GlueCatalog.objects.get(pk=catalog.pk).index_stale
    assert indexed_names() == {"orders", "customers"}


@pytest.mark.django_db(transaction=True)
def test_a_full_sync_has_indexed_every_committed_batch_when_it_returns(catalog: GlueCatalog, search: str) -> None:
    # Real commits: the search receiver runs on the sync's background delivery thread.
    run = full_sync(catalog)

    assert run.status == SyncRun.Status.SUCCEEDED
    assert indexed_names() == {"orders", "customers"}
    assert not GlueCatalog.objects.get(pk=catalog.pk).index_stale


def indexed_descriptions() -> dict[str, str]:
    client = get_client()
    client.indices.refresh(index=index_name("tables"))
    hits = client.search(index=index_name("tables"), body={"size": 100, "query": {"match_all": {}}})["hits"]["hits"]
    return {hit["_source"]["name"]: hit["_source"].get("description") or "" for hit in hits}


def test_a_curation_made_while_opensearch_was_down_reaches_the_index_once_it_is_back(
        catalog: GlueCatalog, search: str, settings: Any, django_capture_on_commit_callbacks: Any) -> None:
    from catalog.search.repair import repair_if_due
    from catalog.services.curation import CurationInput, curate
    from identity.roles import Role

    with django_capture_on_commit_callbacks(execute=True):
        full_sync(catalog)
    settings.OPENSEARCH_URL = DOWN
    with django_capture_on_commit_callbacks(execute=True):
        curate(Table.objects.get(name="orders"), CurationInput(description="Every web order"), actor=None,
               role=Role("admin"))
    assert repair_if_due() is None  # still down: nothing done, nothing lost

    settings.OPENSEARCH_URL = search
    assert repair_if_due() == {"missing": 0, "stale": 1, "extra": 0}
    assert indexed_descriptions()["orders"] == "Every web order"
    assert repair_if_due() is None  # healed: the next look finds nothing to do


def test_a_lost_index_is_rebuilt_from_the_database_without_a_reindex(
        catalog: GlueCatalog, search: str, django_capture_on_commit_callbacks: Any) -> None:
    from catalog.search.repair import repair_if_due

    with django_capture_on_commit_callbacks(execute=True):
        full_sync(catalog)
    client = get_client()
    for name in list(client.indices.get_alias(name=index_name("tables"))):
        client.indices.delete(index=name)

    assert repair_if_due() == {"missing": 2, "stale": 0, "extra": 0}
    assert indexed_names() == {"orders", "customers"}


def test_every_full_sync_checks_the_index_and_removes_what_the_database_no_longer_has(
        catalog: GlueCatalog, search: str, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        full_sync(catalog)
    client = get_client()
    # Drift behind the portal's back: a document of no table, one document gone, one edited.
    client.index(index=index_name("tables"), id="999999", body={"id": 999999, "name": "ghost"})
    orders = Table.objects.get(name="orders")
    client.delete(index=index_name("tables"), id=str(Table.objects.get(name="customers").pk))
    client.update(index=index_name("tables"), id=str(orders.pk), body={"doc": {"description": "tampered"}})

    with django_capture_on_commit_callbacks(execute=True):
        again = full_sync(catalog)

    assert again.counts["tables_unchanged"] == 2  # nothing changed in Glue: only the check found the drift
    assert indexed_names() == {"orders", "customers"}
    assert indexed_descriptions()["orders"] == ""
