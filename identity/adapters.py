"""allauth adapters: SSO users are created at first login; local accounts are never self-registered;
OpenID Connect runs through the strict provider of ``identity.oidc``; a refused sign-in is a clear 401 page."""

from __future__ import annotations

import logging
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.providers.openid_connect.provider import OpenIDConnectProvider
from django.http import HttpRequest
from django.shortcuts import render

from identity import audit
from identity.oidc import StrictOIDCProvider

log = logging.getLogger(__name__)


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Local accounts are created by an admin (or the embedded run command), never by sign-up.
        return False


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest, sociallogin: Any) -> bool:
        # Whoever the company IdP authenticates gets an account; roles come from the groups claim.
        return True

    def get_provider(self, request: HttpRequest, provider: str, client_id: str | None = None) -> Any:
        # Every OpenID Connect app gets the strict provider: signature, nonce and the rest always checked.
        found = super().get_provider(request, provider, client_id=client_id)
        if type(found) is OpenIDConnectProvider:
            return StrictOIDCProvider(request, app=found.app)
        return found

    def on_authentication_error(self, request: HttpRequest, provider: Any, error: Any = None, exception: Any = None,
                                extra_context: Any = None) -> None:
        """A refused sign-in (forged or foreign token, IdP error, lost state) answers 401 with the reason."""
        reason = str(exception) if exception is not None else "The sign-in could not be completed; please try again."
        if error == "cancelled":
            return  # allauth's "login cancelled" page
        log.warning("Sign-in through %s refused: %s", getattr(provider, "sub_id", provider), reason)
        audit.record(None, "auth.sso_refused", target=f"provider:{getattr(provider, 'sub_id', '')}",
                     details={"reason": reason[:500], "error": str(error or "")}, ip=audit.client_ip(request))
        raise ImmediateHttpResponse(render(request, "identity/sign_in_refused.html", {"reason": reason}, status=401))
