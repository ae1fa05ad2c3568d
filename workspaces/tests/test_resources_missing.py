"""A workspace whose notebook vanished (the embedded mode's moto after a restart) is marked
"resources missing" by ``manage.py check_resources``; Re-create launches the same workspace again."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from portal import aws
from identity.models import AuditEvent
from workspaces import services
from workspaces.models import Workspace


def in_service(client) -> Workspace:
    launched = client.post("/api/v1/workspaces", {"datasets": ["finance_curated.invoices"],
                                                  "instance_type": "ml.t3.medium", "volume_gb": 20}, format="json")
    assert launched.status_code == 201, launched.content
    workspace = services.refresh_workspace(services.provision_workspace(launched.json()["id"]).pk)
    assert workspace.status == Workspace.Status.IN_SERVICE, workspace.status_reason
    return workspace


def forget_notebook(workspace: Workspace) -> None:
    """What a restart of the local AWS does to it."""
    sagemaker = aws.client("sagemaker")
    sagemaker.stop_notebook_instance(NotebookInstanceName=workspace.name)
    sagemaker.delete_notebook_instance(NotebookInstanceName=workspace.name)


def test_a_workspace_whose_notebook_is_gone_is_marked_and_recreated(aws_endpoint, lake, consumer,
                                                                    django_capture_on_commit_callbacks):
    workspace = in_service(consumer)
    call_command("check_resources")
    workspace.refresh_from_db()
    assert workspace.status == Workspace.Status.IN_SERVICE  # there: nothing marked

    forget_notebook(workspace)
    call_command("check_resources")

    workspace.refresh_from_db()
    assert workspace.status == Workspace.Status.RESOURCES_MISSING and "gone" in workspace.status_reason
    assert AuditEvent.objects.filter(action="workspace.resources_missing").count() == 1
    page = consumer.get(f"/workspaces/{workspace.pk}/").content.decode()
    assert "resources missing" in page and "Re-create" in page
    assert consumer.post(f"/api/v1/workspaces/{workspace.pk}/open").status_code == 409

    with django_capture_on_commit_callbacks() as enqueued:
        answer = consumer.post(f"/api/v1/workspaces/{workspace.pk}/recreate")
    assert answer.status_code == 202, answer.content
    assert answer.json()["status"] == Workspace.Status.PENDING and len(enqueued) == 1
    # What the enqueued provisioning and follow-up do on a worker.
    again = services.refresh_workspace(services.provision_workspace(workspace.pk).pk)
    assert again.status == Workspace.Status.IN_SERVICE and again.notebook_arn
    described = aws.client("sagemaker").describe_notebook_instance(NotebookInstanceName=workspace.name)
    assert described["NotebookInstanceStatus"] == "InService"
    assert AuditEvent.objects.filter(action="workspace.recreate").count() == 1


def test_only_a_workspace_with_missing_resources_can_be_recreated(aws_endpoint, lake, consumer):
    workspace = in_service(consumer)
    answer = consumer.post(f"/api/v1/workspaces/{workspace.pk}/recreate")
    assert answer.status_code == 409 and "missing" in answer.json()["error"]


@pytest.mark.django_db
def test_nothing_to_check_says_so(aws_endpoint, capsys):
    call_command("check_resources")
    assert "are there" in capsys.readouterr().out
