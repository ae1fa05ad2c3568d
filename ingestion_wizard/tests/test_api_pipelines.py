"""Creating pipelines through the API: provisioned in moto, runs load real source rows."""

from __future__ import annotations

import io
import json

import pyarrow.parquet as pq
import pytest

from ingestion_wizard import services
from ingestion_wizard.models import Pipeline, ProvisioningStep
from ingestion_wizard.tests.sources import SOURCE_DB
from portal import aws
from portal.testing.personas import login_persona

pytestmark = pytest.mark.django_db


def body(source, database="finance_orders_raw", schedule=None, **extra):
    return {"name": "erp-orders", "hub": "finance", "source": source,
            "target": {"database": database, "layer": "source"}, "schedule": schedule, **extra}


def create(client, data, capture):
    with capture(execute=True):
        return client.post("/api/v1/pipelines", data=json.dumps(data), content_type="application/json")


def test_a_provider_creates_a_postgres_pipeline_and_every_step_is_provisioned(
        provider, pg_source, aws_endpoint, eager, django_capture_on_commit_callbacks):
    response = create(provider, body(pg_source, schedule="0 2 * * *"), django_capture_on_commit_callbacks)
    assert response.status_code == 201, response.content
    assert set(response.json()) == {"id", "status"}
    pid = response.json()["id"]

    prov = provider.get(f"/api/v1/pipelines/{pid}/provisioning").json()
    assert prov["status"] == "ready", prov
    assert [s["key"] for s in prov["steps"]] == [
        "secret", "s3_prefix", "glue_database", "glue_connection", "glue_job", "monitoring", "sns_topic"]
    assert all(s["status"] == "succeeded" and s["resource"] for s in prov["steps"])

    glue = aws.client("glue")
    assert glue.get_database(Name="finance_orders_raw")["Database"]["Parameters"]["hub"] == "finance"
    conn = glue.get_connection(Name="datahub-finance_orders_raw")["Connection"]
    assert conn["ConnectionProperties"]["JDBC_CONNECTION_URL"].startswith("jdbc:postgresql://127.0.0.1:5432/")
    assert conn["ConnectionProperties"]["SECRET_ID"].startswith("arn:aws:secretsmanager:")
    job = glue.get_job(JobName="datahub-ingest-finance_orders_raw")["Job"]
    script = aws.client("s3").get_object(Bucket="datahub-lake", Key=job["Command"]["ScriptLocation"].split("/", 3)[3])
    assert "sales.orders" in script["Body"].read().decode()
    policy = json.loads(aws.client("s3").get_bucket_policy(Bucket="datahub-lake")["Policy"])
    assert any(s["Resource"] == "arn:aws:s3:::datahub-lake/finance/source/finance_orders_raw/*"
               for s in policy["Statement"])

    pipeline = Pipeline.objects.get(pk=pid)
    assert pipeline.periodic_task.crontab.hour == "2" and pipeline.periodic_task.enabled
    detail = provider.get(f"/api/v1/pipelines/{pid}").json()
    assert detail["status"] == "ready" and detail["schedule"] == "0 2 * * *"


def test_run_now_loads_the_table_into_parquet_partitioned_by_load_date(
        provider, pg_source, aws_endpoint, eager, django_capture_on_commit_callbacks):
    pid = create(provider, body(pg_source), django_capture_on_commit_callbacks).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        response = provider.post(f"/api/v1/pipelines/{pid}/runs")
    assert response.status_code == 202, response.content
    runs = provider.get(f"/api/v1/pipelines/{pid}/runs").json()["results"]
    assert len(runs) == 1
    run = runs[0]
    assert set(run) >= {"id", "status", "rows", "bytes", "started_at", "finished_at", "error"}
    assert run["status"] == "succeeded", run["error"]
    assert run["rows"] == 120 and run["bytes"] > 0

    s3 = aws.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="datahub-lake", Prefix="finance/source/")["Contents"]]
    data_keys = [k for k in keys if k.endswith(".parquet")]
    assert len(data_keys) == 1 and "/orders/load_date=" in data_keys[0]
    table = pq.read_table(io.BytesIO(s3.get_object(Bucket="datahub-lake", Key=data_keys[0])["Body"].read()))
    assert table.num_rows == 120
    assert table.column_names == ["id", "customer", "amount", "active", "created_at"]
    assert sorted(table.column("id").to_pylist())[:3] == [1, 2, 3]

    glue = aws.client("glue")
    gt = glue.get_table(DatabaseName="finance_orders_raw", Name="orders")["Table"]
    assert [c["Name"] for c in gt["StorageDescriptor"]["Columns"]] == ["id", "customer", "amount", "active",
                                                                       "created_at"]
    assert gt["PartitionKeys"] == [{"Name": "load_date", "Type": "string"}]
    parts = glue.get_partitions(DatabaseName="finance_orders_raw", TableName="orders")["Partitions"]
    assert [p["Values"][0] for p in parts] == [run["partition"].split("=")[1]]

    from catalog.models import Table

    mirrored = Table.objects.get(database_name="finance_orders_raw", name="orders")
    assert mirrored.hub == "finance" and mirrored.columns.count() == 6

    from lineage.models import Edge

    edge = Edge.objects.select_related("source", "target").get(target__name="table/finance_orders_raw/orders")
    assert (edge.source.namespace, edge.source.name) == ("postgres://127.0.0.1:5432", f"{SOURCE_DB}.sales.orders")
    assert edge.target.namespace == "arn:aws:glue:eu-central-1:123456789012"
    log = provider.get(f"/api/v1/pipelines/{pid}/runs/{run['id']}").json()["log"]
    assert "lineage: done" in log and "new-data notification: done" in log and "Warning" not in log


