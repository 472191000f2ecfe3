"""The search protocol: a derived full-text index that any engine can provide.

An index is rebuilt from the catalog and blobs alone, so it holds nothing that
cannot be recomputed. It remembers the last catalog change it applied
(:meth:`SearchIndex.applied`); the archive feeds it the records changed since.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..records import Classification, Record

__all__ = [
    "Hit",
    "IndexBusy",
    "IndexCorrupt",
    "Query",
    "SearchIndex",
    "SearchResult",
    "lock_file",
    "parse_when",
    "record_date",
    "schema_code",
]


class IndexBusy(Exception):
    """Another process holds the index's write lock; the caller can catch up later."""


def schema_code(version: int) -> int:
    """What an index records as its schema: the ``version`` of its layout joined with the
    analysis chain that made its terms (:func:`~docarchive.search.analysis.analysis_code`:
    the chain's revision and the lexicon in use). An index whose code differs raises
    :class:`IndexCorrupt` on open and is rebuilt, so a changed lexicon (an office's own
    plurals, or a new docarchive's) never leaves terms of two chains in one index."""
    from .analysis import analysis_code

    return version * 1_000_000 + analysis_code()


class IndexCorrupt(Exception):
    """The index cannot be read (missing or damaged files, unreadable state).

    The index is derived, so the archive answers by rebuilding it from the catalog.
    """


@dataclass(frozen=True)
class Query:
    """A search request; ``text`` is in the engine's query language."""

    text: str
    clearance: Classification
    kind: str | None = None
    office: str | None = None
    sender: str | None = None
    date_from: datetime | None = None
    date_to: datetime | None = None
    sort: str = "relevance"
    page: int = 1
    page_size: int = 10
    #: Count every match (``total``) and the facets; without it ``total`` is -1 and
    #: ``facets`` empty, and only the page of hits is collected (the fast path).
    count: bool = True


@dataclass(frozen=True)
class Hit:
    """One matching record: its id, score and the terms that matched."""

    id: str
    score: float


@dataclass
class SearchResult:
    """A page of hits; ``total`` and ``facets`` count only what the clearance allows."""

    total: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)


class SearchIndex(ABC):
    """A rebuildable full-text index over records."""

    url: str = ""

    @classmethod
    @abstractmethod
    def from_url(cls, url: str) -> SearchIndex: ...

    @abstractmethod
    def applied(self) -> int:
        """The last catalog change this index has applied (0 when empty).

        Raises :class:`IndexCorrupt` when the index is damaged and must be rebuilt.
        """

    @abstractmethod
    def apply(self, records: list[Record], removed: list[str], through: int) -> None:
        """Add or replace ``records``, drop ``removed`` ids, and remember ``through``.

        Idempotent. Raises :class:`IndexBusy` when another writer holds the index.
        """

    @abstractmethod
    def search(self, query: Query) -> SearchResult: ...

    @abstractmethod
    def snippet(self, text: str, query: Query) -> str:
        """A short extract of ``text`` with the matched words marked."""

    @abstractmethod
    def clear(self) -> None:
        """Drop everything; :meth:`applied` becomes 0."""

    def rebuild(self, records: Iterable[Record], through: int) -> int:
        """Replace the whole index with ``records``, as of catalog change ``through``.

        Returns the number of records indexed. Engines that can swap the new index in
        at once (readers never see it half-built) override this.
        """
        self.clear()
        batch: list[Record] = []
        count = 0
        for record in records:
            batch.append(record)
            if len(batch) == 500:
                self.apply(batch, [], 0)
                count += len(batch)
                batch = []
        self.apply(batch, [], through)
        return count + len(batch)

    def attach(self, catalog: Any) -> None:
        """Called once with the catalog this index follows (by
        :class:`~docarchive.search.sync.IndexSync`). An index kept inside the catalog's own
        database uses it to write in the catalog's transactions; others ignore it."""

    def close(self) -> None:
        """Release files and connections."""


def parse_when(value: str | None) -> datetime | None:
    """A record's date as every index keeps it: naive, from an ISO string (None if not one)."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=None)
    except ValueError:
        return None


def record_date(record: Record) -> datetime | None:
    """The date a record is sorted and filtered by: issued, else received, else created."""
    for key in ("issued", "received", "created"):
        when = parse_when(record.dates.get(key))
        if when is not None:
            return when
    return None


@contextmanager
def lock_file(
    path: Path, *, exclusive: bool = True, wait: float = 30.0, poll: float = 0.02
) -> Iterator[int]:
    """Hold the lock file ``path`` (flock, created owner-only), waiting up to ``wait``
    seconds for other processes; :class:`IndexBusy` when they keep it. Yields its fd."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    mode = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                fcntl.flock(fd, mode)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise
                if time.monotonic() >= deadline:
                    raise IndexBusy(str(path.parent)) from None
                time.sleep(poll)
        try:
            yield fd
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
