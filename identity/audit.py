"""Audit trail: who did what, in which role, when and from where.

Call ``record`` from services for logins, role switches, token create/revoke,
curation edits, provisioning and workspace actions. Events are rows of
``identity.models.AuditEvent``, listed for admins at ``/audit/`` and ``GET /api/v1/audit``.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from typing import Any

from django.conf import settings
from django.http import HttpRequest

log = logging.getLogger("identity.audit")


def client_ip(request: HttpRequest | Any) -> str | None:
    """The caller's address: REMOTE_ADDR, or the address ``TRUSTED_PROXY_COUNT`` hops back in
    X-Forwarded-For when the portal runs behind that many trusted proxies (load balancers)."""
    meta = getattr(request, "META", {})
    address = meta.get("REMOTE_ADDR") or None
    hops = settings.TRUSTED_PROXY_COUNT
    forwarded = [a.strip() for a in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
    if hops and len(forwarded) >= hops:
        address = forwarded[-hops]
    try:
        return str(ipaddress.ip_address(address)) if address else None
    except ValueError:
        return None


def _role_text(role: Any) -> str:
    if role is None:
        return ""
    return str(getattr(role, "key", role))[:150]


def _jsonable(details: dict[str, Any] | None) -> dict[str, Any]:
    # Details come from many callers; anything not JSON-serialisable is stored as its text.
    return json.loads(json.dumps(details or {}, default=str))


def record(actor: Any, action: str, *, role: Any = None, target: str = "", details: dict[str, Any] | None = None,
           ip: str | None = None) -> None:
    """Record one audited action. ``actor`` is a User (or None for the system); ``role`` a portal Role.

    Never raises for bad details (they are stored as text); a database error propagates,
    so an audited write inside a transaction fails with its audit row.
    """
    from identity.models import AuditEvent

    user = actor if getattr(actor, "pk", None) is not None else None
    username = getattr(actor, "username", "") if actor is not None else ""
    try:
        ip = str(ipaddress.ip_address(ip)) if ip else None
    except ValueError:
        ip = None
    AuditEvent.objects.create(
        actor=user, username=username or "", role=_role_text(role), action=action[:100],
        target=str(target or "")[:500], details=_jsonable(details), ip=ip,
    )
    log.info("audit %s by %s as %s on %s %s", action, username or "system", _role_text(role), target, details or {})
