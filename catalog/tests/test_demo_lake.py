"""The demo lake against a real moto server: what the sync and the portal will find in Glue and S3."""

from __future__ import annotations

import base64
import io
import json

import pytest
from django.conf import settings
from django.core.management import call_command

from catalog.demo_lake import column_type, plan_lake, seed_demo_lake
from catalog.testing import make_glue_database, make_glue_table, seed_small_lake
from portal import aws

PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"


def _all_tables(glue, database: str) -> list[dict]:
    tables: list[dict] = []
    for page in glue.get_paginator("get_tables").paginate(DatabaseName=database):
        tables += page["TableList"]
    return tables


def _view_sql(table: dict) -> str:
    text = table["ViewOriginalText"]
    assert text.startswith("/* Presto View: ") and text.endswith(" */")
    return json.loads(base64.b64decode(text[len("/* Presto View: "):-3]))["originalSql"]


@pytest.fixture
def glue(aws_endpoint: str):
    return aws.client("glue")


def test_it_creates_a_database_per_hub_and_layer_with_the_portal_parameters(glue) -> None:
    seed_demo_lake(databases=12, tables_per_database=2, seed=1)

    databases = {d["Name"]: d for d in glue.get_databases()["DatabaseList"]}
    assert set(databases) == {f"{hub}_{layer}" for hub in ("finance", "marketing", "clinical", "claims")
                              for layer in ("source", "prepared", "semantic")}
    params = databases["clinical_semantic"]["Parameters"]
    assert params == {"hub": "clinical", "layer": "semantic", "visibility": "public"}
    assert databases["claims_source"]["Parameters"]["visibility"] == "hub"
    assert databases["finance_prepared"]["LocationUri"] == f"s3://{settings.LAKE_BUCKET}/finance/prepared/"


def test_tables_carry_real_names_typed_commented_columns_formats_and_classification(glue) -> None:
    seed_small_lake()

    source = {t["Name"]: t for t in _all_tables(glue, "finance_source")}
    invoice = source["billing__premium_invoice"]
    columns = {c["Name"]: c for c in invoice["StorageDescriptor"]["Columns"]}
    assert columns["premium_amount"]["Type"] == "decimal(18,2)"
    assert columns["due_date"]["Type"] == "date"
    assert columns["premium_amount"]["Comment"] == "Invoiced premium in USD."
    assert [k["Name"] for k in invoice["PartitionKeys"]] == ["ingest_date"]
    assert invoice["Parameters"]["owner"].endswith("@example.com")
    assert invoice["Parameters"]["classification"] == "confidential"  # it names members

    prepared = _all_tables(glue, "finance_prepared")
    assert {t["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"] for t in prepared} == {PARQUET_SERDE}
    risk = next(t for t in prepared if t["Name"] == "cms_hcc__patient_risk_scores")
    assert "risk score" in risk["Description"].lower()  # Tuva's own description
    assert all(t["Parameters"]["classification"] in ("public", "internal", "confidential", "strictly-confidential")
               for t in prepared)


def test_semantic_views_are_athena_views_selecting_from_their_real_upstream_tables(glue) -> None:
    plan = seed_small_lake()
    prepared = {t["Name"] for t in _all_tables(glue, "finance_prepared")}

    views = _all_tables(glue, "finance_semantic")
    assert views and all(v["TableType"] == "VIRTUAL_VIEW" for v in views)
    staging = next(v for v in views if v["Name"] == "semantic_layer__stg_cms_hcc__patient_risk_scores")
    sql = _view_sql(staging)
    # Tuva: semantic_layer__stg_cms_hcc__patient_risk_scores reads cms_hcc__patient_risk_scores.
    assert "FROM finance_prepared.cms_hcc__patient_risk_scores t0" in sql
    assert "cms_hcc__patient_risk_scores" in prepared
    assert staging["ViewExpandedText"] == "/* Presto View */"
    assert staging["StorageDescriptor"]["Columns"], "a view lists its columns like Athena does"
    planned = {t.qualified_name: t for t in plan.tables}
    for view in views:
        for upstream in planned[f"finance_semantic.{view['Name']}"].upstream:
            assert upstream in _view_sql(view)


def test_views_inside_the_prepared_layer_are_stored_as_plain_sql_like_spark_writes_them(glue) -> None:
    plan = plan_lake(databases=9, seed=2)  # clinical's prepared layer holds Tuva's dbt staging views
    view = next(t for t in plan.tables if t.layer == "prepared" and t.is_view)
    seed_demo_lake(databases=9, seed=2)

    stored = glue.get_table(DatabaseName=view.database, Name=view.name)["Table"]
    assert stored["TableType"] == "VIRTUAL_VIEW"
    assert stored["ViewOriginalText"] == stored["ViewExpandedText"] == view.view_sql
    assert f"FROM {view.upstream[0]} t0" in stored["ViewOriginalText"]
    assert "presto_view" not in stored["Parameters"]


