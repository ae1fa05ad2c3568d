"""The HTML side: the dataset page's Data tab (usage figures, preview with masked columns), the query page
(schema browser, refusals as form errors, history) and a query's status and result pages."""

from __future__ import annotations

import pytest
from django.test import Client

from portal.testing.personas import PERSONAS, login_persona
from queries.models import Query
from queries.tests.conftest import grant_columns

pytestmark = pytest.mark.django_db

RISK = "finance_prepared.cms_hcc__patient_risk_scores"


@pytest.fixture
def browser(db: None) -> Client:
    client = Client()
    client.user = login_persona(client, "finance_consumer")  # type: ignore[attr-defined]
    return client


def test_the_dataset_page_has_a_data_tab_with_usage_and_a_preview(lake, browser) -> None:
    grant_columns(PERSONAS["finance_consumer"], "finance_prepared", "cms_hcc__patient_risk_scores", ["person_id"])
    browser.get(f"/queries/preview/{RISK}")  # one preview read

    page = browser.get(f"/datasets/{RISK}").content.decode()
    assert 'data-bs-target="#data"' in page and f'hx-get="/queries/preview/{RISK}"' in page
    assert "<strong>1</strong> queries and previews by\n  <strong>1</strong> users" in page
    fragment = browser.get(f"/queries/preview/{RISK}").content.decode()
    assert "blended_risk_score <span class=\"badge text-bg-secondary\">masked</span>" in fragment
    assert "PER" in fragment


def test_the_query_page_lists_the_roles_tables_and_refuses_a_drop_as_a_form_error(lake, browser) -> None:
    page = browser.get("/queries/").content.decode()
    assert f'data-insert="{RISK}"' in page and "marketing_prepared." not in page

    refused = browser.post("/queries/", {"sql": f"DROP TABLE {RISK}"})
    assert refused.status_code == 400 and "Only SELECT and WITH queries" in refused.content.decode()
    assert not Query.objects.exists()


def test_a_query_runs_from_the_page_to_its_result_pages(lake, browser, celery_eager,
                                                          django_capture_on_commit_callbacks, settings) -> None:
    settings.QUERY_RESULTS_PAGE_SIZE = 3
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post("/queries/", {"sql": f"SELECT person_id FROM {RISK} ORDER BY person_id"})
    query = Query.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/queries/{query.pk}/"

    status = browser.get(f"/queries/{query.pk}/status").content.decode()
    assert 'data-status="succeeded"' in status and "data-poll=" not in status
    assert f'href="/api/v1/queries/{query.pk}/csv"' in status
    first = browser.get(f"/queries/{query.pk}/results").content.decode()
    assert "Page 1" in first and f"/queries/{query.pk}/results?page=2" in first
    last = browser.get(f"/queries/{query.pk}/results?page=2").content.decode()
    assert "Page 2" in last and "next-page" not in last
    assert browser.get(f"/api/v1/queries/{query.pk}/csv").status_code == 200
    history = browser.get("/queries/").content.decode()
    assert f'href="/queries/{query.pk}/"' in history and 'data-status="succeeded"' in history


def test_a_queued_query_polls_and_can_be_cancelled_from_its_panel(lake, browser,
                                                                  django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        browser.post("/queries/", {"sql": f"SELECT 1 FROM {RISK}"})
    query = Query.objects.get()

    assert f'data-poll="/queries/{query.pk}/status"' in browser.get(f"/queries/{query.pk}/").content.decode()
    cancelled = browser.post(f"/queries/{query.pk}/cancel").content.decode()
    assert 'data-status="cancelled"' in cancelled and "data-poll=" not in cancelled


def test_another_users_query_is_not_found(lake, browser, celery_eager) -> None:
    other = Client()
    login_persona(other, "marketing_consumer")
    query = Query.objects.create(user=browser.user, role=PERSONAS["finance_consumer"].as_dict(),
                                 role_key="consumer:finance", sql="SELECT 1", engine="local")

    assert other.get(f"/queries/{query.pk}/").status_code == 404


def test_the_home_page_shows_what_the_role_reads_most(lake, browser) -> None:
    browser.get(f"/queries/preview/{RISK}")
    browser.get(f"/queries/preview/{RISK}")
    browser.get("/queries/preview/finance_source.billing__premium_invoice")

    page = browser.get("/").content.decode()
    popular = page[page.index('data-testid="popular-datasets"'):]
    assert popular.index(RISK) < popular.index("finance_source.billing__premium_invoice")
    assert "2 reads" in popular
    marketing = Client()
    login_persona(marketing, "marketing_consumer")
    assert 'data-testid="empty-popular"' in marketing.get("/").content.decode()  # finance's tables are not theirs
