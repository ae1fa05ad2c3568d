"""Builds OpenSearch request bodies from a search request and a role (pure: no ORM, no I/O).

The role filter (``identity.roles.search_filter``) goes INSIDE the query as a bool filter,
so hit counts and facet counts never include datasets the role may not see. Facet
filters go in ``post_filter`` and, for each facet's own counts, in a filter aggregation
over the *other* facets: AND across facets, OR within one, counts follow the filters.
User text only ever reaches ``match``/``term`` queries (never ``query_string``), so
query syntax characters and quotes are plain text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from catalog.search.documents import EXPLAIN_SOURCE_FIELDS, FACETS, RESULT_SOURCE_FIELDS, SUGGEST_SOURCE_FIELDS
from catalog.search.expansion import Expansion, content_positions
from catalog.search.words import singular, split_words, typo_budget
from identity.roles import Role, search_filter

MAX_QUERY_CHARS = 500
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
SUGGEST_LIMIT = 10
# OpenSearch refuses from + size beyond index.max_result_window (10,000 by default).
MAX_RESULT_WINDOW = 10_000
FACET_SIZE = 50
# Parameters that are not facets; anything else unknown is a 400.
_CONTROL_PARAMS = frozenset({"q", "page", "page_size", "explain"})

# Per-word field weights: names count more than descriptions and columns.
_WORD_FIELDS: tuple[tuple[str, float, bool], ...] = (
    # (field, boost, typos tolerated)
    ("name_words", 10.0, True),
    ("tag_words", 4.0, False),
    ("database_words", 3.0, True),
    ("column_words", 2.5, True),
    ("description_words", 2.0, False),
    ("column_comment_words", 0.5, False),
    # Names, synonyms and abbreviations of the glossary terms linked to the table.
    ("glossary_words", 3.0, False),
)
# A term's other form counts a little less than the word typed; scaffolding ("which", "how many") little.
GLOSSARY_WEIGHT = 0.9
SCAFFOLDING_WEIGHT = 0.1
_EXACT_QUALIFIED_BOOST = 200.0
_EXACT_NAME_BOOST = 100.0
_COMPACT_NAME_BOOST = 60.0
_EXACT_COLUMN_BOOST = 25.0
# Score factor of deprecated datasets (issue 24): an exact name match still finds them, below live ones.
DEPRECATED_BOOST = 0.1


class BadSearchRequest(ValueError):
    """The request cannot be answered as given (the message says why; a 400)."""


@dataclass(frozen=True)
class SearchRequest:
    text: str = ""
    filters: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE
    # ``?explain=1``: each hit's score parts (the API allows it to admins only).
    explain: bool = False

    @property
    def words(self) -> list[str]:
        return split_words(self.text)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


def _positive_int(name: str, raw: str) -> int:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise BadSearchRequest(f"{name} must be a whole number, not {raw!r}.") from None
    if value < 1:
        raise BadSearchRequest(f"{name} must be 1 or more.")
    return value


def parse_request(params: Iterable[tuple[str, list[str]]], *, extra_allowed: Iterable[str] = ()) -> SearchRequest:
    """A SearchRequest from query parameters (``QueryDict.lists()``).

    Raises BadSearchRequest for text over 500 characters, an unknown parameter (facet)
    name, or a page that is not a positive integer; page_size is capped at 100.
    """
    allowed = _CONTROL_PARAMS | set(FACETS) | set(extra_allowed)
    values = {name: list(vals) for name, vals in params}
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise BadSearchRequest(f"Unknown facet {unknown[0]!r}; facets are: {', '.join(FACETS)}.")
    text = " ".join((values.get("q") or [""])[-1].split())
    if len(text) > MAX_QUERY_CHARS:
        raise BadSearchRequest(f"The query is {len(text)} characters long; the limit is {MAX_QUERY_CHARS}.")
    page = _positive_int("page", values["page"][-1]) if values.get("page", [""])[-1] else 1
    size_raw = values.get("page_size", [""])[-1]
    page_size = min(_positive_int("page_size", size_raw), MAX_PAGE_SIZE) if size_raw else DEFAULT_PAGE_SIZE
    filters = {}
    for facet in FACETS:
        chosen = tuple(dict.fromkeys(v for v in values.get(facet, []) if v))
        if chosen:
            filters[facet] = chosen
    explain_raw = (values.get("explain") or [""])[-1]
    if explain_raw not in ("", "0", "1"):
        raise BadSearchRequest(f"explain must be 0 or 1, not {explain_raw[:20]!r}.")
    explain = explain_raw == "1"
    return SearchRequest(text=text, filters=filters, page=page, page_size=page_size, explain=explain)


def _field_clauses(word: str, scale: float = 1.0) -> list[dict[str, Any]]:
    """One word against every weighted field (typos tolerated on name fields)."""
    fuzziness = typo_budget(word)
    word = singular(word)
    clauses = []
    for name, boost, fuzzy in _WORD_FIELDS:
        match: dict[str, Any] = {"query": word, "boost": boost * scale}
        if fuzzy and fuzziness:
            match.update(fuzziness=fuzziness, prefix_length=1)
        clauses.append({"match": {name: match}})
    return clauses


def _form_clauses(form: tuple[str, ...], scale: float) -> list[dict[str, Any]]:
    """A glossary form of several words: all of them in one field (no typos: the form is exact)."""
    if len(form) == 1:
        return [{"match": {name: {"query": form[0], "boost": boost * scale}}} for name, boost, _ in _WORD_FIELDS]
    text = " ".join(form)
    return [{"match": {name: {"query": text, "operator": "and", "boost": boost * scale}}} for name, boost, _ in _WORD_FIELDS]


def _word_clause(word: str, alternatives: Sequence[tuple[str, ...]] = (), weight: float = 1.0) -> dict[str, Any]:
    """The best of the weighted fields for one query word or any of its glossary alternatives."""
    clauses = _field_clauses(word)
    for form in alternatives:
        clauses.extend(_form_clauses(form, GLOSSARY_WEIGHT))
    clause: dict[str, Any] = {"dis_max": {"queries": clauses, "tie_breaker": 0.3}}
    if weight != 1.0:
        clause["dis_max"]["boost"] = weight
    return clause


def text_query(text: str, expansions: Sequence[Expansion] = ()) -> dict[str, Any] | None:
    """The scoring query for ``text``; None for an empty query (browse order).

    Coverage, not all-or-nothing: each word adds its best field's score, so a table covering
    more of the query ranks higher, yet a word no table holds never empties the answer. At
    least one content word must match (scaffolding alone finds nothing); scaffolding words
    count for little. Glossary expansions add their term's other forms to the words they cover.
    """
    words = split_words(text)
    if not words:
        return None
    lowered = text.strip().lower()
    content = content_positions(words, expansions)
    single = {e.start: e.alternatives for e in expansions if e.width == 1}
    content_clauses = [_word_clause(w, single.get(i, ())) for i, w in enumerate(words) if i in content]
    for e in expansions:
        if e.width > 1:
            # "per member per month" → "pmpm": a table holding the short form covers all those words.
            # The typed form is in the same dis_max at full weight, so a table holding what was
            # typed never loses to one holding a synonym instead.
            typed = tuple(singular(w) for w in split_words(e.typed))
            forms = _form_clauses(typed, 1.0) + [c for form in e.alternatives for c in _form_clauses(form, GLOSSARY_WEIGHT)]
            content_clauses.append({"dis_max": {"queries": forms, "tie_breaker": 0.3, "boost": float(e.width)}})
    scaffolding = [_word_clause(w, weight=SCAFFOLDING_WEIGHT) for i, w in enumerate(words) if i not in content]
    matched_words: dict[str, Any] = {"bool": {"should": content_clauses, "minimum_should_match": 1}}
    if scaffolding:
        matched_words = {"bool": {"must": [matched_words], "should": scaffolding}}
    return {
        "bool": {
            # A table matches by its words, or by its whole name typed any way (CustomerOrders,
            # customerorders, customer_orders) or one of its column names; matches add up.
            "should": [
                matched_words,
                {"term": {"qualified_exact": {"value": lowered, "boost": _EXACT_QUALIFIED_BOOST}}},
                {"term": {"name_exact": {"value": lowered, "boost": _EXACT_NAME_BOOST}}},
                {"term": {"name_compact": {"value": "".join(words), "boost": _COMPACT_NAME_BOOST}}},
                {"terms": {"column_names": sorted({lowered, "_".join(words)}), "boost": _EXACT_COLUMN_BOOST}},
            ],
            "minimum_should_match": 1,
        }
    }


def with_priors(scoring: dict[str, Any]) -> dict[str, Any]:
    """Text relevance times the table's prior (catalog.search.priors; 1.0 for documents without one)."""
    return {"function_score": {
        "query": scoring,
        "functions": [{"field_value_factor": {"field": "prior", "missing": 1.0}}],
        "boost_mode": "multiply",
    }}


