"""The generated Glue script's logic runs in local PySpark against the real sources and writes what
the local executor writes: the same rows, the same partition layout, the same column types, and on
an incremental table only the rows past the last run's high-water mark (Glue's job bookmark)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from ingestion_wizard import executor
from ingestion_wizard.aws import provisioning
from ingestion_wizard.models import Pipeline
from ingestion_wizard.tests import sources, spark_job
from portal import aws

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 12, 3)


def provisioned(client: Any, source: dict, capture: Any, **target: str) -> Pipeline:
    body = {"name": "spark-check", "hub": "finance", "source": source,
            "target": {"database": "finance_spark_check", "layer": "source", **target}}
    with capture(execute=True):
        response = client.post("/api/v1/pipelines", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    pipeline = Pipeline.objects.get(pk=response.json()["id"])
    assert pipeline.status == "ready", pipeline.error
    return pipeline


def executor_run(p: Pipeline, run_id: int) -> executor.RunResult:
    """A local-executor run; the pipeline keeps its high-water marks as complete_run records them."""
    result = executor.run_local(p, run_id, lambda line: None, today=TODAY)
    p.watermarks.update({load.source: load.watermark for load in result.loads if load.watermark is not None})
    return result


def download(prefix: str, root: Path) -> None:
    s3 = aws.client("s3")
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=provisioning.bucket(), Prefix=prefix):
        for obj in page.get("Contents", []):
            if obj["Key"].endswith(".parquet"):
                (root / obj["Key"]).parent.mkdir(parents=True, exist_ok=True)
                s3.download_file(provisioning.bucket(), obj["Key"], str(root / obj["Key"]))


def layout(root: Path) -> dict[str, tuple[list[tuple[str, str]], list[tuple]]]:
    """{folder of Parquet files: ([(column, type)], sorted rows)} under ``root``."""
    found: dict[str, tuple[list[tuple[str, str]], list[tuple]]] = {}
    for folder in sorted({path.parent for path in root.rglob("*.parquet")}):
        table = pq.ParquetDataset(sorted(str(f) for f in folder.glob("*.parquet")), partitioning=None).read()
        columns = [(f.name, str(f.type)) for f in table.schema]
        rows = sorted((tuple(r.values()) for r in table.to_pylist()), key=repr)
        found[str(folder.relative_to(root))] = (columns, rows)
    return found


def test_the_job_writes_what_the_local_executor_writes_from_postgresql(
        provider, pg_source, aws_endpoint, eager, django_capture_on_commit_callbacks, spark, tmp_path):
    p = provisioned(provider, pg_source, django_capture_on_commit_callbacks)
    assert executor_run(p, 1).rows == 120
    download(p.raw_prefix, tmp_path / "executor")
    written = spark_job.run(spark, p, executor.connection_spec(p), tmp_path / "glue", TODAY.isoformat(), {})

    assert written == {"sales.orders": 120}
    by_executor = layout(tmp_path / "executor" / p.raw_prefix)
    by_job = layout(tmp_path / "glue" / p.raw_prefix)
    assert list(by_job) == ["orders/load_date=2026-12-03"]
    assert by_job == by_executor
    columns, rows = by_job["orders/load_date=2026-12-03"]
    assert columns == [("id", "int64"), ("customer", "string"), ("amount", "decimal128(38, 9)"),
                       ("active", "bool"), ("created_at", "timestamp[us, tz=UTC]")]
    assert len(rows) == 120


def test_an_unpartitioned_incremental_mariadb_table_loads_only_new_rows_on_both_paths(
        provider, mysql_source, aws_endpoint, eager, django_capture_on_commit_callbacks, spark, tmp_path):
    mysql_source["tables"] = [{"schema": sources.SOURCE_DB, "name": "customers", "incremental_column": "updated_at"}]
    p = provisioned(provider, mysql_source, django_capture_on_commit_callbacks, partitioning="none")
    spec = executor.connection_spec(p)
    bookmarks: dict[str, str] = {}
    assert executor_run(p, 1).rows == 50
    assert spark_job.run(spark, p, spec, tmp_path / "glue", TODAY.isoformat(), bookmarks) == {
        f"{sources.SOURCE_DB}.customers": 50}

    conn = sources.my_admin(sources.SOURCE_DB)
    try:
        with conn.cursor() as cur:
            cur.execute("insert into customers values (900, 'late', 1.5, '2026-04-01 08:00:00', "
                        "'2026-04-02 09:30:00'), (901, 'later', 2.5, null, '2026-04-03 10:00:00')")
    finally:
        conn.close()
    assert executor_run(p, 2).rows == 2
    assert spark_job.run(spark, p, spec, tmp_path / "glue", TODAY.isoformat(), bookmarks) == {
        f"{sources.SOURCE_DB}.customers": 2}
    assert bookmarks == {f"{sources.SOURCE_DB}.customers": "2026-04-03 10:00:00"}

    download(p.raw_prefix, tmp_path / "executor")
    by_executor = layout(tmp_path / "executor" / p.raw_prefix)
    by_job = layout(tmp_path / "glue" / p.raw_prefix)
    assert list(by_job) == ["customers"]  # no partition folder: the provider chose none
    assert by_job == by_executor
    assert len(by_job["customers"][1]) == 52
