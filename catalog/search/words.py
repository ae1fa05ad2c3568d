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


def typo_budget(word: str) -> int:
    """Edits tolerated for a query word: one for words of five letters or more, none below."""
    return 1 if len(word) >= 5 else 0


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
    """Whether an indexed word answers a query word: equal, same singular, or one typo away."""
    return WordMatcher([query_word]).matches(token)


class WordMatcher:
    """``word_matches`` against a fixed set of query words, remembered per token.

    Shaping one results page checks thousands of tokens (column names, comments) that
    repeat a lot; answering each distinct token once keeps the portal's overhead small.
    """

    def __init__(self, query_words: Iterable[str]) -> None:
        self.words = [(q, singular(q), typo_budget(q) > 0) for q in query_words]
        self._memo: dict[str, frozenset[int]] = {}
        # A matching token keeps the first or the second half of the query word intact (one edit
        # or a plural ending cannot touch both), so text holding neither half cannot match.
        self._needles = {half for q, _, _ in self.words for half in (q[: (len(q) + 1) // 2], q[len(q) // 2:]) if half}

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
                if token == q or single == q_single or (fuzzy and len(token) >= 4 and within_one_edit(token, q))
            )
            self._memo[token] = found
        return found

    def matches(self, token: str) -> bool:
        return bool(self.hits(token))
