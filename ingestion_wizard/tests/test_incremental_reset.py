"""A provider resets a pipeline's incremental loads: the Glue job bookmark and the local executor's
high-water marks are forgotten, so the next run loads every row again."""

from __future__ import annotations

import json

import pytest

from ingestion_wizard.models import Pipeline
from identity.models import AuditEvent

pytestmark = pytest.mark.django_db


def create(client, source, capture):
    body = {"name": "erp-orders", "hub": "finance", "source": source,
            "target": {"database": "finance_orders_inc", "layer": "source"}}
    with capture(execute=True):
        response = client.post("/api/v1/pipelines", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def run(client, pid, capture):
    with capture(execute=True):
        assert client.post(f"/api/v1/pipelines/{pid}/runs").status_code == 202
    return client.get(f"/api/v1/pipelines/{pid}/runs").json()["results"][0]


def test_after_a_reset_the_next_run_loads_every_row_again(
        provider, pg_source, aws_endpoint, eager, django_capture_on_commit_callbacks):
    pg_source["tables"] = [{"schema": "sales", "name": "orders", "incremental_column": "created_at"}]
    pid = create(provider, pg_source, django_capture_on_commit_callbacks)
    assert run(provider, pid, django_capture_on_commit_callbacks)["rows"] == 120
    assert run(provider, pid, django_capture_on_commit_callbacks)["rows"] == 0  # nothing newer

    response = provider.post(f"/api/v1/pipelines/{pid}/reset-incremental")
    assert response.status_code == 200, response.content
    assert Pipeline.objects.get(pk=pid).watermarks == {}
    assert AuditEvent.objects.filter(action="ingestion.pipeline.reset_incremental").count() == 1
    assert run(provider, pid, django_capture_on_commit_callbacks)["rows"] == 120


def test_a_pipeline_without_incremental_tables_has_nothing_to_reset(
        provider, pg_source, aws_endpoint, eager, django_capture_on_commit_callbacks):
    pid = create(provider, pg_source, django_capture_on_commit_callbacks)
    response = provider.post(f"/api/v1/pipelines/{pid}/reset-incremental")
    assert response.status_code == 409
    assert "no incremental table" in response.json()["error"]
