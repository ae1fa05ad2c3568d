"""The local AWS emulator (moto), taught the calls the portal makes that it does not implement yet.

The embedded mode (``python -m portal.aws_emulator``) and the tests' in-process server both serve a
moto taught here, so provisioning code talks to it exactly as to AWS and has no emulator branch.
What is taught (each a no-op once moto implements it itself):
- Glue ``DeleteConnection`` (moto 5.2 creates and reads connections, but cannot delete them).
- Glue ``ResetJobBookmark`` (an existing job's bookmark entry back to nothing; moto keeps no bookmarks).
- Firehose's ``!{timestamp:…}`` prefix expressions (moto writes the prefix as typed, then its own
  ``YYYY/MM/DD/HH/``; Firehose evaluates them in UTC and adds no time folders to such a prefix).
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


def main(argv: list[str] | None = None) -> None:
    """``moto.server``'s command line, serving the taught moto."""
    from moto.server import main as serve

    teach_moto()
    serve(argv)


if __name__ == "__main__":
    main()
