"""Read side of lineage: the per-process in-memory graph, and role-aware answers built on it.

The graph is loaded once per process and kept current: each request reads the
one-row ``GraphVersion`` (a primary-key lookup); when it moved, the changed
(source, target) pairs logged in ``GraphChange`` are re-read and patched in,
or the whole graph is reloaded when a change asks for it (identity merges),
when too many changes piled up, or when the version went backwards (a restored
database). Traversal itself is ``lineage.graph`` (pure).

Dataset walks run over ``lineage.arrays``, a CSR snapshot of the graph for one version walked by
compiled code: built with the graph on a full load, and rebuilt in a background thread after
deltas; until it matches the version again, every walk uses the networkx graph (same answers,
tested). Column walks always use the networkx graph.

Visibility: catalog datasets follow ``Table.objects.visible_to(role)``.
Non-catalog datasets (JDBC, Kafka, files…) carry the hub of the provider who
reported them; "" means every role may see them. A job is visible when its hub
allows it and it writes at least one dataset the role may see (a job named
after a hidden view must not name it). Whatever the role may not see is
returned as a ``hidden`` node without names, so the shape of the graph stays
true and nothing leaks.
"""

from __future__ import annotations

import gc
import logging
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Sequence, Set
from datetime import datetime
from dataclasses import dataclass
from typing import Any, NamedTuple

import networkx as nx
from django.conf import settings
from django.db import connection, transaction

from catalog.models import Table
from lineage import graph as lineage_graph
from lineage import runs
from lineage.arrays import ArrayGraph
from lineage.naming import glue_identity, split_node
from lineage.events import is_indirect
from lineage.models import ColumnEdge, Dataset, Edge, GraphChange, GraphVersion, Job, Run, RunStateChange
from identity import roles
from identity.roles import Role

log = logging.getLogger(__name__)

MAX_DELTA_CHANGES = 5000


@dataclass
class _Loaded:
    graph: nx.DiGraph
    version: int
    loaded_at: float


_lock = threading.Lock()
_loaded: _Loaded | None = None
# The array snapshot and the _Loaded (graph and version) it was built from: current while
# ``_arrays[0] is _loaded`` (every version change makes a new _Loaded).
_arrays: tuple[_Loaded, ArrayGraph] | None = None
_arrays_building = False
# (graph version, start dataset, column) → downstream closure; cleared on every reload.
_impact_cache: dict[tuple[int, int, str | None], Sequence[lineage_graph.Impact]] = {}
# Rows describing graph nodes, so a request reads only what it has not seen before:
# dataset id → (namespace, name, table id, hub), job id → (namespace, name, hub).
# These columns never change, except a dataset's table link, which services log as a
# (d, d) GraphChange: applying it drops d here. Cleared on every reload.
_dataset_rows: dict[int, tuple[Any, ...]] = {}
_job_rows: dict[int, tuple[Any, ...]] = {}
MAX_CACHED_ROWS = 200_000


