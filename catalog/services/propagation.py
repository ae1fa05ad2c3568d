"""Curation that travels along lineage: proposals for direct-copy columns, suspected PII at once.

Where column lineage says a downstream column is a direct copy of an upstream one
(``lineage.events.is_direct_copy``: identity, possibly renamed), the upstream column's
steward-set description, tags and classification are *proposed* for it
(``PropagationProposal``, pending until a steward of the downstream hub accepts or rejects it;
a rejected one stays rejected), and its PII flag is *applied* at once (the downstream column is
"suspected PII" until a steward there confirms or clears it).

The walk goes downstream through every direct-copy hop (a chain of views or jobs) and stops at a
column whose steward set the same field: that column's own value travels on from there.

Everything here is a reconcile of one *origin* (table, column, field): walk, upsert what is
reached, withdraw what is not any more. So the same call follows a steward's edit
(``follow_column_change``) and a lineage change (``follow_lineage_change``, after the lineage
commit: proposals whose path used a changed pair are re-checked, and columns newly fed by a changed
pair get their upstream origins walked again).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from catalog import dispatch
from catalog.models import ColumnCuration, Curation, CurationChange, PropagationProposal
from catalog.services.curation import CurationError, CurationForbidden, reindex
from lineage import graph as lineage_graph
from lineage.events import DIRECT_COPY_TRANSFORMATIONS, is_direct_copy
from lineage.models import ColumnEdge, Dataset, Job
from identity import audit
from identity.roles import Role, curatable_q, may_curate_column

log = logging.getLogger(__name__)

TEXT_FIELDS = ("description", "tags", "classification")
FIELDS = (*TEXT_FIELDS, "pii")
# Lineage changes up to this many dataset pairs are followed in the writer's process, bigger ones on a worker.
INLINE_PAIRS = 50
Status = PropagationProposal.Status
Node = tuple[int, str]  # (lineage dataset id, column name)


@dataclass(frozen=True)
class Route:
    """How a value reached a column: the dataset pairs and the jobs along the way, upstream first."""

    path: tuple[tuple[int, int], ...]
    jobs: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    proposed: int  # rows created or re-opened
    withdrawn: int
    tables: tuple[int, ...]  # target tables whose shown values may have changed


# --- walking column lineage ---------------------------------------------------------------------

def _tree(start: Node, direction: str) -> dict[Node, tuple[Node, int]]:
    """The direct-copy column tree from ``start`` in the process's lineage graph (kept in step with
    the database by lineage.queries; the same graph the lineage pages walk)."""
    from lineage.queries import current_graph

    return lineage_graph.copy_tree(current_graph(), start[0], start[1], copies=is_direct_copy, direction=direction)


def _tables_of(dataset_ids: Iterable[int]) -> dict[int, int]:
    """Lineage dataset id → live catalog table id, for those that are catalog tables."""
    return dict(Dataset.objects.filter(pk__in=list(dataset_ids), table__isnull=False, table__deleted_at__isnull=True)
                .values_list("pk", "table_id"))


def _set_by_steward(field: str, pairs: set[tuple[int, str]]) -> set[tuple[int, str]]:
    """Of these (table id, column) pairs, those whose steward set ``field`` (their own value travels)."""
    if not pairs:
        return set()
    table_ids = {t for t, _ in pairs}
    if field == "pii":
        own = Q(pii_status__gt="")
    elif field == "tags":
        own = ~Q(tags=[])
    else:
        own = Q(**{f"{field}__gt": ""})
    found = set(ColumnCuration.objects.filter(own, table_id__in=table_ids).values_list("table_id", "column"))
    if field == "pii":
        for table_id, names in Curation.objects.filter(table_id__in=table_ids).values_list("table_id", "pii_columns"):
            found |= {(table_id, n) for n in names or []}
    return found & pairs


Walked = tuple[dict[Node, tuple[Node, int]], dict[int, int]]  # (the copy tree, dataset id → table id in it)


def walk(start: Node) -> Walked:
    """The downstream copy tree of ``start`` with the catalog tables in it: one walk serves every field."""
    tree = _tree(start, "downstream")
    return tree, _tables_of({d for d, _ in tree})


def walk_downstream(start: Node, field: str, walked: Walked | None = None) -> dict[tuple[int, str], Route]:
    """Catalog columns (table id, column) reached from ``start`` along direct-copy hops, with the
    shortest route to each; stops at columns whose steward set ``field``."""
    tree, tables = walked or walk(start)
    catalog_keys = {node: (tables[node[0]], node[1]) for node in tree if node[0] in tables}
    blocked = _set_by_steward(field, set(catalog_keys.values()))
    stopped: set[Node] = set()
    ends: dict[tuple[int, str], Node] = {}
    for node, (parent, _job) in tree.items():  # parents come first
        key = catalog_keys.get(node)
        if parent in stopped or key in blocked:
            stopped.add(node)  # behind (or at) a column whose own value travels on from there
        elif key is not None:
            ends.setdefault(key, node)
    hops: dict[Node, list[tuple[Node, Node, int]]] = {}
    for node in ends.values():
        chain, here = [], node
        while here in tree:
            parent, job = tree[here]
            chain.append((parent, here, job))
            here = parent
        hops[node] = chain[::-1]
    names = dict(Job.objects.filter(pk__in={job for chain in hops.values() for _, _, job in chain}).values_list("pk", "name"))
    return {key: Route(tuple((a[0], b[0]) for a, b, _ in hops[node]),
                       tuple(dict.fromkeys(names.get(job, str(job)) for _, _, job in hops[node])))
            for key, node in ends.items()}


def walk_upstream(starts: set[Node]) -> set[Node]:
    """Every node the starts copy from, directly or through other copies (the starts included)."""
    seen = set(starts)
    for start in starts:
        seen |= set(_tree(start, "upstream"))
    return seen


# --- reconciling one origin ------------------------------------------------------------------------

def _origin_value(table_id: int, column: str, field: str) -> Any:
    """What the origin column offers for ``field``: its steward's value (a PII kind for "pii"), or None."""
    own = ColumnCuration.objects.filter(table_id=table_id, column=column).first()
    if field == "pii":
        if own is not None and own.pii_status:
            return own.pii_kind or "other" if own.pii_status == ColumnCuration.PiiStatus.CONFIRMED else None
        legacy = Curation.objects.filter(table_id=table_id).values_list("pii_columns", flat=True).first() or []
        return "other" if column in legacy else None
    value = getattr(own, field) if own is not None else None
    return value or None


