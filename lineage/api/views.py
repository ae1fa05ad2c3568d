"""Lineage REST endpoints: OpenLineage intake (Marquez-compatible path), graph and impact queries."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lineage import queries, services
from lineage.events import EventInvalid
from lineage.graph import DIRECTIONS
from portal import roles
from portal.permissions import role_may
from portal.roles import current_role


def _error(status: int, text: str, **detail: Any) -> Response:
    body: dict[str, Any] = {"error": text}
    if detail:
        body["detail"] = detail
    return Response(body, status=status)


class LineageIntakeView(APIView):
    """POST one OpenLineage RunEvent, DatasetEvent or JobEvent (as Marquez's /api/v1/lineage)."""

    permission_classes = [role_may(roles.may_provide)]
    parser_classes: list = []  # the body is read here, bounded, before any parsing

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={201: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT, 403: OpenApiTypes.OBJECT, 413: OpenApiTypes.OBJECT},
        description="One OpenLineage RunEvent, DatasetEvent or JobEvent (spec 2-0-2). 201 {id, created, edges}; "
        "the same event again (runId + eventType + eventTime) answers 201 with created=false; "
        "400 names the field breaking the spec; 413 from LINEAGE_MAX_EVENT_BYTES.",
    )
    def post(self, request: Request) -> Response:
        limit = int(getattr(settings, "LINEAGE_MAX_EVENT_BYTES", 5_000_000))
        too_big = _error(413, f"An event must be smaller than {limit} bytes.", field="body")
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared >= limit:
            return too_big
        body = request._request.read(limit)
        if len(body) >= limit:
            return too_big
        try:
            event = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            return _error(400, f"body: invalid JSON ({exc})", field="body")
        try:
            result = services.ingest_event(event, user=request.user, hub=roles.provided_hub(current_role(request)))
        except EventInvalid as exc:
            return _error(400, str(exc), field=exc.field, message=exc.message)
        return Response({"id": result.event_id, "created": result.created, "edges": result.edges}, status=201)


def _start_or_error(request: Request) -> queries.Start | Response:
    dataset = request.query_params.get("dataset", "").strip()
    node = request.query_params.get("node", "").strip()
    if not dataset and not node:
        return _error(400, "Give dataset=DATABASE.TABLE or node=NAMESPACE/NAME.", field="dataset")
    try:
        return queries.find_start(current_role(request), dataset=dataset or None, node=node or None)
    except queries.UnknownDataset as exc:
        return _error(404, str(exc))


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int | Response:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        return _error(400, f"{name} must be an integer.", field=name)
    if not low <= value <= high:
        return _error(400, f"{name} must be between {low} and {high}.", field=name)
    return value


_WHERE = [
    OpenApiParameter("dataset", str, description="Catalog dataset DATABASE.TABLE"),
    OpenApiParameter("node", str, description="Any dataset as NAMESPACE/NAME (instead of dataset)"),
    OpenApiParameter("column", str, description="Follow one column (column-level lineage)"),
]


class LineageGraphView(APIView):
    """GET the lineage around a dataset: nodes, edges, truncated (see lineage.queries for visibility).

    ``include=runs`` (used by the UI) adds ``runs`` (last run state per job) and ``cycle``;
    the ``X-Lineage-Cycle`` header always says whether the returned graph has a cycle.
    """

    @extend_schema(
        parameters=[
            *_WHERE,
            OpenApiParameter("direction", str, enum=list(DIRECTIONS), description="Default both"),
            OpenApiParameter("depth", int, description="Hops from the dataset, 0-20, default 2"),
            OpenApiParameter("include", str, description="runs: add last run states of jobs and the cycle flag"),
        ],
        responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        direction = request.query_params.get("direction", "both")
        if direction not in DIRECTIONS:
            return _error(400, f"direction must be one of {', '.join(DIRECTIONS)}.", field="direction")
        depth = _int_param(request, "depth", 2, 0, int(getattr(settings, "LINEAGE_MAX_DEPTH", 20)))
        if isinstance(depth, Response):
            return depth
        start = _start_or_error(request)
        if isinstance(start, Response):
            return start
        column = request.query_params.get("column", "").strip() or None
        role = current_role(request)
        document, cycle = queries.graph_document(role, start, direction=direction, depth=depth, column=column)
        if "runs" in request.query_params.get("include", "").split(","):
            document["runs"] = queries.job_runs([int(n["id"][1:]) for n in document["nodes"] if n["kind"] == "job" and not n["hidden"]])
            document["cycle"] = cycle
        response = Response(document)
        response["X-Lineage-Cycle"] = "true" if cycle else "false"
        return response


class LineageImpactView(APIView):
    """GET every dataset (and column) downstream of a dataset with its distance, paginated."""

    @extend_schema(
        parameters=[*_WHERE, OpenApiParameter("page", int), OpenApiParameter("page_size", int, description="1-1000, default 100")],
        responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        page = _int_param(request, "page", 1, 1, 10**9)
        if isinstance(page, Response):
            return page
        size = _int_param(request, "page_size", 100, 1, 1000)
        if isinstance(size, Response):
            return size
        start = _start_or_error(request)
        if isinstance(start, Response):
            return start
        column = request.query_params.get("column", "").strip() or None
        total, results = queries.impact_page(current_role(request), start, column=column, offset=(page - 1) * size, limit=size)

        def link(number: int) -> str | None:
            if number < 1 or (number - 1) * size >= total:
                return None
            params = request.query_params.copy()
            params["page"] = str(number)
            return request.build_absolute_uri(f"{request.path}?{params.urlencode()}")

        return Response({"count": total, "next": link(page + 1), "previous": link(page - 1), "results": results})
