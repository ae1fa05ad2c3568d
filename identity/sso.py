"""Single sign-on configuration: OpenID Connect identity providers from the environment.

Pure (no Django models), so ``portal/settings.py`` can build allauth's settings-based
``SOCIALACCOUNT_PROVIDERS["openid_connect"]["APPS"]`` from it; no SocialApp rows needed.

Two forms, both may be used together:
- one IdP: ``OIDC_ISSUER_URL``, ``OIDC_CLIENT_ID``, ``OIDC_CLIENT_SECRET`` (provider id ``sso``), with
  ``OIDC_SCOPES``, ``OIDC_TOKEN_AUTH_METHOD``, ``OIDC_PRIVATE_KEY`` and ``OIDC_PRIVATE_KEY_ID``;
- several: ``OIDC_PROVIDERS='[{"id": "corp", "name": "Corporate SSO", "issuer": "https://…",
  "client_id": "…", "secret": "…", "groups_claim": "roles", "scopes": "openid profile email roles",
  "token_auth_method": "private_key_jwt", "private_key": "-----BEGIN PRIVATE KEY-----…",
  "private_key_id": "portal-1"}]'`` (all but ``id``, ``issuer`` and ``client_id`` optional; the others
  default to the single-IdP variables).

Every issuer must be ``https://`` outside the embedded mode and tests: the ID token's signature is
always checked, but the discovery document and keys that check relies on must not travel in clear.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured

_PROVIDER_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")
_SCOPE_RE = re.compile(r"^[A-Za-z0-9:._/-]{1,100}$")
_KNOWN_KEYS = {"id", "name", "issuer", "client_id", "secret", "groups_claim", "scopes", "token_auth_method",
               "private_key", "private_key_id"}
TOKEN_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt")
DEFAULT_SCOPES = ("openid", "profile", "email")


@dataclass(frozen=True)
class ClientAuth:
    """How the portal authenticates at an IdP's token endpoint, and what it asks for."""

    scopes: tuple[str, ...] = DEFAULT_SCOPES
    token_auth_method: str = "client_secret_basic"
    private_key: str = ""  # PEM, for private_key_jwt
    private_key_id: str = ""  # the ``kid`` the IdP knows our public key by


def parse_scopes(value: Any, where: str) -> tuple[str, ...]:
    """Scopes from a space/comma separated string or a list; ``openid`` is always first."""
    if isinstance(value, str):
        items = value.replace(",", " ").split()
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = [v.strip() for v in value if v.strip()]
    else:
        raise ImproperlyConfigured(f"{where} must be a space-separated string or a list of scope names")
    if any(not _SCOPE_RE.match(item) for item in items):
        raise ImproperlyConfigured(f"{where}: scope names are letters, digits and :._-/ only, got {value!r}")
    return ("openid", *dict.fromkeys(i for i in items if i != "openid"))


def _check(where: str, issuer_var: str, issuer: str, auth: ClientAuth, allow_http: bool) -> None:
    if not (issuer.startswith("https://") or (allow_http and issuer.startswith("http://"))):
        raise ImproperlyConfigured(
            f"{issuer_var} must be an https:// URL (got {issuer!r}); plain http:// is only allowed in the embedded "
            f"mode and tests, since the IdP's keys that check every ID token travel over it")
    if auth.token_auth_method not in TOKEN_AUTH_METHODS:
        raise ImproperlyConfigured(f"{where}: token auth method must be one of {', '.join(TOKEN_AUTH_METHODS)}, "
                                   f"got {auth.token_auth_method!r}")
    if auth.token_auth_method == "private_key_jwt":
        if not auth.private_key:
            raise ImproperlyConfigured(f"{where}: private_key_jwt needs a private key (OIDC_PRIVATE_KEY or "
                                       f"\"private_key\")")
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        try:
            load_pem_private_key(auth.private_key.encode(), password=None)
        except (ValueError, TypeError) as exc:
            raise ImproperlyConfigured(f"{where}: the private key is not an unencrypted PEM key: {exc}") from None


