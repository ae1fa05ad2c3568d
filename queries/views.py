"""HTML pages of queries: the dataset page's Data tab, the query page (editor, schema browser,
history), a query's live status and its result pages. Thin: parse, call a service, render."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from catalog.models import Table
from catalog.queries import visible_table
from identity.roles import acting_role, role_required
from portal.limits import bounded_int
from queries import queries, services
from queries.api.views import LAKE_DOWN
from queries.forms import QueryForm
from queries.sql import QueryError

HISTORY_SHOWN = 20
SCHEMA_TABLES_SHOWN = 500


@role_required
def preview_tab(request: HttpRequest, qualified_name: str) -> HttpResponse:
    """The Data tab's content (htmx): the first rows of the table or of one partition."""
    role = acting_role(request)
    table = visible_table(role, qualified_name)
    partition = request.GET.get("partition", "")[:1024]
    context = {"table": table, "partition": partition, "partitions": table.partitions.all()[:50]}
    try:
        context["preview"] = services.preview(table, role=role, user=request.user, partition=partition)
    except QueryError as exc:
        context["error"] = str(exc)
    except (BotoCoreError, ClientError):
        context["error"] = LAKE_DOWN
    return render(request, "queries/_preview.html", context)


@role_required
def query_page(request: HttpRequest) -> HttpResponse:
    """The editor with the schema browser beside it, and the user's history; POST runs a query."""
    role = acting_role(request)
    form = QueryForm(request.POST or None, initial={"sql": request.GET.get("sql", "")})
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            query = services.submit_query(request.user, role, form.cleaned_data["sql"])
            return redirect("queries:detail", pk=query.pk)
        except QueryError as exc:
            form.add_error("sql", str(exc))
    if form.errors:
        status = 429 if any("wait for it" in e for e in form.errors.get("sql", [])) else 400
    tables = (Table.objects.visible_to(role).only("database_name", "name", "table_type")
              .order_by("database_name", "name")[:SCHEMA_TABLES_SHOWN])
    return render(request, "queries/page.html", {
        "form": form, "tables": tables, "history": queries.queries_for(request.user, role)[:HISTORY_SHOWN],
        "limits": {"rows": settings.QUERY_MAX_RESULT_ROWS, "seconds": settings.QUERY_TIME_LIMIT_SECONDS,
                   "bytes": settings.QUERY_MAX_BYTES_SCANNED},
    }, status=status)


@role_required
def schema_columns(request: HttpRequest, qualified_name: str) -> HttpResponse:
    """A table's columns in the schema browser (htmx, on opening it)."""
    table = visible_table(acting_role(request), qualified_name)
    return render(request, "queries/_columns.html", {"table": table, "columns": table.columns.all()})


@role_required
def query_detail(request: HttpRequest, pk: int) -> HttpResponse:
    query = queries.get_query(request.user, acting_role(request), pk)
    return render(request, "queries/detail.html", {"query": query})


@role_required
def query_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The live status panel; polls itself while the query is queued or running."""
    query = queries.get_query(request.user, acting_role(request), pk)
    return render(request, "queries/_status.html", {"query": query})


@role_required
def query_results(request: HttpRequest, pk: int) -> HttpResponse:
    """One page of the result (htmx)."""
    query = queries.get_query(request.user, acting_role(request), pk)
    try:
        page = bounded_int(request.GET, "page", 1, 1, 1_000_000)
    except ValueError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    return render(request, "queries/_results.html",
                  {"query": query, "page": page, **queries.result_page(query, page, settings.QUERY_RESULTS_PAGE_SIZE)})


@require_POST
@role_required
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    query = services.cancel_query(queries.get_query(request.user, acting_role(request), pk))
    return render(request, "queries/_status.html", {"query": query})
