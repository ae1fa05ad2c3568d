"""A role lost reaches what was made with it (subscriptions paused, workspaces stopped and their Lake
Formation grants revoked, audited, the user told); a returning role resumes them; a token bound to one
role sees only that role's subscriptions, notifications and workspaces.

AWS is moto; the reconcile runs as the Celery task the group change enqueues (eagerly here).

Who: ``mia`` consumes finance and marketing (local account, Django groups as the IdP's).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from portal import aws
from identity.models import AuditEvent
from identity.roles import Role
from portal.testing.personas import bearer, make_user, token_for
from workspaces import services
from workspaces.models import Subscription, Workspace
from workspaces.notifications import publish_new_data
from workspaces.tests.test_subscriptions import make_queue

MARKETING = Role("consumer", "marketing")
FINANCE = Role("consumer", "finance")


@pytest.fixture
def eager() -> Iterator[None]:
    from portal.celery import app

    app.conf.task_always_eager = True  # the enqueued reconcile runs here, as a worker would run it
    try:
        yield
    finally:
        app.conf.task_always_eager = False


@pytest.fixture
def mia(db: None) -> object:
    user = make_user("mia", ["dh-finance-consumer", "dh-marketing-consumer"])
    user.set_password("pw-of-mia-123")
    user.save()
    return user


def api(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(**{"HTTP_AUTHORIZATION": bearer(secret)["HTTP_AUTHORIZATION"]})
    return client


def queue_messages(url: str) -> list[dict]:
    got = aws.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    return [json.loads(json.loads(m["Body"])["Message"]) for m in got.get("Messages", [])]


def granted_tables() -> set[str]:
    return {p["Resource"]["Table"]["Name"] for p in
            aws.client("lakeformation").list_permissions()["PrincipalResourcePermissions"]}


def set_marketing(user: object, held: bool, capture: object) -> None:
    group = Group.objects.get(name="dh-marketing-consumer")
    with capture(execute=True):  # commit: grants_changed → the reconcile task
        if held:
            user.groups.add(group)
        else:
            user.groups.remove(group)


def test_a_lost_role_pauses_and_stops_what_it_holds_and_a_returning_role_resumes_it(
        aws_endpoint, lake, mia, eager, django_capture_on_commit_callbacks, client):
    as_marketing = api(token_for("mia", MARKETING))
    as_finance = api(token_for("mia", FINANCE))
    marketing_queue, marketing_arn = make_queue("mia-marketing")
    finance_queue, finance_arn = make_queue("mia-finance")
    assert as_marketing.post("/api/v1/subscriptions", {"dataset": "marketing_raw.campaigns", "protocol": "sqs",
                                                       "endpoint": marketing_arn}, format="json").status_code == 201
    assert as_finance.post("/api/v1/subscriptions", {"dataset": "shared.fx_rates", "protocol": "sqs",
                                                     "endpoint": finance_arn}, format="json").status_code == 201
    launched = as_marketing.post("/api/v1/workspaces", {"datasets": ["marketing_raw.campaigns"],
                                                        "instance_type": "ml.t3.medium", "volume_gb": 20},
                                 format="json")
    workspace = services.refresh_workspace(services.provision_workspace(launched.json()["id"]).pk)
    assert workspace.status == "in_service" and granted_tables() == {"campaigns"}

    set_marketing(mia, False, django_capture_on_commit_callbacks)

    paused = Subscription.objects.get(role_key="consumer:marketing")
    assert paused.paused_at is not None and paused.subscription_arn == ""
    assert Subscription.objects.get(role_key="consumer:finance").paused_at is None
    publish_new_data("marketing_raw.campaigns", partition="day=1", rows=5, source="test")
    publish_new_data("shared.fx_rates", partition="day=1", rows=7, source="test")
    assert queue_messages(marketing_queue) == []  # nothing delivered while paused
    assert [m["dataset"] for m in queue_messages(finance_queue)] == ["shared.fx_rates"]

    workspace.refresh_from_db()
    assert workspace.suspended_at is not None and "consumer:marketing" in workspace.status_reason
    assert services.refresh_workspace(workspace.pk).status == "stopped"
    assert granted_tables() == set()  # its Lake Formation grant is revoked
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"subscription.paused", "workspace.suspended"} <= actions
    # The marketing token itself stops (401), and the owner is told at the next sign-in.
    assert as_marketing.get("/api/v1/subscriptions").status_code == 401
    signed_in = client.post("/accounts/login/", {"login": "mia", "password": "pw-of-mia-123"}, follow=True)
    assert "1 subscription(s) are paused and 1 workspace(s) stopped" in signed_in.content.decode()

    set_marketing(mia, True, django_capture_on_commit_callbacks)

    resumed = Subscription.objects.get(role_key="consumer:marketing")
    assert resumed.paused_at is None and resumed.subscription_arn.startswith("arn:")
    publish_new_data("marketing_raw.campaigns", partition="day=2", rows=6, source="test")
    assert [m["partition"] for m in queue_messages(marketing_queue)] == ["day=2"]
    workspace.refresh_from_db()
    assert workspace.suspended_at is None and granted_tables() == {"campaigns"}
    again = api(token_for("mia", MARKETING))
    assert again.post(f"/api/v1/workspaces/{workspace.pk}/start").status_code == 200
    assert {"subscription.resumed", "workspace.resumed"} <= set(AuditEvent.objects.values_list("action", flat=True))


def test_a_suspended_workspace_cannot_be_started(aws_endpoint, lake, mia, eager, django_capture_on_commit_callbacks):
    as_marketing = api(token_for("mia", MARKETING))
    launched = as_marketing.post("/api/v1/workspaces", {"datasets": ["marketing_raw.campaigns"],
                                                        "instance_type": "ml.t3.medium", "volume_gb": 20},
                                 format="json")
    workspace = services.refresh_workspace(services.provision_workspace(launched.json()["id"]).pk)
    set_marketing(mia, False, django_capture_on_commit_callbacks)
    services.refresh_workspace(workspace.pk)
    workspace.refresh_from_db()
    with pytest.raises(services.ActionConflict, match="no longer granted"):
        services.start_workspace(workspace, actor=mia, role=MARKETING)


def test_a_token_bound_to_one_role_sees_only_that_roles_subscriptions_notifications_and_workspaces(
        aws_endpoint, lake, mia):
    as_marketing = api(token_for("mia", MARKETING))
    as_finance = api(token_for("mia", FINANCE))
    as_marketing.post("/api/v1/subscriptions", {"dataset": "shared.fx_rates", "protocol": "email",
                                                "endpoint": "mia@example.com"}, format="json")
    as_finance.post("/api/v1/subscriptions", {"dataset": "finance_curated.invoices", "protocol": "email",
                                              "endpoint": "mia@example.com"}, format="json")
    as_finance.post("/api/v1/workspaces", {"datasets": ["finance_curated.invoices"], "instance_type": "ml.t3.medium",
                                           "volume_gb": 20}, format="json")
    publish_new_data("shared.fx_rates", partition="day=1", rows=1, source="test")
    publish_new_data("finance_curated.invoices", partition="day=1", rows=2, source="test")

    def datasets(client: APIClient, path: str, key: str = "dataset") -> list[str]:
        return sorted(row[key] for row in client.get(path).json()["results"])

    assert datasets(as_marketing, "/api/v1/subscriptions") == ["shared.fx_rates"]
    assert datasets(as_finance, "/api/v1/subscriptions") == ["finance_curated.invoices"]
    assert datasets(as_marketing, "/api/v1/notifications") == ["shared.fx_rates"]
    assert datasets(as_finance, "/api/v1/notifications") == ["finance_curated.invoices"]
    assert as_marketing.get("/api/v1/workspaces").json()["results"] == []
    assert len(as_finance.get("/api/v1/workspaces").json()["results"]) == 1
    finance_subscription = Subscription.objects.get(role_key="consumer:finance")
    assert as_marketing.get(f"/api/v1/subscriptions/{finance_subscription.pk}").status_code == 404
    assert as_marketing.get(f"/api/v1/workspaces/{Workspace.objects.get().pk}").status_code == 404
