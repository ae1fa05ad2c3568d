"""Pages act in a role: a signed-in user without a selected role is sent to role selection."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from portal.roles import current_role

# Pages that work without a role: sign-in/out, role pages, tokens, the admin site, the API
# (which answers 403 JSON itself), static files and health checks.
ROLE_FREE_PREFIXES = ("/accounts/", "/roles/", "/tokens/", "/admin/", "/api/", "/static/", "/healthz", "/favicon")


class RoleRequiredMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (request.method in ("GET", "HEAD") and request.user.is_authenticated
                and not request.path.startswith(ROLE_FREE_PREFIXES) and current_role(request) is None):
            return HttpResponseRedirect("/roles/select/?" + urlencode({"next": request.get_full_path()}))
        return self.get_response(request)
