"""After login: choose among granted roles, switch in the header, never act in a role not held."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings

from identity.models import AuditEvent
from identity.roles import SESSION_KEY
from portal.testing.personas import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Real hashers cost ~0.5 s per hash on a loaded machine; the hash strength is not under test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def local_login(client, username, groups, next_url="/tokens/"):
    user = make_user(username, groups)
    user.set_password("pw-for-tests")
    user.save()
    return client.post(f"/accounts/login/?next={next_url}", {"login": username, "password": "pw-for-tests"})


def test_a_local_user_with_several_roles_is_asked_to_choose(client):
    response = local_login(client, "multi", ["dh-finance-consumer", "dh-marketing-steward"])
    assert response.status_code == 302
    assert response["Location"] == "/roles/select/?next=%2Ftokens%2F"
    page = client.get(response["Location"])
    assert [r.key for r in page.context["roles"]] == ["consumer:finance", "steward:marketing"]
    chosen = client.post("/roles/select/", {"role": "steward:marketing", "next": "/tokens/"})
    assert chosen["Location"] == "/tokens/"
    assert client.session[SESSION_KEY]["persona"] == "steward"
    assert AuditEvent.objects.filter(action="auth.login", username="multi").exists()
    assert AuditEvent.objects.get(action="auth.role_switch").target == "steward:marketing"


def test_a_single_role_is_selected_at_login(client):
    response = local_login(client, "single", ["dh-finance-provider"])
    assert response["Location"] == "/tokens/"
    assert client.session[SESSION_KEY]["hub"] == "finance"


def test_a_user_without_roles_lands_on_the_no_access_page(client):
    response = local_login(client, "nobody", ["staff"])
    assert response["Location"] == "/roles/none/"
    page = client.get("/roles/none/")
    assert page.status_code == 403 and b"none of your groups grants a role" in page.content


def test_switching_to_a_role_not_held_is_refused_and_audited(client):
    local_login(client, "consumer", ["dh-finance-consumer"])
    response = client.post("/roles/select/", {"role": "admin", "next": "/"})
    assert response.status_code == 302 and response["Location"].startswith("/roles/select/")
    assert client.session[SESSION_KEY]["persona"] == "consumer"
    assert AuditEvent.objects.filter(action="auth.role_refused", target="admin").exists()


def test_the_header_shows_the_current_role_and_offers_the_others(client):
    local_login(client, "multi", ["dh-finance-consumer", "dh-admins"])
    client.post("/roles/select/", {"role": "admin", "next": "/"})
    html = client.get("/tokens/").content.decode()
    assert 'id="role-switcher"' in html
    assert '<option value="admin" selected>Admin</option>' in html
    assert '<option value="consumer:finance">Consumer · finance</option>' in html


def test_pages_redirect_to_role_selection_until_a_role_is_chosen(client):
    local_login(client, "multi", ["dh-finance-consumer", "dh-admins"])
    response = client.get("/audit/?action=auth.login")
    assert response.status_code == 302
    assert response["Location"] == "/roles/select/?next=%2Faudit%2F%3Faction%3Dauth.login"


@pytest.mark.parametrize("evil", [
    "https://evil.example.com/", "//evil.example.com/", "https:/\\evil.example.com", "javascript:alert(1)",
    "http://testserver.evil.example.com/",
])
def test_open_redirects_in_next_are_refused(client, evil):
    make_user("multi", ["dh-finance-consumer", "dh-admins"])
    login = local_login(client, "multi", [], next_url=evil.replace("&", "%26"))
    assert "evil" not in login["Location"] and "javascript" not in login["Location"]
    selected = client.post("/roles/select/", {"role": "admin", "next": evil})
    assert selected["Location"] == "/"
    page = client.get("/roles/select/", {"next": evil})
    assert page.context["next"] == "/"


@override_settings(ALLOW_LOCAL_ACCOUNTS=False)
def test_the_local_login_form_is_refused_when_local_accounts_are_off(client):
    response = local_login(client, "local", ["dh-finance-consumer"])
    assert response.status_code == 200
    assert b"Local accounts are disabled" in response.content
    assert "_auth_user_id" not in client.session
    assert b'id="local-login"' not in client.get("/accounts/login/").content
    # The admin site's password form is refused too.
    get_user_model().objects.filter(username="local").update(is_staff=True, is_superuser=True)
    client.post("/admin/login/", {"username": "local", "password": "pw-for-tests"})
    assert "_auth_user_id" not in client.session


def test_self_signup_of_local_accounts_is_closed(client):
    response = client.post("/accounts/signup/", {"username": "intruder", "password1": "x1!Aasdfgh", "password2": "x1!Aasdfgh"})
    assert not get_user_model().objects.filter(username="intruder").exists()
    # allauth's "sign up closed" page (AccountAdapter.is_open_for_signup is False).
    assert response.status_code == 200 and b"Sign Up Closed" in response.content


def test_signing_out_is_audited(client):
    local_login(client, "single", ["dh-finance-provider"])
    client.post("/accounts/logout/")
    event = AuditEvent.objects.get(action="auth.logout")
    assert (event.username, event.role) == ("single", "provider:finance")


def test_the_home_page_says_what_the_current_role_may_do(client):
    local_login(client, "single", ["dh-finance-provider"])
    html = client.get("/").content.decode()
    assert "You are acting as <strong>Provider · finance</strong>" in html
    assert "onboard sources into finance" in html
