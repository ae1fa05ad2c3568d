"""Sign-in routes that replace or add to allauth's: the strict OIDC callback, sign-out through the IdP
(RP-initiated logout), and the IdP's Back-Channel Logout endpoint.

Mounted under ``/accounts/`` before ``allauth.urls``, so the paths stay allauth's.
"""

from __future__ import annotations

import logging
from typing import Any

import requests
from allauth.account.views import LogoutView
from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.helpers import render_authentication_error
from allauth.socialaccount.models import SocialAccount, SocialApp
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from identity import audit, oidc, services
from identity.signals import sid_cache_key

log = logging.getLogger(__name__)


class StrictCallbackView(OAuth2CallbackView):
    """allauth's callback, handing the login's stashed state (with its nonce) to the strict adapter."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().dispatch(request, *args, **kwargs)
        except OAuth2Error as exc:  # raised before allauth's own try (discovery checks): a refusal, not a 500
            return render_authentication_error(request, self.adapter.get_provider(), exception=exc)

    def _get_state(self, request: HttpRequest, provider: Any) -> Any:
        state, response = super()._get_state(request, provider)
        self.adapter.state = state  # type: ignore[attr-defined]
        return state, response


def callback(request: HttpRequest, provider_id: str) -> HttpResponse:
    try:
        view = StrictCallbackView.adapter_view(oidc.StrictOIDCAdapter(request, provider_id))
        return view(request)
    except SocialApp.DoesNotExist:
        raise Http404 from None


class PortalLogoutView(LogoutView):
    """Sign-out ends the portal session and, where the IdP publishes ``end_session_endpoint``,
    sends the browser there with ``id_token_hint`` and a ``post_logout_redirect_uri`` back here."""

    def get_redirect_url(self) -> str:
        url = super().get_redirect_url()
        data = self.request.session.get(services.OIDC_SESSION_KEY)
        if not self.request.user.is_authenticated or not isinstance(data, dict) or not data.get("id_token"):
            return url
        try:
            app = get_adapter().get_provider(self.request, data["provider"]).app
        except (SocialApp.DoesNotExist, KeyError):
            return url
        return oidc.end_session_url(app, data["id_token"], self.request.build_absolute_uri(url)) or url


logout = PortalLogoutView.as_view()


def _logout_error(message: str) -> JsonResponse:
    response = JsonResponse({"error": "invalid_request", "error_description": message}, status=400)
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt  # the IdP posts server-to-server; the signed logout token is the authentication
@never_cache
@require_POST
def backchannel_logout(request: HttpRequest, provider_id: str) -> HttpResponse:
    """OpenID Connect Back-Channel Logout 1.0: ``logout_token`` (form field), validated like an ID token
    (signature, iss, aud, iat/exp, no nonce, the logout event, used once); ends every portal session of
    the user it names (by ``sub``, or by ``sid`` of a session signed in here). 200 on success,
    400 with the reason otherwise."""
    token = request.POST.get("logout_token", "")
    if not token:
        return _logout_error("logout_token is required.")
    try:
        app = get_adapter().get_provider(request, provider_id).app
    except SocialApp.DoesNotExist:
        raise Http404 from None
    try:
        config = oidc.provider_config(app.settings["server_url"])
        claims = oidc.validate_jwt(token, issuer=config["issuer"], client_id=app.client_id,
                                   jwks_uri=config["jwks_uri"], logout=True)
    except oidc.TokenRefused as exc:
        audit.record(None, "auth.backchannel_logout_refused", target=f"provider:{provider_id}",
                     details={"reason": str(exc)}, ip=audit.client_ip(request))
        return _logout_error(str(exc))
    except (requests.RequestException, OAuth2Error, KeyError, ValueError) as exc:
        log.warning("Back-channel logout from %s: the IdP's keys are unavailable: %s", provider_id, exc)
        response = JsonResponse({"error": "temporarily_unavailable",
                                 "error_description": "The identity provider's keys could not be read."}, status=503)
        response["Cache-Control"] = "no-store"
        return response
    users: list[Any] = []
    if claims.get("sub"):
        users = [a.user for a in SocialAccount.objects.filter(provider=provider_id, uid=str(claims["sub"]))
                 .select_related("user")]
    elif claims.get("sid"):
        user_id = cache.get(sid_cache_key(provider_id, str(claims["sid"])))
        users = list(get_user_model().objects.filter(pk=user_id)) if user_id else []
    for user in users:
        services.end_user_sessions(user, reason=f"back-channel logout from {provider_id}", ip=audit.client_ip(request))
    response = HttpResponse(status=200)
    response["Cache-Control"] = "no-store"
    return response
