"""HTML pages of ingestion: the wizard (drafts kept in the database), pipelines, runs, progress."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from formtools.wizard.views import NamedUrlWizardView

from ingestion_wizard import queries, secret_services, services, terraform
from ingestion_wizard.filtersets import PipelineFilterSet
from ingestion_wizard.forms import FORMS, STEP_TITLES, is_jdbc
from ingestion_wizard.models import LOCAL_KINDS, Draft, Pipeline, PipelineRun
from ingestion_wizard.validation import PipelineSpec, describe_cron, next_runs, parse_stream_columns, pydantic_errors, \
    safe_next_runs, validate_cron
from identity import roles
from portal.filtering import filtered_for_page
from identity.roles import Role, current_role, role_required


def _provider_role(request: HttpRequest) -> Role:
    """The current role if it may onboard sources (a provider, or an admin); 404 otherwise."""
    role = current_role(request)
    if role is None or not roles.may_provide(role):
        raise Http404("Only providers onboard sources.")
    return role


def _pipeline(request: HttpRequest, pk: int) -> Pipeline:
    return get_object_or_404(Pipeline.objects.for_role(_provider_role(request)), pk=pk)


@role_required
def index(request: HttpRequest) -> HttpResponse:
    role = _provider_role(request)
    filters = PipelineFilterSet(request.GET, queryset=queries.pipelines_for(role))
    return render(request, "ingestion_wizard/index.html", {
        "pipelines": filtered_for_page(filters), "filters": filters, "drafts": queries.drafts_of(request.user),
    }, status=200 if filters.is_valid() else 400)


@role_required
@require_http_methods(["GET", "POST"])
def new_draft(request: HttpRequest) -> HttpResponse:
    """GET (a bookmarked or typed link) shows the start button; POST starts a draft, so a
    reload or a crawler never creates one."""
    role = _provider_role(request)
    if request.method == "GET":
        return render(request, "ingestion_wizard/new.html", {"drafts": queries.drafts_of(request.user)})
    draft = secret_services.new_draft(user=request.user, role=role)
    return redirect("ingestion_wizard:wizard", draft_id=draft.pk)


@role_required
@require_POST
def discard_draft(request: HttpRequest, draft_id: int) -> HttpResponse:
    draft = get_object_or_404(Draft, pk=draft_id, user=request.user)
    try:
        secret_services.discard_draft(draft)
    except services.IngestionError as exc:
        messages.error(request, exc.message)
        return redirect("ingestion_wizard:index")
    messages.info(request, "Draft discarded.")
    return redirect("ingestion_wizard:index")


def _step_data(draft: Draft, step: str) -> dict[str, Any]:
    """A step's stored fields without their form prefix (first value of each)."""
    raw = (draft.data or {}).get("step_data", {}).get(step, {})
    prefix = f"{step}-"
    return {k[len(prefix):]: (v[0] if isinstance(v, list) and v else v) for k, v in raw.items() if k.startswith(prefix)}


def _draft_kind(draft: Draft) -> str:
    return _step_data(draft, "source").get("kind", "")


