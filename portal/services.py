"""Every identity write: groups at login, role selection, personal access tokens, bad-token throttling.

Called alike by the HTML views, the API views, the allauth signal handlers and the
``issue_token`` command.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from portal import audit, queries
from portal.models import AccessToken, UserGroups
from portal.roles import GRANTED_SESSION_KEY, SESSION_KEY, Role, find_role, select_role

TOKEN_PREFIX = "dhp_"
MAX_TOKEN_DAYS = 366
# Scopes a token may be issued with (reads need none). "write": the MCP write tools
# (update_description, set_owner, add_tags, request_access), still within the token's role.
TOKEN_SCOPES = ("write",)


class RoleNotGranted(Exception):
    """The user does not hold the requested role (any more)."""


class TokenInvalid(Exception):
    """The bearer token is unknown, revoked, expired, or its role is no longer granted."""


class TooManyBadTokens(Exception):
    """Too many bad tokens from one address recently; ``retry_after`` seconds to wait."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many invalid tokens from this address; retry in {retry_after} s.")
        self.retry_after = retry_after


# --- Groups and roles at login ------------------------------------------------


def groups_from_claims(claims: dict[str, Any], claim: str) -> list[str]:
    """The group names in an IdP's claims: a list, or a comma/space separated string."""
    value = claims.get(claim)
    if value is None:
        return []
    if isinstance(value, str):
        return [g for g in value.replace(",", " ").split() if g]
    if isinstance(value, (list, tuple)):
        return [str(g).strip() for g in value if str(g).strip()]
    return []


def store_groups(user: Any, *, source: str, groups: list[str], provider: str = "") -> UserGroups:
    """Replace the stored groups of ``user`` (called at every login)."""
    stored, _ = UserGroups.objects.update_or_create(
        user=user,
        defaults={"source": source, "groups": sorted(set(groups)), "provider": provider, "refreshed_at": timezone.now()},
    )
    user.portal_groups = stored  # keep the instance's cached relation current for this request
    return stored


def after_login(request: HttpRequest, user: Any, *, source: str, groups: list[str], provider: str = "") -> list[Role]:
    """Refresh the user's groups, audit the login, and select the role when exactly one is granted.

    Returns the granted roles. A role selected before (another login in this session) is
    dropped when no longer granted.
    """
    store_groups(user, source=source, groups=groups, provider=provider)
    roles = remember_granted_roles(request, user)
    previous = request.session.get(SESSION_KEY)
    request.session.pop(SESSION_KEY, None)
    if len(roles) == 1:
        select_role(request, roles[0])
    elif previous:
        kept = find_role(roles, Role.from_dict(previous).key)
        if kept is not None:
            select_role(request, kept)
    audit.record(user, "auth.login", role=roles[0] if len(roles) == 1 else None, target=f"user:{user.username}",
                 details={"source": source, "provider": provider, "roles": [r.key for r in roles]},
                 ip=audit.client_ip(request))
    return roles


def remember_granted_roles(request: HttpRequest, user: Any = None) -> list[Role]:
    """The user's granted roles, also kept in the session for the header's role switcher."""
    roles = queries.granted_roles(user or request.user)
    request.session[GRANTED_SESSION_KEY] = [r.as_dict() for r in roles]
    return roles


def switch_role(request: HttpRequest, key: str) -> Role:
    """Select the granted role named ``key`` for this session; raises RoleNotGranted otherwise."""
    user = request.user
    role = find_role(remember_granted_roles(request), key)
    if role is None:
        audit.record(user, "auth.role_refused", target=key, ip=audit.client_ip(request))
        raise RoleNotGranted(f"You do not hold the role {key!r}.")
    before = request.session.get(SESSION_KEY)
    select_role(request, role)
    audit.record(user, "auth.role_switch", role=role, target=role.key,
                 details={"from": Role.from_dict(before).key if before else None}, ip=audit.client_ip(request))
    return role


# --- Personal access tokens -----------------------------------------------------


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: AccessToken
    secret: str  # shown once; only its hash is stored


