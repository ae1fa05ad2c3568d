"""Every identity write: groups at login, live grants of sessions, role selection, personal access
tokens, bad-token throttling.

Called alike by the HTML views, the API views, the allauth signal handlers and the
``issue_token`` command.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.dispatch import Signal
from django.http import HttpRequest
from django.utils import timezone

from identity import audit, queries
from identity.models import AccessToken, UserGroups
from identity.roles import GRANTED_SESSION_KEY, SESSION_KEY, Role, find_role, select_role

log = logging.getLogger(__name__)

# The grants version and sessions epoch a session was last checked against (see enforce_live_grants).
GRANTS_SESSION_KEY = "portal_grants_version"
EPOCH_SESSION_KEY = "portal_sessions_epoch"
# Sent (after commit) with ``user_id`` whenever a user's grants may have changed; apps holding things made
# in a role (workspaces, subscriptions) reconcile them: pause what a lost role holds, resume what returns.
grants_changed = Signal()

# What an SSO session keeps of its sign-in: provider, sub, ID token (logout hint), refresh token, last refresh.
OIDC_SESSION_KEY = "portal_oidc"

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
    """Too many bad tokens from one address (and prefix) recently; ``retry_after`` seconds to wait."""

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
    """Replace the stored groups of ``user`` (at every login and group refresh); a change bumps the
    user's grants version, so every open session re-checks its role at its next request."""
    names = sorted(set(groups))
    before = UserGroups.objects.filter(user=user).values_list("source", "groups").first()
    stored, _ = UserGroups.objects.update_or_create(
        user=user, defaults={"source": source, "groups": names, "provider": provider, "refreshed_at": timezone.now()},
    )
    if before is not None and (before[0] != source or sorted(before[1]) != names):
        bump_grants(user.pk)
        stored.refresh_from_db(fields=["grants_version", "sessions_epoch"])
    user.portal_groups = stored  # keep the instance's cached relation current for this request
    return stored


def groups_claim_of(provider_id: str) -> str:
    """The claim that holds the groups for this IdP (its ``groups_claim``, else OIDC_GROUPS_CLAIM)."""
    for app in settings.SOCIALACCOUNT_PROVIDERS.get("openid_connect", {}).get("APPS", []):
        if app["provider_id"] == provider_id:
            return app.get("settings", {}).get("groups_claim") or settings.OIDC_GROUPS_CLAIM
    return settings.OIDC_GROUPS_CLAIM


# --- Live grants: every session re-checks what it acts as -----------------------------


def bump_grants(user_id: int, *, end_sessions: bool = False) -> None:
    """Mark the user's grants as changed (and, with ``end_sessions``, every open session as ended).

    Each session compares its stamp with these numbers at its next request (enforce_live_grants).
    """
    with transaction.atomic():
        updated = UserGroups.objects.filter(user_id=user_id).update(
            grants_version=F("grants_version") + 1, sessions_epoch=F("sessions_epoch") + int(end_sessions))
        if not updated:  # a local account that never signed in through the login form
            UserGroups.objects.get_or_create(user_id=user_id, defaults={
                "source": UserGroups.SOURCE_LOCAL, "groups": [], "grants_version": 1,
                "sessions_epoch": int(end_sessions)})
        transaction.on_commit(lambda: grants_changed.send(sender=UserGroups, user_id=user_id))


def stamp_session(request: HttpRequest, user: Any) -> None:
    """Record in the session the grants it was checked against (at login and after each re-check)."""
    version, epoch = queries.grants_state(user)
    request.session[GRANTS_SESSION_KEY] = version
    request.session[EPOCH_SESSION_KEY] = epoch


def start_session_grants(request: HttpRequest, user: Any) -> None:
    """At every login (also the admin's and tests' force_login): a new session is not ended by earlier
    back-channel logouts, and a role already in the session (the same user signing in again) is kept
    only while granted. Stamps the session, so its first request costs no re-check."""
    version, epoch = queries.grants_state(user)
    session = request.session
    session[EPOCH_SESSION_KEY] = epoch
    selected = session.get(SESSION_KEY)
    if selected:
        try:
            kept = find_role(queries.granted_roles(user), Role.from_dict(selected).key)
        except (KeyError, ValueError, TypeError):
            kept = None
        if kept is None:
            session.pop(SESSION_KEY, None)
    session[GRANTS_SESSION_KEY] = version


def enforce_live_grants(request: HttpRequest) -> None:
    """Called on every request of a signed-in session (identity.middleware.LiveGrantsMiddleware).

    Cheap while nothing changed (the numbers come with the session's user, no extra query). A session ended elsewhere (back-channel logout)
    is signed out; a selected role the user no longer holds is dropped with a message, so the
    session falls back to role selection instead of acting on.
    """
    user = request.user
    version, epoch = queries.grants_state(user)
    session = request.session
    if session.get(EPOCH_SESSION_KEY, 0) < epoch:
        audit.record(user, "auth.session_ended", target=f"user:{user.username}",
                     details={"reason": "signed out at the identity provider"}, ip=audit.client_ip(request))
        logout(request)
        messages.warning(request, "You were signed out at the identity provider. Please sign in again.")
        return
    if session.get(GRANTS_SESSION_KEY) == version:
        return
    roles = remember_granted_roles(request, user)
    selected = session.get(SESSION_KEY)
    if selected:
        try:
            role: Role | None = Role.from_dict(selected)
        except (KeyError, ValueError, TypeError):
            role = None
        kept = find_role(roles, role.key) if role is not None else None
        if kept is None:
            session.pop(SESSION_KEY, None)
            label = role.label if role is not None else "role"
            audit.record(user, "auth.role_lost", role=role, target=f"user:{user.username}",
                         details={"roles": [r.key for r in roles]}, ip=audit.client_ip(request))
            messages.warning(request, f"Your role {label} is no longer granted to you. "
                                      "Choose one of the roles you hold.")
        elif kept != role:
            select_role(request, kept)  # same role, its use-case scopes changed
    session[GRANTS_SESSION_KEY] = version
    session[EPOCH_SESSION_KEY] = epoch