@method_decorator(role_required, name="dispatch")
class IngestionWizard(NamedUrlWizardView):
    form_list = FORMS
    storage_name = "ingestion_wizard.storage.DraftStorage"
    template_name = "ingestion_wizard/wizard.html"
    condition_dict = {
        "connection": lambda w: is_jdbc(w.kind()),
        "stream": lambda w: w.kind().startswith("kinesis"),
        "discovery": lambda w: is_jdbc(w.kind()),
    }

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.role = _provider_role(request)
        self.draft = get_object_or_404(Draft, pk=kwargs["draft_id"], user=request.user)
        request.ingestion_draft = self.draft  # type: ignore[attr-defined]
        return super().dispatch(request, *args, **kwargs)

    def get_prefix(self, request: HttpRequest, *args: Any, **kwargs: Any) -> str:
        return f"ingestion_{kwargs['draft_id']}"

    def get_step_url(self, step: str) -> str:
        return reverse(self.url_name, kwargs={"draft_id": self.draft.pk, "step": step})

    def kind(self) -> str:
        # Read the raw stored answer: evaluating the step's form here would recurse into the conditions.
        return _draft_kind(self.draft)

    def get_form_kwargs(self, step: str | None = None) -> dict[str, Any]:
        if step == "connection":
            return {"kind": self.kind(), "draft": self.draft, "role": self.role, "actor": self.request.user}
        if step == "discovery":
            return self._discovery_kwargs()
        if step == "target":
            return {"hubs": queries.hubs_for(self.role)}
        return {}

    def _discovery_kwargs(self) -> dict[str, Any]:
        if not hasattr(self, "_discovered"):
            kind = self.kind()
            if kind not in LOCAL_KINDS:
                self._discovered: dict[str, Any] = {"tables": None}
            else:
                c = _step_data(self.draft, "connection")
                try:
                    conn = services.connection_from(kind, c.get("host", ""), int(c.get("port") or 0),
                                                    c.get("database", ""), c.get("user", ""),
                                                    secret_arn=c.get("secret_arn", ""), actor=self.request.user,
                                                    role=self.role, draft=self.draft)
                    self._discovered = {"tables": services.discover_tables(conn, user=self.request.user)}
                except services.IngestionError as exc:
                    self._discovered = {"tables": [], "error": f"Could not read the source's tables: {exc.message}"}
        return self._discovered

    def process_step(self, form: Any) -> dict[str, Any]:
        data = {k: v for k, v in form.data.lists() if "password" not in k and k != "csrfmiddlewaretoken"} \
            if hasattr(form.data, "lists") else dict(form.data)
        if self.steps.current == "connection":
            password = form.cleaned_data.get("password")
            arn = form.cleaned_data.get("secret_arn") or ""
            if password:
                arn = secret_services.stash_draft_password(self.draft, role=self.role,
                                                           db_user=form.cleaned_data["user"], password=password)
            data["connection-secret_arn"] = [arn]
        return data

    def post(self, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return super().post(*args, **kwargs)
        except services.IngestionError as exc:
            messages.error(self.request, exc.message)
            return redirect(self.get_step_url(self.steps.current))

    def get_context_data(self, form: Any, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(form=form, **kwargs)
        steps = list(self.get_form_list())
        context.update({
            "draft": self.draft, "step_titles": [(s, STEP_TITLES[s]) for s in steps],
            "step_title": STEP_TITLES[self.steps.current], "kind": self.kind(),
            "has_secret": bool(_step_data(self.draft, "connection").get("secret_arn")),
        })
        if self.steps.current == "review":
            context["summary"] = self._summary()
        return context

    def _summary(self) -> dict[str, Any]:
        summary: dict[str, Any] = {"kind": self.kind()}
        for step in self.get_form_list():
            if step != "review":
                summary[step] = self.get_cleaned_data_for_step(step) or {}
        cron = (summary.get("schedule") or {}).get("cron")
        if cron:
            summary["next_runs"], summary["schedule_error"] = safe_next_runs(cron, 3)
        elif "schedule" in summary and not summary["schedule"] and self.storage.get_step_data("schedule"):
            # The stored answer no longer passes the schedule step (a rule added since it was saved).
            summary["schedule_error"] = "The saved schedule is not valid any more; go back to the schedule step."
        return summary

    def done(self, form_list: Any, form_dict: dict[str, Any], **kwargs: Any) -> HttpResponse:
        kind = form_dict["source"].cleaned_data["kind"]
        target = form_dict["target"].cleaned_data
        source: dict[str, Any] = {"kind": "kinesis" if kind.startswith("kinesis") else kind}
        if is_jdbc(kind):
            c = form_dict["connection"].cleaned_data
            source.update(host=c["host"], port=c["port"], database=c["database"], user=c["user"],
                          secret_arn=c["secret_arn"], tables=form_dict["discovery"].cleaned_data["chosen"])
        else:
            s = form_dict["stream"].cleaned_data
            source.update(stream_name=s["stream_name"], stream_mode="existing" if kind.endswith("existing") else "new",
                          shards=s.get("shards") or 1, columns=parse_stream_columns(s.get("columns") or ""))
        body = {"name": target["name"], "hub": target["hub"], "source": source,
                "target": {k: target[k] for k in ("database", "layer", "owner", "classification", "partitioning")},
                "schedule": form_dict["schedule"].cleaned_data["cron"] or None}
        try:
            spec = PipelineSpec.model_validate(body)
            pipeline = services.create_pipeline(spec, user=self.request.user, role=self.role, draft=self.draft)
        except services.IngestionError as exc:
            messages.error(self.request, exc.message)
            return redirect(self.get_step_url("review"))
        except ValueError as exc:  # pydantic: the wizard's forms already enforce the same rules
            messages.error(self.request, "; ".join(f"{k}: {', '.join(v)}" for k, v in pydantic_errors(exc).items()))
            return redirect(self.get_step_url("review"))
        self.storage.discarded = True
        secret_services.finish_draft(self.draft)
        messages.success(self.request, f"Pipeline {pipeline.name} created; provisioning its AWS resources.")
        return redirect("ingestion_wizard:pipeline", pk=pipeline.pk)


wizard_view = IngestionWizard.as_view(url_name="ingestion_wizard:wizard-step", done_step_name="finish")


@role_required
def resume_draft(request: HttpRequest, draft_id: int) -> HttpResponse:
    draft = get_object_or_404(Draft, pk=draft_id, user=request.user)
    step = draft.current_step or "source"
    return redirect("ingestion_wizard:wizard-step", draft_id=draft.pk, step=step)


@role_required
@require_POST
def test_connection(request: HttpRequest, draft_id: int) -> HttpResponse:
    """htmx: connects with the typed fields (or the draft's stored secret) and reports the version, or
    one message for any failure short of a database answering (services.CONNECT_FAILED)."""
    role = _provider_role(request)
    draft = get_object_or_404(Draft, pk=draft_id, user=request.user)
    kind = _draft_kind(draft)
    p = request.POST
    context: dict[str, Any] = {}
    if kind not in LOCAL_KINDS:
        context["error"] = "The portal cannot test this kind; Glue tests it through the connection at the first run."
    else:
        try:
            conn = services.connection_from(
                kind, p.get("connection-host", ""), int(p.get("connection-port") or 0), p.get("connection-database", ""),
                p.get("connection-user", ""), password=p.get("connection-password") or None,
                secret_arn=_step_data(draft, "connection").get("secret_arn", "") if not p.get("connection-password")
                else "", actor=request.user, role=role, draft=draft)
            context["version"] = services.test_connection(conn, user=request.user)
        except services.IngestionError as exc:
            context["error"] = exc.message
        except ValueError:
            context["error"] = "Fill in host, port, database and user first."
    return render(request, "ingestion_wizard/_test_connection.html", context)


@role_required  # like every page of the portal: signed-in users only (the crawler found it open)
@require_GET
def cron_preview(request: HttpRequest) -> HttpResponse:
    """htmx: a cron expression in plain words with its next runs, or why it is invalid."""
    # The wizard's field is "schedule-cron", the pipeline page's "schedule" (sent by htmx as the input's own value).
    value = request.GET.get("schedule-cron", "") or request.GET.get("cron", "") or request.GET.get("schedule", "")
    context: dict[str, Any] = {"value": value}
    if value.strip():
        try:
            cron = validate_cron(value)
            context.update(description=describe_cron(cron), runs=next_runs(cron, 5))
        except ValueError as exc:
            context["error"] = str(exc)
    return render(request, "ingestion_wizard/_cron_preview.html", context)


@role_required
def pipeline_detail(request: HttpRequest, pk: int) -> HttpResponse:
    pipeline = _pipeline(request, pk)
    return render(request, "ingestion_wizard/pipeline.html", {
        "pipeline": pipeline, "steps": pipeline.steps.all(), "runs": pipeline.runs.all()[:50],
        "schedule_text": describe_cron(pipeline.schedule) if pipeline.schedule else "",
    })


@role_required
def pipeline_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx partial polled while provisioning or deleting; stops polling at a final state."""
    try:
        pipeline = _pipeline(request, pk)
    except Http404:
        return render(request, "ingestion_wizard/_gone.html")
    return render(request, "ingestion_wizard/_progress.html", {"pipeline": pipeline, "steps": pipeline.steps.all()})


@role_required
def pipeline_runs(request: HttpRequest, pk: int) -> HttpResponse:
    """The runs table: a partial for htmx polling, a full page when opened as a link."""
    pipeline = _pipeline(request, pk)
    template = "ingestion_wizard/_runs.html" if request.headers.get("HX-Request") else "ingestion_wizard/runs.html"
    return render(request, template, {"pipeline": pipeline, "runs": pipeline.runs.all()[:50]})


@role_required
def run_detail(request: HttpRequest, pk: int, run_id: int) -> HttpResponse:
    pipeline = _pipeline(request, pk)
    run = get_object_or_404(PipelineRun, pk=run_id, pipeline=pipeline)
    return render(request, "ingestion_wizard/run.html", {"pipeline": pipeline, "run": run})


@role_required
@require_POST
def pipeline_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    pipeline = _pipeline(request, pk)
    role = current_role(request)
    try:
        if action == "run":
            services.request_run(pipeline, user=request.user, role=role)
            messages.success(request, "Run queued.")
        elif action == "pause":
            services.pause(pipeline, user=request.user, role=role)
        elif action == "resume":
            services.resume(pipeline, user=request.user, role=role)
        elif action == "retry":
            services.retry_provisioning(pipeline, user=request.user, role=role)
        elif action == "delete":
            services.delete_pipeline(pipeline, user=request.user, role=role)
            messages.info(request, f"Deleting {pipeline.name}: its resources are removed in reverse order.")
        elif action == "schedule":
            value = request.POST.get("schedule", "").strip()
            try:
                cron = validate_cron(value) if value else None
            except ValueError as exc:
                raise services.IngestionError(str(exc)) from None
            services.update_schedule(pipeline, cron, user=request.user, role=role)
        else:
            raise Http404
    except services.IngestionError as exc:
        messages.error(request, exc.message)
    return redirect("ingestion_wizard:pipeline", pk=pipeline.pk)


@role_required
def terraform_export(request: HttpRequest, pk: int) -> HttpResponse:
    pipeline = _pipeline(request, pk)
    response = HttpResponse(terraform.render(pipeline), content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{pipeline.name}.tf"'
    return response
