"""Strict OpenID Connect on top of allauth: every ID token checked, nonce, token endpoint auth, refresh.

allauth skips the ID token's signature when the token came from the token endpoint (OIDC Core
allows that only over TLS) and sends no nonce. Here the ID token is always validated — signature
against the IdP's JWKS (an unknown ``kid`` refetches the keys once, for key rotation), ``iss``,
``aud``, ``azp`` when several audiences, ``exp``/``iat`` with ``OIDC_LEEWAY_SECONDS``, the ``nonce``
sent with this login, and never the same token twice. Logout tokens (Back-Channel Logout) go
through the same checks.

``StrictOIDCProvider`` replaces allauth's provider (``identity.adapters.SocialAccountAdapter``
returns it) and the login/callback views in ``identity.sso_views`` use ``StrictOIDCAdapter``.
Errors raise ``OAuth2Error`` so allauth's callback turns them into a refused sign-in, never a 500.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
import uuid
from typing import Any
from urllib.parse import quote, urlencode

import jwt
import requests
from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.helpers import render_authentication_error
from allauth.socialaccount.providers.oauth2.client import OAuth2Client, OAuth2Error
from allauth.socialaccount.providers.openid_connect.provider import OpenIDConnectProvider
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

log = logging.getLogger(__name__)

# Asymmetric algorithms only: "none" carries no signature, and HS* would make the client secret a signing key.
ALLOWED_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
DISCOVERY_CACHE_SECONDS = 3600
JWKS_CACHE_SECONDS = 3600
# Forged tokens with random kids must not make the portal hammer the IdP: one forced refetch per window.
JWKS_REFETCH_MIN_SECONDS = 5
BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
STATE_NONCE_KEY = "oidc_nonce"


class TokenRefused(OAuth2Error):
    """An ID token or logout token failed validation; the message says which check."""


def _http_json(url: str) -> dict[str, Any]:
    with get_adapter().get_requests_session() as sess:
        response = sess.get(url, timeout=10)
        response.raise_for_status()
        data = response.json()
    if not isinstance(data, dict):
        raise OAuth2Error(f"{url} did not answer a JSON object")
    return data


def _cache_key(kind: str, url: str) -> str:
    return f"portal:oidc:{kind}:{hashlib.sha256(url.encode()).hexdigest()[:32]}"


def discovery(server_url: str) -> dict[str, Any]:
    """The IdP's discovery document (``server_url`` is the issuer or its well-known URL), cached an hour."""
    url = server_url if "/.well-known/" in server_url else server_url.rstrip("/") + "/.well-known/openid-configuration"
    key = _cache_key("discovery", url)
    config = cache.get(key)
    if config is None:
        config = _http_json(url)
        cache.set(key, config, DISCOVERY_CACHE_SECONDS)
    return config


def provider_config(server_url: str) -> dict[str, Any]:
    """The discovery document of the configured issuer, refused unless its ``issuer`` is that issuer
    (OIDC Discovery 4.3): tokens are then checked against the issuer the operator configured."""
    config = discovery(server_url)
    configured = server_url.split("/.well-known/")[0].rstrip("/")
    if not isinstance(config.get("issuer"), str) or config["issuer"].rstrip("/") != configured:
        raise OAuth2Error(f"The IdP's discovery document names issuer {config.get('issuer')!r}, not {configured!r}.")
    return config


def jwks(jwks_uri: str, *, refetch: bool = False) -> dict[str, Any]:
    """The IdP's key set, cached; ``refetch`` reads it again (at most once per JWKS_REFETCH_MIN_SECONDS)."""
    key = _cache_key("jwks", jwks_uri)
    keys = None if refetch else cache.get(key)
    if refetch and not cache.add(_cache_key("jwks-refetch", jwks_uri), 1, JWKS_REFETCH_MIN_SECONDS):
        keys = cache.get(key)  # refetched a moment ago: a new kid would be there already
    if keys is None:
        keys = _http_json(jwks_uri)
        cache.set(key, keys, JWKS_CACHE_SECONDS)
    return keys


