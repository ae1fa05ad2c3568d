"""Personal access tokens: shown once, stored hashed, bound to one role, expiring, revocable, throttled."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import override_settings
from django.utils import timezone

from identity import services
from identity.models import AccessToken, AuditEvent
from identity.roles import Role
from portal.testing.personas import bearer, login_persona, make_user, token_for

pytestmark = pytest.mark.django_db

FINANCE_CONSUMER = Role("consumer", "finance")


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def test_a_token_authenticates_as_its_user_in_its_role(client):
    secret = token_for("jane", FINANCE_CONSUMER)
    response = client.get("/api/v1/me", **bearer(secret))
    assert response.status_code == 200
    assert response.json()["username"] == "jane"
    assert response.json()["role"]["persona"] == "consumer"
    assert response.json()["role"]["hub"] == "finance"


def test_only_the_sha256_of_the_token_is_stored():
    secret = token_for("jane", FINANCE_CONSUMER)
    token = AccessToken.objects.get()
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    stored = [str(v) for v in AccessToken.objects.values_list(flat=False).get()]
    assert not any(secret in value for value in stored)
    assert secret.startswith(token.prefix)


def test_use_records_last_used_time_and_address(client):
    secret = token_for("jane", FINANCE_CONSUMER)
    assert AccessToken.objects.get().last_used_at is None
    client.get("/api/v1/me", REMOTE_ADDR="10.1.2.3", **bearer(secret))
    token = AccessToken.objects.get()
    assert token.last_used_at is not None and timezone.now() - token.last_used_at < timedelta(seconds=10)
    assert token.last_used_ip == "10.1.2.3"


@pytest.mark.parametrize("header", ["Bearer dhp_not-a-real-token", "Bearer", "Bearer a b"])
def test_unknown_or_malformed_tokens_get_401_json(client, header):
    response = client.get("/api/v1/me", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert "error" in response.json()


def test_a_revoked_token_gets_401(client):
    secret = token_for("jane", FINANCE_CONSUMER)
    token = AccessToken.objects.get()
    services.revoke_token(token.user, token.pk)
    response = client.get("/api/v1/me", **bearer(secret))
    assert response.status_code == 401
    assert response.json()["error"] == "Token revoked."


def test_an_expired_token_gets_401(client):
    secret = token_for("jane", FINANCE_CONSUMER)
    AccessToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get("/api/v1/me", **bearer(secret))
    assert response.status_code == 401
    assert response.json()["error"] == "Token expired."


def test_losing_the_group_that_granted_the_role_kills_the_token(client):
    secret = token_for("jane", FINANCE_CONSUMER)
    assert client.get("/api/v1/me", **bearer(secret)).status_code == 200
    user = make_user("jane")
    user.groups.clear()
    response = client.get("/api/v1/me", **bearer(secret))
    assert response.status_code == 401
    assert "no longer granted" in response.json()["error"]


def test_a_token_cannot_be_issued_for_a_role_the_user_does_not_hold():
    user = make_user("jane", ["dh-finance-consumer"])
    with pytest.raises(services.RoleNotGranted):
        services.create_token(user, "steward:finance")


@override_settings(BAD_TOKEN_LIMIT=3, BAD_TOKEN_WINDOW_SECONDS=60)
def test_repeated_bad_tokens_from_one_address_are_slowed_down(client):
    for _ in range(3):
        assert client.get("/api/v1/me", REMOTE_ADDR="10.9.9.9", **bearer("dhp_guess")).status_code == 401
    blocked = client.get("/api/v1/me", REMOTE_ADDR="10.9.9.9", **bearer("dhp_guess"))
    assert blocked.status_code == 429
    assert int(blocked["Retry-After"]) > 0
    # Another address sending the same bad token is not slowed down by the first one's count.
    assert client.get("/api/v1/me", REMOTE_ADDR="10.9.9.10", **bearer("dhp_guess")).status_code == 401


def test_a_valid_token_works_after_ten_bad_ones_from_its_address(client):
    # The default limits (10 per address and prefix): a job behind the same NAT keeps failing.
    good = token_for("jane", FINANCE_CONSUMER)
    statuses = [client.get("/api/v1/me", REMOTE_ADDR="10.9.9.9", **bearer("dhp_guessguess")).status_code
                for _ in range(11)]
    assert statuses[:10] == [401] * 10 and statuses[10] == 429
    assert client.get("/api/v1/me", REMOTE_ADDR="10.9.9.9", **bearer(good)).status_code == 200
    # Another user's bad tokens (another prefix) from that address are not throttled by the first job's count.
    assert client.get("/api/v1/me", REMOTE_ADDR="10.9.9.9", **bearer("dhp_otheruser1")).status_code == 401


@override_settings(BAD_TOKEN_LIMIT=50, BAD_TOKEN_ADDRESS_LIMIT=4)
def test_many_different_bad_tokens_from_one_address_are_slowed_down_but_valid_ones_pass(client):
    good = token_for("jane", FINANCE_CONSUMER)
    statuses = [client.get("/api/v1/me", REMOTE_ADDR="10.9.9.9", **bearer(f"dhp_guess{i:04d}")).status_code
                for i in range(5)]
    assert statuses == [401, 401, 401, 401, 429]
    assert client.get("/api/v1/me", REMOTE_ADDR="10.9.9.9", **bearer(good)).status_code == 200


def test_the_tokens_page_shows_a_new_token_once_and_lists_it(client):
    login_persona(client, "finance_steward")
    response = client.post("/tokens/", {"name": "nightly export", "role": "steward:finance", "days": 7})
    assert response.status_code == 200
    secret = response.context["issued"].secret
    assert secret in response.content.decode()
    listing = client.get("/tokens/").content.decode()
    assert "nightly export" in listing and secret not in listing
    token = AccessToken.objects.get()
    assert token.expires_at - token.created_at == timedelta(days=7)
    assert AuditEvent.objects.filter(action="token.create", username="finance_steward").exists()


def test_the_tokens_page_refuses_a_role_the_user_does_not_hold(client):
    login_persona(client, "finance_consumer")
    response = client.post("/tokens/", {"name": "sneaky", "role": "admin", "days": 7})
    assert response.status_code == 400
    assert not AccessToken.objects.exists()


def test_revoking_from_the_page_stops_the_token_and_is_audited(client):
    login_persona(client, "finance_consumer")
    secret = token_for("finance_consumer", FINANCE_CONSUMER)
    token = AccessToken.objects.get()
    assert client.post(f"/tokens/{token.pk}/revoke").status_code == 302
    assert client.get("/api/v1/me", **bearer(secret)).status_code == 401
    assert AuditEvent.objects.filter(action="token.revoke", target=f"token:{token.pk}").exists()


def test_nobody_can_revoke_someone_elses_token(client):
    token_for("jane", FINANCE_CONSUMER)
    login_persona(client, "marketing_consumer")
    token = AccessToken.objects.get()
    assert client.post(f"/tokens/{token.pk}/revoke").status_code == 404
    assert client.delete(f"/api/v1/tokens/{token.pk}").status_code == 404
    assert AccessToken.objects.get().revoked_at is None


def test_the_api_creates_tokens_from_a_session_but_not_from_a_token(client):
    login_persona(client, "finance_consumer")
    created = client.post("/api/v1/tokens", {"name": "ci", "role": "consumer:finance", "days": 5},
                          content_type="application/json")
    assert created.status_code == 201
    secret = created.json()["token"]
    assert client.get("/api/v1/me", **bearer(secret)).status_code == 200
    minted = client.post("/api/v1/tokens", {"name": "again", "role": "consumer:finance"},
                         content_type="application/json", **bearer(secret))
    assert minted.status_code == 403
    listed = client.get("/api/v1/tokens", **bearer(secret)).json()["results"]
    assert [t["name"] for t in listed] == ["ci"] and "token" not in listed[0]


def test_the_client_address_behind_trusted_proxies_is_the_forwarded_one(rf, settings):
    from identity.audit import client_ip

    request = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9, 10.0.0.2")
    assert client_ip(request) == "10.0.0.1"  # no trusted proxy: a forged header is ignored
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request) == "10.0.0.2"
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_ip(request) == "203.0.113.9"
