"""The mass-deletion guard: a catalog that comes back empty must not soft-delete the mirror.

Against a moto Glue server: a full sync mirrors a lake, moto is reset (Glue reachable and
empty, the incident of issue 23), and the next sync must stop with nothing deleted until an
admin confirms. Personas: admins confirm; finance stewards see runs but may not confirm.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
from django.test import override_settings
from rest_framework.test import APIClient

from catalog.models import Database, GlueCatalog, SyncRun, Table
from catalog.services import guard
from catalog.services.sync import ensure_catalogs, full_sync
from catalog.tasks import sync_catalog_task
from catalog.tests import sync_glue as g
from identity.models import AuditEvent
from portal.testing.personas import login_persona

pytestmark = pytest.mark.django_db

TABLES = 12


@pytest.fixture
def catalog(aws_endpoint: str) -> GlueCatalog:
    g.create_database("sales", hub="sales")
    g.create_database("finance", hub="finance")
    for n in range(TABLES):
        g.create_table("sales" if n % 2 else "finance", f"t{n}")
    catalog = ensure_catalogs()[0]
    first = full_sync(catalog)
    assert first.counts["tables_created"] == TABLES, first.warnings or first.error
    return catalog


def empty_glue(endpoint: str) -> None:
    requests.post(f"{endpoint}/moto-api/reset", timeout=10)


def live_tables() -> int:
    return Table.objects.filter(deleted_at__isnull=True).count()


def api(persona: str) -> APIClient:
    client = APIClient()
    login_persona(client, persona)
    return client


def test_a_sync_of_an_emptied_catalog_deletes_nothing_and_asks_for_confirmation(
        catalog: GlueCatalog, aws_endpoint: str) -> None:
    empty_glue(aws_endpoint)

    run = full_sync(catalog)

    assert run.status == SyncRun.Status.NEEDS_CONFIRMATION
    assert live_tables() == TABLES
    assert not Database.objects.filter(deleted_at__isnull=False).exists()
    assert run.counts["tables_deleted"] == 0 and run.counts["databases_deleted"] == 0
    assert (run.counts["tables_to_delete"], run.counts["databases_to_delete"]) == (TABLES, 2)
    assert "CATALOG_SYNC_MAX_DELETE_SHARE" in run.warnings[0]
    # The claim is released: the next sync may run (and stops again while Glue stays empty).
    assert full_sync(catalog).status == SyncRun.Status.NEEDS_CONFIRMATION
    assert live_tables() == TABLES


def test_an_admin_confirms_over_the_api_and_the_next_sync_deletes(
        catalog: GlueCatalog, aws_endpoint: str, django_capture_on_commit_callbacks: Any) -> None:
    empty_glue(aws_endpoint)
    held = full_sync(catalog)

    admin = api("admin")  # set up outside the capture: granting its role enqueues its own callbacks
    with django_capture_on_commit_callbacks() as enqueued:
        response = admin.post(f"/api/v1/catalog/sync-runs/{held.pk}/confirm", {}, format="json")

    assert response.status_code == 202, response.content
    assert len(enqueued) == 1
    held.refresh_from_db()
    assert held.status == SyncRun.Status.CONFIRMED
    assert AuditEvent.objects.filter(action="catalog.sync.confirm_deletes").count() == 1
    # What the worker runs for the enqueued message (the same call request_sync queued).
    outcome = sync_catalog_task(catalog.pk, full=True, run_id=response.json()["id"], allow_deletes=True)
    assert outcome["status"] == SyncRun.Status.PARTIAL  # the confirmation is noted among the warnings
    assert outcome["counts"]["tables_deleted"] == TABLES and outcome["counts"]["databases_deleted"] == 2
    assert live_tables() == 0
    # Confirming twice is refused with the reason.
    again = admin.post(f"/api/v1/catalog/sync-runs/{held.pk}/confirm", {}, format="json")
    assert again.status_code == 409 and "not waiting" in again.json()["error"]


def test_stewards_may_not_confirm_and_runs_that_are_not_held_cannot_be(catalog: GlueCatalog,
                                                                      aws_endpoint: str) -> None:
    empty_glue(aws_endpoint)
    held = full_sync(catalog)
    ordinary = SyncRun.objects.exclude(pk=held.pk).get()

    assert api("finance_steward").post(f"/api/v1/catalog/sync-runs/{held.pk}/confirm").status_code == 403
    assert api("finance_consumer").post(f"/api/v1/catalog/sync-runs/{held.pk}/confirm").status_code == 403
    refused = api("admin").post(f"/api/v1/catalog/sync-runs/{ordinary.pk}/confirm")
    assert refused.status_code == 409 and "error" in refused.json()
    assert api("admin").post("/api/v1/catalog/sync-runs/999999/confirm").status_code == 404
    held.refresh_from_db()
    assert held.status == SyncRun.Status.NEEDS_CONFIRMATION and live_tables() == TABLES


def test_the_operations_page_offers_the_confirmation_to_admins(catalog: GlueCatalog, aws_endpoint: str,
                                                               django_capture_on_commit_callbacks: Any) -> None:
    empty_glue(aws_endpoint)
    held = full_sync(catalog)
    url = f"/operations/sync-runs/{held.pk}/confirm"

    admin = api("admin")
    page = admin.get("/operations/")
    assert page.status_code == 200
    assert url in page.content.decode() and f"Confirm deleting {TABLES} tables" in page.content.decode()
    steward_page = api("finance_steward").get("/operations/").content.decode()
    assert "stopped: deletions need confirmation" in steward_page and url not in steward_page
    assert api("finance_steward").post(url).status_code == 404

    with django_capture_on_commit_callbacks() as enqueued:
        response = admin.post(url, HTTP_HX_REQUEST="true")

    assert response.status_code == 200 and "Deletions confirmed" in response.content.decode()
    assert len(enqueued) == 1
    held.refresh_from_db()
    assert held.status == SyncRun.Status.CONFIRMED


def test_a_catalog_configured_to_allow_it_deletes_at_once(catalog: GlueCatalog, aws_endpoint: str) -> None:
    GlueCatalog.objects.filter(pk=catalog.pk).update(allow_mass_delete=True)
    catalog.refresh_from_db()
    empty_glue(aws_endpoint)

    run = full_sync(catalog)

    assert run.status == SyncRun.Status.SUCCEEDED and run.counts["tables_deleted"] == TABLES
    assert live_tables() == 0


def test_a_share_below_the_limit_is_deleted_without_asking(catalog: GlueCatalog) -> None:
    g.glue().delete_table(CatalogId=g.ACCOUNT, DatabaseName="finance", Name="t0")
    g.glue().delete_table(CatalogId=g.ACCOUNT, DatabaseName="finance", Name="t2")

    run = full_sync(catalog)

    assert run.status == SyncRun.Status.SUCCEEDED and run.counts["tables_deleted"] == 2
    assert live_tables() == TABLES - 2


@override_settings(CATALOG_SYNC_MAX_DELETE_SHARE=0.5, CATALOG_SYNC_GUARD_MIN_DELETES=3)
def test_the_share_comes_from_the_settings(catalog: GlueCatalog) -> None:
    for n in (0, 2, 4, 6, 8, 10, 1):  # 7 of 12 tables: over a half
        g.glue().delete_table(CatalogId=g.ACCOUNT, DatabaseName="sales" if n % 2 else "finance", Name=f"t{n}")

    run = full_sync(catalog)

    assert run.status == SyncRun.Status.NEEDS_CONFIRMATION and live_tables() == TABLES
    assert "50%" in run.warnings[0]


@pytest.mark.parametrize(("live", "deleting", "expected"), [
    (0, 0, False), (100, 0, False), (100, 20, False), (100, 21, True), (10, 4, False),  # 4 < minimum of 5
    (10, 5, True), (3, 3, True), (3, 2, False), (1000, 150, False), (1000, 201, True),
])
def test_which_deletions_need_a_confirmation(live: int, deleting: int, expected: bool) -> None:
    assert guard.needs_confirmation(live, deleting, share=0.2, min_deletes=5) is expected
