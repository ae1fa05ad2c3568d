"""Password logins only while ALLOW_LOCAL_ACCOUNTS is on; SSO logins go through allauth unaffected."""

from __future__ import annotations

from typing import Any

from allauth.account.auth_backends import AuthenticationBackend
from django.conf import settings
from django.contrib.auth import get_user_model


class PortalAuthenticationBackend(AuthenticationBackend):
    """allauth's backend (username/email + password), refusing every password when local accounts
    are off (production with SSO). Also covers the Django admin's login form."""

    def authenticate(self, request: Any, **credentials: Any) -> Any:
        if not settings.ALLOW_LOCAL_ACCOUNTS:
            return None
        return super().authenticate(request, **credentials)

    def get_user(self, user_id: Any) -> Any:
        """The session's user with its stored groups in the same query: the grants version every
        request checks (identity.middleware.LiveGrantsMiddleware) then costs no extra round trip."""
        try:
            user = get_user_model()._default_manager.select_related("portal_groups").get(pk=user_id)
        except get_user_model().DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