def _find_key(key_set: dict[str, Any], kid: str | None, alg: str) -> Any:
    candidates = [k for k in key_set.get("keys", []) if isinstance(k, dict) and k.get("use", "sig") == "sig"]
    if kid is not None:
        candidates = [k for k in candidates if k.get("kid") == kid]
    elif len(candidates) != 1:
        return None  # without a kid only a single published key is unambiguous
    for candidate in candidates:
        if candidate.get("alg") not in (None, alg):
            raise TokenRefused(f"The token's algorithm {alg} is not the one of its key.")
        try:
            return jwt.PyJWK(candidate, algorithm=alg).key
        except (jwt.PyJWTError, ValueError, TypeError, KeyError) as exc:
            raise TokenRefused(f"The IdP's key {kid!r} cannot be used: {exc}") from None
    return None


def validate_jwt(token: str, *, issuer: str, client_id: str, jwks_uri: str, nonce: str | None = None,
                 logout: bool = False) -> dict[str, Any]:
    """The claims of an ID token (or, with ``logout``, a Back-Channel logout token) after every check.

    Raises TokenRefused naming the failed check: algorithm (``none`` and HS* refused), unknown key
    (after one refetch of the JWKS), signature, ``iss``, ``aud``, ``azp``, ``exp``/``iat``, ``nonce``
    (must equal the one sent; a logout token must carry none and the logout event), and replay.
    """
    if not isinstance(token, str) or token.count(".") != 2 or len(token) > 16384:
        raise TokenRefused("The token is not a signed JWT.")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise TokenRefused("The token's header is unreadable.") from None
    alg = header.get("alg")
    if alg not in ALLOWED_ALGORITHMS:
        raise TokenRefused(f"The token's signing algorithm {alg!r} is not accepted.")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise TokenRefused("The token's key id is not a string.")
    key = _find_key(jwks(jwks_uri), kid, alg)
    if key is None:  # the IdP may have rotated its keys since we cached them
        key = _find_key(jwks(jwks_uri, refetch=True), kid, alg)
    if key is None:
        raise TokenRefused(f"The token is signed with a key the IdP does not publish (kid {kid!r}).")
    required = ["iss", "aud", "exp", "iat", "jti", "events"] if logout else ["iss", "sub", "aud", "exp", "iat"]
    try:
        claims = jwt.decode(token, key=key, algorithms=[alg], audience=client_id, issuer=issuer,
                            leeway=settings.OIDC_LEEWAY_SECONDS,
                            options={"require": required})
    except jwt.InvalidSignatureError:
        raise TokenRefused("The token's signature does not verify with the IdP's key.") from None
    except jwt.ExpiredSignatureError:
        raise TokenRefused("The token has expired.") from None
    except jwt.ImmatureSignatureError:
        raise TokenRefused("The token is issued in the future.") from None
    except jwt.InvalidIssuerError:
        raise TokenRefused("The token comes from another issuer.") from None
    except jwt.InvalidAudienceError:
        raise TokenRefused("The token is meant for another client.") from None
    except jwt.PyJWTError as exc:
        raise TokenRefused(f"The token is invalid: {exc}") from None
    now = time.time()
    iat = claims.get("iat")
    if not isinstance(iat, (int, float)) or iat > now + settings.OIDC_LEEWAY_SECONDS:
        raise TokenRefused("The token is issued in the future.")
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if (len(audiences) > 1 or "azp" in claims) and claims.get("azp") != client_id:
        raise TokenRefused("The token's authorized party (azp) is another client.")
    if logout:
        events = claims.get("events")
        if not isinstance(events, dict) or BACKCHANNEL_LOGOUT_EVENT not in events:
            raise TokenRefused("The token is not a logout token (no back-channel logout event).")
        if "nonce" in claims:
            raise TokenRefused("A logout token must not carry a nonce.")
        if not claims.get("sub") and not claims.get("sid"):
            raise TokenRefused("The logout token names neither a subject nor a session.")
    elif nonce is None or not isinstance(claims.get("nonce"), str) or not hmac.compare_digest(claims["nonce"], nonce):
        raise TokenRefused("The token's nonce is not the one this sign-in sent (a replayed or foreign token).")
    # A token is used once: the same ID token (or logout token) presented again is a replay.
    expires = claims["exp"]
    seen_key = _cache_key("seen", hashlib.sha256(token.encode()).hexdigest())
    if not cache.add(seen_key, 1, max(int(expires - now + settings.OIDC_LEEWAY_SECONDS), 1)):
        raise TokenRefused("The token was already used.")
    return claims


