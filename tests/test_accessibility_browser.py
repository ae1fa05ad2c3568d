"""Every main page, as each persona sees it, passes axe-core without a serious or critical
violation, has exactly one <h1>, and asks nothing of another host.

axe-core comes from the npm lockfile (a devDependency): the test reads it from node_modules and
evaluates it in the page through the DevTools protocol, so it is never served to users and the
pages keep their Content-Security-Policy (``script-src 'self'``) while being checked.

Real services: PostgreSQL behind the live server, osmem for search, headless Chromium. Requests
off the portal's origin are aborted in the browser and fail the test.

Who sees what: the admin every page; the finance steward operations and curation; the finance
provider ingestion; the finance consumer workspaces and subscriptions; each the pages of its hub.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from django.utils import timezone

from access.models import AccessRequest
from catalog.models import GlueCatalog, PropagationProposal, SyncRun
from catalog.search.indexer import index_tables
from catalog.tests.search_support import make_table
from ingestion_wizard.models import Pipeline, PipelineRun
from lineage import queries as lineage_queries
from glossary.models import SynonymSuggestion, Term, TermLink
from lineage import services as lineage_services
from lineage.tests.conftest import run_event
from identity import audit
from portal.testing.browser import log_in
from portal.testing.personas import PERSONAS, make_user
from workspaces.models import Workspace

AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
# What fails the test; "moderate" and "minor" findings are advice.
FAILING_IMPACTS = {"serious", "critical"}
GLUE = "arn:aws:glue:eu-central-1:123456789012"
DATASET = "sales_prepared.customer_orders"

COMMON = ["/", "/browse", "/search?q=orders", f"/datasets/{DATASET}", f"/lineage/?dataset={DATASET}", "/tokens/",
          "/glossary/", "/glossary/?state=nope", "{term}", "/search?q=purchases"]
PAGES: dict[str, list[str]] = {
    "admin": COMMON + ["/operations/", "/audit/", "/audit/?action=not an action", "/ingestion/", "/ingestion/new/",
                       "/workspaces/", "/workspaces/selection/", "/workspaces/subscriptions/", "/roles/select/",
                       "/glossary/import/", "/glossary/suggestions/", "/access/"],
    "finance_steward": COMMON + ["/operations/", "/curation/proposals", f"/datasets/{DATASET}/columns/amount_eur",
                                 "/glossary/terms/new/", "{term_edit}", "/glossary/suggestions/", "/access/"],
    "finance_provider": COMMON + ["/ingestion/", "/ingestion/?status=paused", "/ingestion/new/", "{pipeline}",
                                  "{run}"],
    "finance_consumer": COMMON + ["/workspaces/", "/workspaces/?status=stopped", "/workspaces/launch/",
                                  "/workspaces/selection/", "/workspaces/subscriptions/", "{workspace}", "/access/",
                                  "{access_request}", "/queries/"],
}


@pytest.fixture
def lake(search: str) -> Iterator[dict[str, Any]]:
    """Datasets with lineage between them, and one of every status-bearing thing a page lists."""
    lineage_queries.forget_graph()
    tables = [
        make_table("sales_raw.orders", [("order_id", "bigint", "Order number")], layer="source", hub="finance"),
        make_table(DATASET, [("order_id", "bigint", "Order number"), ("amount_eur", "decimal(12,2)", "Order total")],
                   description="Every web shop order.", layer="prepared", hub="finance"),
        make_table("sales_semantic.order_kpis", [("orders", "bigint", "")], layer="semantic", visibility="public"),
    ]
    index_tables([t.id for t in tables])
    # A pending propagation proposal, so the stewards' queue shows its table and bulk buttons.
    PropagationProposal.objects.create(target_table=tables[1], target_column="order_id", field="description",
                                       value="Order number", origin_table=tables[0], origin_column="order_id",
                                       via_jobs=[f"build_{DATASET}"])
    for source, target in (("sales_raw.orders", DATASET), (DATASET, "sales_semantic.order_kpis")):
        src, dst = (GLUE, f"table/{source.replace('.', '/')}"), (GLUE, f"table/{target.replace('.', '/')}")
        lineage_services.ingest_event(run_event([src], [dst], job=f"build_{target}",
                                                run_id=str(uuid.uuid5(uuid.NAMESPACE_DNS, target))))
    catalog, _ = GlueCatalog.objects.get_or_create(account_id="123456789012", region="eu-central-1")
    for status in (SyncRun.Status.SUCCEEDED, SyncRun.Status.PARTIAL, SyncRun.Status.FAILED):
        SyncRun.objects.create(catalog=catalog, status=status, warnings=["a table was skipped"])
    pipeline = Pipeline.objects.create(name="erp-orders", hub="finance", source_kind="postgresql", host="db.internal",
                                       port=5432, source_database="erp", source_user="etl", status="ready",
                                       tables=[{"schema": "sales", "name": "orders"}], target_database="finance_erp")
    run = PipelineRun.objects.create(pipeline=pipeline, status="succeeded", rows=10)
    workspace = Workspace.objects.create(owner=make_user("finance_consumer"), role=PERSONAS["finance_consumer"].as_dict(),
                             role_arn="arn:aws:iam::123456789012:role/consumer", name="ws-a11y",
                             instance_type="ml.t3.medium", volume_gb=5, status=Workspace.Status.STOPPED)
    audit.record(None, "workspace.idle_stop", target="workspace:1")
    # A glossary term a search expands to ("purchases" → orders), linked to the dataset, with a child term.
    parent = Term.objects.create(name="Sales", owner_hub="finance", state="approved", definition="What we sell.")
    term = Term.objects.create(name="Order", owner_hub="finance", state="approved", parent=parent,
                               definition="A customer's purchase in the web shop.", synonyms=["purchase"])
    TermLink.objects.create(term=term, database_name="sales_prepared", table_name="customer_orders")
    SynonymSuggestion.objects.create(short_form="eur", meaning="euro", evidence=4, examples=["amount_eur"])
    AccessRequest.objects.create(requester=workspace.owner, role_key="consumer:finance",
                                 role=PERSONAS["finance_consumer"].as_dict(), table=tables[1], dataset=DATASET,
                                 hub="finance", purpose="accessibility", until=timezone.localdate(),
                                 expires_at=timezone.now())
    yield {"pipeline": f"/ingestion/pipelines/{pipeline.pk}/", "run": f"/ingestion/pipelines/{pipeline.pk}/runs/{run.pk}/",
           "workspace": f"/workspaces/{workspace.pk}/", "access_request": f"/access/datasets/{tables[1].id}/request",
           "term": f"/glossary/terms/{term.pk}/", "term_edit": f"/glossary/terms/{term.pk}/edit/"}
    lineage_queries.forget_graph()


def serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now, one line each."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [f"{page.url}: {v['id']} ({v['impact']}) {v['help']}: {[n['target'] for n in v['nodes']][:4]}"
            for v in result["violations"] if v["impact"] in FAILING_IMPACTS]


def guard_origin(page: Any, origin: str) -> list[str]:
    """Abort (and record) every request off the portal's origin."""
    elsewhere: list[str] = []

    def route(r: Any) -> None:
        url = r.request.url
        if url == origin or url.startswith((origin + "/", "data:", "blob:")):
            r.continue_()
        else:
            elsewhere.append(url)
            r.abort()

    page.context.route("**/*", route)
    return elsewhere


