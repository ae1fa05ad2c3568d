"""Catalog API: search, suggestions, dataset detail, versions and curation (thin: parse, call, answer)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import queries
from catalog.api.serializers import (
    ColumnCurationSerializer,
    ColumnSerializer,
    CurationSerializer,
    DatasetSerializer,
    DecisionSerializer,
    ProposalDecisionSerializer,
    ProposalsPageSerializer,
    SearchPageSerializer,
    SuggestPageSerializer,
    VersionsPageSerializer,
    column_json,
    dataset_json,
    proposal_json,
    versions_json,
)
from catalog.models import PropagationProposal
from catalog.search import searcher
from catalog.search.documents import FACETS
from catalog.search.indexer import IndexUnavailable
from catalog.search.query import BadSearchRequest, parse_request
from catalog.services import curation as curation_service
from catalog.services import propagation
from catalog.services.column_curation import curate_column
from catalog.services.owners import set_owners
from catalog.services import lf_tags
from catalog.sources import iceberg
from portal.api import ServiceUnavailable
from identity import roles
from identity.audit import client_ip
from identity.roles import current_role, may_administer, may_curate_somewhere


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
        owners = serializer.owners_input()
        try:
            with transaction.atomic():
                curation_service.curate(table, serializer.to_input(), actor=request.user, role=role, ip=client_ip(request))
                if owners is not None:
                    set_owners(table, owners, actor=request.user, role=role, ip=client_ip(request))
        except (curation_service.CurationForbidden, curation_service.CurationError) as exc:
            raise _curation_errors(exc) from exc
        table.refresh_from_db()
        return Response(dataset_json(queries.dataset_detail(table, role=role)))


def _curation_errors(exc: Exception) -> Exception:
    """The API's answer to a refused curation: 403 for the role, 400 naming the field for values."""
    if isinstance(exc, curation_service.CurationForbidden):
        return PermissionDenied(str(exc))
    field = getattr(exc, "field", None)
    return ValidationError({field or "non_field_errors": [str(exc)]})


class DatasetColumnView(_CatalogView):
    """PATCH /api/v1/datasets/DATABASE.TABLE/columns/COLUMN — curate one column (stewards of the hub)."""

    @extend_schema(request=ColumnCurationSerializer, responses=ColumnSerializer)
    def patch(self, request: Request, qualified_name: str, column: str) -> Response:
        role = current_role(request)
        table = queries.visible_table(role, qualified_name)
        serializer = ColumnCurationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            curate_column(table, column, serializer.to_input(), actor=request.user, role=role, ip=client_ip(request))
        except (curation_service.CurationForbidden, curation_service.CurationError) as exc:
            if isinstance(exc, curation_service.CurationError) and exc.field == "column":
                raise NotFound(str(exc)) from exc
            raise _curation_errors(exc) from exc
        detail = queries.dataset_detail(table, role=role)
        return Response(column_json(next(c for c in detail["columns"] if c["name"] == column)))


class ProposalsView(_CatalogView):
    """GET /api/v1/curation/proposals?status=pending — the propagation proposals the role may decide."""

    @extend_schema(parameters=[OpenApiParameter("status", str, enum=list(PropagationProposal.Status.values),
                                                description="default pending")],
                   responses=ProposalsPageSerializer)
    def get(self, request: Request) -> Response:
        status = request.query_params.get("status", PropagationProposal.Status.PENDING)
        if status not in PropagationProposal.Status.values:
            return _bad_request(f"status must be one of {', '.join(PropagationProposal.Status.values)}.")
        rows = propagation.queue_for(current_role(request), status=status)
        return Response({"proposals": [proposal_json(p) for p in rows]})


class ProposalDecisionView(_CatalogView):
    """POST /api/v1/curation/proposals/decide {"ids": [...], "decision": "accept"|"reject"} — in bulk."""

    @extend_schema(request=ProposalDecisionSerializer, responses=DecisionSerializer)
    def post(self, request: Request) -> Response:
        if not may_curate_somewhere(current_role(request)):
            raise PermissionDenied("Only stewards and admins decide curation proposals.")
        serializer = ProposalDecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            decided = propagation.decide(data["ids"], accept=data["decision"] == "accept", actor=request.user,
                                         role=current_role(request), ip=client_ip(request))
        except (curation_service.CurationForbidden, curation_service.CurationError) as exc:
            raise _curation_errors(exc) from exc
        return Response({"decided": decided})


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

