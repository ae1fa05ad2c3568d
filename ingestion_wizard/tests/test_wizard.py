"""The wizard: steps, errors next to fields, drafts that survive, passwords never stored."""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session

from ingestion_wizard.models import Draft, Pipeline
from ingestion_wizard.tests import sources
from portal import aws

pytestmark = pytest.mark.django_db


def step_url(draft, step):
    return f"/ingestion/drafts/{draft.pk}/{step}/"


def post(client, draft, step, data):
    body = {f"{step}-{k}": v for k, v in data.items()}
    body[f"ingestion_{draft.pk}-current_step"] = step
    return client.post(step_url(draft, step), body)


def start(client):
    response = client.post("/ingestion/new/")
    assert response.status_code == 302
    return Draft.objects.latest("pk")


def connection(**overrides):
    data = {"host": sources.PG_HOST, "port": sources.PG_PORT, "database": sources.SOURCE_DB,
            "user": "postgres", "password": sources.PG_PASSWORD}
    data.update(overrides)
    return data


def test_a_provider_walks_every_step_and_gets_a_pipeline(provider, pg_source, aws_endpoint, eager,
                                                         django_capture_on_commit_callbacks):
    draft = start(provider)
    assert post(provider, draft, "source", {"kind": "postgresql"}).status_code == 302
    assert post(provider, draft, "connection", connection()).status_code == 302

    page = provider.get(step_url(draft, "discovery")).content.decode()
    assert "sales.orders" in page and "created_at" in page
    response = post(provider, draft, "discovery", {"tables": ["sales.orders"], "inc:sales.orders": "created_at"})
    assert response.status_code == 302, response.content.decode()[:2000]

    response = post(provider, draft, "target", {"name": "Bad Name", "hub": "finance", "layer": "source",
                                                "database": "Finance-Raw", "classification": "internal",
                                                "partitioning": "load_date"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Name must be 2–100 lower-case letters" in page and "Database name must start" in page
    assert post(provider, draft, "target", {"name": "erp-orders", "hub": "finance", "layer": "source",
                                            "database": "finance_erp", "owner": "erp-team",
                                            "classification": "internal",
                                            "partitioning": "load_date"}).status_code == 302

    response = post(provider, draft, "schedule", {"mode": "cron", "cron": "0 25 * * *"})
    assert "the hour field &#x27;25&#x27; is not valid: use 0-23" in response.content.decode()
    assert post(provider, draft, "schedule", {"mode": "cron", "cron": "30 2 * * *"}).status_code == 302

    review = provider.get(step_url(draft, "review")).content.decode()
    assert "finance_erp" in review and "incremental on created_at" in review and "At 02:30" in review
    with django_capture_on_commit_callbacks(execute=True):
        response = post(provider, draft, "review", {"confirm": "on"})
        assert response["Location"] == step_url(draft, "finish")
        response = provider.get(response["Location"])
    assert response.status_code == 302
    pipeline = Pipeline.objects.get(name="erp-orders")
    assert response["Location"] == f"/ingestion/pipelines/{pipeline.pk}/"
    assert pipeline.status == "ready" and pipeline.schedule == "30 2 * * *"
    assert pipeline.tables == [{"schema": "sales", "name": "orders", "incremental_column": "created_at"}]
    assert pipeline.secret_arn.startswith("arn:aws:secretsmanager:")
    assert not Draft.objects.filter(pk=draft.pk).exists()
    page = provider.get(response["Location"]).content.decode()
    assert "Glue ETL script and job" in page and "succeeded" in page


def test_the_password_goes_to_secrets_manager_and_nowhere_else(provider, pg_source, aws_endpoint):
    draft = start(provider)
    post(provider, draft, "source", {"kind": "postgresql"})
    post(provider, draft, "connection", connection())
    draft.refresh_from_db()
    arn = draft.data["step_data"]["connection"]["connection-secret_arn"][0]
    assert arn.startswith("arn:aws:secretsmanager:")
    secret = aws.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
    assert sources.PG_PASSWORD in secret
    assert sources.PG_PASSWORD not in str(draft.data)
    for session in Session.objects.all():
        assert sources.PG_PASSWORD not in str(session.get_decoded())
    page = provider.get(step_url(draft, "connection")).content.decode()
    assert sources.PG_PASSWORD not in page and "leave empty to keep" in page


def test_a_draft_survives_leaving_and_coming_back(provider, client, pg_source, aws_endpoint):
    draft = start(provider)
    post(provider, draft, "source", {"kind": "mysql"})
    provider.logout()
    from portal.testing.personas import login_persona

    login_persona(client, "finance_provider")
    listing = client.get("/ingestion/").content.decode()
    assert f"/ingestion/drafts/{draft.pk}/" in listing
    response = client.get(f"/ingestion/drafts/{draft.pk}/")
    assert response["Location"] == step_url(draft, "connection")
    page = client.get(response["Location"]).content.decode()
    assert 'value="3306"' in page


def test_a_wrong_password_shows_a_refused_login_on_the_step(provider, mysql_source, aws_endpoint):
    draft = start(provider)
    post(provider, draft, "source", {"kind": "mysql"})
    response = post(provider, draft, "connection", {"host": sources.MY_HOST, "port": sources.MY_PORT,
                                                    "database": sources.SOURCE_DB, "user": sources.MY_USER,
                                                    "password": "wrong"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Could not connect: The database server refused the login" in page and "1045" not in page
    assert aws.client("secretsmanager").list_secrets()["SecretList"] == []


def test_test_connection_reports_the_server_version(provider, mysql_source, aws_endpoint):
    draft = start(provider)
    post(provider, draft, "source", {"kind": "mysql"})
    response = provider.post(f"/ingestion/drafts/{draft.pk}/test-connection/", {
        "connection-host": sources.MY_HOST, "connection-port": sources.MY_PORT,
        "connection-database": sources.SOURCE_DB, "connection-user": sources.MY_USER,
        "connection-password": sources.MY_PASSWORD})
    assert "Connected: 10." in response.content.decode() and "MariaDB" in response.content.decode()


def test_the_cron_preview_reads_the_expression_aloud(provider):
    page = provider.get("/ingestion/cron-preview/", {"schedule-cron": "0 6 * * 1-5"}).content.decode()
    assert "At 06:00, Monday through Friday (UTC)" in page and page.count(":00") >= 5
    page = provider.get("/ingestion/cron-preview/", {"schedule-cron": "0 6 *"}).content.decode()
    assert "Cron must have five fields" in page


def test_the_cron_preview_is_for_signed_in_users_only():
    from django.test import Client

    response = Client().get("/ingestion/cron-preview/", {"schedule-cron": "0 6 * * 1-5"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_consumers_do_not_get_the_wizard(client):
    from portal.testing.personas import login_persona

    login_persona(client, "finance_consumer")
    assert client.post("/ingestion/new/").status_code == 404
    assert client.get("/ingestion/").status_code == 404


def test_discarding_a_draft_deletes_the_secret_it_created(provider, pg_source, aws_endpoint):
    draft = start(provider)
    post(provider, draft, "source", {"kind": "postgresql"})
    post(provider, draft, "connection", connection())
    assert len(aws.client("secretsmanager").list_secrets()["SecretList"]) == 1
    provider.post(f"/ingestion/drafts/{draft.pk}/discard/")
    assert not Draft.objects.filter(pk=draft.pk).exists()
    assert aws.client("secretsmanager").list_secrets()["SecretList"] == []


def test_a_new_kinesis_stream_goes_through_the_stream_step(provider, aws_endpoint, eager,
                                                           django_capture_on_commit_callbacks):
    draft = start(provider)
    post(provider, draft, "source", {"kind": "kinesis"})
    assert provider.get(f"/ingestion/drafts/{draft.pk}/").headers["Location"] == step_url(draft, "stream")
    response = post(provider, draft, "stream", {"stream_name": "clicks", "shards": 1, "columns": "user_id long"})
    assert "Line 1: type must be one of" in response.content.decode()
    post(provider, draft, "stream", {"stream_name": "clicks", "shards": 1, "columns": "user_id bigint\nurl string"})
    post(provider, draft, "target", {"name": "web-clicks", "hub": "finance", "layer": "source",
                                     "database": "finance_web", "classification": "internal",
                                     "partitioning": "load_date"})
    post(provider, draft, "schedule", {"mode": "on_demand"})
    with django_capture_on_commit_callbacks(execute=True):
        post(provider, draft, "review", {"confirm": "on"})
        provider.get(step_url(draft, "finish"))
    pipeline = Pipeline.objects.get(name="web-clicks")
    assert (pipeline.source_kind, pipeline.stream_mode, pipeline.status) == ("kinesis", "new", "ready")
    assert pipeline.stream_columns == [{"name": "user_id", "type": "bigint"}, {"name": "url", "type": "string"}]
