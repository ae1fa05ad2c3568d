"""The OpenLineage intake's queue: a request stores the event, a worker applies events in batches.

``accept_event`` (called by the intake views) does only what the answer needs: validate, check
who may write it, and one ``INSERT … ON CONFLICT DO NOTHING`` of the raw event with its content
hash (the same event twice is stored once). The stored event is ``queued``; after commit the
intake asks ``lineage.dispatch.apply_pending_soon`` for an applier, debounced so that a burst of
events makes few tasks.

``apply_pending`` (the task's service) takes the queued events in id order, a batch at a time,
under a lease (a PostgreSQL advisory lock held by the batch's transaction, so a worker that dies
releases it with its connection), applies each in a savepoint and the whole batch in one
transaction, and marks each ``done`` or ``failed`` with its reason: a bad event is never lost and
never blocks the events after it. Appliers running at once take turns batch by batch, so each
event is applied once and in order (a run's START before its COMPLETE, a job's runs as posted).
"""

from __future__ import annotations

import json
import logging
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DataError, IntegrityError, connection, transaction
from django.utils import timezone

from lineage import access, datasets, dispatch, naming, runs, services
from lineage.events import EventInvalid, ParsedEvent, parse_event
from lineage.models import Event, Run
from identity.roles import Role

log = logging.getLogger(__name__)

# The lease of the applier: one PostgreSQL advisory lock key (any constant unique to this use).
APPLIER_LOCK = 0x4C494E45  # "LINE"
BATCH_SIZE = 500

_INSERT = (
    f"INSERT INTO {Event._meta.db_table} (kind, dedupe_key, run_id, event_type, event_time, payload, received_at,"
    " received_by, hub, status, error) VALUES (%s, %s, %s, %s, %s, %s::jsonb, now(), %s, %s, %s, '')"
    " ON CONFLICT (dedupe_key) DO NOTHING RETURNING id"
)


def accept_event(event: dict[str, Any], body: str | None = None, *, user: Any = None, hub: str = "", role: Role | None = None) -> services.IngestResult:
    """Store one OpenLineage event (``event`` decoded from the JSON text ``body``, stored as sent;
    without it, ``event`` written as JSON) for the applier.

    Raises ``EventInvalid`` (``.field`` names the bad field) when it breaks the spec, and
    ``WriteRefused`` when ``role`` may not write it; nothing is stored then. The same event again
    (the same content) stores nothing: ``created`` False and the first one's id. ``edges`` is the
    number of (source, target) pairs the event names; ``queued`` is True for an event bigger than
    ``LINEAGE_ASYNC_DATASETS`` (the API answers 202 for those, as before every event was queued).
    """
    parsed = parse_event(event)
    with datasets.one_event():
        access.check_write(parsed, role)
    key = services.dedupe_key(event)
    params = [parsed.kind, key, parsed.run_id, parsed.event_type, parsed.event_time, json.dumps(event) if body is None else body,
              getattr(user, "username", "") or "", hub, Event.Status.QUEUED]
    try:
        # One statement in autocommit: the INSERT is its own transaction (inside a caller's
        # transaction, a savepoint keeps a refused INSERT from breaking it).
        with transaction.atomic() if connection.in_atomic_block else nullcontext(), connection.cursor() as cursor:
            cursor.execute(_INSERT, params)
            row = cursor.fetchone()
    except DataError:
        # e.g. a NUL character in a facet, or NaN: PostgreSQL's JSON holds neither.
        raise EventInvalid("body", "holds what the database cannot store (NUL characters, NaN or Infinity)") from None
    big = services.event_size(parsed) > settings.LINEAGE_ASYNC_DATASETS
    if row is None:
        existing = Event.objects.filter(dedupe_key=key).values_list("id", "status").get()
        return services.IngestResult(created=False, event_id=existing[0], edges=0, queued=big and existing[1] == Event.Status.QUEUED)
    transaction.on_commit(dispatch.apply_pending_soon)
    return services.IngestResult(created=True, event_id=row[0], edges=described_edges(parsed), queued=big)


