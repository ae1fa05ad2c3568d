"""The Marquez read API at ``/marquez/api/v1/`` (paths and JSON shapes of Marquez's OpenAPI
description), for Marquez clients pointed at ``https://portal.example/marquez``.

Reads only: writes Marquez offers besides the OpenLineage intake (namespaces, datasets, jobs,
tags) answer 405 with a message pointing at the intake. Answers are role-filtered by
``lineage.marquez.queries``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lineage.api.views import LineageIntakeView
from lineage.marquez import queries
from portal.permissions import HasSelectedRole
from portal.roles import current_role

WRITE_REFUSED = (
    "This portal's Marquez API is read-only: namespaces, datasets and jobs come from OpenLineage events. "
    "POST them to /marquez/api/v1/lineage (or /api/v1/lineage)."
)
MAX_LIMIT = 1000


def _refused() -> Response:
    return Response({"code": 405, "message": WRITE_REFUSED}, status=405, headers={"Allow": "GET"})


def _not_found(what: str) -> Response:
    return Response({"code": 404, "message": f"{what} not found"}, status=404)


def _page(request: Request) -> tuple[int, int] | Response:
    try:
        limit = int(request.query_params.get("limit", 100))
        offset = int(request.query_params.get("offset", 0))
    except ValueError:
        return Response({"code": 400, "message": "limit and offset must be integers"}, status=400)
    if not (0 < limit <= MAX_LIMIT and offset >= 0):
        return Response({"code": 400, "message": f"limit must be 1-{MAX_LIMIT}, offset 0 or more"}, status=400)
    return limit, offset


def _depth(request: Request) -> int | Response:
    """``depth``: Marquez's default is 20; the portal's cap LINEAGE_MAX_DEPTH bounds it."""
    cap = int(settings.LINEAGE_MAX_DEPTH)
    try:
        return max(0, min(int(request.query_params.get("depth", cap)), cap))
    except ValueError:
        return Response({"code": 400, "message": "depth must be an integer"}, status=400)


class ReadOnly(APIView):
    """Marquez's write methods on a read path: 405 with a message. Marquez's own openapi.yml
    documents these paths, not the portal's schema."""

    schema = None

    def put(self, request: Request, **kwargs: Any) -> Response:
        return _refused()

    def post(self, request: Request, **kwargs: Any) -> Response:
        return _refused()

    def delete(self, request: Request, **kwargs: Any) -> Response:
        return _refused()


class NamespacesView(ReadOnly):
    def get(self, request: Request) -> Response:
        return Response({"namespaces": queries.namespaces(current_role(request))})


class NamespaceView(ReadOnly):
    def get(self, request: Request, namespace: str) -> Response:
        for found in queries.namespaces(current_role(request)):
            if found["name"] == namespace:
                return Response(found)
        return _not_found(f"Namespace '{namespace}'")


def _listed(request: Request, key: str, rows: QuerySet[Any], shape: Callable[[Any], dict[str, Any]]) -> Response:
    """One page (``limit``, ``offset``) of ``rows`` by name as Marquez lists them: {key: [...], totalCount}."""
    page = _page(request)
    if isinstance(page, Response):
        return page
    limit, offset = page
    return Response({key: [shape(row) for row in rows.order_by("name", "id")[offset: offset + limit]], "totalCount": rows.count()})


class DatasetsView(ReadOnly):
    def get(self, request: Request, namespace: str) -> Response:
        datasets = queries.visible_datasets(current_role(request)).filter(namespace=namespace).select_related("table")
        return _listed(request, "datasets", datasets, queries.dataset_shape)


class DatasetView(ReadOnly):
    def get(self, request: Request, namespace: str, dataset: str) -> Response:
        found = queries.find_dataset(current_role(request), namespace, dataset)
        if found is None:
            return _not_found(f"Dataset '{namespace}/{dataset}'")
        return Response(queries.dataset_shape(found, namespace, dataset))


class JobsView(ReadOnly):
    def get(self, request: Request, namespace: str) -> Response:
        role = current_role(request)
        return _listed(request, "jobs", queries.visible_jobs(role).filter(namespace=namespace), partial(queries.job_shape, role))


class JobView(ReadOnly):
    def get(self, request: Request, namespace: str, job: str) -> Response:
        role = current_role(request)
        found = queries.visible_jobs(role).filter(namespace=namespace, name=job).first()
        if found is None:
            return _not_found(f"Job '{namespace}/{job}'")
        return Response(queries.job_shape(role, found))


class TagWriteView(ReadOnly):
    """PUT /tags/{tag}, POST …/datasets/{dataset}/tags/{tag}: 405 (tags are the catalog's)."""




class JobRunsView(ReadOnly):
    def get(self, request: Request, namespace: str, job: str) -> Response:
        found = queries.visible_jobs(current_role(request)).filter(namespace=namespace, name=job).first()
        if found is None:
            return _not_found(f"Job '{namespace}/{job}'")
        page = _page(request)
        if isinstance(page, Response):
            return page
        limit, offset = page
        runs = found.runs.order_by("-state_at", "-id")[offset: offset + limit]
        return Response({"runs": [queries.run_shape(r) for r in runs], "totalCount": found.runs.count()})


