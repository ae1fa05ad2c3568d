"""Lake Formation permissions: the one module that grants, revokes and reads them back.

Workspaces (SELECT on a workspace's tables) and access requests (SELECT on a table, on named
columns, or through an LF-tag expression) both call these, with the portal acting as data lake
administrator (its own credentials). A grant is only trusted once ``ListPermissions`` shows it;
``is_granted`` answers that question for one principal and one resource; ``table_grants`` reads every
SELECT grant on tables at once, which is how the query engines decide the columns a role may read
(``identity.roles.readable_columns``), so the local engine refuses exactly what Athena would.

Errors are botocore's: ``ClientError`` when Lake Formation refuses, ``BotoCoreError`` when it
cannot be reached; callers decide what each means for their own state.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from identity.roles import LakeGrant
from portal import aws

SELECT = ("SELECT",)
_READS = {"SELECT", "ALL"}
# Answers of RevokePermissions that mean "nothing left to revoke" (already revoked, table gone).
_ALREADY_GONE = ("InvalidInputException", "EntityNotFoundException")


def table_resource(database: str, table: str, columns: Sequence[str] = ()) -> dict[str, Any]:
    """The resource of a whole table, or of named columns of it when ``columns`` are given."""
    if columns:
        return {"TableWithColumns": {"DatabaseName": database, "Name": table, "ColumnNames": sorted(columns)}}
    return {"Table": {"DatabaseName": database, "Name": table}}


def tag_policy_resource(expression: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """The tables matched by an LF-tag expression (every key must match one of its values)."""
    return {"LFTagPolicy": {"ResourceType": "TABLE", "Expression": [
        {"TagKey": key, "TagValues": sorted(values)} for key, values in sorted(expression.items())]}}


def _principal(principal_arn: str) -> dict[str, str]:
    return {"DataLakePrincipalIdentifier": principal_arn}


def grant(principal_arn: str, resource: dict[str, Any], permissions: Iterable[str] = SELECT, *,
          client: Any = None) -> None:
    """Grant ``permissions`` on ``resource``. Raises ClientError (refused) / BotoCoreError (unreachable).

    ``client``: a Lake Formation client to reuse (every function here builds one otherwise)."""
    (client or aws.client("lakeformation")).grant_permissions(Principal=_principal(principal_arn), Resource=resource,
                                                  Permissions=list(permissions))


def revoke(principal_arn: str, resource: dict[str, Any], permissions: Iterable[str] = SELECT, *,
           client: Any = None) -> None:
    """Revoke ``permissions`` on ``resource``; already revoked (or the table gone) is fine.

    Raises ClientError for other refusals, BotoCoreError when Lake Formation is unreachable.
    """
    try:
        (client or aws.client("lakeformation")).revoke_permissions(Principal=_principal(principal_arn), Resource=resource,
                                                       Permissions=list(permissions))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in _ALREADY_GONE:
            raise


def _listing_resource(resource: dict[str, Any]) -> dict[str, Any]:
    # ListPermissions is asked about the table; its column grants come back with it.
    if "TableWithColumns" in resource:
        spec = resource["TableWithColumns"]
        return {"Table": {"DatabaseName": spec["DatabaseName"], "Name": spec["Name"]}}
    return resource


def listed(principal_arn: str, resource: dict[str, Any], *, client: Any = None) -> list[dict[str, Any]]:
    """What ListPermissions shows for the principal on the resource (column grants of a table included)."""
    client = client or aws.client("lakeformation")
    entries: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"Principal": _principal(principal_arn), "Resource": _listing_resource(resource)}
    while True:
        page = client.list_permissions(**kwargs)
        entries.extend(page.get("PrincipalResourcePermissions", []))
        if not page.get("NextToken"):
            return entries
        kwargs["NextToken"] = page["NextToken"]


def _same_resource(wanted: dict[str, Any], got: dict[str, Any]) -> bool:
    if "TableWithColumns" in wanted:
        spec, seen = wanted["TableWithColumns"], got.get("TableWithColumns") or {}
        return (seen.get("DatabaseName"), seen.get("Name")) == (spec["DatabaseName"], spec["Name"]) and \
            set(spec["ColumnNames"]) <= set(seen.get("ColumnNames") or ())
    if "Table" in wanted:
        spec, seen = wanted["Table"], got.get("Table") or {}
        return (seen.get("DatabaseName"), seen.get("Name")) == (spec["DatabaseName"], spec["Name"])
    if "LFTagPolicy" in wanted:
        def norm(policy: dict[str, Any]) -> tuple[str, list[tuple[str, tuple[str, ...]]]]:
            return policy.get("ResourceType", ""), sorted(
                (e["TagKey"], tuple(sorted(e["TagValues"]))) for e in policy.get("Expression", []))
        return "LFTagPolicy" in got and norm(got["LFTagPolicy"]) == norm(wanted["LFTagPolicy"])
    return got == wanted


def is_granted(principal_arn: str, resource: dict[str, Any], permissions: Iterable[str] = SELECT, *,
               client: Any = None) -> bool:
    """True when Lake Formation lists every one of ``permissions`` for the principal on ``resource``."""
    wanted = set(permissions)
    held: set[str] = set()
    for entry in listed(principal_arn, resource, client=client):
        if _same_resource(resource, entry.get("Resource") or {}):
            held.update(entry.get("Permissions") or ())
    return wanted <= held or "ALL" in held


@dataclass
class TableAccess:
    """What one principal may SELECT of one table, as Lake Formation lists it."""

    whole_table: bool = False
    columns: list[str] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return self.whole_table or bool(self.columns)


def table_access(principal_arn: str, database: str, table: str) -> TableAccess:
    """The principal's SELECT on the table: whole, some columns, or none. Raises like ``listed``."""
    access = TableAccess()
    columns: set[str] = set()
    for entry in listed(principal_arn, table_resource(database, table)):
        perms = set(entry.get("Permissions") or ())
        if not perms & _READS:
            continue
        resource = entry.get("Resource") or {}
        if "Table" in resource:
            access.whole_table = True
        elif "TableWithColumns" in resource:
            if resource["TableWithColumns"].get("ColumnWildcard") is not None:
                access.whole_table = True
            columns.update(resource["TableWithColumns"].get("ColumnNames") or ())
    access.columns = sorted(columns)
    return access


# --- Every table grant at once (the query engines) -------------------------------------------


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
            if not _READS & set(entry.get("Permissions") or ()):
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
