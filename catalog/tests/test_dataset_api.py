"""GET /api/v1/datasets/DATABASE.TABLE and /versions: full detail, diffs, role rules."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from catalog.models import Partition, TableVersion
from catalog.tests.search_support import make_table
from portal.testing.personas import login_persona

pytestmark = pytest.mark.django_db


def api(persona: str = "admin") -> APIClient:
    client = APIClient()
    login_persona(client, persona)
    return client


@pytest.fixture
def orders() -> object:
    table = make_table(
        "sales_prepared.customer_orders",
        [("order_id", "bigint", "Order number"), ("amount", "decimal(12,2)", ""), ("dt", "string", "Order day", True)],
        description="Every order.", owner="ana", partition_count=2, parameters={"classification": "internal"},
    )
    Partition.objects.create(table=table, values=["2024-01-01"], values_key="2024-01-01", location="s3://lake/x/dt=2024-01-01/")
    TableVersion.objects.create(table=table, version_id="1", columns=[{"name": "order_id", "type": "int"}],
                                diff={"added": [], "removed": [], "type_changed": [], "first_seen": True},
                                updated_at=timezone.now() - timezone.timedelta(days=2))
    TableVersion.objects.create(table=table, version_id="2", columns=[{"name": "order_id", "type": "bigint"}],
                                diff={"added": ["amount"], "removed": [], "type_changed": [
                                    {"name": "order_id", "from": "int", "to": "bigint"}]},
                                updated_at=timezone.now())
    return table


def test_it_returns_the_full_detail_of_a_dataset(orders: object) -> None:
    body = api().get("/api/v1/datasets/sales_prepared.customer_orders").json()
    assert body["qualified_name"] == "sales_prepared.customer_orders"
    assert [c["name"] for c in body["columns"]] == ["order_id", "amount", "dt"]
    # Issue 24: ``pii`` is the kind of personal data (or null), with its status and each value's source.
    assert body["columns"][2] == {"name": "dt", "type": "string", "comment": "Order day", "partition_key": True,
                                  "description": "Order day", "tags": [], "classification": "", "pii": None,
                                  "pii_status": None, "sources": {"description": "glue"}, "propagated": [],
                                  "lf_tags": {}}
    assert body["partition_keys"] == ["dt"]
    for key in ("location", "format", "parameters", "owner", "classification", "hub", "layer", "created_at",
                "updated_at", "view_sql", "description", "tags", "pii_columns", "curation"):
        assert key in body
    assert body["owner"] == "ana" and body["parameters"] == {"classification": "internal"}


def test_versions_come_newest_first_with_their_schema_diff(orders: object) -> None:
    body = api().get("/api/v1/datasets/sales_prepared.customer_orders/versions").json()
    assert [v["version_id"] for v in body["versions"]] == ["2", "1"]
    assert body["versions"][0]["diff"]["added"] == ["amount"]
    assert body["versions"][0]["diff"]["type_changed"] == [{"name": "order_id", "from": "int", "to": "bigint"}]


@pytest.mark.parametrize(
    "path",
    ["/api/v1/datasets/sales_prepared.nope", "/api/v1/datasets/no_dot_here", "/api/v1/datasets/sales_prepared.nope/versions"],
)
def test_unknown_datasets_answer_404_json(orders: object, path: str) -> None:
    response = api().get(path)
    assert response.status_code == 404
    assert "error" in response.json()


def test_a_dataset_outside_the_role_is_a_404_not_a_403(orders: object) -> None:
    assert api("marketing_consumer").get("/api/v1/datasets/sales_prepared.customer_orders").status_code == 404
    assert api("finance_consumer").get("/api/v1/datasets/sales_prepared.customer_orders").status_code == 200


def test_soft_deleted_datasets_are_gone(orders: object) -> None:
    make_table("sales_prepared.old_orders", deleted_at=timezone.now())
    assert api().get("/api/v1/datasets/sales_prepared.old_orders").status_code == 404


def test_detail_costs_a_fixed_number_of_queries(orders: object, django_assert_max_num_queries: object) -> None:
    client = api()
    with django_assert_max_num_queries(8):  # type: ignore[operator]
        assert client.get("/api/v1/datasets/sales_prepared.customer_orders").status_code == 200
