"""Keeps the OpenSearch index in step with the catalog mirror (owned by the search feature).

Contract used by the sync: ``index_tables(table_ids)`` indexes (or removes, for
soft-deleted or vanished tables) exactly those tables and raises ``IndexUnavailable``
when OpenSearch cannot be reached; ``rebuild()`` builds a new versioned index and
swaps the alias atomically, so search never sees a half-built index.

Readers and writers only ever use the alias (``portal.opensearch.index_name("tables")``);
concrete indices are ``<alias>-v<timestamp>``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from django.utils import timezone
from opensearchpy import OpenSearch
from opensearchpy.exceptions import NotFoundError, OpenSearchException
from opensearchpy.serializer import JSONSerializer

from catalog.search.documents import INDEX_MAPPINGS, INDEX_SETTINGS, ColumnData, CurationData, TableData, build_document
from catalog.search.priors import prior_parts, staging_copies
from portal.opensearch import get_client, index_name

log = logging.getLogger(__name__)

# Tables per database batch and per bulk request. osmem (and OpenSearch) pay a cost per bulk
# request that grows with the index, so 1,000 documents per request index about twice as fast
# as 500 (5,000 tables: ~24 s → ~12 s on osmem); MAX_BULK_BYTES keeps wide tables under the
# 10 MB request limit of small AWS OpenSearch domains.
BATCH_SIZE = 1000
MAX_BULK_BYTES = 8_000_000
_SERIALIZER = JSONSerializer()
_TABLE_FIELDS = (
    "id", "database_name", "name", "description", "table_type", "format", "location", "owner", "classification",
    "hub", "layer", "visibility", "updated_at", "usage_count", "deleted_at", "lf_tags",
)


class IndexUnavailable(RuntimeError):
    """OpenSearch could not be reached or refused the write."""


def alias_name() -> str:
    return index_name("tables")


def building_alias_name() -> str:
    """Points at the index a rebuild is filling, so incremental writes reach it too."""
    return f"{alias_name()}-building"


def _new_index_name() -> str:
    return f"{alias_name()}-v{timezone.now():%Y%m%d%H%M%S%f}"


def _create_index(client: OpenSearch, name: str) -> None:
    client.indices.create(index=name, body={"settings": INDEX_SETTINGS, "mappings": INDEX_MAPPINGS})


def ensure_index(client: OpenSearch | None = None) -> None:
    """Create the first versioned index behind the alias when there is none yet."""
    client = client or get_client()
    alias = alias_name()
    try:
        if client.indices.exists_alias(name=alias) or client.indices.exists(index=alias):
            return
        name = _new_index_name()
        _create_index(client, name)
        client.indices.update_aliases(body={"actions": [{"add": {"index": name, "alias": alias}}]})
    except OpenSearchException as exc:
        raise IndexUnavailable(f"OpenSearch refused to create the index: {exc}") from exc


def _load_batch(table_ids: list[int]) -> tuple[list[dict[str, Any]], dict[int, list[ColumnData]], dict[int, CurationData]]:
    from catalog.models import Curation, Table
    from catalog.queries import classification_of, column_states, columns_of, owners_of

    tables = list(Table.objects.filter(id__in=table_ids).values(*_TABLE_FIELDS))
    live_ids = [t["id"] for t in tables if t["deleted_at"] is None]
    # The same rows, in the same order and shape, as a dataset page and a result page read.
    columns: dict[int, list[ColumnData]] = columns_of(live_ids)  # type: ignore[assignment]
    curations: dict[int, CurationData] = {
        row["table_id"]: row  # type: ignore[misc]
        for row in Curation.objects.filter(table_id__in=live_ids).values(
            "table_id", "description", "tags", "owner", "classification", "deprecated"
        )
    }
    for table_id, owners in owners_of(live_ids).items():
        curations.setdefault(table_id, {})["owned_by"] = [o["name"] for o in owners]
    states = column_states(live_ids, {t: {c["name"]: c["comment"] for c in cols} for t, cols in columns.items()})
    for row in tables:
        table_states = states.get(row["id"])
        if not table_states:
            continue
        for column in columns.get(row["id"], []):
            state = table_states.get(column["name"])
            if state:
                column["comment"], column["tags"], column["pii_status"] = (
                    state["description"], state["tags"], state["pii_status"])
        # Curated columns may raise the table's classification: the index shows what the page shows.
        cur = curations.setdefault(row["id"], {})
        cur["classification"] = classification_of(cur.get("classification") or row["classification"], table_states).value
    return tables, columns, curations


def glossary_of_tables(tables: list[tuple[int, str, str]]) -> dict[int, tuple[list[str], str]]:
    """Approved glossary terms linked to these (id, database, name) tables: (term names, their words)."""
    from glossary.queries import terms_of_tables

    return terms_of_tables(tables)


def documents_for(table_ids: Iterable[int]) -> Iterator[tuple[int, dict[str, Any] | None]]:
    """(table id, document) per id; the document is None for soft-deleted or unknown tables."""
    ids = sorted({int(i) for i in table_ids})
    for start in range(0, len(ids), BATCH_SIZE):
        batch = ids[start:start + BATCH_SIZE]
        tables, columns, curations = _load_batch(batch)
        live = [row for row in tables if row["deleted_at"] is None]
        copied, copies = staging_copies(row["id"] for row in live)
        glossary = glossary_of_tables([(row["id"], row["database_name"], row["name"]) for row in live])
        seen = set()
        for row in tables:
            seen.add(row["id"])
            if row["deleted_at"] is not None:
                yield row["id"], None
                continue
            table_id = row["id"]
            data: TableData = {**row, "database": row["database_name"]}  # type: ignore[typeddict-item]
            data["prior_parts"] = prior_parts(data, columns.get(table_id, []), curations.get(table_id),  # type: ignore[arg-type]
                                              copied_by_staging=table_id in copied, staging_copy=table_id in copies)
            if table_id in glossary:
                data["term"], data["glossary_words"] = glossary[table_id]
            yield table_id, build_document(data, columns.get(table_id, []), curations.get(table_id))
        for missing in set(batch) - seen:
            yield missing, None


def _actions(index: str, docs: Iterable[tuple[int, dict[str, Any] | None]]) -> Iterator[list[dict[str, Any]]]:
    """Bulk lines per table: ``[action]`` for a delete, ``[action, source]`` for an index."""
    for table_id, doc in docs:
        if doc is None:
            yield [{"delete": {"_index": index, "_id": str(table_id)}}]
        else:
            yield [{"index": {"_index": index, "_id": str(table_id)}}, doc]


def _chunks(actions: Iterable[list[dict[str, Any]]]) -> Iterator[str]:
    """Bulk bodies (NDJSON) of at most BATCH_SIZE tables and, beyond one table, MAX_BULK_BYTES."""
    body: list[str] = []
    count = size = 0
    for lines in actions:
        encoded = [_SERIALIZER.dumps(line) for line in lines]
        added = sum(len(line.encode()) + 1 for line in encoded)
        if body and size + added > MAX_BULK_BYTES:
            yield _ndjson(body)
            body, count, size = [], 0, 0
        body.extend(encoded)
        count += 1
        size += added
        if count == BATCH_SIZE:
            yield _ndjson(body)
            body, count, size = [], 0, 0
    if body:
        yield _ndjson(body)


def _ndjson(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"


def _tally(answer: dict[str, Any]) -> tuple[int, int, Any]:
    written = failed = 0
    first_error = None
    for item in answer.get("items", []):
        op, result = next(iter(item.items()))
        status = result.get("status", 500)
        if op == "index" and status < 300:
            written += 1
        elif not (op == "delete" and status in (200, 404)):
            failed += 1
            first_error = first_error or result.get("error")
    return written, failed, first_error


def _bulk(client: OpenSearch, actions: Iterable[list[dict[str, Any]]], on_batch: Callable[[int], None] | None = None) -> int:
    """Send actions in chunks; returns documents written. Missing deletes are fine; other failures raise.

    Documents are built (database reads) in this thread while one sender thread ships the
    previous chunk, so building and indexing overlap without sharing a database connection.
    """
    written = failed = 0
    first_error: Any = None

    def collect(future: Future) -> None:
        nonlocal written, failed, first_error
        ok, bad, error = _tally(future.result())
        written, failed, first_error = written + ok, failed + bad, first_error or error
        if on_batch:
            on_batch(written)

    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="search-bulk") as sender:
            pending: Future | None = None
            for body in _chunks(actions):
                future = sender.submit(client.bulk, body=body, request_timeout=120)
                if pending is not None:
                    collect(pending)
                pending = future
            if pending is not None:
                collect(pending)
    except OpenSearchException as exc:
        raise IndexUnavailable(f"OpenSearch is unavailable: {exc}") from exc
    if failed:
        raise IndexUnavailable(f"OpenSearch refused {failed} documents, e.g. {first_error}")
    return written


def _remembered(items: Iterable[Any], into: list[Any]) -> Iterator[Any]:
    for item in items:
        into.append(item)
        yield item


def index_tables(table_ids: Iterable[int], *, refresh: bool = True) -> int:
    """Index the given tables (deleting soft-deleted or vanished ones); returns documents written.

    Call after commit. ``refresh`` makes the change searchable at once (curation, events);
    raises IndexUnavailable when OpenSearch cannot be reached or refuses the write.
    """
    ids = list(table_ids)
    if not ids:
        return 0
    client = get_client()
    ensure_index(client)
    # Documents stream into the bulk (building the next chunk while the previous one is sent)
    # and are kept for a rebuild's index, which is only looked up after the write.
    docs: list[tuple[int, dict[str, Any] | None]] = []
    written = _bulk(client, _actions(alias_name(), _remembered(documents_for(ids), docs)))
    try:
        building = client.indices.exists_alias(name=building_alias_name())
    except OpenSearchException as exc:
        raise IndexUnavailable(f"OpenSearch is unavailable: {exc}") from exc
    if building:
        # A rebuild is under way: the index it fills must not miss this change either.
        _bulk(client, _actions(building_alias_name(), docs))
    if refresh:
        try:
            client.indices.refresh(index=alias_name())
        except OpenSearchException as exc:
            raise IndexUnavailable(f"OpenSearch refresh failed: {exc}") from exc
    return written


def refresh() -> None:
    """Make everything indexed so far searchable (after a full sync's unrefreshed bulks)."""
    try:
        get_client().indices.refresh(index=alias_name())
    except NotFoundError:
        return  # no index yet: nothing was indexed
    except OpenSearchException as exc:
        raise IndexUnavailable(f"OpenSearch refresh failed: {exc}") from exc


def _live_table_ids(since: Any = None) -> Iterator[list[int]]:
    """Ids of live tables in batches (keyset paging keeps memory flat at 100k+ tables)."""
    from catalog.models import Table

    last = 0
    qs = Table.objects.live()
    if since is not None:
        qs = Table.objects.filter(synced_at__gte=since)
    while True:
        batch = list(qs.filter(id__gt=last).order_by("id").values_list("id", flat=True)[:BATCH_SIZE])
        if not batch:
            return
        yield batch
        last = batch[-1]


def _all_documents(since: Any = None) -> Iterator[tuple[int, dict[str, Any] | None]]:
    for batch in _live_table_ids(since):
        yield from documents_for(batch)


def rebuild(progress: Callable[[int], None] | None = None) -> str:
    """Rebuild the whole index into a new versioned index, swap the alias; returns the new index name.

    While the new index builds, ``index_tables`` writes to it as well (through the
    ``-building`` alias); tables synced or curated since the start are indexed once more
    after the swap, in case a write raced with the bulk load.
    """
    from catalog.models import Curation

    client = get_client()
    alias = alias_name()
    started = timezone.now()
    new = _new_index_name()
    try:
        _create_index(client, new)
        client.indices.update_aliases(body={"actions": [
            {"remove": {"index": "*", "alias": building_alias_name(), "must_exist": False}},
            {"add": {"index": new, "alias": building_alias_name()}},
        ]})
    except OpenSearchException as exc:
        _drop_quietly(client, new)
        raise IndexUnavailable(f"OpenSearch refused to create {new}: {exc}") from exc
    try:
        _bulk(client, _actions(new, _all_documents()), on_batch=progress)
        client.indices.refresh(index=new)
        try:
            old = list(client.indices.get_alias(name=alias))
        except NotFoundError:
            old = []
        actions: list[dict[str, Any]] = [{"remove": {"index": name, "alias": alias}} for name in old]
        if not old and client.indices.exists(index=alias):
            # A concrete index squatting on the alias name goes in the same atomic step.
            actions.append({"remove_index": {"index": alias}})
        actions.append({"add": {"index": new, "alias": alias}})
        actions.append({"remove": {"index": new, "alias": building_alias_name()}})
        client.indices.update_aliases(body={"actions": actions})
    except OpenSearchException as exc:
        _drop_quietly(client, new)
        raise IndexUnavailable(f"Rebuilding {new} failed: {exc}") from exc
    except BaseException:
        _drop_quietly(client, new)
        raise
    for name in old:
        _drop_quietly(client, name)
    changed = set(Curation.objects.filter(updated_at__gte=started).values_list("table_id", flat=True))
    for batch in _live_table_ids(since=started):
        changed.update(batch)
    if changed:
        index_tables(changed)
    return new


def _drop_quietly(client: OpenSearch, name: str) -> None:
    try:
        client.indices.delete(index=name)
    except OpenSearchException:
        log.warning("could not delete index %s", name, exc_info=True)
