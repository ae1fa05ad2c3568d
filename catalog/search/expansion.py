"""Query-time glossary expansion and question scaffolding (pure: no ORM, no I/O).

A query is expanded with the other forms (name, synonyms, abbreviations) of the approved
glossary terms it mentions, at query time, so a glossary change needs no reindex. The table of
forms comes from ``glossary.queries.expansion_table`` (cached there); this module only matches
query words against it and says which words of a query are scaffolding.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from catalog.search.words import singular, split_words

# The words a question is built from rather than what it asks about ("which table has", "how
# many", "each", "did we"): they still count, but little, so one of them never outweighs or
# empties a real word. Deliberately short: a domain word here would be lost to every query.
SCAFFOLDING = frozenset("""
a about all an and any are as at be by can could data dataset did do does each every find for from get give
given got had has have how i in is it its list me many much my of on or our per show table than that the their
there these this those to us was we were what when where which who whose with would you your
""".split())
# Longest run of query words looked up as one glossary form ("per member per month").
MAX_FORM_WORDS = 4


def form_key(text: str) -> str:
    """How a glossary form and a run of query words are compared: singular words joined by spaces."""
    return " ".join(singular(w) for w in split_words(text))


@dataclass(frozen=True)
class Expansion:
    """Query words ``start:end`` (``typed``) mean glossary term ``term``; ``alternatives`` are its other forms."""

    start: int
    end: int
    typed: str
    term: str
    alternatives: tuple[tuple[str, ...], ...]

    @property
    def width(self) -> int:
        return self.end - self.start

    def labels(self) -> list[str]:
        return [f"{' '.join(alt)} ← {self.typed}" for alt in self.alternatives]


# form key → (term name, every form of the term as singular word tuples)
ExpansionTable = Mapping[str, tuple[str, tuple[tuple[str, ...], ...]]]


def expand(words: Sequence[str], table: ExpansionTable) -> list[Expansion]:
    """The glossary forms among ``words`` (longest first, no overlap), each with its alternatives."""
    if not table:
        return []
    keys = [singular(w) for w in words]
    found: list[Expansion] = []
    i = 0
    while i < len(keys):
        for width in range(min(MAX_FORM_WORDS, len(keys) - i), 0, -1):
            key = " ".join(keys[i:i + width])
            entry = table.get(key)
            if entry is None:
                continue
            term, forms = entry
            alternatives = tuple(f for f in forms if " ".join(f) != key)
            if alternatives:
                found.append(Expansion(i, i + width, " ".join(words[i:i + width]), term, alternatives))
            i += width - 1
            break
        i += 1
    return found


def content_positions(words: Sequence[str], expansions: Sequence[Expansion] = ()) -> set[int]:
    """Positions of the words a query is about: not scaffolding, or part of a glossary form.

    A query made only of scaffolding words is about all of them.
    """
    in_forms = {i for e in expansions for i in range(e.start, e.end)}
    content = {i for i, w in enumerate(words) if w not in SCAFFOLDING or i in in_forms}
    return content or set(range(len(words)))