def _dataset_of(table_id: int) -> int | None:
    return Dataset.objects.filter(table_id=table_id).values_list("pk", flat=True).first()


def reconcile_column(table_id: int, column: str, fields: Iterable[str] = FIELDS) -> list[Outcome]:
    """``reconcile_origin`` of several fields of one column, sharing one walk of the lineage."""
    dataset_id = _dataset_of(table_id)
    walked = walk((dataset_id, column)) if dataset_id is not None else None
    with transaction.atomic():  # one commit for all fields
        return [reconcile_origin(table_id, column, field, walked=walked) for field in fields]


def reconcile_origin(table_id: int, column: str, field: str, *, walked: Walked | None = None) -> Outcome:
    """Bring the proposals of one origin in line with its value and the current lineage."""
    value = _origin_value(table_id, column, field)
    dataset_id = _dataset_of(table_id) if value is not None else None
    reached = walk_downstream((dataset_id, column), field, walked) if dataset_id is not None else {}
    reached.pop((table_id, column), None)  # a cycle back to itself
    applied_at_once = field == "pii"
    proposed = withdrawn = 0
    touched: set[int] = set()
    with transaction.atomic():
        existing = {(p.target_table_id, p.target_column): p for p in PropagationProposal.objects.select_for_update()
                    .filter(origin_table_id=table_id, origin_column=column, field=field)}
        new_rows: list[PropagationProposal] = []
        for key, route in reached.items():
            path, jobs = [list(pair) for pair in route.path], list(route.jobs)
            row = existing.get(key)
            if row is None:
                new_rows.append(PropagationProposal(
                    target_table_id=key[0], target_column=key[1], field=field, value=value, origin_table_id=table_id,
                    origin_column=column, via_jobs=jobs, path=path,
                    status=Status.APPLIED if applied_at_once else Status.PENDING))
                touched.add(key[0])
                continue
            status = row.status
            if status == Status.WITHDRAWN or (status == Status.ACCEPTED and row.value != value):
                status = Status.APPLIED if applied_at_once else Status.PENDING
                proposed += 1
            if status == Status.APPLIED and row.value != value:
                touched.add(key[0])
            if (status, path, jobs) != (row.status, row.path, row.via_jobs) or (status != Status.REJECTED and row.value != value):
                touched.add(key[0])
                row.status, row.path, row.via_jobs = status, path, jobs
                if status != Status.REJECTED:  # a rejected proposal keeps what was rejected
                    row.value = value
                row.save(update_fields=["status", "path", "via_jobs", "value", "updated_at"])
        PropagationProposal.objects.bulk_create(new_rows, batch_size=1000)
        proposed += len(new_rows)
        gone = [row.pk for key, row in existing.items()
                if key not in reached and row.status not in (Status.WITHDRAWN, Status.REJECTED)]
        if gone:
            withdrawn = PropagationProposal.objects.filter(pk__in=gone).update(status=Status.WITHDRAWN, updated_at=timezone.now())
            touched |= {existing_key[0] for existing_key, row in existing.items() if row.pk in gone}
    return Outcome(proposed, withdrawn, tuple(sorted(touched)))


