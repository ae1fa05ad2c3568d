"""/api/v1/datasets/DB.TABLE/preview and /api/v1/queries: parse, call a service, answer."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.queries import visible_table
from identity import roles
from identity.permissions import role_may
from identity.roles import acting_role, current_role
from portal.api import ServiceUnavailable
from portal.limits import bounded_int
from queries import queries, results, services
from queries.api.serializers import PreviewSerializer, QueryCreateSerializer, QuerySerializer, ResultPageSerializer
from queries.sql import QueryError

_ERROR = OpenApiResponse(OpenApiTypes.OBJECT, description='{"error": message}')
LAKE_DOWN = "The lake cannot be read right now (S3, Glue or Lake Formation did not answer); try again shortly."


def _error(exc: Exception) -> Response:
    return Response({"error": str(exc)}, status=getattr(exc, "status_code", 400))


class PreviewView(APIView):
    """GET /api/v1/datasets/DATABASE.TABLE/preview?limit=&partition= — the first rows, masked columns None."""

    permission_classes = [role_may(roles.may_query)]

    @extend_schema(parameters=[
        OpenApiParameter("limit", {"type": "integer", "minimum": 1}, description="rows (at most QUERY_PREVIEW_MAX_ROWS)"),
        OpenApiParameter("partition", str, description="key=value[/key=value] of one partition"),
    ], responses={200: PreviewSerializer, 400: _ERROR, 404: _ERROR, 503: _ERROR})
    def get(self, request: Request, qualified_name: str) -> Response:
        role = acting_role(request)
        table = visible_table(role, qualified_name)
        try:
            limit = bounded_int(request.query_params, "limit", settings.QUERY_PREVIEW_MAX_ROWS, 1,
                                settings.QUERY_PREVIEW_MAX_ROWS)
            partition = request.query_params.get("partition", "")[:1024]
            return Response(services.preview(table, role=role, user=request.user, limit=limit, partition=partition))
        except (ValueError, QueryError) as exc:
            return _error(exc)
        except (BotoCoreError, ClientError) as exc:
            raise ServiceUnavailable(LAKE_DOWN) from exc


class QueryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The caller's queries in the selected role: submit, follow, page the result, download, cancel."""

    serializer_class = QuerySerializer
    permission_classes = [role_may(roles.may_query)]
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> Any:
        return queries.queries_for(self.request.user, current_role(self.request))

    def get_object(self) -> Any:
        return queries.get_query(self.request.user, current_role(self.request), int(self.kwargs["pk"]))

    @extend_schema(request=QueryCreateSerializer, responses={201: QuerySerializer, 400: _ERROR, 429: _ERROR})
    def create(self, request: Request) -> Response:
        payload = QueryCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            query = services.submit_query(request.user, acting_role(request), payload.validated_data["sql"])
        except QueryError as exc:
            return _error(exc)
        return Response(QuerySerializer(query).data, status=status.HTTP_201_CREATED)

    @extend_schema(parameters=[OpenApiParameter("page", {"type": "integer", "minimum": 1}, description="1-based")],
                   responses={200: ResultPageSerializer, 400: _ERROR, 404: _ERROR, 409: _ERROR})
    @action(detail=True, methods=["get"])
    def results(self, request: Request, pk: str) -> Response:
        query = self.get_object()
        if query.state != query.State.SUCCEEDED:
            return Response({"error": f"The query is {query.state}; results come once it succeeded."}, status=409)
        try:
            page = bounded_int(request.query_params, "page", 1, 1, 1_000_000)
        except ValueError as exc:
            return _error(exc)
        return Response(queries.result_page(query, page, settings.QUERY_RESULTS_PAGE_SIZE))

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR, 404: _ERROR, 409: _ERROR})
    @action(detail=True, methods=["get"])
    def csv(self, request: Request, pk: str) -> HttpResponse:
        query = self.get_object()
        if query.state != query.State.SUCCEEDED:
            return Response({"error": f"The query is {query.state}; results come once it succeeded."}, status=409)
        return results.csv_response(query)

    @extend_schema(request=None, responses={200: QuerySerializer, 404: _ERROR})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        return Response(QuerySerializer(services.cancel_query(self.get_object())).data)
