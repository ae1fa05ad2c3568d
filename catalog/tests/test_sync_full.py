"""Full catalog sync against a moto Glue server and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import Column, Database, GlueCatalog, Partition, SyncRun, Table, TableVersion
from catalog.services.partitions import sync_partitions
from catalog.services.runs import SyncAlreadyRunning
from catalog.services.sync import ensure_catalogs, full_sync
from catalog.tests import sync_glue as g

pytestmark = pytest.mark.django_db

MIRROR_TABLES = ("catalog_table", "catalog_column", "catalog_database", "catalog_tableversion", "catalog_partition")


@pytest.fixture
def catalog(aws_endpoint: str) -> GlueCatalog:
    return ensure_catalogs()[0]


@pytest.fixture
def lake(aws_endpoint: str) -> None:
    """Finance: a prepared hub-only database, one public table, one partitioned; a semantic view."""
    g.create_database("finance_prepared", hub="finance", layer="prepared", visibility="hub", owner="fin-team")
    g.create_table("finance_prepared", "invoices", [("invoice_id", "bigint"), ("amount", "decimal(12,2)")],
                   partition_keys=["dt"], classification="confidential")
    g.add_partitions("finance_prepared", "invoices", [["2026-11-01"], ["2026-11-02"]])
    g.create_table("finance_prepared", "fx_rates", [("currency", "string"), ("rate", "double")], fmt="csv",
                   visibility="public", owner="treasury")
    g.create_database("finance_semantic", hub="finance", layer="semantic", visibility="public")
    g.create_view("finance_semantic", "revenue", "SELECT sum(amount) FROM finance_prepared.invoices")


def writes_to_mirror(queries: list[dict]) -> list[str]:
    return [q["sql"] for q in queries
            if q["sql"].split(" ", 1)[0] in ("INSERT", "UPDATE", "DELETE", "COPY")
            and any(f'"{t}"' in q["sql"] or f" {t} " in q["sql"] for t in MIRROR_TABLES)]


def test_a_full_sync_mirrors_tables_columns_partitions_and_portal_keys(catalog: GlueCatalog, lake: None) -> None:
    run = full_sync(catalog)

    assert run.status == SyncRun.Status.SUCCEEDED, run.warnings or run.error
    assert run.counts["databases_created"] == 2
    assert run.counts["tables_created"] == 3
    # Partitions are left to the partition pass: only the partitioned table is flagged for it.
    assert run.counts["partitions_added"] == 0
    assert list(Table.objects.filter(partitions_pending=True).values_list("name", flat=True)) == ["invoices"]
    passed = sync_partitions(catalog)
    assert passed.status == SyncRun.Status.SUCCEEDED, passed.warnings or passed.error
    assert passed.counts == {"tables_read": 1, "tables_failed": 0, "partitions_added": 2}
    invoices = Table.objects.get(database_name="finance_prepared", name="invoices")
    assert not invoices.partitions_pending
    assert (invoices.hub, invoices.layer, invoices.visibility) == ("finance", "prepared", "hub")
    assert (invoices.owner, invoices.classification, invoices.format) == ("fin-team", "confidential", "parquet")
    assert invoices.location == "s3://lake/invoices/"
    assert invoices.glue_version_id == "1"
    assert [(c.name, c.type, c.is_partition_key) for c in invoices.columns.all()] == [
        ("invoice_id", "bigint", False), ("amount", "decimal(12,2)", False), ("dt", "string", True)]
    assert invoices.columns.get(name="amount").comment == "the amount"
    assert sorted(Partition.objects.filter(table=invoices).values_list("values_key", flat=True)) == [
        "2026-11-01", "2026-11-02"]
    assert invoices.partition_count == 2
    fx = Table.objects.get(name="fx_rates")
    assert (fx.visibility, fx.owner, fx.format) == ("public", "treasury", "csv")
    view = Table.objects.get(name="revenue")
    assert view.is_view and view.view_sql == "SELECT sum(amount) FROM finance_prepared.invoices"
    assert (view.layer, view.visibility) == ("semantic", "public")
    assert Database.objects.get(name="finance_semantic").layer == "semantic"
    assert TableVersion.objects.filter(table=invoices, version_id="1").exists()
    assert GlueCatalog.objects.get(pk=catalog.pk).last_full_sync_at is not None


def test_an_unchanged_second_sync_writes_nothing_to_the_mirror(catalog: GlueCatalog, lake: None) -> None:
    full_sync(catalog)
    synced_at = dict(Table.objects.values_list("name", "synced_at"))

    with CaptureQueriesContext(connection) as queries:
        run = full_sync(catalog)

    assert run.status == SyncRun.Status.SUCCEEDED
    assert run.counts["tables_unchanged"] == 3
    assert run.counts["tables_created"] == run.counts["tables_updated"] == run.counts["tables_deleted"] == 0
    assert writes_to_mirror(queries.captured_queries) == []
    assert dict(Table.objects.values_list("name", "synced_at")) == synced_at


def test_a_table_gone_from_glue_is_soft_deleted_and_keeps_its_history(catalog: GlueCatalog, lake: None) -> None:
    full_sync(catalog)
    g.glue().delete_table(CatalogId=g.ACCOUNT, DatabaseName="finance_prepared", Name="fx_rates")

    run = full_sync(catalog)

    assert run.counts["tables_deleted"] == 1
    fx = Table.objects.get(name="fx_rates")
    assert fx.deleted_at is not None
    assert fx.columns.count() == 2 and fx.versions.count() == 1
    assert not Table.objects.live().filter(name="fx_rates").exists()
    assert Table.objects.live().count() == 2


def test_a_table_back_in_glue_comes_back_to_life(catalog: GlueCatalog, lake: None) -> None:
    full_sync(catalog)
    g.glue().delete_table(CatalogId=g.ACCOUNT, DatabaseName="finance_prepared", Name="fx_rates")
    full_sync(catalog)
    g.create_table("finance_prepared", "fx_rates", [("currency", "string")], fmt="csv")

    run = full_sync(catalog)

    assert run.counts["tables_updated"] == 1
    fx = Table.objects.get(name="fx_rates")
    assert fx.deleted_at is None and list(fx.columns.values_list("name", flat=True)) == ["currency"]


def test_a_database_gone_from_glue_is_soft_deleted_with_its_tables(catalog: GlueCatalog, lake: None) -> None:
    full_sync(catalog)
    g.glue().delete_table(CatalogId=g.ACCOUNT, DatabaseName="finance_semantic", Name="revenue")
    g.glue().delete_database(CatalogId=g.ACCOUNT, Name="finance_semantic")

    run = full_sync(catalog)

    assert run.counts["databases_deleted"] == 1
    assert Database.objects.get(name="finance_semantic").deleted_at is not None
    assert Table.objects.get(name="revenue").deleted_at is not None


def test_a_new_glue_version_is_recorded_with_its_schema_diff(catalog: GlueCatalog, lake: None) -> None:
    full_sync(catalog)
    g.update_table("finance_prepared", "fx_rates", [("currency", "varchar(3)"), ("rate_date", "date")], fmt="json",
                   owner="treasury@example.com", classification="confidential")

    run = full_sync(catalog)

    assert run.counts["tables_updated"] == 1 and run.counts["versions_recorded"] == 1
    fx = Table.objects.get(name="fx_rates")
    assert fx.glue_version_id == "2"
    # Every field of the changed row is rewritten (one UPDATE per row), JSON included.
    assert (fx.format, fx.owner, fx.classification) == ("json", "treasury@example.com", "confidential")
    assert fx.parameters == {"owner": "treasury@example.com", "classification": "confidential"}
    latest = fx.versions.get(version_id="2")
    assert latest.diff == {"added": ["rate_date"], "removed": ["rate"],
                           "type_changed": [{"name": "currency", "from": "string", "to": "varchar(3)"}]}
    assert list(fx.columns.values_list("name", "type")) == [("currency", "varchar(3)"), ("rate_date", "date")]


def test_versions_skipped_between_two_syncs_are_filled_from_glue(catalog: GlueCatalog, lake: None) -> None:
    full_sync(catalog)
    g.update_table("finance_prepared", "fx_rates", [("currency", "string"), ("rate", "double"), ("src", "string")])
    g.update_table("finance_prepared", "fx_rates", [("currency", "string"), ("src", "string")])

    full_sync(catalog)

    versions = {v.version_id: v.diff for v in Table.objects.get(name="fx_rates").versions.all()}
    assert set(versions) == {"1", "2", "3"}
    assert versions["2"]["added"] == ["src"] and versions["2"]["removed"] == []
    assert versions["3"]["removed"] == ["rate"] and versions["3"]["added"] == []


def test_a_malformed_table_becomes_a_warning_and_the_rest_is_synced(aws_endpoint: str, catalog: GlueCatalog,
                                                                    lake: None) -> None:
    # botocore refuses to send a column without a name, so write it to moto's API directly.
    body = {"CatalogId": g.ACCOUNT, "DatabaseName": "finance_prepared",
            "TableInput": {"Name": "broken", "StorageDescriptor": {"Columns": [{"Type": "int"}]}}}
    response = requests.post(aws_endpoint, data=json.dumps(body), timeout=10, headers={
        "X-Amz-Target": "AWSGlue.CreateTable", "Content-Type": "application/x-amz-json-1.1",
        "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/eu-central-1/glue/aws4_request, "
                         "SignedHeaders=host, Signature=x"})
    assert response.status_code == 200, response.text

    run = full_sync(catalog)

    assert run.status == SyncRun.Status.PARTIAL
    assert run.counts["tables_failed"] == 1 and run.counts["tables_created"] == 3
    assert any("finance_prepared.broken" in w and "malformed" in w for w in run.warnings)
    assert not Table.objects.filter(name="broken").exists()


def test_a_table_without_storage_descriptor_or_with_thousands_of_columns_is_stored(catalog: GlueCatalog) -> None:
    g.create_database("raw")
    g.glue().create_table(CatalogId=g.ACCOUNT, DatabaseName="raw", TableInput={"Name": "bare"})
    g.create_table("raw", "wide", [(f"c{i:04d}", "string") for i in range(2100)])

    run = full_sync(catalog)

    assert run.status == SyncRun.Status.SUCCEEDED, run.warnings
    bare = Table.objects.get(name="bare")
    assert (bare.location, bare.format, bare.column_count) == ("", "", 0)
    assert Column.objects.filter(table__name="wide").count() == 2100


def test_glue_unreachable_fails_the_run_and_keeps_the_mirror(catalog: GlueCatalog, lake: None) -> None:
    full_sync(catalog)
    settings.AWS_ENDPOINT_URL = "http://127.0.0.1:1"  # the aws_endpoint fixture restores it

    run = full_sync(catalog)

    assert run.status == SyncRun.Status.FAILED
    assert "unreachable" in run.error and "last good state" in run.error
    assert Table.objects.live().count() == 3
    assert Column.objects.count() == 6


def test_a_second_sync_of_the_same_catalog_is_refused_while_one_runs(catalog: GlueCatalog, lake: None) -> None:
    running = SyncRun.objects.create(catalog=catalog, kind=SyncRun.Kind.FULL)

    with pytest.raises(SyncAlreadyRunning, match=f"already running \\(run #{running.pk}"):
        full_sync(catalog)

    assert SyncRun.objects.filter(catalog=catalog).count() == 1
    assert not Table.objects.exists()


def test_a_sync_abandoned_by_a_crashed_worker_does_not_block_the_next(catalog: GlueCatalog, lake: None) -> None:
    stuck = SyncRun.objects.create(catalog=catalog, kind=SyncRun.Kind.FULL)
    SyncRun.objects.filter(pk=stuck.pk).update(started_at=timezone.now() - timedelta(days=1))

    run = full_sync(catalog)

    assert run.status == SyncRun.Status.SUCCEEDED
    stuck.refresh_from_db()
    assert stuck.status == SyncRun.Status.FAILED and "Abandoned" in stuck.error


def test_a_sync_whose_worker_stopped_renewing_its_lease_is_taken_over_at_once(catalog: GlueCatalog,
                                                                               lake: None) -> None:
    # Started a minute ago (far from CATALOG_SYNC_TIMEOUT_SECONDS), but its worker was killed: the lease lapsed.
    dead = SyncRun.objects.create(catalog=catalog, kind=SyncRun.Kind.FULL,
                                  lease_expires_at=timezone.now() - timedelta(seconds=1))

    run = full_sync(catalog)

    assert run.status == SyncRun.Status.SUCCEEDED
    dead.refresh_from_db()
    assert dead.status == SyncRun.Status.FAILED and "Abandoned" in dead.error


def test_a_sync_under_a_live_lease_keeps_its_claim_however_long_it_runs(catalog: GlueCatalog, lake: None) -> None:
    alive = SyncRun.objects.create(catalog=catalog, kind=SyncRun.Kind.FULL,
                                   lease_expires_at=timezone.now() + timedelta(seconds=60))
    SyncRun.objects.filter(pk=alive.pk).update(started_at=timezone.now() - timedelta(days=1))

    with pytest.raises(SyncAlreadyRunning):
        full_sync(catalog)
    alive.refresh_from_db()
    assert alive.status == SyncRun.Status.RUNNING


def test_a_running_sync_holds_a_lease(catalog: GlueCatalog, lake: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from catalog.services import sync as sync_module

    seen: list[object] = []
    real = sync_module._Sync.consume

    def consume(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(SyncRun.objects.get(pk=self.run.pk).lease_expires_at)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(sync_module._Sync, "consume", consume)
    before = timezone.now()
    full_sync(catalog)
    assert len(seen) == 1 and seen[0] is not None and seen[0] > before  # type: ignore[operator]


def test_the_copy_fast_path_stores_what_model_instances_store(catalog: GlueCatalog, lake: None,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from catalog.services import mirror

    def mirrored() -> list[tuple[object, ...]]:
        tables = sorted(Table.objects.values_list(
            "database_name", "name", "description", "table_type", "location", "format", "input_format", "serde",
            "view_sql", "parameters", "owner", "classification", "hub", "layer", "visibility", "glue_version_id",
            "fingerprint", "column_count", "partition_count", "partitions_pending", "usage_count", "created_at",
            "updated_at", "deleted_at"))
        versions = sorted(TableVersion.objects.values_list("table__name", "version_id", "columns", "diff", "updated_at"),
                          key=repr)
        return [*tables, *versions]

    full_sync(catalog)
    fast = mirrored()
    Table.objects.all().delete()
    Database.objects.all().delete()
    monkeypatch.setattr(mirror, "_copy_fits", lambda *args, **kwargs: False)
    full_sync(catalog)

    assert mirrored() == fast
    assert any(row[2] == [{"name": "invoice_id", "type": "bigint", "comment": "the invoice_id", "partition_key": False},
                          {"name": "amount", "type": "decimal(12,2)", "comment": "the amount", "partition_key": False},
                          {"name": "dt", "type": "string", "comment": "", "partition_key": True}]
               for row in fast if len(row) == 5)


def test_a_refresh_spanning_several_databases_reads_them_all_and_applies_each(catalog: GlueCatalog,
                                                                               lake: None) -> None:
    from catalog.services.sync import refresh_tables

    full_sync(catalog)
    g.update_table("finance_prepared", "fx_rates", [("currency", "string"), ("rate", "double"), ("day", "date")],
                   fmt="csv", visibility="public", owner="treasury")
    g.glue().delete_table(CatalogId=g.ACCOUNT, DatabaseName="finance_semantic", Name="revenue")

    run = refresh_tables(catalog, [("finance_prepared", "fx_rates"), ("finance_prepared", "invoices"),
                                   ("finance_semantic", "revenue"), ("gone_db", "anything")])

    assert run.status == SyncRun.Status.SUCCEEDED, run.warnings or run.error
    assert (run.counts["tables_updated"], run.counts["tables_unchanged"], run.counts["tables_deleted"]) == (1, 1, 1)
    assert run.counts["partitions_added"] == 2  # invoices' partitions, read inline by the refresh
    assert Table.objects.get(name="fx_rates").column_count == 3
    assert Table.objects.get(name="revenue").deleted_at is not None