# --- Token endpoint ---------------------------------------------------------------------


def client_assertion(client_id: str, token_url: str, private_key: str, key_id: str) -> str:
    """A private_key_jwt client assertion (RFC 7523): signed by the portal's key, valid one minute."""
    now = int(time.time())
    headers = {"kid": key_id} if key_id else None
    return jwt.encode({"iss": client_id, "sub": client_id, "aud": token_url, "jti": uuid.uuid4().hex,
                       "iat": now, "exp": now + 60}, private_key, algorithm="RS256", headers=headers)


def token_request_auth(app_settings: dict[str, Any], client_id: str, secret: str, token_url: str
                       ) -> tuple[dict[str, str], Any]:
    """(form fields, requests auth) that authenticate the portal at the token endpoint by the app's method."""
    method = app_settings.get("token_auth_method") or "client_secret_basic"
    if method == "private_key_jwt":
        return {"client_id": client_id,
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": client_assertion(client_id, token_url, app_settings.get("private_key", ""),
                                                     app_settings.get("private_key_id", ""))}, None
    if method == "client_secret_post":
        return {"client_id": client_id, "client_secret": secret}, None
    # RFC 6749 2.3.1: both parts form-encoded before Basic, so a colon in the client id survives.
    return {}, requests.auth.HTTPBasicAuth(quote(client_id, safe=""), quote(secret, safe=""))


class PortalOAuth2Client(OAuth2Client):
    """allauth's client with the token endpoint authentication the app is configured for."""

    app_settings: dict[str, Any] = {}

    def get_access_token(self, code: str, pkce_code_verifier: str | None = None, extra_data: Any = None) -> Any:
        fields, auth = token_request_auth(self.app_settings, self.consumer_key, self.consumer_secret,
                                          self.access_token_url)
        data = {"redirect_uri": self.callback_url, "grant_type": "authorization_code", "code": code, **fields}
        if pkce_code_verifier:
            data["code_verifier"] = pkce_code_verifier
        with get_adapter().get_requests_session() as sess:
            resp = sess.post(self.access_token_url, data=data, auth=auth, timeout=15)
        try:
            answer = resp.json()
        except ValueError:
            answer = None
        if resp.status_code != 200 or not isinstance(answer, dict) or "access_token" not in answer:
            raise OAuth2Error(f"The IdP refused the authorization code (HTTP {resp.status_code}).")
        return answer


class StrictOIDCAdapter(OpenIDConnectOAuth2Adapter):
    client_class = PortalOAuth2Client
    # Set by identity.sso_views.StrictCallbackView from the login's stashed state (it holds the nonce).
    state: dict[str, Any] | None = None

    @property
    def openid_config(self) -> dict[str, Any]:
        if not hasattr(self, "_openid_config"):
            provider = self.get_provider()
            config = dict(provider_config(provider.app.settings["server_url"]))
            config.update(provider.app.settings.get("openid_configuration_overrides", {}))
            self._openid_config = config
        return self._openid_config

    @property
    def basic_auth(self) -> bool:
        return False  # PortalOAuth2Client applies the configured method itself

    def get_client(self, request: HttpRequest, app: Any) -> Any:
        client = super().get_client(request, app)
        client.app_settings = app.settings
        return client

    def complete_login(self, request: HttpRequest, app: Any, token: Any, **kwargs: Any) -> Any:
        response = kwargs["response"]
        raw = response.get("id_token")
        if not raw:
            raise TokenRefused("The IdP sent no ID token.")
        claims = validate_jwt(raw, issuer=self.openid_config["issuer"], client_id=app.client_id,
                              jwks_uri=self.openid_config["jwks_uri"], nonce=(self.state or {}).get(STATE_NONCE_KEY))
        data: dict[str, Any] = {"id_token": claims}
        if app.settings.get("fetch_userinfo", True) and self.openid_config.get("userinfo_endpoint"):
            userinfo = self._fetch_user_info(token.token)
            # OIDC Core 5.3.2: a userinfo answer about another subject must not be used.
            if userinfo.get("sub") != claims["sub"]:
                raise TokenRefused("The userinfo answer is about another user than the ID token.")
            data["userinfo"] = userinfo
        login = self.get_provider().sociallogin_from_response(request, data)
        # Kept in the session by identity.signals (never in the database): the ID token for the logout hint,
        # the refresh token for the group refresh.
        login.portal_oidc = {"provider": self.provider_id, "id_token": raw, "sid": claims.get("sid", ""),
                             "refresh_token": response.get("refresh_token", "")}
        return login


