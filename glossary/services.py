"""Every write to the glossary: terms, their links, imports and suggestions (pages, API and commands alike).

Who may write: stewards of a term's owner hub and admins (``identity.roles.may_curate``). Every
change is audited (``identity.audit``) and, once committed, the datasets whose linked terms changed
are indexed again (the term facet and the glossary words of their documents). Expanding a query
with synonyms needs no reindex: search reads approved terms at query time (glossary.queries).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q

from glossary.models import Term, TermLink
from identity import audit
from identity.roles import Role, may_curate

log = logging.getLogger(__name__)

MAX_FORM_CHARS = 100
MAX_FORMS = 50
MAX_LINKS = 500
# CSV cells hold lists joined by this character, so no single value may contain it.
LIST_SEPARATOR = "|"
_QUALIFIED = re.compile(r"^[^.\s|]+\.[^.\s|]+$")
_COLUMN = re.compile(r"^[^.\s|]+\.[^.\s|]+\.[^.\s|]+$")


class GlossaryError(ValueError):
    """A value the glossary cannot take (``field`` names it; a 400 or a form error)."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class GlossaryForbidden(PermissionError):
    """The role may not change terms of that hub (a 403)."""


@dataclass
class TermInput:
    """A term as a form, the API or one CSV row gives it (``parent`` by name; links by catalog names)."""

    name: str
    definition: str = ""
    synonyms: list[str] = field(default_factory=list)
    abbreviations: list[str] = field(default_factory=list)
    parent: str = ""
    owner_hub: str = ""
    state: str = "draft"
    datasets: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)


def _clean_list(values: Iterable[str], name: str, *, pattern: re.Pattern[str] | None = None,
                limit: int = MAX_FORMS) -> list[str]:
    cleaned: dict[str, None] = {}
    for raw in values:
        value = " ".join(str(raw).split())
        if not value:
            continue
        if LIST_SEPARATOR in value:
            raise GlossaryError(f"{value!r}: a {name} value may not contain {LIST_SEPARATOR!r}.", name)
        if len(value) > (255 * 3 if pattern else MAX_FORM_CHARS):
            raise GlossaryError(f"{value[:40]!r}…: too long.", name)
        if pattern is not None and not pattern.match(value):
            shape = "database.table.column" if pattern is _COLUMN else "database.table"
            raise GlossaryError(f"{value!r} is not a {shape} name.", name)
        cleaned[value] = None
    if len(cleaned) > limit:
        raise GlossaryError(f"At most {limit} {name} per term.", name)
    return list(cleaned)


def clean_input(data: TermInput) -> TermInput:
    """``data`` with whitespace normalised and every value checked; raises GlossaryError naming the field."""
    name = " ".join(data.name.split())
    if not name:
        raise GlossaryError("A term needs a name.", "name")
    if len(name) > 200:
        raise GlossaryError("A term's name is at most 200 characters.", "name")
    if LIST_SEPARATOR in name:
        raise GlossaryError(f"A term's name may not contain {LIST_SEPARATOR!r}.", "name")
    if data.state not in Term.State.values:
        raise GlossaryError(f"state must be one of {', '.join(Term.State.values)}, not {data.state!r}.", "state")
    hub = data.owner_hub.strip()
    if not hub or len(hub) > 64:
        raise GlossaryError("A term needs an owner hub (at most 64 characters).", "owner_hub")
    return TermInput(
        name=name, definition=data.definition.strip(), parent=" ".join(data.parent.split()), owner_hub=hub,
        state=data.state,
        synonyms=[s for s in _clean_list(data.synonyms, "synonyms") if s.lower() != name.lower()],
        abbreviations=_clean_list(data.abbreviations, "abbreviations"),
        # Links have no order of their own: sorted, as the database lists them back (lossless export).
        datasets=sorted(_clean_list(data.datasets, "datasets", pattern=_QUALIFIED, limit=MAX_LINKS)),
        columns=sorted(_clean_list(data.columns, "columns", pattern=_COLUMN, limit=MAX_LINKS)),
    )


