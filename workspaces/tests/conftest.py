"""Fixtures of the workspaces tests: a small mirrored catalog and logged-in API clients.

Who may see what (see portal.testing.personas):
- finance consumer: ``finance_curated.invoices`` (finance hub-only), ``shared.fx_rates`` (public);
- marketing consumer: ``shared.fx_rates`` and ``marketing_raw.campaigns``, not finance's invoices;
- admin: everything.
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from catalog.models import Database, GlueCatalog, Table
from portal.testing.personas import login_persona


def make_table(catalog: GlueCatalog, database: str, name: str, hub: str, visibility: str) -> Table:
    db, _ = Database.objects.get_or_create(catalog=catalog, name=database, defaults={"hub": hub})
    return Table.objects.create(
        catalog=catalog, database=db, database_name=database, name=name, hub=hub, visibility=visibility,
        location=f"s3://datahub-lake/{database}/{name}/", format="parquet", layer="prepared",
    )


@pytest.fixture
def lake(db: None) -> dict[str, Table]:
    catalog = GlueCatalog.objects.create(account_id="123456789012", region="eu-central-1")
    return {
        "invoices": make_table(catalog, "finance_curated", "invoices", "finance", "hub"),
        "fx_rates": make_table(catalog, "shared", "fx_rates", "finance", "public"),
        "campaigns": make_table(catalog, "marketing_raw", "campaigns", "marketing", "hub"),
    }


@pytest.fixture
def consumer(db: None) -> APIClient:
    client = APIClient()
    client.user = login_persona(client, "finance_consumer")
    return client


@pytest.fixture
def marketing(db: None) -> APIClient:
    client = APIClient()
    client.user = login_persona(client, "marketing_consumer")
    return client


@pytest.fixture
def admin(db: None) -> APIClient:
    client = APIClient()
    client.user = login_persona(client, "admin")
    return client
