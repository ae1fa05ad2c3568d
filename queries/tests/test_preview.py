"""GET /api/v1/datasets/DB.TABLE/preview on the local engine: real Parquet/CSV/JSON objects of the demo
lake in moto S3, partitions from Glue, columns masked by Lake Formation grants."""

from __future__ import annotations

import pytest
from django.test import override_settings

from portal.testing.personas import PERSONAS
from queries.models import TableUsage
from queries.tests.conftest import grant_columns

pytestmark = pytest.mark.django_db

RISK = "finance_prepared.cms_hcc__patient_risk_scores"  # Parquet, finance hub-only
INVOICES = "finance_source.billing__premium_invoice"  # JSON lines, partitioned by ingest_date
PAYMENTS = "finance_source.billing__capitation_payment"  # CSV with a header, partitioned
CAMPAIGNS = "marketing_semantic.marketing__campaign_summary"  # public view over marketing's Parquet


@pytest.mark.parametrize("name", [RISK, INVOICES, PAYMENTS])
def test_it_previews_parquet_csv_and_json_objects(lake, consumer, name) -> None:
    response = consumer.get(f"/api/v1/datasets/{name}/preview?limit=3")

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"columns", "rows", "masked"}
    assert body["masked"] == []
    assert 1 <= len(body["rows"]) <= 3
    assert all(len(row) == len(body["columns"]) for row in body["rows"])
    first = dict(zip(body["columns"], body["rows"][0]))
    id_column = body["columns"][0]
    assert first[id_column] and first[id_column][:3].isupper()  # e.g. "INV927006", a real value from the object


def test_a_partition_narrows_the_preview_to_its_rows(lake, consumer) -> None:
    everything = consumer.get(f"/api/v1/datasets/{INVOICES}/preview").json()
    one = consumer.get(f"/api/v1/datasets/{INVOICES}/preview?partition=ingest_date=2026-11-01").json()

    dates = {row[everything["columns"].index("ingest_date")] for row in everything["rows"]}
    assert dates == {"2026-11-01", "2026-10-31"}  # the demo lake writes objects to the two newest partitions
    assert {row[one["columns"].index("ingest_date")] for row in one["rows"]} == {"2026-11-01"}
    assert len(one["rows"]) == len(everything["rows"]) // 2


def test_a_view_of_the_semantic_layer_is_previewed_from_its_glue_view_text(lake, marketing) -> None:
    body = marketing.get(f"/api/v1/datasets/{CAMPAIGNS}/preview").json()

    assert body["columns"][0] == "campaign_id" and body["rows"]
    assert body["rows"][0][0].startswith("CAM")


def test_columns_without_a_lake_formation_grant_are_masked(lake, consumer) -> None:
    grant_columns(PERSONAS["finance_consumer"], "finance_prepared", "cms_hcc__patient_risk_scores",
                  ["person_id", "v24_risk_score"])

    body = consumer.get(f"/api/v1/datasets/{RISK}/preview").json()

    assert "blended_risk_score" in body["masked"] and "person_id" not in body["masked"]
    person, blended = body["columns"].index("person_id"), body["columns"].index("blended_risk_score")
    assert all(row[blended] is None and row[person] for row in body["rows"])


def test_admins_read_every_column_whatever_the_grants(lake, admin) -> None:
    grant_columns(PERSONAS["finance_consumer"], "finance_prepared", "cms_hcc__patient_risk_scores", ["person_id"])

    assert admin.get(f"/api/v1/datasets/{RISK}/preview").json()["masked"] == []


def test_the_row_cap_bounds_a_preview(lake, consumer) -> None:
    with override_settings(QUERY_PREVIEW_MAX_ROWS=2):
        assert len(consumer.get(f"/api/v1/datasets/{INVOICES}/preview").json()["rows"]) == 2
        refused = consumer.get(f"/api/v1/datasets/{INVOICES}/preview?limit=50")
    assert refused.status_code == 400 and "limit must be between 1 and 2" in refused.json()["error"]


def test_a_dataset_outside_the_role_is_not_found(lake, marketing) -> None:
    assert marketing.get(f"/api/v1/datasets/{RISK}/preview").status_code == 404


def test_an_unknown_partition_key_is_a_clear_400(lake, consumer) -> None:
    response = consumer.get(f"/api/v1/datasets/{INVOICES}/preview?partition=year=2026")

    assert response.status_code == 400 and "ingest_date" in response.json()["error"]


def test_a_preview_records_who_read_which_table_under_which_role(lake, consumer) -> None:
    consumer.get(f"/api/v1/datasets/{RISK}/preview")

    record = TableUsage.objects.get()
    assert (record.table.qualified_name, record.user, record.role_key, record.kind) == (
        RISK, consumer.user, "consumer:finance", "preview")
    assert "person_id" in record.columns
