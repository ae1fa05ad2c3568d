"""A consumer writes a query with the schema browser, runs it, pages the result and downloads the CSV.

Real services throughout: the demo lake's objects in the moto server, the local engine, a Celery worker
on Redis running the query, headless Chromium driving the page (live status through the poll helper).
"""

from __future__ import annotations

import csv
import io
import re

import pytest

from portal.testing.browser import log_in
from portal.testing.personas import PERSONAS
from queries.testing import mirrored_small_lake

RISK = "finance_prepared.cms_hcc__patient_risk_scores"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_consumer_writes_a_query_with_the_schema_browser_runs_it_pages_and_downloads_it(
        page, live_server, aws_endpoint, celery_worker, settings):
    settings.QUERY_RESULTS_PAGE_SIZE = 2
    mirrored_small_lake()
    log_in(page, live_server, "ana", PERSONAS["finance_consumer"])

    page.goto("/queries/")
    editor = page.locator("#sql-editor")
    editor.fill("SELECT person_id, v24_risk_score FROM ")
    editor.press("End")
    page.locator(f'#schema-browser [data-insert="{RISK}"]').click()
    editor.press("End")
    editor.type(" ORDER BY person_id")
    assert editor.input_value() == f"SELECT person_id, v24_risk_score FROM {RISK} ORDER BY person_id"
    page.get_by_role("button", name="Run").click()

    page.wait_for_url(re.compile(r"/queries/\d+/$"))
    page.locator('#query-status [data-status="succeeded"]').wait_for(timeout=60_000)
    results = page.locator('[data-testid="results"] tbody tr')
    results.first.wait_for()
    first_page = [results.nth(i).inner_text() for i in range(results.count())]
    assert len(first_page) == 2
    page.locator('[data-testid="next-page"]').click()
    page.locator('[data-testid="results-page"]', has_text="Page 2").wait_for()
    assert results.count() == 2 and results.first.inner_text() not in first_page

    with page.expect_download() as download:
        page.locator('[data-testid="download-csv"]').click()
    lines = list(csv.reader(io.StringIO(open(download.value.path()).read())))
    assert lines[0] == ["person_id", "v24_risk_score"] and len(lines) == 6
    assert lines[1:] == sorted(lines[1:])

    page.goto("/queries/")
    assert page.locator('[data-testid="history"] [data-status="succeeded"]').count() == 1
