"""``manage.py issue_token``: prints the token alone, refuses roles the user does not hold."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from identity.models import AccessToken
from portal.testing.personas import bearer, make_user

pytestmark = pytest.mark.django_db


def issue(*args: str) -> str:
    out = StringIO()
    call_command("issue_token", *args, stdout=out)
    return out.getvalue()


def test_it_prints_a_working_token_alone_on_one_line(client):
    make_user("etl-bot", ["dh-finance-provider"])
    output = issue("etl-bot", "--role", "provider", "--hub", "finance", "--days", "3")
    assert output.count("\n") == 1 and output.startswith("dhp_")
    token = AccessToken.objects.get()
    assert token.expires_at - token.created_at == timedelta(days=3)
    me = client.get("/api/v1/me", **bearer(output.strip())).json()
    assert me["role"] == {"persona": "provider", "hub": "finance", "use_cases": [], "key": "provider:finance",
                          "label": "Provider · finance"}


def test_admin_tokens_need_no_hub():
    make_user("root-bot", ["dh-admins"])
    assert issue("root-bot", "--role", "admin").startswith("dhp_")


@pytest.mark.parametrize("args, message", [
    (["etl-bot", "--role", "steward", "--hub", "finance"], "does not hold the role 'steward:finance'"),
    (["etl-bot", "--role", "provider"], "needs a hub"),
    (["ghost", "--role", "provider", "--hub", "finance"], "No user 'ghost'"),
    (["etl-bot", "--role", "provider", "--hub", "finance", "--days", "0"], "between 1 and"),
])
def test_it_fails_clearly(args, message):
    make_user("etl-bot", ["dh-finance-provider"])
    with pytest.raises(CommandError, match=message):
        issue(*args)
    assert not AccessToken.objects.exists()
