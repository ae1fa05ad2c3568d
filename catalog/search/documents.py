"""The search document of a catalog table and the index mapping it lives in (pure, no ORM).

Weighted fields are declared here, next to the builder that fills them:
- exact keyword fields (``qualified_exact``, ``name_exact``, ``name_compact``) make the
  table whose name equals the query come first;
- word fields (``name_words``, ``column_words`` …) hold names already split into singular
  words (see ``catalog.search.words``), so plural and singular match on any OpenSearch;
- ``suggest`` holds edge n-grams of every word of the name, for prefixes as you type;
- columns are not displayed from the index: every column name reaches the word and keyword
  fields and every comment word the prose field, while a result page reads the few columns
  it shows from the database. Documents stay lean at 2M columns (a 40-column table is about
  3 KB instead of 8), so 1,000 of them fit one bulk request.
Curation (steward description, tags, owner, classification) overrides the Glue values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypedDict

from catalog.search.priors import multiplier
from catalog.search.words import split_words, unique_words, words_text

# Facet name → document keyword field (the API's facet names are the field names).
# ``term``: the approved glossary terms linked to the table or its columns (issue 15).
# ``pii``: "confirmed" / "suspected" when a column holds (or may hold) personal data; ``owned_by``: the
# dataset's owners, people by username and teams as ``team:<name>``.
FACETS: tuple[str, ...] = ("database", "table_type", "format", "owner", "classification", "hub", "layer", "term",
                           "lf_tag", "pii", "owned_by")
# Column comments are prose; beyond this many characters they add weight, not findability.
COLUMN_COMMENT_CHARS_CAP = 20_000
# Words of prose as OpenSearch's standard tokenizer sees them (letters, digits, underscores).
_PROSE_WORD = re.compile(r"\w+")

# Fields a search result needs from _source; the heavy word fields never travel back.
RESULT_SOURCE_FIELDS: tuple[str, ...] = (
    "id", "qualified_name", "database", "name", "description", "table_type", "format", "location",
    "owner", "classification", "hub", "layer", "updated_at", "usage_count", "tags", "column_count", "deprecated",
)
# Asked for on top of RESULT_SOURCE_FIELDS by ``?explain=1`` (catalog.search.priors).
EXPLAIN_SOURCE_FIELDS: tuple[str, ...] = ("prior", "prior_parts")
SUGGEST_SOURCE_FIELDS: tuple[str, ...] = ("qualified_name", "name", "database")

INDEX_SETTINGS: dict[str, Any] = {
    "analysis": {
        "filter": {
            "name_prefix": {"type": "edge_ngram", "min_gram": 1, "max_gram": 24},
            "whole_prefix": {"type": "edge_ngram", "min_gram": 1, "max_gram": 64},
        },
        "analyzer": {
            # Documents and queries are split into (singular) words in Python; the index only lower-cases.
            "words": {"type": "custom", "tokenizer": "whitespace", "filter": ["lowercase"]},
            "prefixes": {"type": "custom", "tokenizer": "whitespace", "filter": ["lowercase", "name_prefix"]},
            # Prefixes of the whole name (and of database.name): "what was typed starts the name"
            # becomes a term lookup instead of a prefix scan over every name.
            "whole_prefixes": {"type": "custom", "tokenizer": "keyword", "filter": ["lowercase", "whole_prefix"]},
            "whole": {"type": "custom", "tokenizer": "keyword", "filter": ["lowercase"]},
            # Descriptions and comments are prose: tokenised and stemmed by OpenSearch (cheaper at 2M columns).
            "prose": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "porter_stem"]},
        },
    }
}

_WORDS = {"type": "text", "analyzer": "words"}
_PROSE = {"type": "text", "analyzer": "prose"}
# Derived search fields are indexed but not stored: _source stays what a result needs.
DERIVED_FIELDS = (
    "qualified_exact", "name_exact", "name_compact", "name_words", "database_words", "description_words",
    "tag_words", "column_names", "column_words", "column_comment_words", "suggest", "name_start", "qualified_start",
    "glossary_words",
)

INDEX_MAPPINGS: dict[str, Any] = {
    # Unmapped fields (description, location, columns …) are kept in _source for display only.
    "dynamic": False,
    "_source": {"excludes": list(DERIVED_FIELDS)},
    "properties": {
        "id": {"type": "long"},
        "qualified_exact": {"type": "keyword"},
        "name_exact": {"type": "keyword"},
        "name_compact": {"type": "keyword"},
        "name_words": _WORDS,
        "database_words": _WORDS,
        "description_words": _PROSE,
        "tags": {"type": "keyword"},
        "tag_words": _WORDS,
        "column_names": {"type": "keyword"},
        "column_words": _WORDS,
        "column_comment_words": _PROSE,
        "suggest": {"type": "text", "analyzer": "prefixes", "search_analyzer": "words"},
        "name_start": {"type": "text", "analyzer": "whole_prefixes", "search_analyzer": "whole"},
        "qualified_start": {"type": "text", "analyzer": "whole_prefixes", "search_analyzer": "whole"},
        **{facet: {"type": "keyword"} for facet in FACETS},
        "visibility": {"type": "keyword"},
        "updated_at": {"type": "date"},
        "usage_count": {"type": "integer"},
        "deprecated": {"type": "boolean"},
        # Ranking after text relevance (catalog.search.priors); ``prior_parts`` stays in _source only.
        "prior": {"type": "float"},
        # Names, synonyms and abbreviations of the approved glossary terms linked to the table.
        "glossary_words": _WORDS,
    },
}


class ColumnData(TypedDict, total=False):
    """A column as the index sees it: ``comment`` is its shown description (curated, propagated or
    Glue's); ``tags`` and ``pii_status`` come from curation (see catalog.queries.column_states)."""

    name: str
    type: str
    comment: str
    partition_key: bool
    tags: list[str]
    pii_status: str | None


class TableData(TypedDict, total=False):
    """What the document builder needs of a table, already merged from the mirror."""

    id: int
    database: str
    name: str
    description: str
    table_type: str
    format: str
    location: str
    owner: str
    classification: str  # already raised to the most sensitive column's (catalog.classification)
    hub: str
    layer: str
    visibility: str
    updated_at: datetime | None
    usage_count: int
    # Issue 15: set by the indexer (catalog.search.priors, glossary links); absent means none.
    prior_parts: dict[str, float]
    term: list[str]
    glossary_words: str
    lf_tags: dict[str, list[str]]  # effective Lake Formation tags: the ``lf_tag`` facet holds "key=value"


class CurationData(TypedDict, total=False):
    description: str
    tags: list[str]
    owner: str
    classification: str
    owned_by: list[str]
    deprecated: bool


def lf_tag_labels(tags: Mapping[str, Sequence[str]]) -> list[str]:
    """``key=value`` per LF-tag value: the ``lf_tag`` facet's buckets, and how pages show the tags."""
    return [f"{key}={value}" for key, values in sorted(tags.items()) for value in values]


def compact_name(text: str) -> str:
    """Words glued together: ``customer_orders``, ``CustomerOrders`` and ``customer orders`` agree."""
    return "".join(split_words(text))


def _comment_words(columns: Iterable[ColumnData]) -> str:
    """Distinct words of the column comments, first seen first, capped.

    Forty comments of a wide table repeat "the", "identifier", "claim" … over and over:
    each word once finds the same tables, keeps a wide table from outscoring a narrow
    one by repetition, and cuts what the index analyses per table by about 60%.
    """
    seen: dict[str, None] = {}
    size = 0
    for col in columns:
        for word in _PROSE_WORD.findall(col["comment"].lower()):
            if word in seen:
                continue
            size += len(word) + 1
            if size > COLUMN_COMMENT_CHARS_CAP:
                return " ".join(seen)
            seen[word] = None
    return " ".join(seen)


def build_document(table: TableData, columns: Sequence[ColumnData], curation: CurationData | None = None) -> dict[str, Any]:
    """The search document for one live table (curated values override Glue's)."""
    curation = curation or {}
    database, name = table["database"], table["name"]
    description = curation.get("description") or table.get("description") or ""
    tags = [t for t in curation.get("tags") or [] if t]
    column_tags = [t for c in columns for t in c.get("tags") or [] if t]
    updated_at = table.get("updated_at")
    doc: dict[str, Any] = {
        "id": table["id"],
        "qualified_name": f"{database}.{name}",
        "database": database,
        "name": name,
        "description": description,
        "location": table.get("location") or "",
        "qualified_exact": f"{database}.{name}".lower(),
        "name_exact": name.lower(),
        "name_compact": compact_name(name),
        "name_words": words_text(name),
        "database_words": words_text(database),
        "description_words": description,
        "tags": tags,
        "tag_words": words_text(*tags, *column_tags),
        "column_names": [c["name"].lower() for c in columns],
        "column_words": " ".join(unique_words(c["name"] for c in columns)),
        "column_comment_words": _comment_words(columns),
        "column_count": len(columns),
        "suggest": " ".join(split_words(name)),
        "name_start": name.lower(),
        "qualified_start": f"{database}.{name}".lower(),
        "visibility": table.get("visibility") or "hub",
        "updated_at": updated_at.isoformat() if updated_at else None,
        "usage_count": int(table.get("usage_count") or 0),
        "deprecated": bool(curation.get("deprecated")),
        "prior_parts": dict(table.get("prior_parts") or {}),
        "prior": multiplier(table.get("prior_parts") or {}),
        "glossary_words": words_text(table.get("glossary_words") or ""),
    }
    merged: Mapping[str, Any] = {
        **table,
        "owner": curation.get("owner") or table.get("owner") or "",
        "classification": curation.get("classification") or table.get("classification") or "",
        "pii": sorted({c["pii_status"] for c in columns if c.get("pii_status")}),
        "owned_by": list(dict.fromkeys(curation.get("owned_by") or [])),
        "lf_tag": lf_tag_labels(table.get("lf_tags") or {}),
    }
    for facet in FACETS:
        value = merged.get(facet)
        # Empty values stay out of the document so facets never show a blank bucket.
        doc[facet] = value if value else None
    return doc
