"""Suggested synonyms mined from the catalog itself, offered to stewards and never applied unapproved.

Short forms live in identifiers and their meanings in prose: ``rx_claim_id`` is commented
"pharmacy claim identifier". So a short word of table and column *names* that keeps appearing
with the same long word of their *descriptions and comments* is offered as its abbreviation
(``rx`` → ``pharmacy``). A suggestion changes nothing until a steward accepts it: then the short
form joins the term of that meaning (or a new *draft* term, which search ignores until approved).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from django.db import transaction
from django.utils import timezone

from catalog.search.expansion import SCAFFOLDING, form_key
from catalog.search.words import singular, split_words
from glossary import services
from glossary.models import SynonymSuggestion, Term
from identity import audit
from identity.roles import Role

SHORT_FORM_CHARS = (2, 4)
MIN_MEANING_CHARS = 5
MIN_EVIDENCE = 3
# Share of a short form's appearances that must come with the meaning (rules out generic pairs).
MIN_SHARE = 0.3
MEANINGS_PER_SHORT_FORM = 2
# Identifier words too generic to be anyone's abbreviation.
_GENERIC = frozenset({"id", "key", "sk", "pk", "fk", "num", "no", "cd", "code", "flag", "type", "date", "name",
                      "desc", "tmp", "int", "str", "raw", "all", "new", "old", "ind", "seq", "src", "tgt", "ts"})


def _units() -> Iterator[tuple[str, str]]:
    """(identifier, prose) of every live table and column: names beside descriptions and comments."""
    from catalog.models import Column, Table

    yield from Table.objects.live().values_list("name", "description").iterator(chunk_size=5000)
    yield from (Column.objects.filter(table__deleted_at__isnull=True).exclude(comment="")
                .values_list("name", "comment").iterator(chunk_size=20000))


def _is_short_form(word: str) -> bool:
    return (SHORT_FORM_CHARS[0] <= len(word) <= SHORT_FORM_CHARS[1] and word.isalpha() and word not in _GENERIC
            and word not in SCAFFOLDING)


def co_occurrences(units: Iterable[tuple[str, str]]) -> list[tuple[str, str, int, list[str]]]:
    """(short form, meaning, evidence, examples) worth offering, most evidence first (pure)."""
    short_counts: Counter[str] = Counter()
    pairs: Counter[tuple[str, str]] = Counter()
    examples: dict[tuple[str, str], list[str]] = defaultdict(list)
    for identifier, prose in units:
        shorts = {w for w in split_words(identifier) if _is_short_form(w)}
        if not shorts:
            continue
        named = {singular(w) for w in split_words(identifier)}
        meanings = {singular(w) for w in split_words(prose or "")
                    if len(w) >= MIN_MEANING_CHARS and w.isalpha() and w not in SCAFFOLDING} - named
        short_counts.update(shorts)
        for short in shorts:
            for meaning in meanings:
                pairs[(short, meaning)] += 1
                if len(examples[(short, meaning)]) < 3:
                    examples[(short, meaning)].append(identifier)
    by_short: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for (short, meaning), count in pairs.items():
        if count >= MIN_EVIDENCE and count / short_counts[short] >= MIN_SHARE:
            by_short[short].append((count, meaning))
    found = []
    for short, candidates in by_short.items():
        for count, meaning in sorted(candidates, reverse=True)[:MEANINGS_PER_SHORT_FORM]:
            found.append((short, meaning, count, examples[(short, meaning)]))
    return sorted(found, key=lambda f: (-f[2], f[0], f[1]))


def known_forms() -> set[str]:
    """Form keys of every term, whatever its state: no need to suggest what the glossary has."""
    return {form_key(f) for term in Term.objects.all() for f in term.forms}


def refresh_suggestions(units: Iterable[tuple[str, str]] | None = None) -> int:
    """Mine the catalog and offer new suggestions (decided ones stay decided); returns how many are new."""
    known = known_forms()
    found = [f for f in co_occurrences(_units() if units is None else units) if f[0] not in known]
    existing = set(SynonymSuggestion.objects.values_list("short_form", "meaning"))
    new = [SynonymSuggestion(short_form=s, meaning=m, evidence=n, examples=ex) for s, m, n, ex in found
           if (s, m) not in existing]
    with transaction.atomic():
        SynonymSuggestion.objects.bulk_create(new, ignore_conflicts=True)
        for short, meaning, count, ex in found:
            if (short, meaning) in existing:
                SynonymSuggestion.objects.filter(short_form=short, meaning=meaning,
                                                 status=SynonymSuggestion.Status.OFFERED).update(evidence=count,
                                                                                                 examples=ex)
    return len(new)


def _term_meaning(meaning: str) -> Term | None:
    key = form_key(meaning)
    for term in Term.objects.exclude(state=Term.State.DEPRECATED).order_by("name"):
        if any(form_key(f) == key for f in term.forms):
            return term
    return None


def accept(suggestion: SynonymSuggestion, *, actor: Any, role: Role | None, ip: str | None = None) -> Term:
    """The short form joins the term of that meaning, or a new draft term (owned by the role's hub)."""
    if suggestion.status != SynonymSuggestion.Status.OFFERED:
        raise services.GlossaryError(f"This suggestion was {suggestion.status} already.", "status")
    with transaction.atomic():
        term = _term_meaning(suggestion.meaning)
        if term is not None:
            term = services.add_forms(term, abbreviations=[suggestion.short_form], actor=actor, role=role, ip=ip)
        else:
            term = services.create_term(services.TermInput(
                name=suggestion.meaning, abbreviations=[suggestion.short_form], owner_hub=(role.hub or "") if role else "",
                definition=f"Suggested from the catalog: {suggestion.short_form} appears beside "
                           f"{suggestion.meaning} in {suggestion.evidence} places.",
            ), actor=actor, role=role, ip=ip)
        _decided(suggestion, str(SynonymSuggestion.Status.ACCEPTED), actor, term)
    return term


def dismiss(suggestion: SynonymSuggestion, *, actor: Any, role: Role | None, ip: str | None = None) -> None:
    """Never offer this pair again (stewards of any hub, and admins, may dismiss)."""
    if not (role is not None and services.may_keep_some_terms(role)):
        raise services.GlossaryForbidden("Only stewards and admins decide on suggestions.")
    with transaction.atomic():
        _decided(suggestion, str(SynonymSuggestion.Status.DISMISSED), actor, None)
        audit.record(actor, "glossary.dismiss_suggestion", role=role, ip=ip,
                     target=f"{suggestion.short_form} → {suggestion.meaning}")


def _decided(suggestion: SynonymSuggestion, status: str, actor: Any, term: Term | None) -> None:
    suggestion.status, suggestion.term = status, term
    suggestion.decided_by = actor if getattr(actor, "pk", None) else None
    suggestion.decided_at = timezone.now()
    suggestion.save(update_fields=["status", "term", "decided_by", "decided_at"])
