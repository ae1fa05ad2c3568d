"""Marquez API views: parse Marquez's parameters, ask ``lineage.marquez.queries``/``graphs``, answer its JSON.

Errors use Marquez's shape, ``{"code": 404, "message": "..."}``. Writes Marquez offers besides the
OpenLineage intake (namespaces, sources, datasets, jobs, runs, tags) answer 405 pointing at it:
lineage enters the portal as OpenLineage events only, checked by ``lineage.access``.
The views stay out of the portal's own schema (``schema = None``): Marquez's openapi.yml documents them.
"""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from typing import Any

from django.conf import settings
from django.utils.dateparse import parse_date, parse_datetime
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lineage.api.views import LineageIntakeView
from lineage.marquez import graphs, queries
from lineage.marquez.visibility import Sight
from portal.limits import bounded_int
from identity.permissions import HasSelectedRole
from identity.roles import current_role

DEFAULT_LIMIT = 100  # Marquez's default page size
MAX_LIMIT = 1000
DEFAULT_SEARCH_LIMIT = 10  # Marquez's default for /search
READ_ONLY = ("Marquez writes are not offered here: lineage enters the portal as OpenLineage events only. "
             "POST them to /marquez/api/v1/lineage (or /api/v1/lineage).")


class BadParameter(ValueError):
    pass


def error(code: int, message: str) -> Response:
    return Response({"code": code, "message": message}, status=code)


def refuse_write(view: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
    return error(405, READ_ONLY)


def _int(request: Request, name: str, default: int, low: int, high: int) -> int:
    try:
        return bounded_int(request.query_params, name, default, low, high)
    except ValueError as exc:
        raise BadParameter(str(exc)) from None


def _moment(request: Request, name: str) -> datetime | None:
    """An ISO 8601 date-time, or a date (YYYY-MM-DD: its midnight UTC), or None."""
    raw = request.query_params.get(name, "").strip().replace(" ", "+")
    if not raw:
        return None
    try:
        found: datetime | date | None = parse_datetime(raw) or parse_date(raw)
    except ValueError:
        found = None
    if found is None:
        raise BadParameter(f"{name} must be an ISO 8601 date-time or a date (YYYY-MM-DD).")
    if not isinstance(found, datetime):
        found = datetime.combine(found, time.min)
    return found if found.tzinfo else found.replace(tzinfo=timezone.utc)


class MarquezErrors:
    """Unknown names and bad parameters answered in Marquez's error shape."""

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, queries.NotFound):
            return error(404, str(exc))
        if isinstance(exc, (BadParameter, graphs.BadNodeId)):
            return error(400, str(exc))
        return super().handle_exception(exc)  # type: ignore[misc,no-any-return]


class MarquezView(MarquezErrors, APIView):
    """Role-checked like the rest of the API (401 anonymous, 403 without a role); Marquez errors."""

    schema = None

    def sight(self) -> Sight:
        return Sight(current_role(self.request))

    def page(self, request: Request) -> tuple[int, int]:
        return _int(request, "limit", DEFAULT_LIMIT, 0, MAX_LIMIT), _int(request, "offset", 0, 0, 10**9)


class ReadOnlyMarquezView(MarquezView):
    """A Marquez resource whose writes answer 405 (see ``READ_ONLY``)."""

    put = refuse_write  # type: ignore[assignment]
    delete = refuse_write  # type: ignore[assignment]


class RefusedWriteView(MarquezView):
    """Marquez write-only paths (tags on datasets and fields, run state changes): 405."""

    post = refuse_write  # type: ignore[assignment]
    delete = refuse_write  # type: ignore[assignment]


class NamespacesView(MarquezView):
    def get(self, request: Request) -> Response:
        limit, offset = self.page(request)
        return Response({"namespaces": queries.namespaces(self.sight())[offset: offset + limit]})


class NamespaceView(ReadOnlyMarquezView):
    def get(self, request: Request, namespace: str) -> Response:
        return Response(queries.namespace(self.sight(), namespace))


class SourcesView(MarquezView):
    def get(self, request: Request) -> Response:
        limit, offset = self.page(request)
        return Response({"sources": [_source(n) for n in queries.namespaces(self.sight())][offset: offset + limit]})


class SourceView(ReadOnlyMarquezView):
    def get(self, request: Request, source: str) -> Response:
        return Response(_source(queries.namespace(self.sight(), source)))


def _source(namespace: dict[str, Any]) -> dict[str, Any]:
    """Marquez's (deprecated) source: here one per namespace, its URL the namespace itself."""
    scheme = namespace["name"].split(":", 1)[0].upper() if ":" in namespace["name"] else "UNKNOWN"
    return {"type": scheme, "name": namespace["name"], "createdAt": namespace.get("createdAt"),
            "updatedAt": namespace.get("updatedAt"), "connectionUrl": namespace["name"]}


class DatasetsView(MarquezView):
    def get(self, request: Request, namespace: str) -> Response:
        limit, offset = self.page(request)
        found = queries.datasets(self.sight(), namespace, limit=limit, offset=offset)
        return Response({"datasets": found.items, "totalCount": found.total})


class DatasetView(ReadOnlyMarquezView):
    def get(self, request: Request, namespace: str, dataset: str) -> Response:
        sight = self.sight()
        return Response(queries.dataset(sight, queries.find_dataset(sight, namespace, dataset)))


class DatasetVersionsView(MarquezView):
    def get(self, request: Request, namespace: str, dataset: str) -> Response:
        limit, offset = self.page(request)
        sight = self.sight()
        found = queries.dataset_versions(sight, queries.find_dataset(sight, namespace, dataset), limit=limit, offset=offset)
        return Response({"versions": found.items, "totalCount": found.total})


