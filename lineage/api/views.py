"""Lineage REST endpoints: OpenLineage intake (Marquez-compatible path), graph and impact queries."""

from __future__ import annotations

from datetime import datetime, timezone
import zlib
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lineage import queries, services
from lineage.access import WriteRefused
from lineage.events import EVENT_SCHEMA, EventInvalid
from lineage.graph import DIRECTIONS
from lineage.naming import MAX_NODE_CHARS
from identity import roles
from portal.limits import bounded_int, loads_bounded
from identity.permissions import role_may
from identity.roles import current_role


def _error(status: int, text: str, **detail: Any) -> Response:
    body: dict[str, Any] = {"error": text}
    if detail:
        body["detail"] = detail
    return Response(body, status=status)


class _RawBody(BaseParser):
    """Accepts any body without reading it: the intake reads the stream itself, bounded. Without a
    parser DRF answers 415 as soon as anything touches ``request.POST`` (the CSRF check of a
    session-authenticated POST does)."""

    media_type = "*/*"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> dict[str, Any]:
        return {}


def read_event_body(request: HttpRequest, limit: int) -> bytes | Response:
    """The request body, inflated when ``Content-Encoding: gzip``, never more than ``limit`` bytes
    read or inflated (a compressed bomb stops at the limit); 413/415/400 answers otherwise."""
    too_big = _error(413, f"An event must be smaller than {limit} bytes (after decompression).", field="body")
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared >= limit:
        return too_big
    body = request.read(limit)
    if len(body) >= limit:
        return too_big
    encoding = request.META.get("HTTP_CONTENT_ENCODING", "").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "x-gzip", "deflate"):
        return _error(415, f"Content-Encoding {encoding!r} is not supported (gzip or none).", field="Content-Encoding")
    inflater = zlib.decompressobj(wbits=47 if encoding != "deflate" else 15)  # 47: gzip or zlib header
    try:
        inflated = inflater.decompress(body, limit)
        if len(inflated) >= limit or inflater.unconsumed_tail:
            return too_big
        if not inflater.eof:
            raise zlib.error("truncated stream")
    except zlib.error as exc:
        return _error(400, f"body: not a valid {encoding} stream ({exc})", field="body")
    return inflated


class LineageIntakeView(APIView):
    """POST one OpenLineage RunEvent, DatasetEvent or JobEvent (as Marquez's /api/v1/lineage)."""

    permission_classes = [role_may(roles.may_provide)]
    parser_classes = [_RawBody]  # the body is read here, bounded, before any parsing

    @extend_schema(
        # A media-type map: the view's own parser reads the raw body, so nothing else tells the schema it takes JSON.
        request={"application/json": EVENT_SCHEMA},
        responses={201: OpenApiTypes.OBJECT, 202: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT, 403: OpenApiTypes.OBJECT,
                   413: OpenApiTypes.OBJECT, 415: OpenApiTypes.OBJECT},
        description="One OpenLineage RunEvent, DatasetEvent or JobEvent (spec 2-0-2), optionally with Content-Encoding: gzip. "
        "201 {id, created, edges}; the same event again (same content) answers 201 with created=false; "
        "202 {id, status: queued} for an event naming more than LINEAGE_ASYNC_DATASETS datasets (applied by a task); "
        "400 names the field breaking the spec; 403 when the provider may not write this lineage; "
        "413 from LINEAGE_MAX_EVENT_BYTES (decompressed size).",
    )
    def post(self, request: Request) -> Response:
        limit = settings.LINEAGE_MAX_EVENT_BYTES
        body = read_event_body(request._request, limit)
        if isinstance(body, Response):
            return body
        try:
            # Depth capped (portal.limits): no RecursionError 500. Strings are bounded by the event's
            # own cap: a facet may hold a whole SQL script.
            event = loads_bounded(body, max_chars=limit)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            return _error(400, f"body: invalid JSON ({str(exc)[:200]})", field="body")
        role = current_role(request)
        try:
            result = services.ingest_event(event, user=request.user, hub=roles.provided_hub(role), role=role,
                                           defer_big=True)
        except EventInvalid as exc:
            return _error(400, str(exc), field=exc.field, message=exc.message)
        except WriteRefused as exc:
            return _error(403, str(exc))
        if result.queued:
            return Response({"id": result.event_id, "created": result.created, "status": "queued",
                             "message": "A big event: stored, and applied to the graph by a background task."}, status=202)
        return Response({"id": result.event_id, "created": result.created, "edges": result.edges}, status=201)


