"""Fixtures of the queries tests: the small demo lake in moto (real objects), mirrored; API clients.

Who may see what (portal.testing.personas, queries.testing):
- finance consumer: ``finance_*`` tables and every public semantic view, not marketing's hub-only tables;
- marketing consumer: ``marketing_*`` and the public views;
- admin: everything, every column.
Lake Formation holds no grant until a test makes one: then only the grants decide the columns.
"""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from catalog.demo_lake import LakePlan
from identity.roles import Role
from portal import aws
from portal.testing.personas import login_persona
from queries.testing import mirrored_small_lake


@pytest.fixture
def lake(aws_endpoint: str, db: None) -> LakePlan:
    return mirrored_small_lake()


def client_of(persona: str) -> APIClient:
    client = APIClient()
    client.user = login_persona(client, persona)  # type: ignore[attr-defined]
    return client


@pytest.fixture
def consumer(db: None) -> APIClient:
    return client_of("finance_consumer")


@pytest.fixture
def marketing(db: None) -> APIClient:
    return client_of("marketing_consumer")


@pytest.fixture
def admin(db: None) -> APIClient:
    return client_of("admin")


def grant_columns(role: Role, database: str, table: str, columns: list[str]) -> None:
    """A Lake Formation SELECT on some columns of a table to the role's IAM role (as the access app will)."""
    aws.client("lakeformation").grant_permissions(
        Principal={"DataLakePrincipalIdentifier": aws.role_arn_for(role)},
        Resource={"TableWithColumns": {"DatabaseName": database, "Name": table, "ColumnNames": columns}},
        Permissions=["SELECT"],
    )


def run_sql(client: APIClient, sql: str, capture: Any) -> dict[str, Any]:
    """Submit ``sql`` and run it (eagerly, on commit); returns the query as the API shows it after."""
    with capture(execute=True):
        created = client.post("/api/v1/queries", {"sql": sql}, format="json")
    assert created.status_code == 201, created.content
    return client.get(f"/api/v1/queries/{created.json()['id']}").json()