def test_a_mysql_source_loads_through_the_same_path(
        provider, mysql_source, aws_endpoint, eager, django_capture_on_commit_callbacks):
    pid = create(provider, body(mysql_source, database="finance_customers"),
                 django_capture_on_commit_callbacks).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        provider.post(f"/api/v1/pipelines/{pid}/runs")
    run = provider.get(f"/api/v1/pipelines/{pid}/runs").json()["results"][0]
    assert run["status"] == "succeeded", run["error"]
    assert run["rows"] == 50
    columns = aws.client("glue").get_table(DatabaseName="finance_customers", Name="customers")["Table"][
        "StorageDescriptor"]["Columns"]
    assert {c["Name"]: c["Type"] for c in columns}["joined"] == "timestamp"


def test_a_wrong_password_is_refused_as_a_refused_login(provider, mysql_source, aws_endpoint):
    mysql_source["password"] = "not-the-password"
    response = provider.post("/api/v1/pipelines", data=json.dumps(body(mysql_source)),
                             content_type="application/json")
    assert response.status_code == 400
    # The database answered: the provider learns the login failed (nothing about the network).
    assert response.json()["error"] == services.LOGIN_FAILED
    assert not Pipeline.objects.exists()
    assert aws.client("secretsmanager").list_secrets()["SecretList"] == []


