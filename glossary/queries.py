"""Read helpers of the glossary: term lists, a term's datasets and columns, and what search asks of it."""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any

from django.db.models import Count, Max, QuerySet
from django.http import Http404

from catalog.search.expansion import ExpansionTable, form_key
from catalog.search.words import split_words, singular
from glossary.models import SynonymSuggestion, Term, TermLink
from glossary.services import tables_q
from identity.roles import Role, table_filter_q

_cache_lock = threading.Lock()
_cached: tuple[tuple[Any, ...], ExpansionTable] | None = None


def terms() -> QuerySet[Term]:
    """Every term (the glossary is the whole business's: every role reads it)."""
    return Term.objects.select_related("parent").annotate(link_count=Count("links"))


def get_term(pk: int) -> Term:
    term = Term.objects.select_related("parent").filter(pk=pk).first()
    if term is None:
        raise Http404(f"No glossary term {pk}.")
    return term


def _version() -> tuple[Any, ...]:
    """Changes whenever a term is added, changed or deleted (one small aggregate per search)."""
    found = Term.objects.aggregate(latest=Max("updated_at"), count=Count("id"))
    return found["latest"], found["count"]


def _forms(term: Term) -> tuple[tuple[str, ...], ...]:
    keys = dict.fromkeys(tuple(singular(w) for w in split_words(form)) for form in term.forms)
    return tuple(k for k in keys if k)


def expansion_table() -> ExpansionTable:
    """Form → (term, its forms) over the *approved* terms, rebuilt only when the glossary changed.

    Query-time expansion reads this, so approving, editing or deprecating a term changes the
    next search without a reindex. A form two approved terms share expands to the first by name.
    """
    global _cached
    version = _version()
    cached = _cached
    if cached is not None and cached[0] == version:
        return cached[1]
    with _cache_lock:
        table: dict[str, tuple[str, tuple[tuple[str, ...], ...]]] = {}
        for term in Term.objects.filter(state=Term.State.APPROVED).order_by("name"):
            forms = _forms(term)
            for form in term.forms:
                table.setdefault(form_key(form), (term.name, forms))
        table.pop("", None)
        _cached = (version, table)
    return table


def terms_of_tables(tables: list[tuple[int, str, str]]) -> dict[int, tuple[list[str], str]]:
    """Per table id: the approved terms linked to it or its columns, and all their forms as text."""
    if not tables:
        return {}
    by_name = {(database, name): table_id for table_id, database, name in tables}
    found: dict[int, dict[int, Term]] = defaultdict(dict)
    links = TermLink.objects.filter(tables_q(by_name, name_field="table_name"),
                                    term__state=Term.State.APPROVED).select_related("term")
    for link in links:
        found[by_name[(link.database_name, link.table_name)]][link.term_id] = link.term
    return {
        table_id: (sorted(t.name for t in linked.values()), " ".join(f for t in linked.values() for f in t.forms))
        for table_id, linked in found.items()
    }


def term_datasets(term: Term, role: Role | None) -> list[dict[str, Any]]:
    """The term's live datasets the role may see, each with the linked columns:
    [{"qualified_name", "description", "columns"}]."""
    from catalog.models import Table

    grouped: dict[tuple[str, str], list[str]] = defaultdict(list)
    for link in term.links.all():
        columns = grouped[(link.database_name, link.table_name)]
        if link.column_name:
            columns.append(link.column_name)
    if not grouped:
        return []
    visible = {(t.database_name, t.name): t
               for t in Table.objects.live().filter(tables_q(grouped)).filter(table_filter_q(role))}
    rows = []
    for (database, name), columns in sorted(grouped.items()):
        table = visible.get((database, name))
        if table is not None:
            rows.append({"qualified_name": f"{database}.{name}", "description": table.description,
                         "columns": columns})
    return rows


def suggestions(status: str = "offered") -> QuerySet[SynonymSuggestion]:
    return SynonymSuggestion.objects.filter(status=status)


def matching_terms(prefix: str, limit: int = 5) -> list[dict[str, str]]:
    """Approved terms whose name, synonym or abbreviation starts with ``prefix`` (search suggestions)."""
    key = form_key(prefix)
    if not key:
        return []
    table = expansion_table()
    names: dict[str, str] = {}
    for form, (term, _) in table.items():
        if form.startswith(key) and term not in names:
            names[term] = form
            if len(names) >= limit * 4:
                break
    ranked = sorted(names.items(), key=lambda item: (not item[1].startswith(key + " ") and item[1] != key, item[0]))
    ids = dict(Term.objects.filter(name__in=[n for n, _ in ranked[:limit]]).values_list("name", "pk"))
    return [{"term": name, "matched": form, "id": str(ids[name])} for name, form in ranked[:limit] if name in ids]
