"""Sync runs over the API and on the operations page.

Who may do what: admins list and start syncs; finance stewards list them; consumers see neither.
"""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from catalog.models import GlueCatalog, SyncRun, Table
from catalog.services.partitions import sync_partitions
from catalog.services.runs import claim_run
from catalog.services.sync import ensure_catalogs, full_sync
from catalog.tasks import sync_catalog_task
from catalog.tests import sync_glue as g
from portal.testing.personas import login_persona

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog(aws_endpoint: str) -> GlueCatalog:
    g.create_database("sales", hub="sales")
    g.create_table("sales", "orders")
    return ensure_catalogs()[0]


def api(persona: str) -> APIClient:
    client = APIClient()
    login_persona(client, persona)
    return client


def test_stewards_list_sync_runs_with_their_counts(catalog: GlueCatalog) -> None:
    full_sync(catalog)

    response = api("finance_steward").get("/api/v1/catalog/sync-runs")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    run = body["results"][0]
    assert set(run) >= {"id", "catalog", "kind", "status", "started_at", "finished_at", "seconds", "counts",
                        "warnings", "error"}
    assert (run["catalog"], run["kind"], run["status"]) == (str(catalog), "full", "succeeded")
    assert run["counts"]["tables_created"] == 1 and run["seconds"] >= 0


def test_consumers_may_not_see_sync_runs(catalog: GlueCatalog) -> None:
    response = api("finance_consumer").get("/api/v1/catalog/sync-runs")

    assert response.status_code == 403 and "error" in response.json()


def test_only_admins_start_a_sync(catalog: GlueCatalog) -> None:
    response = api("finance_steward").post("/api/v1/catalog/sync-runs", {}, format="json")

    assert response.status_code == 403
    assert not SyncRun.objects.exists()


def test_an_admin_starts_a_sync_that_a_worker_runs(catalog: GlueCatalog,
                                                   django_capture_on_commit_callbacks: Any) -> None:
    admin = api("admin")  # set up outside the capture: granting its role enqueues its own callbacks
    with django_capture_on_commit_callbacks() as enqueued:
        response = admin.post("/api/v1/catalog/sync-runs", {"catalog": str(catalog.pk)}, format="json")

    assert response.status_code == 202
    run_id = response.json()["id"]
    assert response.json()["status"] == "running" and len(enqueued) == 1
    outcome = sync_catalog_task(catalog.pk, full=True, run_id=run_id)
    assert outcome["status"] == "succeeded"
    assert Table.objects.filter(name="orders").exists()
    # A redelivered task message for the same run does nothing.
    assert sync_catalog_task(catalog.pk, full=True, run_id=run_id)["skipped"] == "run already finished"


def test_starting_a_sync_while_one_runs_answers_409_with_the_running_one(catalog: GlueCatalog) -> None:
    running = claim_run(catalog, SyncRun.Kind.FULL)

    response = api("admin").post("/api/v1/catalog/sync-runs", {}, format="json")

    assert response.status_code == 409
    assert "already running" in response.json()["error"] and response.json()["run"]["id"] == running.pk


def test_an_unknown_catalog_is_a_400(catalog: GlueCatalog) -> None:
    response = api("admin").post("/api/v1/catalog/sync-runs", {"catalog": "999999999999:eu-west-1"}, format="json")

    assert response.status_code == 400 and "unknown catalog" in str(response.json()["detail"])


def test_the_operations_page_lists_runs_warnings_and_the_stale_index(client: Any, catalog: GlueCatalog) -> None:
    full_sync(catalog)
    sync_partitions(catalog)
    SyncRun.objects.create(catalog=None, kind=SyncRun.Kind.EVENTS, status=SyncRun.Status.PARTIAL,
                           warnings=["sales.broken: malformed definition: column 1 has no name"])
    GlueCatalog.objects.filter(pk=catalog.pk).update(index_stale=True)
    login_persona(client, "admin")

    page = client.get("/operations/").content.decode()

    assert "Sync now" in page and "stale" in page
    assert "partitions of 0 tables read, 0 failed; 0 partitions added" in page
    assert "sales.broken: malformed definition" in page
    assert 'href="/operations/"' in page


def test_sync_now_on_the_page_shows_the_running_sync_with_live_polling(client: Any, catalog: GlueCatalog) -> None:
    login_persona(client, "admin")

    response = client.post("/operations/sync", {"catalog": catalog.pk}, HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert response.status_code == 200 and "started" in html
    assert 'data-poll="/operations/runs" data-poll-every="2"' in html and 'data-status="running"' in html


def test_the_operations_page_does_not_exist_for_consumers(client: Any, catalog: GlueCatalog) -> None:
    login_persona(client, "finance_consumer")

    assert client.get("/operations/").status_code == 404
    assert client.post("/operations/sync", {"catalog": catalog.pk}).status_code == 404
