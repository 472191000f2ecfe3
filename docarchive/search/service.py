"""Searching an archive: the query checked, the index caught up, hits read back from the
catalog and filtered by clearance, snippets marked.

Nothing above the caller's clearance shows: the clearance is part of the index query
(hits, totals and facets), and each hit is checked again against its catalog record.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from ..errors import SearchError
from ..records import Classification, Record
from .base import IndexBusy, IndexCorrupt, Query

if TYPE_CHECKING:
    from ..core import Core

__all__ = ["SearchHit", "SearchResults", "Searching"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SearchHit:
    """One record found: its score and an extract with the matched words marked
    ``<mark>…</mark>``."""

    record: Record
    score: float
    snippet: str

    def to_dict(self) -> dict[str, Any]:
        return {**self.record.to_dict(text=False), "score": self.score, "snippet": self.snippet}


@dataclass
class SearchResults:
    """A page of hits, how many records match in all (``total``) and the facet counts
    by kind, year and office; all within the caller's clearance."""

    total: int
    hits: list[SearchHit]
    facets: dict[str, dict[str, int]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "hits": [h.to_dict() for h in self.hits],
            "facets": self.facets,
        }


class Searching:
    """Full-text search over the archive's index, within the caller's clearance."""

    def __init__(self, core: Core) -> None:
        self.core = core

    def search(
        self,
        query: str,
        *,
        kind: str | None = None,
        office: str | None = None,
        sender: str | None = None,
        date_from: date | datetime | str | None = None,
        date_to: date | datetime | str | None = None,
        sort: str = "relevance",
        page: int = 1,
        page_size: int = 10,
        clearance: str | Classification | None = None,
        user: str | None = None,
    ) -> SearchResults:
        """Full-text search in Arabic and English, within the caller's clearance.

        ``query`` is in whoosh's query language: words (found in any form: الوزارة,
        والوزاره, وزارات), ``"phrases"`` (the exact wording ranks first), ``AND``/``OR``/
        ``NOT``, ``field:`` prefixes (subject, sender, to, number, attachments, kind,
        office, year, thread, issued, received; ``exact:`` for the exact form only) and
        wildcards. ``kind``, ``office``, ``sender`` (exact) and ``date_from``/``date_to``
        (dates or ISO strings, inclusive) filter; ``sort`` is ``relevance`` or
        ``newest``. ``clearance`` is the caller's (default ``[access]
        default_clearance``); with ``user``, the user's own from the settings, which
        ``clearance`` can only lower (AccessDeniedError otherwise). Nothing above it
        shows in hits, total, facets or snippets.
        """
        if sort not in ("relevance", "newest"):
            raise SearchError(f"sort must be 'relevance' or 'newest', not {sort!r}")
        if page < 1 or page_size < 1:
            raise SearchError("page and page_size must be 1 or more")
        if not query.strip():
            raise SearchError("the query is empty")
        core = self.core
        q = Query(
            text=query,
            clearance=core.clearance(clearance, user),
            kind=kind,
            office=office,
            sender=sender,
            date_from=_as_datetime(date_from, end=False),
            date_to=_as_datetime(date_to, end=True),
            sort=sort,
            page=page,
            page_size=page_size,
        )
        core.catch_up()
        try:
            found = core.index.search(q)
        except IndexCorrupt as exc:
            log.warning("search index damaged (%s); rebuilding it from the catalog", exc)
            core.sync.reindex()
            try:
                found = core.index.search(q)
            except IndexCorrupt as again:
                raise SearchError(f"the search index cannot be read: {again}") from again
        except IndexBusy:
            raise SearchError("the search index is being rebuilt; try again shortly") from None
        records = core.catalog.get_many([h.id for h in found.hits])
        hits = [
            SearchHit(records[h.id], h.score, core.index.snippet(records[h.id].text, q))
            for h in found.hits
            if h.id in records and records[h.id].classification <= q.clearance
        ]
        return SearchResults(found.total, hits, found.facets)


def _as_datetime(value: date | datetime | str | None, *, end: bool) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        except ValueError:
            raise SearchError(f"not a date: {value!r} (use YYYY-MM-DD)") from None
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if end:
        return datetime(value.year, value.month, value.day, 23, 59, 59, 999999)
    return datetime(value.year, value.month, value.day)
