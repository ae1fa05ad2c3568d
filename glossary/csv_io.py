"""Lossless CSV export and import of the glossary, with the diff an import would make shown first.

One row per term; lists (synonyms, abbreviations, datasets, columns) are joined by ``|`` (no value
may hold one, so splitting gives them back exactly); ``parent`` names the parent term, in the file
or already in the glossary, so a hierarchy of any depth survives in any row order. Terms missing
from a file are kept: an import adds and changes, it never deletes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from glossary.models import Term, TermLink
from glossary.services import (
    LIST_SEPARATOR,
    GlossaryError,
    GlossaryForbidden,
    TermInput,
    term_diff,
    tables_named,
    as_input,
    check_may_edit,
    clean_input,
    link_rows,
    reindex_later,
)
from identity import audit
from identity.roles import Role

COLUMNS = ("name", "parent", "definition", "synonyms", "abbreviations", "owner_hub", "state", "datasets", "columns")
_LISTS = ("synonyms", "abbreviations", "datasets", "columns")
MAX_IMPORT_ROWS = 50_000
# Names of changed terms kept in the import's audit row (the counts are always complete).
AUDITED_NAMES = 1000


def export_csv(terms: Iterable[Term] | None = None) -> str:
    """The CSV of ``terms`` (all of them by default), parents before children where possible."""
    if terms is None:
        terms = Term.objects.select_related("parent").prefetch_related("links").order_by("name")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for term in terms:
        data = as_input(term)
        writer.writerow([LIST_SEPARATOR.join(v) if name in _LISTS else v
                         for name, v in ((n, getattr(data, n)) for n in COLUMNS)])
    return out.getvalue()


@dataclass
class ImportPlan:
    """What an import would do: terms added and changed (with each field's from/to), unchanged, errors."""

    added: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)
    rows: list[TermInput] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {"added": self.added, "changed": self.changed, "unchanged": self.unchanged, "errors": self.errors}


