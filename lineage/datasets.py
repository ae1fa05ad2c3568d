"""Dataset identities in the database: resolving an OpenLineage identity to its canonical dataset
(linked to its catalog table, aliases merged), and telling every process's graph what changed.

Used by ``lineage.services`` and ``lineage.runs`` (the writers); nothing here is an entry point.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import F, Q

from catalog.models import Table
from lineage import naming
from lineage.events import DatasetRef
from lineage.models import ColumnEdge, Dataset, Edge, GraphChange, GraphVersion
from lineage.signals import edges_changed


# What one event's handling has already read: the access check and the writers look up the same
# identities (dataset rows, catalog tables) moments apart; see ``one_event``.
_seen: ContextVar[dict[Any, Any] | None] = ContextVar("lineage_lookups_of_one_event", default=None)


@contextmanager
def one_event() -> Iterator[None]:
    """Within this block, a catalog table or an existing dataset row looked up once is not read
    again (a few queries less per event). Only rows that exist are remembered: a missing one is
    always re-read, so rows created in the block are found."""
    token = _seen.set({})
    try:
        yield
    finally:
        _seen.reset(token)


def remembered(key: tuple[Any, ...]) -> Any:
    """What ``remember`` put under ``key`` in the enclosing ``one_event`` block, or None."""
    seen = _seen.get()
    return seen.get(key) if seen is not None else None


def remember(key: tuple[Any, ...], value: Any) -> None:
    """Keep ``value`` (a row read or created in this block) for the rest of the ``one_event`` block."""
    seen = _seen.get()
    if seen is not None:
        seen[key] = value


def forget_lookups() -> None:
    """Forget what the enclosing ``one_event`` block remembered: after a rolled-back savepoint,
    rows it created (and remembered) are gone."""
    seen = _seen.get()
    if seen is not None:
        seen.clear()


def catalog_table(reference: naming.CatalogReference | None) -> Table | None:
    """The live catalog table an identity names (by Glue name, or longest S3 location prefix)."""
    if reference is None:
        return None
    seen = _seen.get()
    if seen is None:
        return _catalog_table(reference)
    if ("table", reference) not in seen:
        seen[("table", reference)] = _catalog_table(reference)
    return seen[("table", reference)]


def _catalog_table(reference: naming.CatalogReference) -> Table | None:
    tables = Table.objects.live()
    if reference.database and reference.table:
        tables = tables.filter(database_name=reference.database, name=reference.table)
        if reference.region:
            tables = tables.filter(catalog__region=reference.region)
        if reference.account:
            tables = tables.filter(catalog__account_id=reference.account)
        return tables.order_by("id").first()
    if reference.s3_uri:
        uri = reference.s3_uri
        bucket_end = uri.find("/", len("s3://"))
        prefixes = [uri]
        while bucket_end != -1:
            prefixes.append(uri[:bucket_end])
            bucket_end = uri.find("/", bucket_end + 1)
        candidates = tables.filter(location__in=prefixes + [p + "/" for p in prefixes])
        matching = [t for t in candidates if naming.location_matches(t.location, uri)]
        return max(matching, key=lambda t: (len(naming.s3_uri(t.location)), -t.pk), default=None)
    return None


def table_for_identity(namespace: str, name: str, symlinks: Iterable[tuple[str, str]] = ()) -> Table | None:
    table = catalog_table(naming.catalog_reference(namespace, name))
    for link_ns, link_name in symlinks:
        if table is not None:
            break
        table = catalog_table(naming.catalog_reference(*naming.normalize(link_ns, link_name)))
    return table


def merge_into(alias: Dataset, canonical: Dataset) -> None:
    """Make ``alias`` an alias of ``canonical``: its edges move over (identities learnt late)."""
    edges = list(Edge.objects.filter(Q(source=alias) | Q(target=alias)).prefetch_related("columns"))
    for edge in edges:
        source = canonical if edge.source_id == alias.pk else edge.source
        target = canonical if edge.target_id == alias.pk else edge.target
        moved, _ = Edge.objects.get_or_create(source=source, target=target, job_id=edge.job_id, defaults={"origin": edge.origin})
        ColumnEdge.objects.bulk_create(
            [ColumnEdge(edge=moved, source_column=c.source_column, target_column=c.target_column, transformation=c.transformation) for c in edge.columns.all()],
            ignore_conflicts=True,
        )
        edge.delete()
    Dataset.objects.filter(canonical=alias).update(canonical=canonical)
    alias.canonical, alias.table = canonical, None
    alias.save(update_fields=["canonical", "table"])
    if edges:
        reload_graphs()


def link(dataset: Dataset, table: Table) -> Dataset:
    """Attach ``dataset`` to ``table``; returns the canonical dataset of the table."""
    canonical = Dataset.objects.filter(table=table).first()
    if canonical is None:
        dataset.table = table
        dataset.save(update_fields=["table", "updated_at"])
        touch([dataset.pk])
        return dataset  # same node id: the graph is unchanged, only what the node describes
    if canonical.pk != dataset.pk:
        merge_into(dataset, canonical)
    return canonical


def resolve_dataset(ref: DatasetRef, hub: str) -> Dataset:
    """The canonical dataset for an identity, created and linked to the catalog as needed."""
    return get_dataset(ref.namespace, ref.name, hub, ref.symlinks, ref.schema_fields)


def get_dataset(namespace: str, name: str, hub: str, symlinks: Iterable[tuple[str, str]] = (), schema_fields: list[dict[str, Any]] | None = None) -> Dataset:
    namespace, name = naming.normalize(namespace, name)
    dataset, _ = Dataset.objects.get_or_create(namespace=namespace, name=name, defaults={"hub": hub})
    if schema_fields is not None and schema_fields != dataset.schema_fields:
        dataset.schema_fields = schema_fields
        dataset.save(update_fields=["schema_fields", "updated_at"])
    if dataset.canonical_id:
        return Dataset.objects.get(pk=dataset.canonical_id)
    if dataset.table_id:
        return dataset
    table = table_for_identity(namespace, name, symlinks)
    return link(dataset, table) if table is not None else dataset



# --- telling the graphs of every process ------------------------------------------------------

def next_version() -> int:
    """Bump the graph version; the row stays locked until this transaction commits."""
    if not GraphVersion.objects.filter(pk=1).update(version=F("version") + 1):
        GraphVersion.objects.get_or_create(pk=1)
        GraphVersion.objects.filter(pk=1).update(version=F("version") + 1)
    return GraphVersion.objects.values_list("version", flat=True).get(pk=1)


def bump(pairs: Iterable[tuple[int, int]]) -> None:
    """Tell every process's in-memory graph that these (source, target) pairs changed."""
    pairs = list(pairs)
    if pairs:
        version = next_version()
        GraphChange.objects.bulk_create([GraphChange(version=version, source_id=s, target_id=t) for s, t in pairs])
        transaction.on_commit(partial(edges_changed.send, sender=None, pairs=pairs))