def create_token(user: Any, role_key: str, *, name: str = "", days: int = 90, actor_role: Role | None = None,
                 ip: str | None = None, scopes: tuple[str, ...] | list[str] = ()) -> IssuedToken:
    """A new token for ``user`` bound to one of their granted roles, valid ``days`` days.

    ``scopes`` (see TOKEN_SCOPES) are granted by the owner here and never added later.
    Raises RoleNotGranted when the user does not hold the role, ValueError for bad ``days``
    or an unknown scope.
    """
    if not 1 <= days <= MAX_TOKEN_DAYS:
        raise ValueError(f"A token is valid between 1 and {MAX_TOKEN_DAYS} days.")
    unknown = sorted(set(scopes) - set(TOKEN_SCOPES))
    if unknown:
        raise ValueError(f"Unknown token scope {unknown[0]!r}; scopes are: {', '.join(TOKEN_SCOPES)}.")
    role = find_role(queries.granted_roles(user), role_key)
    if role is None:
        raise RoleNotGranted(f"{user.username} does not hold the role {role_key!r}.")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        token = AccessToken.objects.create(
            user=user, name=(name or f"{role.key} token")[:100], persona=role.persona, hub=role.hub or "",
            token_hash=hash_token(secret), prefix=secret[:12], created_at=now, expires_at=now + timedelta(days=days),
            scopes=sorted(set(scopes)),
        )
        audit.record(user, "token.create", role=actor_role or role, target=f"token:{token.pk}",
                     details={"name": token.name, "token_role": role.key, "days": days, "scopes": token.scopes}, ip=ip)
    return IssuedToken(token, secret)


def revoke_token(user: Any, token_id: int, *, actor_role: Role | None = None, ip: str | None = None) -> AccessToken:
    """Revoke one of ``user``'s tokens (idempotent); raises AccessToken.DoesNotExist for others' tokens."""
    with transaction.atomic():
        token = AccessToken.objects.select_for_update().get(pk=token_id, user=user)
        if token.revoked_at is None:
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            audit.record(user, "token.revoke", role=actor_role, target=f"token:{token.pk}",
                         details={"name": token.name}, ip=ip)
    return token


def _bad_token_key(ip: str | None) -> str:
    return f"portal:bad-tokens:{ip or 'unknown'}"


def check_token_throttle(ip: str | None) -> None:
    """Raise TooManyBadTokens while ``ip`` has sent BAD_TOKEN_LIMIT bad tokens within the window."""
    if cache.get(_bad_token_key(ip), 0) >= settings.BAD_TOKEN_LIMIT:
        raise TooManyBadTokens(settings.BAD_TOKEN_WINDOW_SECONDS)


def note_bad_token(ip: str | None) -> None:
    key = _bad_token_key(ip)
    # add() is a no-op when the key exists, so the window starts at the first failure.
    cache.add(key, 0, timeout=settings.BAD_TOKEN_WINDOW_SECONDS)
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=settings.BAD_TOKEN_WINDOW_SECONDS)


def authenticate_token(secret: str, *, ip: str | None = None) -> tuple[AccessToken, Role]:
    """The token and its role (use-case scopes as granted now) for a bearer secret.

    Raises TooManyBadTokens when this address sent too many bad tokens, TokenInvalid when the
    token is unknown, revoked, expired, its user inactive, or its role no longer granted.
    """
    check_token_throttle(ip)
    token = (AccessToken.objects.select_related("user", "user__portal_groups").filter(token_hash=hash_token(secret)).first()
             if secret.startswith(TOKEN_PREFIX) else None)
    reason = None
    if token is None:
        reason = "Invalid token."
    elif token.status() != "active":
        reason = f"Token {token.status()}."
    elif not token.user.is_active:
        reason = "Token's user is inactive."
    role = None
    if reason is None:
        assert token is not None
        role = find_role(queries.granted_roles(token.user), token.role.key)
        if role is None:
            reason = "Token's role is no longer granted to its user."
    if reason is not None or role is None or token is None:
        note_bad_token(ip)
        raise TokenInvalid(reason or "Invalid token.")
    now = timezone.now()
    # Only write when it changes meaningfully: one UPDATE per minute per token at most.
    if token.last_used_at is None or now - token.last_used_at > timedelta(seconds=60) or token.last_used_ip != ip:
        AccessToken.objects.filter(pk=token.pk).update(last_used_at=now, last_used_ip=ip)
        token.last_used_at, token.last_used_ip = now, ip
    return token, role
