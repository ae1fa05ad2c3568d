"""/api/v1/access-requests: parse, call a service, answer."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from access import queries, services
from access.api.serializers import (
    AccessRequestCreateSerializer,
    AccessRequestSerializer,
    ApproveSerializer,
    RefuseSerializer,
)
from access.filtersets import AccessRequestFilterSet
from access.models import AccessRequest
from identity.audit import client_ip
from identity import roles
from identity.roles import acting_role, current_role

_ERROR = OpenApiResponse(OpenApiTypes.OBJECT, description='{"error": message}')


def _error(exc: services.AccessError) -> Response:
    return Response({"error": str(exc)}, status=exc.status_code)


class AccessRequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Access requests: the caller's own (in this role) and those its role decides."""

    serializer_class = AccessRequestSerializer
    lookup_value_regex = r"\d+"
    filter_backends = [DjangoFilterBackend]
    filterset_class = AccessRequestFilterSet

    def get_queryset(self) -> Any:
        return queries.requests_for(self.request.user, current_role(self.request))

    def get_object(self) -> Any:
        return queries.get_request(self.request.user, current_role(self.request), int(self.kwargs["pk"]))

    @extend_schema(request=AccessRequestCreateSerializer,
                   responses={201: AccessRequestSerializer, 400: _ERROR, 403: _ERROR, 404: _ERROR, 409: _ERROR})
    def create(self, request: Request) -> Response:
        role = acting_role(request)
        if not roles.may_request_access(role):
            return Response({"error": f"Your role ({role.label}) may not request access; switch to a consumer role."},
                            status=status.HTTP_403_FORBIDDEN)
        payload = AccessRequestCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            created = services.request_access(user=request.user, role=role, ip=client_ip(request),
                                              **payload.validated_data)
        except services.AccessError as exc:
            return _error(exc)
        return Response(AccessRequestSerializer(created).data, status=status.HTTP_201_CREATED)

    def _answer(self, call: Any, code: int, payload_class: Any = None) -> Response:
        # Deciding is answered by the role layer before the body is read: a steward of another hub gets
        # 403 (the contract), so the request is looked up by id alone; reading it (GET) stays limited.
        found = AccessRequest.objects.filter(pk=int(self.kwargs["pk"])).first()
        if found is None:
            raise Http404("No such access request.")
        role = current_role(self.request)
        if not roles.may_decide_access(role, found):
            return Response({"error": f"Only the stewards of hub {found.hub} (or an admin) decide this request."},
                            status=status.HTTP_403_FORBIDDEN)
        kwargs: dict[str, Any] = {}
        if payload_class is not None:
            payload = payload_class(data=self.request.data)
            payload.is_valid(raise_exception=True)
            kwargs = payload.validated_data
        try:
            done = call(found, actor=self.request.user, role=role, ip=client_ip(self.request), **kwargs)
        except services.AccessError as exc:
            return _error(exc)
        return Response(AccessRequestSerializer(done).data, status=code)

    @extend_schema(request=ApproveSerializer, responses={202: AccessRequestSerializer, 400: _ERROR, 403: _ERROR,
                                                         409: _ERROR})
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        return self._answer(services.approve, status.HTTP_202_ACCEPTED, ApproveSerializer)

    @extend_schema(request=RefuseSerializer, responses={200: AccessRequestSerializer, 400: _ERROR, 403: _ERROR,
                                                        409: _ERROR})
    @action(detail=True, methods=["post"])
    def refuse(self, request: Request, pk: str) -> Response:
        return self._answer(services.refuse, status.HTTP_200_OK, RefuseSerializer)

    @extend_schema(request=None, responses={202: AccessRequestSerializer, 403: _ERROR, 409: _ERROR})
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str) -> Response:
        return self._answer(services.revoke, status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={202: AccessRequestSerializer, 403: _ERROR, 409: _ERROR},
                   description="Run a failed grant or revocation again.")
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, pk: str) -> Response:
        return self._answer(services.retry, status.HTTP_202_ACCEPTED)
