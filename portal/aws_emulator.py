"""The local AWS emulator (moto), taught the calls the portal makes that it does not implement yet.

The embedded mode (``python -m portal.aws_emulator``) and the tests' in-process server both serve a
moto taught here, so provisioning code talks to it exactly as to AWS and has no emulator branch.
What is taught (each a no-op once moto implements it itself):
- Glue ``DeleteConnection`` (moto 5.2 creates and reads connections, but cannot delete them).
- Lake Formation ``ListPermissions`` for a table also lists the column grants on it (``TableWithColumns``,
  as AWS does; moto 5.2 drops them), and takes an ``LFTagPolicy`` resource (moto 5.2 refuses it), so
  a grant is read back the same way from moto and from AWS.
"""

from __future__ import annotations

from typing import Any


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

    _teach_list_permissions()


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


def main(argv: list[str] | None = None) -> None:
    """``moto.server``'s command line, serving the taught moto."""
    from moto.server import main as serve

    teach_moto()
    serve(argv)


if __name__ == "__main__":
    main()
