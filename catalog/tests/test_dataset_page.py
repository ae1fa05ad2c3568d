"""The dataset page: schema, partitions, storage, history, Athena query, curation form for stewards."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from catalog.models import Curation, Partition, TableVersion
from catalog.tests.search_support import make_table
from catalog.views import athena_query
from portal.testing.personas import login_persona

pytestmark = pytest.mark.django_db


@pytest.fixture
def orders() -> Any:
    table = make_table(
        "sales_prepared.customer_orders",
        [("order_id", "bigint", "Order number"), ("email", "string", "Buyer e-mail"), ("dt", "string", "", True)],
        hub="finance", partition_count=1,
    )
    Partition.objects.create(table=table, values=["2024-05-01"], values_key="2024-05-01")
    TableVersion.objects.create(table=table, version_id="2", columns=[], updated_at=timezone.now(),
                                diff={"added": ["email"], "removed": ["mail"], "type_changed": []})
    return table


def page_for(persona: str) -> Client:
    client = Client()
    login_persona(client, persona)
    return client


def test_it_shows_schema_partitions_history_and_a_ready_query(orders: Any) -> None:
    html = page_for("finance_consumer").get("/datasets/sales_prepared.customer_orders").content.decode()
    assert "<code>order_id</code>" in html and "Order number" in html and "partition key" in html
    assert 'id="schema-filter"' in html
    assert "1 by dt" in html and "2024-05-01" in html
    assert "+ email" in html and "− mail" in html
    assert "FROM &quot;sales_prepared&quot;.&quot;customer_orders&quot;" in html
    assert 'id="curation-form"' not in html


def test_the_athena_query_reads_the_newest_partition() -> None:
    class P:
        values = ["2024-05-01"]

    assert athena_query("db", "t", ["dt"], [P()]) == "SELECT *\nFROM \"db\".\"t\"\nWHERE dt = '2024-05-01'\nLIMIT 10;"
    assert athena_query("db", "t", [], []) == 'SELECT *\nFROM "db"."t"\nLIMIT 10;'


def test_a_dataset_outside_the_role_is_not_found(orders: Any) -> None:
    assert page_for("marketing_consumer").get("/datasets/sales_prepared.customer_orders").status_code == 404


def test_stewards_curate_from_the_page(orders: Any) -> None:
    client = page_for("finance_steward")
    assert 'id="curation-form"' in client.get("/datasets/sales_prepared.customer_orders").content.decode()
    response = client.post("/datasets/sales_prepared.customer_orders", {
        "description": "Web orders", "tags": "gold, sales", "owner": "ana@example.com", "classification": "confidential",
        "pii_columns": ["email"],
    })
    assert response.status_code == 302
    cur = Curation.objects.get(table=orders)
    assert (cur.description, cur.tags, cur.pii_columns) == ("Web orders", ["gold", "sales"], ["email"])
    html = client.get("/datasets/sales_prepared.customer_orders").content.decode()
    assert "Web orders" in html and ">PII<" in html and "finance_steward changed description" in html


def test_bad_curation_keeps_the_form_with_the_error(orders: Any) -> None:
    response = page_for("finance_steward").post("/datasets/sales_prepared.customer_orders", {"classification": "secret"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not Curation.objects.exists()


def test_others_cannot_post_curation(orders: Any) -> None:
    response = page_for("finance_consumer").post("/datasets/sales_prepared.customer_orders", {"description": "x"})
    assert response.status_code == 403
    assert not Curation.objects.exists()
