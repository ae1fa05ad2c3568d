"""A consumer finds two datasets in search, selects them, launches a workspace, sees it in service and stops it.

Real services throughout: osmem for search, the moto server for SageMaker/STS/Lake Formation,
a Celery worker on Redis following the workspace, headless Chromium driving the pages.
"""

from __future__ import annotations

import re

import pytest

from catalog.search.indexer import index_tables
from catalog.tests.search_support import make_table
from identity.roles import Role
from portal.testing.browser import log_in



@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_consumer_selects_two_datasets_from_search_launches_a_workspace_and_stops_it(
        page, live_server, search, aws_endpoint, celery_worker):
    tables = [
        make_table("sales.orders_eu", [("order_id", "bigint", "")], description="European orders"),
        make_table("sales.orders_us", [("order_id", "bigint", "")], description="US orders"),
        make_table("sales.refunds", [("refund_id", "bigint", "")], description="Refunds"),
    ]
    index_tables([t.id for t in tables])
    log_in(page, live_server, "ana", Role("consumer", "finance"))

    page.goto("/search?q=orders")
    for name in ("sales.orders_eu", "sales.orders_us"):
        page.locator(f'button[data-dataset="{name}"]').click()
        page.locator(f'button[data-dataset="{name}"][data-selected="true"]').wait_for()
    assert page.locator("#selection-badge").inner_text() == "2"

    page.goto("/workspaces/selection/")
    page.get_by_role("link", name="Launch a workspace").click()
    assert page.locator("#launch-form input[name=datasets]:checked").count() == 2
    page.select_option("select[name=instance_type]", "ml.t3.medium")
    page.get_by_role("button", name="Launch").click()

    page.wait_for_url(re.compile(r"/workspaces/\d+/$"))
    page.locator('[data-status="in_service"]').wait_for(timeout=30_000)
    assert page.get_by_role("button", name="Open notebook").is_visible()

    page.get_by_role("button", name="Stop").click()
    page.locator('[data-status="stopped"]').wait_for(timeout=30_000)
    assert page.get_by_role("button", name="Start").is_visible()
