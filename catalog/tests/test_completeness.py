"""Curation completeness per hub: the share of datasets with a description, an owner and documented columns,
with the list of what is missing, on the home page and the operations page.

Who sees what: finance roles see finance's hub-only datasets and public ones; the marketing dataset below is
hub-only, so finance never sees it counted.
"""

from __future__ import annotations

from typing import Any

import pytest

from catalog.completeness import completeness
from catalog.models import ColumnCuration, DatasetOwner, PropagationProposal
from catalog.tests.search_support import make_table
from identity.roles import Role
from portal.testing.personas import login_persona, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def hub() -> dict[str, Any]:
    """finance: one complete dataset, one without an owner, one whose column has no description."""
    complete = make_table("fin_prepared.orders", [("order_id", "bigint", "Order number")], description="Orders.",
                          owner="ana@example.com")
    unowned = make_table("fin_prepared.refunds", [("refund_id", "bigint", "Refund number")], description="Refunds.")
    undocumented = make_table("fin_prepared.invoices", [("invoice_id", "bigint", ""), ("total", "decimal", "Sum")],
                              description="Invoices.")
    DatasetOwner.objects.create(table=undocumented, kind="technical", user=make_user("bo"))
    make_table("mkt_semantic.costs", [("c", "int", "")], hub="marketing")
    return {"complete": complete, "unowned": unowned, "undocumented": undocumented}


def test_it_counts_descriptions_owners_and_documented_columns_per_hub(hub: dict[str, Any]) -> None:
    [finance] = completeness(Role("steward", "finance"))
    assert (finance.hub, finance.total, finance.described, finance.owned, finance.documented) == ("finance", 3, 3, 2, 2)
    assert finance.shares == {"description": 100, "owner": 67, "columns": 67, "complete": 33}
    assert finance.missing == [{"qualified_name": "fin_prepared.invoices", "missing": ["columns"]},
                               {"qualified_name": "fin_prepared.refunds", "missing": ["owner"]}]
    assert {r.hub for r in completeness(Role("admin"))} == {"finance", "marketing"}


@pytest.mark.parametrize("described_by", ["steward", "propagation"])
def test_a_curated_or_accepted_column_description_documents_the_column(hub: dict[str, Any], described_by: str) -> None:
    table = hub["undocumented"]
    if described_by == "steward":
        ColumnCuration.objects.create(table=table, column="invoice_id", description="Invoice number")
    else:
        PropagationProposal.objects.create(target_table=table, target_column="invoice_id", field="description",
                                           value="Invoice number", origin_table=hub["complete"], origin_column="order_id",
                                           status=PropagationProposal.Status.ACCEPTED)
    [finance] = completeness(Role("steward", "finance"))
    assert finance.documented == 3


def test_the_home_and_operations_pages_show_it_with_what_is_missing(hub: dict[str, Any], client: Any) -> None:
    login_persona(client, "finance_steward")
    for path in ("/", "/operations/"):
        page = client.get(path).content.decode()
        assert 'id="completeness"' in page, path
        assert "fin_prepared.refunds</a>: no owner" in page and "fin_prepared.invoices</a>: no columns" in page, path
        assert "mkt_semantic.costs" not in page
