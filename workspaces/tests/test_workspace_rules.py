"""Bad input is refused clearly, AWS failures end in `failed` with the reason, and only owners see workspaces."""

from __future__ import annotations

from datetime import timedelta

from django.test import override_settings
from django.utils import timezone

from portal import aws
from workspaces import services
from workspaces.models import Workspace
from workspaces.prices import DEFAULT_PRICES


def launch(client, datasets=("shared.fx_rates",), **extra):
    body = {"datasets": list(datasets), "instance_type": "ml.t3.medium", "volume_gb": 20, "emr": False, **extra}
    return client.post("/api/v1/workspaces", body, format="json")


def test_an_unknown_instance_type_is_refused_with_the_allowed_ones(lake, consumer):
    response = launch(consumer, instance_type="ml.x99.mega")
    assert response.status_code == 400
    assert "ml.x99.mega" in response.json()["error"] and "ml.t3.medium" in response.json()["error"]
    assert not Workspace.objects.exists()


def test_a_volume_outside_what_sagemaker_accepts_is_refused(lake, consumer):
    for bad in (2, 20000):
        response = launch(consumer, volume_gb=bad)
        assert response.status_code == 400 and "Volume" in response.json()["error"]
    assert launch(consumer, volume_gb="lots").status_code == 400


def test_an_unknown_dataset_is_not_found(lake, consumer):
    response = launch(consumer, datasets=["shared.fx_rates", "nowhere.nothing"])
    assert response.status_code == 404
    assert response.json()["error"] == "Dataset nowhere.nothing not found."


def test_a_dataset_outside_the_role_is_not_found_either(lake, marketing):
    response = launch(marketing, datasets=["finance_curated.invoices"])
    assert response.status_code == 404
    assert response.json()["error"] == "Dataset finance_curated.invoices not found."
    assert not Workspace.objects.exists()


@override_settings(WORKSPACE_QUOTA_PER_USER=2)
def test_the_quota_of_workspaces_per_user_is_enforced(lake, consumer, marketing):
    assert launch(consumer).status_code == 201
    assert launch(consumer).status_code == 201
    refused = launch(consumer)
    assert refused.status_code == 400 and "quota" in refused.json()["error"].lower()
    assert launch(marketing).status_code == 201  # the quota is per user


def test_only_consumers_and_admins_launch_workspaces(lake, client):
    from portal.testing.personas import login_persona

    login_persona(client, "finance_steward")
    response = client.post("/api/v1/workspaces", {"datasets": ["shared.fx_rates"]}, content_type="application/json")
    assert response.status_code == 403


def test_only_the_owner_or_an_admin_sees_a_workspace(lake, consumer, marketing, admin):
    workspace_id = launch(consumer).json()["id"]
    assert marketing.get(f"/api/v1/workspaces/{workspace_id}").status_code == 404
    assert marketing.post(f"/api/v1/workspaces/{workspace_id}/stop").status_code == 404
    assert marketing.delete(f"/api/v1/workspaces/{workspace_id}").status_code == 404
    assert marketing.get("/api/v1/workspaces").json()["results"] == []
    assert consumer.get(f"/api/v1/workspaces/{workspace_id}").json()["datasets"] == ["shared.fx_rates"]
    assert [w["id"] for w in admin.get("/api/v1/workspaces").json()["results"]] == [workspace_id]


@override_settings(WORKSPACE_PRICES={**DEFAULT_PRICES, "ml.g5.xlarge": 1.41})
def test_an_aws_refusal_leaves_the_workspace_failed_with_the_reason_and_delete_still_cleans_up(
        aws_endpoint, lake, consumer):
    # The portal's price table allows a type SageMaker (here moto) rejects: the launch fails in AWS.
    workspace_id = launch(consumer, datasets=["finance_curated.invoices"], instance_type="ml.g5.xlarge").json()["id"]

    workspace = services.provision_workspace(workspace_id)

    assert workspace.status == "failed"
    assert "Create the notebook instance" in workspace.status_reason and "ml.g5.xlarge" in workspace.status_reason
    body = consumer.get(f"/api/v1/workspaces/{workspace_id}").json()
    assert body["status"] == "failed" and body["status_reason"] == workspace.status_reason
    # The grant and lifecycle configuration made before the failure are still there ...
    assert aws.client("lakeformation").list_permissions()["PrincipalResourcePermissions"]

    assert consumer.delete(f"/api/v1/workspaces/{workspace_id}").status_code == 202
    assert services.teardown_workspace(workspace_id) is True

    # ... and delete removed them.
    assert Workspace.objects.get(pk=workspace_id).status == "deleted"
    assert aws.client("lakeformation").list_permissions()["PrincipalResourcePermissions"] == []


