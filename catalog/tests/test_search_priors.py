"""Priors after text relevance (issue 15): layer, lineage (the table a staging view copies over the
view), usage and curation, each small and shown by ``?explain=1``.

Lineage is real: canonical lineage datasets of the catalog tables joined by edges, read at index
time in one query (catalog.search.priors.staging_copies).
"""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from catalog.search.indexer import index_tables
from catalog.search.priors import curation_completeness, is_staging, multiplier, prior_parts, staging_copies
from catalog.tests.search_support import make_table
from lineage.models import Dataset, Edge, Job
from portal.testing.personas import login_persona

pytestmark = pytest.mark.django_db


def test_each_prior_is_small_and_staging_names_read_as_staging() -> None:
    assert is_staging("stg_claims_pharmacy_claim") and is_staging("StgOrders") and not is_staging("stage_gate")
    curated = prior_parts({"name": "claims", "layer": "semantic", "usage_count": 10_000, "description": "x"},
                          [{"comment": "c"}], {"description": "y", "tags": ["gold"], "owner": "ana"},
                          copied_by_staging=True)
    assert curated == {"layer": 0.15, "lineage": 0.1, "usage": 0.1, "curation": 0.1}
    staging = prior_parts({"name": "stg_claims", "layer": "prepared"}, [], None, staging_copy=True)
    assert staging == {"layer": -0.15, "lineage": -0.1, "usage": 0.0, "curation": 0.0}
    assert multiplier(curated) == pytest.approx(1.45) and multiplier(staging) == pytest.approx(0.75)
    assert curation_completeness({}, [{"comment": ""}, {"comment": "x"}], None) == pytest.approx(0.1)


@pytest.fixture
def staged(search: str) -> dict[str, Any]:
    """source pharmacy_claim → stg_pharmacy_claim (a staging view) → prepared pharmacy_claim."""
    columns = [("claim_id", "string", "Claim"), ("paid_amount", "decimal(18,4)", "Paid")]
    tables = {
        "source": make_table("claims_source.pharmacy_claim", columns, layer="source",
                             description="Pharmacy claims as the payer sends them."),
        "staging": make_table("claims_prepared.stg_pharmacy_claim", columns, table_type="VIRTUAL_VIEW",
                              description="Pharmacy claims, renamed for the core model."),
        "core": make_table("claims_prepared.pharmacy_claim", columns, usage_count=40,
                           description="Pharmacy claims, one row per claim line."),
    }
    datasets = {key: Dataset.objects.create(namespace="glue", name=t.qualified_name, table=t) for key, t in tables.items()}
    job = Job.objects.create(namespace="dbt", name="core")
    Edge.objects.create(source=datasets["source"], target=datasets["staging"], job=job)
    Edge.objects.create(source=datasets["staging"], target=datasets["core"], job=job)
    index_tables([t.id for t in tables.values()])
    return tables


def test_lineage_is_read_in_one_query_at_index_time(staged: dict[str, Any], django_assert_num_queries: Any) -> None:
    ids = [t.id for t in staged.values()]
    with django_assert_num_queries(1):
        copied, copies = staging_copies(ids)
    assert copied == {staged["source"].id} and copies == {staged["staging"].id}


def test_the_curated_table_then_the_copied_one_rank_above_the_staging_copy(staged: dict[str, Any]) -> None:
    client = APIClient()
    login_persona(client, "admin")
    results = client.get("/api/v1/search", {"q": "pharmacy claims", "explain": "1"}).json()["results"]
    assert [r["qualified_name"] for r in results] == [
        "claims_prepared.pharmacy_claim", "claims_source.pharmacy_claim", "claims_prepared.stg_pharmacy_claim"]
    priors = {r["name"] if r["layer"] != "source" else "source": r["explain"]["priors"] for r in results}
    assert priors["source"]["lineage"] == 0.1 and priors["stg_pharmacy_claim"]["lineage"] == -0.1
    assert priors["pharmacy_claim"]["layer"] == 0.1 and priors["pharmacy_claim"]["usage"] > 0
