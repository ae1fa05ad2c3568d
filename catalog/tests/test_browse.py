"""Browsing by hub, layer and database, paginated, within the role."""

from __future__ import annotations

import pytest
from django.test import Client

from catalog.queries import browse
from catalog.tests.search_support import make_table
from identity.roles import Role
from portal.testing.personas import login_persona

pytestmark = pytest.mark.django_db


@pytest.fixture
def lake() -> None:
    for i in range(60):
        make_table(f"finance_prepared.table_{i:02d}", hub="finance", layer="prepared")
    make_table("finance_source.raw_bookings", hub="finance", layer="source")
    make_table("marketing_source.leads", hub="marketing", layer="source")
    make_table("marketing_semantic.campaigns", hub="marketing", layer="semantic", visibility="public")


def test_it_narrows_by_hub_layer_and_database_with_counts(lake: None) -> None:
    result = browse(Role("admin"), hub="finance", layer="source")
    assert [t.qualified_name for t in result.page] == ["finance_source.raw_bookings"]
    assert {h["value"]: h["count"] for h in result.hubs} == {"finance": 61, "marketing": 2}
    assert {layer["value"]: layer["count"] for layer in result.layers} == {"prepared": 60, "source": 1}
    assert [d["value"] for d in result.databases] == ["finance_source"]


def test_it_hides_datasets_outside_the_role(lake: None) -> None:
    result = browse(Role("consumer", "marketing"))
    assert [t.qualified_name for t in result.page] == ["marketing_semantic.campaigns", "marketing_source.leads"]
    assert [h["value"] for h in result.hubs] == ["marketing"]


def test_the_page_is_paginated(lake: None) -> None:
    client = Client()
    login_persona(client, "finance_consumer")
    first = client.get("/browse", {"hub": "finance"}).content.decode()
    assert "Page 1 of 2" in first and "finance_prepared.table_00" in first
    second = client.get("/browse", {"hub": "finance", "page": 2}).content.decode()
    assert "finance_source.raw_bookings" in second and "finance_prepared.table_00" not in second
    assert client.get("/browse", {"page": "nonsense"}).status_code == 200
