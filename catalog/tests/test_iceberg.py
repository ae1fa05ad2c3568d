"""Apache Iceberg tables: the demo lake writes real ones with pyiceberg (moto's S3 and Glue), the sync
recognises them, and their metadata — schema with field ids, partition spec, sort order, snapshots and
schema changes — reaches the API and the dataset page's History tab, read with pyiceberg through Glue."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from catalog.demo_iceberg import seed_iceberg_tables
from catalog.models import Table
from catalog.services.sync import ensure_catalogs, full_sync
from catalog.sources.iceberg import schema_changes
from catalog.tests import sync_glue as g
from portal.testing.personas import PERSONAS, bearer, login_persona, token_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def lakehouse(aws_endpoint: str) -> None:
    assert seed_iceberg_tables() == ["finance_lakehouse.orders", "finance_lakehouse.payments"]
    assert seed_iceberg_tables() == []  # idempotent
    g.create_database("plain", hub="finance", layer="prepared", visibility="public")
    g.create_table("plain", "csv_table", [("id", "bigint")], fmt="csv")
    full_sync(ensure_catalogs()[0])


def api() -> APIClient:
    client = APIClient()
    client.credentials(**bearer(token_for("finance_consumer", PERSONAS["finance_consumer"])))
    return client


def test_iceberg_tables_are_recognised_and_their_metadata_is_in_the_api(lakehouse: None) -> None:
    assert Table.objects.get(name="orders").format == "iceberg"
    orders = api().get("/api/v1/datasets/finance_lakehouse.orders/iceberg")
    assert orders.status_code == 200, orders.content
    body = orders.json()
    assert [s["operation"] for s in body["snapshots"]] == ["append"] * 4
    assert body["snapshots"][0]["added_records"] == 100 and body["snapshots"][0]["total_records"] == 400
    assert body["current_snapshot_id"] == body["snapshots"][0]["snapshot_id"]
    assert [(f["id"], f["name"]) for f in body["schema"]] == [(1, "order_id"), (2, "customer"), (3, "amount_eur")]
    assert [c["added"] for c in body["schema_changes"]] == [["amount_eur"]]

    payments = api().get("/api/v1/datasets/finance_lakehouse.payments/iceberg").json()
    assert [(p["source"], p["transform"]) for p in payments["partition_spec"]] == [("method", "identity")]
    assert [f["source"] for f in payments["sort_order"]] == ["paid_at"]
    assert len(payments["snapshots"]) == 2


def test_a_table_that_is_not_iceberg_answers_404(lakehouse: None) -> None:
    answer = api().get("/api/v1/datasets/plain.csv_table/iceberg")
    assert answer.status_code == 404 and "not an Iceberg table" in answer.json()["error"]


def test_the_history_tab_shows_snapshots_and_the_schema_change(lakehouse: None) -> None:
    client = Client()
    login_persona(client, "finance_consumer")
    page = client.get("/datasets/finance_lakehouse.orders").content.decode()
    assert 'hx-get="/datasets/finance_lakehouse.orders/iceberg"' in page
    panel = client.get("/datasets/finance_lakehouse.orders/iceberg").content.decode()
    assert "added amount_eur" in panel and panel.count("<td>append</td>") == 4
    assert 'hx-get="/datasets/plain.csv_table/iceberg"' not in client.get("/datasets/plain.csv_table").content.decode()


def test_schema_changes_follow_field_ids_not_names() -> None:
    before = {"schema_id": 0, "fields": [{"id": 1, "name": "id", "type": "long"}, {"id": 2, "name": "x", "type": "int"}]}
    after = {"schema_id": 1, "fields": [{"id": 1, "name": "key", "type": "long"}, {"id": 2, "name": "x", "type": "long"},
                                        {"id": 3, "name": "y", "type": "string"}]}
    assert schema_changes([before, after]) == [{"schema_id": 1, "added": ["y"], "dropped": [],
                                                "renamed": [{"from": "id", "to": "key"}],
                                                "retyped": [{"name": "x", "from": "int", "to": "long"}]}]
