"""``GET /api/v1/me``: who the caller is, the role it acts in, the roles it may select, its AWS identity."""

from __future__ import annotations

import pytest

from identity.roles import Role
from portal.testing.personas import bearer, login_persona, token_for

pytestmark = pytest.mark.django_db


def test_a_session_without_a_role_lists_the_roles_to_choose_from(client):
    login_persona(client, "multi_role")
    body = client.get("/api/v1/me").json()
    assert body["username"] == "multi_role" and body["role"] is None
    assert [r["key"] for r in body["roles"]] == ["consumer:finance", "steward:marketing"]


def test_anonymous_callers_get_401_json(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Bearer"
    assert response.json()["error"]


def test_a_token_request_assumes_the_roles_iam_role_on_aws(client, aws_endpoint, settings):
    settings.AWS_ROLE_ARNS = {"consumer:finance": "arn:aws:iam::123456789012:role/finance-readers"}
    secret = token_for("jane.doe", Role("consumer", "finance"))
    body = client.get("/api/v1/me", {"aws": "1"}, **bearer(secret)).json()
    assert body["aws"]["arn"] == "arn:aws:sts::123456789012:assumed-role/finance-readers/jane.doe"
    assert body["aws"]["role_arn"] == "arn:aws:iam::123456789012:role/finance-readers"