def test_an_unreachable_source_is_refused_with_the_one_connect_message(provider, pg_source, aws_endpoint):
    pg_source["port"] = 1
    response = provider.post("/api/v1/pipelines", data=json.dumps(body(pg_source)), content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == services.CONNECT_FAILED
    assert response.json()["detail"] == {"source.host": [services.CONNECT_FAILED]}


def test_invalid_input_is_named_field_by_field(provider, pg_source, aws_endpoint):
    data = body(pg_source, database="Bad-Name", schedule="every day")
    data["source"]["tables"] = ["sales.orders; drop table x"]
    response = provider.post("/api/v1/pipelines", data=json.dumps(data), content_type="application/json")
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "target.database" in detail and "schedule" in detail and "source" in " ".join(detail)
    assert pg_source["password"] not in response.content.decode()


def test_a_database_name_taken_in_glue_is_a_collision(provider, pg_source, aws_endpoint):
    aws.client("glue").create_database(DatabaseInput={"Name": "finance_orders_raw"})
    response = provider.post("/api/v1/pipelines", data=json.dumps(body(pg_source)), content_type="application/json")
    assert response.status_code == 409
    assert "already exists in the Glue catalog" in response.json()["error"]


def test_a_table_not_in_the_source_is_refused(provider, pg_source, aws_endpoint):
    pg_source["tables"] = ["sales.nope"]
    response = provider.post("/api/v1/pipelines", data=json.dumps(body(pg_source)), content_type="application/json")
    assert response.status_code == 400 and "sales.nope" in response.json()["error"]


def test_providers_of_other_hubs_and_consumers_cannot_create_or_see(client, pg_source, aws_endpoint):
    login_persona(client, "finance_consumer")
    response = client.post("/api/v1/pipelines", data=json.dumps(body(pg_source)), content_type="application/json")
    assert response.status_code == 403
    login_persona(client, "finance_provider")
    data = body(pg_source)
    data["hub"] = "marketing"
    response = client.post("/api/v1/pipelines", data=json.dumps(data), content_type="application/json")
    assert response.status_code == 400 and "marketing" in response.json()["error"]


def test_a_table_that_disappears_before_the_run_fails_the_run_with_its_name(
        provider, pg_source, aws_endpoint, eager, django_capture_on_commit_callbacks):
    from ingestion_wizard.tests import sources

    sources.reset_pg_orders(10, table="returns")
    pg_source["tables"] = ["sales.returns"]
    pid = create(provider, body(pg_source), django_capture_on_commit_callbacks).json()["id"]
    sources.drop_pg_table("sales", "returns")
    with django_capture_on_commit_callbacks(execute=True):
        provider.post(f"/api/v1/pipelines/{pid}/runs")
    run = provider.get(f"/api/v1/pipelines/{pid}/runs").json()["results"][0]
    assert run["status"] == "failed"
    assert run["error"] == "Table sales.returns no longer exists in the source database."


def test_schedule_pause_resume_and_delete_follow_the_pipeline(
        provider, pg_source, aws_endpoint, eager, django_capture_on_commit_callbacks):
    pid = create(provider, body(pg_source, schedule="*/15 * * * *"), django_capture_on_commit_callbacks).json()["id"]
    response = provider.patch(f"/api/v1/pipelines/{pid}", data=json.dumps({"schedule": "61 * * * *"}),
                              content_type="application/json")
    assert response.status_code == 400 and "schedule" in response.json()["detail"]
    response = provider.patch(f"/api/v1/pipelines/{pid}", data=json.dumps({"schedule": "30 4 * * 1"}),
                              content_type="application/json")
    assert response.json()["schedule"] == "30 4 * * 1"
    pipeline = Pipeline.objects.get(pk=pid)
    assert (pipeline.periodic_task.crontab.minute, pipeline.periodic_task.crontab.day_of_week) == ("30", "1")

    assert provider.post(f"/api/v1/pipelines/{pid}/pause").json()["status"] == "paused"
    pipeline.periodic_task.refresh_from_db()
    assert not pipeline.periodic_task.enabled
    assert provider.post(f"/api/v1/pipelines/{pid}/runs").status_code == 409
    assert provider.post(f"/api/v1/pipelines/{pid}/resume").json()["status"] == "ready"
    patch = provider.patch(f"/api/v1/pipelines/{pid}", data=json.dumps({"status": "paused"}),
                           content_type="application/json")
    assert patch.json()["status"] == "paused"
    patch = provider.patch(f"/api/v1/pipelines/{pid}", data=json.dumps({"status": "ready"}),
                           content_type="application/json")
    assert patch.json()["status"] == "ready"
    pipeline.periodic_task.refresh_from_db()
    assert pipeline.periodic_task.enabled

    with django_capture_on_commit_callbacks(execute=True):
        assert provider.delete(f"/api/v1/pipelines/{pid}").status_code == 202
    assert not Pipeline.objects.filter(pk=pid).exists()
    glue = aws.client("glue")
    assert glue.get_databases()["DatabaseList"] == []
    assert glue.get_jobs()["Jobs"] == []
    assert glue.get_connections()["ConnectionList"] == []
    assert aws.client("secretsmanager").list_secrets()["SecretList"] == []
    from django_celery_beat.models import PeriodicTask

    assert not PeriodicTask.objects.filter(name=f"ingestion-pipeline-{pid}").exists()
    assert ProvisioningStep.objects.filter(pipeline_id=pid).count() == 0


def test_an_incremental_column_loads_only_new_rows_on_the_next_run(
        provider, pg_source, aws_endpoint, eager, django_capture_on_commit_callbacks):
    pg_source["tables"] = [{"schema": "sales", "name": "orders", "incremental_column": "created_at"}]
    pid = create(provider, body(pg_source), django_capture_on_commit_callbacks).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        provider.post(f"/api/v1/pipelines/{pid}/runs")
    assert Pipeline.objects.get(pk=pid).watermarks == {"sales.orders": "2026-01-01T02:00:00+00:00"}

    from ingestion_wizard.tests import sources

    with sources.pg_admin(sources.SOURCE_DB) as conn:
        conn.execute("insert into sales.orders values (500, 'late', 10.5, true, '2026-01-02 00:00:00+00'), "
                     "(501, 'later', 11.25, false, '2026-01-03 00:00:00+00')")
    with django_capture_on_commit_callbacks(execute=True):
        provider.post(f"/api/v1/pipelines/{pid}/runs")
    runs = provider.get(f"/api/v1/pipelines/{pid}/runs").json()["results"]
    assert [r["rows"] for r in runs] == [2, 120] and runs[0]["status"] == "succeeded", runs[0]["error"]
    s3 = aws.client("s3")
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="datahub-lake", Prefix="finance/")["Contents"]
                  if o["Key"].endswith(".parquet"))
    latest = pq.read_table(io.BytesIO(s3.get_object(Bucket="datahub-lake", Key=keys[-1])["Body"].read()))
    assert latest.column("customer").to_pylist() == ["late", "later"]
    assert [str(v) for v in latest.column("amount").to_pylist()] == ["10.500000000", "11.250000000"]
    assert str(latest.schema.field("created_at").type) == "timestamp[us, tz=UTC]"
