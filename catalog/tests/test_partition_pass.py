"""The partition pass after a full sync, against a moto Glue server and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from catalog.models import GlueCatalog, Partition, SyncRun, Table
from catalog.services.partitions import sync_partitions
from catalog.services.runs import SyncAlreadyRunning
from catalog.services.sync import ensure_catalogs, full_sync, refresh_tables
from catalog.signals import partitions_added
from catalog.tests import sync_glue as g

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(aws_endpoint: str) -> GlueCatalog:
    g.create_database("sales_raw", hub="sales", layer="source")
    g.create_table("sales_raw", "orders", partition_keys=["dt"])
    g.add_partitions("sales_raw", "orders", [["2026-11-01"], ["2026-11-02"]])
    g.create_table("sales_raw", "returns", partition_keys=["dt"])
    g.add_partitions("sales_raw", "returns", [["2026-11-02"]])
    g.create_table("sales_raw", "customers")
    return ensure_catalogs()[0]


def partition_keys(table: str) -> list[str]:
    return sorted(Partition.objects.filter(table__name=table).values_list("values_key", flat=True))


def pending() -> list[str]:
    return sorted(Table.objects.filter(partitions_pending=True).values_list("name", flat=True))


def test_the_pass_reads_the_flagged_tables_and_announces_new_partitions(
        catalog: GlueCatalog, django_capture_on_commit_callbacks: Any) -> None:
    full_sync(catalog)
    assert pending() == ["orders", "returns"] and not Partition.objects.exists()
    announced: list[tuple[int, list[dict[str, Any]]]] = []

    def receiver(sender: Any, table_id: int, partitions: list[dict[str, Any]], **kwargs: Any) -> None:
        announced.append((table_id, partitions))

    partitions_added.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            run = sync_partitions(catalog)
    finally:
        partitions_added.disconnect(receiver)

    assert (run.kind, run.status) == (SyncRun.Kind.PARTITIONS, SyncRun.Status.SUCCEEDED)
    assert run.counts == {"tables_read": 2, "tables_failed": 0, "partitions_added": 3}
    assert partition_keys("orders") == ["2026-11-01", "2026-11-02"] and partition_keys("returns") == ["2026-11-02"]
    assert Table.objects.get(name="orders").partition_count == 2
    assert pending() == []
    orders = Table.objects.get(name="orders")
    assert sorted(p["values"][0] for table_id, parts in announced if table_id == orders.pk for p in parts) == [
        "2026-11-01", "2026-11-02"]


def test_unchanged_tables_are_not_read_again_and_a_changed_one_is(catalog: GlueCatalog) -> None:
    full_sync(catalog)
    sync_partitions(catalog)
    g.add_partitions("sales_raw", "orders", [["2026-11-03"]])
    g.update_table("sales_raw", "returns", [("id", "bigint"), ("reason", "string")], partition_keys=["dt"])
    g.add_partitions("sales_raw", "returns", [["2026-11-03"]])

    full_sync(catalog)
    assert pending() == ["returns"]
    run = sync_partitions(catalog)

    assert run.counts == {"tables_read": 1, "tables_failed": 0, "partitions_added": 1}
    assert partition_keys("returns") == ["2026-11-02", "2026-11-03"]
    assert partition_keys("orders") == ["2026-11-01", "2026-11-02"]  # its new partition comes with its event


@override_settings(CATALOG_SYNC_PARTITIONS="all")
def test_the_all_policy_flags_every_partitioned_table_on_each_full_sync(catalog: GlueCatalog) -> None:
    full_sync(catalog)
    sync_partitions(catalog)
    g.add_partitions("sales_raw", "orders", [["2026-11-03"]])

    full_sync(catalog)
    assert pending() == ["orders", "returns"]
    run = sync_partitions(catalog)

    assert run.counts["partitions_added"] == 1 and partition_keys("orders")[-1] == "2026-11-03"


@override_settings(CATALOG_SYNC_PARTITIONS="none")
def test_the_none_policy_flags_nothing(catalog: GlueCatalog) -> None:
    full_sync(catalog)

    assert pending() == []
    assert sync_partitions(catalog).counts["tables_read"] == 0


def test_an_event_refresh_reads_partitions_itself_and_clears_the_flag(catalog: GlueCatalog) -> None:
    full_sync(catalog)

    run = refresh_tables(catalog, [("sales_raw", "orders")])

    assert run.counts["partitions_added"] == 2
    assert pending() == ["returns"]


def test_an_unreadable_table_stays_flagged_with_a_warning_and_the_rest_is_read(catalog: GlueCatalog) -> None:
    full_sync(catalog)
    g.glue().delete_table(CatalogId=g.ACCOUNT, DatabaseName="sales_raw", Name="orders")  # gone since the sync

    run = sync_partitions(catalog)

    assert run.status == SyncRun.Status.PARTIAL
    assert run.counts == {"tables_read": 1, "tables_failed": 1, "partitions_added": 1}
    assert any("sales_raw.orders" in w and "EntityNotFound" in w for w in run.warnings), run.warnings
    assert pending() == ["orders"] and partition_keys("returns") == ["2026-11-02"]
    # The next full sync soft-deletes it, and the pass no longer tries it.
    full_sync(catalog)
    assert sync_partitions(catalog).counts == {"tables_read": 0, "tables_failed": 0, "partitions_added": 0}


def test_glue_unreachable_fails_the_pass_and_keeps_the_flags(catalog: GlueCatalog) -> None:
    full_sync(catalog)
    settings.AWS_ENDPOINT_URL = "http://127.0.0.1:1"  # the aws_endpoint fixture restores it

    run = sync_partitions(catalog)

    assert run.status == SyncRun.Status.FAILED and "unreachable" in run.error
    assert pending() == ["orders", "returns"]


def test_the_pass_has_its_own_claim(catalog: GlueCatalog) -> None:
    full_sync(catalog)
    running_pass = SyncRun.objects.create(catalog=catalog, kind=SyncRun.Kind.PARTITIONS)

    with pytest.raises(SyncAlreadyRunning, match="partition pass"):
        sync_partitions(catalog)
    # A running pass does not keep table syncs or event refreshes waiting.
    assert full_sync(catalog).status == SyncRun.Status.SUCCEEDED
    assert refresh_tables(catalog, [("sales_raw", "orders")]).status == SyncRun.Status.SUCCEEDED
    SyncRun.objects.filter(pk=running_pass.pk).update(status=SyncRun.Status.SUCCEEDED)

    SyncRun.objects.create(catalog=catalog, kind=SyncRun.Kind.FULL)  # a table sync running meanwhile
    assert sync_partitions(catalog).status == SyncRun.Status.SUCCEEDED


def test_the_sync_command_runs_the_pass_after_a_full_sync(catalog: GlueCatalog, capsys: Any) -> None:
    call_command("sync_catalog")

    out = capsys.readouterr().out
    assert "full sync" in out and "partition pass" in out and "partitions added: 3" in out
    assert pending() == [] and partition_keys("orders") == ["2026-11-01", "2026-11-02"]


def test_the_scheduled_full_sync_queues_the_pass(catalog: GlueCatalog) -> None:
    from catalog.tasks import sync_catalog_task
    from portal.celery import app

    app.conf.task_always_eager = True  # the queued pass runs here, as a worker would run it
    try:
        outcome = sync_catalog_task.apply(args=[catalog.pk]).get()
    finally:
        app.conf.task_always_eager = False

    assert outcome["status"] == SyncRun.Status.SUCCEEDED
    passes = SyncRun.objects.filter(kind=SyncRun.Kind.PARTITIONS)
    assert [p.counts["partitions_added"] for p in passes] == [3] and pending() == []


def test_a_pass_whose_worker_stopped_renewing_its_lease_is_taken_over_at_once(catalog: GlueCatalog) -> None:
    full_sync(catalog)
    # Started a moment ago (far from CATALOG_SYNC_TIMEOUT_SECONDS), but its worker was killed: the lease lapsed.
    dead = SyncRun.objects.create(catalog=catalog, kind=SyncRun.Kind.PARTITIONS,
                                  lease_expires_at=timezone.now() - timedelta(seconds=1))

    run = sync_partitions(catalog)

    assert run.status == SyncRun.Status.SUCCEEDED
    assert SyncRun.objects.get(pk=run.pk).lease_expires_at is not None  # it held one itself
    dead.refresh_from_db()
    assert dead.status == SyncRun.Status.FAILED and "Abandoned" in dead.error
    alive = SyncRun.objects.create(catalog=catalog, kind=SyncRun.Kind.PARTITIONS,
                                   lease_expires_at=timezone.now() + timedelta(seconds=60))
    with pytest.raises(SyncAlreadyRunning):
        sync_partitions(catalog)
    alive.refresh_from_db()
    assert alive.status == SyncRun.Status.RUNNING
