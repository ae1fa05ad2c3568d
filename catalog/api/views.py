"""Catalog API: search, suggestions, dataset detail, versions and curation (thin: parse, call, answer)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
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
from catalog.services import lf_tags
from catalog.sources import iceberg
from portal.api import ServiceUnavailable
from identity import roles
from identity.audit import client_ip
from identity.roles import current_role


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
        ],
        responses=SearchPageSerializer,
    )
    def get(self, request: Request) -> Response:
        try:
            search_request = parse_request(request.query_params.lists())
        except BadSearchRequest as exc:
            return _bad_request(str(exc))
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
            return Response({"suggestions": searcher.suggest(prefix, current_role(request))})
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


class LfTagChangeSerializer(serializers.Serializer):
    assign = serializers.DictField(child=serializers.ListField(child=serializers.CharField(max_length=255)),
                                   required=False, help_text='{"KEY": ["value", ...]} to assign')
    remove = serializers.DictField(child=serializers.ListField(child=serializers.CharField(max_length=255)),
                                   required=False, help_text='{"KEY": ["value", ...]} to remove')
    columns = serializers.ListField(child=serializers.CharField(max_length=255), required=False, max_length=1000,
                                    help_text="On these columns instead of the table")


class DatasetLfTagsView(_CatalogView):
    """POST /api/v1/datasets/DATABASE.TABLE/lf-tags — assign/remove Lake Formation tags (stewards of the hub)."""

    @extend_schema(request=LfTagChangeSerializer, responses=inline_serializer("LfTags", {
        "dataset": serializers.CharField(), "lf_tags": serializers.DictField()}))
    def post(self, request: Request, qualified_name: str) -> Response:
        role = current_role(request)
        table = queries.visible_table(role, qualified_name)
        if not roles.may_curate(role, table.hub):
            raise PermissionDenied(f"Only stewards of hub {table.hub} may tag {table.qualified_name}.")
        payload = LfTagChangeSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            tags = lf_tags.change(table, actor=request.user, role=role, ip=client_ip(request), **payload.validated_data)
        except lf_tags.LfTagsUnavailable as exc:
            raise ServiceUnavailable(str(exc)) from exc
        except lf_tags.LfTagForbidden as exc:
            raise PermissionDenied(str(exc)) from exc
        except lf_tags.LfTagError as exc:
            raise ValidationError({"non_field_errors": [str(exc)]}) from exc
        return Response({"dataset": table.qualified_name, "lf_tags": tags})


class DatasetIcebergView(_CatalogView):
    """GET /api/v1/datasets/DATABASE.TABLE/iceberg — the Iceberg metadata (pyiceberg): schema with field ids,
    partition spec, sort order, snapshots and schema changes; 404 for a table that is not Iceberg."""

    @extend_schema(responses=inline_serializer("IcebergMetadata", {
        "dataset": serializers.CharField(), "format_version": serializers.IntegerField(),
        "current_snapshot_id": serializers.IntegerField(allow_null=True),
        "schema": serializers.ListField(child=serializers.DictField()),
        "partition_spec": serializers.ListField(child=serializers.DictField()),
        "sort_order": serializers.ListField(child=serializers.DictField()),
        "snapshots": serializers.ListField(child=serializers.DictField()),
        "schema_changes": serializers.ListField(child=serializers.DictField())}))
    def get(self, request: Request, qualified_name: str) -> Response:
        table = queries.visible_table(current_role(request), qualified_name)
        if not iceberg.is_iceberg(table.parameters):
            raise NotFound(f"{table.qualified_name} is not an Iceberg table.")
        try:
            metadata = iceberg.describe(table.database_name, table.name)
        except iceberg.IcebergUnavailable as exc:
            raise ServiceUnavailable(str(exc)) from exc
        return Response({"dataset": table.qualified_name, **metadata})


class DatasetVersionsView(_CatalogView):
    """GET /api/v1/datasets/DATABASE.TABLE/versions — Glue versions with schema diffs."""

    @extend_schema(responses=VersionsPageSerializer)
    def get(self, request: Request, qualified_name: str) -> Response:
        table = queries.visible_table(current_role(request), qualified_name)
        return Response(versions_json(table.qualified_name, queries.versions_of(table)))

