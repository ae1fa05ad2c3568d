"""DRF permissions built on the one role layer (identity.roles)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

from identity.roles import Role, current_role


class HasSelectedRole(BasePermission):
    """Authenticated (401 otherwise) and acting in a role (403 with a message otherwise)."""

    def has_permission(self, request: Any, view: Any) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        if current_role(request) is None:
            raise PermissionDenied("Select a role first (GET /api/v1/me lists your roles).")
        return True


def role_may(rule: Callable[[Role | None], bool]) -> type[BasePermission]:
    """A permission class: HasSelectedRole, and ``rule`` (a question of identity.roles, e.g.
    ``roles.may_operate``) answers yes for the role; 403 with the role's name otherwise.

    ``permission_classes = [role_may(roles.may_provide)]``
    """

    class RoleMay(HasSelectedRole):
        def has_permission(self, request: Any, view: Any) -> bool:
            if not super().has_permission(request, view):
                return False
            role = current_role(request)
            if rule(role):
                return True
            raise PermissionDenied(f"Your role ({role.label if role else 'none'}) may not do this.")

    RoleMay.__name__ = RoleMay.__qualname__ = f"RoleMay[{rule.__name__}]"
    return RoleMay
