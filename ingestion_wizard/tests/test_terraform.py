"""The Terraform export parses as HCL and declares the same resources provisioning creates."""

from __future__ import annotations

import hcl2
import pytest

from ingestion_wizard import terraform
from ingestion_wizard.models import Pipeline

pytestmark = pytest.mark.django_db


def jdbc_pipeline(**overrides):
    fields = dict(name="erp-orders", hub="finance", source_kind="postgresql", host="db.internal", port=5432,
                  source_database="erp", source_user="etl", status="ready",
                  secret_arn="arn:aws:secretsmanager:eu-central-1:123456789012:secret:datahub/erp-AbCdEf",
                  tables=[{"schema": "sales", "name": "orders", "incremental_column": ""}],
                  target_database="finance_erp", schedule="30 2 * * 1-5")
    fields.update(overrides)
    return Pipeline.objects.create(**fields)


def resources(parsed, kind):
    """[(type, name, body)] of the ``resource`` or ``data`` blocks python-hcl2 parsed."""
    return [(type_, name, body) for block in parsed.get(kind, []) for type_, named in block.items()
            for name, body in named.items()]


def test_a_jdbc_pipeline_exports_its_resources_as_parsable_hcl():
    text = terraform.render(jdbc_pipeline())
    parsed = hcl2.loads(text)
    declared = {(t.strip('"'), n.strip('"')) for t, n, _ in resources(parsed, "resource")}
    assert declared == {
        ("aws_s3_object", "raw_prefix"), ("aws_iam_role_policy", "lake_access_0"),
        ("aws_iam_role_policy", "lake_access_1"), ("aws_iam_role_policy", "lake_access_2"),
        ("aws_glue_catalog_database", "target"),
        ("aws_glue_connection", "source"), ("aws_s3_object", "etl_script"), ("aws_glue_job", "ingest"),
        ("aws_glue_trigger", "schedule"), ("aws_sns_topic", "new_data_0")}
    data = {(t.strip('"'), n.strip('"')) for t, n, _ in resources(parsed, "data")}
    assert data == {("aws_secretsmanager_secret", "source")}
    body = {(t.strip('"'), n.strip('"')): b for t, n, b in resources(parsed, "resource")}
    assert body[("aws_glue_trigger", "schedule")]["schedule"].strip('"') == "cron(30 2 ? * 2-6 *)"
    assert body[("aws_glue_catalog_database", "target")]["name"].strip('"') == "finance_erp"
    assert "sales.orders" in body[("aws_s3_object", "etl_script")]["content"]
    assert body[("aws_sns_topic", "new_data_0")]["name"].strip('"') == "datahub-new-data-finance_erp--orders"
    assert "secret_string" not in text


def test_a_stream_pipeline_exports_kinesis_firehose_and_the_table():
    pipeline = jdbc_pipeline(source_kind="kinesis", host="", port=None, secret_arn="", tables=[],
                             stream_name="clicks", stream_mode="new", stream_shards=2, schedule="",
                             stream_columns=[{"name": "user_id", "type": "bigint"}, {"name": "url", "type": "string"}])
    parsed = hcl2.loads(terraform.render(pipeline))
    body = {(t.strip('"'), n.strip('"')): b for t, n, b in resources(parsed, "resource")}
    assert body[("aws_kinesis_stream", "source")]["shard_count"] == 2
    firehose = body[("aws_kinesis_firehose_delivery_stream", "to_lake")]
    assert firehose["destination"].strip('"') == "extended_s3"
    assert "load_date=!{timestamp:yyyy-MM-dd}" in firehose["extended_s3_configuration"][0]["prefix"]
    table = body[("aws_glue_catalog_table", "stream")]
    assert [c["name"].strip('"') for c in table["storage_descriptor"][0]["columns"]] == ["user_id", "url"]
    assert ("aws_glue_job", "ingest") not in body


@pytest.mark.parametrize("cron, expected", [
    ("0 2 * * *", "cron(0 2 * * ? *)"),
    ("*/15 * * * *", "cron(*/15 * * * ? *)"),
    ("0 6 * * 0", "cron(0 6 ? * 1 *)"),
    ("0 6 1 * *", "cron(0 6 1 * ? *)"),
])
def test_cron_becomes_aws_cron_with_one_question_mark(cron, expected):
    assert terraform.aws_cron(cron) == expected


def test_two_exports_never_own_the_lake_bucket_policy_and_grant_through_their_own_role_policies():
    texts = [terraform.render(jdbc_pipeline()),
             terraform.render(jdbc_pipeline(name="crm", target_database="finance_crm", schedule=""))]
    policies = []
    for text in texts:
        parsed = hcl2.loads(text)
        types = {t.strip('"') for t, _, _ in resources(parsed, "resource")}
        assert not types & {"aws_s3_bucket_policy", "aws_s3_bucket_ownership_controls"}
        policies.append({(b["role"].strip('"'), b["name"].strip('"')): b["policy"]
                         for t, _, b in resources(parsed, "resource") if t.strip('"') == "aws_iam_role_policy"})
    assert set(policies[0]) == {("datahub-provider-finance", "datahub-ingest-finance_erp"),
                                ("datahub-glue-finance", "datahub-ingest-finance_erp"),
                                ("datahub-consumer-finance", "datahub-ingest-finance_erp")}
    # One policy per role and pipeline: applying the second export adds policies, it replaces none.
    assert not set(policies[0]) & set(policies[1])
    consumer = policies[0][("datahub-consumer-finance", "datahub-ingest-finance_erp")]
    assert "arn:aws:s3:::datahub-lake/finance/source/finance_erp/*" in consumer
    assert "s3:PutObject" not in consumer
