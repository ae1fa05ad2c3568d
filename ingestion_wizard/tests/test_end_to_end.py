"""A real Celery worker provisions a pipeline and runs it: the whole path, nothing inline."""

from __future__ import annotations

import json
import time

import pytest

from catalog.models import Table
from portal import aws


def wait_for(fetch, done, timeout=60.0):
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


@pytest.mark.django_db(transaction=True)
def test_a_worker_provisions_and_runs_a_mysql_pipeline(provider, mysql_source, aws_endpoint, celery_worker):
    body = {"name": "crm-customers", "hub": "finance", "source": mysql_source, "schedule": "0 3 * * *",
            "target": {"database": "finance_crm", "layer": "source"}}
    response = provider.post("/api/v1/pipelines", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 201, response.content
    pid = response.json()["id"]
    prov = wait_for(lambda: provider.get(f"/api/v1/pipelines/{pid}/provisioning").json(),
                    lambda p: p["status"] != "provisioning")
    assert prov["status"] == "ready", prov
    assert all(s["started_at"] and s["finished_at"] for s in prov["steps"])

    assert provider.post(f"/api/v1/pipelines/{pid}/runs").status_code == 202
    runs = wait_for(lambda: provider.get(f"/api/v1/pipelines/{pid}/runs").json()["results"],
                    lambda r: r and r[0]["status"] in ("succeeded", "failed"))
    assert runs[0]["status"] == "succeeded", runs[0]
    assert runs[0]["rows"] == 50 and runs[0]["finished_at"] >= runs[0]["started_at"]
    log = provider.get(f"/api/v1/pipelines/{pid}/runs/{runs[0]['id']}").json()["log"]
    assert "catalog refresh: done" in log, log
    assert Table.objects.live().filter(database_name="finance_crm", name="customers").exists()
    parts = aws.client("glue").get_partitions(DatabaseName="finance_crm", TableName="customers")["Partitions"]
    assert len(parts) == 1
