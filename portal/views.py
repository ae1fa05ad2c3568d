"""Portal-wide pages: home, health, friendly error pages, role selection, tokens, audit."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from portal import queries, roles, services
from portal.audit import client_ip
from portal.forms import TokenForm
from portal.home import home_context
from portal.models import AccessToken
from portal.roles import current_role, role_required
from portal.safe_redirect import safe_next


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


# --- Role selection ---------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def select_role(request: HttpRequest) -> HttpResponse:
    """GET lists the granted roles (skipped when exactly one, "no access" when none);
    POST selects one (the header switcher posts here too) and returns to a safe ``next``."""
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if request.method == "POST":
        try:
            services.switch_role(request, request.POST.get("role", ""))
        except services.RoleNotGranted as exc:
            messages.error(request, str(exc))
            return redirect(f"{reverse('portal:select-role')}?{urlencode({'next': next_url})}")
        return redirect(next_url)
    roles = services.remember_granted_roles(request)
    if not roles:
        return redirect("portal:no-access")
    if len(roles) == 1 and current_role(request) is None:
        services.switch_role(request, roles[0].key)
        return redirect(next_url)
    return render(request, "portal/select_role.html", {"roles": roles, "next": next_url})


@login_required
def no_access(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/no_access.html", {"groups": queries.group_names(request.user)}, status=403)


# --- Personal access tokens ----------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    """List the user's tokens; POST creates one and shows its secret once."""
    roles = queries.granted_roles(request.user)
    form = TokenForm(request.POST or None, roles=roles, initial={"role": getattr(current_role(request), "key", None)})
    issued = None
    if request.method == "POST" and form.is_valid():
        try:
            issued = services.create_token(
                request.user, form.cleaned_data["role"], name=form.cleaned_data["name"],
                days=form.cleaned_data["days"], actor_role=current_role(request), ip=client_ip(request),
                scopes=("write",) if form.cleaned_data.get("write") else (),
            )
        except services.RoleNotGranted as exc:
            form.add_error("role", str(exc))
        else:
            form = TokenForm(roles=roles)
    return render(request, "portal/tokens.html", {
        "form": form, "issued": issued, "tokens": queries.tokens_of(request.user), "roles": roles,
    }, status=400 if request.method == "POST" and issued is None else 200)


@login_required
@require_POST
def revoke_token(request: HttpRequest, token_id: int) -> HttpResponse:
    try:
        token = services.revoke_token(request.user, token_id, actor_role=current_role(request), ip=client_ip(request))
    except AccessToken.DoesNotExist:
        raise Http404("No such token.") from None
    messages.success(request, f"Token “{token.name}” revoked.")
    return redirect("portal:tokens")


# --- Audit ---------------------------------------------------------------------------


@role_required
def audit_log(request: HttpRequest) -> HttpResponse:
    """The audit trail for admins (others get 404: the page's existence is not their business)."""
    if not roles.may_administer(current_role(request)):
        raise Http404
    action = request.GET.get("action", "").strip()
    username = request.GET.get("user", "").strip()
    page = Paginator(queries.audit_events(action=action, username=username),
                     queries.AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "portal/audit.html", {"page": page, "action": action, "username": username})
