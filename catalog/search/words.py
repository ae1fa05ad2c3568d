"""Word splitting and loose word matching shared by indexing, querying and highlighting (pure).

Catalog names are identifiers, not prose: ``customer_orders``, ``CustomerOrders``,
``sales.customer-orders`` and ``HTTPServerLog`` must all read as words. OpenSearch's
standard tokenizer keeps ``customer_orders`` as one token and ``word_delimiter_graph``
is not available everywhere (osmem ignores it), so names are split here, at index
time and at query time alike, and the index only ever sees space-separated words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import lru_cache

# Runs of letters/digits between separators (anything not a letter or digit, underscore included).
_CHUNK = re.compile(r"[^\W_]+")


def _is_boundary(chunk: str, i: int) -> bool:
    """A word starts at ``chunk[i]``: letter/digit change, ``aB``, or the ``B`` of ``ABc`` (HTTPServer)."""
    prev, cur = chunk[i - 1], chunk[i]
    if prev.isdigit() != cur.isdigit():
        return True
    if prev.islower() and cur.isupper():
        return True
    return prev.isupper() and cur.isupper() and i + 1 < len(chunk) and chunk[i + 1].islower()


# ASCII chunks (nearly all of them) split in C: acronyms before a capitalised word, words, acronyms, numbers.
_ASCII_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


def word_spans(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, lower-cased word) for every word of ``text``, in order."""
    for match in _CHUNK.finditer(text or ""):
        chunk, base, start = match.group(0), match.start(), 0
        if chunk.isascii():
            for word in _ASCII_WORD.finditer(chunk):
                yield base + word.start(), base + word.end(), word.group(0).lower()
            continue
        for i in range(1, len(chunk)):
            if _is_boundary(chunk, i):
                yield base + start, base + i, chunk[start:i].lower()
                start = i
        yield base + start, base + len(chunk), chunk[start:].lower()


def split_words(text: str) -> list[str]:
    """``"CustomerOrders_v2.sales-data"`` → ``["customer", "orders", "v", "2", "sales", "data"]``."""
    return list(_words_of(text))


# Column and database names repeat a lot across a catalog (id, customer_id, updated_at …):
# indexing splits each distinct name once. Bounded, so memory stays flat at millions of columns.
@lru_cache(maxsize=65536)
def _words_of(text: str) -> tuple[str, ...]:
    return tuple(word for _, _, word in word_spans(text))


@lru_cache(maxsize=65536)
def _singular_words_of(text: str) -> tuple[str, ...]:
    return tuple(singular(word) for word in _words_of(text))


def words_text(*texts: str) -> str:
    """All words of ``texts`` in their singular form, joined by spaces (what the word fields receive).

    Index and query both go through ``singular`` here, so plural and singular meet without
    relying on a stemmer the OpenSearch flavour may lack.
    """
    return " ".join(word for text in texts for word in _singular_words_of(text))


def unique_words(texts: Iterable[str]) -> list[str]:
    """Singular words of all ``texts`` in first-seen order, each once (keeps column word fields lean)."""
    seen: dict[str, None] = {}
    for text in texts:
        seen.update(dict.fromkeys(_singular_words_of(text)))
    return list(seen)


def singular(word: str) -> str:
    """A light English singular (orders → order, categories → category, classes → class).

    Applied alike to indexed and queried words, so it only has to be consistent, not perfect.
    """
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("sses", "shes", "ches", "xes", "zes", "uses")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


# From this length on a query word may be two edits away from the indexed one: real-world
# misspellings of long domain words ("imunizaton", "elegibility", "perscription") often are.
TWO_TYPOS_FROM = 8


def typo_budget(word: str) -> int:
    """Edits tolerated for a query word: none below five letters, one up to seven, two from eight."""
    if len(word) >= TWO_TYPOS_FROM:
        return 2
    return 1 if len(word) >= 5 else 0


def within_edits(a: str, b: str, budget: int) -> bool:
    """True when ``a`` and ``b`` are at most ``budget`` edits apart (insertions, deletions,
    substitutions, adjacent swaps: the distance OpenSearch's fuzzy queries use)."""
    if budget <= 1:
        return within_one_edit(a, b) if budget == 1 else a == b
    if abs(len(a) - len(b)) > budget:
        return False
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > budget:
            return False
        previous2, previous = previous, current
    return previous[-1] <= budget


def within_one_edit(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ by at most one insertion, deletion, substitution or swap."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diffs = [i for i in range(la) if a[i] != b[i]]
        if len(diffs) == 1:
            return True
        # Adjacent transposition counts as one edit, as in OpenSearch's fuzzy queries.
        return len(diffs) == 2 and diffs[1] == diffs[0] + 1 and a[diffs[0]] == b[diffs[1]] and a[diffs[1]] == b[diffs[0]]
    if la > lb:
        a, b = b, a
    # b is one longer: skipping one character of b must give a.
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1:]


def word_matches(token: str, query_word: str) -> bool:
    """Whether an indexed word answers a query word: equal, same singular, or within its typo budget."""
    return WordMatcher([query_word]).matches(token)


def _pieces(word: str, count: int) -> list[str]:
    """``word`` cut into ``count`` consecutive pieces of nearly equal length."""
    count = max(1, min(count, len(word)))
    bounds = [round(i * len(word) / count) for i in range(count + 1)]
    return [word[bounds[i]:bounds[i + 1]] for i in range(count)]


class WordMatcher:
    """``word_matches`` against a fixed set of query words, remembered per token.

    Shaping one results page checks thousands of tokens (column names, comments) that
    repeat a lot; answering each distinct token once keeps the portal's overhead small.
    """

    def __init__(self, query_words: Iterable[str]) -> None:
        self.words = [(q, singular(q), typo_budget(q)) for q in query_words]
        self._memo: dict[str, frozenset[int]] = {}
        # A matching token keeps one of the query word's (budget + 1) pieces intact (each edit or
        # a plural ending touches at most one), so text holding none of them cannot match.
        self._needles = {piece for q, _, budget in self.words for piece in _pieces(q, budget + 1) if piece}

    def might_match(self, text: str) -> bool:
        """False when no word of ``text`` can match (a cheap test before splitting it)."""
        lowered = text.lower()
        return any(needle in lowered for needle in self._needles)

    def hits(self, token: str) -> frozenset[int]:
        """Indices of the query words that ``token`` answers."""
        found = self._memo.get(token)
        if found is None:
            single = singular(token)
            found = frozenset(
                i for i, (q, q_single, fuzzy) in enumerate(self.words)
                if token == q or single == q_single or (fuzzy and len(token) >= 4 and within_edits(token, q, fuzzy))
            )
            self._memo[token] = found
        return found

    def matches(self, token: str) -> bool:
        return bool(self.hits(token))
