"""Search backends, chosen by URL: ``tantivy:///path`` (the default), ``whoosh:///path``,
``postgresql://...`` (inside the catalog's database), or registered ones."""

from __future__ import annotations

from ..registry import Registry
from .base import Hit, IndexBusy, IndexCorrupt, Query, SearchIndex, SearchResult

__all__ = [
    "Hit",
    "IndexBusy",
    "IndexCorrupt",
    "Query",
    "SearchIndex",
    "SearchResult",
    "open_index",
    "registry",
]

registry = Registry(
    "search",
    builtins={
        "tantivy": "docarchive.search.tantivy_index:TantivyIndex",
        "whoosh": "docarchive.search.index:WhooshIndex",
        "postgresql": "docarchive.search.pgindex:PostgresIndex",
        "postgres": "docarchive.search.pgindex:PostgresIndex",
    },
    extras={"postgresql": "postgres", "postgres": "postgres"},
)


def open_index(url: str) -> SearchIndex:
    """The search backend for ``url``."""
    idx = registry.resolve(url).from_url(url)
    assert isinstance(idx, SearchIndex)
    return idx
