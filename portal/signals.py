"""At every login (SSO or local): refresh the user's groups, then route to role selection."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from allauth.account.signals import user_logged_in
from django.conf import settings
from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver
from django.http import HttpRequest

from portal import audit, services
from portal.models import UserGroups
from portal.roles import SESSION_KEY, current_role
from portal.safe_redirect import safe_next


def _groups_claim(provider_id: str) -> str:
    apps = settings.SOCIALACCOUNT_PROVIDERS.get("openid_connect", {}).get("APPS", [])
    for app in apps:
        if app["provider_id"] == provider_id:
            return app.get("settings", {}).get("groups_claim") or settings.OIDC_GROUPS_CLAIM
    return settings.OIDC_GROUPS_CLAIM


def sso_groups(sociallogin: Any) -> tuple[str, list[str]]:
    """(provider id, group names) from the login's userinfo answer, else its ID token."""
    provider_id = sociallogin.account.provider
    claim = _groups_claim(provider_id)
    extra = sociallogin.account.extra_data or {}
    for source in (extra.get("userinfo"), extra.get("id_token"), extra):
        if isinstance(source, dict) and claim in source:
            return provider_id, services.groups_from_claims(source, claim)
    return provider_id, []


@receiver(user_logged_in, dispatch_uid="portal.refresh_roles_at_login")
def refresh_roles_at_login(sender: Any, request: HttpRequest, user: Any, response: Any = None,
                           sociallogin: Any = None, **kwargs: Any) -> None:
    if sociallogin is not None:
        provider, groups = sso_groups(sociallogin)
        roles = services.after_login(request, user, source=UserGroups.SOURCE_SSO, groups=groups, provider=provider)
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


@receiver(user_logged_out, dispatch_uid="portal.audit_logout")
def audit_logout(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if user is not None and request is not None:
        audit.record(user, "auth.logout", role=current_role(request), target=f"user:{user.username}",
                     ip=audit.client_ip(request))
