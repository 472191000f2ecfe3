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

from ..accounts import Token, User
from ..errors import IntegrityError
from ..followup import Referral
from ..leases import Lease
from ..records import Record

__all__ = [
    "GENESIS",
    "AuditEvent",
    "Catalog",
    "NumberEntry",
    "Transaction",
    "check_link",
    "event_hash",
]

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


@dataclass(frozen=True)
class Reservation:
    """A reserved number and the lease of the process making its record, if known."""

    entry: NumberEntry
    lease_id: str | None
    lease: Lease | None


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

    # -- reservation leases (migration 4): who is making a reserved number's record ------------

    @abstractmethod
    def hold_lease(self, lease: Lease, number: str) -> None:
        """Record (or renew) ``lease`` and make it the holder of the reserved ``number``.

        Called in the transaction that reserves the number, so a reservation never
        exists without its owner."""

    @abstractmethod
    def renew_lease(self, lease_id: str) -> bool:
        """Renew a lease that still holds reserved numbers; False if it holds none (or is
        gone), which ends its heartbeat. Not audited: a lease is not archive content."""

    @abstractmethod
    def drop_lease(self, lease_id: str) -> None:
        """Delete a lease that holds no reserved number any more."""

    @abstractmethod
    def void_reserved(
        self, number: str, reason: str, *, unrenewed_since: str | None = None
    ) -> NumberEntry | None:
        """Void ``number`` only if it is still reserved, and (with ``unrenewed_since``) only
        if its lease was not renewed since then: the decision is taken again inside the
        transaction, so a reservation finished or renewed meanwhile is left alone. Returns
        the voided entry, or None if it was left."""

    @abstractmethod
    def audit(self, action: str, record_id: str | None, detail: dict[str, Any]) -> AuditEvent:
        """Append an event to the chain."""

    @abstractmethod
    def set_cursor(self, name: str, value: str) -> None:
        """Remember where a repeated import left off (e.g. an IMAP mailbox's UIDVALIDITY
        and last UID), committed with the records it brought in. Not audited and no
        change number: a cursor is not archive content, only where to go on from."""

    # -- users and tokens (migration 5) ---------------------------------------------------------

    @abstractmethod
    def add_user(self, user: User) -> None:
        """A new user; :class:`IntegrityError` if the name is taken."""

    @abstractmethod
    def update_user(self, user: User) -> None:
        """Store a user's changed password hash, clearance, role, departments or state."""

    @abstractmethod
    def add_token(self, token: Token) -> None: ...

    @abstractmethod
    def update_token(self, token: Token) -> None:
        """Store a token's revocation or last use."""

    @abstractmethod
    def import_user(self, user: User) -> bool:
        """Copy a user verbatim (migrate); False if the name is there already."""

    @abstractmethod
    def import_token(self, token: Token) -> bool:
        """Copy a token verbatim (migrate); False if it is there already."""

    # -- referral and follow-up (migration 3) ---------------------------------------------------

    @abstractmethod
    def add_referral(self, referral: Referral) -> AuditEvent:
        """Insert a referral (or follow-up item); appends a ``refer`` event on its record."""

    @abstractmethod
    def answer_referral(self, referral_id: str, record_id: str, at: str) -> Referral:
        """Link reply ``record_id`` to an open or answered referral; the first answer makes it
        ``answered``, later ones are kept beside it. Appends an ``answer`` event."""

    @abstractmethod
    def close_referral(
        self, referral_id: str, reason: str, at: str, *, status: str = "closed"
    ) -> Referral:
        """Close (or cancel) an open referral by hand with a reason; appends a ``close`` event."""

    @abstractmethod
    def import_referral(self, referral: Referral) -> bool:
        """Insert a referral exactly as given (status, answers) with no audit event, for
        migrate and import: the copied chain holds its events. Each answer is entered at
        ``answered_at``. False when a referral with its id is already here."""

    # -- copying another catalog (migrate, import): content taken over verbatim ---------------

    @abstractmethod
    def import_record(self, record: Record) -> bool:
        """Insert a record exactly as given, with no audit event and no register line (the
        caller brings those); False when a record with its id is already here."""

    @abstractmethod
    def import_number(self, entry: NumberEntry) -> None:
        """Put a register line exactly as given (status, time, actor, reason), replacing the
        line of the same number: the register of the copied catalog wins."""

    @abstractmethod
    def import_sequence(self, series: str, office_code: str, period: str, last: int) -> None:
        """Raise a sequence's last number to ``last`` (never lower it), so numbering goes
        on after the copied register."""

    @abstractmethod
    def import_event(self, event: AuditEvent) -> None:
        """Append an audit event verbatim (its seq, time, actor and hash). It must extend
        the chain: ``seq`` one past the head and ``prev_hash`` the head's hash (GENESIS
        for the first), otherwise IntegrityError; its own hash must match its content."""


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
    def held_reservations(self) -> list[Reservation]:
        """The reserved numbers with the lease of the process making each (None for one
        reserved by an older docarchive, or whose lease row is gone)."""

    @abstractmethod
    def get_user(self, name: str) -> User | None: ...

    @abstractmethod
    def users(self) -> list[User]:
        """Every user, by name."""

    @abstractmethod
    def get_token(self, token_id: str) -> Token | None: ...

    @abstractmethod
    def tokens(self, user: str | None = None) -> list[Token]:
        """The tokens of one user (or of all), oldest first."""

    def record_events(self, record_id: str) -> list[AuditEvent]:
        """The audit events of one record, oldest first."""
        return [e for e in self.audit_events() if e.record_id == record_id]

    def close_thread(self) -> None:
        """Close the connection of the calling thread only (a thread that is about to end,
        such as a lease's heartbeat). Catalogs without per-thread connections do nothing."""

    def renew_lease(self, lease_id: str) -> bool:
        """:meth:`Transaction.renew_lease` in a transaction of its own."""
        with self.transaction("docarchive") as tx:
            return tx.renew_lease(lease_id)

    def drop_lease(self, lease_id: str) -> None:
        """:meth:`Transaction.drop_lease` in a transaction of its own."""
        with self.transaction("docarchive") as tx:
            tx.drop_lease(lease_id)

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

    @abstractmethod
    def numbers(self) -> Iterator[NumberEntry]:
        """Every line of every register, by series, office, period and seq."""

    @abstractmethod
    def sequences(self) -> list[tuple[str, str, str, int]]:
        """``(series, office_code, period, last)`` of every sequence."""

    # -- referral and follow-up (migration 3) ---------------------------------------------------

    @abstractmethod
    def get_referral(self, referral_id: str) -> Referral | None:
        """One referral with every answer recorded for it."""

    @abstractmethod
    def referrals(
        self,
        *,
        ids: list[str] | None = None,
        record_ids: list[str] | None = None,
        note_id: str | None = None,
        department: str | None = None,
        status: str | None = None,
        max_classification: int | None = None,
    ) -> list[Referral]:
        """Referrals matching every filter given, by ``referred_at`` then ``id``."""

    @abstractmethod
    def overdue_referrals(
        self, as_of: str, *, max_classification: int, department: str | None = None
    ) -> list[tuple[Referral, str, str | None]]:
        """Open referrals due before ``as_of`` (``YYYY-MM-DD``) at or below a classification,
        each with its record's subject and number; by department, due date, id."""

    def close(self) -> None:
        """Release connections."""


def check_link(event: AuditEvent, head_seq: int, head_hash: str) -> None:
    """Refuse an imported event that would not extend the chain at its head."""
    if event.seq != head_seq + 1 or event.prev_hash != head_hash:
        raise IntegrityError(
            f"audit event {event.seq} does not follow the chain's head (event {head_seq}): "
            "the catalog holds another chain"
        )
    if event.hash != event.expected_hash():
        raise IntegrityError(f"audit event {event.seq} was altered: its hash does not match")
