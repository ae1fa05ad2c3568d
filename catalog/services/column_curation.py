"""Steward curation of one column: description, tags, classification, PII flag and kind.

Called alike by the schema tab's form, ``PATCH /api/v1/datasets/DB.TABLE/columns/COLUMN`` and
anything else that curates a column. Each changed field is a ``CurationChange`` row (with the
column's name) and an audit record; after commit the table is re-indexed at once, the new values
are offered downstream along direct-copy column lineage (``catalog.services.propagation``) and,
with ``CURATION_WRITE_BACK`` on, written to the Glue column's comment and parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from catalog.models import PII_KINDS, Column, ColumnCuration, Table
from catalog.services import propagation
from catalog.services.curation import (
    CurationError,
    CurationForbidden,
    after_commit,
    glue_table_input,
    save_changes,
    validated_text_fields,
)
from identity.roles import Role, may_curate_column

# Glue column parameters the write-back sets (everything else on the column is kept).
COLUMN_WRITE_BACK_KEYS = {"tags": "portal_tags", "classification": "classification", "pii_kind": "portal_pii"}
# ``pii`` in an input: leave as is (the default), or NOT_PII to say the column holds no personal data.
UNCHANGED: Any = object()
NOT_PII = None


@dataclass(frozen=True)
class ColumnCurationInput:
    """New values; None keeps the current one. ``pii`` is a kind from PII_KINDS (confirms the
    column holds personal data), ``NOT_PII`` (clears it, suspected or not) or ``UNCHANGED``."""

    description: str | None = None
    tags: list[str] | None = None
    classification: str | None = None
    pii: Any = UNCHANGED


def _validated(data: ColumnCurationInput) -> dict[str, Any]:
    values = validated_text_fields(data.description, data.tags, data.classification)
    if data.pii is not UNCHANGED:
        if data.pii is NOT_PII or data.pii == "":
            values["pii_kind"], values["pii_status"] = "", ColumnCuration.PiiStatus.CLEARED
        elif data.pii in PII_KINDS:
            values["pii_kind"], values["pii_status"] = data.pii, ColumnCuration.PiiStatus.CONFIRMED
        else:
            raise CurationError(f"pii must be null (not personal data) or one of {', '.join(PII_KINDS)}.", "pii")
    return values


def curate_column(table: Table, column: str, data: ColumnCurationInput, *, actor: Any, role: Role | None,
                  ip: str | None = None, via: str = "") -> ColumnCuration:
    """Save a steward's curation of ``table.column``; returns the stored ColumnCuration.

    Raises CurationForbidden unless the role may curate the table's columns, CurationError for
    an unknown column or bad values (nothing is stored then).
    """
    if not may_curate_column(role, table):
        raise CurationForbidden(f"Only stewards of hub {table.hub or '—'} may curate the columns of {table.qualified_name}.")
    if not Column.objects.filter(table=table, name=column).exists():
        raise CurationError(f"{table.qualified_name} has no column {column!r}.", "column")
    values = _validated(data)
    with transaction.atomic():
        curated, _ = ColumnCuration.objects.select_for_update().get_or_create(table=table, column=column)
        changes = save_changes(curated, values, table=table, actor=actor, role=role, ip=ip, via=via, column=column,
                               action="catalog.curate_column", target=f"{table.qualified_name}.{column}")
        if changes:
            transaction.on_commit(lambda: after_commit(table.id, write_back_column(column)))
            transaction.on_commit(lambda: propagation.follow_column_change(table.id, column))
    return curated


def write_back_column(column: str) -> Any:
    """The Glue write-back of one column's curation (for ``after_commit``)."""
    def write(table: Table) -> None:
        curated = ColumnCuration.objects.get(table=table, column=column)
        glue, table_input = glue_table_input(table)
        storage = table_input.get("StorageDescriptor") or {}
        for glue_column in [*(storage.get("Columns") or []), *(table_input.get("PartitionKeys") or [])]:
            if glue_column.get("Name") != column:
                continue
            if curated.description:
                glue_column["Comment"] = curated.description
            params = dict(glue_column.get("Parameters") or {})
            for field, key in COLUMN_WRITE_BACK_KEYS.items():
                value = getattr(curated, field)
                value = ",".join(value) if isinstance(value, list) else value
                if value:
                    params[key] = value
                else:
                    params.pop(key, None)
            glue_column["Parameters"] = params
        glue.update_table(CatalogId=table.catalog.account_id, DatabaseName=table.database_name, TableInput=table_input)

    return write
