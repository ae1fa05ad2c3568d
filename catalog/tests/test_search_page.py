"""The search page and the header suggestions (HTML), including the degraded page when OpenSearch is down."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from catalog.search.indexer import index_tables
from catalog.tests.search_support import make_table
from portal.testing.personas import login_persona
from portal.testing.services import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def indexed(search: str) -> list[Any]:
    tables = [
        make_table("sales_prepared.customer_orders", [("order_id", "bigint", "Order number")], hub="finance",
                   description="Orders <b>placed</b> online"),
        make_table("sales_prepared.refunds", [("refund_id", "bigint", ""), ("order_id", "bigint", "")], hub="finance",
                   layer="semantic"),
        make_table("marketing_source.leads", [("lead_id", "string", "")], hub="marketing", visibility="public"),
    ]
    index_tables([t.id for t in tables])
    return tables


def browser(persona: str = "finance_steward") -> Client:
    client = Client()
    login_persona(client, persona)
    return client


def test_results_show_highlights_matched_columns_and_facets(indexed: list[Any]) -> None:
    page = browser().get("/search", {"q": "orders"}).content.decode()
    assert "customer_<em>orders</em>" in page
    assert "<code title=\"bigint — Order number\">order_id</code>" in page
    assert "&lt;b&gt;placed&lt;/b&gt;" in page  # descriptions are escaped, only <em> is markup
    assert 'data-facet="layer"' in page and "?q=orders&amp;layer=semantic" in page


def test_a_facet_link_narrows_the_results(indexed: list[Any]) -> None:
    page = browser().get("/search", {"q": "order", "layer": "semantic"}).content.decode()
    assert "refunds" in page and "/datasets/sales_prepared.customer_orders" not in page


def test_search_down_says_so_and_offers_browsing(indexed: list[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "OPENSEARCH_URL", f"http://127.0.0.1:{free_port()}")
    response = browser().get("/search", {"q": "orders"})
    assert response.status_code == 503
    page = response.content.decode()
    assert "Search is unavailable right now" in page
    assert '/browse?hub=finance' in page and '/browse?hub=marketing' in page


def test_a_too_long_query_is_a_clear_error(indexed: list[Any]) -> None:
    response = browser().get("/search", {"q": "x" * 600})
    assert response.status_code == 400
    assert "limit is 500" in response.content.decode()


def test_suggestions_link_to_datasets_the_role_may_see(indexed: list[Any]) -> None:
    html = browser("marketing_consumer").get("/search/suggest", {"q": "lea"}).content.decode()
    assert 'href="/datasets/marketing_source.leads"' in html
    assert "customer_orders" not in browser("marketing_consumer").get("/search/suggest", {"q": "cust"}).content.decode()


def test_every_page_has_the_search_box(indexed: list[Any]) -> None:
    assert 'id="header-search"' in browser().get("/browse").content.decode()


def test_anonymous_visitors_are_sent_to_log_in(indexed: list[Any]) -> None:
    response = Client().get("/search", {"q": "orders"})
    assert response.status_code == 302 and settings.LOGIN_URL in response["Location"]