def check_may_edit(role: Role | None, hub: str) -> None:
    """Raises GlossaryForbidden unless the role keeps terms of ``hub`` (its stewards, admins)."""
    if not may_curate(role, hub):
        label = role.label if role is not None else "no role"
        raise GlossaryForbidden(f"Your role ({label}) may not change glossary terms of hub {hub!r}.")


def _find_parent(name: str, *, term: Term | None = None, known: dict[str, Term] | None = None) -> Term | None:
    """The parent named ``name`` (None for ""); raises GlossaryError when it is unknown or makes a cycle."""
    if not name:
        return None
    parent = (known or {}).get(name.lower()) or Term.objects.filter(name__iexact=name).first()
    if parent is None:
        raise GlossaryError(f"No term {name!r} to be the parent.", "parent")
    if term is not None and term.pk is not None:
        seen, cursor = set(), parent
        while cursor is not None:
            if cursor.pk == term.pk or cursor.pk in seen:
                raise GlossaryError(f"{name!r} cannot be the parent: it is {term.name!r} or below it.", "parent")
            seen.add(cursor.pk)
            cursor = cursor.parent
    return parent


def link_rows(term: Term, data: TermInput) -> list[TermLink]:
    rows = [TermLink(term=term, database_name=d.split(".", 1)[0], table_name=d.split(".", 1)[1]) for d in data.datasets]
    for column in data.columns:
        database, table, name = column.split(".", 2)
        rows.append(TermLink(term=term, database_name=database, table_name=table, column_name=name))
    return rows


def link_names(term: Term) -> tuple[list[str], list[str]]:
    """(datasets, columns) of a term as TermInput lists them, in a stable order."""
    datasets, columns = [], []
    for link in term.links.all():
        if link.column_name:
            columns.append(f"{link.qualified_name}.{link.column_name}")
        else:
            datasets.append(link.qualified_name)
    return sorted(datasets), sorted(columns)


def as_input(term: Term) -> TermInput:
    datasets, columns = link_names(term)
    return TermInput(name=term.name, definition=term.definition, synonyms=list(term.synonyms),
                     abbreviations=list(term.abbreviations), parent=term.parent.name if term.parent else "",
                     owner_hub=term.owner_hub, state=term.state, datasets=datasets, columns=columns)


def _apply(term: Term, data: TermInput, parent: Term | None, actor: Any) -> None:
    term.name, term.definition, term.owner_hub, term.state = data.name, data.definition, data.owner_hub, data.state
    term.synonyms, term.abbreviations, term.parent = data.synonyms, data.abbreviations, parent
    term.updated_by = actor if getattr(actor, "pk", None) else None


def term_diff(before: TermInput | None, after: TermInput) -> dict[str, Any]:
    """{field: {"from", "to"}} of what differs (every field for a new term)."""
    changes = {}
    for name in TermInput.__dataclass_fields__:
        old = getattr(before, name) if before is not None else None
        new = getattr(after, name)
        if old != new:
            changes[name] = {"from": old, "to": new}
    return changes


def tables_named(*inputs: TermInput | None) -> set[tuple[str, str]]:
    found = set()
    for data in inputs:
        if data is None:
            continue
        for name in [*data.datasets, *data.columns]:
            database, table = name.split(".")[:2]
            found.add((database, table))
    return found


def tables_q(pairs: Iterable[tuple[str, str]], database_field: str = "database_name", name_field: str = "name") -> Q:
    """A Q naming these (database, table) pairs: one ``name IN`` per database, so thousands stay cheap."""
    by_database: dict[str, list[str]] = {}
    for database, name in pairs:
        by_database.setdefault(database, []).append(name)
    query = Q(pk__in=[])
    for database, names in by_database.items():
        query |= Q(**{database_field: database, f"{name_field}__in": names})
    return query


def reindex_later(tables: Iterable[tuple[str, str]]) -> None:
    """After commit, index the live tables named (their term facet and glossary words changed)."""
    pairs = set(tables)
    if pairs:
        transaction.on_commit(lambda: _reindex(pairs))


