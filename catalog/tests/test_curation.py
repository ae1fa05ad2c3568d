"""Steward curation: who may curate, what is stored (with who and when), searchable at once, Glue write-back."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from catalog.models import Curation, CurationChange
from catalog.search.indexer import index_tables
from catalog.services.curation import CurationError, CurationForbidden, CurationInput, curate
from catalog.tests.search_support import make_table
from portal import aws
from identity.roles import Role
from portal.testing.personas import login_persona

pytestmark = pytest.mark.django_db


@pytest.fixture
def orders() -> Any:
    return make_table("sales_prepared.customer_orders", [("order_id", "bigint", ""), ("email", "string", "")], hub="finance")


def test_stewards_of_the_hub_curate_and_every_change_is_recorded_with_who(orders: Any, django_user_model: Any) -> None:
    ana = django_user_model.objects.create(username="ana")
    curate(orders, CurationInput(description="All web orders", tags=["Gold", "gold ", "sales"], pii_columns=["email"]),
           actor=ana, role=Role("steward", "finance"))
    stored = Curation.objects.get(table=orders)
    assert (stored.description, stored.tags, stored.pii_columns, stored.updated_by) == (
        "All web orders", ["gold", "sales"], ["email"], ana)
    assert sorted(CurationChange.objects.filter(table=orders).values_list("field", flat=True)) == [
        "description", "pii_columns", "tags"]
    assert CurationChange.objects.filter(changed_by=ana).count() == 3


@pytest.mark.parametrize("role", [Role("steward", "marketing"), Role("consumer", "finance"), None])
def test_others_may_not_curate(orders: Any, role: Role | None) -> None:
    with pytest.raises(CurationForbidden):
        curate(orders, CurationInput(description="x"), actor=None, role=role)
    assert not Curation.objects.exists()


@pytest.mark.parametrize(
    "data", [CurationInput(classification="secret"), CurationInput(pii_columns=["no_such_column"]),
             CurationInput(tags=["x" * 65])],
)
def test_bad_values_are_refused_and_nothing_is_stored(orders: Any, data: CurationInput) -> None:
    with pytest.raises(CurationError):
        curate(orders, data, actor=None, role=Role("admin"))
    assert not CurationChange.objects.exists()


def test_curation_is_searchable_at_once(orders: Any, search: str, django_capture_on_commit_callbacks: Any) -> None:
    index_tables([orders.id])
    client = APIClient()
    login_persona(client, "finance_steward")
    assert client.get("/api/v1/search", {"q": "webshop"}).json()["count"] == 0
    with django_capture_on_commit_callbacks(execute=True):
        response = client.patch("/api/v1/datasets/sales_prepared.customer_orders",
                                {"description": "Orders from the webshop", "tags": ["gold"], "owner": "ana",
                                 "classification": "confidential"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["description"] == "Orders from the webshop"
    hit = client.get("/api/v1/search", {"q": "webshop"}).json()["results"][0]
    assert (hit["name"], hit["owner"], hit["classification"]) == ("customer_orders", "ana", "confidential")
    assert client.get("/api/v1/search", {"q": "gold", "owner": "ana"}).json()["count"] == 1


def test_the_api_refuses_curation_by_other_roles_and_bad_values(orders: Any) -> None:
    consumer = APIClient()
    login_persona(consumer, "finance_consumer")
    assert consumer.patch("/api/v1/datasets/sales_prepared.customer_orders", {"owner": "x"}, format="json").status_code == 403
    steward = APIClient()
    login_persona(steward, "finance_steward")
    bad = steward.patch("/api/v1/datasets/sales_prepared.customer_orders", {"pii_columns": ["nope"]}, format="json")
    assert bad.status_code == 400 and "pii_columns" in bad.json()["detail"]


def test_write_back_puts_curated_values_into_glue_parameters(
    orders: Any, aws_endpoint: str, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any, search: str,
) -> None:
    glue = aws.client("glue")
    glue.create_database(DatabaseInput={"Name": "sales_prepared"})
    glue.create_table(DatabaseName="sales_prepared", TableInput={
        "Name": "customer_orders", "Parameters": {"keep": "me"},
        "StorageDescriptor": {"Columns": [{"Name": "order_id", "Type": "bigint"}], "Location": "s3://lake/x/"},
    })
    monkeypatch.setattr(settings, "CURATION_WRITE_BACK", True, raising=False)
    with django_capture_on_commit_callbacks(execute=True):
        curate(orders, CurationInput(owner="ana", classification="confidential", tags=["gold", "sales"],
                                     description="Web orders"), actor=None, role=Role("admin"))
    table = glue.get_table(DatabaseName="sales_prepared", Name="customer_orders")["Table"]
    assert table["Parameters"] == {"keep": "me", "owner": "ana", "classification": "confidential",
                                   "portal_tags": "gold,sales"}
    assert table["Description"] == "Web orders"