def test_deleting_one_workspace_keeps_grants_another_workspace_of_the_role_still_needs(aws_endpoint, lake, consumer):
    first = services.provision_workspace(launch(consumer, datasets=["shared.fx_rates"]).json()["id"])
    services.provision_workspace(launch(consumer, datasets=["shared.fx_rates", "finance_curated.invoices"]).json()["id"])
    services.refresh_workspace(first.pk)

    consumer.delete(f"/api/v1/workspaces/{first.pk}")
    assert services.teardown_workspace(first.pk) is True

    granted = {p["Resource"]["Table"]["Name"] for p in
               aws.client("lakeformation").list_permissions()["PrincipalResourcePermissions"]}
    assert granted == {"fx_rates", "invoices"}


def test_stopping_a_workspace_that_is_not_running_is_a_conflict(aws_endpoint, lake, consumer):
    workspace_id = launch(consumer).json()["id"]
    response = consumer.post(f"/api/v1/workspaces/{workspace_id}/start")
    assert response.status_code == 409 and "stopped" in response.json()["error"]


def test_idle_workspaces_are_stopped_and_active_ones_kept(aws_endpoint, lake, consumer):
    idle = services.refresh_workspace(services.provision_workspace(launch(consumer).json()["id"]).pk)
    active = services.refresh_workspace(services.provision_workspace(launch(consumer).json()["id"]).pk)
    assert idle.status == active.status == "in_service"
    Workspace.objects.filter(pk=idle.pk).update(last_activity_at=timezone.now() - timedelta(hours=5))

    assert services.stop_idle_workspaces() == [idle.pk]

    assert Workspace.objects.get(pk=idle.pk).status == "stopping"
    assert services.refresh_workspace(idle.pk).status == "stopped"
    assert Workspace.objects.get(pk=active.pk).status == "in_service"


@override_settings(WORKSPACE_QUOTA_PER_USER=10)
def test_listing_workspaces_costs_the_same_queries_for_one_or_many(lake, consumer, django_assert_max_num_queries):
    launch(consumer)
    with django_assert_max_num_queries(6) as one:
        assert consumer.get("/api/v1/workspaces").json()["count"] == 1
    queries_for_one = len(one.captured_queries)
    for _ in range(5):
        launch(consumer)
    with django_assert_max_num_queries(queries_for_one):
        assert consumer.get("/api/v1/workspaces").json()["count"] == 6


def test_with_aws_unreachable_actions_answer_503_and_provisioning_gives_up_with_the_reason(
        aws_endpoint, lake, consumer, settings):
    from workspaces import tasks

    workspace = services.refresh_workspace(services.provision_workspace(launch(consumer).json()["id"]).pk)
    pending_id = launch(consumer).json()["id"]
    settings.AWS_ENDPOINT_URL = "http://127.0.0.1:9"  # nothing listens there

    response = consumer.post(f"/api/v1/workspaces/{workspace.pk}/stop")
    assert response.status_code == 503 and "unavailable" in response.json()["error"]
    assert Workspace.objects.get(pk=workspace.pk).status == "in_service"  # nothing changed

    # The task retries transient faults; after the last retry the workspace fails with the reason.
    tasks.provision_workspace.apply((pending_id,), retries=tasks.MAX_TRANSIENT_RETRIES)
    failed = Workspace.objects.get(pk=pending_id)
    assert failed.status == "failed" and "unreachable" in failed.status_reason


def test_the_idle_stop_runs_on_the_beat_schedule(settings):
    from portal.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["workspaces-stop-idle"]
    app.loader.import_default_modules()
    assert entry["task"] in app.tasks


def test_an_idle_workspace_stopped_outside_the_portal_ends_up_stopped(aws_endpoint, lake, consumer):
    # Real SageMaker refuses to stop a stopped notebook (the portal then re-reads its state); moto
    # accepts it, so here the ordinary stop path runs. Either way the portal must not stay "in service".
    from identity.roles import Role

    workspace = services.refresh_workspace(services.provision_workspace(launch(consumer).json()["id"]).pk)
    aws.client_for_user("sagemaker", Role("consumer", "finance"), "finance_consumer").stop_notebook_instance(
        NotebookInstanceName=workspace.name)
    Workspace.objects.filter(pk=workspace.pk).update(last_activity_at=timezone.now() - timedelta(hours=5))

    services.stop_idle_workspaces()
    assert services.refresh_workspace(workspace.pk).status == "stopped"
