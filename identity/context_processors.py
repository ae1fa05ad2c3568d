"""Values every template needs: the selected role and the roles a user may switch to."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from identity import roles
from portal.security import password_reset_available


def _granted_in_session(request: HttpRequest) -> list[roles.Role]:
    # Kept in the session at login / on the selection page, so the header costs no query.
    session = getattr(request, "session", None)
    data = session.get(roles.GRANTED_SESSION_KEY, []) if session is not None else []
    granted = []
    for item in data:
        try:
            granted.append(roles.Role.from_dict(item))
        except (KeyError, ValueError, TypeError):
            continue
    return granted


def portal(request: HttpRequest) -> dict[str, Any]:
    role = roles.current_role(request)
    return {
        "current_role": role,
        "may": roles.Abilities.of(role),
        "granted_roles": _granted_in_session(request),
        "embedded_mode": settings.EMBEDDED,
        "allow_local_accounts": settings.ALLOW_LOCAL_ACCOUNTS,
        "password_reset_available": password_reset_available(),
    }
