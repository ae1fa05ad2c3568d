"""Catalog sources: small classes that read a metadata catalog and yield typed records.

Register a source type here by its lazy import path; the sync service asks the
registry, so adding a source never touches the reconcile code.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

SOURCES: dict[str, str] = {
    "glue": "catalog.sources.glue.GlueSource",
}


def source_class(kind: str) -> Any:
    """The source class registered as ``kind``; raises KeyError naming it when unknown."""
    try:
        path = SOURCES[kind]
    except KeyError:
        raise KeyError(f"unknown catalog source {kind!r}; known: {', '.join(sorted(SOURCES))}") from None
    module, _, name = path.rpartition(".")
    return getattr(import_module(module), name)
