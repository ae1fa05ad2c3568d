"""Fixtures: real source databases, a provider of hub finance, provisioning run inline."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ingestion_wizard.tests import sources
from portal.celery import app
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
def eager() -> Iterator[None]:
    """Celery tasks run in the calling thread (the real chain, no worker); wrap the call in
    ``django_capture_on_commit_callbacks(execute=True)`` so the on-commit enqueue fires."""
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = False


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One local Spark (one core) for the whole session: starting one costs seconds."""
    from ingestion_wizard.tests.spark_job import spark_session

    session = spark_session()
    yield session
    session.stop()
