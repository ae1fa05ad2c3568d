"""Strict OpenID Connect: forged ID tokens are refused; the token endpoint is authenticated as configured.

A small fake IdP (portal.testing.fake_idp, on 127.0.0.1) forges what oidc-provider-mock never sends:
wrong signature, unknown kid, rotated keys, wrong nonce, a replayed token, ``alg: none``, a foreign
issuer or audience. The portal runs in process (Django test client); its calls to the IdP (discovery,
keys, token, userinfo) are real HTTP over loopback.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import override_settings

from identity.models import AuditEvent
from identity.sso import oidc_apps
from portal.testing.fake_idp import FakeIdP, new_key, serve, unsigned_token

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    cache.clear()  # discovery, keys and seen tokens of other tests
    yield
    cache.clear()


def configure(idp: FakeIdP, **entry: Any) -> Any:
    providers = [{"id": "fake", "name": "Fake IdP", "issuer": idp.url, "client_id": idp.client_id,
                  "secret": idp.client_secret, "token_auth_method": idp.token_auth_method, **entry}]
    apps = oidc_apps("", "", "", "groups", providers, allow_http=True)
    return override_settings(SOCIALACCOUNT_PROVIDERS={"openid_connect": {"OAUTH_PKCE_ENABLED": True, "APPS": apps}})


@pytest.fixture
def idp() -> Iterator[FakeIdP]:
    fake = FakeIdP()
    with serve(fake), configure(fake):
        fake.set_user("sub-1", preferred_username="ines", email="ines@example.com",
                      groups=["dh-finance-consumer", "dh-marketing-consumer"])
        yield fake


def sign_in(client: Any, idp: FakeIdP, sub: str = "sub-1") -> Any:
    """Walk the login as a browser would: POST to start, the IdP's redirect, the callback."""
    started = client.post("/accounts/oidc/fake/login/", {"next": "/tokens/"})
    assert started.status_code == 302, started.content[:300]
    assert started["Location"].startswith(f"{idp.url}/authorize")
    answer = requests.get(started["Location"], params={"login_hint": sub}, allow_redirects=False, timeout=10)
    callback = urlparse(answer.headers["Location"])
    return client.get(f"{callback.path}?{callback.query}")


def signed_in_as(client: Any) -> str | None:
    response = client.get("/api/v1/me")
    return response.json()["username"] if response.status_code in (200, 403) else None


def assert_refused(response: Any, reason: str) -> None:
    assert response.status_code == 401, response.content[:500]
    assert "Sign-in refused" in response.content.decode()
    assert reason in response.content.decode()


def test_a_valid_id_token_signs_in_with_a_nonce_and_basic_client_auth(client, idp):
    response = sign_in(client, idp)
    assert response.status_code == 302 and response["Location"].startswith("/roles/select/")
    assert signed_in_as(client) == "ines"
    nonce = idp.authorize_requests[-1]["nonce"]
    assert len(nonce) >= 32
    assert set(idp.authorize_requests[-1]["scope"].split()) == {"openid", "profile", "email"}
    # client_secret_basic (the default): credentials in the header, never in the form.
    token_request = idp.token_requests[-1]
    assert token_request["authorization"].startswith("Basic ")
    assert "client_secret" not in token_request["form"]


def test_an_id_token_signed_with_another_key_is_refused(client, idp):
    idp.forge = lambda claims: idp.sign(claims, key=new_key(), kid=idp.signing_kid)
    assert_refused(sign_in(client, idp), "signature does not verify")
    assert signed_in_as(client) is None
    assert AuditEvent.objects.filter(action="auth.sso_refused").exists()


def test_an_unknown_kid_refetches_the_keys_once_and_is_refused(client, idp):
    sign_in(client, idp)  # the keys are now cached
    client.logout()
    fetches = idp.jwks_fetches
    idp.forge = lambda claims: idp.sign(claims, key=new_key(), kid="never-published")
    assert_refused(sign_in(client, idp), "key the IdP does not publish")
    assert idp.jwks_fetches == fetches + 1


def test_rotated_keys_are_fetched_again_and_sign_in(client, idp):
    sign_in(client, idp)
    client.logout()
    idp.rotate("k2")  # the portal still has only k1 cached
    response = sign_in(client, idp)
    assert response.status_code == 302 and signed_in_as(client) == "ines"


def test_an_id_token_with_another_nonce_is_refused(client, idp):
    idp.id_token_claims = {"nonce": "not-the-one-we-sent"}
    assert_refused(sign_in(client, idp), "nonce")


def test_an_id_token_without_a_nonce_is_refused(client, idp):
    idp.id_token_claims = {"nonce": None}
    assert_refused(sign_in(client, idp), "nonce")


