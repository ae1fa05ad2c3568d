"""The access pages: the dataset page's panel (what Lake Formation says for the current role, what is
pending, who decides, the request button), the request form, the steward's queue and the home page entry."""

from __future__ import annotations

import pytest
from django.test import Client

from access.models import AccessRequest
from access.tests.conftest import FINANCE_READERS
from access.tests.test_access_requests import ask
from portal import lake_permissions
from portal.testing.personas import login_persona


def page(persona: str) -> Client:
    client = Client()
    login_persona(client, persona)
    return client


def panel(client: Client, table_id: int) -> str:
    response = client.get(f"/access/datasets/{table_id}/panel")
    assert response.status_code == 200
    return response.content.decode()


def test_the_dataset_page_loads_the_access_panel(aws_endpoint, invoices):
    html = page("finance_consumer").get("/datasets/finance_curated.invoices").content.decode()
    assert f'hx-get="/access/datasets/{invoices.pk}/panel"' in html


def test_the_panel_says_what_lake_formation_says_not_what_the_portal_recorded(aws_endpoint, invoices):
    consumer = page("finance_consumer")
    before = panel(consumer, invoices.pk)
    assert "no access" in before and "Who decides: the stewards of hub finance" in before
    assert "Request access" in before
    # Granted outside the portal: no request exists, the panel still shows it.
    lake_permissions.grant(FINANCE_READERS, lake_permissions.table_resource("finance_curated", "invoices"))
    assert "your role has access" in panel(consumer, invoices.pk)
    assert not AccessRequest.objects.exists()


def test_the_panel_shows_a_pending_request_and_offers_no_second_one(aws_endpoint, invoices, consumer):
    ask(consumer)
    html = panel(page("finance_consumer"), invoices.pk)
    assert "Pending" in html and 'data-testid="request-access"' not in html


def test_the_panel_says_when_the_role_has_no_iam_role(aws_endpoint, lake):
    html = panel(page("marketing_consumer"), lake["campaigns"].pk)
    assert "access unknown" in html and "no IAM role mapped" in html


def test_the_request_form_records_a_request(aws_endpoint, invoices):
    consumer = page("finance_consumer")
    assert consumer.get(f"/access/datasets/{invoices.pk}/request").status_code == 200
    sent = consumer.post(f"/access/datasets/{invoices.pk}/request",
                         {"columns": ["amount"], "purpose": "audit sample", "until": "2026-12-31"})
    assert sent.status_code == 302, sent.content
    request = AccessRequest.objects.get()
    assert request.columns == ["amount"] and request.state == "pending"
    bad = consumer.post(f"/access/datasets/{invoices.pk}/request", {"purpose": "again", "until": "2026-12-31"})
    assert bad.status_code == 400 and "exists already" in bad.content.decode()


def test_the_steward_queue_approves_and_others_are_refused(aws_endpoint, invoices, consumer, eager,
                                                          django_capture_on_commit_callbacks):
    request_id = ask(consumer).json()["id"]
    steward = page("finance_steward")
    queue = steward.get("/access/").content.decode()
    assert 'data-testid="access-queue-item"' in queue and "quarterly report" in queue
    assert "finance_curated.invoices" in steward.get("/").content.decode().split('id="home-access"')[1]
    assert page("finance_consumer").post(f"/access/{request_id}/approve").status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        done = steward.post(f"/access/{request_id}/approve", {"scope": ""})
    assert done.status_code == 302
    assert AccessRequest.objects.get(pk=request_id).state == "granted"


@pytest.mark.parametrize("persona", ["finance_consumer", "finance_provider"])
def test_the_home_page_has_no_access_queue_for_those_who_do_not_decide(db, persona):
    assert 'id="home-access"' not in page(persona).get("/").content.decode()


def test_the_launch_page_offers_the_request_for_a_dataset_without_access(aws_endpoint, invoices):
    consumer = page("finance_consumer")
    consumer.post(f"/workspaces/selection/{invoices.pk}/toggle")
    launch = consumer.get("/workspaces/launch/").content.decode()
    assert f'hx-get="/access/datasets/{invoices.pk}/panel"' in launch
    html = panel(consumer, invoices.pk)
    assert "no access" in html and f'href="/access/datasets/{invoices.pk}/request"' in html
