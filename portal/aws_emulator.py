"""The local AWS emulator (moto), taught the calls the portal makes that it does not implement yet.

The embedded mode (``python -m portal.aws_emulator``) and the tests' in-process server both serve a
moto taught here, so provisioning code talks to it exactly as to AWS and has no emulator branch.
What is taught (each a no-op once moto implements it itself):
- Glue ``DeleteConnection`` (moto 5.2 creates and reads connections, but cannot delete them).
- Glue ``ResetJobBookmark`` (an existing job's bookmark entry back to nothing; moto keeps no bookmarks).
- Firehose's ``!{timestamp:…}`` prefix expressions (moto writes the prefix as typed, then its own
  ``YYYY/MM/DD/HH/``; Firehose evaluates them in UTC and adds no time folders to such a prefix).
- Lake Formation ``ListPermissions`` for a table also lists the column grants on it (``TableWithColumns``,
  as AWS does; moto 5.2 drops them), and takes an ``LFTagPolicy`` resource (moto 5.2 refuses it), so
  a grant is read back the same way from moto and from AWS.
- Lake Formation ``SearchTablesByLFTags`` and ``SearchDatabasesByLFTags`` (absent in moto 5.2), with
  AWS's inheritance: a table carries its database's tags unless it assigns the key itself, a column its
  table's; ``AddLFTagsToResource`` adds to what a resource has (moto 5.2 replaces it).
"""

from __future__ import annotations

import re
from typing import Any

