"""Sync run bookkeeping: the claim that keeps two syncs of a catalog apart, progress, outcome."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from catalog.models import GlueCatalog, SyncRun

MAX_WARNINGS = 500


class SyncAlreadyRunning(RuntimeError):
    """Another sync of the same catalog holds the claim; ``run`` is that sync."""

    def __init__(self, run: SyncRun) -> None:
        self.run = run
        super().__init__(
            f"A {run.label} of catalog {run.catalog} is already running (run #{run.pk}, "
            f"started {run.started_at:%Y-%m-%d %H:%M:%S} UTC); try again when it has finished."
        )


def _abandoned() -> Q:
    """Running rows whose worker is gone: its lease lapsed, or (queued, no worker took it yet)
    started longer than CATALOG_SYNC_TIMEOUT_SECONDS ago."""
    queued_before = timezone.now() - timedelta(seconds=settings.CATALOG_SYNC_TIMEOUT_SECONDS)
    return Q(lease_expires_at__lt=timezone.now()) | Q(lease_expires_at__isnull=True, started_at__lt=queued_before)


def _running(catalog: GlueCatalog, kind: str) -> Any:
    """Running runs holding the same claim as ``kind``: the partition pass is claimed apart from table syncs."""
    running = SyncRun.objects.filter(catalog=catalog, status=SyncRun.Status.RUNNING)
    if kind == SyncRun.Kind.PARTITIONS:
        return running.filter(kind=SyncRun.Kind.PARTITIONS)
    return running.exclude(kind=SyncRun.Kind.PARTITIONS)


def claim_run(catalog: GlueCatalog, kind: str) -> SyncRun:
    """Start a run of ``kind``, or raise SyncAlreadyRunning.

    The partial unique constraints (one running table sync, and one running
    partition pass, per catalog) are the claim, so it holds across processes and
    machines. A running row whose worker is gone (``_abandoned``) is failed first.
    """
    for _attempt in range(2):
        try:
            with transaction.atomic():
                return SyncRun.objects.create(catalog=catalog, kind=kind, status=SyncRun.Status.RUNNING,
                                              counts={}, warnings=[])
        except IntegrityError:
            running = _running(catalog, kind).first()
            if running is None:
                continue  # it finished between our insert and our look-up
            abandoned = SyncRun.objects.filter(_abandoned(), pk=running.pk, status=SyncRun.Status.RUNNING).update(
                status=SyncRun.Status.FAILED, finished_at=timezone.now(),
                error="Abandoned: the worker running it stopped before it finished.")
            if not abandoned:
                raise SyncAlreadyRunning(running) from None
    running = _running(catalog, kind).first()
    if running is None:  # pragma: no cover - only under a pathological race
        raise RuntimeError("could not claim a sync run")
    raise SyncAlreadyRunning(running)


def save_progress(run: SyncRun, counts: dict[str, int]) -> None:
    """Publish the counts so far (the operations page polls them)."""
    run.counts = dict(counts)
    SyncRun.objects.filter(pk=run.pk).update(counts=run.counts)


def finish_run(run: SyncRun, counts: dict[str, int], warnings: list[str], error: str = "",
               held: str = "") -> SyncRun:
    """Record the outcome: failed with ``error``, stopped by the deletion guard with its ``held``
    message (first among the warnings), partial with warnings, succeeded otherwise."""
    status: Any  # a TextChoices member with a label reads as a tuple to mypy (mypy.ini)
    if error:
        status = SyncRun.Status.FAILED
    elif held:
        status = SyncRun.Status.NEEDS_CONFIRMATION
        warnings = [held, *warnings]
    elif warnings:
        status = SyncRun.Status.PARTIAL
    else:
        status = SyncRun.Status.SUCCEEDED
    kept = warnings[:MAX_WARNINGS]
    if len(warnings) > MAX_WARNINGS:
        kept.append(f"… and {len(warnings) - MAX_WARNINGS} more warnings")
    run.status, run.counts, run.warnings, run.error = status, dict(counts), kept, error
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "counts", "warnings", "error", "finished_at"])
    return run
