"""A worker killed (SIGKILL, a real process) in the middle of provisioning: its step's lease
lapses, then a retry or the next worker resumes and completes, creating nothing twice.

The killed worker is ``manage.py provision_pipeline`` in a subprocess whose Glue job step
creates the job and then hangs (the worst moment: the resource exists, the step is not
recorded). Only loopback is involved: PostgreSQL, moto on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from ingestion_wizard.models import ProvisioningStep
from portal import aws
from portal.celery import app

REPO = Path(__file__).resolve().parents[2]
LEASE_SECONDS = 2

HANGING_WORKER = """
import dataclasses, sys, time
import django
django.setup()
from ingestion_wizard.aws import provisioning
real = provisioning.STEPS_BY_KEY["glue_job"]
def create_then_hang(pipeline):
    real.ensure(pipeline)  # the Glue job now exists ...
    print("created", flush=True)
    time.sleep(600)        # ... and the worker dies before the step is recorded
provisioning.STEPS_BY_KEY["glue_job"] = dataclasses.replace(real, ensure=create_then_hang)
from django.core.management import call_command
call_command("provision_pipeline", int(sys.argv[1]))
"""


def worker_env(aws_endpoint: str) -> dict[str, str]:
    db = connection.settings_dict  # the test database this test commits to
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return dict(os.environ, DATABASE_URL=url, AWS_ENDPOINT_URL=aws_endpoint,
                INGESTION_LEASE_SECONDS=str(LEASE_SECONDS), PYTHONUNBUFFERED="1")


def wait_for_line(proc: subprocess.Popen, text: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    seen = ""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 1)
        if ready:
            line = proc.stdout.readline()
            seen += line
            if text in line:
                return
            if not line and proc.poll() is not None:
                break
    proc.kill()
    raise AssertionError(f"worker never printed {text!r}; output: {seen} {proc.stderr.read()[-3000:]}")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("resume_by", ["retry", "next worker"])
def test_a_worker_killed_mid_step_is_resumed_and_creates_nothing_twice(provider, pg_source, aws_endpoint, eager,
                                                                      django_capture_on_commit_callbacks, settings,
                                                                      resume_by):
    settings.INGESTION_LEASE_SECONDS = LEASE_SECONDS
    app.conf.task_always_eager = False  # created without provisioning: the subprocess provisions
    response = provider.post("/api/v1/pipelines", data=json.dumps({
        "name": "killed", "hub": "finance", "source": pg_source,
        "target": {"database": "finance_killed", "layer": "source"}, "schedule": None}),
        content_type="application/json")
    assert response.status_code == 201, response.content
    app.control.purge()  # the chain enqueued on commit: no worker here, the subprocess does its work
    app.conf.task_always_eager = True
    pid = response.json()["id"]

    proc = subprocess.Popen([sys.executable, "-c", HANGING_WORKER, str(pid)], cwd=REPO, env=worker_env(aws_endpoint),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_line(proc, "created")
        time.sleep(LEASE_SECONDS)  # the worker keeps renewing its lease while it is alive
        step = ProvisioningStep.objects.get(pipeline_id=pid, key="glue_job")
        assert step.status == "running" and step.lease_expires_at is not None
        conflict = provider.post(f"/api/v1/pipelines/{pid}/retry")
        assert conflict.status_code == 409 and "glue_job" in conflict.json()["error"]
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    # Nobody renews the lease any more: it lapses within LEASE_SECONDS (bounded wait).
    deadline = time.monotonic() + LEASE_SECONDS + 10
    while ProvisioningStep.objects.get(pipeline_id=pid, key="glue_job").lease_expires_at > timezone.now():
        assert time.monotonic() < deadline, "the lease of a killed worker never lapsed"
        time.sleep(0.5)

    if resume_by == "retry":
        with django_capture_on_commit_callbacks(execute=True):
            response = provider.post(f"/api/v1/pipelines/{pid}/retry")
        assert response.status_code == 200, response.content
    else:
        done = subprocess.run([sys.executable, "manage.py", "provision_pipeline", str(pid)], cwd=REPO,
                              env=worker_env(aws_endpoint), capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stderr[-3000:]
        assert "glue_job: succeeded" in done.stdout and "secret: skipped" in done.stdout

    prov = provider.get(f"/api/v1/pipelines/{pid}/provisioning").json()
    assert prov["status"] == "ready", prov
    attempts = {s["key"]: s["attempts"] for s in prov["steps"]}
    assert attempts == {"secret": 1, "s3_prefix": 1, "glue_database": 1, "glue_connection": 1, "glue_job": 2,
                        "monitoring": 1, "sns_topic": 1}
    glue = aws.client("glue")
    assert [j for j in glue.get_jobs()["Jobs"] if j["Name"] == "datahub-ingest-finance_killed"] != []
    assert len([j for j in glue.get_jobs()["Jobs"] if j["Name"] == "datahub-ingest-finance_killed"]) == 1
    assert len(aws.client("secretsmanager").list_secrets()["SecretList"]) == 1
