"""What moto cannot show (its get_tables ignores paging): paging, access denied, throttling, via botocore Stubber."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import Stubber

from catalog.models import GlueCatalog, SyncRun, Table
from catalog.services import sync
from catalog.services.sync import ensure_catalogs, full_sync
from portal import aws

pytestmark = pytest.mark.django_db


def glue_table(database: str, name: str) -> dict[str, Any]:
    return {"Name": name, "DatabaseName": database, "VersionId": "1",
            "StorageDescriptor": {"Columns": [{"Name": "id", "Type": "bigint"}], "Location": f"s3://lake/{name}/"}}


def databases(*names: str) -> dict[str, Any]:
    return {"DatabaseList": [{"Name": n, "Parameters": {"hub": "finance"}} for n in names]}


@pytest.fixture
def catalog() -> GlueCatalog:
    return ensure_catalogs()[0]


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[tuple[Any, Stubber]]:
    # Stubber answers calls in the order they were queued: one database read at a time keeps
    # that order fixed (reading ahead concurrently is covered against moto).
    monkeypatch.setattr(sync, "READ_AHEAD_DATABASES", 1)
    # Only Glue is stubbed here; reading Lake Formation tags is tested against moto (test_lf_tags.py).
    settings.CATALOG_SYNC_LF_TAGS = False
    client = aws.client("glue")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_every_page_of_tables_is_read(catalog: GlueCatalog, stub: tuple[Any, Stubber]) -> None:
    client, stubber = stub
    stubber.add_response("get_databases", databases("sales"))
    stubber.add_response("get_tables", {"TableList": [glue_table("sales", "orders")], "NextToken": "page-2"},
                         {"CatalogId": catalog.account_id, "DatabaseName": "sales", "MaxResults": 100})
    stubber.add_response("get_tables", {"TableList": [glue_table("sales", "customers")]},
                         {"CatalogId": catalog.account_id, "DatabaseName": "sales", "MaxResults": 100,
                          "NextToken": "page-2"})

    run = full_sync(catalog, client=client)

    assert run.status == SyncRun.Status.SUCCEEDED
    assert sorted(Table.objects.values_list("name", flat=True)) == ["customers", "orders"]


def test_a_database_denied_to_the_portal_is_a_warning_and_keeps_its_tables(catalog: GlueCatalog,
                                                                           stub: tuple[Any, Stubber]) -> None:
    client, stubber = stub
    stubber.add_response("get_databases", databases("hr", "sales"))
    stubber.add_response("get_tables", {"TableList": [glue_table("hr", "salaries")]})
    stubber.add_response("get_tables", {"TableList": [glue_table("sales", "orders")]})
    assert full_sync(catalog, client=client).status == SyncRun.Status.SUCCEEDED
    stubber.add_response("get_databases", databases("hr", "sales"))
    stubber.add_client_error("get_tables", "AccessDeniedException", "Insufficient Lake Formation permission(s)")
    stubber.add_response("get_tables", {"TableList": [glue_table("sales", "orders"), glue_table("sales", "refunds")]})

    run = full_sync(catalog, client=client)

    assert run.status == SyncRun.Status.PARTIAL
    assert run.counts["databases_failed"] == 1 and run.counts["tables_created"] == 1
    assert any(w.startswith("hr: tables not readable: AccessDeniedException") for w in run.warnings)
    # Not being allowed to list a database is not the same as its tables being gone.
    assert Table.objects.get(name="salaries").deleted_at is None
    assert Table.objects.live().count() == 3


def test_a_table_denied_on_refresh_is_a_warning(catalog: GlueCatalog, stub: tuple[Any, Stubber]) -> None:
    from catalog.services.sync import refresh_tables

    client, stubber = stub
    stubber.add_response("get_database", {"Database": {"Name": "sales"}})
    stubber.add_client_error("get_table", "AccessDeniedException", "no")
    stubber.add_response("get_table", {"Table": glue_table("sales", "orders")})

    run = refresh_tables(catalog, [("sales", "customers"), ("sales", "orders")], client=client)

    assert run.status == SyncRun.Status.PARTIAL and run.counts["tables_failed"] == 1
    assert list(Table.objects.values_list("name", flat=True)) == ["orders"]


def test_throttling_that_outlasts_the_retries_fails_the_run_and_keeps_the_mirror(
        catalog: GlueCatalog, stub: tuple[Any, Stubber]) -> None:
    client, stubber = stub
    stubber.add_response("get_databases", databases("sales"))
    stubber.add_response("get_tables", {"TableList": [glue_table("sales", "orders")]})
    full_sync(catalog, client=client)
    stubber.add_response("get_databases", databases("sales"))
    stubber.add_client_error("get_tables", "ThrottlingException", "Rate exceeded", http_status_code=400)

    run = full_sync(catalog, client=client)

    assert run.status == SyncRun.Status.FAILED
    assert "ThrottlingException: Rate exceeded" in run.error
    assert Table.objects.live().count() == 1


def test_a_database_listing_cut_short_fails_the_run_without_deleting_databases(
        catalog: GlueCatalog, stub: tuple[Any, Stubber]) -> None:
    client, stubber = stub
    stubber.add_response("get_databases", {**databases("a"), "NextToken": "p2"})
    stubber.add_response("get_tables", {"TableList": [glue_table("a", "t")]})
    stubber.add_client_error("get_databases", "InternalServiceException", "boom", http_status_code=500)

    run = full_sync(catalog, client=client)

    assert run.status == SyncRun.Status.FAILED and "listing databases" in run.error
    assert Table.objects.live().count() == 1


class ThrottlingProxy:
    """An HTTP proxy in front of moto that answers the first ``throttle`` GetTables calls with ThrottlingException.

    Stubber bypasses botocore's retry handler, so this shows the real retries of portal.aws's client.
    """

    def __init__(self, upstream: str, throttle: int) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        import requests

        proxy = self
        self.throttled = 0

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("X-Amz-Target") == "AWSGlue.GetTables" and proxy.throttled < throttle:
                    proxy.throttled += 1
                    payload = b'{"__type": "ThrottlingException", "message": "Rate exceeded"}'
                    self.send_response(400)
                    self.send_header("Content-Type", "application/x-amz-json-1.1")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                answer = requests.post(upstream + self.path, data=body, timeout=30,
                                       headers={k: v for k, v in self.headers.items() if k.lower() != "host"})
                self.send_response(answer.status_code)
                for key in ("Content-Type",):
                    if key in answer.headers:
                        self.send_header(key, answer.headers[key])
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def test_throttling_is_retried_with_backoff_and_the_sync_goes_on(aws_endpoint: str, settings: Any) -> None:
    from catalog.tests import sync_glue as g

    g.create_database("sales")
    g.create_table("sales", "orders")
    proxy = ThrottlingProxy(aws_endpoint, throttle=1)
    settings.AWS_ENDPOINT_URL = proxy.url
    settings.AWS_MAX_ATTEMPTS = 3
    try:
        run = full_sync(ensure_catalogs()[0])
    finally:
        proxy.close()

    assert proxy.throttled == 1
    assert run.status == SyncRun.Status.SUCCEEDED and run.counts["tables_created"] == 1