def described_edges(parsed: ParsedEvent) -> int:
    """(source, target) pairs an event names: every input with every output, and each column
    lineage source with its output (by identity: two names of one catalog table count twice)."""
    written = [*parsed.outputs, *([parsed.dataset] if parsed.dataset else [])]
    pairs = {(naming.normalize(i.namespace, i.name), naming.normalize(o.namespace, o.name)) for i in parsed.inputs for o in written}
    for output in written:
        target = naming.normalize(output.namespace, output.name)
        pairs.update((naming.normalize(m.source_namespace, m.source_name), target) for m in output.columns)
    return len(pairs)


@dataclass
class ApplyReport:
    batches: int = 0
    applied: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"batches": self.batches, "applied": self.applied, "failed": self.failed}


def apply_pending(*, batch_size: int = BATCH_SIZE, max_batches: int | None = None) -> ApplyReport:
    """Apply queued events, oldest first, ``batch_size`` at a time, until none is left (or
    ``max_batches`` were applied). Waits for the lease while another applier holds it, then goes
    on with what that one left. Returns what it did."""
    report = ApplyReport()
    while max_batches is None or report.batches < max_batches:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [APPLIER_LOCK])
            batch = list(Event.objects.filter(status=Event.Status.QUEUED).order_by("id")[:batch_size])
            if not batch:
                break
            applied, failed = _apply_batch(batch)
        report.batches += 1
        report.applied += applied
        report.failed += failed
    return report


APPLY_ERRORS = (EventInvalid, DataError, IntegrityError)


def _apply_batch(batch: list[Event]) -> tuple[int, int]:
    """Apply ``batch`` in the caller's transaction, lookups shared by the whole batch, each job's
    current edges refreshed once at the end. First all at once in one savepoint; when an event
    fails, that savepoint is rolled back and the batch applied again with each event in its own
    savepoint, so a failing one leaves nothing behind and is marked failed (two queries less per
    event on the usual way, where nothing fails). Returns (applied, failed)."""
    try:
        with transaction.atomic():
            _apply_events(batch, one_by_one=False)
    except APPLY_ERRORS as exc:
        log.info("A lineage event of batch %s-%s failed (%s); applying them one by one", batch[0].pk, batch[-1].pk, exc)
        _apply_events(batch, one_by_one=True)
    failed = [stored for stored in batch if stored.status == Event.Status.FAILED]
    now = timezone.now()
    # Done events in one UPDATE (bulk_update's CASE over 500 rows costs more than the batch's work);
    # failed ones, rare, one by one with their reasons.
    Event.objects.filter(pk__in=[e.pk for e in batch if e.status == Event.Status.DONE]).update(status=Event.Status.DONE, applied_at=now)
    for stored in failed:
        Event.objects.filter(pk=stored.pk).update(status=stored.status, error=stored.error, applied_at=now)
    return len(batch) - len(failed), len(failed)


def _apply_events(batch: list[Event], *, one_by_one: bool) -> None:
    """Apply each event of ``batch`` and set its status (``one_by_one``: each in a savepoint, a
    failing one marked failed; otherwise the first failure is raised)."""
    with datasets.one_event(), runs.refresh_once():
        _remember_runs(batch)
        for stored in batch:
            try:
                with transaction.atomic() if one_by_one else nullcontext():
                    services.apply_parsed(parse_event(stored.payload), stored.hub)
            except APPLY_ERRORS as exc:
                if not one_by_one:
                    raise
                datasets.forget_lookups()  # rows the savepoint created are gone
                log.warning("Lineage event %s failed: %s", stored.pk, exc)
                stored.status, stored.error = Event.Status.FAILED, str(exc)[:2000]
            else:
                stored.status = Event.Status.DONE


def _remember_runs(batch: list[Event]) -> None:
    """Read the runs of the batch's events in one query: each event then finds its run (or knows
    it has none yet) without a query of its own."""
    run_ids = {stored.run_id for stored in batch if stored.run_id is not None}
    found = {run.run_id: run for run in Run.objects.filter(run_id__in=run_ids)}
    for run_id in run_ids:
        datasets.remember(services.run_key(run_id), found.get(run_id, services.NO_RUN))
