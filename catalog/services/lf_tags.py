"""Lake Formation tags (LF-tags) of the mirror: read in batches by the full sync, assigned and removed
by the stewards of a dataset's hub.

Reading is batched on purpose: one ``ListLFTags`` walk, then per tag key one paged
``SearchDatabasesByLFTags`` and one paged ``SearchTablesByLFTags`` (every value of the key), whose
answers carry each table's effective tags — the database's included unless the table assigns the key
itself — and its columns'. So the cost grows with the tag keys and pages, never with one call per
table (``bench/governance.py`` prints the ratio to a sync without it).

Tags are stored as ``{key: [values]}``: ``Database.lf_tags`` (assigned), ``Table.lf_tags`` (effective),
``Column.lf_tags`` (the column's effective tags where they differ from its table's).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.db import transaction
from django.db.models import Q

from catalog.models import Column, Database, GlueCatalog, Table
from catalog.search.documents import lf_tag_labels
from identity import audit, roles
from identity.roles import Role
from portal import aws

TagMap = dict[str, list[str]]
PAGE_SIZE = 100  # SearchTablesByLFTags / SearchDatabasesByLFTags results per call


class LfTagError(Exception):
    """Bad input or a refusal; the message is shown to the user."""

    status_code = 400


class LfTagForbidden(LfTagError):
    status_code = 403


class LfTagsUnavailable(LfTagError):
    status_code = 503


@dataclass
class Snapshot:
    """What Lake Formation says about the tags of one catalog, as read in one sync."""

    defined: TagMap = field(default_factory=dict)
    databases: dict[str, TagMap] = field(default_factory=dict)
    tables: dict[tuple[str, str], TagMap] = field(default_factory=dict)
    columns: dict[tuple[str, str], dict[str, TagMap]] = field(default_factory=dict)
    calls: int = 0


def as_map(pairs: Iterable[Mapping[str, Any]]) -> TagMap:
    """``[{"TagKey", "TagValues"}, ...]`` → ``{key: sorted values}``."""
    return {p["TagKey"]: sorted(p.get("TagValues") or []) for p in pairs}


def as_pairs(tags: Mapping[str, Sequence[str]]) -> list[dict[str, Any]]:
    return [{"TagKey": key, "TagValues": list(values)} for key, values in sorted(tags.items())]


def _pages(call: Any, key: str, snapshot: Snapshot, **kwargs: Any) -> Iterator[dict[str, Any]]:
    while True:
        page = call(**kwargs)
        snapshot.calls += 1
        yield from page.get(key, [])
        if not page.get("NextToken"):
            return
        kwargs["NextToken"] = page["NextToken"]


def read_snapshot(catalog: GlueCatalog, client: Any = None) -> Snapshot:
    """Every LF-tag Lake Formation defines and where it applies in ``catalog``.

    Raises botocore's ClientError / BotoCoreError (the sync turns them into a warning).
    """
    client = client or aws.client("lakeformation", catalog.region)
    snapshot = Snapshot()
    ids = {"CatalogId": catalog.account_id}
    snapshot.defined = as_map(_pages(client.list_lf_tags, "LFTags", snapshot, **ids))
    for key, values in sorted(snapshot.defined.items()):
        expression = [{"TagKey": key, "TagValues": values}]
        for entry in _pages(client.search_databases_by_lf_tags, "DatabaseList", snapshot, Expression=expression,
                            MaxResults=PAGE_SIZE, **ids):
            snapshot.databases[entry["Database"]["Name"]] = as_map(entry.get("LFTags") or [])
        for entry in _pages(client.search_tables_by_lf_tags, "TableList", snapshot, Expression=expression,
                            MaxResults=PAGE_SIZE, **ids):
            name = (entry["Table"]["DatabaseName"], entry["Table"]["Name"])
            on_table = as_map(entry.get("LFTagsOnTable") or [])
            snapshot.tables[name] = on_table
            columns = {c["Name"]: _differing(as_map(c.get("LFTags") or []), on_table)
                       for c in entry.get("LFTagsOnColumns") or []}
            snapshot.columns[name] = {column: tags for column, tags in columns.items() if tags}
    return snapshot


def _differing(tags: TagMap, inherited: TagMap) -> TagMap:
    return {key: values for key, values in tags.items() if inherited.get(key) != values}


def apply(catalog: GlueCatalog, snapshot: Snapshot) -> list[int]:
    """Store the snapshot in the mirror (only rows whose tags changed are written); returns the ids of
    the tables whose tags changed, for the search index."""
    databases = [d for d in Database.objects.filter(catalog=catalog).only("id", "name", "lf_tags")
                 if d.lf_tags != snapshot.databases.get(d.name, {})]
    for database in databases:
        database.lf_tags = snapshot.databases.get(database.name, {})
    tables, ids = [], {}
    for table in Table.objects.filter(catalog=catalog, deleted_at__isnull=True).only(
            "id", "database_name", "name", "lf_tags"):
        key = (table.database_name, table.name)
        ids[key] = table.pk
        wanted = snapshot.tables.get(key, snapshot.databases.get(table.database_name, {}))
        if table.lf_tags != wanted:
            table.lf_tags = wanted
            tables.append(table)
    wanted_columns = {(ids[key], column): tags for key, columns in snapshot.columns.items() if key in ids
                      for column, tags in columns.items()}
    columns = []
    # Columns tagged now, and those tagged before (they may have lost their tags).
    for column in Column.objects.filter(Q(table_id__in={t for t, _ in wanted_columns}) | ~Q(lf_tags={}),
                                        table__catalog=catalog).only("id", "table_id", "name", "lf_tags"):
        wanted = wanted_columns.get((column.table_id, column.name), {})
        if column.lf_tags != wanted:
            column.lf_tags = wanted
            columns.append(column)
    with transaction.atomic():
        Database.objects.bulk_update(databases, ["lf_tags"], batch_size=1000)
        Table.objects.bulk_update(tables, ["lf_tags"], batch_size=1000)
        Column.objects.bulk_update(columns, ["lf_tags"], batch_size=1000)
    return sorted({t.pk for t in tables} | {c.table_id for c in columns})


# --- Stewards' writes ------------------------------------------------------------------------------

def change(table: Table, *, assign: Mapping[str, Sequence[str]] | None = None,
           remove: Mapping[str, Sequence[str]] | None = None, columns: Sequence[str] = (), actor: Any,
           role: Role | None, ip: str | None = None) -> TagMap:
    """Assign and/or remove LF-tags on the table (or on named ``columns`` of it) in Lake Formation, within
    the values it defines; audited. The mirror takes the table's new tags from Lake Formation at once (the
    next full sync re-reads everything). Returns the table's tags.

    Raises LfTagForbidden (403) for anyone but the stewards of its hub and admins, LfTagError (400) for an
    undefined key or value or a refusal, LfTagsUnavailable (503) when Lake Formation cannot be reached.
    """
    if not roles.may_curate(role, table.hub):
        raise LfTagForbidden(f"Only stewards of hub {table.hub} may tag {table.qualified_name}.")
    assign, remove = dict(assign or {}), dict(remove or {})
    if not assign and not remove:
        raise LfTagError("Name LF-tags to assign or remove ({\"KEY\": [\"value\", ...]}).")
    if columns:
        known = set(Column.objects.filter(table=table).values_list("name", flat=True))
        if unknown := sorted(set(columns) - known):
            raise LfTagError(f"{table.qualified_name} has no column {', '.join(unknown)}.")
        resource: dict[str, Any] = {"TableWithColumns": {"DatabaseName": table.database_name, "Name": table.name,
                                                         "ColumnNames": sorted(set(columns))}}
    else:
        resource = {"Table": {"DatabaseName": table.database_name, "Name": table.name}}
    client = aws.client("lakeformation", table.catalog.region)
    try:
        defined = as_map(_pages(client.list_lf_tags, "LFTags", Snapshot()))
        for key, values in {**assign, **remove}.items():
            if key not in defined or not set(values) <= set(defined[key]) or not values:
                raise LfTagError(f"Lake Formation defines no LF-tag {key} with values {', '.join(values) or '(none)'}"
                                 f"; defined: {', '.join(lf_tag_labels(defined)) or 'none'}.")
        for call, tags in ((client.remove_lf_tags_from_resource, remove), (client.add_lf_tags_to_resource, assign)):
            if tags:
                failures = call(Resource=resource, LFTags=as_pairs(tags)).get("Failures") or []
                if failures:
                    raise LfTagError(f"Lake Formation refused: {failures[0].get('Error', {}).get('ErrorMessage')}")
        answer = client.get_resource_lf_tags(Resource={"Table": resource.get("Table") or {
            "DatabaseName": table.database_name, "Name": table.name}})
    except ClientError as exc:
        raise LfTagError(f"Lake Formation refused: {exc.response.get('Error', {}).get('Message', exc)}") from exc
    except BotoCoreError as exc:
        raise LfTagsUnavailable(f"Lake Formation is unavailable; try again shortly ({exc}).") from exc
    # The database's tags (as the last sync read them, or as Lake Formation answers) unless the table assigns the key.
    tags = {**table.database.lf_tags, **as_map(answer.get("LFTagOnDatabase") or []),
            **as_map(answer.get("LFTagsOnTable") or [])}
    with transaction.atomic():
        if not columns:
            Table.objects.filter(pk=table.pk).update(lf_tags=tags)
        audit.record(actor, "catalog.lf_tags", role=role, target=table.qualified_name, ip=ip,
                     details={"assign": assign, "remove": remove, "columns": sorted(columns)})
    table.lf_tags = tags if not columns else table.lf_tags
    transaction.on_commit(lambda: _reindex(table))
    return table.lf_tags


def _reindex(table: Table) -> None:
    from catalog import signals

    # send_robust: a failing subscriber (search) must not fail the steward's saved change.
    signals.tables_changed.send_robust(sender=Table, catalog_id=table.catalog_id, table_ids=[table.pk], refresh=True)
