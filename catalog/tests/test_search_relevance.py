"""Relevance on a realistic catalog: the Tuva Project's healthcare models (see catalog/fixtures/search_relevance).

Each case is a query users type and the dataset that must come first, or within the top 3.
The catalog is built once per module in the database and indexed into one osmem clone.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings

from catalog.models import GlueCatalog
from catalog.search.indexer import index_tables
from catalog.search.query import SearchRequest
from catalog.search.searcher import search as run_search
from catalog.search.searcher import suggest
from catalog.tests.search_support import load_relevance_catalog
from identity.roles import Role

ADMIN = Role("admin")
pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def relevance_index(django_db_setup: None, django_db_blocker: object, osmem: object) -> Iterator[None]:
    """The whole fixture catalog, in the database and in its own OpenSearch clone, for this module.

    Built once (about 4,000 columns) and removed again at the end of the module.
    """
    clone = osmem.clone()  # type: ignore[attr-defined]
    previous = settings.OPENSEARCH_URL
    settings.OPENSEARCH_URL = clone.url
    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        ids = load_relevance_catalog()
        try:
            index_tables(ids)
            yield
        finally:
            GlueCatalog.objects.filter(tables__id__in=ids).delete()
    settings.OPENSEARCH_URL = previous
    clone.close()


def top(query: str, n: int = 3) -> list[str]:
    return [r["qualified_name"] for r in run_search(SearchRequest(text=query, page_size=n), ADMIN)["results"]]


FIRST = [
    # The table whose qualified name equals the query comes first.
    ("core.patient", "core.patient"),
    ("input_layer.medical_claim", "input_layer.medical_claim"),
    ("Core.Eligibility", "core.eligibility"),
    # camelCase and kebab-case names read as words, however they are typed.
    ("customer orders", "crm_raw.CustomerOrders"),
    ("CustomerOrders", "crm_raw.CustomerOrders"),
    ("customerorders", "crm_raw.CustomerOrders"),
    ("customer_orders", "crm_raw.CustomerOrders"),
    ("page views", "web_events.page-views"),
    ("address history", "crm_raw.CustomerAddressHistory"),
    # Column-only queries find the table that has the column.
    ("rate_per_100_thousand", "ahrq_measures.pqi_rate"),
    ("approach rate", "ccsr.procedure_summary"),
    ("postal code", "crm_raw.CustomerAddressHistory"),
    ("ms drg", "readmissions.encounter"),
    # Names count more than descriptions.
    ("explanation of benefit", "fhir_preprocessing.explanation_of_benefit"),
    ("risk scores", "cms_hcc.patient_risk_scores"),
]

TOP_3 = [
    # Plural and singular match.
    ("medical claims", "core.medical_claim"),
    ("lab results", "core.lab_result"),
    ("member month", "core.member_months"),
    # One typo per word of five letters or more.
    ("pharmcy claim", "core.pharmacy_claim"),
    ("immunizaton", "core.immunization"),
    ("eligibilty", "core.eligibility"),
    ("chronic condtions wide", "chronic_conditions.cms_chronic_conditions_wide"),
    # Descriptions and column comments count.
    ("prescription drugs", "core.pharmacy_claim"),
    ("clickstream", "web_events.page-views"),
    ("gross amount", "crm_raw.CustomerOrders"),
]


@pytest.mark.parametrize(("query", "expected"), FIRST)
def test_the_expected_dataset_comes_first(relevance_index: None, query: str, expected: str) -> None:
    assert top(query, 1) == [expected], top(query, 5)


@pytest.mark.parametrize(("query", "expected"), TOP_3)
def test_the_expected_dataset_is_in_the_top_three(relevance_index: None, query: str, expected: str) -> None:
    assert expected in top(query, 3), top(query, 5)


def test_an_exact_table_name_outranks_names_that_only_contain_it(relevance_index: None) -> None:
    names = [q.split(".", 1)[1] for q in top("patient", 4)]
    assert names == ["patient"] * 4


def test_a_column_query_says_which_column_matched(relevance_index: None) -> None:
    first = run_search(SearchRequest(text="ms_drg_code"), ADMIN)["results"][0]
    assert first["matched_columns"][0]["name"] == "ms_drg_code"


def test_short_words_are_not_fuzzed_into_noise(relevance_index: None) -> None:
    assert top("lab", 3) and all("lab" in name for name in top("lab", 3))
    assert run_search(SearchRequest(text="zzqx"), ADMIN)["count"] == 0


def test_suggestions_complete_any_word_of_a_name(relevance_index: None) -> None:
    names = [s["qualified_name"] for s in suggest("immun", ADMIN)]
    assert "core.immunization" in names and len(names) <= 10
    assert [s["qualified_name"] for s in suggest("CustomerOrd", ADMIN)][0] == "crm_raw.CustomerOrders"
    assert "fhir_preprocessing.explanation_of_benefit" in [s["qualified_name"] for s in suggest("benef", ADMIN)]
    assert [s["qualified_name"] for s in suggest("core.pati", ADMIN)][0] == "core.patient"
