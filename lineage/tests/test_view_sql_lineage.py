"""Derived lineage from Athena/Glue view SQL (catalog.Table.view_sql of VIRTUAL_VIEW tables)."""

from __future__ import annotations

import base64
import json

import pytest
from django.utils import timezone

from catalog.signals import tables_changed
from lineage import services
from lineage.models import Dataset, Edge
from lineage.sql import ViewSqlError, view_lineage
from lineage.tests.conftest import make_table
from portal.testing.personas import login_persona

ORDERS = [("id", "int"), ("customer_id", "int"), ("amount", "double")]
CUSTOMERS = [("id", "int"), ("name", "string"), ("region", "string")]


def test_the_parser_finds_tables_and_columns_through_ctes_and_joins():
    sql = """
        WITH big AS (SELECT o.customer_id, o.amount FROM orders o WHERE o.amount > 100)
        SELECT c.name AS customer, SUM(b.amount) AS revenue, upper(c.region) AS region
        FROM big b JOIN crm.customers c ON c.id = b.customer_id GROUP BY 1, 3
    """
    schema = {"sales": {"orders": dict(ORDERS)}, "crm": {"customers": dict(CUSTOMERS)}}
    result = view_lineage(sql, default_database="sales", schema=schema)
    assert result.sources == {("sales", "orders"), ("crm", "customers")}
    assert {(c.table, c.column, c.target_column, c.transformation) for c in result.columns} == {
        ("customers", "name", "customer", "DIRECT/IDENTITY"),
        ("orders", "amount", "revenue", "DIRECT/AGGREGATION"),
        ("customers", "region", "region", "DIRECT/TRANSFORMATION"),
    }


def test_a_presto_view_payload_is_decoded():
    payload = base64.b64encode(json.dumps({"originalSql": "SELECT id FROM orders", "catalog": "awsdatacatalog"}).encode()).decode()
    result = view_lineage(f"/* Presto View: {payload} */", default_database="sales")
    assert result.sources == {("sales", "orders")}


def test_sql_that_is_not_a_query_is_refused():
    with pytest.raises(ViewSqlError):
        view_lineage("DROP TABLE orders", default_database="sales")
    with pytest.raises(ViewSqlError):
        view_lineage("SELEC nonsense FROM (", default_database="sales")


@pytest.mark.django_db
def test_catalog_views_get_table_and_column_edges(client):
    orders = make_table("sales", "orders", columns=ORDERS)
    view = make_table("sales", "big_orders", view_sql="SELECT id AS order_id, amount * 2 AS doubled FROM orders WHERE amount > 100", columns=[("order_id", "int"), ("doubled", "double")])
    assert services.derive_view_lineage([view.pk]) == 1
    edge = Edge.objects.get()
    assert (edge.source.table, edge.target.table, edge.origin) == (orders, view, "view_sql")
    assert set(edge.columns.values_list("source_column", "target_column", "transformation")) == {
        ("id", "order_id", "DIRECT/IDENTITY"), ("amount", "doubled", "DIRECT/TRANSFORMATION")
    }
    login_persona(client, "admin")
    doc = client.get("/api/v1/lineage/graph", {"dataset": "sales.big_orders", "column": "doubled", "direction": "upstream"}).json()
    assert {n["qualified_name"] for n in doc["nodes"] if n["kind"] == "dataset"} == {"sales.orders", "sales.big_orders"}
    assert doc["edges"][0]["columns"] == [{"from": "amount", "to": "doubled", "transformation": "DIRECT/TRANSFORMATION", "kind": "DIRECT"}]


@pytest.mark.django_db
def test_a_changed_view_is_re_derived_when_the_catalog_says_so(client):
    make_table("sales", "orders", columns=ORDERS)
    make_table("crm", "customers", columns=CUSTOMERS)
    view = make_table("sales", "v", view_sql="SELECT id FROM orders", columns=[("id", "int")])
    tables_changed.send(sender=None, catalog_id=view.catalog_id, table_ids=[view.pk])
    login_persona(client, "admin")
    upstream = lambda: {n["qualified_name"] for n in client.get("/api/v1/lineage/graph", {"dataset": "sales.v", "direction": "upstream"}).json()["nodes"] if n["kind"] == "dataset"}  # noqa: E731
    assert upstream() == {"sales.orders", "sales.v"}
    view.view_sql = "SELECT c.name FROM crm.customers c"
    view.save()
    tables_changed.send(sender=None, catalog_id=view.catalog_id, table_ids=[view.pk])
    assert upstream() == {"crm.customers", "sales.v"}  # the stale edge from orders is gone
    view.deleted_at = timezone.now()
    view.save()
    tables_changed.send(sender=None, catalog_id=view.catalog_id, table_ids=[view.pk])
    assert Edge.objects.count() == 0


@pytest.mark.django_db
def test_unparseable_view_sql_leaves_no_edges_and_no_error():
    view = make_table("sales", "broken", view_sql="SELECT FROM WHERE (")
    assert services.derive_view_lineage([view.pk]) == 0
    assert Edge.objects.count() == 0


@pytest.mark.django_db
def test_a_table_synced_later_is_linked_to_lineage_already_reported(client):
    login_persona(client, "finance_provider")
    from lineage.tests.conftest import post_event, run_event

    post_event(client, run_event([("s3://landing", "/crm/customers/2024/05/01")], [("postgres://x:5432", "a.b.c")]))
    assert Dataset.objects.get(namespace="s3://landing").table is None
    table = make_table("raw", "crm_customers", location="s3://landing/crm/customers/")
    tables_changed.send(sender=None, catalog_id=table.catalog_id, table_ids=[table.pk])
    assert Dataset.objects.get(namespace="s3://landing").table == table


def test_a_large_catalog_change_derives_view_lineage_in_a_celery_task(celery_worker, settings):
    import time

    settings.LINEAGE_INLINE_TABLES = 1
    orders = make_table("sales", "orders", columns=ORDERS)
    view = make_table("sales", "big_orders", view_sql="SELECT id AS order_id FROM orders", columns=[("order_id", "int")])
    tables_changed.send(sender=None, catalog_id=view.catalog_id, table_ids=[orders.pk, view.pk])
    deadline = time.monotonic() + 30
    while not Edge.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    edge = Edge.objects.get()
    assert (edge.source.table, edge.target.table) == (orders, view)
    assert list(edge.columns.values_list("source_column", "target_column")) == [("id", "order_id")]