def end_user_sessions(user: Any, *, reason: str, ip: str | None = None) -> None:
    """End every open portal session of ``user`` at its next request (e.g. IdP back-channel logout)."""
    bump_grants(user.pk, end_sessions=True)
    audit.record(user, "auth.sessions_ended", target=f"user:{user.username}", details={"reason": reason}, ip=ip)


def refresh_session_groups(request: HttpRequest) -> None:
    """Re-read the groups of an SSO session from its IdP once it is older than OIDC_REFRESH_SECONDS.

    Uses the refresh token from the sign-in (userinfo with the refreshed access token). A refused
    refresh ends the session; an IdP that does not answer is tried again a minute later.
    """
    from identity import oidc

    data = request.session.get(OIDC_SESSION_KEY)
    if not isinstance(data, dict) or not data.get("refresh_token"):
        return
    now = time.time()
    if now - float(data.get("refreshed_at", 0)) < settings.OIDC_REFRESH_SECONDS:
        return
    # One refresh at a time per session: IdPs that rotate refresh tokens refuse the second one.
    if not cache.add(f"portal:oidc-refresh:{request.session.session_key}", 1, 30):
        return
    user = request.user
    try:
        from allauth.socialaccount.adapter import get_adapter

        app = get_adapter().get_provider(request, data["provider"]).app
        claims, refresh_token = oidc.refresh_userinfo(app, data["refresh_token"])
        if claims.get("sub") != data.get("sub"):
            raise oidc.RefreshRefused("The IdP's userinfo answer is about another user.")
    except oidc.RefreshRefused as exc:
        audit.record(user, "auth.refresh_refused", target=f"user:{user.username}", details={"reason": str(exc)},
                     ip=audit.client_ip(request))
        logout(request)
        messages.warning(request, "Your sign-in has ended at the identity provider. Please sign in again.")
        return
    except (requests.RequestException, ValueError, KeyError, oidc.OAuth2Error) as exc:
        log.warning("Group refresh of %s failed, retried in a minute: %s", user.username, exc)
        data["refreshed_at"] = now - settings.OIDC_REFRESH_SECONDS + 60
        request.session[OIDC_SESSION_KEY] = data
        return
    store_groups(user, source=UserGroups.SOURCE_SSO, provider=data["provider"],
                 groups=groups_from_claims(claims, groups_claim_of(data["provider"])))
    data.update(refresh_token=refresh_token, refreshed_at=now)
    request.session[OIDC_SESSION_KEY] = data


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
    stamp_session(request, user)
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


def _bad_token_keys(ip: str | None, secret: str) -> tuple[str, str]:
    """Cache keys of the two bad-token counters: this address with this token prefix, and the address alone.

    The prefix (the first characters a token list shows) separates one misconfigured job from
    the other users behind the same address (a NAT, a proxy), so their counts never mix.
    """
    address = ip or "unknown"
    prefix = hashlib.sha256(secret[:12].encode("utf-8", "replace")).hexdigest()[:16]
    return f"portal:bad-tokens:{address}:{prefix}", f"portal:bad-tokens:{address}"


def _count(key: str) -> int:
    # add() is a no-op when the key exists, so the window starts at the first failure.
    cache.add(key, 0, timeout=settings.BAD_TOKEN_WINDOW_SECONDS)
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=settings.BAD_TOKEN_WINDOW_SECONDS)
        return 1


def note_bad_token(ip: str | None, secret: str) -> None:
    """Count one bad token; raises TooManyBadTokens once this address sent BAD_TOKEN_LIMIT bad tokens
    with this prefix, or BAD_TOKEN_ADDRESS_LIMIT bad tokens in all, within the window.

    Only ever called for a token that failed: a valid token is never counted nor refused.
    """
    by_prefix, by_address = _bad_token_keys(ip, secret)
    with_prefix, in_all = _count(by_prefix), _count(by_address)
    if with_prefix > settings.BAD_TOKEN_LIMIT or in_all > settings.BAD_TOKEN_ADDRESS_LIMIT:
        raise TooManyBadTokens(settings.BAD_TOKEN_WINDOW_SECONDS)


def authenticate_token(secret: str, *, ip: str | None = None) -> tuple[AccessToken, Role]:
    """The token and its role (use-case scopes as granted now) for a bearer secret.

    A valid token always authenticates, whatever else came from its address. A bad one raises
    TokenInvalid (unknown, revoked, expired, its user inactive, or its role no longer granted),
    or TooManyBadTokens once too many bad tokens came from this address (see note_bad_token).
    """
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
        note_bad_token(ip, secret)
        raise TokenInvalid(reason or "Invalid token.")
    now = timezone.now()
    # Only write when it changes meaningfully: one UPDATE per minute per token at most.
    if token.last_used_at is None or now - token.last_used_at > timedelta(seconds=60) or token.last_used_ip != ip:
        AccessToken.objects.filter(pk=token.pk).update(last_used_at=now, last_used_ip=ip)
        token.last_used_at, token.last_used_ip = now, ip
    return token, role
