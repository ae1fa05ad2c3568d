"""The glossary in search: query-time expansion (no reindex), "via glossary" on hits, the term
facet, terms as suggestions, the term page; and suggested synonyms that change nothing until
a steward accepts them."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from catalog.search.indexer import index_tables
from catalog.tests.search_support import make_table
from glossary import suggestions
from glossary.models import SynonymSuggestion, Term
from portal.testing.personas import login_persona

pytestmark = pytest.mark.django_db


@pytest.fixture
def claims_index(search: str) -> dict[str, Any]:
    tables = {
        "pharmacy": make_table("claims_prepared.pharmacy_claim", [("ndc_code", "string", "National drug code"),
                                                                  ("paid_amount", "decimal(18,4)", "Paid")],
                               hub="finance", description="Drugs dispensed by a pharmacy and billed."),
        "medical": make_table("claims_prepared.medical_claim", [("claim_id", "string", "Claim")], hub="finance",
                              description="Professional and institutional claims."),
    }
    assert index_tables([t.id for t in tables.values()]) == 2
    return tables


def search(client: APIClient, **params: str) -> dict[str, Any]:
    response = client.get("/api/v1/search", params)
    assert response.status_code == 200, response.content
    return response.json()


def api(persona: str = "finance_steward") -> APIClient:
    client = APIClient()
    login_persona(client, persona)
    return client


def test_approving_a_terms_abbreviation_changes_results_without_a_reindex(claims_index: dict[str, Any]) -> None:
    steward = api()
    assert search(steward, q="rx")["results"] == []
    created = steward.post("/api/v1/glossary/terms", {"name": "Pharmacy claim", "synonyms": ["pharmacy"],
                                                      "abbreviations": ["rx"]}, format="json").json()
    assert search(steward, q="rx")["results"] == []  # a draft term expands nothing
    steward.patch(f"/api/v1/glossary/terms/{created['id']}", {"state": "approved"}, format="json")
    page = search(steward, q="rx")
    assert [r["qualified_name"] for r in page["results"]] == ["claims_prepared.pharmacy_claim"]
    assert page["results"][0]["via_glossary"] == ["pharmacy ← rx"]
    assert page["glossary"] == [{"term": "Pharmacy claim", "typed": "rx",
                                 "labels": ["pharmacy claim ← rx", "pharmacy ← rx"]}]
    steward.patch(f"/api/v1/glossary/terms/{created['id']}", {"state": "deprecated"}, format="json")
    assert search(steward, q="rx")["results"] == []


def test_linked_terms_make_a_facet_and_a_term_page_lists_datasets_and_columns(
        claims_index: dict[str, Any], django_capture_on_commit_callbacks: Any) -> None:
    steward = api()
    with django_capture_on_commit_callbacks(execute=True):  # the linked table is indexed again on commit
        term = steward.post("/api/v1/glossary/terms", {
            "name": "National drug code", "abbreviations": ["ndc"], "state": "approved",
            "datasets": ["claims_prepared.pharmacy_claim"], "columns": ["claims_prepared.pharmacy_claim.ndc_code"],
        }, format="json").json()
    facets = search(steward, q="claim")["facets"]["term"]
    assert facets == [{"value": "National drug code", "count": 1}]
    narrowed = search(steward, q="claim", term="National drug code")["results"]
    assert [r["name"] for r in narrowed] == ["pharmacy_claim"]
    page = Client()
    login_persona(page, "finance_consumer")
    html = page.get(f"/glossary/terms/{term['id']}/").content.decode()
    assert "claims_prepared.pharmacy_claim" in html and "<code>ndc_code</code>" in html
    login_persona(page, "marketing_consumer")  # the finance table is hub-only: not listed to marketing
    assert "claims_prepared.pharmacy_claim" not in page.get(f"/glossary/terms/{term['id']}/").content.decode()
    suggested = steward.get("/api/v1/search/suggest", {"q": "nd"}).json()["terms"]
    assert suggested == [{"term": "National drug code", "matched": "ndc", "id": str(term["id"])}]


def test_suggested_synonyms_come_from_the_catalog_and_apply_only_once_accepted(claims_index: dict[str, Any]) -> None:
    for i in range(3):
        make_table(f"claims_prepared.rx_fill_{i}", [(f"rx_{i}_id", "string", "The pharmacy fill")], hub="finance")
    assert suggestions.refresh_suggestions() >= 1
    offered = SynonymSuggestion.objects.get(short_form="rx", meaning="pharmacy")
    assert offered.evidence >= 3 and offered.status == "offered"
    steward = api()
    assert search(steward, q="rx pharmacy")["glossary"] == []  # offered, not applied
    assert api("finance_consumer").post(f"/api/v1/glossary/suggestions/{offered.pk}/accept").status_code == 403
    accepted = steward.post(f"/api/v1/glossary/suggestions/{offered.pk}/accept")
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    term = Term.objects.get(name="pharmacy")
    assert (term.abbreviations, term.state, term.owner_hub) == (["rx"], "draft", "finance")
    assert search(steward, q="rx")["glossary"] == []  # a draft term: still nothing until approved
    assert suggestions.refresh_suggestions() == 0  # decided pairs are never offered again
