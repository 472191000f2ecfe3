"""Keeping the derived index in step with the catalog.

Every catalog change has a change number; the index remembers the last one it applied.
:meth:`IndexSync.catch_up` feeds it the records changed since, in batches, from any
process; :meth:`IndexSync.reindex` rebuilds it from the catalog alone. Records reach
the index through :meth:`IndexSync.indexable`, which adds their referrals' departments
and instructions to their text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import replace

from ..catalog import Catalog
from ..followup import Referral
from ..followup import index_text as referral_index_text
from ..records import Record
from .base import IndexBusy, IndexCorrupt, SearchIndex

__all__ = ["IndexSync", "with_referrals"]

log = logging.getLogger(__name__)


class IndexSync:
    """Catch-up and rebuild of one index from one catalog."""

    def __init__(
        self,
        catalog: Catalog,
        index: SearchIndex,
        after_write: Callable[[], None] | None = None,
        before: Callable[[], None] | None = None,
    ) -> None:
        self.catalog = catalog
        self.index = index
        #: Called after the index wrote (the permission policy's fix-up of its files).
        self.after_write = after_write
        #: Called before the index is read or written (the archive's analysis chain made
        #: the one in use: :meth:`docarchive.core.Core.analysis`).
        self.before = before
        index.attach(catalog)

    def catch_up(self) -> int:
        """Apply catalog changes the index has not seen; returns the change it reached.

        When another process holds the index, this stops quietly: that process, or the
        next call, brings the index up to date. A damaged index (missing or altered
        files, an unreadable state) is rebuilt from the catalog: the index is derived,
        so opening an archive never fails on it.
        """
        if self.before is not None:
            self.before()
        applied = 0
        wrote = False
        try:
            applied = self.index.applied()
            if applied > self.catalog.last_change():
                raise IndexCorrupt(
                    f"the index has applied change {applied}, the catalog's last is "
                    f"{self.catalog.last_change()} (a catalog restored from a backup?)"
                )
            while applied < self.catalog.last_change():
                changes = self.catalog.changes_since(applied, limit=500)
                if not changes:
                    break
                ids = sorted({rid for _, rid in changes if rid})
                found = self.catalog.get_many(ids)
                through = changes[-1][0]
                self.index.apply(
                    self.indexable(list(found.values())),
                    [i for i in ids if i not in found],
                    through,
                )
                applied = max(through, self.index.applied())
                wrote = True
            if wrote:
                self._written()
            return applied
        except IndexBusy:
            log.info("index busy; it will catch up later")
            return applied
        except IndexCorrupt as exc:
            log.warning("search index damaged (%s); rebuilding it from the catalog", exc)
            self.reindex()
            return self.index.applied()

    def reindex(self) -> int:
        """Rebuild the search index from the catalog and blobs alone; returns records indexed.

        The new index replaces the old one at once (searches meanwhile see the old one);
        changes made while it was built are applied after.
        """
        if self.before is not None:
            self.before()
        through = self.catalog.last_change()
        count = self.index.rebuild(self._indexable_records(), through)
        self._written()
        self.catch_up()
        return count

    def _written(self) -> None:
        if self.after_write is not None:
            self.after_write()

    def _indexable_records(self, batch_size: int = 500) -> Iterator[Record]:
        """Every record as the index should see it, read in batches."""
        batch: list[Record] = []
        for record in self.catalog.records():
            batch.append(record)
            if len(batch) == batch_size:
                yield from self.indexable(batch)
                batch = []
        yield from self.indexable(batch)

    def indexable(self, records: list[Record]) -> list[Record]:
        """``records`` as the search index should see them: each record's text followed by
        its referrals' departments and instructions (so a search for a department or for
        words of an instruction finds the record). The search layer calls this before
        indexing; referral events name their record, so catch-up re-indexes it."""
        if not records:
            return records
        return with_referrals(records, self.catalog.referrals(record_ids=[r.id for r in records]))


def with_referrals(records: list[Record], referrals: list[Referral]) -> list[Record]:
    """``records`` with their ``referrals``' departments and instructions after their text."""
    by_record: dict[str, list[Referral]] = {}
    for r in referrals:
        by_record.setdefault(r.record_id, []).append(r)
    return [
        replace(r, text=f"{r.text}\n{referral_index_text(by_record[r.id])}")
        if r.id in by_record
        else r
        for r in records
    ]
