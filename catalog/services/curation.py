"""Steward curation: description, tags, owner, classification and PII columns of a dataset.

Stored in the portal with who and when (``Curation`` holds the latest values,
``CurationChange`` one row per changed field), audited, searchable at once (the
search index is updated after commit) and, when ``CURATION_WRITE_BACK`` is on,
written back to the Glue table's parameters.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction

from catalog.models import CLASSIFICATIONS, Column, Curation, CurationChange, GlueCatalog, Table
from catalog.search import indexer
from portal import aws
from identity import audit
from identity.roles import Role

log = logging.getLogger(__name__)

MAX_TAGS = 30
MAX_TAG_CHARS = 64
MAX_DESCRIPTION_CHARS = 20_000
# Glue table parameters the write-back sets (the sync reads owner and classification back).
WRITE_BACK_KEYS = {"tags": "portal_tags", "owner": "owner", "classification": "classification",
                   "pii_columns": "portal_pii_columns"}
# Keys get_table returns that update_table's TableInput refuses.
_READ_ONLY_TABLE_KEYS = {
    "DatabaseName", "CreateTime", "UpdateTime", "CreatedBy", "IsRegisteredWithLakeFormation", "CatalogId",
    "VersionId", "FederatedTable", "IsMultiDialectView", "Status",
}


class CurationError(ValueError):
    """The curation cannot be saved as given; ``field`` names the offending input (or None)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class CurationForbidden(PermissionError):
    """The role may not curate this dataset (only stewards of its hub and admins may)."""


@dataclass(frozen=True)
class CurationInput:
    """New values; a field left as None keeps its current value."""

    description: str | None = None
    tags: list[str] | None = None
    owner: str | None = None
    classification: str | None = None
    pii_columns: list[str] | None = None


def normalise_tags(tags: Iterable[str]) -> list[str]:
    """Trimmed, lower-cased, de-duplicated tags in the given order."""
    cleaned: dict[str, None] = {}
    for tag in tags:
        tag = " ".join(str(tag).split()).lower()
        if not tag:
            continue
        if len(tag) > MAX_TAG_CHARS:
            raise CurationError(f"Tag {tag[:20]!r}… is longer than {MAX_TAG_CHARS} characters.", "tags")
        cleaned.setdefault(tag, None)
    if len(cleaned) > MAX_TAGS:
        raise CurationError(f"At most {MAX_TAGS} tags.", "tags")
    return list(cleaned)


def _validated(table: Table, data: CurationInput) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if data.description is not None:
        if len(data.description) > MAX_DESCRIPTION_CHARS:
            raise CurationError(f"The description is limited to {MAX_DESCRIPTION_CHARS} characters.", "description")
        values["description"] = data.description.strip()
    if data.tags is not None:
        values["tags"] = normalise_tags(data.tags)
    if data.owner is not None:
        if len(data.owner) > 255:
            raise CurationError("The owner is limited to 255 characters.", "owner")
        values["owner"] = data.owner.strip()
    if data.classification is not None:
        classification = data.classification.strip()
        if classification and classification not in CLASSIFICATIONS:
            raise CurationError(f"Classification must be one of {', '.join(CLASSIFICATIONS)}.", "classification")
        values["classification"] = classification
    if data.pii_columns is not None:
        known = set(Column.objects.filter(table=table).values_list("name", flat=True))
        unknown = sorted(set(data.pii_columns) - known)
        if unknown:
            raise CurationError(f"{table.qualified_name} has no column {unknown[0]!r}.", "pii_columns")
        values["pii_columns"] = [c for c in dict.fromkeys(data.pii_columns)]
    return values


def curate(table: Table, data: CurationInput, *, actor: Any, role: Role | None, ip: str | None = None,
           via: str = "") -> Curation:
    """Save a steward's curation of ``table``; returns the stored Curation.

    ``via`` names the channel when it is not the page or the API (e.g. ``mcp:set_owner``, the MCP
    tool), kept in the audit row's details.

    Raises CurationForbidden unless the role may curate the table's hub, CurationError
    for bad values (nothing is stored then). After commit the table is re-indexed (a
    search outage only logs: the next sync or reindex catches up) and, with
    CURATION_WRITE_BACK on, the values are written to the Glue table parameters.
    """
    if role is None or not role.can_curate(table.hub):
        raise CurationForbidden(f"Only stewards of hub {table.hub or '—'} may curate {table.qualified_name}.")
    values = _validated(table, data)
    with transaction.atomic():
        curation, _ = Curation.objects.select_for_update().get_or_create(table=table)
        changes = []
        for name, new in values.items():
            old = getattr(curation, name)
            if old != new:
                changes.append(CurationChange(table=table, field=name, old_value=old, new_value=new, changed_by=actor))
                setattr(curation, name, new)
        if changes:
            curation.updated_by = actor if getattr(actor, "pk", None) else None
            curation.save()
            CurationChange.objects.bulk_create(changes)
            details: dict[str, Any] = {c.field: {"from": c.old_value, "to": c.new_value} for c in changes}
            if via:
                details["via"] = via
            audit.record(actor, "catalog.curate", role=role, target=table.qualified_name, ip=ip, details=details)
            transaction.on_commit(lambda: _after_commit(table.id))
    return curation


def _after_commit(table_id: int) -> None:
    try:
        indexer.index_tables([table_id])
    except indexer.IndexUnavailable as exc:
        # Marked stale: beat repairs the index once OpenSearch answers (catalog.search.repair).
        log.warning("curation of table %s not indexed yet: %s", table_id, exc)
        GlueCatalog.objects.filter(pk__in=Table.objects.filter(pk=table_id).values("catalog_id")).update(
            index_stale=True)
    if settings.CURATION_WRITE_BACK:
        try:
            write_back(Table.objects.select_related("catalog").get(pk=table_id))
        except Exception:  # Glue write-back is best effort: the portal keeps the curation either way
            log.exception("writing curation of table %s back to Glue failed", table_id)


def write_back(table: Table) -> None:
    """Copy the curated values into the Glue table's parameters (keeping everything else)."""
    curation = Curation.objects.get(table=table)
    glue = aws.client("glue", region=table.catalog.region)
    current = glue.get_table(CatalogId=table.catalog.account_id, DatabaseName=table.database_name, Name=table.name)["Table"]
    table_input = {k: v for k, v in current.items() if k not in _READ_ONLY_TABLE_KEYS}
    params = dict(table_input.get("Parameters") or {})
    for field, key in WRITE_BACK_KEYS.items():
        value = getattr(curation, field)
        if isinstance(value, list):
            value = ",".join(value)
        if value:
            params[key] = value
        else:
            params.pop(key, None)
    table_input["Parameters"] = params
    if curation.description:
        table_input["Description"] = curation.description
    glue.update_table(CatalogId=table.catalog.account_id, DatabaseName=table.database_name, TableInput=table_input)