def _app(provider_id: str, name: str, issuer: str, client_id: str, secret: str, groups_claim: str,
         auth: ClientAuth) -> dict[str, Any]:
    return {
        "provider_id": provider_id,
        "name": name,
        "client_id": client_id,
        "secret": secret,
        "settings": {
            "server_url": issuer.rstrip("/"),
            # The groups claim is usually only in the userinfo answer or the ID token; we read both.
            "fetch_userinfo": True,
            "oauth_pkce_enabled": True,
            "groups_claim": groups_claim,
            "scope": list(auth.scopes),
            "token_auth_method": auth.token_auth_method,
            "private_key": auth.private_key,
            "private_key_id": auth.private_key_id,
        },
    }


def oidc_apps(issuer: str, client_id: str, secret: str, groups_claim: str,
              providers: list[dict[str, Any]] | None, *, auth: ClientAuth | None = None,
              allow_http: bool = False) -> list[dict[str, Any]]:
    """allauth ``APPS`` entries for the configured IdPs; raises ImproperlyConfigured naming the bad entry
    (and the variable: ``OIDC_ISSUER_URL`` or ``OIDC_PROVIDERS[i]``).

    ``auth`` holds the single-IdP settings, also the defaults of each ``OIDC_PROVIDERS`` entry;
    ``allow_http`` admits ``http://`` issuers (embedded mode and tests only).
    """
    auth = auth or ClientAuth()
    apps: list[dict[str, Any]] = []
    if issuer:
        if not client_id:
            raise ImproperlyConfigured("OIDC_CLIENT_ID is required when OIDC_ISSUER_URL is set")
        _check("OIDC_TOKEN_AUTH_METHOD", "OIDC_ISSUER_URL", issuer, auth, allow_http)
        apps.append(_app("sso", "Company SSO", issuer, client_id, secret, groups_claim, auth))
    if providers is None:
        return apps
    if not isinstance(providers, list):
        raise ImproperlyConfigured("OIDC_PROVIDERS must be a JSON list of objects")
    for index, entry in enumerate(providers):
        where = f"OIDC_PROVIDERS[{index}]"
        if not isinstance(entry, dict):
            raise ImproperlyConfigured(f"{where} must be an object")
        unknown = set(entry) - _KNOWN_KEYS
        if unknown:
            raise ImproperlyConfigured(f"{where}: unknown keys {sorted(unknown)} (known: {sorted(_KNOWN_KEYS)})")
        missing = [k for k in ("id", "issuer", "client_id") if not entry.get(k)]
        if missing:
            raise ImproperlyConfigured(f"{where}: missing {missing}")
        if not _PROVIDER_ID_RE.match(str(entry["id"])):
            raise ImproperlyConfigured(f"{where}: id {entry['id']!r} must be lower-case letters, digits, - or _")
        if any(app["provider_id"] == entry["id"] for app in apps):
            raise ImproperlyConfigured(f"{where}: duplicate id {entry['id']!r}")
        entry_auth = ClientAuth(
            scopes=parse_scopes(entry["scopes"], f"{where}.scopes") if "scopes" in entry else auth.scopes,
            token_auth_method=str(entry.get("token_auth_method") or auth.token_auth_method),
            private_key=str(entry.get("private_key") or auth.private_key),
            private_key_id=str(entry.get("private_key_id") or auth.private_key_id),
        )
        _check(where, f"{where}.issuer (OIDC_PROVIDERS)", str(entry["issuer"]), entry_auth, allow_http)
        apps.append(_app(str(entry["id"]), str(entry.get("name") or entry["id"]), str(entry["issuer"]),
                         str(entry["client_id"]), str(entry.get("secret", "")),
                         str(entry.get("groups_claim") or groups_claim), entry_auth))
    return apps
