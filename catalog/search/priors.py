"""Priors: what ranks a table after text relevance — layer, lineage, usage, curation (issue 15).

Each prior is a small addition to a multiplier of 1.0 that the search query applies to the text
score (``function_score`` over the indexed ``prior`` field), so text relevance always decides and
priors only order tables that answer about equally well. The parts are kept in the document's
``_source`` (``prior_parts``) so ``?explain=1`` shows why a hit ranks where it does.

The parts are computed at index time: ``prior_parts`` is pure; ``staging_copies`` reads the
lineage edges of a batch of tables in one query (no graph load).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from catalog.search.words import split_words

# A curated table (prepared or semantic) ranks over a raw/source copy of the same data.
LAYER_PRIOR: dict[str, float] = {"semantic": 0.15, "prepared": 0.10}
# Staging copies (a ``stg`` word in the name) are plumbing between layers, not an answer.
STAGING_PRIOR = -0.15
# The table a staging view copies ranks above the view; the view that copies it below.
COPIED_BY_STAGING_PRIOR = 0.10
STAGING_COPY_PRIOR = -0.10
# Popularity: log-damped, so a table used 1,000 times does not bury a new one for good.
USAGE_PRIOR_PER_LOG = 0.02
USAGE_PRIOR_CAP = 0.10
# Completeness of curation: description, steward description, tags, owner, column comments.
CURATION_PRIOR = 0.10
STAGING_WORDS = frozenset({"stg", "staging"})
PRIOR_PARTS = ("layer", "lineage", "usage", "curation")


def is_staging(name: str) -> bool:
    """``stg_claims_pharmacy_claim``, ``StgOrders``, ``orders_staging``: a staging copy by its name."""
    return any(word in STAGING_WORDS for word in split_words(name))


def curation_completeness(table: Mapping[str, Any], columns: Sequence[Mapping[str, Any]],
                          curation: Mapping[str, Any] | None) -> float:
    """0..1: the share of the curation a steward could give this table that it has."""
    curation = curation or {}
    commented = sum(1 for c in columns if c.get("comment")) / len(columns) if columns else 0.0
    checks = (
        bool(curation.get("description") or table.get("description")),
        bool(curation.get("description")),
        bool(curation.get("tags")),
        bool(curation.get("owner") or table.get("owner")),
    )
    return (sum(checks) + commented) / (len(checks) + 1)


def prior_parts(table: Mapping[str, Any], columns: Sequence[Mapping[str, Any]], curation: Mapping[str, Any] | None,
                *, copied_by_staging: bool = False, staging_copy: bool = False) -> dict[str, float]:
    """The four parts of a table's prior (each small, some negative), rounded for display."""
    staging = is_staging(str(table.get("name") or ""))
    layer = STAGING_PRIOR if staging else LAYER_PRIOR.get(str(table.get("layer") or ""), 0.0)
    lineage = (COPIED_BY_STAGING_PRIOR if copied_by_staging else 0.0) + (STAGING_COPY_PRIOR if staging_copy else 0.0)
    usage = min(USAGE_PRIOR_CAP, USAGE_PRIOR_PER_LOG * math.log1p(max(0, int(table.get("usage_count") or 0))))
    curated = CURATION_PRIOR * curation_completeness(table, columns, curation)
    return {"layer": round(layer, 4), "lineage": round(lineage, 4), "usage": round(usage, 4),
            "curation": round(curated, 4)}


def multiplier(parts: Mapping[str, float]) -> float:
    """What the text score is multiplied by: 1 plus the parts (never below 0.5)."""
    return max(0.5, 1.0 + sum(parts.get(name, 0.0) for name in PRIOR_PARTS))


def staging_copies(table_ids: Iterable[int]) -> tuple[set[int], set[int]]:
    """(tables a staging view copies, staging views that copy a table) among ``table_ids``.

    One query over the lineage edges between catalog tables (canonical datasets carry the
    table): a staging copy is the target of an edge whose name reads as staging.
    """
    from django.db import connection

    ids = list(table_ids)
    if not ids:
        return set(), set()
    sql = (
        "SELECT ts.id, tt.id, tt.name FROM lineage_edge e "
        "JOIN lineage_dataset ds ON ds.id = e.source_id JOIN lineage_dataset dt ON dt.id = e.target_id "
        "JOIN catalog_table ts ON ts.id = ds.table_id JOIN catalog_table tt ON tt.id = dt.table_id "
        "WHERE ts.id = ANY(%s) OR tt.id = ANY(%s)"
    )
    copied: set[int] = set()
    copies: set[int] = set()
    with connection.cursor() as cursor:
        cursor.execute(sql, [ids, ids])
        for source_id, target_id, target_name in cursor.fetchall():
            if is_staging(target_name):
                copied.add(source_id)
                copies.add(target_id)
    wanted = set(ids)
    return copied & wanted, copies & wanted
