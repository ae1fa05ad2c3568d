"""How complete the curation of each hub is: the share of its datasets with a description, an owner and
documented columns, and what is missing where (read-only; shown on the home and operations pages).

A description or an owner counts whether Glue or a steward gave it (a curated value overrides Glue's on
the dataset page); named owners (``DatasetOwner``) count as owners. A dataset's columns are documented
when every column has a description: Glue's comment, a steward's, or an accepted propagated one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, OuterRef, Q

from catalog.models import Column, ColumnCuration, DatasetOwner, PropagationProposal, Table
from identity.roles import Role

MISSING_SHOWN = 10
PARTS = ("description", "owner", "columns")


@dataclass
class HubCompleteness:
    hub: str
    total: int
    described: int
    owned: int
    documented: int
    missing: list[dict[str, Any]] = field(default_factory=list)  # [{qualified_name, missing: [part, ...]}]
    missing_count: int = 0

    def percent(self, count: int) -> int:
        return 100 if not self.total else round(100 * count / self.total)

    @property
    def shares(self) -> dict[str, int]:
        """Percent per part: description, owner, columns, and complete (all three)."""
        return {"description": self.percent(self.described), "owner": self.percent(self.owned),
                "columns": self.percent(self.documented), "complete": self.percent(self.total - self.missing_count)}


def _undocumented_tables(table_ids: list[int]) -> set[int]:
    """Of these tables, those with a column that has no description from anyone."""
    curated = ColumnCuration.objects.filter(table_id=OuterRef("table_id"), column=OuterRef("name"), description__gt="")
    propagated = PropagationProposal.objects.filter(target_table_id=OuterRef("table_id"), target_column=OuterRef("name"),
                                                    field="description", status=PropagationProposal.Status.ACCEPTED)
    rows = (Column.objects.filter(table_id__in=table_ids, comment="")
            .filter(~Exists(curated), ~Exists(propagated)).values_list("table_id", flat=True).distinct())
    return set(rows)


def completeness(role: Role | None, *, hubs: list[str] | None = None, shown: int = MISSING_SHOWN) -> list[HubCompleteness]:
    """One row per hub of the datasets the role may see (only ``hubs`` when given), hubs by name."""
    tables = Table.objects.visible_to(role)
    if hubs is not None:
        tables = tables.filter(hub__in=hubs)
    described = ~Q(description="") | Q(curation__description__gt="")
    owned = ~Q(owner="") | Q(curation__owner__gt="") | Exists(DatasetOwner.objects.filter(table_id=OuterRef("pk")))
    has_columns = Exists(Column.objects.filter(table_id=OuterRef("pk")))
    rows = list(tables.annotate(has_description=described, has_owner=owned, has_columns=has_columns)
                .values("id", "hub", "database_name", "name", "has_description", "has_owner", "has_columns")
                .order_by("hub", "database_name", "name"))
    undocumented = _undocumented_tables([r["id"] for r in rows])
    by_hub: dict[str, HubCompleteness] = {}
    for row in rows:
        hub = by_hub.setdefault(row["hub"], HubCompleteness(row["hub"] or "(no hub)", 0, 0, 0, 0))
        documented = row["id"] not in undocumented and row["has_columns"]
        hub.total += 1
        hub.described += bool(row["has_description"])
        hub.owned += bool(row["has_owner"])
        hub.documented += documented
        missing = [part for part, ok in zip(PARTS, (row["has_description"], row["has_owner"], documented)) if not ok]
        if missing:
            hub.missing_count += 1
            if len(hub.missing) < shown:
                hub.missing.append({"qualified_name": f"{row['database_name']}.{row['name']}", "missing": missing})
    return [by_hub[h] for h in sorted(by_hub)]
