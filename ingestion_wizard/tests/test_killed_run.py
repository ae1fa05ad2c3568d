"""A worker killed (SIGKILL, a real process) in the middle of a local run: the run's lease lapses,
then beat's sweep hands it to the next worker, which loads it once and ends it succeeded.

The killed worker is a subprocess that claims the run and hangs inside the load. Only loopback is
involved: PostgreSQL, moto on 127.0.0.1 (helpers shared with test_killed_worker.py).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from django.test import override_settings
from django.utils import timezone

from ingestion_wizard import services
from ingestion_wizard.models import Pipeline, PipelineRun
from ingestion_wizard.tests.test_killed_worker import LEASE_SECONDS, REPO, wait_for_line, worker_env
from identity.models import AuditEvent

HANGING_RUN = """
import sys, time
import django
django.setup()
from ingestion_wizard import executor, services
def hang(pipeline, run_id, log):
    print("loading", flush=True)
    time.sleep(600)  # the worker dies in the middle of the load
executor.run_local = hang
run = services.claim_run(int(sys.argv[1]))
assert run is not None
services.execute_local_run(run)
"""


@pytest.mark.django_db(transaction=True)
@override_settings(INGESTION_EXECUTOR="local")
def test_a_worker_killed_mid_run_is_replaced_and_the_run_succeeds(provider, pg_source, aws_endpoint, eager,
                                                                  settings):
    settings.INGESTION_LEASE_SECONDS = LEASE_SECONDS
    response = provider.post("/api/v1/pipelines", data=json.dumps({
        "name": "killed-run", "hub": "finance", "source": pg_source,
        "target": {"database": "finance_killed_run", "layer": "source"}, "schedule": None}),
        content_type="application/json")
    assert response.status_code == 201, response.content
    pipeline = Pipeline.objects.get(pk=response.json()["id"])
    assert pipeline.status == Pipeline.Status.READY
    run = PipelineRun.objects.create(pipeline=pipeline, trigger="api", executor="local")

    proc = subprocess.Popen([sys.executable, "-c", HANGING_RUN, str(run.pk)], cwd=REPO,
                            env=dict(worker_env(aws_endpoint), INGESTION_EXECUTOR="local"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_line(proc, "loading")
        time.sleep(LEASE_SECONDS)  # alive: it keeps renewing the lease, so nobody takes the run
        run.refresh_from_db()
        assert run.status == "running" and run.lease_expires_at > timezone.now()
        assert services.resume_stalled_runs() == []
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    deadline = time.monotonic() + LEASE_SECONDS + 10
    while PipelineRun.objects.get(pk=run.pk).lease_expires_at > timezone.now():
        assert time.monotonic() < deadline, "the lease of a killed worker never lapsed"
        time.sleep(0.5)

    assert services.resume_stalled_runs() == [run.pk]  # eager: the next worker runs it here
    run.refresh_from_db()
    assert run.status == "succeeded", run.error
    assert run.rows == 120  # loaded once, in full
    assert AuditEvent.objects.filter(action="ingestion.run.resumed", details__run=run.pk).count() == 1
