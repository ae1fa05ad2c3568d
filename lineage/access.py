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

from collections.abc import Iterable

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
    for owner_hub, _table in _owners(written):
        if not role.can_provide(owner_hub):
            raise WriteRefused()
    visible: set[int] | None = None
    for owner_hub, table in _owners(read):
        if table is None:
            if not role.can_provide(owner_hub):
                raise WriteRefused()
            continue
        if visible is None:
            visible = set()
        visible.add(table.pk)
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


def forget_job_hubs() -> None:
    """Drop the cached job hubs (tests whose database rolls back between cases)."""
    _job_hubs.clear()


def _owners(refs: Iterable[DatasetRef]) -> Iterable[tuple[str, Table | None]]:
    """(owning hub, catalog table or None) for each identity that belongs to the catalog; identities
    outside it yield nothing. Already-merged aliases (a Hive name of a Glue table) count as their table."""
    refs = list(refs)
    keys = {naming.normalize(r.namespace, r.name) for r in refs}
    for ref in refs:
        keys.update(naming.normalize(*link) for link in ref.symlinks)
    rows = datasets.existing_rows(keys)
    linked = {row.table_id or 0 for row in rows.values()} | {row.canonical.table_id or 0 for row in rows.values() if row.canonical_id and row.canonical}
    tables = Table.objects.in_bulk([pk for pk in linked if pk])
    for ref in refs:
        identities = [naming.normalize(ref.namespace, ref.name), *(naming.normalize(*link) for link in ref.symlinks)]
        for key in identities:
            row = rows.get(key)
            table_id = (row.table_id or (row.canonical.table_id if row.canonical_id and row.canonical else None)) if row else None
            if table_id and table_id in tables:
                yield tables[table_id].hub, tables[table_id]
                continue
            reference = naming.catalog_reference(*key)
            if reference is None:
                continue
            table = datasets.catalog_table(reference)
            if table is not None:
                yield table.hub, table
            elif reference.database:
                databases = Database.objects.filter(name=reference.database, deleted_at__isnull=True)
                if reference.region:
                    databases = databases.filter(catalog__region=reference.region)
                hub = databases.values_list("hub", flat=True).first()
                if hub is not None:
                    yield hub, None
