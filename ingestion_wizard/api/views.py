"""REST API of pipelines: the same services and validation as the wizard."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from pydantic import ValidationError
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ingestion_wizard import services
from ingestion_wizard.api.serializers import pipeline_brief, pipeline_full, run_data, step_data
from ingestion_wizard.filtersets import PipelineFilterSet
from ingestion_wizard.models import Pipeline
from ingestion_wizard.validation import PipelineSpec, pydantic_errors, validate_cron
from identity import roles
from portal.schema import ERROR_SCHEMA
from portal.filtering import filtered_or_400
from identity.permissions import role_may
from identity.roles import acting_role, current_role


# Pipelines, steps and runs are plain dicts (ingestion_wizard.api.serializers): described as objects.
_OBJECT = OpenApiResponse(OpenApiTypes.OBJECT, description="See ingestion_wizard.api.serializers")
_CONFLICT = OpenApiResponse(OpenApiTypes.OBJECT, description='{"error": message}: not possible in this state')
_CREATED = inline_serializer("PipelineCreated", {"id": serializers.IntegerField(), "status": serializers.CharField()})
_CHANGE = inline_serializer("PipelineChange", {
    "schedule": serializers.CharField(required=False, allow_null=True, allow_blank=True,
                                      help_text="Cron (UTC), or null/empty for on demand"),
    "status": serializers.ChoiceField(["paused", "ready"], required=False, help_text="Pause or resume"),
})


def _error_response(why: str) -> OpenApiResponse:
    return OpenApiResponse(ERROR_SCHEMA, description=why)


def _error(exc: services.IngestionError) -> Response:
    body: dict[str, Any] = {"error": exc.message}
    if exc.field:
        body["detail"] = {exc.field: [exc.message]}
    return Response(body, status=exc.status)


class PipelineAPIView(APIView):
    permission_classes = [role_may(roles.may_provide)]

    def pipelines(self, request: Request) -> Any:
        return Pipeline.objects.for_role(current_role(request))

    def pipeline(self, request: Request, pk: int) -> Pipeline:
        return get_object_or_404(self.pipelines(request), pk=pk)


class PipelineListView(PipelineAPIView):
    @extend_schema(operation_id="pipelines_list", responses={200: _OBJECT},
                   parameters=[OpenApiParameter("status", str, enum=Pipeline.Status.values,
                                                   description="Only pipelines in this status")])
    def get(self, request: Request) -> Response:
        qs = filtered_or_400(PipelineFilterSet(request.query_params, queryset=self.pipelines(request)))
        return Response({"results": [pipeline_brief(p) for p in qs]})

    @extend_schema(operation_id="pipelines_create", request=PipelineSpec, responses={
        201: _CREATED, 409: _CONFLICT,
        400: _error_response("The spec is invalid, the source host is refused (link-local, private or the "
                             "portal's own database), or the source cannot be reached (one answer for every "
                             "failure short of a database login); detail names the field"),
        403: _error_response("The role may not provide for this hub, or source.secret_arn names a secret "
                             "this pipeline may not use (refused and audited)"),
        413: _error_response("The body is over the size limit"),
        429: _error_response("Too many connections to sources this minute (INGESTION_TEST_CONNECTION_PER_MINUTE, "
                             "shared with Test connection), or too many bad tokens"),
        503: _error_response("AWS (Glue, Secrets Manager) did not answer"),
    })
    def post(self, request: Request) -> Response:
        if not isinstance(request.data, dict):
            return Response({"error": "Send a JSON object."}, status=400)
        try:
            spec = PipelineSpec.model_validate(request.data)
        except ValidationError as exc:
            return Response({"error": "Invalid input.", "detail": pydantic_errors(exc)}, status=400)
        try:
            pipeline = services.create_pipeline(spec, user=request.user, role=acting_role(request))
        except services.IngestionError as exc:
            return _error(exc)
        return Response({"id": pipeline.pk, "status": pipeline.status}, status=status.HTTP_201_CREATED)


class PipelineDetailView(PipelineAPIView):
    @extend_schema(operation_id="pipelines_retrieve", responses={200: _OBJECT})
    def get(self, request: Request, pk: int) -> Response:
        return Response(pipeline_full(self.pipeline(request, pk)))

    @extend_schema(operation_id="pipelines_partial_update", request=_CHANGE, responses={200: _OBJECT, 409: _CONFLICT})
    def patch(self, request: Request, pk: int) -> Response:
        """``{"schedule": "CRON" | null}`` and/or ``{"status": "paused" | "ready"}`` (pause / resume)."""
        pipeline = self.pipeline(request, pk)
        data = request.data if isinstance(request.data, dict) else {}
        if not data or set(data) - {"schedule", "status"}:
            return Response({"error": 'Send {"schedule": "CRON" or null} and/or {"status": "paused" or "ready"}.'},
                            status=400)
        role = current_role(request)
        if "schedule" in data:
            schedule = data["schedule"]
            if schedule is not None and not isinstance(schedule, str):
                return Response({"error": "schedule must be a cron string or null."}, status=400)
            try:
                cron = validate_cron(schedule) if schedule and schedule.strip() else None
            except ValueError as exc:
                return Response({"error": str(exc), "detail": {"schedule": [str(exc)]}}, status=400)
            services.update_schedule(pipeline, cron, user=request.user, role=role)
        if "status" in data:
            change = {"paused": services.pause, "ready": services.resume}.get(data["status"])
            if change is None:
                return Response({"error": 'status can be set to "paused" or "ready".'}, status=400)
            try:
                pipeline = change(pipeline, user=request.user, role=role)
            except services.IngestionError as exc:
                return _error(exc)
        return Response(pipeline_full(pipeline))

    @extend_schema(operation_id="pipelines_destroy", responses={202: _CREATED})
    def delete(self, request: Request, pk: int) -> Response:
        pipeline = services.delete_pipeline(self.pipeline(request, pk), user=request.user,
                                            role=current_role(request))
        return Response({"id": pipeline.pk, "status": pipeline.status}, status=status.HTTP_202_ACCEPTED)


class PipelineActionView(PipelineAPIView):
    action = ""

    @extend_schema(request=None, responses={200: _OBJECT, 409: _CONFLICT})
    def post(self, request: Request, pk: int) -> Response:
        pipeline = self.pipeline(request, pk)
        fn = {"pause": services.pause, "resume": services.resume, "retry": services.retry_provisioning}[self.action]
        try:
            pipeline = fn(pipeline, user=request.user, role=current_role(request))
        except services.IngestionError as exc:
            return _error(exc)
        return Response(pipeline_full(pipeline))


class ProvisioningView(PipelineAPIView):
    @extend_schema(operation_id="pipelines_provisioning_retrieve", responses={200: _OBJECT})
    def get(self, request: Request, pk: int) -> Response:
        pipeline = self.pipeline(request, pk)
        return Response({"pipeline": pipeline.pk, "status": pipeline.status, "error": pipeline.error or None,
                         "steps": [step_data(s) for s in pipeline.steps.all()]})


class RunListView(PipelineAPIView):
    @extend_schema(operation_id="pipelines_runs_list", responses={200: _OBJECT})
    def get(self, request: Request, pk: int) -> Response:
        pipeline = self.pipeline(request, pk)
        return Response({"results": [run_data(r) for r in pipeline.runs.all()[:100]]})

    @extend_schema(operation_id="pipelines_runs_create", request=None, responses={202: _OBJECT, 409: _CONFLICT})
    def post(self, request: Request, pk: int) -> Response:
        pipeline = self.pipeline(request, pk)
        try:
            run = services.request_run(pipeline, user=request.user, trigger="api", role=current_role(request))
        except services.IngestionError as exc:
            return _error(exc)
        return Response(run_data(run), status=status.HTTP_202_ACCEPTED)


class RunDetailView(PipelineAPIView):
    @extend_schema(operation_id="pipelines_runs_retrieve", responses={200: _OBJECT})
    def get(self, request: Request, pk: int, run_id: int) -> Response:
        pipeline = self.pipeline(request, pk)
        return Response(run_data(get_object_or_404(pipeline.runs, pk=run_id), with_log=True))
