"""The search index checked against the database, and repaired without a manual reindex.

The database is the truth; the index is derived. ``repair()`` compares every document with the
one the database gives today and rewrites what differs: documents missing (a change made while
OpenSearch was down, a lost index), stale (a curation that never reached it) or extra (a table
deleted meanwhile). It runs after every sync and from beat once OpenSearch answers again
(``repair_if_due``: a cheap look first, the full comparison only when something is off).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from opensearchpy.exceptions import NotFoundError, OpenSearchException

from catalog.search import indexer
from catalog.search.documents import DERIVED_FIELDS
from portal.opensearch import get_client

log = logging.getLogger(__name__)
PAGE = 1000


@dataclass
class Drift:
    missing: list[int] = field(default_factory=list)
    stale: list[int] = field(default_factory=list)
    extra: list[int] = field(default_factory=list)

    @property
    def ids(self) -> list[int]:
        return sorted({*self.missing, *self.stale, *self.extra})

    def as_dict(self) -> dict[str, int]:
        return {"missing": len(self.missing), "stale": len(self.stale), "extra": len(self.extra)}


def _fingerprint(doc: dict[str, Any]) -> str:
    """Equal for a document as built and as OpenSearch gives it back (JSON both ways). The derived
    word fields are not stored (their sources are) and are left out."""
    stored = {k: v for k, v in doc.items() if k not in DERIVED_FIELDS}
    return hashlib.sha1(json.dumps(stored, sort_keys=True, default=str).encode(), usedforsecurity=False).hexdigest()


def _indexed() -> Iterator[tuple[int, str]]:
    """(table id, fingerprint) of every document behind the alias, in id order (search_after)."""
    client = get_client()
    after: list[Any] | None = None
    while True:
        body: dict[str, Any] = {"size": PAGE, "query": {"match_all": {}}, "sort": [{"id": "asc"}]}
        if after is not None:
            body["search_after"] = after
        hits = client.search(index=indexer.alias_name(), body=body)["hits"]["hits"]
        for hit in hits:
            yield int(hit["_id"]), _fingerprint(hit["_source"])
        if len(hits) < PAGE:
            return
        after = hits[-1]["sort"]


def drift() -> Drift:
    """What the index gets wrong, compared with the database. Raises IndexUnavailable."""
    from catalog.models import Table

    try:
        indexed = dict(_indexed())
    except NotFoundError:
        indexed = {}  # the index is gone: every table is missing
    except OpenSearchException as exc:
        raise indexer.IndexUnavailable(f"OpenSearch is unavailable: {exc}") from exc
    found = Drift()
    live = set(Table.objects.live().values_list("id", flat=True))
    for table_id, doc in indexer.documents_for(live | set(indexed)):
        seen = indexed.get(table_id)
        if doc is None:
            if seen is not None:
                found.extra.append(table_id)
        elif seen is None:
            found.missing.append(table_id)
        elif seen != _fingerprint(doc):
            found.stale.append(table_id)
    return found


def repair() -> Drift:
    """Rewrite every document that differs from the database; returns what was found (and fixed).
    Clears the catalogs' stale marks once done. Raises IndexUnavailable."""
    from catalog.models import GlueCatalog

    stale_before = list(GlueCatalog.objects.filter(index_stale=True).values_list("pk", flat=True))
    indexer.ensure_index()
    found = drift()
    if found.ids:
        log.warning("search index repaired: %s", found.as_dict())
        indexer.index_tables(found.ids)
    GlueCatalog.objects.filter(pk__in=stale_before).update(index_stale=False)
    return found


def _looks_off() -> bool:
    """A cheap look (one count): a catalog marked stale, no index, or a count unlike the database's."""
    from catalog.models import GlueCatalog, Table

    if GlueCatalog.objects.filter(index_stale=True).exists():
        return True
    client = get_client()
    try:
        indexed = client.count(index=indexer.alias_name())["count"]
    except NotFoundError:
        return True
    except OpenSearchException as exc:
        raise indexer.IndexUnavailable(f"OpenSearch is unavailable: {exc}") from exc
    return bool(indexed != Table.objects.live().count())


def repair_if_due() -> dict[str, int] | None:
    """Beat: repairs when the cheap look finds something off and OpenSearch answers; None when
    nothing was due or OpenSearch is still down (the next beat tries again)."""
    try:
        if not _looks_off():
            return None
        return repair().as_dict()
    except (indexer.IndexUnavailable, OpenSearchException, OSError) as exc:
        log.info("search index check skipped, OpenSearch unavailable: %s", exc)
        return None
