"""The one home of "how sensitive is it": column and table classification, PII (pure, no ORM).

A table's classification is never lower than its most sensitive column's; a PII column
(confirmed or suspected) counts as at least ``PII_CLASSIFICATION``. The page, the API and the
search index all ask ``table_classification`` so they never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from catalog.models import CLASSIFICATIONS

RANK = {name: rank for rank, name in enumerate(CLASSIFICATIONS)}
# Personal data is never public or merely internal, suspected or not.
PII_CLASSIFICATION = "confidential"


@dataclass(frozen=True)
class ColumnSensitivity:
    name: str
    classification: str  # "" when nobody classified the column
    pii_status: str | None  # "confirmed", "suspected" or None


@dataclass(frozen=True)
class TableClassification:
    value: str  # what the table shows ("" when neither the table nor a column is classified)
    declared: str  # what Glue or the steward set on the table
    reason: str  # why ``value`` is higher than ``declared`` ("" when it is not)


def column_level(column: ColumnSensitivity) -> str:
    """The column's effective classification: its own, raised to PII_CLASSIFICATION for PII."""
    level = column.classification if column.classification in RANK else ""
    if column.pii_status and RANK[PII_CLASSIFICATION] > RANK.get(level, -1):
        return PII_CLASSIFICATION
    return level


def table_classification(declared: str, columns: Iterable[ColumnSensitivity]) -> TableClassification:
    """The table's classification raised to its most sensitive column's, with the reason."""
    best: tuple[int, str, ColumnSensitivity] | None = None
    for column in columns:
        level = column_level(column)
        if level and (best is None or RANK[level] > best[0]):
            best = (RANK[level], level, column)
    if best is None or RANK[best[1]] <= RANK.get(declared, -1):
        return TableClassification(declared, declared, "")
    _, level, column = best
    why = f"{column.pii_status} PII" if column.pii_status and level == column_level(column) and \
        RANK.get(column.classification, -1) < RANK[level] else f"classified {level}"
    was = declared or "unclassified"
    return TableClassification(level, declared, f"Raised from {was} to {level}: column {column.name} is {why}.")