def _start_or_error(request: Request) -> queries.Start | Response:
    dataset = request.query_params.get("dataset", "").strip()
    node = request.query_params.get("node", "").strip()
    if not dataset and not node:
        return _error(400, "Give dataset=DATABASE.TABLE or node=NAMESPACE/NAME.", field="dataset")
    if len(node) > MAX_NODE_CHARS or len(dataset) > MAX_NODE_CHARS:
        field = "node" if node else "dataset"
        return _error(400, f"{field} must be at most {MAX_NODE_CHARS} characters.", field=field)
    try:
        return queries.find_start(current_role(request), dataset=dataset or None, node=node or None)
    except queries.UnknownDataset as exc:
        return _error(404, str(exc))


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int | Response:
    try:
        return bounded_int(request.query_params, name, default, low, high)
    except ValueError as exc:
        return _error(400, str(exc), field=name)


def _at_param(request: Request) -> datetime | None | Response:
    """``at=<ISO 8601 timestamp>``: answer as the graph was then (400 when it is not one)."""
    raw = request.query_params.get("at", "").strip()
    if not raw:
        return None
    try:
        at = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "+", 1) if "T" in raw else raw)
    except ValueError:
        return _error(400, "at must be an ISO 8601 timestamp, e.g. 2024-05-01T12:00:00Z.", field="at")
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


_WHERE = [
    OpenApiParameter("dataset", str, description="Catalog dataset DATABASE.TABLE"),
    OpenApiParameter("node", str, description="Any dataset as NAMESPACE/NAME (instead of dataset)"),
    OpenApiParameter("column", str, description="Follow one column (column-level lineage)"),
    OpenApiParameter("at", OpenApiTypes.DATETIME, description="Answer as the graph was at this time (each job's runs then)"),
]


class LineageIntakeSlashView(LineageIntakeView):
    """The same intake at ``/api/v1/lineage/``, where some OpenLineage clients post; the schema
    documents the one path (two operations with one id would collide)."""

    schema = None


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
            OpenApiParameter("indirect", str, enum=["include", "exclude"], description="INDIRECT column mappings (filters, joins…): default include"),
        ],
        responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        direction = request.query_params.get("direction", "both")
        if direction not in DIRECTIONS:
            return _error(400, f"direction must be one of {', '.join(DIRECTIONS)}.", field="direction")
        depth = _int_param(request, "depth", 2, 0, settings.LINEAGE_MAX_DEPTH)
        if isinstance(depth, Response):
            return depth
        start = _start_or_error(request)
        if isinstance(start, Response):
            return start
        column = request.query_params.get("column", "").strip() or None
        at = _at_param(request)
        if isinstance(at, Response):
            return at
        indirect = request.query_params.get("indirect", "include")
        if indirect not in ("include", "exclude"):
            return _error(400, "indirect must be include or exclude.", field="indirect")
        role = current_role(request)
        document, cycle = queries.graph_document(role, start, direction=direction, depth=depth, column=column, at=at, indirect=indirect == "include")
        if "runs" in request.query_params.get("include", "").split(","):
            document["runs"] = queries.job_runs([int(n["id"][1:]) for n in document["nodes"] if n["kind"] == "job" and not n["hidden"]])
            document["cycle"] = cycle
        response = Response(document)
        response["X-Lineage-Cycle"] = "true" if cycle else "false"
        return response


class LineageImpactView(APIView):
    """GET every dataset (and column) downstream of a dataset with its distance, paginated."""

    @extend_schema(
        parameters=[*_WHERE, OpenApiParameter("page", {"type": "integer", "minimum": 1, "maximum": 10**9}),
                    OpenApiParameter("page_size", {"type": "integer", "minimum": 1, "maximum": 1000},
                                     description="1-1000, default 100")],
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
        at = _at_param(request)
        if isinstance(at, Response):
            return at
        total, results = queries.impact_page(current_role(request), start, column=column, offset=(page - 1) * size, limit=size, at=at)

        def link(number: int) -> str | None:
            if number < 1 or (number - 1) * size >= total:
                return None
            params = request.query_params.copy()
            params["page"] = str(number)
            return request.build_absolute_uri(f"{request.path}?{params.urlencode()}")

        return Response({"count": total, "next": link(page + 1), "previous": link(page - 1), "results": results})
