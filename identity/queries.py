"""Read helpers of the identity feature: a user's groups and granted roles, tokens, the audit trail."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from identity.models import AccessToken, AuditEvent, UserGroups
from identity.roles import Role, roles_from_groups


def group_names(user: Any) -> list[str]:
    """The group names roles are derived from: the IdP's (stored at the last SSO login)
    for SSO users, the Django auth groups (read live) for local accounts."""
    try:
        stored = user.portal_groups  # no query when loaded with select_related("portal_groups")
    except UserGroups.DoesNotExist:
        stored = None
    if stored is not None and stored.source == UserGroups.SOURCE_SSO:
        return list(stored.groups)
    return list(user.groups.values_list("name", flat=True))


def granted_roles(user: Any) -> list[Role]:
    """Every role the user holds now (admin first). Superusers always hold the admin role."""
    if user is None or not user.is_authenticated or not user.is_active:
        return []
    roles = roles_from_groups(group_names(user))
    if user.is_superuser and not any(r.is_admin for r in roles):
        roles.insert(0, Role("admin"))
    return roles


def grants_state(user: Any) -> tuple[int, int]:
    """(grants version, sessions epoch) of a user, read with the user itself.

    The session's user is loaded with its ``portal_groups`` row in one query
    (``PortalAuthenticationBackend.get_user``), so every request sees the numbers of now at no
    extra round trip, and no cache can be stale. Written by ``services.bump_grants``.
    """
    try:
        stored = user.portal_groups
    except UserGroups.DoesNotExist:
        return 0, 0
    return stored.grants_version, stored.sessions_epoch


def tokens_of(user: Any) -> QuerySet[AccessToken]:
    return AccessToken.objects.filter(user=user).order_by("-created_at")


# One page of the audit trail, on the page and in the API (which may ask for up to AUDIT_MAX_PAGE_SIZE).
AUDIT_PAGE_SIZE = 50
AUDIT_MAX_PAGE_SIZE = 500


def audit_events() -> QuerySet[AuditEvent]:
    """The audit trail, newest first (filtered by ``identity.filtersets.AuditEventFilterSet``)."""
    return AuditEvent.objects.order_by("-created_at", "-id")
