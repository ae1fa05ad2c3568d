"""HTML pages of lineage: the full-screen graph (the dataset page's tab is an include)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from lineage import queries
from identity.roles import current_role


@login_required
def full_screen(request: HttpRequest) -> HttpResponse:
    """``/lineage/?dataset=DB.TABLE`` (or ``node=NAMESPACE/NAME``): the graph fills the page."""
    dataset = request.GET.get("dataset", "").strip()
    node = request.GET.get("node", "").strip()
    context = {"dataset": dataset, "node": node, "columns": [], "error": "", "ask": not dataset and not node}
    if context["ask"]:
        return render(request, "lineage/full_screen.html", context)
    try:
        start = queries.find_start(current_role(request), dataset=dataset or None, node=node or None)
    except queries.UnknownDataset as exc:
        context["error"] = str(exc)
        return render(request, "lineage/full_screen.html", context, status=404)
    context["columns"] = queries.column_names(start)
    return render(request, "lineage/full_screen.html", context)