def _facet_terms(filters: Mapping[str, tuple[str, ...]], skip: str | None = None) -> list[dict[str, Any]]:
    return [{"terms": {facet: list(values)}} for facet, values in filters.items() if facet != skip and values]


def facet_aggs(filters: Mapping[str, tuple[str, ...]]) -> dict[str, Any]:
    """Facet counts that follow the other facets' choices, in as few aggregations as possible.

    Facets nobody chose share one filter (all choices) — or none at all without choices;
    each chosen facet gets its own filter over the *other* facets, so you can OR more values.
    """
    def terms(facet: str) -> dict[str, Any]:
        return {"terms": {"field": facet, "size": FACET_SIZE}}

    chosen = [f for f in FACETS if filters.get(f)]
    free = {f: terms(f) for f in FACETS if f not in chosen}
    aggs: dict[str, Any] = {}
    if chosen:
        aggs["shared"] = {"filter": {"bool": {"filter": _facet_terms(filters)}}, "aggs": free}
    else:
        aggs.update(free)
    for facet in chosen:
        aggs[f"own_{facet}"] = {
            "filter": {"bool": {"filter": _facet_terms(filters, skip=facet)}},
            "aggs": {"values": terms(facet)},
        }
    return aggs


def build_search(request: SearchRequest, role: Role | None, expansions: Sequence[Expansion] = ()) -> dict[str, Any]:
    """The OpenSearch body for one results page with its facet counts (``expansions``: glossary forms
    found in the query, catalog.search.expansion)."""
    scoring = text_query(request.text, expansions)
    query_filter = [f for f in (search_filter(role),) if f is not None]
    query: dict[str, Any] = {"bool": {"filter": query_filter}}
    if scoring is not None:
        # Deprecated datasets still match, ranked well below live ones (labelled in the results).
        query["bool"]["must"] = [{"boosting": {"positive": with_priors(scoring), "negative": {"term": {"deprecated": True}},
                                               "negative_boost": DEPRECATED_BOOST}}]
    offset, size = request.offset, request.page_size
    if offset + size > MAX_RESULT_WINDOW:
        # Beyond the window there is nothing to show; counts and facets still come back.
        offset, size = 0, 0
    body: dict[str, Any] = {
        "query": query,
        "from": offset,
        "size": size,
        "track_total_hits": True,
        "_source": list(RESULT_SOURCE_FIELDS) + (list(EXPLAIN_SOURCE_FIELDS) if request.explain else []),
        # Ties go to recently updated, then more used tables; browse order is by name.
        "sort": (
            ["_score", {"updated_at": {"order": "desc", "missing": "_last"}}, {"usage_count": {"order": "desc"}}]
            if scoring is not None
            else [{"qualified_exact": {"order": "asc"}}]
        ),
        "aggs": facet_aggs(request.filters),
    }
    if request.filters:
        body["post_filter"] = {"bool": {"filter": _facet_terms(request.filters)}}
    return body


