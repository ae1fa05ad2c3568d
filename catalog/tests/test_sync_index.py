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
