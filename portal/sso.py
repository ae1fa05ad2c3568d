"""Single sign-on configuration: OpenID Connect identity providers from the environment.

Pure (no Django models), so ``portal/settings.py`` can build allauth's settings-based
``SOCIALACCOUNT_PROVIDERS["openid_connect"]["APPS"]`` from it; no SocialApp rows needed.

Two forms, both may be used together:
- one IdP: ``OIDC_ISSUER_URL``, ``OIDC_CLIENT_ID``, ``OIDC_CLIENT_SECRET`` (provider id ``sso``);
- several: ``OIDC_PROVIDERS='[{"id": "corp", "name": "Corporate SSO", "issuer": "https://…",
  "client_id": "…", "secret": "…", "groups_claim": "roles"}]'`` (``name``, ``secret`` and
  ``groups_claim`` optional).
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ImproperlyConfigured

_PROVIDER_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")
_KNOWN_KEYS = {"id", "name", "issuer", "client_id", "secret", "groups_claim"}


def _app(provider_id: str, name: str, issuer: str, client_id: str, secret: str, groups_claim: str) -> dict[str, Any]:
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
        },
    }


def oidc_apps(issuer: str, client_id: str, secret: str, groups_claim: str,
              providers: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """allauth ``APPS`` entries for the configured IdPs; raises ImproperlyConfigured naming the bad entry."""
    apps: list[dict[str, Any]] = []
    if issuer:
        if not client_id:
            raise ImproperlyConfigured("OIDC_CLIENT_ID is required when OIDC_ISSUER_URL is set")
        apps.append(_app("sso", "Company SSO", issuer, client_id, secret, groups_claim))
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
        apps.append(_app(str(entry["id"]), str(entry.get("name") or entry["id"]), str(entry["issuer"]),
                         str(entry["client_id"]), str(entry.get("secret", "")),
                         str(entry.get("groups_claim") or groups_claim)))
    return apps
