"""A real Celery worker follows a workspace from launch to delete, cleaning up everything it made."""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError

from portal import aws
from identity.models import AuditEvent
from identity.roles import Role
from workspaces.models import Workspace

FINANCE = Role("consumer", "finance")


def wait_for_status(client, workspace_id: int, wanted: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(f"/api/v1/workspaces/{workspace_id}").json()
        if body["status"] == wanted or time.monotonic() > deadline:
            assert body["status"] == wanted, body
            return body
        time.sleep(0.2)


@pytest.mark.django_db(transaction=True)
def test_a_workspace_goes_from_launch_to_in_service_to_stopped_and_back_then_is_deleted(
        aws_endpoint, celery_worker, lake, consumer):
    created = consumer.post("/api/v1/workspaces", {
        "datasets": ["finance_curated.invoices", "shared.fx_rates"], "instance_type": "ml.t3.medium",
        "volume_gb": 20, "emr": True,
    }, format="json")
    assert created.status_code == 201, created.content
    assert set(created.json()) >= {"id", "status"}
    workspace_id = created.json()["id"]

    body = wait_for_status(consumer, workspace_id, "in_service")
    assert body["notebook_url"].endswith(".notebook.eu-central-1.sagemaker.aws")

    opened = consumer.post(f"/api/v1/workspaces/{workspace_id}/open")
    # moto has no presigned notebook URLs, so the instance URL is the answer there.
    assert opened.json()["url"] == body["notebook_url"]

    assert consumer.post(f"/api/v1/workspaces/{workspace_id}/stop").status_code == 200
    wait_for_status(consumer, workspace_id, "stopped")
    assert consumer.post(f"/api/v1/workspaces/{workspace_id}/start").status_code == 200
    wait_for_status(consumer, workspace_id, "in_service")

    workspace = Workspace.objects.get(pk=workspace_id)
    assert consumer.delete(f"/api/v1/workspaces/{workspace_id}").status_code == 202
    wait_for_status(consumer, workspace_id, "deleted")

    sagemaker = aws.client_for_user("sagemaker", FINANCE, "finance_consumer")
    assert sagemaker.list_notebook_instances()["NotebookInstances"] == []
    with pytest.raises(ClientError):
        sagemaker.describe_notebook_instance_lifecycle_config(
            NotebookInstanceLifecycleConfigName=workspace.lifecycle_config_name)
    emr = aws.client_for_user("emr", FINANCE, "finance_consumer")
    assert emr.describe_cluster(ClusterId=workspace.emr_cluster_id)["Cluster"]["Status"]["State"] == "TERMINATED"
    assert aws.client("lakeformation").list_permissions()["PrincipalResourcePermissions"] == []
    assert consumer.get("/api/v1/workspaces").json()["results"] == []
    trail = AuditEvent.objects.filter(target=f"workspace:{workspace_id}")
    assert {"workspace.launch", "workspace.open", "workspace.stop", "workspace.start", "workspace.delete",
            "workspace.deleted"} <= set(trail.values_list("action", flat=True))
    assert trail.get(action="workspace.launch").username == "finance_consumer"