class StrictOIDCProvider(OpenIDConnectProvider):
    oauth2_adapter_class = StrictOIDCAdapter

    def redirect(self, request: HttpRequest, process: Any, next_url: Any = None, data: Any = None,
                 **kwargs: Any) -> Any:
        # A fresh nonce per sign-in, sent to the IdP and stashed with allauth's state (used once).
        nonce = secrets.token_urlsafe(32)
        auth_params = kwargs.pop("auth_params", None)
        auth_params = dict(auth_params if auth_params is not None else self.get_auth_params())
        auth_params["nonce"] = nonce
        kwargs[STATE_NONCE_KEY] = nonce
        try:
            return super().redirect(request, process, next_url, data, auth_params=auth_params, **kwargs)
        except OAuth2Error as exc:  # e.g. a discovery document naming another issuer
            return render_authentication_error(request, self, exception=exc)

    def verify_token(self, request: HttpRequest, token: Any) -> Any:
        # Token-based sign-in (allauth headless) cannot carry our nonce: refused.
        raise get_adapter().validation_error("invalid_token")


# --- Refresh and logout ---------------------------------------------------------------------


class RefreshRefused(Exception):
    """The IdP refused the refresh token (revoked, expired, user disabled)."""


def refresh_userinfo(app: Any, refresh_token: str) -> tuple[dict[str, Any], str]:
    """(userinfo claims, the refresh token to keep) from a refresh grant at the IdP.

    Raises RefreshRefused when the IdP refuses the refresh token; requests errors (IdP unreachable)
    propagate, so the caller can keep the session and try later.
    """
    config = discovery(app.settings["server_url"])
    fields, auth = token_request_auth(app.settings, app.client_id, app.secret, config["token_endpoint"])
    with get_adapter().get_requests_session() as sess:
        resp = sess.post(config["token_endpoint"], auth=auth, timeout=15,
                         data={"grant_type": "refresh_token", "refresh_token": refresh_token, **fields})
        if resp.status_code in (400, 401, 403):
            raise RefreshRefused(f"The IdP refused the refresh (HTTP {resp.status_code}).")
        resp.raise_for_status()
        answer = resp.json()
        access_token = answer.get("access_token") if isinstance(answer, dict) else None
        if not access_token:
            raise RefreshRefused("The IdP's refresh answer has no access token.")
        info = sess.get(config["userinfo_endpoint"], headers={"Authorization": f"Bearer {access_token}"}, timeout=15)
        if info.status_code in (401, 403):
            raise RefreshRefused(f"The IdP refused the refreshed access token (HTTP {info.status_code}).")
        info.raise_for_status()
        claims = info.json()
    if not isinstance(claims, dict):
        raise RefreshRefused("The IdP's userinfo answer is not an object.")
    return claims, answer.get("refresh_token") or refresh_token


def end_session_url(app: Any, id_token: str, post_logout_redirect_uri: str) -> str | None:
    """The IdP's RP-initiated logout URL with ``id_token_hint``, or None when it publishes no
    ``end_session_endpoint`` (or cannot be reached: signing out of the portal never waits on it)."""
    try:
        endpoint = discovery(app.settings["server_url"]).get("end_session_endpoint")
    except (requests.RequestException, OAuth2Error, ValueError) as exc:
        log.warning("No RP-initiated logout: discovery of %s failed: %s", app.settings["server_url"], exc)
        return None
    if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
        return None
    params = {"id_token_hint": id_token, "post_logout_redirect_uri": post_logout_redirect_uri,
              "client_id": app.client_id}
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(params)}"