def touch(dataset_ids: Iterable[int]) -> None:
    """Tell every process that these datasets' rows changed (their catalog link): the (d, d) pair
    re-reads nothing but a self-loop, and makes the readers drop what they cached of d."""
    bump((pk, pk) for pk in dataset_ids)


def reload_graphs() -> None:
    """Tell every process to reload its graph (node identities changed)."""
    GraphChange.objects.create(version=next_version(), reload=True)




# --- many identities at once (the bulk path of big events) -----------------------------------

CHUNK = 1000


def resolve_many(refs: list[DatasetRef], hub: str) -> list[Dataset]:
    """``resolve_dataset`` for many identities in a bounded number of queries (one event may name
    10,000 datasets): existing rows are read and missing ones created in chunks; only identities
    that may name a catalog table (Glue, Athena, S3 names, symlinks) are looked up one by one,
    and of those only the ones not linked yet. Returns canonical datasets in ``refs`` order."""
    keys = [naming.normalize(ref.namespace, ref.name) for ref in refs]
    found = existing_rows(set(keys))
    missing = [Dataset(namespace=ns, name=name, hub=hub) for ns, name in dict.fromkeys(keys) if (ns, name) not in found]
    if missing:
        Dataset.objects.bulk_create(missing, batch_size=CHUNK, ignore_conflicts=True)
        found.update(existing_rows({(d.namespace, d.name) for d in missing}))
    changed_schema = []
    for ref, key in zip(refs, keys):
        row = found[key]
        if ref.schema_fields is not None and ref.schema_fields != row.schema_fields:
            row.schema_fields = ref.schema_fields
            changed_schema.append(row)
    if changed_schema:
        Dataset.objects.bulk_update(list({d.pk: d for d in changed_schema}.values()), ["schema_fields"], batch_size=CHUNK)
    canonical_ids = {row.canonical_id for row in found.values() if row.canonical_id}
    canonicals = Dataset.objects.in_bulk(list(canonical_ids)) if canonical_ids else {}
    resolved: dict[tuple[str, str], Dataset] = {}
    result = []
    for ref, key in zip(refs, keys):
        if key not in resolved:
            row = found[key]
            if row.canonical_id:
                resolved[key] = canonicals.get(row.canonical_id) or Dataset.objects.get(pk=row.canonical_id)
            elif row.table_id or (naming.catalog_reference(*key) is None and not ref.symlinks):
                resolved[key] = row
            else:
                table = table_for_identity(*key, ref.symlinks)
                resolved[key] = link(row, table) if table is not None else row
        result.append(resolved[key])
    return result


def existing_rows(keys: set[tuple[str, str]]) -> dict[tuple[str, str], Dataset]:
    """The dataset rows of these (namespace, name) identities that exist (one query per namespace
    and chunk; rows already read within ``one_event`` are not read again)."""
    seen = _seen.get()
    found: dict[tuple[str, str], Dataset] = {}
    by_namespace: dict[str, list[str]] = {}
    for ns, name in keys:
        row = seen.get(("row", ns, name)) if seen is not None else None
        if row is not None:
            found[(ns, name)] = row
        else:
            by_namespace.setdefault(ns, []).append(name)
    for ns, names in by_namespace.items():
        for i in range(0, len(names), CHUNK):
            for row in Dataset.objects.filter(namespace=ns, name__in=names[i: i + CHUNK]):
                found[(row.namespace, row.name)] = row
                if seen is not None:
                    seen[("row", row.namespace, row.name)] = row
    return found