def _reindex(pairs: set[tuple[str, str]]) -> None:
    from catalog.models import GlueCatalog, Table
    from catalog.search import indexer

    ids = list(Table.objects.live().filter(tables_q(pairs)).values_list("id", flat=True)) if pairs else []
    try:
        indexer.index_tables(ids)
    except indexer.IndexUnavailable as exc:
        # Marked stale: beat repairs the index once OpenSearch answers (catalog.search.repair).
        log.warning("glossary change not indexed yet for %d tables: %s", len(ids), exc)
        GlueCatalog.objects.filter(tables__id__in=ids).update(index_stale=True)


def create_term(data: TermInput, *, actor: Any, role: Role | None, ip: str | None = None) -> Term:
    """A new term; raises GlossaryForbidden (hub not the role's) or GlossaryError (a bad value)."""
    data = clean_input(data)
    check_may_edit(role, data.owner_hub)
    with transaction.atomic():
        if Term.objects.filter(name__iexact=data.name).exists():
            raise GlossaryError(f"A term named {data.name!r} exists already.", "name")
        term = Term(created_by=actor if getattr(actor, "pk", None) else None)
        _apply(term, data, _find_parent(data.parent), actor)
        term.save()
        TermLink.objects.bulk_create(link_rows(term, data))
        audit.record(actor, "glossary.create", role=role, target=term.name, ip=ip, details=term_diff(None, data))
        reindex_later(tables_named(data))
    return term


def update_term(term: Term, data: TermInput, *, actor: Any, role: Role | None, ip: str | None = None) -> Term:
    """Change a term (all fields as given); the role must keep both its old and its new hub."""
    data = clean_input(data)
    check_may_edit(role, term.owner_hub)
    check_may_edit(role, data.owner_hub)
    with transaction.atomic():
        term = Term.objects.select_for_update().get(pk=term.pk)
        before = as_input(term)
        if Term.objects.filter(name__iexact=data.name).exclude(pk=term.pk).exists():
            raise GlossaryError(f"A term named {data.name!r} exists already.", "name")
        changes = term_diff(before, data)
        if not changes:
            return term
        _apply(term, data, _find_parent(data.parent, term=term), actor)
        term.save()
        if "datasets" in changes or "columns" in changes:
            term.links.all().delete()
            TermLink.objects.bulk_create(link_rows(term, data))
        audit.record(actor, "glossary.update", role=role, target=term.name, ip=ip, details=changes)
        reindex_later(tables_named(before, data))
    return term


def delete_term(term: Term, *, actor: Any, role: Role | None, ip: str | None = None) -> None:
    """Remove a term; raises GlossaryError while other terms name it as their parent."""
    check_may_edit(role, term.owner_hub)
    with transaction.atomic():
        before = as_input(term)
        children = list(term.children.values_list("name", flat=True)[:5])
        if children:
            raise GlossaryError(f"{term.name!r} is the parent of {', '.join(children)}: move or delete those first.",
                                "parent")
        try:
            term.delete()
        except IntegrityError as exc:  # a child added meanwhile
            raise GlossaryError(f"{term.name!r} cannot be deleted now: {exc}") from exc
        audit.record(actor, "glossary.delete", role=role, target=before.name, ip=ip, details=term_diff(None, before))
        reindex_later(tables_named(before))


def add_forms(term: Term, *, synonyms: Sequence[str] = (), abbreviations: Sequence[str] = (), actor: Any,
              role: Role | None, ip: str | None = None) -> Term:
    """Add synonyms or abbreviations to a term (a steward accepting a suggestion), through update_term."""
    data = as_input(term)
    data.synonyms = [*data.synonyms, *synonyms]
    data.abbreviations = [*data.abbreviations, *abbreviations]
    return update_term(term, data, actor=actor, role=role, ip=ip)


def may_keep_some_terms(role: Role | None) -> bool:
    """Stewards (of their own hub) and admins keep terms: the glossary pages show them the tools."""
    return role is not None and may_curate(role, role.hub)
