"""Portal-wide pages: home, health, the favicon, friendly error pages."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static

from identity.roles import current_role
from portal.home import home_context


def home(request: HttpRequest) -> HttpResponse:
    """Where a person starts: the lake by hub and layer, what changed, and the role's own work."""
    return render(request, "portal/home.html", home_context(request.user, current_role(request)))


def favicon(request: HttpRequest) -> HttpResponse:
    """The icon as a static file (resolved per request, so a hashed static storage names it right)."""
    return redirect(static("portal/favicon.svg"), permanent=True)


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness of the portal and its database (for load balancers and the run command)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return JsonResponse({"status": "ok"})
    except Exception as exc:  # any DB driver error means "not ready"
        return JsonResponse({"status": "degraded", "database": str(exc)}, status=503)


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith(("/api/", "/marquez/api/"))


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"error": "Not found."}, status=404)
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"error": "Internal error; it has been logged."}, status=500)
    return render(request, "500.html", status=500)
