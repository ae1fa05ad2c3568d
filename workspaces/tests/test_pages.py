"""The selection, launch, workspace and subscription pages, through Django's test client."""

from __future__ import annotations

from django.test import Client

from portal.testing.personas import login_persona
from workspaces import services
from workspaces.models import Subscription, Workspace


def browser(persona: str = "finance_consumer") -> Client:
    client = Client()
    login_persona(client, persona)
    return client


def toggle(client: Client, table) -> str:
    return client.post(f"/workspaces/selection/{table.pk}/toggle", HTTP_HX_REQUEST="true").content.decode()


def test_the_select_button_adds_and_removes_a_dataset_and_updates_the_badge(lake):
    client = browser()
    added = toggle(client, lake["invoices"])
    assert "In selection" in added and 'id="selection-badge"' in added and ">1<" in added
    assert "finance_curated.invoices" in client.get("/workspaces/selection/").content.decode()
    removed = toggle(client, lake["invoices"])
    assert "Add to selection" in removed and ">0<" in removed


def test_datasets_outside_the_role_cannot_be_selected(lake):
    assert browser("marketing_consumer").post(f"/workspaces/selection/{lake['invoices'].pk}/toggle").status_code == 404


def test_launching_from_the_selection_creates_a_pending_workspace_and_clears_the_selection(lake):
    client = browser()
    toggle(client, lake["invoices"])
    toggle(client, lake["fx_rates"])
    form = client.get("/workspaces/launch/").content.decode()
    assert "finance_curated.invoices" in form and "ml.t3.medium" in form

    response = client.post("/workspaces/launch/", {
        "datasets": ["finance_curated.invoices", "shared.fx_rates"], "instance_type": "ml.t3.medium",
        "volume_gb": 20,
    })

    workspace = Workspace.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/workspaces/{workspace.pk}/"
    assert workspace.dataset_names == ["finance_curated.invoices", "shared.fx_rates"]
    page = client.get(response["Location"]).content.decode()
    assert 'data-status="pending"' in page and 'data-poll-every="2"' in page
    assert "Nothing selected yet" in client.get("/workspaces/selection/").content.decode()


def test_the_launch_form_shows_why_a_launch_is_refused(lake, settings):
    settings.WORKSPACE_QUOTA_PER_USER = 0
    client = browser()
    toggle(client, lake["fx_rates"])
    page = client.post("/workspaces/launch/", {"datasets": ["shared.fx_rates"], "instance_type": "ml.t3.medium",
                                               "volume_gb": 20}).content.decode()
    assert "quota reached" in page


def test_someone_elses_workspace_page_is_not_found(lake):
    owner = browser()
    toggle(owner, lake["fx_rates"])
    owner.post("/workspaces/launch/", {"datasets": ["shared.fx_rates"], "instance_type": "ml.t3.medium",
                                       "volume_gb": 20})
    workspace = Workspace.objects.get()
    assert browser("marketing_consumer").get(f"/workspaces/{workspace.pk}/").status_code == 404
    assert browser("admin").get(f"/workspaces/{workspace.pk}/").status_code == 200


def test_the_stop_button_stops_a_running_workspace(aws_endpoint, lake):
    client = browser()
    toggle(client, lake["fx_rates"])
    client.post("/workspaces/launch/", {"datasets": ["shared.fx_rates"], "instance_type": "ml.t3.medium",
                                        "volume_gb": 20})
    workspace = services.refresh_workspace(services.provision_workspace(Workspace.objects.get().pk).pk)
    assert 'data-status="in_service"' in client.get(f"/workspaces/{workspace.pk}/status").content.decode()

    panel = client.post(f"/workspaces/{workspace.pk}/stop", HTTP_HX_REQUEST="true").content.decode()

    assert 'data-status="stopping"' in panel
    services.refresh_workspace(workspace.pk)
    assert 'data-status="stopped"' in client.get(f"/workspaces/{workspace.pk}/status").content.decode()


def test_the_subscribe_button_subscribes_the_users_email_and_the_feed_lists_new_data(aws_endpoint, lake):
    from workspaces.notifications import publish_new_data

    client = browser()
    button = client.post(f"/workspaces/subscribe/{lake['fx_rates'].pk}", HTTP_HX_REQUEST="true").content.decode()
    assert "Subscribed" in button
    assert Subscription.objects.get().endpoint == "finance_consumer@example.com"
    publish_new_data("shared.fx_rates", partition="day=2024-05-01", rows=42)
    page = client.get("/workspaces/subscriptions/").content.decode()
    assert "day=2024-05-01" in page and "42 rows" in page
    assert "Subscribe to new data" in client.post(f"/workspaces/subscribe/{lake['fx_rates'].pk}",
                                                  HTTP_HX_REQUEST="true").content.decode()
    assert not Subscription.objects.exists()


def test_the_dataset_page_offers_the_select_and_subscribe_buttons(lake):
    page = browser().get("/datasets/finance_curated.invoices").content.decode()
    assert 'data-dataset="finance_curated.invoices"' in page and "Add to selection" in page
    assert "Subscribe to new data" in page
    steward_page = browser("finance_steward").get("/datasets/finance_curated.invoices").content.decode()
    assert "Add to selection" not in steward_page  # only consumers launch workspaces