def follow_column_change(table_id: int, column: str, *, fields: Iterable[str] = FIELDS) -> Outcome:
    """After a steward's change of ``table.column``: re-offer its values downstream. Re-indexes the
    tables whose shown values changed. Called after commit; never raises for a downstream problem
    (logged: the next change of the column or of the lineage reconciles again)."""
    fields = tuple(fields)
    try:
        # Origins whose values reached this column walk again: a steward's own value now stops them here.
        upstream = set(PropagationProposal.objects.filter(target_table_id=table_id, target_column=column, field__in=list(fields))
                       .exclude(status=Status.WITHDRAWN).values_list("origin_table_id", "origin_column", "field"))
        outcomes = reconcile_column(table_id, column, fields)
        outcomes += [reconcile_origin(t, c, f) for t, c, f in sorted(upstream - {(table_id, column, f) for f in fields})]
    except Exception:  # noqa: BLE001 - derived proposals must not break the steward's save
        log.exception("propagating %s.%s failed", table_id, column)
        return Outcome(0, 0, ())
    tables = tuple(sorted({t for o in outcomes for t in o.tables}))
    if tables:
        reindex(list(tables))
    return Outcome(sum(o.proposed for o in outcomes), sum(o.withdrawn for o in outcomes), tables)


def _curated_origins(nodes: set[Node]) -> set[tuple[int, str]]:
    """(table id, column) of these nodes that have something of their own to offer."""
    tables = _tables_of({d for d, _ in nodes})
    pairs = {(tables[d], c) for d, c in nodes if d in tables}
    if not pairs:
        return set()
    curated = set(ColumnCuration.objects.filter(table_id__in={t for t, _ in pairs}).exclude(
        description="", tags=[], classification="", pii_status="").values_list("table_id", "column"))
    for table_id, names in Curation.objects.filter(table_id__in={t for t, _ in pairs}).values_list("table_id", "pii_columns"):
        curated |= {(table_id, n) for n in names or []}
    return curated & pairs


def follow_lineage_change(pairs: Iterable[tuple[int, int]]) -> Outcome:
    """After lineage between these (source, target) dataset pairs changed (and committed): withdraw
    what no longer has a direct-copy path, propose what newly has one. Returns the combined outcome."""
    pairs = {(s, t) for s, t in pairs if s != t}
    if not pairs:
        return Outcome(0, 0, ())
    origins: set[tuple[int, str, str]] = set()
    affected = Q(pk__in=[])
    for source, target in pairs:
        affected |= Q(path__contains=[[source, target]])
    origins |= set(PropagationProposal.objects.filter(affected).exclude(status=Status.WITHDRAWN)
                   .values_list("origin_table_id", "origin_column", "field"))
    fed: set[Node] = set()
    for source, target in pairs:
        fed |= {(source, c) for c in ColumnEdge.objects.filter(
            edge__source_id=source, edge__target_id=target, transformation__in=DIRECT_COPY_TRANSFORMATIONS)
            .exclude(target_column="").values_list("source_column", flat=True)}
    if fed:
        for table_id, column in _curated_origins(walk_upstream(fed)):
            origins |= {(table_id, column, field) for field in FIELDS}
    by_column: dict[tuple[int, str], list[str]] = {}
    for table_id, column, field in sorted(origins):
        by_column.setdefault((table_id, column), []).append(field)
    outcomes = [o for (table_id, column), fields in by_column.items() for o in reconcile_column(table_id, column, fields)]
    tables = tuple(sorted({t for o in outcomes for t in o.tables}))
    if tables:
        reindex(list(tables))
    return Outcome(sum(o.proposed for o in outcomes), sum(o.withdrawn for o in outcomes), tables)


