"""The write scope of a token: granted by its owner when the token is created (page, API, command), never by a token."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from identity.models import AccessToken
from identity.roles import Role
from portal.testing.personas import bearer, login_persona, token_for

pytestmark = pytest.mark.django_db


def test_the_api_issues_a_token_with_the_write_scope_and_refuses_unknown_scopes() -> None:
    client = APIClient()
    login_persona(client, "finance_steward")
    created = client.post("/api/v1/tokens", {"name": "agent", "role": "steward:finance", "scopes": ["write"]}, format="json")
    assert created.status_code == 201 and created.json()["scopes"] == ["write"]
    plain = client.post("/api/v1/tokens", {"name": "reader", "role": "steward:finance"}, format="json")
    assert plain.json()["scopes"] == []
    refused = client.post("/api/v1/tokens", {"name": "x", "role": "steward:finance", "scopes": ["admin"]}, format="json")
    assert refused.status_code == 400 and "scopes" in refused.json()["detail"]
    assert {t.name: t.scopes for t in AccessToken.objects.all()} == {"agent": ["write"], "reader": []}


def test_a_token_cannot_mint_a_write_token() -> None:
    secret = token_for("finance_steward", Role("steward", "finance"))
    answer = APIClient().post("/api/v1/tokens", {"name": "escalate", "role": "steward:finance", "scopes": ["write"]},
                              format="json", **bearer(secret))
    assert answer.status_code == 403
    assert not AccessToken.objects.filter(name="escalate").exists()


def test_the_token_page_grants_writes_only_when_ticked(client) -> None:
    login_persona(client, "finance_steward")
    page = client.post("/tokens/", {"name": "agent", "role": "steward:finance", "days": 7, "write": "on"})
    assert page.status_code == 200 and b"write" in page.content
    client.post("/tokens/", {"name": "reader", "role": "steward:finance", "days": 7})
    assert {t.name: t.scopes for t in AccessToken.objects.all()} == {"agent": ["write"], "reader": []}


def test_issue_token_grants_the_write_scope_with_write(capsys) -> None:
    token_for("finance_steward", Role("steward", "finance"))
    call_command("issue_token", "finance_steward", "--role", "steward", "--hub", "finance", "--write", "--name", "cli")
    assert capsys.readouterr().out.startswith("dhp_")
    assert AccessToken.objects.get(name="cli").scopes == ["write"]