class RunView(ReadOnly):
    def get(self, request: Request, run_id: str) -> Response:
        run = queries.find_run(current_role(request), run_id)
        return _not_found(f"Run '{run_id}'") if run is None else Response(queries.run_shape(run))


class RunFacetsView(ReadOnly):
    def get(self, request: Request, run_id: str) -> Response:
        run = queries.find_run(current_role(request), run_id)
        return _not_found(f"Run '{run_id}'") if run is None else Response({"runId": str(run.run_id), "facets": run.facets})


class LineageView(LineageIntakeView):
    """Marquez's ``lineage`` path: GET ?nodeId=dataset:NS:NAME|job:NS:NAME&depth=N (default and cap
    LINEAGE_MAX_DEPTH) for any role; POST is the OpenLineage intake (providers), documented in the
    portal's schema at /api/v1/lineage."""

    schema = None

    def get_permissions(self) -> list[Any]:
        return [HasSelectedRole()] if self.request.method == "GET" else super().get_permissions()

    def get(self, request: Request) -> Response:
        depth = _depth(request)
        if isinstance(depth, Response):
            return depth
        role = current_role(request)
        node_id = request.query_params.get("nodeId", "")
        start = queries.lineage_start(role, node_id)
        if start is None:
            return _not_found(f"Node '{node_id}'")
        return Response(queries.lineage_graph(role, start, depth))


class SearchView(ReadOnly):
    """GET search?q=&filter=dataset|job&sort=name|update_at&limit=&namespace=."""

    def get(self, request: Request) -> Response:
        q = request.query_params.get("q", "").strip()
        kind = request.query_params.get("filter", "").upper() or None
        sort = request.query_params.get("sort", "NAME").upper()
        if not q or kind not in (None, "DATASET", "JOB") or sort not in ("NAME", "UPDATE_AT"):
            return Response({"code": 400, "message": "q is required; filter is dataset or job; sort is name or update_at"}, status=400)
        try:
            limit = int(request.query_params.get("limit", 10))
        except ValueError:
            limit = 0
        if not 0 < limit <= MAX_LIMIT:
            return Response({"code": 400, "message": f"limit must be 1-{MAX_LIMIT}"}, status=400)
        return Response(queries.search(current_role(request), q, kind=kind, sort=sort, limit=limit,
                                       namespace=request.query_params.get("namespace") or None))


class EventsView(ReadOnly):
    """GET events/lineage?before=&after=&sortDirection=asc|desc&limit=&offset= (the stored events)."""

    def get(self, request: Request) -> Response:
        page = _page(request)
        if isinstance(page, Response):
            return page
        limit, offset = page
        bounds = {}
        for name in ("before", "after"):
            raw = request.query_params.get(name, "").strip()
            try:
                bounds[name] = datetime.fromisoformat(raw.replace("Z", "+00:00")) if raw else None
            except ValueError:
                return Response({"code": 400, "message": f"{name} must be an ISO 8601 date-time"}, status=400)
        rows = queries.events(current_role(request), ascending=request.query_params.get("sortDirection", "desc").lower() == "asc", **bounds)
        return Response({"events": [e.payload for e in rows[offset: offset + limit]], "totalCount": rows.count()})


class TagsView(ReadOnly):
    """GET tags (the catalog's classifications); PUT tags/{tag} answers 405."""

    def get(self, request: Request, tag: str | None = None) -> Response:
        if tag is not None:
            return _refused()
        return Response({"tags": queries.tags(current_role(request))})


class DatasetVersionsView(ReadOnly):
    """GET …/datasets/{dataset}/versions[/{version}]: each run's write of the dataset."""

    def get(self, request: Request, namespace: str, dataset: str, version: str | None = None) -> Response:
        found = queries.find_dataset(current_role(request), namespace, dataset)
        if found is None:
            return _not_found(f"Dataset '{namespace}/{dataset}'")
        versions = queries.dataset_versions(found, namespace, dataset)
        if version is None:
            page = _page(request)
            if isinstance(page, Response):
                return page
            limit, offset = page
            return Response({"versions": versions[offset: offset + limit], "totalCount": len(versions)})
        match = next((v for v in versions if v["version"] == version), None)
        return _not_found(f"Dataset version '{version}'") if match is None else Response(match)


class ColumnLineageView(ReadOnly):
    """GET column-lineage?nodeId=&depth=&withDownstream=true|false (see queries.column_lineage)."""

    def get(self, request: Request) -> Response:
        depth = _depth(request)
        if isinstance(depth, Response):
            return depth
        downstream = request.query_params.get("withDownstream", "false").lower() == "true"
        node_id = request.query_params.get("nodeId", "")
        graph = queries.column_lineage(current_role(request), node_id, depth, downstream)
        return _not_found(f"Node '{node_id}'") if graph is None else Response(graph)


class SourcesView(ReadOnly):
    """GET sources, sources/{source}: the namespaces of visible datasets (PUT answers 405)."""

    def get(self, request: Request, source: str | None = None) -> Response:
        found = queries.sources(current_role(request))
        if source is None:
            return Response({"sources": found})
        match = next((s for s in found if s["name"] == source), None)
        return _not_found(f"Source '{source}'") if match is None else Response(match)
