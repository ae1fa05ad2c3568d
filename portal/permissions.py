"""DRF permissions built on the one role layer (portal.roles)."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

from portal.roles import current_role


class HasSelectedRole(BasePermission):
    """Authenticated (401 otherwise) and acting in a role (403 with a message otherwise)."""

    def has_permission(self, request: Any, view: Any) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        if current_role(request) is None:
            raise PermissionDenied("Select a role first (GET /api/v1/me lists your roles).")
        return True


class HasPersona(HasSelectedRole):
    """Like HasSelectedRole, and the role's persona is one of ``view.allowed_personas`` (admins always)."""

    def has_permission(self, request: Any, view: Any) -> bool:
        if not super().has_permission(request, view):
            return False
        role = current_role(request)
        allowed = getattr(view, "allowed_personas", ())
        if role is not None and (role.is_admin or role.persona in allowed):
            return True
        raise PermissionDenied(f"Your role ({role.label if role else 'none'}) may not do this.")
