"""Pages act in a role: a signed-in user without a selected role is sent to role selection."""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render

from identity import services
from identity.roles import current_role

log = logging.getLogger(__name__)

# Pages that work without a role: sign-in/out, role pages, tokens, the admin site, the API
# and the Marquez API (which answer 403 JSON themselves), static files and health checks.
ROLE_FREE_PREFIXES = ("/accounts/", "/roles/", "/tokens/", "/admin/", "/api/", "/marquez/api/", "/static/", "/healthz", "/favicon")


class LiveGrantsMiddleware:
    """Every request of a signed-in session acts on the grants of now, not those of its sign-in.

    A role removed anywhere (a later login with fewer groups, an admin, the IdP's back-channel
    logout, a group refresh) ends in this session at its next request; see
    ``services.enforce_live_grants``. SSO sessions past OIDC_REFRESH_SECONDS first re-read their
    groups from the IdP. Bearer-token requests are checked by the token authentication instead.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated and not request.path.startswith("/static/"):
            services.refresh_session_groups(request)
            if request.user.is_authenticated:
                services.enforce_live_grants(request)
        return self.get_response(request)


class RoleRequiredMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (request.method in ("GET", "HEAD") and request.user.is_authenticated
                and not request.path.startswith(ROLE_FREE_PREFIXES) and current_role(request) is None):
            return HttpResponseRedirect("/roles/select/?" + urlencode({"next": request.get_full_path()}))
        return self.get_response(request)


class IdentityProviderErrorMiddleware:
    """An IdP that does not answer (discovery, token or userinfo call) gives a clear 503 page, not a 500.

    allauth lets ``requests`` errors from those server-to-server calls escape its login views.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        import requests

        if request.path.startswith("/accounts/") and isinstance(exception, requests.RequestException):
            log.warning("Identity provider unreachable during %s: %s", request.path, exception)
            return render(request, "identity/idp_unavailable.html", status=503)
        return None
