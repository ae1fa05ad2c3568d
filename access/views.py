"""HTML pages of access requests: the queue and list, the request form, the dataset page's access panel."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from access import queries, services
from access.filtersets import AccessRequestFilterSet
from access.forms import DecisionForm, RequestForm
from access.models import AccessRequest
from catalog.models import Column, Table
from identity import roles
from identity.audit import client_ip
from identity.roles import acting_role, current_role, role_required
from portal.filtering import filtered_for_page


@role_required
def request_list(request: HttpRequest) -> HttpResponse:
    """The role's own requests, and for stewards and admins the queue they decide."""
    role = current_role(request)
    filters = AccessRequestFilterSet(request.GET, queryset=queries.requests_for(request.user, role))
    return render(request, "access/list.html", {
        "requests": filtered_for_page(filters), "filters": filters, "queue": queries.queue_for(role),
        "failed": queries.needs_attention_for(role), "decision_form": DecisionForm(),
    }, status=200 if filters.is_valid() else 400)


def _table(request: HttpRequest, table_id: int) -> Table:
    table = Table.objects.visible_to(current_role(request)).filter(pk=table_id).first()
    if table is None:
        raise Http404("No such dataset.")
    return table


@role_required
def request_form(request: HttpRequest, table_id: int) -> HttpResponse:
    table = _table(request, table_id)
    column_names = list(Column.objects.filter(table=table).order_by("position").values_list("name", flat=True))
    form = RequestForm(request.POST or None, column_names=column_names)
    if request.method == "POST" and form.is_valid():
        try:
            services.request_access(user=request.user, role=acting_role(request), dataset=table.qualified_name,
                                    columns=form.cleaned_data["columns"] or None, purpose=form.cleaned_data["purpose"],
                                    until=form.cleaned_data["until"], ip=client_ip(request))
        except services.AccessError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Access to {table.qualified_name} requested; the hub's stewards decide.")
            return redirect(f"/datasets/{table.qualified_name}")
    return render(request, "access/request.html", {"table": table, "form": form},
                  status=400 if form.errors else 200)


@role_required
def dataset_panel(request: HttpRequest, table_id: int) -> HttpResponse:
    """The dataset page's access panel (loaded by htmx: Lake Formation answers it, not our records)."""
    table = _table(request, table_id)
    role = acting_role(request)
    return render(request, "access/_dataset_panel.html", {
        "table": table, "access": queries.dataset_access(request.user, role, table),
        "may_request": roles.may_request_access(role, table),
    })


def _decide(request: HttpRequest, pk: int) -> AccessRequest:
    found = AccessRequest.objects.filter(pk=pk).select_related("table").first()
    if found is None:
        raise Http404("No such access request.")
    return found


@require_POST
@role_required
def decide(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    access_request = _decide(request, pk)
    role, ip = current_role(request), client_ip(request)
    try:
        if action == "approve":
            form = DecisionForm(request.POST)
            form.is_valid()
            services.approve(access_request, actor=request.user, role=role, ip=ip, **form.approval())
        elif action == "refuse":
            services.refuse(access_request, actor=request.user, role=role, ip=ip, reason=request.POST.get("reason", ""))
        elif action == "revoke":
            services.revoke(access_request, actor=request.user, role=role, ip=ip)
        else:
            services.retry(access_request, actor=request.user, role=role, ip=ip)
    except services.AccessError as exc:
        if exc.status_code == 403:
            return HttpResponse(str(exc), status=403)
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Request {pk} ({access_request.dataset}): {action} done.")
    return redirect("access:list")
