"""GET /api/v1/search and /search/suggest against a real (osmem) OpenSearch: shapes, facets, roles, bad input."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from catalog.search.indexer import index_tables
from catalog.tests.search_support import make_table
from portal.testing.personas import login_persona
from portal.testing.services import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog_index(search: str) -> dict[str, Any]:
    """Finance hub-only orders, a public marketing table, a marketing hub-only table, a deleted one."""
    tables = {
        "orders": make_table(
            "sales_prepared.customer_orders",
            [("order_id", "bigint", "Order number"), ("customer_id", "bigint", "Who ordered"),
             ("amount_eur", "decimal(12,2)", "Order total in euro")],
            hub="finance", description="Every order placed in the web shop.", owner="ana", format="parquet",
        ),
        "campaigns": make_table(
            "marketing_semantic.CampaignResults", [("campaign_id", "string", ""), ("clicks", "bigint", "")],
            hub="marketing", layer="semantic", visibility="public", format="json", table_type="VIRTUAL_VIEW",
        ),
        "leads": make_table("marketing_source.leads", [("lead_id", "string", "")], hub="marketing", layer="source"),
        "gone": make_table("sales_prepared.old_orders", [("order_id", "bigint", "")], deleted_at=timezone.now()),
    }
    assert index_tables([t.id for t in tables.values()]) == 3
    return tables


def api(persona: str = "admin") -> APIClient:
    client = APIClient()
    login_persona(client, persona)
    return client


def test_results_have_the_contract_shape_with_highlights_and_matched_columns(catalog_index: dict[str, Any]) -> None:
    body = api().get("/api/v1/search", {"q": "order"}).json()
    assert set(body) == {"count", "page", "page_size", "results", "facets"}
    assert (body["page"], body["page_size"]) == (1, 20)
    first = body["results"][0]
    assert first["qualified_name"] == "sales_prepared.customer_orders"
    for key in ("id", "database", "name", "description", "table_type", "format", "location", "owner",
                "classification", "hub", "layer", "updated_at", "score", "highlight", "matched_columns"):
        assert key in first
    assert first["highlight"]["name"] == ["customer_<em>orders</em>"]
    assert {"name": "order_id", "type": "bigint", "comment": "Order number"} in first["matched_columns"]
    assert set(body["facets"]) == {"database", "table_type", "format", "owner", "classification", "hub", "layer",
                                   "lf_tag"}


def test_soft_deleted_tables_never_appear(catalog_index: dict[str, Any]) -> None:
    names = [r["name"] for r in api().get("/api/v1/search", {"q": "orders"}).json()["results"]]
    assert "old_orders" not in names


def test_it_hides_datasets_outside_the_role_from_results_counts_and_facets(catalog_index: dict[str, Any]) -> None:
    body = api("marketing_consumer").get("/api/v1/search", {"q": ""}).json()
    assert {r["name"] for r in body["results"]} == {"CampaignResults", "leads"}
    assert body["count"] == 2
    assert {f["value"] for f in body["facets"]["hub"]} == {"marketing"}
    assert {f["value"] for f in body["facets"]["database"]} == {"marketing_semantic", "marketing_source"}
    # The finance consumer sees finance's hub-only table and marketing's public one, not marketing's hub-only one.
    finance = api("finance_consumer").get("/api/v1/search", {"q": ""}).json()
    assert {r["name"] for r in finance["results"]} == {"customer_orders", "CampaignResults"}


def test_facets_and_within_one_facet_or_across_facets_and_counts_follow(catalog_index: dict[str, Any]) -> None:
    client = api()
    either = client.get("/api/v1/search", {"hub": ["finance", "marketing"], "layer": "source"}).json()
    assert [r["name"] for r in either["results"]] == ["leads"] and either["count"] == 1
    # The layer facet counts ignore the layer choice (so you can add another) but apply the hub choice.
    only_marketing = client.get("/api/v1/search", {"hub": "marketing", "layer": "source"}).json()
    layers = {f["value"]: f["count"] for f in only_marketing["facets"]["layer"]}
    assert layers == {"semantic": 1, "source": 1}
    hubs = {f["value"]: f["count"] for f in only_marketing["facets"]["hub"]}
    assert hubs == {"marketing": 1}


def test_text_and_facets_combine(catalog_index: dict[str, Any]) -> None:
    body = api().get("/api/v1/search", {"q": "campaign", "format": "json"}).json()
    assert [r["name"] for r in body["results"]] == ["CampaignResults"]
    assert api().get("/api/v1/search", {"q": "campaign", "format": "parquet"}).json()["count"] == 0


@pytest.mark.parametrize(
    ("query", "message"),
    [({"q": "x" * 501}, "limit is 500"), ({"colour": "red"}, "Unknown facet"), ({"page": "two"}, "whole number")],
)
def test_bad_input_answers_400_with_a_reason(catalog_index: dict[str, Any], query: dict[str, str], message: str) -> None:
    response = api().get("/api/v1/search", query)
    assert response.status_code == 400
    assert message in response.json()["error"]


@pytest.mark.parametrize("text", ['"orders', "orders)", "customer:orders AND", "*", "\\", "a/b[c]{d}~^!", "   "])
def test_query_syntax_characters_and_quotes_are_plain_text(catalog_index: dict[str, Any], text: str) -> None:
    response = api().get("/api/v1/search", {"q": text})
    assert response.status_code == 200
    if "orders" in text:
        assert response.json()["results"][0]["name"] == "customer_orders"


def test_a_page_beyond_the_end_is_empty_and_page_size_is_capped(catalog_index: dict[str, Any]) -> None:
    beyond = api().get("/api/v1/search", {"q": "", "page": 50}).json()
    assert beyond["results"] == [] and beyond["count"] == 3
    far = api().get("/api/v1/search", {"q": "", "page": 10_000, "page_size": 100}).json()
    assert far["results"] == [] and far["count"] == 3
    assert api().get("/api/v1/search", {"page_size": 1000}).json()["page_size"] == 100


def test_suggest_completes_any_word_of_a_name_within_the_role(catalog_index: dict[str, Any]) -> None:
    body = api().get("/api/v1/search/suggest", {"q": "ord"}).json()
    assert body == {"suggestions": [
        {"qualified_name": "sales_prepared.customer_orders", "name": "customer_orders", "database": "sales_prepared"},
    ]}
    assert api().get("/api/v1/search/suggest", {"q": "resul"}).json()["suggestions"][0]["name"] == "CampaignResults"
    assert api("marketing_consumer").get("/api/v1/search/suggest", {"q": "ord"}).json() == {"suggestions": []}
    assert api().get("/api/v1/search/suggest", {"q": ""}).json() == {"suggestions": []}


def test_search_needs_a_login(catalog_index: dict[str, Any]) -> None:
    response = APIClient().get("/api/v1/search", {"q": "orders"})

    # No credentials: 401 with the scheme to use (403 is for a signed-in role that may not).
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Bearer"


def test_opensearch_down_answers_503_json(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "OPENSEARCH_URL", f"http://127.0.0.1:{free_port()}")
    client = api()
    for path in ("/api/v1/search?q=orders", "/api/v1/search/suggest?q=ord"):
        response = client.get(path)
        assert response.status_code == 503
        assert "unavailable" in response.json()["error"]


def test_ties_go_to_recently_updated_then_more_used_tables(search: str) -> None:
    now = timezone.now()
    same = [("order_id", "bigint", "")]
    older = make_table("shop_a.orders", same, updated_at=now - timezone.timedelta(days=9), usage_count=50)
    newer = make_table("shop_b.orders", same, updated_at=now - timezone.timedelta(days=1))
    used = make_table("shop_c.orders", same, updated_at=now - timezone.timedelta(days=9), usage_count=99)
    index_tables([older.id, newer.id, used.id])
    names = [r["qualified_name"] for r in api().get("/api/v1/search", {"q": "orders"}).json()["results"]]
    assert names == ["shop_b.orders", "shop_c.orders", "shop_a.orders"]
