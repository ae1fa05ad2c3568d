"""View SQL is shown whole only to roles that may see every table it names.

The lake (moto Glue, mirrored by a full sync): finance_prepared.invoices is hub-only (finance);
finance_prepared.fx_rates and both views are public. The marketing consumer may see the views
but not invoices, so it gets their SQL with invoices and its columns masked; finance roles and
admins get it unchanged. Lineage is not affected (tested in lineage/).
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from catalog.services.sync import ensure_catalogs, full_sync
from catalog.tests import sync_glue as g
from catalog.view_sql import mask_view_sql
from lineage.sql import view_text
from portal.testing.personas import login_persona

REVENUE = "SELECT sum(invoices.amount) AS revenue, invoice_id FROM finance_prepared.invoices"
JOINED = ("SELECT f.currency, i.amount * f.rate AS eur FROM finance_prepared.invoices AS i "
          "JOIN finance_prepared.fx_rates AS f ON i.currency = f.currency -- reads invoices")


@pytest.fixture
def lake(aws_endpoint: str) -> None:
    g.create_database("finance_prepared", hub="finance", layer="prepared", visibility="hub")
    g.create_table("finance_prepared", "invoices", [("invoice_id", "bigint"), ("amount", "decimal(12,2)"),
                                                    ("currency", "string")])
    g.create_table("finance_prepared", "fx_rates", [("currency", "string"), ("rate", "double")],
                   visibility="public")
    g.create_database("finance_semantic", hub="finance", layer="semantic", visibility="public")
    g.create_view("finance_semantic", "revenue", REVENUE)
    g.create_view("finance_semantic", "revenue_eur", JOINED)
    run = full_sync(ensure_catalogs()[0])
    assert run.counts["tables_created"] == 4, run.warnings or run.error


def dataset(persona: str, name: str) -> dict:
    client = APIClient()
    login_persona(client, persona)
    response = client.get(f"/api/v1/datasets/{name}")
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.django_db
def test_a_role_that_cannot_see_a_table_gets_the_view_sql_with_its_names_masked(lake: None) -> None:
    body = dataset("marketing_consumer", "finance_semantic.revenue")

    assert body["view_sql_masked"] is True
    sql = body["view_sql"].lower()
    assert "invoices" not in sql and "finance_prepared" not in sql
    assert "amount" not in sql and "invoice_id" not in sql
    assert "hidden.hidden_table_1" in sql and "sum(hidden_table_1.hidden_column_1)" in sql.replace(" ", "")
    assert "as revenue" in sql


@pytest.mark.django_db
def test_visible_tables_and_shared_column_names_stay_readable(lake: None) -> None:
    sql = dataset("marketing_consumer", "finance_semantic.revenue_eur")["view_sql"].lower()

    assert "finance_prepared.fx_rates" in sql and "f.rate" in sql
    assert "invoices" not in sql and "amount" not in sql
    # currency is a column of fx_rates too: it reveals nothing about invoices.
    assert "i.currency = f.currency" in sql
    assert "reads invoices" not in sql  # comments are dropped


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["finance_consumer", "finance_steward", "admin"])
def test_roles_that_see_every_table_get_the_sql_unchanged(lake: None, persona: str) -> None:
    body = dataset(persona, "finance_semantic.revenue")

    assert body["view_sql_masked"] is False
    assert view_text(body["view_sql"]) == REVENUE


@pytest.mark.django_db
def test_the_dataset_page_masks_the_same_names(lake: None) -> None:
    client = APIClient()
    login_persona(client, "marketing_consumer")

    page = client.get("/datasets/finance_semantic.revenue")

    assert page.status_code == 200
    html = page.content.decode()
    assert "hidden_table_1" in html and 'data-testid="view-sql-masked"' in html
    assert "finance_prepared.invoices" not in html and "invoice_id" not in html


def test_masking_keeps_aliases_and_masks_qualifiers_and_ctes_reading_hidden_tables() -> None:
    sql = ("WITH recent AS (SELECT secret_col, id FROM hub.private WHERE dt > '2026') "
           "SELECT r.id, p.secret_col FROM recent r JOIN private p ON p.id = r.id")

    masked = mask_view_sql(sql, default_database="hub", hidden_tables={("hub", "private")},
                           hidden_columns={"secret_col"})

    assert masked is not None
    assert "private" not in masked and "secret_col" not in masked
    assert "hidden.hidden_table_1" in masked and masked.count("hidden_table_") == 2
    assert "recent" in masked and "p.hidden_column_1" in masked


def test_sql_that_cannot_be_parsed_is_not_returned() -> None:
    assert mask_view_sql("SELECT FROM WHERE (((", default_database="x", hidden_tables={("x", "y")},
                         hidden_columns=set()) is None
