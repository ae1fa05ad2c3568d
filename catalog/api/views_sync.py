"""Sync runs over REST: list them (admins and stewards), trigger one (admins)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied, Throttled
from rest_framework.generics import GenericAPIView, ListAPIView, RetrieveAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from catalog.filtersets import SyncRunFilterSet
from catalog.models import GlueCatalog, SyncRun
from catalog.services.guard import NotAwaitingConfirmation, confirm_deletions
from catalog.services.operations import SyncForbidden, start_sync
from catalog.services.runs import SyncAlreadyRunning
from catalog.services.sync import ensure_catalogs
from identity import audit, roles
from portal.limits import SyncStartThrottle
from identity.permissions import role_may
from identity.roles import current_role


class SyncRunSerializer(serializers.ModelSerializer):
    catalog = serializers.StringRelatedField()
    catalog_id = serializers.IntegerField(read_only=True)
    seconds = serializers.FloatField(read_only=True, allow_null=True, help_text="null while running")

    class Meta:
        model = SyncRun
        fields = ["id", "catalog", "catalog_id", "kind", "status", "started_at", "finished_at", "seconds", "counts",
                  "warnings", "error"]


class TriggerSerializer(serializers.Serializer):
    catalog = serializers.CharField(required=False, max_length=64,
                                    help_text="Catalog id or ACCOUNT:REGION; optional with one catalog.")

    def validate_catalog(self, value: str) -> GlueCatalog:
        account, _, region = value.rpartition(":")
        # isdecimal + isascii: "²" is a digit to str.isdigit() but not a number to int().
        catalog = (GlueCatalog.objects.filter(pk=int(value)).first() if value.isascii() and value.isdecimal()
                   else GlueCatalog.objects.filter(account_id=account, region=region).first())
        if catalog is None:
            raise serializers.ValidationError(f"unknown catalog {value!r}")
        return catalog


# 409: another sync holds the catalog, or the run awaits no confirmation; ``run`` is that run.
_REFUSED_BY_RUN = inline_serializer("SyncRefused", {"error": serializers.CharField(), "run": SyncRunSerializer()})


class SyncRunsView(ListAPIView):
    """GET: sync runs, newest first (``?catalog=<id>``, ``?status=``). POST: start a full sync (admins)."""

    permission_classes = [role_may(roles.may_operate)]
    serializer_class = SyncRunSerializer

    filter_backends = [DjangoFilterBackend]
    filterset_class = SyncRunFilterSet

    def get_queryset(self) -> Any:
        return SyncRun.objects.select_related("catalog").order_by("-started_at", "-id")

    @extend_schema(request=TriggerSerializer, responses={202: SyncRunSerializer, 409: _REFUSED_BY_RUN})
    def post(self, request: Request) -> Response:
        role = current_role(request)
        if not roles.may_start_sync(role):
            raise PermissionDenied("Only admins may start a sync.")
        throttle = SyncStartThrottle()
        if not throttle.allow_request(request, self):
            raise Throttled(throttle.wait(), throttle.refusal())
        form = TriggerSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        catalog = form.validated_data.get("catalog")
        if catalog is None:
            catalogs = ensure_catalogs()
            if len(catalogs) != 1:
                return Response({"error": "Name the catalog to sync.", "detail": {"catalog": [str(c) for c in
                                                                                              catalogs]}}, status=400)
            catalog = catalogs[0]
        try:
            run = start_sync(catalog, user=request.user, role=role, ip=audit.client_ip(request))
        except SyncForbidden as exc:
            raise PermissionDenied(str(exc)) from None
        except SyncAlreadyRunning as exc:
            return Response({"error": str(exc), "run": SyncRunSerializer(exc.run).data}, status=status.HTTP_409_CONFLICT)
        return Response(SyncRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class SyncRunView(RetrieveAPIView):
    """One sync run (poll it for progress: ``counts`` grow while ``status`` is running)."""

    permission_classes = [role_may(roles.may_operate)]
    serializer_class = SyncRunSerializer
    queryset = SyncRun.objects.select_related("catalog")


class SyncRunConfirmView(GenericAPIView):
    """POST: an admin confirms the deletions a sync held back (status ``needs_confirm``); a new full sync
    allowed to delete starts (202, the new run). 409: the run is not waiting, or another sync is running."""

    permission_classes = [role_may(roles.may_operate)]
    serializer_class = SyncRunSerializer
    queryset = SyncRun.objects.select_related("catalog")

    @extend_schema(request=None, responses={202: SyncRunSerializer, 409: _REFUSED_BY_RUN})
    def post(self, request: Request, pk: int) -> Response:
        role = current_role(request)
        if not roles.may_start_sync(role):
            raise PermissionDenied("Only admins may confirm deletions.")
        held = self.get_object()
        try:
            run = confirm_deletions(held)
        except NotAwaitingConfirmation as exc:
            return Response({"error": str(exc), "run": SyncRunSerializer(held).data}, status=status.HTTP_409_CONFLICT)
        except SyncAlreadyRunning as exc:
            return Response({"error": str(exc), "run": SyncRunSerializer(exc.run).data}, status=status.HTTP_409_CONFLICT)
        audit.record(request.user, "catalog.sync.confirm_deletes", role=role, target=str(held.catalog),
                     details={"held_run": held.pk, "run": run.pk, "counts": held.counts},
                     ip=audit.client_ip(request))
        return Response(SyncRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)
