"""Celery tasks of ingestion: thin wrappers that load by id and call a service.

Transient AWS errors (throttling, a resource still changing) are retried with
exponential backoff; when retries run out the step or run fails with the reason.
"""

from __future__ import annotations

from celery import shared_task

from ingestion_wizard import services
from ingestion_wizard.aws.errors import TransientAWSError
from ingestion_wizard.executor import GLUE_POLL_SECONDS, executor_kind
from ingestion_wizard.models import PipelineRun

MAX_RETRIES = 5


def backoff(retries: int) -> int:
    return min(5 * 2 ** retries, 300)


@shared_task(bind=True, max_retries=MAX_RETRIES, acks_late=True)
def provision_step(self, pipeline_id: int, key: str) -> str:  # type: ignore[no-untyped-def]
    try:
        return services.provision_step(pipeline_id, key)
    except TransientAWSError as exc:
        if self.request.retries >= self.max_retries:
            services.fail_step(pipeline_id, key, f"Gave up after {self.request.retries + 1} attempts: {exc}")
            return "failed"
        raise self.retry(countdown=backoff(self.request.retries), exc=exc) from None


@shared_task
def resume_stalled_provisioning() -> list[int]:
    """Beat: provisioning whose worker died mid-step (lease lapsed) is resumed by the next worker."""
    return services.resume_stalled_provisioning()


@shared_task
def resume_stalled_runs() -> list[int]:
    """Beat: runs whose worker died (lease lapsed) are claimed again, or their Glue job run followed again."""
    return services.resume_stalled_runs()


@shared_task
def finish_provisioning(pipeline_id: int) -> str:
    return services.finish_provisioning(pipeline_id)


@shared_task(bind=True, max_retries=MAX_RETRIES)
def teardown_pipeline(self, pipeline_id: int) -> str:  # type: ignore[no-untyped-def]
    outcome = services.teardown(pipeline_id)
    if outcome == "failed" and self.request.retries < self.max_retries:
        # A throttled delete clears up by itself; a permanent one keeps its reason on the step.
        raise self.retry(countdown=backoff(self.request.retries))
    return outcome


@shared_task(bind=True, max_retries=3, acks_late=True)
def execute_run(self, run_id: int) -> str:  # type: ignore[no-untyped-def]
    run = services.claim_run(run_id) if not self.request.retries else (
        PipelineRun.objects.select_related("pipeline").filter(pk=run_id, status="running").first())
    if run is None:
        return "skipped"
    try:
        if run.executor == "glue" or (not run.executor and executor_kind() == "glue"):
            outcome = services.start_glue_run(run)
            if outcome == "started":
                follow_glue_run.apply_async((run_id,), countdown=GLUE_POLL_SECONDS)
            return outcome
        return services.execute_local_run(run)
    except TransientAWSError as exc:
        if self.request.retries >= self.max_retries:
            services.fail_run(run, f"Gave up after {self.request.retries + 1} attempts: {exc}")
            return "failed"
        raise self.retry(countdown=backoff(self.request.retries), exc=exc) from None


@shared_task(bind=True, max_retries=None)
def follow_glue_run(self, run_id: int) -> str:  # type: ignore[no-untyped-def]
    try:
        outcome = services.follow_glue_run(run_id)
    except TransientAWSError:
        outcome = "running"
    if outcome == "running":
        raise self.retry(countdown=GLUE_POLL_SECONDS)
    return outcome


@shared_task
def scheduled_run(pipeline_id: int) -> int | None:
    run = services.scheduled_run(pipeline_id)
    return run.pk if run else None
