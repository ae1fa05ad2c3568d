"""Celery tasks of access requests: load by id, call a service, retry while Lake Formation is away."""

from __future__ import annotations

from celery import shared_task

from access import services
from access.models import AccessRequest

MAX_TRANSIENT_RETRIES = 5


def _backoff(attempt: int) -> int:
    return min(2 ** attempt, 60)


def _run(task, step, action: str, request_id: int) -> str:  # type: ignore[no-untyped-def]
    try:
        return step(request_id).state
    except services.LakeFormationUnavailable as exc:
        if task.request.retries >= MAX_TRANSIENT_RETRIES:
            request = AccessRequest.objects.get(pk=request_id)
            services.fail(request, action, f"Lake Formation stayed unreachable: {exc}")
            return AccessRequest.objects.get(pk=request_id).state
        raise task.retry(exc=exc, countdown=_backoff(task.request.retries + 1))


@shared_task(bind=True, max_retries=MAX_TRANSIENT_RETRIES, acks_late=True)
def grant_access(self, request_id: int) -> str:  # type: ignore[no-untyped-def]
    return _run(self, services.grant_now, "grant", request_id)


@shared_task(bind=True, max_retries=MAX_TRANSIENT_RETRIES, acks_late=True)
def revoke_access(self, request_id: int) -> str:  # type: ignore[no-untyped-def]
    return _run(self, services.revoke_now, "revoke", request_id)


@shared_task
def expire_access() -> dict[str, list[int]]:
    """Beat: expire undecided requests, revoke grants past their end date."""
    return services.expire()


@shared_task(acks_late=True)
def revoke_for_lost_roles(user_id: int) -> list[int]:
    return services.revoke_for_lost_roles(user_id)
