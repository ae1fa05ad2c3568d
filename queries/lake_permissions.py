"""Lake Formation's SELECT grants on tables, read the way the workspaces' grants are checked
(ListPermissions); identity.roles.readable_columns turns them into the columns a role may read.

Both engines ask this, so the local engine refuses exactly what Athena would under Lake Formation.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from identity.roles import LakeGrant
from portal import aws

_SELECT = {"SELECT", "ALL"}


def _resource_table(resource: dict[str, Any]) -> tuple[tuple[str, str] | None, tuple[str, ...] | None, tuple[str, ...]]:
    """(database, table) of a table resource, its column list (None: all) and excluded columns."""
    if "TableWithColumns" in resource:
        spec = resource["TableWithColumns"]
        key = (spec.get("DatabaseName", "").lower(), spec.get("Name", "").lower())
        if "ColumnWildcard" in spec:
            return key, None, tuple(spec["ColumnWildcard"].get("ExcludedColumnNames") or ())
        return key, tuple(spec.get("ColumnNames") or ()), ()
    if "Table" in resource:
        spec = resource["Table"]
        name = "*" if "TableWildcard" in spec else spec.get("Name", "")
        return (spec.get("DatabaseName", "").lower(), name.lower()), None, ()
    return None, None, ()


def table_grants(client: Any = None) -> dict[tuple[str, str], list[LakeGrant]]:
    """Every SELECT grant on tables, by lower-case (database, table); ``(db, "*")`` holds
    table-wildcard grants. One listing (paged by NextToken) serves a whole query."""
    lakeformation = client or aws.client("lakeformation")
    grants: dict[tuple[str, str], list[LakeGrant]] = defaultdict(list)
    kwargs: dict[str, Any] = {"ResourceType": "TABLE"}
    while True:
        page = lakeformation.list_permissions(**kwargs)
        for entry in page.get("PrincipalResourcePermissions", []):
            if not _SELECT & set(entry.get("Permissions") or ()):
                continue
            key, columns, excluded = _resource_table(entry.get("Resource") or {})
            if key is None:
                continue
            principal = entry.get("Principal", {}).get("DataLakePrincipalIdentifier", "")
            grants[key].append(LakeGrant(principal, columns, excluded))
        token = page.get("NextToken")
        if not token:
            return grants
        kwargs["NextToken"] = token


def grants_on(grants: dict[tuple[str, str], list[LakeGrant]], database: str, table: str) -> list[LakeGrant]:
    """The grants that apply to one table: its own and its database's table-wildcard ones."""
    return [*grants.get((database.lower(), table.lower()), []), *grants.get((database.lower(), "*"), [])]
