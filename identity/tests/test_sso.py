"""Single sign-on: a full authorization-code round trip over real HTTP against oidc-provider-mock.

The portal runs in pytest-django's live server; the IdP in a thread; a ``requests.Session``
plays the browser (POST to start the login, the IdP's consent form, the callback, role selection).
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlparse

import flask
import oidc_provider_mock
import pytest
import requests
import werkzeug.serving
from django.test import override_settings

from identity.models import AccessToken, UserGroups
from identity.sso import oidc_apps

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass
class IdP:
    url: str
    token_requests: list[dict[str, str]] = field(default_factory=list)

    def set_user(self, sub: str, **claims: object) -> None:
        requests.put(f"{self.url}/users/{sub}", json=claims, timeout=5).raise_for_status()


@pytest.fixture(scope="module", params=[False, True], ids=["nonce-optional", "nonce-required"])
def idp(request) -> Iterator[IdP]:
    # The mock refuses plain http unless told otherwise (it is a test IdP on localhost). With
    # require_nonce (its CLI's ``-n true``, as many corporate IdPs) it refuses a login without a nonce.
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
    app = oidc_provider_mock.app(require_nonce=request.param)
    server = werkzeug.serving.make_server("localhost", 0, app, threaded=True)
    provider = IdP(f"http://localhost:{server.server_port}")

    @app.before_request
    def record_token_requests() -> None:
        if flask.request.path == "/oauth2/token":
            provider.token_requests.append(dict(flask.request.form))

    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield provider
    server.shutdown()
    thread.join(5)


@pytest.fixture
def sso(idp: IdP, live_server) -> Iterator[IdP]:
    """The portal configured for two IdP entries (the JSON form) that both point at the mock."""
    providers = [
        {"id": "corp", "name": "Corporate SSO", "issuer": idp.url, "client_id": "portal", "secret": "s3cret"},
        {"id": "partner", "name": "Partner SSO", "issuer": idp.url, "client_id": "portal-partner", "secret": "other",
         "groups_claim": "roles"},
    ]
    apps = oidc_apps("", "", "", "groups", providers, allow_http=True)
    with override_settings(SOCIALACCOUNT_PROVIDERS={"openid_connect": {"OAUTH_PKCE_ENABLED": True, "APPS": apps}}):
        yield idp


def sign_in(base: str, idp: IdP, sub: str, *, provider: str = "corp", next_url: str = "/tokens/"
            ) -> tuple[requests.Session, requests.Response, dict[str, list[str]]]:
    """Walk the login like a browser; returns the session, the final response and the authorize params."""
    browser = requests.Session()
    login_page = browser.get(f"{base}/accounts/login/", params={"next": next_url}, timeout=10)
    assert f'data-provider="{provider}"' in login_page.text
    started = browser.post(f"{base}/accounts/oidc/{provider}/login/", params={"next": next_url},
                           data={"csrfmiddlewaretoken": browser.cookies["csrftoken"]},
                           allow_redirects=False, timeout=10)
    assert started.status_code == 302, started.text[:500]
    authorize_url = started.headers["Location"]
    assert authorize_url.startswith(idp.url)
    params = parse_qs(urlparse(authorize_url).query)
    consented = browser.post(authorize_url, data={"sub": sub}, allow_redirects=False, timeout=10)
    assert consented.status_code == 302, consented.text[:500]
    assert consented.headers["Location"].startswith(f"{base}/accounts/oidc/{provider}/login/callback/")
    final = browser.get(consented.headers["Location"], timeout=20)
    return browser, final, params


def me(base: str, browser: requests.Session) -> dict:
    response = browser.get(f"{base}/api/v1/me", timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_an_sso_login_maps_groups_to_roles_and_asks_which_role_to_act_in(sso, live_server):
    sso.set_user("jane-sub", email="jane@example.com", preferred_username="jane",
                 groups=["dh-finance-consumer", "dh-marketing-steward", "unrelated-group"])
    browser, page, authorize = sign_in(live_server.url, sso, "jane-sub")

    # PKCE: a S256 challenge on the way out, the matching verifier at the token endpoint.
    assert authorize["code_challenge_method"] == ["S256"]
    verifier = sso.token_requests[-1]["code_verifier"]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert authorize["code_challenge"] == [challenge]
    assert len(authorize["nonce"][0]) >= 32  # sent always; the ID token's nonce is checked against it

    assert urlparse(page.url).path == "/roles/select/"
    assert "Consumer · finance" in page.text and "Steward · marketing" in page.text
    assert me(live_server.url, browser)["role"] is None

    chosen = browser.post(f"{live_server.url}/roles/select/", timeout=10, data={
        "csrfmiddlewaretoken": browser.cookies["csrftoken"], "role": "steward:marketing", "next": "/tokens/"})
    assert urlparse(chosen.url).path == "/tokens/"
    assert "Steward · marketing" in chosen.text  # the header shows the current role
    body = me(live_server.url, browser)
    assert body["username"] == "jane"
    assert body["role"]["persona"] == "steward" and body["role"]["hub"] == "marketing"
    assert [r["key"] for r in body["roles"]] == ["consumer:finance", "steward:marketing"]


def test_one_granted_role_is_selected_without_asking(sso, live_server):
    sso.set_user("solo-sub", email="solo@example.com", preferred_username="solo", groups=["dh-sales-provider"])
    browser, page, _ = sign_in(live_server.url, sso, "solo-sub")
    assert urlparse(page.url).path == "/tokens/"
    assert me(live_server.url, browser)["role"]["key"] == "provider:sales"


def test_no_matching_group_shows_the_no_access_page(sso, live_server):
    sso.set_user("guest-sub", email="guest@example.com", preferred_username="guest", groups=["staff"])
    _, page, _ = sign_in(live_server.url, sso, "guest-sub")
    assert urlparse(page.url).path == "/roles/none/"
    assert page.status_code == 403 and "No access yet" in page.text


def test_a_lost_group_is_a_lost_role_at_the_next_login_and_token_use(sso, live_server):
    sso.set_user("max-sub", email="max@example.com", preferred_username="max",
                 groups=["dh-finance-steward", "dh-admins"])
    browser, _, _ = sign_in(live_server.url, sso, "max-sub")
    assert {r["key"] for r in me(live_server.url, browser)["roles"]} == {"admin", "steward:finance"}
    created = browser.post(f"{live_server.url}/tokens/", timeout=10, data={
        "csrfmiddlewaretoken": browser.cookies["csrftoken"], "name": "job", "role": "steward:finance", "days": 3})
    assert created.status_code == 200
    secret = created.text.split('data-testid="token-secret">')[1].split("<")[0]
    assert requests.get(f"{live_server.url}/api/v1/me", headers={"Authorization": f"Bearer {secret}"},
                        timeout=10).status_code == 200

    sso.set_user("max-sub", email="max@example.com", preferred_username="max", groups=["dh-admins"])
    browser, page, _ = sign_in(live_server.url, sso, "max-sub")
    assert urlparse(page.url).path == "/tokens/"  # only admin left: selected without asking
    assert [r["key"] for r in me(live_server.url, browser)["roles"]] == ["admin"]
    assert UserGroups.objects.get(user__username="max").groups == ["dh-admins"]
    refused = requests.get(f"{live_server.url}/api/v1/me", headers={"Authorization": f"Bearer {secret}"}, timeout=10)
    assert refused.status_code == 401
    assert AccessToken.objects.get().revoked_at is None  # refused because of the role, not revoked


def test_each_idp_may_name_its_own_groups_claim(sso, live_server):
    sso.set_user("ann-sub", email="ann@example.com", preferred_username="ann",
                 groups=["dh-finance-consumer"], roles=["dh-hr-consumer"])
    browser, _, _ = sign_in(live_server.url, sso, "ann-sub", provider="partner")
    assert me(live_server.url, browser)["role"]["key"] == "consumer:hr"


def test_the_login_cannot_start_with_a_get(sso, live_server):
    browser = requests.Session()
    response = browser.get(f"{live_server.url}/accounts/oidc/corp/login/", allow_redirects=False, timeout=10)
    # allauth shows a confirmation page (a form that POSTs) instead of leaving for the IdP.
    assert response.status_code == 200
    assert 'method="post"' in response.text.lower()


def test_an_unreachable_idp_gives_a_clear_error_page_not_a_500(live_server):
    apps = oidc_apps("http://127.0.0.1:1", "portal", "s", "groups", None, allow_http=True)
    with override_settings(SOCIALACCOUNT_PROVIDERS={"openid_connect": {"APPS": apps}}):
        browser = requests.Session()
        browser.get(f"{live_server.url}/accounts/login/", timeout=10)
        response = browser.post(f"{live_server.url}/accounts/oidc/sso/login/", timeout=20,
                                data={"csrfmiddlewaretoken": browser.cookies["csrftoken"]})
    assert response.status_code == 503 and "Sign-in is unavailable right now" in response.text


def test_starting_a_login_without_the_csrf_token_is_refused(sso, live_server):
    response = requests.post(f"{live_server.url}/accounts/oidc/corp/login/", allow_redirects=False, timeout=10)
    assert response.status_code == 403


def test_sign_out_goes_through_the_idps_end_session_endpoint_and_back(sso, live_server):
    sso.set_user("out-sub", email="out@example.com", preferred_username="out", groups=["dh-sales-provider"])
    browser, _, _ = sign_in(live_server.url, sso, "out-sub")
    left = browser.post(f"{live_server.url}/accounts/logout/", allow_redirects=False, timeout=10,
                        data={"csrfmiddlewaretoken": browser.cookies["csrftoken"]})
    assert left.status_code == 302
    target = urlparse(left.headers["Location"])
    assert left.headers["Location"].startswith(f"{sso.url}/oauth2/end_session")
    params = parse_qs(target.query)
    assert params["post_logout_redirect_uri"] == [f"{live_server.url}/"]
    assert params["id_token_hint"][0].count(".") == 2
    # The mock asks the user to confirm, then sends the browser back to the portal, signed out.
    confirmed = browser.post(f"{sso.url}/oauth2/end_session/confirm", allow_redirects=False, timeout=10,
                             data={"redirect_uri": params["post_logout_redirect_uri"][0]})
    assert confirmed.headers["Location"] == f"{live_server.url}/"
    assert browser.get(f"{live_server.url}/api/v1/me", timeout=10).status_code == 401
