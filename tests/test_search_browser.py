"""A steward finds a dataset in a real browser: suggestions as you type, a facet, the dataset's schema.

Real services: osmem for search, PostgreSQL behind the live server, headless Chromium.
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
def test_a_steward_types_picks_a_suggestion_filters_by_a_facet_and_reads_a_schema(page, live_server, search) -> None:
    tables = [
        make_table("sales_prepared.customer_orders",
                   [("order_id", "bigint", "Order number"), ("amount_eur", "decimal(12,2)", "Order total"),
                    ("dt", "string", "Order day", True)],
                   description="Every web shop order.", layer="prepared"),
        make_table("sales_semantic.CustomerOrderKpis", [("order_month", "string", ""), ("orders", "bigint", "")],
                   description="Monthly order KPIs.", layer="semantic"),
        make_table("sales_prepared.refunds", [("refund_id", "bigint", "")], layer="prepared"),
    ]
    index_tables([t.id for t in tables])
    log_in(page, live_server, "sam", Role("steward", "finance"))
    page.goto("/browse")

    # Suggestions as you type; picking one opens the dataset.
    page.locator("#header-search").fill("custom")
    suggestion = page.locator("#search-suggestions a.suggestion", has_text="customer_orders")
    suggestion.wait_for()
    assert page.locator("#search-suggestions a.suggestion").count() == 2
    suggestion.click()
    page.wait_for_url(re.compile(r"/datasets/sales_prepared\.customer_orders$"))
    assert page.locator("#dataset-name").inner_text() == "sales_prepared.customer_orders"

    # A full search, narrowed by a facet.
    page.locator("#header-search").fill("customer orders")
    page.locator("#header-search").press("Enter")
    page.wait_for_url(re.compile(r"/search\?q=customer\+orders"))
    assert page.locator("article.search-result").count() == 2
    page.locator('[data-facet="layer"] a.facet-option', has_text="semantic").click()
    page.wait_for_url(re.compile(r"layer=semantic"))
    assert page.locator("article.search-result").count() == 1
    assert page.locator("#result-count").inner_text().startswith("1 dataset")

    # Open the dataset and read its schema, then filter it.
    page.locator("a.dataset-link").first.click()
    page.wait_for_url(re.compile(r"/datasets/sales_semantic\.CustomerOrderKpis$"))
    rows = page.locator("#schema-table tbody tr")
    assert [rows.nth(i).locator("code").inner_text() for i in range(rows.count())] == ["order_month", "orders"]
    page.locator("#schema-filter").fill("month")
    assert page.locator("#schema-table tbody tr:not(.d-none)").count() == 1

    # Back on the first dataset, the partition key is marked and the Athena query is ready to copy.
    page.goto("/datasets/sales_prepared.customer_orders")
    assert "partition key" in page.locator("#schema-table").inner_text()
    page.get_by_role("tab", name="Storage & query").click()
    assert 'FROM "sales_prepared"."customer_orders"' in page.locator("#athena-query").inner_text()

    # A steward curates; the page comes back on the Curation tab and search finds the new words at once.
    page.goto("/datasets/sales_prepared.customer_orders#curation")
    page.locator("#curation-form textarea[name=description]").fill("Orders of the webshop, one row per order")
    page.locator("#curation-form").get_by_role("button", name="Save curation").click()
    page.wait_for_url(re.compile(r"#curation$"))
    assert page.locator("#curation-form").is_visible()
    page.goto("/search?q=webshop")
    assert page.locator("a.dataset-link").first.inner_text() == "sales_prepared.customer_orders"
