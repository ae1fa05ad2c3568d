"""Keeps the OpenSearch index in step with the catalog mirror (owned by the search feature).

Contract used by the sync: ``index_tables(table_ids)`` indexes (or removes, for
soft-deleted tables) exactly those tables and raises ``IndexUnavailable`` when
OpenSearch cannot be reached; ``rebuild()`` builds a new index and swaps the alias.
"""

from __future__ import annotations

from collections.abc import Iterable


class IndexUnavailable(RuntimeError):
    """OpenSearch could not be reached or refused the write."""


def index_tables(table_ids: Iterable[int]) -> int:
    """Index the given tables; returns how many documents were written. Placeholder until search lands."""
    return 0


def rebuild() -> str:
    """Rebuild the whole index into a new versioned index, swap the alias; returns the new index name."""
    raise IndexUnavailable("search index not implemented yet")
