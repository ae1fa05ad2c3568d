"""HTML pages of workspaces, the dataset selection and subscriptions: parse, call a service, render."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from catalog.models import Table
from identity.audit import client_ip
from portal.filtering import filtered_for_page
from identity import roles
from identity.roles import acting_role, current_role, role_required
from workspaces import notifications, queries, resource_check, selection, services
from workspaces.filtersets import WorkspaceFilterSet
from workspaces.forms import LaunchForm, SubscriptionForm


def _back(request: HttpRequest, default: str) -> HttpResponse:
    """Back to the page the form came from (same host only), else ``default``."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return HttpResponseRedirect(target)
    return redirect(default)


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


# --- Workspaces ---------------------------------------------------------------------

@role_required
def workspace_list(request: HttpRequest) -> HttpResponse:
    filters = WorkspaceFilterSet(request.GET, queryset=queries.workspaces_for(request.user, current_role(request)))
    return render(request, "workspaces/list.html", {
        "workspaces": filtered_for_page(filters), "filters": filters, "quota": settings.WORKSPACE_QUOTA_PER_USER,
        "idle_minutes": settings.WORKSPACE_IDLE_STOP_MINUTES,
    }, status=200 if filters.is_valid() else 400)


@role_required
def workspace_detail(request: HttpRequest, pk: int) -> HttpResponse:
    workspace = queries.get_workspace(request.user, current_role(request), pk)
    return render(request, "workspaces/detail.html", {"workspace": workspace,
                                                       "idle_minutes": settings.WORKSPACE_IDLE_STOP_MINUTES})


