"""Catalog pages: search, browse and dataset (thin: parse, call a query or service, render)."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from catalog.sources import iceberg
from catalog import queries
from catalog.forms import CurationForm
from catalog.search import searcher
from catalog.search.documents import FACETS
from catalog.search.indexer import IndexUnavailable
from catalog.search.query import BadSearchRequest, SearchRequest, parse_request
from catalog.services import curation as curation_service
from catalog.services.owners import set_owners
from identity.audit import client_ip
from identity.roles import current_role, role_required

FACET_LABELS = {
    "hub": "Data hub", "layer": "Layer", "database": "Database", "table_type": "Type", "format": "Format",
    "owner": "Owner", "classification": "Classification", "term": "Glossary term",
    "pii": "Personal data (PII)", "owned_by": "Owned by",
    "lf_tag": "Lake Formation tag",
}
FACET_ORDER = ("term", "hub", "layer", "database", "classification", "pii", "owned_by", "owner", "lf_tag", "format",
               "table_type")


@role_required
def search(request: HttpRequest) -> HttpResponse:
    role = current_role(request)
    context: dict = {"q": request.GET.get("q", ""), "facet_labels": FACET_LABELS, "facet_order": FACET_ORDER}
    try:
        search_request = parse_request(request.GET.lists())
    except BadSearchRequest as exc:
        context["error"] = str(exc)
        return render(request, "catalog/search.html", context, status=400)
    try:
        answer = searcher.search(search_request, role)
    except IndexUnavailable:
        # Degraded: say so and offer browsing straight from the database.
        context.update(unavailable=True, browse=queries.browse(role, page_size=1))
        return render(request, "catalog/search.html", context, status=503)
    chosen = {f: set(search_request.filters.get(f, ())) for f in FACETS}
    for facet, buckets in answer["facets"].items():
        # Chosen values first, so they never hide behind "more".
        buckets.sort(key=lambda b, picked=chosen[facet]: b["value"] not in picked)
    context.update(answer=answer, request_obj=search_request, pages=_page_numbers(search_request, answer["count"]),
                   chosen=chosen)
    return render(request, "catalog/search.html", context)


def _page_numbers(req: SearchRequest, count: int) -> dict:
    last = max(1, -(-count // req.page_size))
    return {"current": req.page, "last": last, "previous": req.page - 1 if req.page > 1 else None,
            "next": req.page + 1 if req.page < last else None}


@role_required
def suggest(request: HttpRequest) -> HttpResponse:
    """The suggestion list under the header search box (htmx partial)."""
    prefix = request.GET.get("q", "")[:500]
    try:
        suggestions = searcher.suggest(prefix, current_role(request))
    except IndexUnavailable:
        return render(request, "catalog/_suggestions.html", {"unavailable": True, "q": prefix})
    return render(request, "catalog/_suggestions.html", {"suggestions": suggestions, "q": prefix,
                                                         "terms": searcher.suggest_terms(prefix)})


@role_required
def browse(request: HttpRequest) -> HttpResponse:
    hub, layer, database = (request.GET.get(k, "") for k in ("hub", "layer", "database"))
    result = queries.browse(current_role(request), hub=hub, layer=layer, database=database, page=request.GET.get("page", 1))
    page = result.page
    pages = {"current": page.number, "last": page.paginator.num_pages,
             "previous": page.previous_page_number() if page.has_previous() else None,
             "next": page.next_page_number() if page.has_next() else None}
    return render(request, "catalog/browse.html",
                  {"result": result, "pages": pages, "hub": hub, "layer": layer, "database": database})


@role_required
def dataset(request: HttpRequest, qualified_name: str) -> HttpResponse:
    role = current_role(request)
    table = queries.visible_table(role, qualified_name)
    detail = queries.dataset_detail(table, role=role)
    can_curate = bool(role and role.can_curate(table.hub))
    column_names = [c["name"] for c in detail["columns"]]
    form = None
    if can_curate:
        cur = detail["curation"]
        deprecation = detail["deprecation"] or {}
        initial = {**cur, "tags": ", ".join(cur["tags"]), "owners": CurationForm.owners_text(detail["owners"]),
                   "deprecated": bool(deprecation), "deprecation_reason": deprecation.get("reason", ""),
                   "deprecation_date": deprecation.get("date"), "replacement": deprecation.get("replacement", "")}
        form = CurationForm(request.POST or None, initial=initial, column_names=column_names)
        if request.method == "POST" and form.is_valid():
            try:
                with transaction.atomic():
                    curation_service.curate(table, form.to_input(), actor=request.user, role=role, ip=client_ip(request))
                    set_owners(table, form.cleaned_data["owners"], actor=request.user, role=role, ip=client_ip(request))
            except curation_service.CurationError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, str(exc))
            else:
                messages.success(request, "Curation saved; search shows it now.")
                return redirect(f"/datasets/{table.qualified_name}#curation")
    elif request.method == "POST":
        return HttpResponse("Only stewards of this hub may curate it.", status=403)
    partitions = queries.recent_partitions(table)
    context = {
        "table": table,
        "detail": detail,
        "versions": queries.versions_of(table),
        "partitions": partitions,
        "athena_query": athena_query(table.database_name, table.name, detail["partition_keys"], partitions),
        "can_curate": can_curate,
        "form": form,
        "curation_history": queries.curation_history(table) if can_curate else [],
        "qualified_name": table.qualified_name,
    }
    return render(request, "catalog/dataset.html", context, status=400 if form is not None and form.errors else 200)


def athena_query(database: str, name: str, partition_keys: list[str], partitions: list) -> str:
    """A ready-to-copy Athena query; on partitioned tables it reads only the newest partition."""
    sql = f'SELECT *\nFROM "{database}"."{name}"'
    if partition_keys and partitions:
        values = partitions[0].values
        conditions = [f"{key} = '{str(value).replace(chr(39), chr(39) * 2)}'" for key, value in zip(partition_keys, values)]
        if conditions:
            sql += "\nWHERE " + "\n  AND ".join(conditions)
    return sql + "\nLIMIT 10;"


@role_required
def dataset_iceberg(request: HttpRequest, qualified_name: str) -> HttpResponse:
    """The History tab's Iceberg panel (loaded by htmx): snapshots and schema changes read with pyiceberg."""
    table = queries.visible_table(current_role(request), qualified_name)
    if not iceberg.is_iceberg(table.parameters):
        return render(request, "catalog/_iceberg.html", {"table": table, "not_iceberg": True})
    try:
        metadata = iceberg.describe(table.database_name, table.name)
    except iceberg.IcebergUnavailable as exc:
        return render(request, "catalog/_iceberg.html", {"table": table, "unavailable": str(exc)})
    return render(request, "catalog/_iceberg.html", {"table": table, "iceberg": metadata})
