"""/api/v1/workspaces, /api/v1/subscriptions and /api/v1/notifications: parse, call a service, answer."""

from __future__ import annotations

from typing import Any

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from identity.audit import client_ip
from identity import roles
from identity.permissions import role_may
from identity.roles import acting_role, current_role
from workspaces import notifications, queries, resource_check, services
from workspaces.filtersets import WorkspaceFilterSet
from workspaces.api.serializers import (
    NotificationSerializer,
    SubscriptionCreateSerializer,
    SubscriptionSerializer,
    WorkspaceCreateSerializer,
    WorkspaceSerializer,
)


_ERROR = OpenApiResponse(OpenApiTypes.OBJECT, description='{"error": message}')
_CREATED = inline_serializer("WorkspaceCreated", {"id": serializers.IntegerField(), "status": serializers.CharField()})


def _error(exc: Exception) -> Response:
    return Response({"error": str(exc)}, status=getattr(exc, "status_code", 400))


def _ip(request: Request) -> str | None:
    return client_ip(request)


class WorkspaceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Workspaces of the caller (all of them for admins); launching needs a consumer role."""

    serializer_class = WorkspaceSerializer
    permission_classes = [role_may(roles.may_launch)]
    lookup_value_regex = r"\d+"
    filter_backends = [DjangoFilterBackend]
    filterset_class = WorkspaceFilterSet

    def get_queryset(self) -> Any:
        return queries.workspaces_for(self.request.user, current_role(self.request))

    def get_object(self) -> Any:
        return queries.get_workspace(self.request.user, current_role(self.request), int(self.kwargs["pk"]))

    @extend_schema(request=WorkspaceCreateSerializer, responses={201: _CREATED, 400: _ERROR, 404: _ERROR})
    def create(self, request: Request) -> Response:
        payload = WorkspaceCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            workspace = services.launch_workspace(owner=request.user, role=acting_role(request), ip=_ip(request),
                                                  **payload.validated_data)
        except services.WorkspaceError as exc:
            return _error(exc)
        return Response({"id": workspace.pk, "status": workspace.status}, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={202: WorkspaceSerializer, 409: _ERROR})
    def destroy(self, request: Request, pk: str) -> Response:
        return self._act(services.delete_workspace, status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={200: WorkspaceSerializer, 409: _ERROR, 503: _ERROR})
    @action(detail=True, methods=["post"])
    def stop(self, request: Request, pk: str) -> Response:
        return self._act(services.stop_workspace)

    @extend_schema(request=None, responses={200: WorkspaceSerializer, 409: _ERROR, 503: _ERROR})
    @action(detail=True, methods=["post"])
    def start(self, request: Request, pk: str) -> Response:
        return self._act(services.start_workspace)

    @extend_schema(request=None, responses={202: WorkspaceSerializer, 409: _ERROR},
                   description="Launch again a workspace whose resources are missing (status `missing`).")
    @action(detail=True, methods=["post"])
    def recreate(self, request: Request, pk: str) -> Response:
        return self._act(resource_check.recreate_workspace, status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={200: inline_serializer("WorkspaceUrl", {"url": serializers.URLField()}),
                                            409: _ERROR})
    @action(detail=True, methods=["post"])
    def open(self, request: Request, pk: str) -> Response:
        workspace = self.get_object()
        try:
            url = services.open_workspace(workspace, actor=request.user, role=current_role(request), ip=_ip(request))
        except services.WorkspaceError as exc:
            return _error(exc)
        return Response({"url": url})

    def _act(self, service: Any, code: int = status.HTTP_200_OK) -> Response:
        workspace = self.get_object()
        try:
            workspace = service(workspace, actor=self.request.user, role=current_role(self.request),
                                ip=_ip(self.request))
        except services.WorkspaceError as exc:
            return _error(exc)
        return Response(WorkspaceSerializer(workspace).data, status=code)


class SubscriptionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The caller's new-data subscriptions (SNS to an SQS queue or an e-mail address)."""

    serializer_class = SubscriptionSerializer
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> Any:
        return queries.subscriptions_for(self.request.user, current_role(self.request))

    def get_object(self) -> Any:
        return queries.get_subscription(self.request.user, current_role(self.request), int(self.kwargs["pk"]))

    @extend_schema(request=SubscriptionCreateSerializer, responses={201: SubscriptionSerializer, 400: _ERROR,
                                                                     404: _ERROR, 503: _ERROR})
    def create(self, request: Request) -> Response:
        payload = SubscriptionCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            subscription = notifications.subscribe(user=request.user, role=acting_role(request), ip=_ip(request),
                                                   **payload.validated_data)
        except (services.WorkspaceError, notifications.SubscriptionError) as exc:
            return _error(exc)
        return Response(SubscriptionSerializer(subscription).data, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, pk: str) -> Response:
        try:
            notifications.unsubscribe(self.get_object(), user=request.user, role=current_role(request),
                                      ip=_ip(request))
        except notifications.SubscriptionError as exc:
            return _error(exc)
        return Response(status=status.HTTP_204_NO_CONTENT)


class NotificationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The caller's feed of new-data notifications, newest first."""

    serializer_class = NotificationSerializer

    def get_queryset(self) -> Any:
        return queries.notification_feed(self.request.user, current_role(self.request))
