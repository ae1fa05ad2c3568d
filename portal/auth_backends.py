"""Password logins only while ALLOW_LOCAL_ACCOUNTS is on; SSO logins go through allauth unaffected."""

from __future__ import annotations

from typing import Any

from allauth.account.auth_backends import AuthenticationBackend
from django.conf import settings


class PortalAuthenticationBackend(AuthenticationBackend):
    """allauth's backend (username/email + password), refusing every password when local accounts
    are off (production with SSO). Also covers the Django admin's login form."""

    def authenticate(self, request: Any, **credentials: Any) -> Any:
        if not settings.ALLOW_LOCAL_ACCOUNTS:
            return None
        return super().authenticate(request, **credentials)