# Java DateTimeFormatter letters Firehose's timestamp namespace takes, as strftime's.
_JAVA_DATE_PARTS = (("yyyy", "%Y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("mm", "%M"), ("ss", "%S"))


def _firehose_prefix(prefix: str, now: Any) -> str:
    def evaluate(match: re.Match[str]) -> str:
        pattern = match.group(1)
        for java, python in _JAVA_DATE_PARTS:
            pattern = pattern.replace(java, python)
        return str(now.strftime(pattern))

    return re.sub(r"!\{timestamp:([^}]*)\}", evaluate, prefix)


def teach_moto() -> None:
    from moto.core.responses import ActionResult, EmptyResult
    from moto.glue.exceptions import EntityNotFoundException
    from moto.glue.models import GlueBackend
    from moto.glue.responses import GlueResponse

    if not hasattr(GlueBackend, "delete_connection"):
        def delete_connection(backend: Any, catalog_id: str, name: str) -> None:
            if backend.connections.pop(name, None) is None:
                raise EntityNotFoundException(f"Connection {name} not found")

        GlueBackend.delete_connection = delete_connection  # type: ignore[attr-defined]

    if not hasattr(GlueResponse, "delete_connection"):
        def respond(response: Any) -> ActionResult:
            response.glue_backend.delete_connection(response._get_param("CatalogId"),
                                                    response._get_param("ConnectionName"))
            return EmptyResult()

        GlueResponse.delete_connection = respond  # type: ignore[attr-defined]

    if not hasattr(GlueResponse, "reset_job_bookmark"):
        def reset_job_bookmark(response: Any) -> ActionResult:
            name = response._get_param("JobName")
            response.glue_backend.get_job(name)  # EntityNotFoundException for an unknown job, as AWS
            return ActionResult({"JobBookmarkEntry": {"JobName": name, "Version": 0, "Run": 0, "Attempt": 0}})

        GlueResponse.reset_job_bookmark = reset_job_bookmark  # type: ignore[attr-defined]

    from moto.core.utils import utcnow
    from moto.firehose.models import FirehoseBackend
    from moto.moto_api._internal import mock_random

    moto_path = FirehoseBackend._format_s3_object_path
    if not getattr(moto_path, "taught", False):
        def object_path(name: str, version_id: str, prefix: str) -> str:
            if "!{timestamp:" not in prefix:
                return moto_path(name, version_id, prefix)
            now = utcnow()
            return f"{_firehose_prefix(prefix, now)}{name}-{version_id}-{now:%Y-%m-%d-%H-%M-%S}-{mock_random.uuid4()}"

        object_path.taught = True  # type: ignore[attr-defined]
        FirehoseBackend._format_s3_object_path = staticmethod(object_path)  # type: ignore[method-assign,assignment]
    _teach_list_permissions()
    _teach_lf_tag_search()


def _teach_list_permissions() -> None:
    import json

    from moto.lakeformation.responses import LakeFormationResponse

    original = LakeFormationResponse.list_permissions
    if getattr(original, "taught", False):
        return

    def matches(wanted: dict[str, Any], got: dict[str, Any]) -> bool:
        if "Table" in wanted:
            spec = wanted["Table"]
            seen = got.get("Table") or got.get("TableWithColumns") or {}
            return (seen.get("DatabaseName"), seen.get("Name")) == (spec.get("DatabaseName"), spec.get("Name"))
        def norm(policy: dict[str, Any]) -> Any:
            return sorted((e["TagKey"], sorted(e["TagValues"])) for e in policy.get("Expression", []))
        return "LFTagPolicy" in got and norm(got["LFTagPolicy"]) == norm(wanted["LFTagPolicy"])

    def list_permissions(response: Any) -> str:
        resource = response._get_param("Resource") or {}
        if not ("LFTagPolicy" in resource or ("Table" in resource and resource["Table"].get("Name"))):
            return original(response)
        catalog_id = response._get_param("CatalogId") or response.current_account
        principal = response._get_param("Principal")
        grants = response.lakeformation_backend.grants.get(catalog_id)
        found = [p.to_external_form() for p in (grants.permissions if grants else ())
                 if (principal is None or p.principal == principal) and matches(resource, p.resource)]
        return json.dumps({"PrincipalResourcePermissions": found})

    list_permissions.taught = True  # type: ignore[attr-defined]
    LakeFormationResponse.list_permissions = list_permissions  # type: ignore[method-assign,assignment]


def _effective(assigned: list[dict[str, Any]], inherited: list[dict[str, Any]]) -> list[dict[str, Any]]:
    own = {t["TagKey"] for t in assigned}
    return [*[t for t in inherited if t["TagKey"] not in own], *assigned]


def _matches(tags: list[dict[str, Any]], expression: list[dict[str, Any]]) -> bool:
    values = {t["TagKey"]: set(t["TagValues"]) for t in tags}
    return all(values.get(e["TagKey"], set()) & set(e["TagValues"]) for e in expression)


def _page(response: Any, items: list[Any]) -> tuple[list[Any], str | None]:
    start = int(response._get_param("NextToken") or 0)
    size = int(response._get_param("MaxResults") or 100)
    return items[start:start + size], (str(start + size) if start + size < len(items) else None)


def _teach_lf_tag_search() -> None:
    import json

    from moto.lakeformation.models import LakeFormationBackend
    from moto.lakeformation.responses import LakeFormationResponse

    if hasattr(LakeFormationResponse, "search_tables_by_lf_tags"):
        return

    def add_lf_tags_to_resource(backend: Any, catalog_id: str, resource: dict[str, Any],
                                tags: list[dict[str, Any]]) -> list[dict[str, Any]]:
        # AWS adds (a key assigned again takes the new values); moto replaced the whole list.
        defined = backend.list_lf_tags(catalog_id)
        failures = [{"LFTag": t, "Error": {"ErrorCode": "EntityNotFoundException",
                                           "ErrorMessage": "Tag or tag value does not exist."}}
                    for t in tags if t["TagKey"] not in defined or not set(t["TagValues"]) <= set(defined[t["TagKey"]])]
        if failures:
            return failures
        tags = [{"CatalogId": catalog_id, "TagKey": t["TagKey"], "TagValues": list(t["TagValues"])} for t in tags]
        keys: list[tuple[Any, ...]] = []
        store: dict[tuple[Any, ...], list[dict[str, Any]]]
        if "Database" in resource:
            store, keys = backend.lf_database_tags, [(catalog_id, resource["Database"]["Name"])]
        elif "Table" in resource:
            spec = resource["Table"]
            store, keys = backend.lf_table_tags, [(catalog_id, spec["DatabaseName"], spec["Name"])]
        else:
            spec = resource["TableWithColumns"]
            store = backend.lf_columns_tags
            keys = [(catalog_id, spec["DatabaseName"], spec["Name"], c) for c in spec["ColumnNames"]]
        for key in keys:
            store[key] = _effective(tags, store.get(key) or [])
        return []

    LakeFormationBackend.add_lf_tags_to_resource = add_lf_tags_to_resource  # type: ignore[method-assign,assignment]

    def search_databases(response: Any) -> str:
        backend = response.lakeformation_backend
        expression = response._get_param("Expression") or []
        found = [{"Database": {"CatalogId": key[0], "Name": key[1]}, "LFTags": tags}
                 for key, tags in sorted(backend.lf_database_tags.items()) if tags and _matches(tags, expression)]
        page, token = _page(response, found)
        return json.dumps({"DatabaseList": page, **({"NextToken": token} if token else {})})

    def search_tables(response: Any) -> str:
        backend = response.lakeformation_backend
        expression = response._get_param("Expression") or []
        # The first page computes the answer, later pages of the same search read it (linear, not per page).
        cached = getattr(backend, "taught_table_search", None)
        if response._get_param("NextToken") and cached and cached[0] == json.dumps(expression, sort_keys=True):
            found = cached[1]
        else:
            found = _tables_matching(response, backend, expression)
            backend.taught_table_search = (json.dumps(expression, sort_keys=True), found)
        page, token = _page(response, found)
        return json.dumps({"TableList": page, **({"NextToken": token} if token else {})})

    def _tables_matching(response: Any, backend: Any, expression: list[dict[str, Any]]) -> list[dict[str, Any]]:
        tables = set(backend.lf_table_tags) | {key[:3] for key in backend.lf_columns_tags}
        columns_of: dict[tuple[Any, ...], list[tuple[str, list[dict[str, Any]]]]] = {}
        for column, tags in sorted(backend.lf_columns_tags.items()):
            if tags:
                columns_of.setdefault(column[:3], []).append((column[3], tags))
        from moto.glue.models import glue_backends

        glue = glue_backends[response.current_account][response.region]
        for database in glue.databases.values():  # tables inherit their database's tags
            if backend.lf_database_tags.get((response.current_account, database.name)):
                tables |= {(response.current_account, database.name, name) for name in database.tables}
        found = []
        for key in sorted(tables):
            on_database = backend.lf_database_tags.get(key[:2]) or []
            on_table = _effective(backend.lf_table_tags.get(key) or [], on_database)
            columns: list[dict[str, Any]] = [{"Name": name, "LFTags": _effective(tags, on_table)}
                                             for name, tags in columns_of.get(key, [])]
            if _matches(on_table, expression) or any(_matches(c["LFTags"], expression) for c in columns):
                found.append({"Table": {"CatalogId": key[0], "DatabaseName": key[1], "Name": key[2]},
                              "LFTagOnDatabase": on_database, "LFTagsOnTable": on_table, "LFTagsOnColumns": columns})
        return found

    LakeFormationResponse.search_databases_by_lf_tags = search_databases  # type: ignore[attr-defined]
    LakeFormationResponse.search_tables_by_lf_tags = search_tables  # type: ignore[attr-defined]
    from moto.lakeformation import urls

    for action in ("SearchDatabasesByLFTags", "SearchTablesByLFTags"):
        urls.url_paths[f"{{0}}/{action}$"] = urls.response.dispatch


def main(argv: list[str] | None = None) -> None:
    """``moto.server``'s command line, serving the taught moto."""
    from moto.server import main as serve

    teach_moto()
    serve(argv)


if __name__ == "__main__":
    main()
