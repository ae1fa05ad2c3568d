"""Runs searches and suggestions for the HTML pages and the API alike.

Raises ``IndexUnavailable`` when OpenSearch is down (pages say so and offer
browsing; the API answers 503). An index that does not exist yet is an empty catalog.
"""

from __future__ import annotations

from typing import Any

from opensearchpy.exceptions import NotFoundError, OpenSearchException

from catalog.search import query as q
from catalog.search.indexer import IndexUnavailable, alias_name
from catalog.search.expansion import Expansion, expand
from catalog.search.results import explain_hit, shape_facets, shape_hit, shape_suggestions, via_glossary
from catalog.search.words import WordMatcher
from portal.opensearch import get_client
from identity.roles import Role


def _run(body: dict[str, Any]) -> dict[str, Any] | None:
    try:
        return get_client().search(index=alias_name(), body=body)
    except NotFoundError:
        return None
    except OpenSearchException as exc:
        raise IndexUnavailable(f"Search is unavailable right now ({type(exc).__name__}).") from exc


def _columns_of_hits(hits: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    """The columns of one page of hits, from the database (one query; the index only searches them)."""
    from catalog.queries import columns_of

    return columns_of([hit["_source"]["id"] for hit in hits]) if hits else {}


def glossary_expansions(words: list[str]) -> list[Expansion]:
    """The approved glossary forms among the query words (read at query time: no reindex needed)."""
    from glossary.queries import expansion_table

    return expand(words, expansion_table()) if words else []


def search(request: q.SearchRequest, role: Role | None, *, use_glossary: bool = True) -> dict[str, Any]:
    """One page of results with facets, in the API's shape.

    ``glossary`` lists the expansions applied ("pharmacy ← rx"); each hit says in ``via_glossary``
    which of them it answered by. With ``request.explain`` each hit carries its score parts.
    """
    words = request.words
    expansions = glossary_expansions(words) if use_glossary else []
    answer = _run(q.build_search(request, role, expansions))
    page = {"count": 0, "page": request.page, "page_size": request.page_size, "results": [], "facets": shape_facets({}),
            "glossary": [{"term": e.term, "typed": e.typed, "labels": e.labels()} for e in expansions]}
    if answer is None:
        return page
    whole = request.text.lower()
    matcher = WordMatcher([*words, *(w for e in expansions for alt in e.alternatives for w in alt)])
    hits = answer["hits"]["hits"]
    columns = _columns_of_hits(hits) if words else {}
    results = []
    for hit in hits:
        result = shape_hit(hit, matcher, whole, columns.get(hit["_source"]["id"], ()))
        result["via_glossary"] = via_glossary(result, expansions)
        if request.explain:
            result["explain"] = explain_hit(hit)
        results.append(result)
    total = answer["hits"]["total"]
    page.update(
        count=total["value"] if isinstance(total, dict) else int(total),
        results=results,
        facets=shape_facets(answer.get("aggregations", {})),
    )
    return page


def suggest(prefix: str, role: Role | None, limit: int = q.SUGGEST_LIMIT) -> list[dict[str, str]]:
    """At most ``limit`` tables whose name has a word starting with each typed word."""
    body = q.build_suggest(prefix, role, limit)
    if body is None:
        return []
    answer = _run(body)
    return shape_suggestions(answer["hits"]["hits"]) if answer else []


def suggest_terms(prefix: str) -> list[dict[str, str]]:
    """Approved glossary terms whose name, synonym or abbreviation the prefix starts (at most 5)."""
    from glossary.queries import matching_terms

    return matching_terms(prefix[: q.MAX_QUERY_CHARS]) if prefix.strip() else []
