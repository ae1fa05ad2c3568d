"""At every login (SSO or local): refresh the user's groups, then route to role selection."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from allauth.account.signals import user_logged_in
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in as django_user_logged_in
from django.contrib.auth.signals import user_logged_out
from django.core.cache import cache
from django.db.models.signals import m2m_changed, post_save
from django.dispatch import receiver
from django.http import HttpRequest

from identity import audit, services
from identity.models import UserGroups
from identity.roles import SESSION_KEY, current_role
from portal.safe_redirect import safe_next


def sso_groups(sociallogin: Any) -> tuple[str, list[str]]:
    """(provider id, group names) from the login's userinfo answer, else its ID token."""
    provider_id = sociallogin.account.provider
    claim = services.groups_claim_of(provider_id)
    extra = sociallogin.account.extra_data or {}
    for source in (extra.get("userinfo"), extra.get("id_token"), extra):
        if isinstance(source, dict) and claim in source:
            return provider_id, services.groups_from_claims(source, claim)
    return provider_id, []


def sid_cache_key(provider: str, sid: str) -> str:
    """Where the user of an IdP session id is kept, for logout tokens that name only the session."""
    return f"portal:oidc-sid:{provider}:{sid}"


@receiver(user_logged_in, dispatch_uid="portal.refresh_roles_at_login")
def refresh_roles_at_login(sender: Any, request: HttpRequest, user: Any, response: Any = None,
                           sociallogin: Any = None, **kwargs: Any) -> None:
    if sociallogin is not None:
        provider, groups = sso_groups(sociallogin)
        roles = services.after_login(request, user, source=UserGroups.SOURCE_SSO, groups=groups, provider=provider)
        oidc_data = getattr(sociallogin, "portal_oidc", None)
        if oidc_data:
            # Server-side session only: the ID token is the logout hint, the refresh token re-reads groups.
            request.session[services.OIDC_SESSION_KEY] = {
                **oidc_data, "sub": sociallogin.account.uid, "refreshed_at": time.time()}
            if oidc_data.get("sid"):
                cache.set(sid_cache_key(provider, oidc_data["sid"]), user.pk, settings.SESSION_COOKIE_AGE)
    else:
        groups = list(user.groups.values_list("name", flat=True))
        roles = services.after_login(request, user, source=UserGroups.SOURCE_LOCAL, groups=groups)
    if response is None or not hasattr(response, "url"):
        return
    # allauth already redirects to a safe ``next`` (or LOGIN_REDIRECT_URL); we insert role selection.
    target = safe_next(request, response.url)
    if not roles:
        response["Location"] = "/roles/none/"
    elif SESSION_KEY not in request.session:
        response["Location"] = "/roles/select/?" + urlencode({"next": target})


@receiver(django_user_logged_in, dispatch_uid="portal.stamp_new_session")
def stamp_new_session(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        services.start_session_grants(request, user)


@receiver(user_logged_out, dispatch_uid="portal.audit_logout")
def audit_logout(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if user is not None and request is not None:
        audit.record(user, "auth.logout", role=current_role(request), target=f"user:{user.username}",
                     ip=audit.client_ip(request))


@receiver(m2m_changed, sender=get_user_model().groups.through, dispatch_uid="portal.groups_changed")
def groups_changed(sender: Any, instance: Any, action: str, reverse: bool, pk_set: Any, **kwargs: Any) -> None:
    """Django group membership (local accounts, admin edits) changed: open sessions re-check their role."""
    if reverse:  # group.user_set changed: pk_set names the users; a clear empties the group's members
        users = (list(instance.user_set.values_list("pk", flat=True)) if action == "pre_clear"
                 else list(pk_set or ()) if action in ("post_add", "post_remove") else [])
        for user_id in users:
            services.bump_grants(user_id)
    elif action in ("post_add", "post_remove", "post_clear"):
        services.bump_grants(instance.pk)


@receiver(post_save, sender=get_user_model(), dispatch_uid="portal.user_changed")
def user_changed(sender: Any, instance: Any, created: bool, update_fields: Any = None, **kwargs: Any) -> None:
    """Deactivation or a superuser flag change (admin edits) changes what the user may act as."""
    if created or (update_fields is not None and not {"is_active", "is_superuser"} & set(update_fields)):
        return
    services.bump_grants(instance.pk)
