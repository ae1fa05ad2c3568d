"""Curation pages beyond the dataset page: one column's curation form, the stewards' propagation queue
(thin: parse, call a service, render)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from catalog import queries
from catalog.forms import ColumnCurationForm
from catalog.models import ColumnCuration, PropagationProposal
from catalog.services import propagation
from catalog.services.column_curation import curate_column
from catalog.services.curation import CurationError, CurationForbidden
from identity.audit import client_ip
from identity.roles import current_role, may_curate_column, role_required


@role_required
def column(request: HttpRequest, qualified_name: str, column: str) -> HttpResponse:
    """GET: the column's curated state with its propagation explained, and the form for its stewards; POST saves."""
    role = current_role(request)
    table = queries.visible_table(role, qualified_name)
    detail = queries.dataset_detail(table, role=role)
    state = next((c for c in detail["columns"] if c["name"] == column), None)
    if state is None:
        raise Http404(f"{table.qualified_name} has no column {column}.")
    if not may_curate_column(role, table):
        if request.method == "POST":
            return HttpResponse("Only stewards of this hub may curate its columns.", status=403)
        return render(request, "catalog/column.html", {"table": table, "detail": detail, "column": state, "form": None})
    curated = ColumnCuration.objects.filter(table=table, column=column).first()
    form = ColumnCurationForm(request.POST or None, initial=ColumnCurationForm.initial_for(curated))
    if request.method == "POST" and form.is_valid():
        try:
            curate_column(table, column, form.to_input(), actor=request.user, role=role, ip=client_ip(request))
        except CurationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            messages.success(request, f"Column {column} saved; search shows it now.")
            return redirect(f"/datasets/{table.qualified_name}#schema")
    return render(request, "catalog/column.html", {"table": table, "detail": detail, "column": state, "form": form},
                  status=400 if form.errors else 200)


@role_required
def proposals(request: HttpRequest) -> HttpResponse:
    """The propagation proposals the role may decide, accepted or rejected in bulk (checkboxes)."""
    role = current_role(request)
    if request.method == "POST":
        ids = [i for i in request.POST.getlist("ids") if i.isdigit()]
        accept = request.POST.get("decision") == "accept"
        try:
            decided = propagation.decide(ids, accept=accept, actor=request.user, role=role, ip=client_ip(request))
        except CurationForbidden as exc:
            return HttpResponse(str(exc), status=403)
        except CurationError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"{decided} proposal{'s' if decided != 1 else ''} {'accepted' if accept else 'rejected'}.")
        return redirect("catalog:proposals")
    status = request.GET.get("status", PropagationProposal.Status.PENDING)
    if status not in PropagationProposal.Status.values:
        status = PropagationProposal.Status.PENDING
    rows = propagation.queue_for(role, status=status)
    return render(request, "catalog/proposals.html", {"proposals": rows, "status": status,
                                                      "statuses": PropagationProposal.Status.choices})