def current_version() -> int:
    """The graph version (read on every request: plain SQL, the ORM would cost several times the query)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT version FROM {GraphVersion._meta.db_table} WHERE id = 1")
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def load_graph() -> tuple[nx.DiGraph, int]:
    """Build the graph from the database; returns it with the version it reflects."""
    version = current_version()  # read first: later writes are applied as deltas on top
    g = lineage_graph.new_graph()
    _load_postgresql(g)
    return g, version


def _load_postgresql(g: nx.DiGraph) -> None:
    """Bulk load: a server-side cursor for edges, column mappings grouped per edge by PostgreSQL."""
    intern = sys.intern
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute("SELECT source_id, target_id, job_id FROM lineage_edge")
        while rows := cursor.fetchmany(100_000):
            # add_edges_from merges the {job: ()} dicts, so several jobs on one pair all stay.
            g.add_edges_from((s, t, {j: ()}) for s, t, j in rows)
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(
            "SELECT e.source_id, e.target_id, e.job_id, array_agg(c.source_column), array_agg(c.target_column), "
            "array_agg(c.transformation) FROM lineage_columnedge c JOIN lineage_edge e ON e.id = c.edge_id GROUP BY e.id"
        )
        succ = g._succ  # type: ignore[attr-defined]
        while rows := cursor.fetchmany(50_000):
            for s, t, j, froms, tos, hows in rows:
                succ[s][t][j] = tuple((intern(a), intern(b), intern(h)) for a, b, h in zip(froms, tos, hows))


def _apply_pairs(g: nx.DiGraph, pairs: set[tuple[int, int]]) -> None:
    """Re-read the edges of these (source, target) pairs and make the graph match."""
    sources = {s for s, _ in pairs}
    targets = {t for _, t in pairs}
    jobs: dict[tuple[int, int], dict[int, tuple[tuple[str, str, str], ...]]] = defaultdict(dict)
    edge_keys: dict[int, tuple[int, int, int]] = {}
    for edge_id, s, t, job in Edge.objects.filter(source_id__in=sources, target_id__in=targets).values_list("id", "source_id", "target_id", "job_id"):
        if (s, t) in pairs:
            jobs[(s, t)][job] = ()
            edge_keys[edge_id] = (s, t, job)
    columns: dict[int, list[tuple[str, str, str]]] = defaultdict(list)
    for edge_id, a, b, how in ColumnEdge.objects.filter(edge_id__in=list(edge_keys)).values_list("edge_id", "source_column", "target_column", "transformation"):
        columns[edge_id].append((sys.intern(a), sys.intern(b), sys.intern(how)))
    for edge_id, mappings in columns.items():
        s, t, job = edge_keys[edge_id]
        jobs[(s, t)][job] = tuple(mappings)
    for pair in pairs:
        lineage_graph.set_pair(g, pair[0], pair[1], jobs.get(pair, {}))


def current_graph() -> nx.DiGraph:
    """The process's graph, brought up to date with the database (never rebuilt per request)."""
    global _loaded, _arrays
    version = current_version()
    loaded = _loaded
    if loaded is not None and loaded.version == version:
        return loaded.graph
    with _lock:
        loaded = _loaded
        if loaded is not None and loaded.version == version:
            return loaded.graph
        if loaded is not None and loaded.version < version:
            changes = list(
                GraphChange.objects.filter(version__gt=loaded.version, version__lte=version)
                .values_list("reload", "source_id", "target_id")[: MAX_DELTA_CHANGES + 1]
            )
            if len(changes) <= MAX_DELTA_CHANGES and not any(reload for reload, _, _ in changes):
                _apply_pairs(loaded.graph, {(s, t) for _, s, t in changes})
                for _, s, t in changes:
                    _dataset_rows.pop(s, None)
                    _dataset_rows.pop(t, None)
                _loaded = _Loaded(loaded.graph, version, loaded.loaded_at)
                _rebuild_arrays_later()
                return loaded.graph
        started = time.monotonic()
        # Millions of new dicts: cyclic GC passes during the load only cost time, and freezing
        # the result afterwards keeps later collections (inside requests) from rescanning it.
        gc.disable()
        try:
            g, loaded_version = load_graph()
            loaded = _Loaded(g, loaded_version, time.monotonic())
            # Built here, not in the background: a full load is slow anyway, and the walks that
            # follow it should not fall back to the dict graph while the snapshot is being built.
            arrays = ArrayGraph(g)
        finally:
            gc.enable()
            gc.freeze()
        log.info("Lineage graph loaded: %d nodes, %d edges in %.2fs", g.number_of_nodes(), g.number_of_edges(), time.monotonic() - started)
        _loaded = loaded
        _arrays = (loaded, arrays)
        _forget_rows()
        return g


def current_engine() -> tuple[nx.DiGraph, ArrayGraph | None]:
    """The current graph and its array snapshot, or None while the snapshot is behind the graph."""
    g = current_graph()
    loaded, arrays = _loaded, _arrays  # one consistent pair, whatever other threads do meanwhile
    if loaded is None:
        return g, None
    return loaded.graph, arrays[1] if arrays is not None and arrays[0] is loaded else None


