"""Fixtures: real source databases, a provider of hub finance, provisioning run inline."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ingestion_wizard.tests import sources
from portal.testing.personas import login_persona


@pytest.fixture
def pg_source() -> dict[str, Any]:
    """A fresh sales.orders (120 rows) in PostgreSQL; the API's source body for it."""
    sources.reset_pg_orders(120)
    return {"kind": "postgresql", "host": sources.PG_HOST, "port": sources.PG_PORT, "database": sources.SOURCE_DB,
            "user": "postgres", "password": sources.PG_PASSWORD, "tables": ["sales.orders"]}


@pytest.fixture
def mysql_source() -> dict[str, Any]:
    sources.reset_mysql_orders(50)
    return {"kind": "mysql", "host": sources.MY_HOST, "port": sources.MY_PORT, "database": sources.SOURCE_DB,
            "user": sources.MY_USER, "password": sources.MY_PASSWORD, "tables": [f"{sources.SOURCE_DB}.customers"]}


@pytest.fixture
def provider(client: Any) -> Any:
    """The finance provider: may onboard sources into hub finance only."""
    login_persona(client, "finance_provider")
    return client


@pytest.fixture
def eager(celery_eager: None) -> None:
    """Provisioning chains run in the calling thread: the shared ``celery_eager`` fixture
    (portal.testing.services) under the name these tests use."""


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One local Spark (one core) for the whole session: starting one costs seconds."""
    from ingestion_wizard.tests.spark_job import spark_session

    session = spark_session()
    yield session
    session.stop()
