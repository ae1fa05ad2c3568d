"""The audit trail: persisted by audit.record, listed for admins only (page and API), filterable, paginated."""

from __future__ import annotations

import pytest

from identity import audit
from identity.models import AuditEvent
from identity.roles import Role
from portal.testing.personas import bearer, login_persona, make_user, token_for

pytestmark = pytest.mark.django_db


def test_record_stores_who_role_what_target_and_where():
    user = make_user("jane")
    audit.record(user, "curation.edit", role=Role("steward", "finance"), target="sales.orders",
                 details={"fields": ["description"], "odd": object}, ip="10.0.0.7")
    event = AuditEvent.objects.get()
    assert (event.username, event.role, event.action, event.target, event.ip) == (
        "jane", "steward:finance", "curation.edit", "sales.orders", "10.0.0.7")
    assert event.details["fields"] == ["description"] and "class" in event.details["odd"]


def test_system_events_have_no_actor_and_bad_addresses_are_dropped():
    audit.record(None, "workspace.idle_stop", target="workspace:3", ip="not-an-ip")
    event = AuditEvent.objects.get()
    assert event.username == "" and event.actor is None and event.ip is None


def test_the_api_lists_events_for_admins_newest_first_with_filters(client):
    jane, max_ = make_user("jane"), make_user("max")
    for i in range(3):
        audit.record(jane, "token.create", target=f"token:{i}")
    audit.record(max_, "workspace.launch", target="workspace:1")
    secret = token_for("admin", Role("admin"))  # itself audited as token.create by admin
    everything = client.get("/api/v1/audit", **bearer(secret)).json()
    assert everything["count"] == 5
    assert everything["results"][0]["action"] == "token.create" and everything["results"][0]["who"] == "admin"
    assert set(everything["results"][0]) == {"id", "who", "role", "action", "target", "details", "when", "ip"}
    janes = client.get("/api/v1/audit", {"user": "jane", "action": "token.create"}, **bearer(secret)).json()
    assert [e["target"] for e in janes["results"]] == ["token:2", "token:1", "token:0"]
    prefixed = client.get("/api/v1/audit", {"action": "workspace."}, **bearer(secret)).json()
    assert [e["who"] for e in prefixed["results"]] == ["max"]


def test_the_api_paginates(client):
    for i in range(5):
        audit.record(None, "x.y", target=str(i))
    secret = token_for("admin", Role("admin"))
    first = client.get("/api/v1/audit", {"action": "x.y", "page_size": 2}, **bearer(secret)).json()
    assert first["count"] == 5 and len(first["results"]) == 2 and first["next"]
    last = client.get("/api/v1/audit", {"action": "x.y", "page_size": 2, "page": 3}, **bearer(secret)).json()
    assert [e["target"] for e in last["results"]] == ["0"] and last["next"] is None


def test_non_admins_cannot_read_the_trail(client):
    secret = token_for("steward", Role("steward", "finance"))
    assert client.get("/api/v1/audit", **bearer(secret)).status_code == 403
    login_persona(client, "finance_steward")
    assert client.get("/audit/").status_code == 404


def test_admins_read_the_trail_page(client):
    login_persona(client, "admin")
    audit.record(make_user("jane"), "auth.role_switch", target="consumer:finance", ip="10.1.1.1")
    page = client.get("/audit/", {"action": "auth.role_switch"})
    assert page.status_code == 200
    assert b"consumer:finance" in page.content and b"10.1.1.1" in page.content
