"""Catalog API: search, suggestions, dataset detail, versions and curation (thin: parse, call, answer)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import queries
from catalog.api.serializers import (
    CurationSerializer,
    DatasetSerializer,
    SearchPageSerializer,
    SuggestPageSerializer,
    VersionsPageSerializer,
    dataset_json,
    versions_json,
)
from catalog.search import searcher
from catalog.search.documents import FACETS
from catalog.search.indexer import IndexUnavailable
from catalog.search.query import BadSearchRequest, parse_request
from catalog.services import curation as curation_service
from portal.api import ServiceUnavailable
from identity.audit import client_ip
from identity.roles import current_role, may_administer


_ERROR = OpenApiResponse(OpenApiTypes.OBJECT, description='{"error": message} or {"detail": message}')


class JSONOnly(DefaultContentNegotiation):
    """Always JSON: ``format`` is a search facet here, not DRF's renderer override."""

    def select_renderer(self, request: Any, renderers: list[Any], format_suffix: str | None = None) -> tuple[Any, str]:
        return renderers[0], renderers[0].media_type


class _CatalogView(APIView):
    content_negotiation_class = JSONOnly


def _bad_request(message: str) -> Response:
    return Response({"error": message}, status=400)


class SearchView(_CatalogView):
    """GET /api/v1/search?q=&page=&page_size=&<facet>=… — ranked datasets with facets."""

    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, description="Words, a table or column name, or database.table (≤ 500 chars)"),
            OpenApiParameter("page", {"type": "integer", "minimum": 1},
                             description="1-based; beyond the end gives no results"),
            OpenApiParameter("page_size", {"type": "integer", "minimum": 1},
                             description="default 20; more than 100 gives 100"),
            *[OpenApiParameter(f, str, many=True, description="facet filter; repeat for OR") for f in FACETS],
            OpenApiParameter("explain", {"type": "string", "enum": ["0", "1"]},
                             description="1: each hit's score parts (text, priors); admins only"),
        ],
        responses={200: SearchPageSerializer, 400: _ERROR, 403: _ERROR},
    )
    def get(self, request: Request) -> Response:
        try:
            search_request = parse_request(request.query_params.lists())
        except BadSearchRequest as exc:
            return _bad_request(str(exc))
        if search_request.explain and not may_administer(current_role(request)):
            raise PermissionDenied("explain=1 shows how ranking works; it is for admins.")
        try:
            return Response(searcher.search(search_request, current_role(request)))
        except IndexUnavailable as exc:
            raise ServiceUnavailable(str(exc)) from exc


class SuggestView(_CatalogView):
    """GET /api/v1/search/suggest?q=PREFIX — at most 10 table names as you type."""

    @extend_schema(parameters=[OpenApiParameter("q", str, description="prefix of any word of a table name")],
                   responses=SuggestPageSerializer)
    def get(self, request: Request) -> Response:
        prefix = request.query_params.get("q", "")
        if len(prefix) > 500:
            return _bad_request("The prefix is limited to 500 characters.")
        try:
            return Response({"suggestions": searcher.suggest(prefix, current_role(request)),
                             "terms": searcher.suggest_terms(prefix)})
        except IndexUnavailable as exc:
            raise ServiceUnavailable(str(exc)) from exc


class DatasetView(_CatalogView):
    """GET /api/v1/datasets/DATABASE.TABLE — full detail; PATCH curates (stewards of the hub)."""

    @extend_schema(responses=DatasetSerializer)
    def get(self, request: Request, qualified_name: str) -> Response:
        role = current_role(request)
        table = queries.visible_table(role, qualified_name)
        return Response(dataset_json(queries.dataset_detail(table, role=role)))

    @extend_schema(request=CurationSerializer, responses=DatasetSerializer)
    def patch(self, request: Request, qualified_name: str) -> Response:
        role = current_role(request)
        table = queries.visible_table(role, qualified_name)
        serializer = CurationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            curation_service.curate(table, serializer.to_input(), actor=request.user, role=role, ip=client_ip(request))
        except curation_service.CurationForbidden as exc:
            raise PermissionDenied(str(exc)) from exc
        except curation_service.CurationError as exc:
            raise ValidationError({exc.field or "non_field_errors": [str(exc)]}) from exc
        table.refresh_from_db()
        return Response(dataset_json(queries.dataset_detail(table, role=role)))


class DatasetVersionsView(_CatalogView):
    """GET /api/v1/datasets/DATABASE.TABLE/versions — Glue versions with schema diffs."""

    @extend_schema(responses=VersionsPageSerializer)
    def get(self, request: Request, qualified_name: str) -> Response:
        table = queries.visible_table(current_role(request), qualified_name)
        return Response(versions_json(table.qualified_name, queries.versions_of(table)))

