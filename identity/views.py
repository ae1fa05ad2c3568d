"""Identity pages: role selection, personal access tokens, the audit trail."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from identity import queries, roles, services
from identity.audit import client_ip
from identity.filtersets import AuditEventFilterSet
from identity.forms import TokenForm
from identity.models import AccessToken
from identity.roles import current_role, role_required
from portal.filtering import filtered_for_page
from portal.safe_redirect import safe_next


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
            return redirect(f"{reverse('identity:select-role')}?{urlencode({'next': next_url})}")
        return redirect(next_url)
    roles = services.remember_granted_roles(request)
    if not roles:
        return redirect("identity:no-access")
    if len(roles) == 1 and current_role(request) is None:
        services.switch_role(request, roles[0].key)
        return redirect(next_url)
    return render(request, "identity/select_role.html", {"roles": roles, "next": next_url})


@login_required
def no_access(request: HttpRequest) -> HttpResponse:
    return render(request, "identity/no_access.html", {"groups": queries.group_names(request.user)}, status=403)


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
    return render(request, "identity/tokens.html", {
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
    return redirect("identity:tokens")


# --- Audit ---------------------------------------------------------------------------


@role_required
def audit_log(request: HttpRequest) -> HttpResponse:
    """The audit trail for admins (others get 404: the page's existence is not their business)."""
    if not roles.may_administer(current_role(request)):
        raise Http404
    filters = AuditEventFilterSet(request.GET, queryset=queries.audit_events())
    page = Paginator(filtered_for_page(filters), queries.AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "identity/audit.html", {"page": page, "filters": filters},
                  status=200 if filters.is_valid() else 400)
