"""Lake Formation permissions: the one module that grants, revokes and reads them back.

Workspaces (SELECT on a workspace's tables) and access requests (SELECT on a table, on named
columns, or through an LF-tag expression) both call these, with the portal acting as data lake
administrator (its own credentials). A grant is only trusted once ``ListPermissions`` shows it;
``is_granted`` answers that question for one principal and one resource.

Errors are botocore's: ``ClientError`` when Lake Formation refuses, ``BotoCoreError`` when it
cannot be reached; callers decide what each means for their own state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from portal import aws

SELECT = ("SELECT",)
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
        if not perms & {"SELECT", "ALL"}:
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