def test_a_replayed_id_token_is_refused(client, idp):
    sign_in(client, idp)
    captured = idp.issued_id_tokens[-1]
    client.logout()
    idp.forge = lambda claims: captured  # an attacker's IdP-side replay of an earlier, valid token
    assert_refused(sign_in(client, idp), "nonce")
    assert signed_in_as(client) is None


def test_an_unsigned_alg_none_token_is_refused(client, idp):
    idp.forge = lambda claims: unsigned_token(claims)
    assert_refused(sign_in(client, idp), "algorithm")


def test_an_hmac_token_signed_with_the_client_secret_is_refused(client, idp):
    idp.forge = lambda claims: jwt.encode(claims, idp.client_secret * 11, algorithm="HS256",
                                          headers={"kid": idp.signing_kid})
    assert_refused(sign_in(client, idp), "algorithm")


@pytest.mark.parametrize(("claims", "reason"), [
    ({"iss": "http://127.0.0.1:1"}, "another issuer"),
    ({"aud": "someone-else"}, "another client"),
    ({"aud": ["portal", "someone-else"]}, "authorized party"),
    ({"aud": ["portal", "someone-else"], "azp": "someone-else"}, "authorized party"),
    ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, "expired"),
    ({"iat": int(time.time()) + 3600, "exp": int(time.time()) + 7200}, "future"),
])
def test_foreign_expired_or_future_tokens_are_refused(client, idp, claims, reason):
    idp.id_token_claims = claims
    assert_refused(sign_in(client, idp), reason)


def test_several_audiences_with_our_azp_sign_in(client, idp):
    idp.id_token_claims = {"aud": ["portal", "someone-else"], "azp": "portal"}
    assert sign_in(client, idp).status_code == 302 and signed_in_as(client) == "ines"


def test_client_secret_post_sends_the_secret_in_the_form():
    fake = FakeIdP(token_auth_method="client_secret_post")
    with serve(fake), configure(fake):
        fake.set_user("sub-1", preferred_username="ines", groups=["dh-finance-consumer"])
        from django.test import Client

        client = Client()
        assert sign_in(client, fake).status_code == 302
        assert signed_in_as(client) == "ines"
        assert fake.token_requests[-1]["form"]["client_secret"] == "s3cret"
        assert not fake.token_requests[-1]["authorization"]


def test_private_key_jwt_signs_a_client_assertion_the_idp_verifies():
    key = new_key()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    fake = FakeIdP(token_auth_method="private_key_jwt", client_public_key=key.public_key())
    with serve(fake), configure(fake, private_key=pem, private_key_id="portal-1", secret=""):
        fake.set_user("sub-1", preferred_username="ines", groups=["dh-finance-consumer"])
        from django.test import Client

        client = Client()
        assert sign_in(client, fake).status_code == 302
        assert signed_in_as(client) == "ines"
        form = fake.token_requests[-1]["form"]
        assert "client_secret" not in form and form["client_assertion"].count(".") == 2

    # The same IdP refuses an assertion signed with another key: the portal shows the refusal.
    fake = FakeIdP(token_auth_method="private_key_jwt", client_public_key=new_key().public_key())
    with serve(fake), configure(fake, private_key=pem, secret=""):
        fake.set_user("sub-1", preferred_username="ines", groups=["dh-finance-consumer"])
        from django.test import Client

        assert_refused(sign_in(Client(), fake), "refused the authorization code")


def test_scopes_can_be_set_per_provider():
    fake = FakeIdP()
    with serve(fake), configure(fake, scopes="openid profile email groups"):
        fake.set_user("sub-1", preferred_username="ines", groups=["dh-finance-consumer"])
        from django.test import Client

        sign_in(Client(), fake)
        assert set(fake.authorize_requests[-1]["scope"].split()) == {"openid", "profile", "email", "groups"}


def test_the_userinfo_of_another_subject_is_refused(client, idp):
    idp.set_user("sub-2", preferred_username="other", groups=["dh-admins"])
    idp.id_token_claims = {"sub": "sub-2"}  # the ID token is about sub-2, the access token about sub-1
    assert_refused(sign_in(client, idp), "another user")
    assert not get_user_model().objects.filter(username="other").exists()


def test_a_callback_with_a_forged_state_is_refused_not_a_500(client, idp):
    response = client.get("/accounts/oidc/fake/login/callback/", {"code": "abc", "state": "forged"})
    assert response.status_code == 401


def test_a_discovery_document_naming_another_issuer_is_refused(client, idp):
    original = idp._discovery

    def other_issuer(request):
        response = original(request)
        body = json.loads(response.get_data())
        return idp._json({**body, "issuer": "https://elsewhere.example.com"})

    idp._discovery = other_issuer
    response = client.post("/accounts/oidc/fake/login/", {"next": "/tokens/"})
    assert response.status_code == 401 and "not &#x27;http://127.0.0.1" in response.content.decode()
    callback = client.get("/accounts/oidc/fake/login/callback/", {"code": "abc", "state": "x"})
    assert callback.status_code == 401
