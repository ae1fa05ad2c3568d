"""Who may write which lineage (checked by ``lineage.services.ingest_event`` before anything is stored).

A provider writes lineage for the jobs of its hub only. What those jobs *write* (outputs, and the
dataset of a DatasetEvent) must be a dataset its hub owns or one outside the catalog; what they
*read* (inputs, column-lineage sources) must be outside the catalog or a table the role may read.
A Glue/Athena name of a table that does not exist, in a database of another hub, is refused like
a hidden table that exists: every refusal is the same ``WriteRefused`` message, so a refusal never
tells whether a hidden dataset exists. Admins write anything; the portal's own writers (ingestion
pipelines) call the service without a role.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from django.conf import settings

from catalog.models import Database, Table
from lineage import datasets, naming
from lineage.events import DatasetRef, ParsedEvent
from lineage.models import Job
from identity import roles
from identity.roles import Role

REFUSED = (
    "A provider may write lineage only for jobs of its own hub, writing datasets its hub owns or "
    "datasets outside the catalog, and reading datasets it may see."
)


class WriteRefused(PermissionError):
    """The role may not write this lineage (answered 403 with ``REFUSED``, whatever the reason)."""

    def __init__(self) -> None:
        super().__init__(REFUSED)


def check_write(parsed: ParsedEvent, role: Role | None) -> None:
    """Raise ``WriteRefused`` unless ``role`` may write everything ``parsed`` describes."""
    if role is None or role.is_admin:
        return
    if not roles.may_provide(role) or not role.hub:
        raise WriteRefused()
    if parsed.job_name:
        hub = job_hub(parsed.job_namespace, parsed.job_name)
        if hub is not None and not role.can_provide(hub):
            raise WriteRefused()
    written = list(parsed.outputs) + ([parsed.dataset] if parsed.dataset is not None else [])
    read = list(parsed.inputs) + [DatasetRef(m.source_namespace, m.source_name) for ref in written for m in ref.columns]
    for owner_hub, _table_id in _owners(written):
        if not role.can_provide(owner_hub):
            raise WriteRefused()
    visible: set[int] = set()
    for owner_hub, table_id in _owners(read):
        if table_id is None:
            if not role.can_provide(owner_hub):
                raise WriteRefused()
            continue
        visible.add(table_id)
    if visible:
        seen = set(Table.objects.visible_to(role).filter(pk__in=visible).values_list("id", flat=True))
        owned = set(Table.objects.filter(pk__in=visible, hub=role.hub).values_list("id", flat=True))
        if visible - seen - owned:
            raise WriteRefused()


# (namespace, name) → hub of jobs that exist: a job's hub is set when it is created and never
# changes, so each web process reads it once (a producer posts every run of the same jobs).
_job_hubs: dict[tuple[str, str], str] = {}
MAX_CACHED_JOBS = 100_000


def job_hub(namespace: str, name: str) -> str | None:
    """The hub of the job ``namespace``/``name``, or None when no such job exists (yet)."""
    key = (namespace, name)
    if key in _job_hubs:
        return _job_hubs[key]
    hub = Job.objects.filter(namespace=namespace, name=name).values_list("hub", flat=True).first()
    if hub is not None:
        if len(_job_hubs) >= MAX_CACHED_JOBS:
            _job_hubs.clear()
        _job_hubs[key] = hub
    return hub


def forget_caches() -> None:
    """Drop the cached job hubs and dataset owners (tests whose database rolls back between cases)."""
    _job_hubs.clear()
    _owners_of.clear()


# (namespace, name, symlinks) → what owns that identity: ((hub, catalog table id or None), …).
# Which table an identity names, and its hub, change only with the catalog (a sync, a new table at
# an S3 location, a table moved to another hub): remembered LINEAGE_OWNERS_CACHE_SECONDS, so a
# producer's stream of events over the same datasets costs no query. The role's own rights are not
# cached here: they are checked on every event (its token's role: see identity.services).
_owners_of: dict[tuple[str, str, tuple[tuple[str, str], ...]], tuple[float, tuple[tuple[str, int | None], ...]]] = {}


def _owners(refs: Iterable[DatasetRef]) -> list[tuple[str, int | None]]:
    """(owning hub, catalog table id or None) for each identity that belongs to the catalog;
    identities outside it add nothing."""
    now = time.monotonic()
    owners: list[tuple[str, int | None]] = []
    missing: list[DatasetRef] = []
    for ref in refs:
        hit = _owners_of.get((ref.namespace, ref.name, tuple(ref.symlinks)))
        if hit is not None and hit[0] > now:
            owners.extend(hit[1])
        else:
            missing.append(ref)
    if missing:
        ttl = settings.LINEAGE_OWNERS_CACHE_SECONDS
        if len(_owners_of) >= MAX_CACHED_JOBS:
            _owners_of.clear()
        for ref, found in zip(missing, _read_owners(missing)):
            if ttl > 0:
                _owners_of[(ref.namespace, ref.name, tuple(ref.symlinks))] = (now + ttl, tuple(found))
            owners.extend(found)
    return owners


def _read_owners(refs: list[DatasetRef]) -> list[list[tuple[str, int | None]]]:
    """Per identity: (owning hub, catalog table id or None) of what it names in the catalog.
    Already-merged aliases (a Hive name of a Glue table) count as their table."""
    keys = {naming.normalize(r.namespace, r.name) for r in refs}
    for ref in refs:
        keys.update(naming.normalize(*link) for link in ref.symlinks)
    rows = datasets.existing_rows(keys)
    linked = {row.table_id or 0 for row in rows.values()} | {row.canonical.table_id or 0 for row in rows.values() if row.canonical_id and row.canonical}
    tables = Table.objects.in_bulk([pk for pk in linked if pk])
    answers: list[list[tuple[str, int | None]]] = []
    for ref in refs:
        found: list[tuple[str, int | None]] = []
        identities = [naming.normalize(ref.namespace, ref.name), *(naming.normalize(*link) for link in ref.symlinks)]
        for key in identities:
            row = rows.get(key)
            table_id = (row.table_id or (row.canonical.table_id if row.canonical_id and row.canonical else None)) if row else None
            if table_id and table_id in tables:
                found.append((tables[table_id].hub, table_id))
                continue
            reference = naming.catalog_reference(*key)
            if reference is None:
                continue
            table = datasets.catalog_table(reference)
            if table is not None:
                found.append((table.hub, table.pk))
            elif reference.database:
                databases = Database.objects.filter(name=reference.database, deleted_at__isnull=True)
                if reference.region:
                    databases = databases.filter(catalog__region=reference.region)
                hub = databases.values_list("hub", flat=True).first()
                if hub is not None:
                    found.append((hub, None))
        answers.append(found)
    return answers
