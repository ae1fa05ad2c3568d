"""The README's architecture diagram names only code that exists where it says: every dotted name
in it (``catalog.services.sync.refresh_tables``) is a module, or something defined in that module
(a name it merely imports does not count: ``catalog.tasks.refresh_tables`` is not a task)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

from django.conf import settings

APPS = ("portal", "identity", "catalog", "glossary", "lineage", "ingestion_wizard", "workspaces", "access", "queries",
        "agents")
DOTTED = re.compile(r"\b(?:%s)(?:\.[a-z_][a-z0-9_]*)+" % "|".join(APPS))


def diagram() -> str:
    readme = (Path(settings.BASE_DIR) / "README.md").read_text()
    section = readme.split("## Architecture", 1)[1]
    return section.split("```", 2)[1]


def resolves(name: str) -> bool:
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        module = target.__name__
        for attribute in parts[cut:]:
            if not hasattr(target, attribute):
                return False
            target = getattr(target, attribute)
        defined_in = getattr(target, "__module__", module)
        return cut == len(parts) or defined_in == module
    return False


def test_the_diagram_names_only_code_that_exists() -> None:
    names = sorted(set(DOTTED.findall(diagram())))

    assert len(names) > 15
    assert [name for name in names if not resolves(name)] == []


def test_a_name_only_imported_by_the_module_does_not_count() -> None:
    assert resolves("catalog.services.sync.refresh_tables")
    assert not resolves("catalog.tasks.refresh_tables")
