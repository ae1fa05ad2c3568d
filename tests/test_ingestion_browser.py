"""A finance provider walks the whole ingestion wizard in a browser to a finished first run,
and the new dataset is then found by search.

Real services throughout: PostgreSQL as the source (dh_ingestion_src), the moto server for
Secrets Manager/S3/Glue/SNS, a Celery worker on Redis provisioning and running the pipeline,
osmem for search, headless Chromium driving the pages.
"""

from __future__ import annotations

import re

import pytest

from ingestion_wizard.tests import sources
from identity.roles import Role
from portal.testing.browser import log_in



@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_provider_onboards_postgres_through_the_wizard_and_finds_the_dataset(
        page, live_server, search, aws_endpoint, celery_worker):
    sources.reset_pg_orders(250, table="invoices")
    log_in(page, live_server, "paula", Role("provider", "finance"))

    page.goto("/ingestion/")
    page.get_by_role("button", name="Onboard a new source").click()
    page.get_by_label("PostgreSQL — bounded, JDBC").check()
    page.get_by_role("button", name="Next").click()

    page.get_by_label("Host").fill(sources.PG_HOST)
    page.get_by_label("Port").fill(str(sources.PG_PORT))
    page.get_by_label("Database").fill(sources.SOURCE_DB)
    page.get_by_label("User").fill("postgres")
    page.get_by_label("Password").fill(sources.PG_PASSWORD)
    page.get_by_role("button", name="Test connection").click()
    assert "Connected: PostgreSQL 15" in page.get_by_test_id("connection-ok").inner_text()
    page.get_by_role("button", name="Next").click()

    page.get_by_role("checkbox", name="sales.invoices").check()
    page.get_by_label("Incremental column of sales.invoices").select_option("id")
    page.get_by_role("button", name="Next").click()

    page.get_by_label("Pipeline name").fill("erp-invoices")
    page.get_by_label("Glue database name").fill("finance_erp_invoices")
    page.get_by_label("Owner").fill("erp-team")
    page.get_by_role("button", name="Next").click()

    page.get_by_label("On a schedule (cron, UTC)").check()
    page.get_by_role("textbox", name="Cron").fill("0 4 * * *")
    page.get_by_test_id("cron-preview").filter(has_text="At 04:00").wait_for()
    page.get_by_role("button", name="Next").click()

    review = page.get_by_test_id("review").inner_text()
    assert "finance_erp_invoices" in review and "incremental on id" in review
    page.get_by_label("Create the pipeline and provision its AWS resources").check()
    page.get_by_role("button", name="Create pipeline").click()

    page.wait_for_url(re.compile(r"/ingestion/pipelines/\d+/$"))
    page.get_by_test_id("pipeline-status").filter(has_text="ready").wait_for(timeout=30_000)
    assert page.get_by_test_id("steps").locator("text=succeeded").count() == 6
    assert sources.PG_PASSWORD not in page.content()

    page.reload()  # the Run now button appears once ready
    page.get_by_role("button", name="Run now").click()
    page.get_by_test_id("run-status").filter(has_text="succeeded").wait_for(timeout=30_000)
    assert "250" in page.get_by_test_id("runs").inner_text()

    # The run refreshed the catalog, whose change signal indexed the table: search finds it.
    answer = page.request.get("/api/v1/search?q=invoices").json()
    assert "finance_erp_invoices.invoices" in [hit["qualified_name"] for hit in answer["results"]]
    page.goto("/search?q=invoices")
    assert page.get_by_text("finance_erp_invoices.invoices").first.is_visible()