@role_required
def workspace_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The live status panel (htmx polls it while the workspace is changing state)."""
    workspace = queries.get_workspace(request.user, current_role(request), pk)
    return render(request, "workspaces/_status.html", {"workspace": workspace})


_ACTIONS = {
    "stop": services.stop_workspace,
    "start": services.start_workspace,
    "delete": services.delete_workspace,
    "recreate": resource_check.recreate_workspace,
}


@require_POST
@role_required
def workspace_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    role = current_role(request)
    workspace = queries.get_workspace(request.user, role, pk)
    try:
        workspace = _ACTIONS[action](workspace, actor=request.user, role=role, ip=client_ip(request))
    except services.WorkspaceError as exc:
        messages.error(request, str(exc))
    if _is_htmx(request):
        return render(request, "workspaces/_status.html", {"workspace": workspace, "error": _last_error(request)})
    return redirect("workspaces:detail", pk=workspace.pk)


def _last_error(request: HttpRequest) -> str:
    errors = [str(m) for m in messages.get_messages(request) if m.level_tag == "error"]
    return errors[-1] if errors else ""


@require_POST
@role_required
def workspace_open(request: HttpRequest, pk: int) -> HttpResponse:
    role = current_role(request)
    workspace = queries.get_workspace(request.user, role, pk)
    try:
        url = services.open_workspace(workspace, actor=request.user, role=role, ip=client_ip(request))
    except services.WorkspaceError as exc:
        messages.error(request, str(exc))
        return redirect("workspaces:detail", pk=workspace.pk)
    if services.notebook_server_is_local():
        # Redirecting would land on an address nothing answers: say so, and show what AWS would open.
        return render(request, "workspaces/open_local.html", {"workspace": workspace, "url": url,
                                                              "endpoint": settings.AWS_ENDPOINT_URL})
    return HttpResponseRedirect(url)


@role_required
def launch(request: HttpRequest) -> HttpResponse:
    role = acting_role(request)
    tables = selection.selected_tables(request.session, role)
    names = [t.qualified_name for t in tables]
    form = LaunchForm(request.POST or None, dataset_names=names)
    if request.method == "POST" and form.is_valid():
        try:
            workspace = services.launch_workspace(
                owner=request.user, role=role, datasets=form.cleaned_data["datasets"],
                instance_type=form.cleaned_data["instance_type"], volume_gb=form.cleaned_data["volume_gb"],
                emr=form.cleaned_data["emr"], ip=client_ip(request),
            )
        except services.WorkspaceError as exc:
            form.add_error(None, str(exc))
        else:
            selection.clear(request.session)
            messages.success(request, f"Workspace {workspace.name} is being launched.")
            return redirect("workspaces:detail", pk=workspace.pk)
    return render(request, "workspaces/launch.html", {
        "form": form, "may_launch": roles.may_launch(role), "tables": tables,
    })


# --- Selection ----------------------------------------------------------------------

@role_required
def selection_page(request: HttpRequest) -> HttpResponse:
    tables = selection.selected_tables(request.session, current_role(request))
    return render(request, "workspaces/selection.html", {"tables": tables})


@require_POST
@role_required
def selection_toggle(request: HttpRequest, table_id: int) -> HttpResponse:
    table = get_object_or_404(Table.objects.visible_to(current_role(request)), pk=table_id)
    if selection.is_selected(request.session, table.pk):
        selection.remove(request.session, table.pk)
    elif not selection.add(request.session, table.pk):
        messages.error(request, f"A workspace holds at most {selection.MAX_SELECTED} datasets.")
    if _is_htmx(request):
        return render(request, "workspaces/_select_button.html", {"table": table, "oob_badge": True})
    return _back(request, "workspaces:selection")


@require_POST
@role_required
def selection_clear(request: HttpRequest) -> HttpResponse:
    selection.clear(request.session)
    return redirect("workspaces:selection")


# --- Subscriptions ---------------------------------------------------------------------

@role_required
def subscriptions_page(request: HttpRequest) -> HttpResponse:
    form = SubscriptionForm(request.POST or None, initial={"endpoint": request.user.email, "protocol": "email"})
    if request.method == "POST" and form.is_valid():
        try:
            notifications.subscribe(user=request.user, role=acting_role(request), ip=client_ip(request),
                                    **form.cleaned_data)
        except (services.WorkspaceError, notifications.SubscriptionError) as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Subscribed to {form.cleaned_data['dataset']}.")
            return redirect("workspaces:subscriptions")
    feed = Paginator(queries.notification_feed(request.user, current_role(request)), 25).get_page(request.GET.get("page"))
    return render(request, "workspaces/subscriptions.html", {
        "form": form, "subscriptions": queries.subscriptions_for(request.user, current_role(request)), "feed": feed,
    })


@require_POST
@role_required
def unsubscribe(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = queries.get_subscription(request.user, current_role(request), pk)
    try:
        notifications.unsubscribe(subscription, user=request.user, role=current_role(request), ip=client_ip(request))
    except notifications.SubscriptionError as exc:
        messages.error(request, str(exc))
    return redirect("workspaces:subscriptions")


@require_POST
@role_required
def subscribe_toggle(request: HttpRequest, table_id: int) -> HttpResponse:
    """The dataset page's button: subscribe the user's e-mail to the dataset, or drop those subscriptions."""
    role = acting_role(request)
    table = get_object_or_404(Table.objects.visible_to(role), pk=table_id)
    error = ""
    existing = queries.subscriptions_for(request.user, role).filter(dataset=table.qualified_name)
    try:
        if existing.exists():
            for subscription in existing:
                notifications.unsubscribe(subscription, user=request.user, role=role, ip=client_ip(request))
        elif not request.user.email:
            error = "Your account has no e-mail address; subscribe an SQS queue on the Subscriptions page."
        else:
            notifications.subscribe(user=request.user, role=role, dataset=table.qualified_name, protocol="email",
                                    endpoint=request.user.email, ip=client_ip(request))
    except (services.WorkspaceError, notifications.SubscriptionError) as exc:
        error = str(exc)
    if _is_htmx(request):
        return render(request, "workspaces/_subscribe_button.html", {"table": table, "subscribe_error": error})
    if error:
        messages.error(request, error)
    return _back(request, "workspaces:subscriptions")