class DatasetVersionView(MarquezView):
    def get(self, request: Request, namespace: str, dataset: str, version: str) -> Response:
        sight = self.sight()
        return Response(queries.dataset_version(sight, queries.find_dataset(sight, namespace, dataset), version))


class JobsView(MarquezView):
    def get(self, request: Request, namespace: str | None = None) -> Response:
        limit, offset = self.page(request)
        found = queries.jobs(self.sight(), namespace, limit=limit, offset=offset)
        return Response({"jobs": found.items, "totalCount": found.total})


class JobView(ReadOnlyMarquezView):
    def get(self, request: Request, namespace: str, job: str) -> Response:
        sight = self.sight()
        return Response(queries.job(sight, queries.find_job(sight, namespace, job)))


class JobVersionsView(MarquezView):
    def get(self, request: Request, namespace: str, job: str) -> Response:
        limit, offset = self.page(request)
        sight = self.sight()
        found = queries.job_versions(sight, queries.find_job(sight, namespace, job), limit=limit, offset=offset)
        return Response({"versions": found.items, "totalCount": found.total})


class JobVersionView(MarquezView):
    def get(self, request: Request, namespace: str, job: str, version: str) -> Response:
        sight = self.sight()
        return Response(queries.job_version(sight, queries.find_job(sight, namespace, job), version))


class JobRunsView(MarquezView):
    post = refuse_write  # type: ignore[assignment]  # createRun

    def get(self, request: Request, namespace: str, job: str) -> Response:
        limit, offset = self.page(request)
        sight = self.sight()
        found = queries.job_runs(sight, queries.find_job(sight, namespace, job), limit=limit, offset=offset)
        return Response({"runs": found.items, "totalCount": found.total})


class RunView(MarquezView):
    def get(self, request: Request, run_id: str) -> Response:
        sight = self.sight()
        return Response(queries.runs(sight, [queries.find_run(sight, run_id)])[0])


class RunFacetsView(MarquezView):
    def get(self, request: Request, run_id: str) -> Response:
        kind = request.query_params.get("type", "")
        if kind not in ("run", "job"):
            return error(400, "type must be run or job.")
        return Response(queries.run_facets(queries.find_run(self.sight(), run_id), kind))


class _ReadsForRolesWritesForProviders(BasePermission):
    """GET: any selected role; POST (the intake): the intake's own rule."""

    def has_permission(self, request: Any, view: Any) -> bool:
        if request.method == "POST":
            return all(p().has_permission(request, view) for p in LineageIntakeView.permission_classes)
        return HasSelectedRole().has_permission(request, view)


class LineageView(MarquezErrors, LineageIntakeView):
    """``GET /lineage?nodeId=&depth=`` (Marquez's graph) and ``POST /lineage`` (the OpenLineage intake)."""

    schema = None
    permission_classes = [_ReadsForRolesWritesForProviders]

    def get(self, request: Request) -> Response:
        node_id = request.query_params.get("nodeId", "")
        if not node_id:
            return error(400, "nodeId is required (dataset:NAMESPACE:NAME or job:NAMESPACE:NAME).")
        depth = _int(request, "depth", _max_depth(), 0, _max_depth())
        return Response(graphs.lineage(Sight(current_role(request)), node_id, depth))


def _max_depth() -> int:
    return int(getattr(settings, "LINEAGE_MAX_DEPTH", 20))


class ColumnLineageView(MarquezView):
    def get(self, request: Request) -> Response:
        node_id = request.query_params.get("nodeId", "")
        if not node_id:
            return error(400, "nodeId is required (dataset:…, datasetField:… or job:…).")
        depth = _int(request, "depth", _max_depth(), 0, _max_depth())
        downstream = request.query_params.get("withDownstream", "false").lower() in ("true", "1", "yes")
        return Response(graphs.column_lineage(self.sight(), node_id, depth, downstream))


class LineageEventsView(MarquezView):
    def get(self, request: Request, namespace: str | None = None) -> Response:
        limit, offset = self.page(request)
        direction = request.query_params.get("sortDirection", "desc").lower()
        if direction not in ("asc", "desc"):
            return error(400, "sortDirection must be asc or desc.")
        found = queries.events(self.sight(), before=_moment(request, "before"), after=_moment(request, "after"),
                               ascending=direction == "asc", limit=limit, offset=offset, namespace=namespace)
        return Response({"events": found.items, "totalCount": found.total})


class SearchView(MarquezView):
    def get(self, request: Request) -> Response:
        q = request.query_params.get("q", "").strip()
        if not q or len(q) > 255:
            return error(400, "q is required (at most 255 characters).")
        kind = request.query_params.get("filter", "").upper() or None
        if kind not in (None, "DATASET", "JOB"):
            return error(400, "filter must be DATASET or JOB.")
        sort = request.query_params.get("sort", "NAME").upper()
        if sort not in ("NAME", "UPDATE_AT"):
            return error(400, "sort must be NAME or UPDATE_AT.")
        limit = _int(request, "limit", DEFAULT_SEARCH_LIMIT, 1, MAX_LIMIT)
        found = queries.search(self.sight(), q, kind=kind, sort=sort, limit=limit,
                               namespace_name=request.query_params.get("namespace") or None,
                               before=_moment(request, "before"), after=_moment(request, "after"))
        return Response({"totalCount": found.total, "results": found.items})


class TagsView(MarquezView):
    def get(self, request: Request) -> Response:
        limit, offset = self.page(request)
        return Response({"tags": queries.tags(self.sight(), limit=limit, offset=offset).items})


class TagView(MarquezView):
    put = refuse_write  # type: ignore[assignment]
    delete = refuse_write  # type: ignore[assignment]