def build_suggest(prefix: str, role: Role | None, limit: int = SUGGEST_LIMIT) -> dict[str, Any] | None:
    """The body for name suggestions: every typed word must prefix a word of the name.

    ``db.tab`` also works: a dotted prefix matches database words too. None when the
    prefix holds no word at all.
    """
    words = split_words(prefix[:MAX_QUERY_CHARS])
    if not words:
        return None
    lowered = " ".join(prefix.split()).lower()
    matches: list[dict[str, Any]] = [{"match": {"suggest": {"query": " ".join(words), "operator": "and"}}}]
    if "." in lowered:
        matches.append({"match": {"qualified_start": {"query": lowered}}})
    query: dict[str, Any] = {
        "bool": {
            "must": [{"bool": {"should": matches, "minimum_should_match": 1}}],
            "should": [
                # Names (or database.name) that start with what was typed, then exact names, rank first.
                {"match": {"qualified_start": {"query": lowered, "boost": 20.0}}},
                {"match": {"name_start": {"query": lowered, "boost": 5.0}}},
                {"term": {"name_exact": {"value": lowered, "boost": 10.0}}},
            ],
            "filter": [f for f in (search_filter(role),) if f is not None],
        }
    }
    return {
        "query": query,
        "size": limit,
        "_source": list(SUGGEST_SOURCE_FIELDS),
        "sort": ["_score", {"usage_count": {"order": "desc"}}, {"qualified_exact": {"order": "asc"}}],
    }
