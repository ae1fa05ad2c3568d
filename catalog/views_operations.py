"""The operations page: catalog sync runs with live progress, "Sync now", and the search index state."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from catalog.models import GlueCatalog, SyncRun
from catalog.services.guard import NotAwaitingConfirmation, confirm_deletions
from catalog.services.operations import SyncForbidden, start_sync
from catalog.services.runs import SyncAlreadyRunning
from catalog.services.sync import ensure_catalogs
from identity import audit, roles
from portal.limits import SyncStartThrottle
from identity.roles import Role, current_role, role_required

RECENT_RUNS = 25


class SyncThrottled(Exception):
    """Too many syncs started by this user and role (portal.limits.SyncStartThrottle)."""


def _operator(request: HttpRequest) -> Role:
    """Admins and stewards see operations; for anyone else the page does not exist."""
    role = current_role(request)
    if role is None or not roles.may_operate(role):
        raise Http404
    return role


def _context(role: Role, notice: str = "") -> dict:
    runs = list(SyncRun.objects.select_related("catalog").order_by("-started_at", "-id")[:RECENT_RUNS])
    return {
        "catalogs": ensure_catalogs(),
        "runs": runs,
        "any_running": any(r.status == SyncRun.Status.RUNNING for r in runs),
        "can_sync": roles.may_start_sync(role),
        "notice": notice,
    }


@role_required
def operations(request: HttpRequest) -> HttpResponse:
    return render(request, "catalog/operations.html", _context(_operator(request)))


@role_required
def operations_runs(request: HttpRequest) -> HttpResponse:
    """The runs panel alone, polled by htmx while a run is going."""
    return render(request, "catalog/_sync_runs.html", _context(_operator(request)))


@require_POST
@role_required
def operations_sync(request: HttpRequest) -> HttpResponse:
    role = _operator(request)
    if not roles.may_start_sync(role):
        raise Http404  # stewards see the page but not the button; the action does not exist for them
    catalog = get_object_or_404(GlueCatalog, pk=request.POST.get("catalog") or 0)
    throttle = SyncStartThrottle()
    try:
        if not throttle.allow_request(request, None):
            raise SyncThrottled(throttle.refusal())
        run = start_sync(catalog, user=request.user, role=role, ip=audit.client_ip(request))
        notice = f"Sync #{run.pk} of {catalog} started."
    except SyncForbidden:
        raise Http404 from None
    except (SyncAlreadyRunning, SyncThrottled) as exc:
        notice = str(exc)
    if request.headers.get("HX-Request"):
        return render(request, "catalog/_sync_runs.html", _context(role, notice))
    return redirect("catalog:operations")


@require_POST
@role_required
def operations_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    """An admin confirms the deletions a sync held back (see catalog.services.guard)."""
    role = _operator(request)
    if not roles.may_start_sync(role):
        raise Http404
    held = get_object_or_404(SyncRun.objects.select_related("catalog"), pk=pk)
    try:
        run = confirm_deletions(held)
        notice = f"Deletions confirmed: sync #{run.pk} of {held.catalog} started."
        audit.record(request.user, "catalog.sync.confirm_deletes", role=role, target=str(held.catalog),
                     details={"held_run": held.pk, "run": run.pk, "counts": held.counts},
                     ip=audit.client_ip(request))
    except (NotAwaitingConfirmation, SyncAlreadyRunning) as exc:
        notice = str(exc)
    if request.headers.get("HX-Request"):
        return render(request, "catalog/_sync_runs.html", _context(role, notice))
    return redirect("catalog:operations")