def _rebuild_arrays_later() -> None:
    """Start the background rebuild of the array snapshot unless one is running (called under _lock)."""
    global _arrays_building
    if not _arrays_building:
        _arrays_building = True
        threading.Thread(target=_rebuild_arrays, name="lineage-arrays", daemon=True).start()


def _rebuild_arrays() -> None:
    """Build snapshots until one matches the current graph version (background thread).

    The graph may be patched while it is read: such a build fails (RuntimeError: a dict changed
    size) or is thrown away, since patches happen under _lock and make a new _Loaded, which is
    compared under _lock before the snapshot is published. While changes keep coming, the dict
    graph answers; a pause between attempts lets a burst of changes settle.
    """
    global _arrays, _arrays_building
    try:
        while True:
            loaded = _loaded
            current = _arrays
            if loaded is None or (current is not None and current[0] is loaded):
                return
            try:
                arrays = ArrayGraph(loaded.graph)
            except RuntimeError:
                arrays = None
            with _lock:
                if arrays is not None and _loaded is loaded:
                    _arrays = (loaded, arrays)
                    return
            time.sleep(0.5)
    except Exception:  # a thread has no caller to tell: log it, the dict graph keeps answering
        log.exception("Lineage array snapshot rebuild failed")
    finally:
        with _lock:
            _arrays_building = False


def forget_graph() -> None:
    """Drop this process's graph, and the job hubs the intake caches (tests whose database rolls
    back between cases)."""
    global _loaded, _arrays
    from lineage import access

    access.forget_job_hubs()
    with _lock:
        _loaded = None
        _arrays = None
        _forget_rows()


def _forget_rows() -> None:
    _impact_cache.clear()
    _dataset_rows.clear()
    _job_rows.clear()


# --- lookups ---------------------------------------------------------------------------------

def visible_table(role: Role | None, qualified_name: str) -> Table | None:
    """The live catalog table "DB.TABLE" if the role may see it."""
    database, _, name = qualified_name.partition(".")
    if not database or not name:
        return None
    return Table.objects.visible_to(role).filter(database_name=database, name=name).order_by("id").first()


class DatasetRef(NamedTuple):
    id: int
    table_id: int | None
    hub: str


def dataset_for_identity(namespace_and_name: str) -> DatasetRef | None:
    """The canonical dataset "NAMESPACE/NAME" (namespaces and names may both hold slashes: try the
    splits ``naming.split_node`` allows; a name longer than any stored one is no dataset). Plain SQL: on every graph and impact request, and the ORM's OR of Q objects cost more
    to build than the query costs to run."""
    try:
        pairs = split_node(namespace_and_name)
    except ValueError:
        return None
    if not pairs:
        return None
    table = Dataset._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, table_id, hub, canonical_id FROM {table} WHERE "
            + " OR ".join(["(namespace = %s AND name = %s)"] * len(pairs))
            + " ORDER BY id LIMIT 1",
            [value for pair in pairs for value in pair],
        )
        row = cursor.fetchone()
        if row is not None and row[3]:
            cursor.execute(f"SELECT id, table_id, hub, canonical_id FROM {table} WHERE id = %s", [row[3]])
            row = cursor.fetchone()
    return DatasetRef(*row[:3]) if row is not None else None


# --- describing nodes for a role ------------------------------------------------------------

