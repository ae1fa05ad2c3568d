"""Lineage in a real browser: the full-screen graph renders, a click expands a dataset's neighbours,
the column switch narrows to one column, and the dataset page's Lineage tab draws the same graph.

Real services: PostgreSQL behind the live server, headless Chromium, cytoscape + dagre from static/vendor.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from lineage import queries, services
from lineage.tests.conftest import make_table, run_event
from identity.roles import Role
from portal.testing.browser import log_in

GLUE = "arn:aws:glue:eu-central-1:123456789012"



def flow(source: str, target: str, job: str, columns: dict | None = None) -> None:
    src, dst = (GLUE, f"table/{source.replace('.', '/')}"), (GLUE, f"table/{target.replace('.', '/')}")
    cols = {out: [(*src, inp)] for out, inp in (columns or {}).items()}
    services.ingest_event(run_event([src], [dst], job=job, run_id=str(uuid.uuid5(uuid.NAMESPACE_DNS, job)), columns=cols))


def node_ids(page: object) -> set[str]:
    return set(page.evaluate("window.lineageViews[0].cy.nodes().map(n => n.id())"))  # type: ignore[attr-defined]


def wait_ready(page: object) -> None:
    page.wait_for_selector("[data-lineage][data-state=ready]")  # type: ignore[attr-defined]


def wait_until(page: Any, expression: str, timeout: float = 15.0) -> None:
    """Poll ``expression`` with page.evaluate. Playwright's wait_for_function evaluates its string
    with eval() inside the page, which the portal's CSP (script-src 'self') rightly refuses."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"still false after {timeout} s: {expression}"
        time.sleep(0.1)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_full_screen_graph_renders_expands_on_click_and_switches_to_a_column(page, live_server) -> None:
    queries.forget_graph()
    make_table("raw", "orders", columns=[("id", "int"), ("amount", "double")])
    make_table("prepared", "orders", columns=[("order_id", "int"), ("amount", "double")])
    make_table("semantic", "revenue", columns=[("total", "double")])
    make_table("semantic", "order_counts", columns=[("n", "int")])
    make_table("mart", "board_report", columns=[("total", "double")])
    flow("raw.orders", "prepared.orders", "prepare_orders", {"order_id": "id", "amount": "amount"})
    flow("prepared.orders", "semantic.revenue", "revenue", {"total": "amount"})
    flow("prepared.orders", "semantic.order_counts", "counts", {"n": "order_id"})
    flow("semantic.revenue", "mart.board_report", "report", {"total": "total"})

    log_in(page, live_server, "fin", Role("consumer", "finance"))
    page.goto("/lineage/?dataset=raw.orders")
    wait_ready(page)
    view = "window.lineageViews[0]"
    datasets = lambda: set(page.evaluate(f"{view}.cy.nodes('.dataset').map(n => n.data('label'))"))  # noqa: E731
    # Default depth 2 both ways: raw → prepared → (revenue, order_counts); the report is 3 hops away.
    assert datasets() == {"raw.orders", "prepared.orders", "semantic.revenue", "semantic.order_counts"}
    assert page.evaluate(f"{view}.cy.nodes('.job').length") == 3

    # Clicking semantic.revenue (a real mouse click on the canvas) loads its neighbours: the report.
    box = page.locator("[data-lineage-canvas]").bounding_box()
    nid = page.evaluate(f"{view}.cy.nodes('.dataset').filter(n => n.data('label') === 'semantic.revenue')[0].id()")
    pos = page.evaluate(f"{view}.cy.getElementById('{nid}').renderedPosition()")
    page.mouse.click(box["x"] + pos["x"], box["y"] + pos["y"])
    wait_until(page, f"{view}.cy.nodes('.dataset').length === 5")
    assert "mart.board_report" in datasets()
    assert page.locator("[data-lineage-panel] a", has_text="Dataset page").get_attribute("href") == "/datasets/semantic.revenue"

    # Column level: only the datasets the amount column flows into.
    page.select_option("[data-lineage-column]", "amount")
    wait_until(page, f"{view}.cy.nodes('.dataset').length === 3")
    wait_ready(page)
    assert datasets() == {"raw.orders", "prepared.orders", "semantic.revenue"}
    labels = page.evaluate(f"{view}.cy.edges().map(e => e.data('label')).filter(Boolean)")
    assert "amount" in labels and "amount → total" in labels

    # The dataset page's Lineage tab draws the same graph once the tab is shown.
    page.goto("/datasets/prepared.orders")
    page.get_by_role("tab", name="Lineage").click()
    wait_ready(page)
    # Depth 1 each way in the tab: raw.orders ← prepared.orders → revenue, order_counts.
    assert datasets() == {"raw.orders", "prepared.orders", "semantic.revenue", "semantic.order_counts"}


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_busy_node_is_grouped_and_datasets_outside_the_role_stay_hidden(page, live_server) -> None:
    queries.forget_graph()
    make_table("raw", "customers", columns=[("id", "int")])
    make_table("finance", "secret_scores", hub="finance", visibility="hub")
    flow("raw.customers", "finance.secret_scores", "scores")
    for i in range(40):
        make_table("marketing", f"segment_{i}", hub="marketing", visibility="public")
        flow("raw.customers", f"marketing.segment_{i}", f"segment_{i}")

    log_in(page, live_server, "mia", Role("consumer", "marketing"))
    page.goto("/lineage/?dataset=raw.customers&unused=1")
    wait_ready(page)
    view = "window.lineageViews[0]"
    # 41 downstream leaves: folded into one group node; the finance table is among them as a hidden node.
    assert page.evaluate(f"{view}.cy.nodes('.group').map(n => n.data('label'))") == ["41 datasets"]
    assert page.evaluate(f"{view}.cy.nodes('.dataset').length") == 1
    page.evaluate(f"{view}.tapped({view}.cy.nodes('.group')[0])")
    assert page.locator("[data-lineage-panel] li").count() == 41
    assert page.locator("[data-lineage-panel] li", has_text="hidden").count() == 1
    assert "secret_scores" not in page.content()
