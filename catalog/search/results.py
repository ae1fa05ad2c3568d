"""Turns OpenSearch answers into the API's result shapes, with highlights (pure).

Highlights and matched columns are computed here from the query words rather than
asked of OpenSearch: the same word matching as the index (split names, singular
forms, the typo budget of catalog.search.words) works on every OpenSearch
flavour, including ones without a highlighter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from html import escape
from typing import Any

from catalog.search.documents import FACETS
from catalog.search.expansion import Expansion
from catalog.search.priors import PRIOR_PARTS, multiplier
from catalog.search.words import WordMatcher, singular, split_words, word_spans

FRAGMENT_CHARS = 160
HIGHLIGHT_FIELDS = ("name", "database", "description")


@lru_cache(maxsize=65_536)
def _words_of(text: str) -> tuple[str, ...]:
    """Split words of a column name or comment; the same ones recur on every results page."""
    return tuple(split_words(text))


def _matcher(query_words: Sequence[str] | WordMatcher) -> WordMatcher:
    return query_words if isinstance(query_words, WordMatcher) else WordMatcher(query_words)


def highlight_text(text: str, query_words: Sequence[str] | WordMatcher, fragment_chars: int = FRAGMENT_CHARS) -> str | None:
    """``text`` HTML-escaped with matched words in ``<em>``, trimmed around the first match; None if none."""
    matcher = _matcher(query_words)
    if not matcher.might_match(text):
        return None
    spans = [(s, e) for s, e, word in word_spans(text) if matcher.matches(word)]
    if not spans:
        return None
    start, end = 0, len(text)
    if len(text) > fragment_chars:
        start = max(0, spans[0][0] - fragment_chars // 4)
        end = min(len(text), start + fragment_chars)
    parts, cursor = [], start
    for s, e in spans:
        if s < start or e > end:
            continue
        parts.append(escape(text[cursor:s]))
        parts.append(f"<em>{escape(text[s:e])}</em>")
        cursor = e
    parts.append(escape(text[cursor:end]))
    return ("…" if start > 0 else "") + "".join(parts) + ("…" if end < len(text) else "")


def _column_rank(column: Mapping[str, Any], matcher: WordMatcher, exact_names: tuple[str, ...]) -> int | None:
    """0 exact name, 1 name holds every query word, 2 name holds some, 3 comment only; None: no match."""
    name = str(column.get("name", ""))
    if name.lower() in exact_names:
        return 0
    hits: set[int] = set()
    if matcher.might_match(name):
        for word in _words_of(name):
            hits |= matcher.hits(word)
    if hits:
        return 1 if len(hits) == len(matcher.words) else 2
    comment = column.get("comment") or ""
    if comment and matcher.might_match(comment) and any(matcher.matches(w) for w in _words_of(comment)):
        return 3
    return None


def matched_columns(columns: Iterable[Mapping[str, Any]], query_words: Sequence[str] | WordMatcher,
                    whole_query: str) -> list[dict[str, Any]]:
    """The columns that answered the query, best first: [{"name", "type", "comment"}].

    Exact names, then names holding every query word, then some, then comment matches.
    """
    matcher = _matcher(query_words)
    if not matcher.words:
        return []
    exact_names = (whole_query, "_".join(q for q, _, _ in matcher.words))
    ranked = []
    for position, col in enumerate(columns):
        rank = _column_rank(col, matcher, exact_names)
        if rank is not None:
            entry = {"name": col.get("name", ""), "type": col.get("type", ""), "comment": col.get("comment") or ""}
            ranked.append((rank, position, entry))
    return [entry for _, _, entry in sorted(ranked, key=lambda r: (r[0], r[1]))]


def shape_hit(hit: Mapping[str, Any], query_words: Sequence[str] | WordMatcher, whole_query: str,
              columns: Iterable[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """One API result from a hit (``_source`` limited to documents.RESULT_SOURCE_FIELDS).

    ``columns`` are the table's columns (the index does not carry them for display).
    Pass one WordMatcher for all hits of a page: it remembers every token it has judged.
    """
    src = hit.get("_source", {})
    matcher = _matcher(query_words)
    highlight: dict[str, list[str]] = {}
    if matcher.words:
        for name in HIGHLIGHT_FIELDS:
            fragment = highlight_text(str(src.get(name) or ""), matcher)
            if fragment:
                highlight[name] = [fragment]
        tags = [fragment for fragment in (highlight_text(t, matcher) for t in src.get("tags") or []) if fragment]
        if tags:
            highlight["tags"] = tags
    return {
        "id": src.get("id", int(hit.get("_id", 0) or 0)),
        "qualified_name": src.get("qualified_name", ""),
        "database": src.get("database", ""),
        "name": src.get("name", ""),
        "description": src.get("description", ""),
        "table_type": src.get("table_type") or "",
        "format": src.get("format") or "",
        "location": src.get("location") or "",
        "owner": src.get("owner") or "",
        "classification": src.get("classification") or "",
        "hub": src.get("hub") or "",
        "layer": src.get("layer") or "",
        "updated_at": src.get("updated_at"),
        "score": hit.get("_score"),
        "highlight": highlight,
        "matched_columns": matched_columns(columns, matcher, whole_query),
        "tags": list(src.get("tags") or []),
        "column_count": src.get("column_count", 0),
        "deprecated": bool(src.get("deprecated")),
    }


def _hit_words(result: Mapping[str, Any]) -> set[str]:
    texts = [result.get("name", ""), result.get("description", ""), *result.get("tags", [])]
    for col in result.get("matched_columns", []):
        texts.extend((col.get("name", ""), col.get("comment", "")))
    return {singular(w) for text in texts for w in _words_of(str(text or ""))}


def via_glossary(result: Mapping[str, Any], expansions: Sequence[Expansion]) -> list[str]:
    """"pharmacy ← rx" for each glossary form a result holds in place of what was typed."""
    if not expansions:
        return []
    words = _hit_words(result)
    labels = []
    for expansion in expansions:
        if {singular(w) for w in split_words(expansion.typed)} <= words:
            continue  # found by what was typed: the glossary did not make the difference
        held: list[tuple[str, ...]] = [alt for alt in expansion.alternatives if set(alt) <= words]
        if held:  # the plainest form the hit holds: "pharmacy ← rx" rather than "pharmacy claim ← rx"
            plainest = next(alt for alt in held if len(alt) == min(len(a) for a in held))
            labels.append(f"{' '.join(plainest)} ← {expansion.typed}")
    return labels


def explain_hit(hit: Mapping[str, Any]) -> dict[str, Any]:
    """A hit's score parts: text relevance, the prior multiplier and each prior's share of it."""
    src = hit.get("_source", {})
    parts = {name: float(src.get("prior_parts", {}).get(name, 0.0)) for name in PRIOR_PARTS}
    prior = float(src.get("prior") or multiplier(parts))
    score = float(hit.get("_score") or 0.0)
    return {"score": score, "text": round(score / prior, 6) if prior else score, "prior": round(prior, 4),
            "priors": parts}


def shape_facets(aggregations: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """``{facet: [{"value", "count"}]}`` for every facet, empty lists included."""
    facets: dict[str, list[dict[str, Any]]] = {}
    for facet in FACETS:
        # See catalog.search.query.facet_aggs for the three places a facet's counts can be.
        if f"own_{facet}" in aggregations:
            buckets = aggregations[f"own_{facet}"]["values"]["buckets"]
        elif "shared" in aggregations:
            buckets = aggregations["shared"].get(facet, {}).get("buckets", [])
        else:
            buckets = aggregations.get(facet, {}).get("buckets", [])
        facets[facet] = [{"value": b["key"], "count": b["doc_count"]} for b in buckets]
    return facets


def shape_suggestions(hits: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    return [
        {"qualified_name": h["_source"]["qualified_name"], "name": h["_source"]["name"], "database": h["_source"]["database"]}
        for h in hits
    ]
