"""Read helpers of the catalog: datasets, versions and browsing, always through the role filter."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Count, Q, QuerySet
from django.http import Http404

from catalog.classification import ColumnSensitivity, TableClassification, table_classification
from catalog.models import Column, ColumnCuration, Curation, DatasetOwner, Partition, PropagationProposal, Table, TableVersion
from catalog.services.notices import emails_of
from catalog.sources import iceberg
from catalog.view_sql import mask_view_sql
from identity.roles import Role, table_filter_q

BROWSE_PAGE_SIZE = 50
PARTITIONS_SHOWN = 10


def split_qualified_name(qualified_name: str) -> tuple[str, str]:
    """``"db.table"`` → ``("db", "table")``; raises Http404 when there is no dot."""
    database, dot, name = qualified_name.partition(".")
    if not dot or not database or not name:
        raise Http404("A dataset is named DATABASE.TABLE.")
    return database, name


def visible_table(role: Role | None, qualified_name: str) -> Table:
    """The live table ``database.table`` if the role may see it; Http404 otherwise (never 403)."""
    database, name = split_qualified_name(qualified_name)
    table = (
        Table.objects.visible_to(role)
        .filter(database_name=database, name=name)
        .select_related("database", "catalog")
        .order_by("catalog_id")
        .first()
    )
    if table is None:
        raise Http404(f"No dataset {qualified_name}.")
    return table


def columns_of(table_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Columns per table id, in schema order (partition keys last), with the Lake Formation tags each
    column has beyond its table's (read by the full sync)."""
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    rows = Column.objects.filter(table_id__in=table_ids).order_by("table_id", "is_partition_key", "position")
    for table_id, name, type_, comment, pk, lf_tags in rows.values_list(
            "table_id", "name", "type", "comment", "is_partition_key", "lf_tags"):
        found[table_id].append({"name": name, "type": type_, "comment": comment or "", "partition_key": pk,
                                "lf_tags": lf_tags or {}})
    return found


# Where a column's value came from, as the API names it.
SOURCE_GLUE, SOURCE_STEWARD, SOURCE_PROPAGATION = "glue", "steward", "propagation"
# Proposals that give a column its value (PII ones apply at once, the others once accepted).
EFFECTIVE_PROPOSALS = (PropagationProposal.Status.ACCEPTED, PropagationProposal.Status.APPLIED)


def uncurated_column(comment: str) -> dict[str, Any]:
    """The state of a column nobody curated: Glue's comment as its description."""
    return {"description": comment, "tags": [], "classification": "", "pii": None, "pii_status": None,
            "sources": {"description": SOURCE_GLUE} if comment else {}, "propagated": []}


def column_states(table_ids: list[int], comments: dict[int, dict[str, str]] | None = None,
                  pii_columns: dict[int, list[str]] | None = None) -> dict[int, dict[str, dict[str, Any]]]:
    """Curated state per table id and column name: ``description``, ``tags``, ``classification``,
    ``pii`` (the kind or None), ``pii_status`` (confirmed / suspected / None), ``sources`` (field →
    glue / steward / propagation) and ``propagated`` ([{field, origin, via, status, explanation}]).

    The one place that decides "a steward's value overrides a propagated one, which overrides
    Glue's comment"; ``comments`` (table id → column → Glue comment) lets callers that already
    read the columns skip reading them again. Only columns with something to say are listed.
    """
    if comments is None:
        comments = defaultdict(dict)
        for table_id, name, comment in Column.objects.filter(table_id__in=table_ids).values_list("table_id", "name", "comment"):
            comments[table_id][name] = comment or ""
    states: dict[int, dict[str, dict[str, Any]]] = defaultdict(dict)

    def state(table_id: int, column: str) -> dict[str, Any]:
        if column not in states[table_id]:
            states[table_id][column] = uncurated_column(comments.get(table_id, {}).get(column, ""))
        return states[table_id][column]

    steward: dict[tuple[int, str], ColumnCuration] = {
        (c.table_id, c.column): c for c in ColumnCuration.objects.filter(table_id__in=table_ids)}
    for proposal in (PropagationProposal.objects.filter(target_table_id__in=table_ids, status__in=EFFECTIVE_PROPOSALS)
                     .select_related("origin_table").order_by("id")):
        own = steward.get((proposal.target_table_id, proposal.target_column))
        if proposal.field == "pii":
            if own is not None and own.pii_status:
                continue  # a steward confirmed or cleared it: suspicion ends
        elif own is not None and getattr(own, proposal.field):
            continue
        col = state(proposal.target_table_id, proposal.target_column)
        if proposal.field == "pii":
            col["pii"], col["pii_status"] = col["pii"] or proposal.value, "suspected"
        else:
            col[proposal.field] = proposal.value
        col["sources"][proposal.field] = SOURCE_PROPAGATION
        col["propagated"].append({"field": proposal.field, "origin": proposal.origin_label, "via": list(proposal.via_jobs),
                                  "status": proposal.status, "explanation": proposal.explanation})
    # The table curation's PII columns (``pii_columns``: already read by the caller) count as confirmed.
    legacy_pii = pii_columns if pii_columns is not None else dict(
        Curation.objects.filter(table_id__in=table_ids).values_list("table_id", "pii_columns"))
    for table_id, names in legacy_pii.items():
        for name in names or []:
            if (table_id, name) not in steward or not steward[(table_id, name)].pii_status:
                col = state(table_id, name)
                col["pii"], col["pii_status"] = "other", "confirmed"
                col["sources"]["pii"] = SOURCE_STEWARD
    for (table_id, name), own in steward.items():
        col = state(table_id, name)
        for field in ("description", "tags", "classification"):
            if getattr(own, field):
                col[field] = getattr(own, field)
                col["sources"][field] = SOURCE_STEWARD
        if own.pii_status == ColumnCuration.PiiStatus.CONFIRMED:
            col["pii"], col["pii_status"] = own.pii_kind or "other", "confirmed"
            col["sources"]["pii"] = SOURCE_STEWARD
        elif own.pii_status == ColumnCuration.PiiStatus.CLEARED:
            col["pii"], col["pii_status"] = None, None
            col["sources"]["pii"] = SOURCE_STEWARD
    return states


