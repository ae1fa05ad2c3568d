"""/api/v1/glossary/…: terms, CSV export and import, suggested synonyms (parse, call a service, answer)."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from glossary import csv_io, queries, services, suggestions
from glossary.api.serializers import (
    ImportPlanSerializer,
    ImportSerializer,
    SynonymSuggestionSerializer,
    TermBriefSerializer,
    TermSerializer,
    TermWriteSerializer,
)
from glossary.filtersets import TermFilterSet
from glossary.models import SynonymSuggestion, Term
from identity.audit import client_ip
from portal.pagination import PortalPagination
from identity.permissions import HasSelectedRole
from identity.roles import acting_role

_ERROR = OpenApiResponse(OpenApiTypes.OBJECT, description='{"detail": message} or {field: [messages]}')


class GlossaryPagination(PortalPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


def _refused(exc: Exception) -> Exception:
    """The API's answer to a service error: 403 for a hub the role does not keep, else a 400 naming the field."""
    if isinstance(exc, services.GlossaryForbidden):
        return PermissionDenied(str(exc))
    return ValidationError({getattr(exc, "field", "") or "non_field_errors": [str(exc)]})


def _keeper_role(request: Request) -> Any:
    """The acting role when it keeps terms (stewards, admins); 403 before any body is read otherwise."""
    role = acting_role(request)
    if not services.may_keep_some_terms(role):
        label = role.label if role is not None else "no role"
        raise PermissionDenied(f"Your role ({label}) may not change glossary terms: stewards and admins keep them.")
    return role


class TermViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Glossary terms: every role reads them; stewards of a term's owner hub and admins write them."""

    permission_classes = [HasSelectedRole]
    lookup_value_regex = r"\d+"
    filter_backends = [DjangoFilterBackend]
    filterset_class = TermFilterSet
    pagination_class = GlossaryPagination

    def get_queryset(self) -> Any:
        return queries.terms().prefetch_related("links", "children")

    def get_serializer_class(self) -> Any:
        return TermBriefSerializer if self.action == "list" else TermSerializer

    def get_object(self) -> Term:
        return queries.get_term(int(self.kwargs["pk"]))

    def _write(self, request: Request, term: Term | None, *, partial: bool) -> Response:
        role = _keeper_role(request)
        payload = TermWriteSerializer(data=request.data, partial=partial)
        payload.is_valid(raise_exception=True)
        base = services.as_input(term) if term is not None else None
        data = payload.to_input(role.hub or "", base if partial else None)
        try:
            if term is None:
                term = services.create_term(data, actor=request.user, role=role, ip=client_ip(request))
            else:
                term = services.update_term(term, data, actor=request.user, role=role, ip=client_ip(request))
        except (services.GlossaryError, services.GlossaryForbidden) as exc:
            raise _refused(exc) from exc
        return Response(TermSerializer(queries.get_term(term.pk)).data,
                        status=status.HTTP_200_OK if base is not None else status.HTTP_201_CREATED)

    @extend_schema(request=TermWriteSerializer, responses={201: TermSerializer, 400: _ERROR, 403: _ERROR})
    def create(self, request: Request) -> Response:
        return self._write(request, None, partial=False)

    @extend_schema(request=TermWriteSerializer, responses={200: TermSerializer, 400: _ERROR, 403: _ERROR, 404: _ERROR})
    def update(self, request: Request, pk: str) -> Response:
        return self._write(request, self.get_object(), partial=False)

    @extend_schema(request=TermWriteSerializer, responses={200: TermSerializer, 400: _ERROR, 403: _ERROR, 404: _ERROR})
    def partial_update(self, request: Request, pk: str) -> Response:
        return self._write(request, self.get_object(), partial=True)

    @extend_schema(responses={204: None, 400: _ERROR, 403: _ERROR, 404: _ERROR})
    def destroy(self, request: Request, pk: str) -> Response:
        try:
            services.delete_term(self.get_object(), actor=request.user, role=acting_role(request), ip=client_ip(request))
        except (services.GlossaryError, services.GlossaryForbidden) as exc:
            raise _refused(exc) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)


class ExportView(APIView):
    """GET /api/v1/glossary/export — the whole glossary as CSV (what /import takes back, losslessly)."""

    permission_classes = [HasSelectedRole]

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request: Request) -> HttpResponse:
        response = HttpResponse(csv_io.export_csv(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="glossary.csv"'
        return response


class ImportView(APIView):
    """POST /api/v1/glossary/import — the diff a CSV would make; with ``apply`` it is imported."""

    permission_classes = [HasSelectedRole]

    @extend_schema(request=ImportSerializer, responses={200: ImportPlanSerializer, 400: _ERROR})
    def post(self, request: Request) -> Response:
        role = _keeper_role(request)
        payload = ImportSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        text, apply = payload.validated_data["csv"], payload.validated_data["apply"]
        plan = csv_io.plan_import(text, role)
        if apply and not plan.errors:
            try:
                plan = csv_io.apply_import(text, actor=request.user, role=role, ip=client_ip(request))
            except services.GlossaryError as exc:
                raise _refused(exc) from exc
        answer = {**plan.as_dict(), "applied": bool(apply and not plan.errors)}
        return Response(answer, status=status.HTTP_400_BAD_REQUEST if apply and plan.errors else status.HTTP_200_OK)


class SuggestionViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Short forms the catalog uses beside a word, offered to stewards; accepted ones join a term."""

    permission_classes = [HasSelectedRole]
    serializer_class = SynonymSuggestionSerializer
    lookup_value_regex = r"\d+"
    pagination_class = GlossaryPagination

    def get_queryset(self) -> Any:
        return queries.suggestions()

    def _decide(self, request: Request, pk: str, accept: bool) -> Response:
        role = _keeper_role(request)
        suggestion = SynonymSuggestion.objects.filter(pk=int(pk)).first()
        if suggestion is None:
            raise NotFound(f"No suggestion {pk}.")
        try:
            decide = suggestions.accept if accept else suggestions.dismiss
            decide(suggestion, actor=request.user, role=role, ip=client_ip(request))
        except (services.GlossaryError, services.GlossaryForbidden) as exc:
            raise _refused(exc) from exc
        return Response(SynonymSuggestionSerializer(suggestion).data)

    @extend_schema(request=None, responses={200: SynonymSuggestionSerializer, 400: _ERROR, 403: _ERROR, 404: _ERROR})
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: str) -> Response:
        return self._decide(request, pk, True)

    @extend_schema(request=None, responses={200: SynonymSuggestionSerializer, 400: _ERROR, 403: _ERROR, 404: _ERROR})
    @action(detail=True, methods=["post"])
    def dismiss(self, request: Request, pk: str) -> Response:
        return self._decide(request, pk, False)
