"""Small typed readers for settings from the environment.

Every reader fails loudly with a message that names the variable, so a bad
value stops the process at start-up instead of surfacing as a 500 later.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured


def env_str(name: str, default: str = "") -> str:
    """The variable's value, or the content of the file named by NAME_FILE (for secrets)."""
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        try:
            return Path(file_path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE: cannot read {file_path}: {exc}") from exc
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false/1/0), got {raw!r}")


def env_int(name: str, default: int, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_float(name: str, default: float, minimum: float | None = None, maximum: float | None = None) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ImproperlyConfigured(f"{name} must be between {minimum} and {maximum}, got {value}")
    return value


def env_json(name: str, default: Any) -> Any:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be valid JSON: {exc}") from None


_ACCOUNT_RE = re.compile(r"^\d{12}$")
_REGION_RE = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")


@dataclass(frozen=True)
class GlueCatalogRef:
    """One Glue Data Catalog to mirror: the account's catalog in one region."""

    account_id: str
    region: str

    @property
    def key(self) -> str:
        return f"{self.account_id}:{self.region}"


def parse_glue_catalogs(raw: str, default_account: str, default_region: str) -> list[GlueCatalogRef]:
    """Parse GLUE_CATALOGS: comma-separated ``ACCOUNT:REGION`` pairs (or ``REGION`` alone).

    Raises ImproperlyConfigured naming the entry that is not a catalog.
    """
    if not raw.strip():
        return [GlueCatalogRef(default_account, default_region)]
    refs: list[GlueCatalogRef] = []
    for entry in (part.strip() for part in raw.split(",")):
        if not entry:
            continue
        account, _, region = entry.rpartition(":")
        account = account or default_account
        if not _ACCOUNT_RE.match(account) or not _REGION_RE.match(region):
            raise ImproperlyConfigured(
                f"GLUE_CATALOGS: unknown catalog {entry!r}; expected ACCOUNT_ID:REGION "
                f"such as 123456789012:eu-central-1"
            )
        refs.append(GlueCatalogRef(account, region))
    if len(set(refs)) != len(refs):
        raise ImproperlyConfigured(f"GLUE_CATALOGS: duplicate catalog in {raw!r}")
    return refs


def parse_email_url(raw: str) -> dict[str, Any]:
    """EMAIL_URL as host, port, user, password, tls, ssl: ``smtp://user:pass@host:587?tls=true`` or ``smtps://``."""
    from urllib.parse import parse_qs, unquote, urlsplit

    parts = urlsplit(raw)
    if parts.scheme not in ("smtp", "smtps", "submission") or not parts.hostname:
        raise ImproperlyConfigured(f"EMAIL_URL must look like smtp://user:password@host:587?tls=true, got {parts.scheme}://…")
    query = {k: v[-1].lower() for k, v in parse_qs(parts.query).items()}
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured("EMAIL_URL has a bad port") from None
    ssl = parts.scheme == "smtps" or query.get("ssl") in ("1", "true", "yes")
    tls = not ssl and (parts.scheme == "submission" or query.get("tls") in ("1", "true", "yes"))
    return {"host": parts.hostname, "port": port or (465 if ssl else 587 if tls else 25),
            "user": unquote(parts.username or ""), "password": unquote(parts.password or ""), "tls": tls, "ssl": ssl}
