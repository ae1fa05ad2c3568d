"""Revocation that reaches every session: sign-out through the IdP, back-channel logout, a role removed
elsewhere ending in an open session at its next request, and groups refreshed from the IdP.

SSO cases use the fake IdP (portal.testing.fake_idp, 127.0.0.1); local-account cases the Django groups.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.test import Client, override_settings

from identity import services
from identity.models import AuditEvent, UserGroups
from identity.roles import Role
from portal.testing.fake_idp import FakeIdP, new_key, serve
from portal.testing.personas import login_as, login_persona, make_user
from identity.tests.test_oidc_strict import configure, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def idp() -> Iterator[FakeIdP]:
    fake = FakeIdP()
    with serve(fake), configure(fake):
        fake.set_user("sub-1", preferred_username="ines", email="ines@example.com",
                      groups=["dh-finance-consumer", "dh-marketing-consumer"])
        yield fake


def choose(client: Client, key: str) -> None:
    assert client.post("/roles/select/", {"role": key, "next": "/"}).status_code == 302


def me(client: Client) -> Any:
    return client.get("/api/v1/me")


# --- Sign-out through the IdP -----------------------------------------------------------------


def test_sign_out_ends_the_portal_session_and_the_idp_session(client, idp):
    sign_in(client, idp)
    id_token = idp.issued_id_tokens[-1]
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    target = urlparse(response["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{idp.url}/end_session"
    params = parse_qs(target.query)
    assert params["id_token_hint"] == [id_token]
    assert params["post_logout_redirect_uri"] == ["http://testserver/"]
    assert me(client).status_code in (401, 403) and me(client).json().get("username") is None


def test_a_local_account_signs_out_without_visiting_an_idp(client):
    login_persona(client, "finance_consumer")
    response = client.post("/accounts/logout/")
    assert response.status_code == 302 and response["Location"] == "/"


# --- Back-Channel Logout -------------------------------------------------------------------


def test_a_back_channel_logout_ends_every_session_of_the_user(idp):
    first, second = Client(), Client()
    sign_in(first, idp)
    sign_in(second, idp)
    choose(first, "consumer:finance")
    assert me(first).json()["username"] == "ines"

    response = Client().post("/accounts/oidc/fake/backchannel-logout/", {"logout_token": idp.logout_token("sub-1")})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    for browser in (first, second):
        assert me(browser).status_code == 401
    assert AuditEvent.objects.filter(action="auth.sessions_ended", username="ines").exists()
    # A new sign-in afterwards is not ended by the old logout.
    third = Client()
    sign_in(third, idp)
    assert me(third).json()["username"] == "ines"


def test_a_back_channel_logout_by_session_id_ends_that_users_sessions(client, idp):
    sign_in(client, idp)
    token = idp.logout_token(None, sid="sid-sub-1")
    assert Client().post("/accounts/oidc/fake/backchannel-logout/", {"logout_token": token}).status_code == 200
    assert me(client).status_code == 401


@pytest.mark.parametrize(("forge", "reason"), [
    ("wrong-key", "signature"),
    ("nonce", "nonce"),
    ("no-event", "logout event"),
    ("other-audience", "another client"),
    ("expired", "expired"),
])
def test_a_forged_logout_token_is_refused_and_ends_nothing(client, idp, forge, reason):
    sign_in(client, idp)
    token = {
        "wrong-key": lambda: idp.sign({**jwt_claims(idp), "sub": "sub-1"}, key=new_key()),
        "nonce": lambda: idp.logout_token("sub-1", nonce="n"),
        "no-event": lambda: idp.logout_token("sub-1", events={"other": {}}),
        "other-audience": lambda: idp.logout_token("sub-1", aud="someone-else"),
        "expired": lambda: idp.logout_token("sub-1", iat=int(time.time()) - 7200, exp=int(time.time()) - 3600),
    }[forge]()
    response = Client().post("/accounts/oidc/fake/backchannel-logout/", {"logout_token": token})
    assert response.status_code == 400
    assert reason in response.json()["error_description"]
    assert me(client).json()["username"] == "ines"


def test_a_replayed_logout_token_is_refused(idp):
    token = idp.logout_token("sub-1")
    assert Client().post("/accounts/oidc/fake/backchannel-logout/", {"logout_token": token}).status_code == 200
    replay = Client().post("/accounts/oidc/fake/backchannel-logout/", {"logout_token": token})
    assert replay.status_code == 400 and "already used" in replay.json()["error_description"]


def test_a_logout_request_without_a_token_is_a_400(idp):
    assert Client().post("/accounts/oidc/fake/backchannel-logout/", {}).status_code == 400
    assert Client().post("/accounts/oidc/fake/backchannel-logout/", {"logout_token": "x.y"}).status_code == 400


def jwt_claims(idp: FakeIdP) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": idp.url, "aud": idp.client_id, "iat": now, "exp": now + 60, "jti": "j1",
            "events": {"http://schemas.openid.net/event/backchannel-logout": {}}}


# --- A role removed elsewhere ends in every open session -------------------------------------


def test_a_role_lost_at_a_later_sign_in_ends_in_the_open_session_at_its_next_request(idp):
    first = Client()
    sign_in(first, idp)
    choose(first, "consumer:marketing")
    assert me(first).json()["role"]["key"] == "consumer:marketing"

    idp.set_user("sub-1", preferred_username="ines", groups=["dh-finance-consumer"])
    elsewhere = Client()
    sign_in(elsewhere, idp)  # fewer groups now
    assert me(elsewhere).json()["role"]["key"] == "consumer:finance"

    body = me(first).json()
    assert body["role"] is None and [r["key"] for r in body["roles"]] == ["consumer:finance"]
    page = first.get("/search")
    assert page.status_code == 302 and page["Location"].startswith("/roles/select/")
    assert AuditEvent.objects.filter(action="auth.role_lost", username="ines", role="consumer:marketing").exists()


def test_an_admin_removing_a_group_ends_the_role_in_the_open_session_with_a_message(client):
    user = login_as(client, "lena", Role("consumer", "marketing"))
    assert me(client).json()["role"]["key"] == "consumer:marketing"
    user.groups.remove(Group.objects.get(name="dh-marketing-consumer"))

    page = client.get("/search")
    assert page.status_code == 302 and page["Location"].startswith("/roles/select/")
    texts = [str(m) for m in get_messages(page.wsgi_request)]
    assert any("Consumer · marketing is no longer granted" in t for t in texts)
    assert client.get("/api/v1/me").json()["role"] is None


def test_a_role_kept_keeps_the_session_acting_in_it(client):
    user = login_as(client, "lena", Role("consumer", "marketing"))
    user.groups.add(Group.objects.get_or_create(name="dh-finance-consumer")[0])  # a change, not a loss
    assert me(client).json()["role"]["key"] == "consumer:marketing"


def test_a_deactivated_user_is_stopped_at_the_next_request(client):
    user = login_as(client, "lena", Role("consumer", "marketing"))
    user.is_active = False
    user.save()
    assert me(client).status_code in (401, 403)


def test_the_live_check_costs_no_query_while_nothing_changed(client, settings, django_assert_num_queries):
    from django.test.utils import CaptureQueriesContext
    from django.db import connection

    login_as(client, "lena", Role("consumer", "marketing"))
    me(client)  # the first request stamps the session
    with CaptureQueriesContext(connection) as checked:
        assert me(client).status_code == 200
    without = [m for m in settings.MIDDLEWARE if m != "identity.middleware.LiveGrantsMiddleware"]
    plain = Client()
    login_as(plain, "lena", Role("consumer", "marketing"))
    with override_settings(MIDDLEWARE=without), CaptureQueriesContext(connection) as unchecked:
        assert me(plain).status_code == 200
    assert len(checked.captured_queries) == len(unchecked.captured_queries)


# --- Groups refreshed from the IdP ---------------------------------------------------------


def age_refresh(client: Client) -> None:
    session = client.session
    data = session[services.OIDC_SESSION_KEY]
    data["refreshed_at"] = time.time() - 3600
    session[services.OIDC_SESSION_KEY] = data
    session.save()


def test_a_group_removed_at_the_idp_ends_the_role_after_the_refresh_interval(client, idp):
    sign_in(client, idp)
    choose(client, "consumer:marketing")
    idp.set_user("sub-1", preferred_username="ines", groups=["dh-finance-consumer"])
    assert me(client).json()["role"]["key"] == "consumer:marketing"  # not due yet: no IdP call
    refreshes = len([r for r in idp.token_requests if r["form"].get("grant_type") == "refresh_token"])
    assert refreshes == 0

    age_refresh(client)
    body = me(client).json()
    assert body["role"] is None and [r["key"] for r in body["roles"]] == ["consumer:finance"]
    assert UserGroups.objects.get(user__username="ines").groups == ["dh-finance-consumer"]
    assert [r for r in idp.token_requests if r["form"].get("grant_type") == "refresh_token"]


def test_a_refused_refresh_ends_the_session(client, idp):
    sign_in(client, idp)
    idp.refuse_refresh = True
    age_refresh(client)
    assert me(client).status_code == 401
    assert AuditEvent.objects.filter(action="auth.refresh_refused", username="ines").exists()


def test_an_unreachable_idp_keeps_the_session_and_retries_later(client, idp):
    sign_in(client, idp)
    choose(client, "consumer:finance")
    session = client.session
    session[services.OIDC_SESSION_KEY]["provider"] = "fake"
    session.save()
    age_refresh(client)
    with override_settings(SOCIALACCOUNT_PROVIDERS=configure_unreachable(idp)):
        assert me(client).json()["role"]["key"] == "consumer:finance"


def configure_unreachable(idp: FakeIdP) -> dict[str, Any]:
    from identity.sso import oidc_apps

    cache.clear()  # forget the discovery document: the IdP now "does not answer"
    apps = oidc_apps("", "", "", "groups", [{"id": "fake", "issuer": "http://127.0.0.1:9", "client_id": "portal",
                                             "secret": "s3cret"}], allow_http=True)
    return {"openid_connect": {"APPS": apps}}


def test_a_local_account_session_is_never_refreshed(client):
    make_user("plain", ["dh-finance-consumer"])
    login_persona(client, "finance_consumer")
    assert me(client).status_code == 200