def on_lineage_changed(sender: Any, *, pairs: list[tuple[int, int]], **kwargs: Any) -> None:
    """Receiver of ``lineage.signals.edges_changed``: a few pairs are followed at once (PII
    suspicion must not wait), more go to a worker. Never fails the lineage write (logged)."""
    pairs = [(s, t) for s, t in pairs if s != t]
    if not pairs:
        return
    if len(pairs) > INLINE_PAIRS:
        try:
            dispatch.follow_lineage_change(pairs)
            return
        except Exception:  # noqa: BLE001 - broker down: do the work here rather than lose it
            log.warning("propagation of %s lineage pairs could not be queued; following inline", len(pairs), exc_info=True)
    try:
        follow_lineage_change(pairs)
    except Exception:  # noqa: BLE001 - derived proposals must not break lineage intake
        log.exception("propagation after a lineage change of %s pairs failed", len(pairs))


# --- the stewards' queue ------------------------------------------------------------------------------

def decide(proposal_ids: Iterable[int], *, accept: bool, actor: Any, role: Role | None, ip: str | None = None) -> int:
    """Accept or reject pending proposals in bulk; returns how many were decided.

    Raises CurationForbidden (nothing decided) when one of them targets a table the role may not
    curate, CurationError when an id is unknown or not pending (decided or withdrawn meanwhile).
    Accepted values show on the column as propagated, with their origin; the tables are
    re-indexed after commit.
    """
    ids = sorted({int(i) for i in proposal_ids})
    if not ids:
        raise CurationError("Choose at least one proposal.", "ids")
    with transaction.atomic():
        rows = list(PropagationProposal.objects.select_for_update(of=("self",)).select_related("target_table", "origin_table")
                    .filter(pk__in=ids))
        missing = sorted(set(ids) - {r.pk for r in rows})
        if missing:
            raise CurationError(f"No proposal {missing[0]}.", "ids")
        refused = next((r for r in rows if not may_curate_column(role, r.target_table)), None)
        if refused is not None:
            raise CurationForbidden(f"Only stewards of hub {refused.target_table.hub or '—'} may decide proposals for "
                                    f"{refused.target_table.qualified_name}.")
        stale = next((r for r in rows if r.status != Status.PENDING), None)
        if stale is not None:
            raise CurationError(f"Proposal {stale.pk} is {stale.status}, not pending.", "ids")
        now = timezone.now()
        status = Status.ACCEPTED if accept else Status.REJECTED
        actor_row = actor if getattr(actor, "pk", None) else None
        PropagationProposal.objects.filter(pk__in=ids).update(status=status, decided_by=actor_row, decided_at=now,
                                                              updated_at=now)
        if accept:
            CurationChange.objects.bulk_create(
                CurationChange(table=r.target_table, column=r.target_column, field=r.field, old_value=None,
                               new_value={"value": r.value, "propagated": r.explanation}, changed_by=actor_row)
                for r in rows)
        audit.record(actor, "catalog.propagation_" + ("accept" if accept else "reject"), role=role,
                     target=", ".join(sorted({f"{r.target_table.qualified_name}.{r.target_column}" for r in rows}))[:255],
                     ip=ip, details={"proposals": ids})
        tables = sorted({r.target_table_id for r in rows})
        transaction.on_commit(lambda: reindex(tables))
    return len(rows)


def queue_for(role: Role | None, *, status: str = Status.PENDING, limit: int = 500) -> list[PropagationProposal]:
    """Proposals the role may decide (its hub's columns; every hub's for admins), oldest first."""
    rows = (PropagationProposal.objects.filter(curatable_q(role, "target_table__hub"), status=status,
                                               target_table__deleted_at__isnull=True)
            .select_related("target_table", "origin_table")
            .order_by("target_table__database_name", "target_table__name", "target_column", "id"))
    return list(rows[:limit])
