"""Every list's filters are parsed once, by its shared filterset: the page, the REST API (and the MCP
tool for pipelines) keep the same parameter names, apply them alike, and refuse an unknown value
(400 naming the parameter in the API, the form's error on the page) instead of ignoring it.

Who sees what: admins see every list; the finance provider its hub's pipelines; the finance
consumer its own workspaces.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from agents import tools
from catalog.models import GlueCatalog, SyncRun
from ingestion_wizard.models import Pipeline
from identity import audit
from identity.models import AccessToken
from portal.testing.personas import PERSONAS, login_persona, make_user, token_for
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db


def api(persona: str) -> APIClient:
    client = APIClient()
    login_persona(client, persona)
    return client


def browser(persona: str) -> Client:
    client = Client()
    login_persona(client, persona)
    return client


def make_pipeline(name: str, status: str) -> Pipeline:
    return Pipeline.objects.create(name=name, hub="finance", source_kind="postgresql", host="db.internal", port=5432,
                                   source_database="erp", source_user="etl", status=status,
                                   tables=[{"schema": "sales", "name": name}], target_database=f"finance_{name.replace('-', '_')}")


def make_workspace(name: str, status: str) -> Workspace:
    owner = make_user("finance_consumer")
    return Workspace.objects.create(owner=owner, role=PERSONAS["finance_consumer"].as_dict(),
                                    role_arn="arn:aws:iam::123456789012:role/consumer", name=name,
                                    instance_type="ml.t3.medium", volume_gb=5, status=status)


def provider_caller() -> tools.Caller:
    """The finance provider calling MCP tools with a read token."""
    token_for("finance_provider", PERSONAS["finance_provider"])
    return tools.Caller(user=make_user("finance_provider"), role=PERSONAS["finance_provider"],
                        token=AccessToken.objects.get(user__username="finance_provider"))


def test_sync_runs_filter_by_catalog_and_status_and_refuse_what_names_nothing() -> None:
    catalog = GlueCatalog.objects.create(account_id="123456789012", region="eu-central-1")
    other = GlueCatalog.objects.create(account_id="210987654321", region="eu-central-1")
    SyncRun.objects.create(catalog=catalog, status=SyncRun.Status.SUCCEEDED)
    SyncRun.objects.create(catalog=catalog, status=SyncRun.Status.FAILED)
    SyncRun.objects.create(catalog=other, status=SyncRun.Status.SUCCEEDED)
    admin = api("admin")

    mine = admin.get(f"/api/v1/catalog/sync-runs?catalog={catalog.pk}&status=succeeded").json()

    assert mine["count"] == 1 and mine["results"][0]["catalog_id"] == catalog.pk
    assert mine["results"][0]["status"] == "succeeded"
    for bad in ("status=finished", f"catalog={other.pk + 100}", "catalog=²"):
        response = admin.get(f"/api/v1/catalog/sync-runs?{bad}")
        assert response.status_code == 400
        assert set(response.json()["detail"]) == {bad.split("=")[0]}


def test_pipelines_filter_alike_on_the_page_the_api_and_the_mcp_tool() -> None:
    make_pipeline("erp-orders", "ready")
    make_pipeline("erp-paused", "paused")
    caller = provider_caller()

    api_names = [p["name"] for p in api("finance_provider").get("/api/v1/pipelines?status=paused").json()["results"]]
    page = browser("finance_provider").get("/ingestion/?status=paused").content.decode()
    tool_names = [p["name"] for p in tools.list_pipelines(caller, tools.PipelinesArgs(status="paused"))["results"]]

    assert api_names == tool_names == ["erp-paused"]
    assert "erp-paused" in page and "erp-orders" not in page


def test_an_unknown_pipeline_status_is_a_400_a_form_error_and_an_invalid_params_error() -> None:
    make_pipeline("erp-orders", "ready")
    caller = provider_caller()

    response = api("finance_provider").get("/api/v1/pipelines?status=finished")
    page = browser("finance_provider").get("/ingestion/?status=finished")

    assert response.status_code == 400 and set(response.json()["detail"]) == {"status"}
    assert page.status_code == 400
    assert "Select a valid choice" in page.content.decode() and "erp-orders" not in page.content.decode()
    with pytest.raises(tools.ToolError) as refused:
        tools.list_pipelines(caller, tools.PipelinesArgs(status="finished"))
    assert refused.value.code == tools.INVALID_PARAMS and refused.value.message.startswith("status:")


def test_workspaces_filter_by_status_on_the_page_and_the_api() -> None:
    make_workspace("ws-running", Workspace.Status.IN_SERVICE)
    make_workspace("ws-stopped", Workspace.Status.STOPPED)
    consumer = api("finance_consumer")

    listed = consumer.get("/api/v1/workspaces?status=stopped").json()
    page = browser("finance_consumer").get("/workspaces/?status=stopped").content.decode()

    assert [w["name"] for w in listed["results"]] == ["ws-stopped"]
    assert "ws-stopped" in page and "ws-running" not in page
    assert consumer.get("/api/v1/workspaces?status=asleep").status_code == 400
    assert browser("finance_consumer").get("/workspaces/?status=asleep").status_code == 400


def test_the_audit_filters_are_one_contract_for_the_page_and_the_api() -> None:
    jane = make_user("jane")
    audit.record(jane, "workspace.launch", target="workspace:1")
    audit.record(jane, "workspace.stop", target="workspace:1")
    audit.record(jane, "token.create", target="token:1")
    admin_api, admin_page = api("admin"), browser("admin")

    by_prefix = admin_api.get("/api/v1/audit?action=workspace.&user=jane").json()
    page = admin_page.get("/audit/?action=workspace.&user=jane").content.decode()

    assert sorted(e["action"] for e in by_prefix["results"]) == ["workspace.launch", "workspace.stop"]
    assert "<code>workspace.launch</code>" in page and "<code>token.create</code>" not in page
    refused = admin_api.get("/api/v1/audit?action=not an action")
    assert refused.status_code == 400 and set(refused.json()["detail"]) == {"action"}
    refused_page: Any = admin_page.get("/audit/?action=not an action")
    assert refused_page.status_code == 400 and "An action is a dotted name" in refused_page.content.decode()
