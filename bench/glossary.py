"""Benchmark of the glossary CSV import (issue 15): 10,000 terms must import in under 60 s.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/dh_glossary_bench python bench/glossary.py --terms 10000

Generates a glossary CSV of TERMS terms (a hierarchy five levels deep, synonyms, abbreviations,
dataset and column links), then times: the diff of the import (``plan_import``), the import itself
(``apply_import``, into an empty glossary), the export, and re-importing the unchanged export.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from portal.testing.databases import ensure_database  # noqa: E402


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dh_glossary_bench")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def glossary_csv(n_terms: int) -> str:
    """A CSV of ``n_terms`` terms: every term after the first 10 has a parent five levels deep at most."""
    from glossary.csv_io import COLUMNS

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for i in range(n_terms):
        parent = f"Term {(i - 10) // 5:05d}" if i >= 10 else ""
        writer.writerow([
            f"Term {i:05d}", parent, f"Definition of term {i}, as a steward writes it.",
            f"synonym {i} a|synonym {i} b", f"t{i}", ("finance", "claims", "clinical")[i % 3],
            ("approved", "draft", "deprecated")[i % 3], f"db_{i % 50}.table_{i}",
            f"db_{i % 50}.table_{i}.column_a|db_{i % 50}.table_{i}.column_b",
        ])
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--terms", type=int, default=10_000)
    args = parser.parse_args()
    setup_django()
    from glossary.csv_io import apply_import, export_csv, plan_import
    from glossary.models import Term
    from portal.roles import Role

    admin = Role("admin")
    Term.objects.update(parent=None)
    Term.objects.all().delete()
    text = glossary_csv(args.terms)
    started = time.perf_counter()
    plan = plan_import(text, admin)
    diff_seconds = time.perf_counter() - started
    assert not plan.errors, plan.errors[:3]
    started = time.perf_counter()
    apply_import(text, actor=None, role=admin)
    import_seconds = time.perf_counter() - started
    started = time.perf_counter()
    exported = export_csv()
    export_seconds = time.perf_counter() - started
    started = time.perf_counter()
    again = plan_import(exported, admin)
    reimport_seconds = time.perf_counter() - started
    lossless = exported == text and not again.added and not again.changed
    print(f"glossary import: {args.terms:,} terms (hierarchy, synonyms, abbreviations, {2 * args.terms:,} column and "
          f"{args.terms:,} dataset links)")
    print(f"diff (plan_import) {diff_seconds:.1f}s; import (apply_import) {import_seconds:.1f}s "
          f"(target < 60 s); export {export_seconds:.1f}s; diff of the unchanged export {reimport_seconds:.1f}s; "
          f"round trip lossless: {'yes' if lossless else 'NO'}")


if __name__ == "__main__":
    main()
