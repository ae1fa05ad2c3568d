"""The incremental path: Glue change events on SQS refresh just the named tables (moto SQS + Glue)."""

from __future__ import annotations

import json
import time

import pytest
from django.conf import settings

from catalog.models import GlueCatalog, SyncRun, Table
from catalog.services.events import send_change_event, setup_event_queue
from catalog.services.runs import claim_run
from catalog.services.sync import ensure_catalogs, full_sync
from catalog.tasks import poll_catalog_events
from catalog.tests import sync_glue as g
from portal import aws


@pytest.fixture
def queue(aws_endpoint: str, settings: object) -> str:
    url = setup_event_queue()
    settings.CATALOG_EVENTS_QUEUE_URL = url  # type: ignore[attr-defined]
    settings.CATALOG_EVENTS_POLL_SECONDS = 1  # type: ignore[attr-defined]
    return url


@pytest.fixture
def synced(aws_endpoint: str) -> GlueCatalog:
    g.create_database("sales", hub="sales", layer="prepared")
    g.create_table("sales", "orders", [("order_id", "bigint")], partition_keys=["dt"])
    g.create_table("sales", "customers", [("customer_id", "bigint")])
    catalog = ensure_catalogs()[0]
    full_sync(catalog)
    return catalog


def messages_left(queue_url: str) -> int:
    attrs = aws.client("sqs").get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])
    return sum(int(v) for v in attrs["Attributes"].values())


@pytest.mark.django_db
def test_a_table_change_event_refreshes_just_that_table(queue: str, synced: GlueCatalog) -> None:
    g.update_table("sales", "orders", [("order_id", "bigint"), ("total", "double")], partition_keys=["dt"])
    g.add_partitions("sales", "orders", [["2026-11-27"]])
    send_change_event(queue, "sales", ["orders"], type_of_change="UpdateTable")

    report = poll_catalog_events()

    assert report["received"] == 1 and report["refreshed_tables"] == 1
    run = SyncRun.objects.get(pk=report["runs"][0])
    assert (run.kind, run.status) == (SyncRun.Kind.EVENTS, SyncRun.Status.SUCCEEDED)
    assert run.counts["tables_updated"] == 1 and run.counts["partitions_added"] == 1
    orders = Table.objects.get(name="orders")
    assert list(orders.columns.filter(is_partition_key=False).values_list("name", flat=True)) == ["order_id", "total"]
    assert orders.partitions.get().values == ["2026-11-27"]
    assert messages_left(queue) == 0


@pytest.mark.django_db
def test_a_delete_event_soft_deletes_the_table(queue: str, synced: GlueCatalog) -> None:
    g.glue().delete_table(CatalogId=g.ACCOUNT, DatabaseName="sales", Name="customers")
    send_change_event(queue, "sales", ["customers"], type_of_change="DeleteTable")

    poll_catalog_events()

    assert Table.objects.get(name="customers").deleted_at is not None
    assert Table.objects.get(name="orders").deleted_at is None


@pytest.mark.django_db
def test_a_database_event_reconciles_the_whole_database(queue: str, synced: GlueCatalog) -> None:
    g.create_table("sales", "returns", [("return_id", "bigint")])
    g.glue().delete_table(CatalogId=g.ACCOUNT, DatabaseName="sales", Name="customers")
    send_change_event(queue, "sales", type_of_change="UpdateDatabase")

    poll_catalog_events()

    assert set(Table.objects.live().values_list("name", flat=True)) == {"orders", "returns"}


@pytest.mark.django_db
def test_a_message_that_is_no_glue_event_is_discarded(queue: str, synced: GlueCatalog) -> None:
    aws.client("sqs").send_message(QueueUrl=queue, MessageBody=json.dumps({"detail-type": "Something else"}))

    report = poll_catalog_events()

    assert len(report["discarded"]) == 1 and "not a Glue Data Catalog change" in report["discarded"][0]
    assert messages_left(queue) == 0


@pytest.mark.django_db
def test_events_wait_while_another_sync_holds_the_catalog(queue: str, synced: GlueCatalog) -> None:
    g.create_table("sales", "returns", [("return_id", "bigint")])
    send_change_event(queue, "sales", ["returns"], type_of_change="CreateTable")
    running = claim_run(synced, SyncRun.Kind.FULL)

    report = poll_catalog_events()

    assert report["deferred"] >= 1 and not Table.objects.filter(name="returns").exists()
    assert messages_left(queue) == 1
    running.status = SyncRun.Status.SUCCEEDED
    running.save()
    time.sleep(2)  # the deferred message becomes visible again within seconds
    poll_catalog_events()
    assert Table.objects.filter(name="returns", deleted_at__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_a_glue_change_reaches_the_mirror_within_seconds_through_a_real_worker(
        celery_worker: object, queue: str, synced: GlueCatalog) -> None:
    g.update_table("sales", "customers", [("customer_id", "bigint"), ("email", "string")])
    send_change_event(queue, "sales", ["customers"])
    started = time.monotonic()

    poll_catalog_events.delay()

    while time.monotonic() - started < 15:
        if Table.objects.get(name="customers").columns.filter(name="email").exists():
            break
        time.sleep(0.2)
    assert Table.objects.get(name="customers").columns.filter(name="email").exists()
    assert time.monotonic() - started < 5
    assert settings.CATALOG_EVENTS_QUEUE_URL == queue


@pytest.mark.django_db(transaction=True)
def test_a_table_refresh_behind_a_running_sync_waits_for_it_instead_of_being_dropped(
        aws_endpoint: str, celery_worker: object) -> None:
    from catalog.tasks import sync_catalog_task

    g.create_database("sales", hub="finance", layer="prepared")
    g.create_table("sales", "orders")
    catalog = ensure_catalogs()[0]
    blocker = claim_run(catalog, SyncRun.Kind.FULL)

    sync_catalog_task.apply_async(kwargs={"catalog_id": catalog.pk, "full": False, "tables": [["sales", "orders"]]})
    time.sleep(2)
    assert not Table.objects.filter(name="orders").exists()  # held back while the full sync runs

    SyncRun.objects.filter(pk=blocker.pk).update(status=SyncRun.Status.FAILED)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not Table.objects.filter(name="orders").exists():
        time.sleep(0.2)
    assert Table.objects.filter(database_name="sales", name="orders", deleted_at__isnull=True).exists()
