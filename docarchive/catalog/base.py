"""The catalog protocol: records, number sequences and the audit chain.

The catalog is the archive's memory. Every change happens inside
:meth:`Catalog.transaction`, which hands out a :class:`Transaction`; a change
appends an audit event whose ``seq`` is the archive's change number and whose
``hash`` covers the previous event's hash, so the events form a chain that
``verify`` can walk. The search index remembers the last ``seq`` it applied and
catches up from :meth:`Catalog.changes_since`.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from ..records import Record

__all__ = ["GENESIS", "AuditEvent", "Catalog", "NumberEntry", "Transaction", "event_hash"]

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEvent:
    """One link of the audit chain."""

    seq: int
    at: str
    actor: str
    action: str
    record_id: str | None
    detail: dict[str, Any]
    prev_hash: str
    hash: str

    def expected_hash(self) -> str:
        return event_hash(
            self.seq, self.at, self.actor, self.action, self.record_id, self.detail, self.prev_hash
        )


def event_hash(
    seq: int,
    at: str,
    actor: str,
    action: str,
    record_id: str | None,
    detail: dict[str, Any],
    prev_hash: str,
) -> str:
    """SHA-256 over the canonical JSON of an event's fields and the previous hash."""
    body = json.dumps(
        [seq, at, actor, action, record_id, detail, prev_hash],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class NumberEntry:
    """One line of a series' register: a number and its record, or why it was voided."""

    series: str
    office_code: str
    period: str
    seq: int
    number: str
    record_id: str | None
    status: str
    at: str
    actor: str
    reason: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


class Transaction(ABC):
    """The changes of one catalog transaction; committed together or not at all."""

    @abstractmethod
    def next_number(self, series: str, office_code: str, period: str) -> int:
        """Take the next number of a series (locked until the transaction ends)."""

    @abstractmethod
    def add_record(self, record: Record, *, action: str = "create") -> None:
        """Insert a record and its number-register entry; appends an audit event."""

    @abstractmethod
    def reserve_number(
        self, series: str, office_code: str, period: str, seq: int, number: str, record_id: str
    ) -> None:
        """Enter a taken number in the register as ``reserved`` for a record still being made.

        :meth:`add_record` of that record turns it ``issued``; a failure voids it. Either
        way the number stays in the register: a reservation is never rolled back.
        """

    @abstractmethod
    def void_number(self, number: str, reason: str) -> NumberEntry:
        """Mark a number void with a reason; it is never handed out again."""

    @abstractmethod
    def audit(self, action: str, record_id: str | None, detail: dict[str, Any]) -> AuditEvent:
        """Append an event to the chain."""

    @abstractmethod
    def set_cursor(self, name: str, value: str) -> None:
        """Remember where a repeated import left off (e.g. an IMAP mailbox's UIDVALIDITY
        and last UID), committed with the records it brought in. Not audited and no
        change number: a cursor is not archive content, only where to go on from."""


class Catalog(ABC):
    """Records, numbers and the audit chain of one archive."""

    url: str = ""

    @classmethod
    @abstractmethod
    def from_url(cls, url: str) -> Catalog:
        """Open (creating and migrating where needed) the catalog at ``url``."""

    @abstractmethod
    def transaction(self, actor: str) -> AbstractContextManager[Transaction]:
        """A write transaction on behalf of ``actor``; serialized with other writers."""

    @abstractmethod
    def schema_version(self) -> int: ...

    @abstractmethod
    def get(self, record_id: str) -> Record | None: ...

    @abstractmethod
    def get_many(self, record_ids: list[str]) -> dict[str, Record]: ...

    @abstractmethod
    def find_number(self, number: str) -> NumberEntry | None: ...

    @abstractmethod
    def find_by_blob(self, sha256: str, role: str = "original") -> Record | None:
        """The record whose file of ``role`` has this SHA-256 (duplicate detection)."""

    @abstractmethod
    def find_by_meta(self, key: str, value: str) -> list[Record]:
        """Records whose ``meta[key]`` equals ``value``, oldest first. ``key`` is an
        identifier; the lookups mail ingest makes (``message_id``, ``thread``) must be
        indexed, others may scan."""

    @abstractmethod
    def cursor(self, name: str) -> str | None:
        """The value last saved by :meth:`Transaction.set_cursor` under ``name``."""

    @abstractmethod
    def records(self) -> Iterator[Record]: ...

    @abstractmethod
    def register(self, series: str, period: str | None = None) -> list[NumberEntry]: ...

    @abstractmethod
    def reservations(self) -> list[NumberEntry]:
        """Numbers still ``reserved``: being issued now, or left by a process that died."""

    @abstractmethod
    def last_change(self) -> int: ...

    @abstractmethod
    def changes_since(self, seq: int, limit: int = 1000) -> list[tuple[int, str | None]]:
        """``(seq, record_id)`` of the changes after ``seq``, oldest first."""

    @abstractmethod
    def audit_events(self) -> Iterator[AuditEvent]: ...

    @abstractmethod
    def record_digests(self) -> dict[str, str]:
        """The digest the latest audit event recorded for each record."""

    def close(self) -> None:
        """Release connections."""