def check(page: Any, paths: list[str]) -> list[str]:
    problems: list[str] = []
    for path in paths:
        response = page.goto(path)
        page.wait_for_load_state("networkidle")
        if response is None or response.status >= 500:
            problems.append(f"{path}: answered {response and response.status}")
            continue
        if (headings := page.locator("h1").count()) != 1:
            problems.append(f"{path}: {headings} <h1> elements")
        problems += serious_violations(page)
    return problems


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("persona", list(PAGES))
def test_main_pages_pass_axe_with_one_heading_and_nothing_from_elsewhere(page, live_server, lake, persona) -> None:
    elsewhere = guard_origin(page, live_server.url)
    log_in(page, live_server, persona, PERSONAS[persona])
    paths = [p.format(**lake) for p in PAGES[persona]]

    problems = check(page, paths)

    assert problems == []
    assert elsewhere == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_sign_in_page_passes_axe(page, live_server) -> None:
    elsewhere = guard_origin(page, live_server.url)

    assert check(page, ["/accounts/login/"]) == []
    assert elsewhere == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_wizard_steps_pass_axe(page, live_server) -> None:
    elsewhere = guard_origin(page, live_server.url)
    log_in(page, live_server, "finance_provider", PERSONAS["finance_provider"])
    page.goto("/ingestion/new/")
    page.locator("#start-wizard").click()
    page.wait_for_load_state("networkidle")

    assert check(page, [page.url]) == []
    assert elsewhere == []


@pytest.mark.browser
def test_the_check_reports_what_axe_finds(page) -> None:
    page.set_content('<html lang="en"><body><main><h1>Probe</h1><input type="text" name="q">'
                     '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="></main></body></html>')

    found = serious_violations(page)

    assert any(" label (critical)" in line for line in found), found
    assert any(" image-alt (critical)" in line for line in found), found


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_lineage_graph_has_its_nodes_and_edges_as_text_beside_the_canvas(page, live_server, lake) -> None:
    log_in(page, live_server, "finance_steward", PERSONAS["finance_steward"])
    page.goto(f"/lineage/?dataset={DATASET}")
    page.locator("[data-lineage][data-state=ready]").wait_for()
    drawn = page.evaluate("""() => {
        const cy = window.lineageViews[0].cy;
        return {datasets: cy.nodes('.dataset').map(n => window.lineageViews[0].nodes[n.id()].qualified_name).sort(),
                flows: cy.edges().length / 2};
    }""")
    page.locator("[data-lineage-text] summary").click()

    listed = sorted(t.removesuffix(" (this dataset)") for t in page.locator("[data-lineage-text-nodes] li").all_inner_texts())
    rows = [r.split("\t") for r in page.locator("[data-lineage-text-edges] tr").all_inner_texts()]

    assert listed == drawn["datasets"] == sorted(["sales_raw.orders", DATASET, "sales_semantic.order_kpis"])
    assert len(rows) == drawn["flows"] == 2
    assert [DATASET, "sales_semantic.order_kpis"] == [rows[1][0], rows[1][2]] or \
        [DATASET, "sales_semantic.order_kpis"] == [rows[0][0], rows[0][2]]
    assert serious_violations(page) == []
