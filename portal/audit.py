"""Audit trail: who did what, in which role, when and from where (owned by the identity feature).

Call ``record`` from services for logins, role switches, token create/revoke,
curation edits, provisioning and workspace actions.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("portal.audit")


def record(actor: Any, action: str, *, role: Any = None, target: str = "", details: dict[str, Any] | None = None,
           ip: str | None = None) -> None:
    """Record one audited action. ``actor`` is a User (or None for the system); ``role`` a portal Role."""
    log.info("audit %s by %s as %s on %s %s", action, actor, role, target, details or {})