def test_partitions_and_small_real_objects_are_in_s3(glue) -> None:
    seed_small_lake()
    s3 = aws.client("s3")

    partitions = glue.get_partitions(DatabaseName="finance_source", TableName="billing__capitation_payment")
    values = sorted(p["Values"][0] for p in partitions["Partitions"])
    assert len(values) >= 2
    location = partitions["Partitions"][0]["StorageDescriptor"]["Location"]
    assert location.startswith(f"s3://{settings.LAKE_BUCKET}/finance/source/billing__capitation_payment/ingest_date=")

    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=settings.LAKE_BUCKET)["Contents"]]
    parquet_key = next(k for k in keys if k.startswith("finance/prepared/") and k.endswith(".parquet"))
    import pyarrow.parquet as pq

    body = s3.get_object(Bucket=settings.LAKE_BUCKET, Key=parquet_key)["Body"].read()
    assert pq.read_table(io.BytesIO(body)).num_rows == 5


def test_reseeding_updates_in_place_and_the_same_seed_gives_the_same_lake(glue) -> None:
    first = seed_demo_lake(databases=3, tables_per_database=4, seed=5)
    again = seed_demo_lake(databases=3, tables_per_database=4, seed=5)

    assert (first.created, first.updated) == (12, 0)
    assert (again.created, again.updated) == (0, 12)
    assert len(_all_tables(glue, "finance_prepared")) == 4
    assert [t.__dict__ for t in plan_lake(3, 4, 5).tables] == [t.__dict__ for t in plan_lake(3, 4, 5).tables]
    assert [t.owner for t in plan_lake(12, None, 5).tables] != [t.owner for t in plan_lake(12, None, 6).tables]


def test_large_tables_per_database_are_padded_with_named_variants() -> None:
    plan = plan_lake(databases=14, tables_per_database=40, seed=3)

    assert len(plan.databases) == 14
    assert all(len(tables) == 40 for _, tables in plan.databases)
    names = [t.qualified_name for t in plan.tables]
    assert len(names) == len(set(names))
    assert any(name.startswith("marketing_source.crm__campaign__") for name in names)
    assert plan.databases[12][0].hub == "pharmacy"  # a fifth hub built from a base hub's models


def test_the_default_lake_holds_every_placed_model_with_views_in_the_semantic_layer() -> None:
    plan = plan_lake(seed=42)

    assert 200 <= len(plan.tables) <= 320
    semantic = [t for t in plan.tables if t.layer == "semantic"]
    assert semantic and all(t.is_view and t.upstream for t in semantic)
    # Pseudonymous semantic layer: direct identifiers stay in the hubs' own layers.
    assert not any(c.name in ("first_name", "social_security_number") for t in semantic for c in t.columns)


@pytest.mark.django_db
def test_the_command_seeds_and_reports_what_it_wrote(aws_endpoint: str, capsys) -> None:
    call_command("seed_demo_lake", "--databases", "2", "--tables-per-database", "3", "--seed", "9")

    out = capsys.readouterr().out
    assert "2 databases, 6 tables" in out
    # The lake's business glossary comes with it (issue 15), loaded once however often the lake is seeded.
    assert "Demo glossary: 30 terms added" in out
    call_command("seed_demo_lake", "--databases", "2", "--tables-per-database", "3", "--seed", "9")
    assert "0 terms added, 0 changed, 30 unchanged" in capsys.readouterr().out


def test_column_types_follow_tuva_naming_conventions() -> None:
    assert column_type("claim_start_date") == "date"
    assert column_type("ed_flag") == "int"
    assert column_type("paid_amount") == "decimal(18,2)"
    assert column_type("person_id") == "string"
    assert column_type("ingest_datetime") == "timestamp"
    assert column_type("normalized_risk_score") == "double"


def test_helpers_make_single_tables_and_views_with_portal_parameters(glue) -> None:
    make_glue_database("sales_prepared", hub="sales", layer="prepared")
    make_glue_table("sales_prepared", "orders", [("order_id", "string"), ("amount", "decimal(18,2)", "Total.")],
                    partition_keys=[("dt", "string")], partitions=[["2026-01-01"]], classification="confidential")
    make_glue_table("sales_prepared", "orders_v", [("order_id", "string")],
                    view_sql="SELECT order_id FROM sales_prepared.orders")

    table = glue.get_table(DatabaseName="sales_prepared", Name="orders")["Table"]
    assert table["Parameters"]["classification"] == "confidential"
    assert glue.get_partitions(DatabaseName="sales_prepared", TableName="orders")["Partitions"]
    view = glue.get_table(DatabaseName="sales_prepared", Name="orders_v")["Table"]
    assert view["TableType"] == "VIRTUAL_VIEW" and "sales_prepared.orders" in _view_sql(view)
