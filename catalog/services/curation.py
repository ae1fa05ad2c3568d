"""Steward curation: description, tags, owner, classification and PII columns of a dataset.

Stored in the portal with who and when (``Curation`` holds the latest values,
``CurationChange`` one row per changed field), audited, searchable at once (the
search index is updated after commit) and, when ``CURATION_WRITE_BACK`` is on,
written back to the Glue table's parameters.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from catalog.models import CLASSIFICATIONS, Column, ColumnCuration, Curation, CurationChange, GlueCatalog, Table
from catalog.search import indexer
from catalog.services import notices
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
    # Deprecation: ``deprecated`` True needs a reason (given here or already stored); the replacement is
    # another live dataset's database.table.
    deprecated: bool | None = None
    deprecation_reason: str | None = None
    deprecation_date: date | None = None
    replacement: str | None = None


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


def validated_text_fields(description: str | None, tags: list[str] | None, classification: str | None) -> dict[str, Any]:
    """The description, tags and classification a table and a column share, cleaned; only those
    given (not None). Raises CurationError naming the bad field."""
    values: dict[str, Any] = {}
    if description is not None:
        if len(description) > MAX_DESCRIPTION_CHARS:
            raise CurationError(f"The description is limited to {MAX_DESCRIPTION_CHARS} characters.", "description")
        values["description"] = description.strip()
    if tags is not None:
        values["tags"] = normalise_tags(tags)
    if classification is not None:
        classification = classification.strip()
        if classification and classification not in CLASSIFICATIONS:
            raise CurationError(f"Classification must be one of {', '.join(CLASSIFICATIONS)}.", "classification")
        values["classification"] = classification
    return values


def _validated_owner(owner: str) -> str:
    """The free-text owner must name someone: an e-mail address, a portal user or a team (group)."""
    if not owner:
        return owner
    try:
        validate_email(owner)
        return owner
    except ValidationError:
        pass
    if get_user_model().objects.filter(username=owner).exists() or Group.objects.filter(name=owner).exists():
        return owner
    raise CurationError(f"{owner!r} is neither an e-mail address nor a portal user or team.", "owner")


def _validated_deprecation(table: Table, data: CurationInput) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if data.deprecation_reason is not None:
        if len(data.deprecation_reason) > MAX_DESCRIPTION_CHARS:
            raise CurationError(f"The reason is limited to {MAX_DESCRIPTION_CHARS} characters.", "deprecation_reason")
        values["deprecation_reason"] = data.deprecation_reason.strip()
    if data.deprecation_date is not None:
        values["deprecation_date"] = data.deprecation_date
    if data.replacement is not None:
        replacement = data.replacement.strip()
        if replacement:
            database, dot, name = replacement.partition(".")
            if not dot or replacement == table.qualified_name or not Table.objects.live().filter(
                    catalog_id=table.catalog_id, database_name=database, name=name).exists():
                raise CurationError(f"The replacement must be another dataset's database.table; {replacement!r} is not one.",
                                    "replacement")
        values["replacement"] = replacement
    if data.deprecated is not None:
        values["deprecated"] = data.deprecated
        current = Curation.objects.filter(table=table).values_list("deprecation_reason", flat=True).first() or ""
        if data.deprecated and not values.get("deprecation_reason", current):
            raise CurationError("Say why the dataset is deprecated.", "deprecation_reason")
    return values


def _validated(table: Table, data: CurationInput) -> dict[str, Any]:
    values = validated_text_fields(data.description, data.tags, data.classification)
    if data.owner is not None:
        if len(data.owner) > 255:
            raise CurationError("The owner is limited to 255 characters.", "owner")
        values["owner"] = _validated_owner(data.owner.strip())
    values.update(_validated_deprecation(table, data))
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
        changes = save_changes(curation, values, table=table, actor=actor, role=role, ip=ip, via=via,
                               action="catalog.curate", target=table.qualified_name)
        if changes:
            transaction.on_commit(lambda: after_commit(table.id, write_back))
            if any(c.field == "deprecated" and c.new_value for c in changes):
                transaction.on_commit(lambda: notices.notify_deprecation(table.id, actor))
            pii_change = next((c for c in changes if c.field == "pii_columns"), None)
            if pii_change is not None:
                # Columns that became (or stopped being) PII: their suspicion downstream follows.
                flipped = set(pii_change.old_value or []) ^ set(pii_change.new_value or [])
                transaction.on_commit(lambda: _follow_pii(table.id, sorted(flipped)))
    return curation


def _json(value: Any) -> Any:
    """A value as the change log stores it (dates as ISO text)."""
    return value.isoformat() if isinstance(value, date) else value


def save_changes(row: Curation | ColumnCuration, values: dict[str, Any], *, table: Table, actor: Any, role: Role | None,
                 ip: str | None, via: str, action: str, target: str, column: str = "") -> list[CurationChange]:
    """Set ``values`` on a (locked) curation row; when something changed, save it with who, one
    CurationChange per changed field and one audit record. Returns the changes (none: nothing saved)."""
    changed_by = actor if getattr(actor, "pk", None) else None
    changes = []
    for name, new in values.items():
        old = getattr(row, name)
        if old != new:
            changes.append(CurationChange(table=table, column=column, field=name, old_value=_json(old),
                                          new_value=_json(new), changed_by=changed_by))
            setattr(row, name, new)
    if changes:
        row.updated_by = changed_by
        row.save()
        CurationChange.objects.bulk_create(changes)
        details: dict[str, Any] = {c.field: {"from": c.old_value, "to": c.new_value} for c in changes}
        if via:
            details["via"] = via
        audit.record(actor, action, role=role, target=target, ip=ip, details=details)
        what = f"{target}: {', '.join(c.field for c in changes)}"
        transaction.on_commit(lambda: notices.notify_owners(table.id, what, actor))
    return changes


def _follow_pii(table_id: int, columns: list[str]) -> None:
    from catalog.services import propagation  # propagation imports this module's reindex

    for column in columns:
        propagation.follow_column_change(table_id, column, fields=("pii",))


def reindex(table_ids: list[int]) -> None:
    """Re-index curated tables at once; a search outage only logs and marks their catalogs stale."""
    try:
        indexer.index_tables(table_ids)
    except indexer.IndexUnavailable as exc:
        # Marked stale: beat repairs the index once OpenSearch answers (catalog.search.repair).
        log.warning("curation of tables %s not indexed yet: %s", table_ids[:20], exc)
        GlueCatalog.objects.filter(pk__in=Table.objects.filter(pk__in=table_ids).values("catalog_id")).update(
            index_stale=True)


def after_commit(table_id: int, write_back_to_glue: Callable[[Table], None] | None) -> None:
    """Re-index the curated table at once and, with CURATION_WRITE_BACK on, write it back to Glue."""
    reindex([table_id])
    if settings.CURATION_WRITE_BACK and write_back_to_glue is not None:
        try:
            write_back_to_glue(Table.objects.select_related("catalog").get(pk=table_id))
        except Exception:  # Glue write-back is best effort: the portal keeps the curation either way
            log.exception("writing curation of table %s back to Glue failed", table_id)


def glue_table_input(table: Table) -> tuple[Any, dict[str, Any]]:
    """The Glue client of the table's catalog and the table's current TableInput (what update_table takes)."""
    glue = aws.client("glue", region=table.catalog.region)
    current = glue.get_table(CatalogId=table.catalog.account_id, DatabaseName=table.database_name, Name=table.name)["Table"]
    return glue, {k: v for k, v in current.items() if k not in _READ_ONLY_TABLE_KEYS}


def write_back(table: Table) -> None:
    """Copy the curated values into the Glue table's parameters (keeping everything else)."""
    curation = Curation.objects.get(table=table)
    glue, table_input = glue_table_input(table)
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
