"""A small lake for the MCP tests and the SDK's own client over both transports.

Who sees what (portal.testing.personas):
- ``raw.orders`` and ``sales_semantic.revenue``: public, every persona sees them;
- ``finance_prepared.zz_ledger_finance_only``: finance hub-only (finance roles, admin);
- ``marketing_prepared.zz_leads_marketing_only``: marketing hub-only (marketing consumer, admin).
Lineage: raw.orders → zz_ledger_finance_only → sales_semantic.revenue, and raw.orders → zz_leads_marketing_only.
The ``zz_…_only`` names are what must never appear in an answer to a persona of the other hub.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
import os
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from django.conf import settings
from django.db import connection
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from catalog.search.indexer import index_tables
from catalog.tests.search_support import make_table
from ingestion_wizard.models import Pipeline, PipelineRun
from lineage import queries as lineage_queries
from lineage import services as lineage_services
from lineage.tests.conftest import run_event
from portal.testing.personas import PERSONAS, token_for

GLUE = "arn:aws:glue:eu-central-1:123456789012"
FINANCE_ONLY = "finance_prepared.zz_ledger_finance_only"
MARKETING_ONLY = "marketing_prepared.zz_leads_marketing_only"
REPO = Path(__file__).resolve().parents[2]
# A name of a hub-only thing → the personas that must never read it in any answer (the table name
# alone, as lineage names carry it as table/DB/TABLE; a pipeline writing the other hub's data).
FORBIDDEN_TO = {
    "zz_ledger_finance_only": ("marketing_consumer",),
    "zz_leads_marketing_only": ("finance_steward", "finance_consumer", "finance_provider"),
    "zz-crm-marketing-only": ("finance_steward", "finance_consumer", "finance_provider"),
}


def flow(source: str, target: str, job: str) -> None:
    src, dst = (GLUE, f"table/{source.replace('.', '/')}"), (GLUE, f"table/{target.replace('.', '/')}")
    lineage_services.ingest_event(run_event([src], [dst], job=job, run_id=str(uuid.uuid5(uuid.NAMESPACE_DNS, job))))


def build_lake() -> dict[str, Any]:
    lineage_queries.forget_graph()
    tables = {
        "orders": make_table("raw.orders", [("order_id", "bigint", "Order number"), ("amount", "double", "Total")],
                             hub="finance", layer="source", visibility="public", description="Orders of the web shop.",
                             owner="ana", usage_count=12),
        "revenue": make_table("sales_semantic.revenue", [("day", "date", ""), ("revenue", "double", "Orders total")],
                              hub="finance", layer="semantic", visibility="public", description="Revenue per day."),
        "ledger": make_table(FINANCE_ONLY, [("entry_id", "bigint", ""), ("amount", "double", "")], hub="finance",
                             description="Finance ledger orders booked."),
        "leads": make_table(MARKETING_ONLY, [("lead_id", "string", ""), ("order_id", "bigint", "")], hub="marketing",
                            description="Marketing leads with their orders."),
    }
    flow("raw.orders", FINANCE_ONLY, "book_ledger")
    flow(FINANCE_ONLY, "sales_semantic.revenue", "sum_revenue")
    flow("raw.orders", MARKETING_ONLY, "match_leads")
    index_tables([t.id for t in tables.values()])
    finance = Pipeline.objects.create(name="erp-orders", hub="finance", source_kind="postgresql", host="db.internal",
                                      port=5432, source_database="erp", source_user="etl", status="ready",
                                      tables=[{"schema": "sales", "name": "orders"}], target_database="finance_erp")
    for status in ("succeeded", "failed"):
        PipelineRun.objects.create(pipeline=finance, status=status, rows=10)
    marketing = Pipeline.objects.create(name="zz-crm-marketing-only", hub="marketing", source_kind="postgresql",
                                        host="crm.internal", port=5432, source_database="crm", source_user="etl",
                                        status="ready", tables=[{"schema": "crm", "name": "leads"}],
                                        target_database="marketing_crm")
    PipelineRun.objects.create(pipeline=marketing, status="succeeded", rows=5)
    tables["pipelines"] = {"finance": finance.pk, "marketing": marketing.pk}
    return tables


@pytest.fixture
def lake(search: str, transactional_db: None) -> Iterator[dict[str, Any]]:
    """The lake in a committed database (the live server's threads and a stdio subprocess see it)."""
    yield build_lake()
    lineage_queries.forget_graph()


@pytest.fixture
def tokens(transactional_db: None) -> dict[str, str]:
    """A read token per persona (username = persona name)."""
    return {name: token_for(name, role) for name, role in PERSONAS.items()}


# --- the SDK's client over both transports ---------------------------------------------------------------------


def http_client(url: str, token: str) -> Client:
    """The SDK client on streamable HTTP with the token as bearer."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    transport = streamable_http_client(url, http_client=httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(60.0)))
    return Client(transport, cache=None)


def database_url_of_tests() -> str:
    """DATABASE_URL of the test database pytest-django created (what a subprocess must use)."""
    db = connection.settings_dict
    return f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def stdio_client(token: str, **extra_env: str) -> Client:
    """The SDK client spawning ``python manage.py mcp`` against the test database, the token in DATAHUB_TOKEN."""
    env = {
        "DATAHUB_TOKEN": token, "DATABASE_URL": database_url_of_tests(), "SECRET_KEY": "test-only-secret-key",
        "OPENSEARCH_URL": settings.OPENSEARCH_URL, "AWS_ENDPOINT_URL": settings.AWS_ENDPOINT_URL or "",
        "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL", ""), "PYTHONPATH": str(REPO),
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "DEBUG": "false",
        "ALLOW_LOCAL_ACCOUNTS": "true", **extra_env,
    }
    # DJANGO_ALLOW_ASYNC_UNSAFE is deliberately not passed: the server must keep the ORM out of its event loop.
    params = StdioServerParameters(command=sys.executable, args=["manage.py", "mcp"], env=env, cwd=str(REPO))
    return Client(params, cache=None)


def run(coro: Awaitable[Any]) -> Any:
    """Run one client conversation; bounded so a hung server fails the test instead of the suite."""
    async def bounded() -> Any:
        return await asyncio.wait_for(coro, timeout=120)

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(bounded())
    # Playwright's sync API (the session's browser, started by an earlier browser test) keeps an event
    # loop running in this thread; the conversation gets a loop of its own in another thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, bounded()).result()


Conversation = Callable[[Client], Awaitable[Any]]


def converse(client: Client, conversation: Conversation) -> Any:
    async def go() -> Any:
        async with client:
            return await conversation(client)

    return run(go())