def classification_of(declared: str, states: dict[str, dict[str, Any]]) -> TableClassification:
    """The table's shown classification from its declared one and its columns' curated states."""
    return table_classification(declared, (
        ColumnSensitivity(name, col["classification"], col["pii_status"]) for name, col in states.items()))


def owners_of(table_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Owners per table id as the API and page show them: kind, user or team, name, contact (mailto links)."""
    found: dict[int, list[dict[str, Any]]] = {}
    for owner in DatasetOwner.objects.filter(table_id__in=table_ids).select_related("user", "team"):
        emails = emails_of([owner])
        found.setdefault(owner.table_id, []).append({
            "kind": owner.kind, "user": owner.user.get_username() if owner.user else None,
            "team": owner.team.name if owner.team else None, "name": owner.name,
            "display": (owner.user.get_full_name() or owner.user.get_username()) if owner.user else f"team {owner.team.name if owner.team else ''}",
            "contact": [f"mailto:{e}" for e in emails],
            "mailto": f"mailto:{','.join(emails)}" if emails else "",  # one link to every address
        })
    return found


def curation_of(table: Table) -> Curation | None:
    try:
        return table.curation
    except Curation.DoesNotExist:
        return None


UNREADABLE_VIEW_SQL = "-- The SQL of this view could not be checked for tables outside your role, so it is not shown."


def view_sql_for(role: Role | None, table: Table) -> tuple[str, bool]:
    """The view's SQL as ``role`` may read it, and whether names in it were masked.

    Roles that may see every table the SQL names get it unchanged; others get it with the
    hidden tables and their columns masked (catalog.view_sql). Lineage is not affected.
    """
    from lineage.sql import ViewSqlError, referenced_tables, view_text

    if not table.view_sql or (role is not None and role.is_admin):
        return table.view_sql, False
    try:
        sql = view_text(table.view_sql)
        named = {(d.lower(), t.lower()) for d, t in referenced_tables(sql, default_database=table.database_name)}
    except ViewSqlError:
        return UNREADABLE_VIEW_SQL, True
    if not named:
        return table.view_sql, False
    match = Q(pk__in=[])
    for database, name in named:
        match |= Q(database_name__iexact=database, name__iexact=name)
    known = Table.objects.live().filter(match, catalog_id=table.catalog_id)
    visible_ids = set(known.filter(table_filter_q(role)).values_list("pk", flat=True))
    hidden = [(t.pk, t.database_name.lower(), t.name.lower()) for t in known.only("pk", "database_name", "name")
              if t.pk not in visible_ids]
    if not hidden:
        return table.view_sql, False
    hidden_columns = {n.lower() for n in Column.objects.filter(table_id__in=[h[0] for h in hidden])
                      .values_list("name", flat=True)}
    # A name also used by a visible table, or by the view itself, reveals nothing.
    hidden_columns -= {n.lower() for n in Column.objects.filter(table_id__in=[*visible_ids, table.pk])
                       .values_list("name", flat=True)}
    masked = mask_view_sql(sql, default_database=table.database_name, hidden_tables={(d, n) for _, d, n in hidden},
                           hidden_columns=hidden_columns)
    return (masked if masked is not None else UNREADABLE_VIEW_SQL), True


def dataset_detail(table: Table, *, role: Role | None) -> dict[str, Any]:
    """Everything the API and the dataset page show about one table (curated values override Glue's),
    as ``role`` may read it (view SQL masked where it names tables outside the role)."""
    curation = curation_of(table)
    columns = columns_of([table.id]).get(table.id, [])
    states = column_states([table.id], {table.id: {c["name"]: c["comment"] for c in columns}},
                           {table.id: list(curation.pii_columns) if curation else []}).get(table.id, {})
    for col in columns:
        col.update(states.get(col["name"]) or uncurated_column(col["comment"]))
    declared = curation.classification if curation and curation.classification else table.classification
    classification = classification_of(declared, {c["name"]: c for c in columns})
    view_sql, view_sql_masked = view_sql_for(role, table)
    return {
        "id": table.id,
        "qualified_name": table.qualified_name,
        "database": table.database_name,
        "name": table.name,
        "description": (curation.description if curation and curation.description else table.description),
        "glue_description": table.description,
        "table_type": table.table_type,
        "format": table.format,
        "location": table.location,
        "input_format": table.input_format,
        "serde": table.serde,
        "parameters": table.parameters,
        "owner": (curation.owner if curation and curation.owner else table.owner),
        "owners": owners_of([table.id]).get(table.id, []),
        "deprecation": ({"reason": curation.deprecation_reason, "date": curation.deprecation_date,
                         "replacement": curation.replacement} if curation and curation.deprecated else None),
        "classification": classification.value,
        "declared_classification": classification.declared,
        "classification_reason": classification.reason,
        "hub": table.hub,
        "layer": table.layer,
        "visibility": table.visibility,
        "lf_tags": table.lf_tags,
        # "iceberg" for Glue tables of table type ICEBERG (their History tab reads the Iceberg metadata).
        "table_format": "iceberg" if iceberg.is_iceberg(table.parameters) else "",
        "created_at": table.created_at,
        "updated_at": table.updated_at,
        "view_sql": view_sql,
        "view_sql_masked": view_sql_masked,
        "usage_count": table.usage_count,
        "column_count": len([c for c in columns if not c["partition_key"]]),
        "columns": columns,
        "partition_keys": [c["name"] for c in columns if c["partition_key"]],
        "partition_count": table.partition_count,
        "curation": {
            "description": curation.description if curation else "",
            "tags": list(curation.tags) if curation else [],
            "owner": curation.owner if curation else "",
            "classification": curation.classification if curation else "",
            "pii_columns": list(curation.pii_columns) if curation else [],
            "updated_by": (curation.updated_by.get_username() if curation and curation.updated_by else None),
            "updated_at": curation.updated_at if curation else None,
        },
    }


def versions_of(table: Table) -> list[dict[str, Any]]:
    """Glue versions, newest first, each with its schema diff against the previous one."""
    return [
        {
            "version_id": v.version_id,
            "updated_at": v.updated_at,
            "recorded_at": v.recorded_at,
            "columns": v.columns,
            "diff": {
                "added": list(v.diff.get("added", [])),
                "removed": list(v.diff.get("removed", [])),
                "type_changed": list(v.diff.get("type_changed", [])),
                "first_seen": bool(v.diff.get("first_seen", False)),
            },
        }
        for v in TableVersion.objects.filter(table=table).order_by("-updated_at", "-recorded_at", "-id")
    ]


def recent_partitions(table: Table, limit: int = PARTITIONS_SHOWN) -> list[Partition]:
    return list(Partition.objects.filter(table=table).order_by("-values_key")[:limit])


def curation_history(table: Table, limit: int = 20) -> list[Any]:
    return list(table.curation_changes.select_related("changed_by")[:limit])


@dataclass
class BrowseResult:
    page: Page
    hubs: list[dict[str, Any]]
    layers: list[dict[str, Any]]
    databases: list[dict[str, Any]]


def _counts(qs: QuerySet, field: str) -> list[dict[str, Any]]:
    rows = qs.exclude(**{field: ""}).values(field).annotate(count=Count("id")).order_by(field)
    return [{"value": r[field], "count": r["count"]} for r in rows]


def browse(role: Role | None, *, hub: str = "", layer: str = "", database: str = "", page: Any = 1,
           page_size: int = BROWSE_PAGE_SIZE) -> BrowseResult:
    """Visible tables by hub, layer and database, paginated, with counts for each choice."""
    visible = Table.objects.visible_to(role)
    chosen = visible
    if hub:
        chosen = chosen.filter(hub=hub)
    if layer:
        chosen = chosen.filter(layer=layer)
    databases_scope = chosen
    if database:
        chosen = chosen.filter(database_name=database)
    listing = chosen.only(
        "id", "database_name", "name", "description", "table_type", "format", "hub", "layer", "owner",
        "classification", "updated_at", "column_count",
    ).order_by("database_name", "name")
    paginator = Paginator(listing, page_size)
    return BrowseResult(
        page=paginator.get_page(page),
        hubs=_counts(visible, "hub"),
        layers=_counts(visible.filter(hub=hub) if hub else visible, "layer"),
        databases=_counts(databases_scope, "database_name"),
    )
