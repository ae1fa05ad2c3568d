"""REST endpoints of the identity feature: who am I, my tokens, the audit trail."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal import aws

from identity import queries, roles, services
from portal.api import ServiceUnavailable
from identity.audit import client_ip
from identity.filtersets import ACTION_PATTERN, AuditEventFilterSet
from identity.models import AccessToken, AuditEvent
from portal.pagination import PortalPagination
from identity.permissions import role_may
from identity.roles import Role, current_role


def role_json(role: Role | None) -> dict[str, Any] | None:
    if role is None:
        return None
    return {"persona": role.persona, "hub": role.hub, "use_cases": list(role.use_cases), "key": role.key,
            "label": role.label}


class MeView(APIView):
    """``GET /api/v1/me``: the caller, the role it acts in (null until one is selected) and the
    roles it may select. ``?aws=1`` adds the AWS identity assumed for the role (STS)."""

    # No role needed: this is where a caller without one learns which it may select.
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="username, role (null until "
                                                   "one is selected), roles; aws with ?aws=1")},
                   parameters=[OpenApiParameter("aws", str, enum=["1", "true"], description="Add the AWS identity")])
    def get(self, request: Request) -> Response:
        role = current_role(request)
        data: dict[str, Any] = {
            "username": request.user.get_username(),
            "role": role_json(role),
            "roles": [role_json(r) for r in queries.granted_roles(request.user)],
        }
        if request.query_params.get("aws", "1") not in ("1", "true"):
            raise ValidationError({"aws": ["Must be 1 or true (or left out)."]})
        if "aws" in request.query_params:
            if role is None:
                raise PermissionDenied("Select a role first: the AWS identity depends on it.")
            try:
                identity = aws.client_for_user("sts", role, request.user.get_username()).get_caller_identity()
            except (BotoCoreError, ClientError) as exc:
                raise ServiceUnavailable(f"AWS did not answer: {exc}") from exc
            data["aws"] = {"arn": identity["Arn"], "account": identity["Account"], "role_arn": aws.role_arn_for(role)}
        return Response(data)


class TokenSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()

    class Meta:
        model = AccessToken
        fields = ["id", "name", "prefix", "role", "scopes", "status", "created_at", "expires_at", "last_used_at",
                  "revoked_at"]

    def get_role(self, token: AccessToken) -> str:
        return token.role.key

    def get_status(self, token: AccessToken) -> str:
        return token.status()


class TokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    role = serializers.CharField(help_text="persona:hub, or admin")
    days = serializers.IntegerField(min_value=1, max_value=services.MAX_TOKEN_DAYS, default=90)
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=services.TOKEN_SCOPES), required=False,
                                   default=list, max_length=len(services.TOKEN_SCOPES),
                                   help_text='["write"] lets MCP write tools act (within the role)')


class TokenCreatedSerializer(TokenSerializer):
    token = serializers.CharField(help_text="The secret, shown once")

    class Meta(TokenSerializer.Meta):
        fields = [*TokenSerializer.Meta.fields, "token"]


class TokenListView(APIView):
    """``GET /api/v1/tokens`` lists the caller's tokens; ``POST`` creates one (answer holds the
    secret, shown once). A token may not mint tokens: creation needs the browser session."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: inline_serializer("TokenList", {"results": TokenSerializer(many=True)})})
    def get(self, request: Request) -> Response:
        return Response({"results": TokenSerializer(queries.tokens_of(request.user), many=True).data})

    @extend_schema(request=TokenCreateSerializer, responses={201: TokenCreatedSerializer})
    def post(self, request: Request) -> Response:
        if isinstance(request.auth, AccessToken):
            raise PermissionDenied("Tokens are created from a signed-in session, not with another token.")
        body = TokenCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            issued = services.create_token(request.user, body.validated_data["role"], name=body.validated_data["name"],
                                           days=body.validated_data["days"], actor_role=current_role(request),
                                           ip=client_ip(request), scopes=body.validated_data["scopes"])
        except services.RoleNotGranted as exc:
            raise PermissionDenied(str(exc)) from exc
        return Response({**TokenSerializer(issued.token).data, "token": issued.secret}, status=status.HTTP_201_CREATED)


class TokenDetailView(APIView):
    """``DELETE /api/v1/tokens/<id>`` revokes one of the caller's tokens (404 for others')."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={204: None})
    def delete(self, request: Request, token_id: int) -> Response:
        try:
            services.revoke_token(request.user, token_id, actor_role=current_role(request), ip=client_ip(request))
        except AccessToken.DoesNotExist:
            raise NotFound("No such token.") from None
        return Response(status=status.HTTP_204_NO_CONTENT)


class AuditEventSerializer(serializers.ModelSerializer):
    who = serializers.CharField(source="username")
    when = serializers.DateTimeField(source="created_at")

    class Meta:
        model = AuditEvent
        fields = ["id", "who", "role", "action", "target", "details", "when", "ip"]


class AuditPagination(PortalPagination):
    page_size = queries.AUDIT_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = queries.AUDIT_MAX_PAGE_SIZE


class AuditListView(ListAPIView):
    """``GET /api/v1/audit?action=&user=&page=&page_size=``: the audit trail, newest first (admins only)."""

    permission_classes = [role_may(roles.may_administer)]
    pagination_class = AuditPagination
    serializer_class = AuditEventSerializer

    filter_backends = [DjangoFilterBackend]
    filterset_class = AuditEventFilterSet

    @extend_schema(parameters=[OpenApiParameter(  # the filter's validator, stated where clients read it
        "action", str, pattern=ACTION_PATTERN,
        description="An action (token.create), or every action under a prefix ending in a dot (workspace.)")])
    def get(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        return queries.audit_events()