def _by_ids(model: Any, ids: list[int], columns: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """Rows of ``model`` by primary key, as one array parameter (``= ANY``): a thousand-id
    ``IN (...)`` costs more to build and bind than to run. The array goes as one text literal:
    the driver's client-side quoting of a list costs ~5 µs per id."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT {", ".join(columns)} FROM {table} WHERE id = ANY(%s::bigint[])', ["{" + ",".join(map(str, map(int, ids))) + "}"])
        return cursor.fetchall()


def _rows(cache: dict[int, tuple[Any, ...]], model: Any, ids: list[int], columns: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """``_by_ids`` through a per-process cache of immutable rows (see ``_dataset_rows``)."""
    before = _loaded.version if _loaded is not None else None
    missing = [pk for pk in ids if pk not in cache]
    fetched = {row[0]: row[1:] for row in _by_ids(model, missing, ("id", *columns))} if missing else {}
    found = [(pk, *row) for pk in ids if (row := cache.get(pk)) is not None]
    found += [(pk, *row) for pk, row in fetched.items()]
    # Keep what was read only if no change was applied meanwhile (it may have been read before it).
    after = _loaded.version if _loaded is not None else None
    if fetched and before is not None and before == after:
        if len(cache) + len(fetched) > MAX_CACHED_ROWS:
            cache.clear()
        cache.update(fetched)
    return found


HIDDEN = {"namespace": None, "name": None, "qualified_name": None, "hidden": True}


def describe_datasets(role: Role | None, ids: list[int], reveal: Set[int] = frozenset()) -> dict[int, dict[str, Any]]:
    """API node dicts for dataset ids, names only where the role may see them (3 queries at most).

    ``reveal``: datasets outside the catalog that a job of the role's own hubs reads or writes (a
    provider always sees its own jobs' datasets, whoever produces them)."""
    rows = _rows(_dataset_rows, Dataset, ids, ("namespace", "name", "table_id", "hub"))
    table_ids = [r[3] for r in rows if r[3]]
    tables = {
        pk: f"{db}.{name}"
        for pk, db, name in Table.objects.visible_to(role).filter(pk__in=table_ids).order_by().values_list("id", "database_name", "name")
    } if table_ids else {}
    hubs = {hub: roles.sees_hub(role, hub) for hub in {r[4] for r in rows}}
    nodes: dict[int, dict[str, Any]] = {}
    for pk, namespace, name, table_id, hub in rows:
        if table_id in tables if table_id else (hubs[hub] or pk in reveal):
            nodes[pk] = {"id": f"d{pk}", "kind": "dataset", "namespace": namespace, "name": name,
                         "qualified_name": tables.get(table_id) if table_id else None, "hidden": False}
        else:
            nodes[pk] = {"id": f"d{pk}", "kind": "dataset", **HIDDEN}
    for pk in ids:  # an edge to a row deleted meanwhile still shows as a node
        nodes.setdefault(pk, {"id": f"d{pk}", "kind": "dataset", **HIDDEN})
    return nodes


def describe_jobs(role: Role | None, ids: set[int], writes_visible: set[int]) -> dict[int, dict[str, Any]]:
    rows = _rows(_job_rows, Job, list(ids), ("namespace", "name", "hub"))
    hubs = {hub: roles.sees_hub(role, hub) for hub in {r[3] for r in rows}}
    nodes: dict[int, dict[str, Any]] = {}
    for pk, namespace, name, hub in rows:
        if pk in writes_visible and hubs[hub]:
            nodes[pk] = {"id": f"j{pk}", "kind": "job", "namespace": namespace, "name": name, "qualified_name": None, "hidden": False}
        else:
            nodes[pk] = {"id": f"j{pk}", "kind": "job", **HIDDEN}
    for pk in ids:
        nodes.setdefault(pk, {"id": f"j{pk}", "kind": "job", **HIDDEN})
    return nodes


def job_runs(job_ids: list[int]) -> dict[str, dict[str, Any]]:
    """Last run state of jobs, for the UI ("j3" → {state, at})."""
    return {
        f"j{pk}": {"state": state or None, "at": at.isoformat() if at else None}
        for pk, state, at in Job.objects.filter(pk__in=job_ids).values_list("id", "last_run_state", "last_run_at")
    }


def render_subgraph(role: Role | None, sub: lineage_graph.Subgraph, *, indirect: bool = True) -> dict[str, Any]:
    """The API's graph document for a traversal result (hidden nodes without names or columns).

    Column mappings say their ``kind``: DIRECT (a field feeds a field) or INDIRECT (a filter, join,
    group… ``to`` is None when the whole target dataset depends on the source column); with
    ``indirect=False`` INDIRECT mappings are left out."""
    job_ids = {job for _, _, job, _ in sub.edges}
    own_jobs = {pk for pk, _, _, hub in _rows(_job_rows, Job, list(job_ids), ("namespace", "name", "hub")) if hub and roles.sees_hub(role, hub)}
    reveal = {n for s, t, job, _ in sub.edges if job in own_jobs for n in (s, t)}
    datasets = describe_datasets(role, list(sub.distances), reveal)
    writes_visible = {job for _, t, job, _ in sub.edges if not datasets[t]["hidden"]}
    jobs = describe_jobs(role, job_ids, writes_visible)
    edges = []
    for s, t, job, mappings in sub.edges:
        hidden = datasets[s]["hidden"] or datasets[t]["hidden"]
        columns = [] if hidden else [
            {"from": a, "to": b or None, "transformation": how, "kind": "INDIRECT" if is_indirect(how) else "DIRECT"}
            for a, b, how in mappings if indirect or not is_indirect(how)
        ]
        edges.append({"source": f"d{s}", "target": f"d{t}", "job": f"j{job}", "columns": columns})
    nodes = [datasets[pk] for pk in sorted(datasets)] + [jobs[pk] for pk in sorted(jobs)]
    return {"nodes": nodes, "edges": edges, "truncated": sub.truncated}


def max_nodes() -> int:
    return settings.LINEAGE_MAX_NODES


# --- the two read endpoints ------------------------------------------------------------------

class UnknownDataset(LookupError):
    """No dataset by that name the role may see (answered 404)."""


@dataclass
class Start:
    dataset_id: int | None  # None: a catalog table lineage has never mentioned
    table: Table | None


def find_start(role: Role | None, *, dataset: str | None = None, node: str | None = None) -> Start:
    """Resolve ``dataset=DB.TABLE`` or ``node=NAMESPACE/NAME``; raises UnknownDataset."""
    if dataset:
        table = visible_table(role, dataset)
        if table is None:
            raise UnknownDataset(f"No dataset {dataset!r}.")
        linked = Dataset.objects.filter(table=table).values_list("id", flat=True).first()
        return Start(linked, table)
    found = dataset_for_identity(node or "")
    if found is None:
        raise UnknownDataset(f"No dataset {node!r}.")
    # A catalog table's dataset is visible with its table; any other with its hub. Forbidden
    # answers like unknown.
    if found.table_id:
        linked = Table.objects.visible_to(role).filter(pk=found.table_id).first()
        if linked is None:
            raise UnknownDataset(f"No dataset {node!r}.")
        return Start(found.id, linked)
    if not roles.sees_hub(role, found.hub):
        raise UnknownDataset(f"No dataset {node!r}.")
    return Start(found.id, None)


def _lone_table(table: Table) -> dict[str, Any]:
    namespace, name = glue_identity(table.catalog.region, table.catalog.account_id, table.database_name, table.name)
    node = {"id": f"t{table.pk}", "kind": "dataset", "namespace": namespace, "name": name, "qualified_name": table.qualified_name, "hidden": False}
    return {"nodes": [node], "edges": [], "truncated": False}


def graph_document(role: Role | None, start: Start, *, direction: str, depth: int, column: str | None,
                   at: datetime | None = None, indirect: bool = True) -> tuple[dict[str, Any], bool]:
    """(graph document, cycle found) around ``start``; ``at``: as the graph was then (see ``graph_at``)."""
    if start.dataset_id is None:
        assert start.table is not None
        return _lone_table(start.table), False
    g, arrays = (graph_at(at), None) if at is not None else current_engine()
    if column:
        sub = lineage_graph.column_neighbourhood(g, start.dataset_id, column, direction=direction, depth=depth, max_nodes=max_nodes())
    else:
        sub = lineage_graph.neighbourhood(g, start.dataset_id, direction=direction, depth=depth, max_nodes=max_nodes(), arrays=arrays)
    return render_subgraph(role, sub, indirect=indirect), sub.cycle


def _impact(dataset_id: int, column: str | None) -> Sequence[lineage_graph.Impact]:
    """The closure, computed once per graph version (paging through a big closure re-walks nothing)."""
    g, arrays = current_engine()
    version = _loaded.version if _loaded is not None else 0
    key = (version, dataset_id, column)
    found = _impact_cache.get(key)
    if found is None:
        found = lineage_graph.impact(g, dataset_id, column, arrays=arrays)
        if len(_impact_cache) >= 16:
            _impact_cache.clear()  # small and short-lived: a new version makes the entries useless anyway
        _impact_cache[key] = found
    return found


def impact_page(role: Role | None, start: Start, *, column: str | None, offset: int, limit: int,
                at: datetime | None = None) -> tuple[int, list[dict[str, Any]]]:
    """(total count, one page of downstream datasets/columns with their distance); ``at`` as in ``graph_document``."""
    if start.dataset_id is None:
        return 0, []
    found = lineage_graph.impact(graph_at(at), start.dataset_id, column) if at is not None else _impact(start.dataset_id, column)
    page = found[offset: offset + limit]
    datasets = describe_datasets(role, list({item.node for item in page}))
    results = []
    for item in page:
        node = datasets[item.node]
        results.append({**node, "column": None if node["hidden"] else item.column, "distance": item.distance})
    return len(found), results


def column_names(start: Start) -> list[str]:
    """Columns to offer for column-level lineage: the catalog's, else the last schema facet's."""
    if start.table is not None:
        return list(start.table.columns.values_list("name", flat=True))
    if start.dataset_id is None:
        return []
    fields = Dataset.objects.filter(pk=start.dataset_id).values_list("schema_fields", flat=True).first() or []
    return [f["name"] for f in fields if isinstance(f, dict) and f.get("name")]


# --- the graph as it was ---------------------------------------------------------------------

def graph_at(at: datetime) -> nx.DiGraph:
    """The lineage graph as of ``at``, rebuilt from the run log (a full read: history answers are
    slower than the live graph). Each job contributes the datasets of its current run then: the
    latest run COMPLETE by ``at``, or while it had none its latest run begun by then that had not
    failed. Jobs without runs (view SQL, JobEvents) have no history: their edges are today's."""
    latest: dict[int, tuple[datetime, str]] = {}
    completed: dict[int, datetime] = {}
    for run_id, state, when in RunStateChange.objects.filter(event_time__lte=at).values_list("run_id", "state", "event_time").order_by("event_time", "id"):
        latest[run_id] = (when, state)
        if state == "COMPLETE":
            completed[run_id] = when
    jobs = dict(Run.objects.filter(pk__in=list(latest)).values_list("id", "job_id"))
    chosen: dict[int, tuple[int, datetime, int]] = {}  # job → (rank: 1 completed / 0 running, time, run)
    for run_id, (when, state) in latest.items():
        if run_id in completed:
            candidate = (1, completed[run_id], run_id)
        elif state in ("FAIL", "ABORT"):
            continue
        else:
            candidate = (0, when, run_id)
        job = jobs[run_id]
        if job not in chosen or candidate > chosen[job]:
            chosen[job] = candidate
    g = lineage_graph.new_graph()
    pairs = runs.run_pairs([run for _, _, run in chosen.values()])
    for job, (_, _, run) in chosen.items():
        for (source, target), columns in pairs.get(run, {}).items():
            lineage_graph.add_edge(g, source, target, job, tuple(columns))
    static = Edge.objects.exclude(job__in=Run.objects.values("job_id")).values_list("id", "source_id", "target_id", "job_id")
    by_edge = {pk: (s, t, j) for pk, s, t, j in static}
    columns_of: dict[int, list[tuple[str, str, str]]] = defaultdict(list)
    for edge_id, a, b, how in ColumnEdge.objects.filter(edge_id__in=list(by_edge)).values_list("edge_id", "source_column", "target_column", "transformation"):
        columns_of[edge_id].append((a, b, how))
    for pk, (s, t, j) in by_edge.items():
        lineage_graph.add_edge(g, s, t, j, tuple(columns_of.get(pk, ())))
    return g
