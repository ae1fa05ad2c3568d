"""Workspace transitions hold a lease (workspaces.leasing): a worker lost in the middle of one
(its lease free for longer than a live transition allows) is replaced by the next worker, which
finishes the transition without making anything twice; a live lease keeps every other worker off.
The lost worker is played by its traces (what it made, its lapsed lease); moto plays AWS."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from portal import aws
from portal.celery import app
from identity.models import AuditEvent
from identity.roles import Role
from workspaces import leasing, services, tasks
from workspaces.models import Workspace

FINANCE = Role("consumer", "finance")
LONG_AGO = timedelta(hours=1)


@pytest.fixture
def eager() -> Iterator[None]:
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = False


def launch(client, *, emr: bool = False) -> Workspace:
    response = client.post("/api/v1/workspaces", {"datasets": ["shared.fx_rates"], "instance_type": "ml.t3.medium",
                                                  "volume_gb": 20, "emr": emr}, format="json")
    assert response.status_code == 201, response.content
    return Workspace.objects.get(pk=response.json()["id"])


def live_clusters(name: str) -> list[dict]:
    emr = aws.client_for_user("emr", FINANCE, "finance_consumer")
    return [c for c in emr.list_clusters(ClusterStates=["STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING"])["Clusters"]
            if c["Name"] == name]


def test_a_provisioning_whose_worker_was_lost_is_finished_by_the_next_without_a_second_cluster(
        aws_endpoint, lake, consumer, eager, django_capture_on_commit_callbacks):
    workspace = launch(consumer, emr=True)
    # The lost worker started the EMR cluster and died before recording it; its lease lapsed long ago.
    emr = aws.client_for_user("emr", FINANCE, "finance_consumer")
    started = emr.run_job_flow(**services._emr_cluster_spec(workspace))["JobFlowId"]
    Workspace.objects.filter(pk=workspace.pk).update(lease_expires_at=timezone.now() - LONG_AGO)

    with django_capture_on_commit_callbacks(execute=True):
        assert leasing.resume_stalled() == [workspace.pk]
    workspace.refresh_from_db()
    assert workspace.notebook_arn and workspace.status in ("pending", "in_service"), workspace.status_reason
    assert workspace.emr_cluster_id == started
    assert [c["Id"] for c in live_clusters(f"{workspace.name}-spark")] == [started]
    assert AuditEvent.objects.filter(action="workspace.resumed", target=f"workspace:{workspace.pk}").count() == 1
    # Released, not held: the next poll (or sweep) can claim it.
    assert workspace.lease_expires_at <= timezone.now()


def test_a_transition_under_a_live_lease_is_left_to_its_worker(aws_endpoint, lake, consumer, eager,
                                                              django_capture_on_commit_callbacks):
    workspace = launch(consumer)
    Workspace.objects.filter(pk=workspace.pk).update(lease_expires_at=timezone.now() + timedelta(seconds=60))

    assert tasks.provision_workspace.delay(workspace.pk).get() == "busy"
    assert tasks.follow_workspace.delay(workspace.pk).get() == "busy"
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert leasing.resume_stalled() == []
    assert callbacks == []
    workspace.refresh_from_db()
    assert workspace.notebook_arn == "" and workspace.status == "pending"
    sagemaker = aws.client_for_user("sagemaker", FINANCE, "finance_consumer")
    assert sagemaker.list_notebook_instances()["NotebookInstances"] == []


def test_a_transition_just_handed_to_the_queue_is_not_taken_for_lost(aws_endpoint, lake, consumer):
    workspace = launch(consumer)
    assert workspace.lease_expires_at is not None  # the launch started the stall clock
    assert leasing.resume_stalled() == []


def test_a_delete_whose_worker_was_lost_is_finished_by_the_next(aws_endpoint, lake, consumer, eager,
                                                                 django_capture_on_commit_callbacks):
    workspace = launch(consumer)
    services.provision_workspace(workspace.pk)
    with django_capture_on_commit_callbacks(execute=False):  # the teardown task is lost with its worker
        assert consumer.delete(f"/api/v1/workspaces/{workspace.pk}").status_code == 202
    Workspace.objects.filter(pk=workspace.pk).update(lease_expires_at=timezone.now() - LONG_AGO)

    with django_capture_on_commit_callbacks(execute=True):
        assert leasing.resume_stalled() == [workspace.pk]
    workspace.refresh_from_db()
    assert workspace.status == "deleted", workspace.status_reason
    sagemaker = aws.client_for_user("sagemaker", FINANCE, "finance_consumer")
    assert sagemaker.list_notebook_instances()["NotebookInstances"] == []