def parse_csv(text: str) -> tuple[list[TermInput], list[str]]:
    """Rows of a glossary CSV as cleaned TermInputs, and "line N: message" for every bad row."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in reader.fieldnames or []]
    if "name" not in header:
        return [], [f"line 1: the header must name the columns {', '.join(COLUMNS)}."]
    unknown = sorted(set(header) - set(COLUMNS))
    if unknown:
        return [], [f"line 1: unknown column(s) {', '.join(unknown)}; the columns are {', '.join(COLUMNS)}."]
    rows: list[TermInput] = []
    errors: list[str] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(reader, start=2):
        if number - 1 > MAX_IMPORT_ROWS:
            errors.append(f"line {number}: at most {MAX_IMPORT_ROWS} terms per import.")
            break
        values = {k.strip(): (v or "") for k, v in raw.items() if k}
        try:
            data = clean_input(TermInput(
                name=values.get("name", ""), definition=values.get("definition", ""), parent=values.get("parent", ""),
                owner_hub=values.get("owner_hub", ""), state=values.get("state", "") or "draft",
                **{name: values.get(name, "").split(LIST_SEPARATOR) for name in _LISTS},
            ))
        except GlossaryError as exc:
            errors.append(f"line {number}: {exc}")
            continue
        if data.name.lower() in seen:
            errors.append(f"line {number}: {data.name!r} is also on line {seen[data.name.lower()]}.")
            continue
        seen[data.name.lower()] = number
        rows.append(data)
    return rows, errors


def _cycles(rows: list[TermInput], existing: dict[str, Term]) -> list[str]:
    """Terms whose chain of parents (after the import) comes back to them."""
    parent_of = {name: (t.parent.name.lower() if t.parent else "") for name, t in existing.items()}
    parent_of.update({r.name.lower(): r.parent.lower() for r in rows})
    found = []
    for row in rows:
        seen, cursor = set(), row.name.lower()
        while cursor:
            if cursor in seen:
                found.append(f"{row.name!r}: its parents form a cycle.")
                break
            seen.add(cursor)
            cursor = parent_of.get(cursor, "")
    return found


def plan_import(text: str, role: Role | None) -> ImportPlan:
    """The diff importing ``text`` would make, checked as the role; nothing is written."""
    rows, errors = parse_csv(text)
    plan = ImportPlan(errors=errors)
    existing = {t.name.lower(): t for t in Term.objects.select_related("parent").prefetch_related("links")}
    file_names = {r.name.lower() for r in rows}
    for row in rows:
        current = existing.get(row.name.lower())
        try:
            check_may_edit(role, row.owner_hub)
            if current is not None:
                check_may_edit(role, current.owner_hub)
        except GlossaryForbidden as exc:
            plan.errors.append(f"{row.name!r}: {exc}")
            continue
        if row.parent and row.parent.lower() not in file_names and row.parent.lower() not in existing:
            plan.errors.append(f"{row.name!r}: no term {row.parent!r} to be the parent.")
            continue
        before = as_input(current) if current is not None else None
        changes = term_diff(before, row)
        if current is None:
            plan.added.append({"name": row.name, "changes": changes})
        elif changes:
            plan.changed.append({"name": row.name, "changes": changes})
        else:
            plan.unchanged += 1
        plan.rows.append(row)
    plan.errors.extend(_cycles(rows, existing))
    return plan


def _set_parents(pairs: list[tuple[int, int | None]], chunk: int = 5000) -> None:
    """``parent_id`` of many terms in a few statements (a CASE per row, as bulk_update writes, is slow at 10k)."""
    from django.db import connection

    with connection.cursor() as cursor:
        for start in range(0, len(pairs), chunk):
            part = pairs[start:start + chunk]
            values = ", ".join(["(%s::bigint, %s::bigint)"] * len(part))
            cursor.execute(
                f"UPDATE glossary_term AS t SET parent_id = v.parent FROM (VALUES {values}) AS v(id, parent) "
                "WHERE t.id = v.id",
                [value for pair in part for value in pair],
            )


def apply_import(text: str, *, actor: Any, role: Role | None, ip: str | None = None) -> ImportPlan:
    """Import ``text`` as planned by ``plan_import``; raises GlossaryError (nothing written) when the
    plan has errors. Bulk writes: 10,000 terms import in seconds (bench/glossary.py)."""
    with transaction.atomic():
        plan = plan_import(text, role)
        if plan.errors:
            raise GlossaryError(f"{len(plan.errors)} problem(s), nothing imported: " + "; ".join(plan.errors[:5]))
        touched = {e["name"].lower() for e in (*plan.added, *plan.changed)}
        existing = {t.name.lower(): t for t in Term.objects.prefetch_related("links")}
        befores = {name: as_input(existing[name]) for name in touched if name in existing}
        user = actor if getattr(actor, "pk", None) else None
        rows = [r for r in plan.rows if r.name.lower() in touched]
        new = [Term(name=r.name, definition=r.definition, synonyms=r.synonyms, abbreviations=r.abbreviations,
                    owner_hub=r.owner_hub, state=r.state, created_by=user, updated_by=user)
               for r in rows if r.name.lower() not in existing]
        Term.objects.bulk_create(new, batch_size=2000)
        terms = {t.name.lower(): t for t in Term.objects.all()}
        changed_terms, updated = [], []
        for row in rows:
            term = terms[row.name.lower()]
            if row.name.lower() in existing:
                term.name, term.definition, term.owner_hub, term.state = row.name, row.definition, row.owner_hub, row.state
                term.synonyms, term.abbreviations, term.updated_by = row.synonyms, row.abbreviations, user
                updated.append(term)
            term.parent = terms[row.parent.lower()] if row.parent else None
            changed_terms.append(term)
        # New terms were created whole; only changed ones need every field written again.
        Term.objects.bulk_update(updated, ["name", "definition", "owner_hub", "state", "synonyms", "abbreviations",
                                           "updated_by"], batch_size=500)
        _set_parents([(t.pk, t.parent.pk if t.parent else None) for t in changed_terms])
        TermLink.objects.filter(term__in=changed_terms).delete()
        TermLink.objects.bulk_create([link for t, r in zip(changed_terms, rows) for link in link_rows(t, r)],
                                     batch_size=5000)
        names = sorted(touched)
        audit.record(actor, "glossary.import", role=role, target=f"{len(names)} terms", ip=ip, details={
            "added": len(plan.added), "changed": len(plan.changed), "unchanged": plan.unchanged,
            "terms": names[:AUDITED_NAMES],
        })
        reindex_later(tables_named(*rows, *befores.values()))
    return plan
