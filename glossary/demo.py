"""The demo lake's business glossary (glossary/fixtures/demo_glossary.csv), as its stewards wrote it.

Loaded by ``manage.py seed_demo_lake`` through the same CSV import stewards use, so loading it
again changes nothing; the relevance tests and bench/search.py load it too.
"""

from __future__ import annotations

from pathlib import Path

from glossary.csv_io import ImportPlan, apply_import
from identity.roles import Role

DEMO_GLOSSARY = Path(__file__).resolve().parent / "fixtures" / "demo_glossary.csv"


def load_demo_glossary() -> ImportPlan:
    """Import the demo glossary as the system (an admin role, no user); returns what changed."""
    return apply_import(DEMO_GLOSSARY.read_text(encoding="utf-8"), actor=None, role=Role("admin"))
