"""The SQL both catalogs share: every statement written once, with ``?`` placeholders.

The choice: a statements module, not a query builder (no SQLAlchemy, no new
dependency). SQLite and PostgreSQL run the same tables (:mod:`.schema`), so the
statements are the same but for the placeholder style, which each engine's
:class:`Session` handles: SQLite takes ``?`` as written; the PostgreSQL session
rewrites ``?`` to ``%s`` once per statement string (cached). The few places the
dialects really differ are small hooks, and only there does dialect code live:

* on :class:`SQLCatalog` (reads): :meth:`~SQLCatalog._read` (how to run a unit of
  reading: a thread's SQLite connection, or PostgreSQL with reconnects and
  retries), :meth:`~SQLCatalog._any` (``column`` is one of a list),
  :meth:`~SQLCatalog._json_text` and :meth:`~SQLCatalog._meta_equals` (JSON in
  ``records.doc``), :attr:`~SQLCatalog.answers_sql` (a referral's answers as one
  column);
* on :class:`SQLTransaction` (writes): :attr:`~SQLTransaction.lock` (``""`` on
  SQLite, whose ``BEGIN IMMEDIATE`` already serializes writers; ``" FOR UPDATE"``
  on PostgreSQL), :attr:`~SQLTransaction.greatest`, :meth:`~SQLTransaction._savepoint`,
  :meth:`~SQLTransaction._lock_audit` and :meth:`~SQLTransaction._audit_head` (how
  appends to the audit chain are serialized and timed);
* in the engine modules (:mod:`.sqlite`, :mod:`.postgres`): connections, how a
  write transaction begins and ends, error translation and retries.
"""

from __future__ import annotations

import json
import re
from abc import abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from typing import Any, ClassVar, NoReturn, TypeVar

from ..accounts import Token, User
from ..errors import IntegrityError, NotFoundError, NumberingError, ReservationVoidedError
from ..followup import FollowupError, Referral
from ..leases import Lease, Owner
from ..records import Record
from .base import (
    GENESIS,
    AuditEvent,
    Catalog,
    NumberEntry,
    Reservation,
    Transaction,
    check_link,
    event_hash,
)

__all__ = ["PAGE", "SQLCatalog", "SQLTransaction", "Session"]

T = TypeVar("T")
PAGE = 1000

REFERRAL_COLUMNS = ", ".join(Referral.ROW_COLUMNS)
_R_REFERRAL_COLUMNS = ", ".join("r." + c for c in Referral.ROW_COLUMNS)
NUMBER_COLUMNS = "series, office_code, period, seq, number, record_id, status, at, actor, reason"
AUDIT_COLUMNS = "seq, at, actor, action, record_id, detail, prev_hash, hash"
META_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")

_RECORD_INSERT = (
    "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING id"
)
_FILE_INSERT = "INSERT INTO record_files VALUES (?, ?, ?, ?)"
_NUMBER_INSERT = (
    f"INSERT INTO numbers ({NUMBER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT DO NOTHING RETURNING seq"
)
_USER_COLUMNS = (
    "name, password_hash, clearance, role, departments, disabled, created_at, changed_at"
)
_TOKEN_COLUMNS = (
    "id, user_name, label, secret_hash, created_at, expires_at, revoked_at, last_used_at"
)
_AUDIT_INSERT = f"INSERT INTO audit ({AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
_AUDIT_HEAD = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1"
_ANSWER_INSERT = "INSERT INTO referral_answers VALUES (?, ?, ?, ?)"
_RECORD_EXISTS = "SELECT 1 FROM records WHERE id=?"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class Session:
    """One connection as the shared statements see it: ``?`` placeholders, rows as tuples."""

    @abstractmethod
    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        """Every row ``sql`` returns."""

    def row(self, sql: str, args: Sequence[Any] = ()) -> Any:
        """The first row ``sql`` returns, or None."""
        rows = self.rows(sql, args)
        return rows[0] if rows else None

    @abstractmethod
    def many(self, sql: str, args: list[Sequence[Any]]) -> None:
        """Run ``sql`` once for each argument tuple."""


class SQLCatalog(Catalog):
    """The read methods of a catalog on SQL; the engine supplies the hooks below."""

    #: a referral's answers as one column of ``referrals r``, oldest first
    answers_sql: ClassVar[str]

    @abstractmethod
    def _read(self, work: Callable[[Session], T], doing: str) -> T:
        """Run ``work`` (reads only) on this thread's connection."""

    @abstractmethod
    def _any(self, column: str, values: list[str]) -> tuple[str, Any]:
        """A condition ``column`` is one of ``values``, and its one argument."""

    @abstractmethod
    def _json_text(self, column: str, key: str) -> str:
        """The text of top-level ``key`` of the JSON document in ``column``."""

    @abstractmethod
    def _meta_equals(self, key: str) -> str:
        """A condition ``records.doc``'s ``meta.key`` is the JSON string ``?``
        (``key`` is checked; as a literal it lets migration 2's indexes serve)."""

    def _answers(self, value: Any) -> list[str]:
        """The value of :attr:`answers_sql` as a list."""
        return list(value)

    def _scan(self, select: str, key: str, doing: str) -> Iterator[Any]:
        """Every row of ``select`` (no WHERE) in the order of ``key``, the unique leading
        columns: page by page, each page a statement of its own after the last key seen."""
        width = key.count(",") + 1
        marks = ", ".join("?" * width)
        rows = self._rows(f"{select} ORDER BY {key} LIMIT ?", (PAGE,), doing)
        while rows:
            yield from rows
            if len(rows) < PAGE:
                return
            rows = self._rows(
                f"{select} WHERE ({key}) > ({marks}) ORDER BY {key} LIMIT ?",
                (*rows[-1][:width], PAGE),
                doing,
            )

    def _rows(self, sql: str, args: Sequence[Any], doing: str) -> list[Any]:
        return self._read(lambda s: s.rows(sql, args), doing)

    def _row(self, sql: str, args: Sequence[Any], doing: str) -> Any:
        return self._read(lambda s: s.row(sql, args), doing)

    def get(self, record_id: str) -> Record | None:
        row = self._row("SELECT doc FROM records WHERE id=?", (record_id,), "reading a record")
        return Record.from_dict(json.loads(row[0])) if row else None

    def get_many(self, record_ids: list[str]) -> dict[str, Record]:
        out: dict[str, Record] = {}
        for start in range(0, len(record_ids), PAGE):
            where, arg = self._any("id", record_ids[start : start + PAGE])
            for rid, doc in self._rows(
                f"SELECT id, doc FROM records WHERE {where}", (arg,), "reading records"
            ):
                out[rid] = Record.from_dict(json.loads(doc))
        return out

    def find_number(self, number: str) -> NumberEntry | None:
        row = self._row(
            f"SELECT {NUMBER_COLUMNS} FROM numbers WHERE number=?", (number,), "finding a number"
        )
        return entry(row) if row else None

    def find_by_blob(self, sha256: str, role: str = "original") -> Record | None:
        row = self._row(
            "SELECT r.doc FROM record_files f JOIN records r ON r.id = f.record_id "
            "WHERE f.sha256=? AND f.role=? ORDER BY r.created_at, r.id LIMIT 1",
            (sha256, role),
            "finding a blob's record",
        )
        return Record.from_dict(json.loads(row[0])) if row else None

    def find_by_meta(self, key: str, value: str) -> list[Record]:
        if not META_KEY.fullmatch(key):
            raise ValueError(f"not a metadata key: {key!r}")
        rows = self._rows(
            f"SELECT doc FROM records WHERE {self._meta_equals(key)} ORDER BY created_at, id",
            (value,),
            "finding records",
        )
        return [Record.from_dict(json.loads(r[0])) for r in rows]

    def cursor(self, name: str) -> str | None:
        row = self._row("SELECT value FROM cursors WHERE name=?", (name,), "reading a cursor")
        return str(row[0]) if row else None

    def records(self) -> Iterator[Record]:
        for row in self._scan(
            "SELECT created_at, id, doc FROM records", "created_at, id", "listing records"
        ):
            yield Record.from_dict(json.loads(row[2]))

    def register(self, series: str, period: str | None = None) -> list[NumberEntry]:
        sql = f"SELECT {NUMBER_COLUMNS} FROM numbers WHERE series=?"
        args: list[Any] = [series]
        if period is not None:
            sql += " AND period=?"
            args.append(period)
        rows = self._rows(sql + " ORDER BY office_code, period, seq", args, "reading a register")
        return [entry(r) for r in rows]

    def reservations(self) -> list[NumberEntry]:
        rows = self._rows(
            f"SELECT {NUMBER_COLUMNS} FROM numbers WHERE status='reserved' ORDER BY at",
            (),
            "listing reserved numbers",
        )
        return [entry(r) for r in rows]

    def get_user(self, name: str) -> User | None:
        row = self._row(
            f"SELECT {_USER_COLUMNS} FROM users WHERE name=?", (name,), "reading a user"
        )
        return User.from_row(row) if row else None

    def users(self) -> list[User]:
        rows = self._rows(f"SELECT {_USER_COLUMNS} FROM users ORDER BY name", (), "listing users")
        return [User.from_row(r) for r in rows]

    def get_token(self, token_id: str) -> Token | None:
        row = self._row(
            f"SELECT {_TOKEN_COLUMNS} FROM tokens WHERE id=?", (token_id,), "reading a token"
        )
        return Token.from_row(row) if row else None

    def tokens(self, user: str | None = None) -> list[Token]:
        sql, args = f"SELECT {_TOKEN_COLUMNS} FROM tokens", []
        if user is not None:
            sql, args = sql + " WHERE user_name=?", [user]
        rows = self._rows(sql + " ORDER BY created_at, id", args, "listing tokens")
        return [Token.from_row(r) for r in rows]

    def record_events(self, record_id: str) -> list[AuditEvent]:
        rows = self._rows(
            f"SELECT {AUDIT_COLUMNS} FROM audit WHERE record_id=? ORDER BY seq",
            (record_id,),
            "reading a record's audit events",
        )
        return [_event(r) for r in rows]

    def held_reservations(self) -> list[Reservation]:
        cols = ", ".join(f"n.{c.strip()}" for c in NUMBER_COLUMNS.split(","))
        rows = self._rows(
            f"SELECT {cols}, n.lease_id, l.host, l.boot, l.pid, l.started, l.renewed_at "
            "FROM numbers n LEFT JOIN leases l ON l.id = n.lease_id "
            "WHERE n.status='reserved' ORDER BY n.at",
            (),
            "listing reserved numbers",
        )
        found = []
        for row in rows:
            lease_id, host, boot, pid, started, renewed_at = row[10:]
            lease = (
                Lease(lease_id, Owner(host, boot, int(pid), started), renewed_at)
                if host is not None
                else None
            )
            found.append(Reservation(entry(row[:10]), lease_id, lease))
        return found

    def last_change(self) -> int:
        row = self._row("SELECT COALESCE(MAX(seq), 0) FROM audit", (), "reading the last change")
        return int(row[0])

    def changes_since(self, seq: int, limit: int = 1000) -> list[tuple[int, str | None]]:
        rows = self._rows(
            "SELECT seq, record_id FROM audit WHERE seq > ? ORDER BY seq LIMIT ?",
            (seq, limit),
            "reading changes",
        )
        return [(int(r[0]), r[1]) for r in rows]

    def audit_events(self) -> Iterator[AuditEvent]:
        for row in self._scan(
            f"SELECT {AUDIT_COLUMNS} FROM audit", "seq", "reading the audit chain"
        ):
            yield _event(row)

    def record_digests(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for event in self.audit_events():
            digest = event.detail.get("digest")
            if event.record_id and isinstance(digest, str):
                out[event.record_id] = digest
        return out

    def numbers(self) -> Iterator[NumberEntry]:
        rows = self._rows(
            f"SELECT {NUMBER_COLUMNS} FROM numbers ORDER BY series, office_code, period, seq",
            (),
            "listing the registers",
        )
        for row in rows:
            yield entry(row)

    def sequences(self) -> list[tuple[str, str, str, int]]:
        rows = self._rows(
            "SELECT series, office_code, period, last FROM sequences "
            "ORDER BY series, office_code, period",
            (),
            "listing sequences",
        )
        return [(r[0], r[1], r[2], int(r[3])) for r in rows]

    # -- referral and follow-up -------------------------------------------------------------

    def get_referral(self, referral_id: str) -> Referral | None:
        return self._read(lambda s: get_referral(s, referral_id), "reading a referral")

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
        where: list[str] = []
        args: list[Any] = []
        for column, values in (("id", ids), ("record_id", record_ids)):
            if values is not None:
                if not values:
                    return []
                condition, arg = self._any(f"r.{column}", list(values))
                where.append(condition)
                args.append(arg)
        for column, value in (
            ("note_id", note_id),
            ("department", department),
            ("status", status),
        ):
            if value is not None:
                where.append(f"r.{column} = ?")
                args.append(value)
        if max_classification is not None:
            where.append("r.classification <= ?")
            args.append(int(max_classification))
        query = f"SELECT {_R_REFERRAL_COLUMNS}, {self.answers_sql} FROM referrals r"
        if where:
            query += " WHERE " + " AND ".join(where)
        rows = self._rows(query + " ORDER BY r.referred_at, r.id", args, "listing referrals")
        return [Referral.from_row(row, self._answers(row[17])) for row in rows]

    def overdue_referrals(
        self, as_of: str, *, max_classification: int, department: str | None = None
    ) -> list[tuple[Referral, str, str | None]]:
        query = (
            f"SELECT {_R_REFERRAL_COLUMNS}, {self._json_text('rec.doc', 'subject')}, rec.number "
            "FROM referrals r JOIN records rec ON rec.id = r.record_id "
            "WHERE r.status = 'open' AND r.due < ? AND r.classification <= ?"
        )
        args: list[Any] = [as_of, int(max_classification)]
        if department is not None:
            query += " AND r.department = ?"
            args.append(department)
        rows = self._rows(
            query + " ORDER BY r.department, r.due, r.id", args, "listing overdue referrals"
        )
        return [(Referral.from_row(row, []), row[17] or "", row[18]) for row in rows]


class SQLTransaction(Transaction):
    """The write methods of a catalog on SQL, inside the engine's write transaction."""

    #: appended to a SELECT whose rows the transaction goes on to change
    lock: ClassVar[str] = ""
    #: the larger of two values
    greatest: ClassVar[str] = "MAX"

    def __init__(self, session: Session, actor: str) -> None:
        self.session = session
        self.actor = actor

    def _savepoint(self) -> AbstractContextManager[Any]:
        """Around a change that may be refused half-way, if the engine needs one to go on."""
        return nullcontext()

    def _lock_audit(self) -> None:
        """Take the lock that serializes appends to the audit chain, if the write lock does not."""

    def _audit_head(self) -> tuple[int, str, str]:
        """``seq`` and ``hash`` of the chain's last event (``0, GENESIS`` if none), and the
        time for the next, read under the lock of :meth:`_lock_audit`."""
        self._lock_audit()
        head = self.session.row(_AUDIT_HEAD)
        return (int(head[0]), str(head[1]), now()) if head else (0, GENESIS, now())

    def next_number(self, series: str, office_code: str, period: str) -> int:
        # The upsert takes the series' row until commit; other writers of the series wait.
        row = self.session.row(
            "INSERT INTO sequences AS s (series, office_code, period, last) "
            "VALUES (?, ?, ?, 1) ON CONFLICT (series, office_code, period) "
            "DO UPDATE SET last = s.last + 1 RETURNING last",
            (series, office_code, period),
        )
        assert row is not None
        return int(row[0])

    def _insert_record(self, record: Record) -> bool:
        inserted = self.session.row(
            _RECORD_INSERT,
            (
                record.id,
                record.kind,
                record.number,
                record.series,
                int(record.classification),
                record.source,
                record.dates.get("created", now()),
                record.canonical_json(),
            ),
        )
        if inserted is None:
            return False
        if record.files:
            self.session.many(
                _FILE_INSERT, [(record.id, f.role, f.sha256, f.size) for f in record.files]
            )
        return True

    def add_record(self, record: Record, *, action: str = "create") -> None:
        with self._savepoint():  # a refused record leaves the rest of the transaction usable
            if not self._insert_record(record):
                raise IntegrityError(
                    f"record {record.id} already exists; records are never overwritten"
                )
            if record.number is not None:
                seq = record.meta.get("seq")
                if not (record.series and isinstance(seq, int)):
                    raise NumberingError(f"record {record.id} has a number but no series/seq")
                held = self.session.row(
                    "UPDATE numbers SET status='issued', at=?, actor=? "
                    "WHERE number=? AND status='reserved' AND record_id=? RETURNING seq",
                    (now(), self.actor, record.number, record.id),
                )
                taken = held or self.session.row(
                    _NUMBER_INSERT,
                    (
                        record.series,
                        str(record.meta.get("office_code", "")),
                        str(record.meta.get("period", "")),
                        seq,
                        record.number,
                        record.id,
                        "issued",
                        now(),
                        self.actor,
                        "",
                    ),
                )
                if taken is None:
                    self._refuse_number(record)
            self.audit(action, record.id, {"digest": record.digest(), "number": record.number})

    def _refuse_number(self, record: Record) -> NoReturn:
        """Why ``record``'s number cannot be entered: voided while the record was being
        made (its own reservation), or held by another record."""
        row = self.session.row(
            f"SELECT {NUMBER_COLUMNS} FROM numbers WHERE number=?", (record.number,)
        )
        if row is not None:
            held = entry(row)
            if held.status == "void" and held.record_id == record.id:
                raise ReservationVoidedError(
                    f"number {record.number} was voided while its document was being made "
                    f"({held.reason}); the document was not stored"
                )
        raise NumberingError(f"number {record.number} is already in the register")

    def reserve_number(
        self, series: str, office_code: str, period: str, seq: int, number: str, record_id: str
    ) -> None:
        taken = self.session.row(
            _NUMBER_INSERT,
            (
                series,
                office_code,
                period,
                seq,
                number,
                record_id,
                "reserved",
                now(),
                self.actor,
                "",
            ),
        )
        if taken is None:
            raise NumberingError(f"number {number} is already in the register")
        self.audit("reserve", record_id, {"number": number})

    def void_number(self, number: str, reason: str) -> NumberEntry:
        row = self.session.row(
            f"SELECT {NUMBER_COLUMNS} FROM numbers WHERE number=?{self.lock}", (number,)
        )
        if row is None:
            raise NotFoundError(f"no number {number} in any register")
        old = entry(row)
        if old.status == "void":
            raise NumberingError(f"number {number} is already void: {old.reason}")
        updated = self.session.row(
            "UPDATE numbers SET status='void', reason=?, at=?, actor=? WHERE number=? "
            f"RETURNING {NUMBER_COLUMNS}",
            (reason, now(), self.actor, number),
        )
        self.audit("void", old.record_id, {"number": number, "reason": reason})
        return entry(updated)

    def add_user(self, user: User) -> None:
        if not self.import_user(user):
            raise IntegrityError(f"there is a user {user.name!r} already")

    def update_user(self, user: User) -> None:
        name, password_hash, clearance, role, departments, disabled, _created, changed = user.row()
        done = self.session.row(
            "UPDATE users SET password_hash=?, clearance=?, role=?, departments=?, disabled=?, "
            "changed_at=? WHERE name=? RETURNING name",
            (password_hash, clearance, role, departments, disabled, changed, name),
        )
        if done is None:
            raise NotFoundError(f"no user {user.name!r}")

    def add_token(self, token: Token) -> None:
        if self.session.row("SELECT name FROM users WHERE name=?", (token.user,)) is None:
            raise NotFoundError(f"no user {token.user!r}")
        marks = ", ".join("?" * len(token.row()))
        self.session.rows(f"INSERT INTO tokens ({_TOKEN_COLUMNS}) VALUES ({marks})", token.row())

    def update_token(self, token: Token) -> None:
        self.session.rows(
            "UPDATE tokens SET revoked_at=?, last_used_at=? WHERE id=?",
            (token.revoked_at, token.last_used_at, token.id),
        )

    def import_user(self, user: User) -> bool:
        marks = ", ".join("?" * len(user.row()))
        added = self.session.row(
            f"INSERT INTO users ({_USER_COLUMNS}) VALUES ({marks}) "
            "ON CONFLICT (name) DO NOTHING RETURNING name",
            user.row(),
        )
        return added is not None

    def import_token(self, token: Token) -> bool:
        marks = ", ".join("?" * len(token.row()))
        added = self.session.row(
            f"INSERT INTO tokens ({_TOKEN_COLUMNS}) VALUES ({marks}) "
            "ON CONFLICT (id) DO NOTHING RETURNING id",
            token.row(),
        )
        return added is not None

    def hold_lease(self, lease: Lease, number: str) -> None:
        owner = lease.owner
        self.session.rows(
            "INSERT INTO leases VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET renewed_at = excluded.renewed_at",
            (lease.id, owner.host, owner.boot, owner.pid, owner.started, now()),
        )
        self.session.rows(
            "UPDATE numbers SET lease_id=? WHERE number=? AND status='reserved'",
            (lease.id, number),
        )

    def renew_lease(self, lease_id: str) -> bool:
        renewed = self.session.row(
            "UPDATE leases SET renewed_at=? WHERE id=? AND EXISTS (SELECT 1 FROM numbers "
            "WHERE lease_id=? AND status='reserved') RETURNING id",
            (now(), lease_id, lease_id),
        )
        return renewed is not None

    def drop_lease(self, lease_id: str) -> None:
        self.session.rows(
            "DELETE FROM leases WHERE id=? AND NOT EXISTS (SELECT 1 FROM numbers "
            "WHERE lease_id=? AND status='reserved')",
            (lease_id, lease_id),
        )

    def void_reserved(
        self, number: str, reason: str, *, unrenewed_since: str | None = None
    ) -> NumberEntry | None:
        sql = (
            "UPDATE numbers SET status='void', reason=?, at=?, actor=? "
            "WHERE number=? AND status='reserved'"
        )
        args: list[Any] = [reason, now(), self.actor, number]
        if unrenewed_since is not None:
            sql += (
                " AND NOT EXISTS (SELECT 1 FROM leases WHERE leases.id = numbers.lease_id "
                "AND leases.renewed_at >= ?)"
            )
            args.append(unrenewed_since)
        updated = self.session.row(f"{sql} RETURNING {NUMBER_COLUMNS}", args)
        if updated is None:
            return None
        voided = entry(updated)
        self.audit("void", voided.record_id, {"number": number, "reason": reason})
        return voided

    def set_cursor(self, name: str, value: str) -> None:
        self.session.rows(
            "INSERT INTO cursors VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value, at = excluded.at",
            (name, value, now()),
        )

    def _integrity_errors(self) -> tuple[type[Exception], ...]:
        """The engine's exceptions for a broken constraint."""
        return ()

    def add_referral(self, referral: Referral) -> AuditEvent:
        if self.session.row(_RECORD_EXISTS, (referral.record_id,)) is None:
            raise NotFoundError(f"no record {referral.record_id!r} to refer")
        marks = ", ".join("?" * len(Referral.ROW_COLUMNS))
        try:
            with self._savepoint():  # a refused row leaves the rest usable
                self.session.rows(
                    f"INSERT INTO referrals ({REFERRAL_COLUMNS}) VALUES ({marks})", referral.row()
                )
        except self._integrity_errors() as exc:
            raise IntegrityError(f"referral {referral.id} cannot be added: {exc}") from exc
        return self.audit("refer", referral.record_id, referral.audit_detail())

    def import_referral(self, referral: Referral) -> bool:
        marks = ", ".join("?" * len(Referral.ROW_COLUMNS))
        inserted = self.session.row(
            f"INSERT INTO referrals ({REFERRAL_COLUMNS}) VALUES ({marks}) "
            "ON CONFLICT (id) DO NOTHING RETURNING id",
            referral.row(),
        )
        if inserted is None:
            return False
        at = referral.answered_at or referral.referred_at
        self.session.many(
            _ANSWER_INSERT, [(referral.id, answer, at, self.actor) for answer in referral.answers]
        )
        return True

    def _open_referral(self, referral_id: str) -> Referral:
        # the row lock serializes changes to one referral from any number of processes
        current = get_referral(self.session, referral_id, lock=self.lock)
        if current is None:
            raise NotFoundError(f"no referral {referral_id!r}")
        return current

    def _reread(self, referral_id: str) -> Referral:
        updated = get_referral(self.session, referral_id)
        assert updated is not None
        return updated

    def answer_referral(self, referral_id: str, record_id: str, at: str) -> Referral:
        current = self._open_referral(referral_id)
        if current.status not in ("open", "answered"):
            why = f": {current.closed_reason}" if current.closed_reason else ""
            raise FollowupError(f"referral {referral_id} is {current.status}{why}")
        if self.session.row(_RECORD_EXISTS, (record_id,)) is None:
            raise NotFoundError(f"no record {record_id!r} to answer with")
        if record_id in current.answers:
            raise FollowupError(f"record {record_id} already answers referral {referral_id}")
        self.session.rows(_ANSWER_INSERT, (referral_id, record_id, at, self.actor))
        if current.status == "open":
            self.session.rows(
                "UPDATE referrals SET status='answered', answered_by=?, answered_at=? WHERE id=?",
                (record_id, at, referral_id),
            )
        self.audit("answer", current.record_id, current.answer_detail(record_id, at))
        return self._reread(referral_id)

    def close_referral(
        self, referral_id: str, reason: str, at: str, *, status: str = "closed"
    ) -> Referral:
        if status not in ("closed", "cancelled"):
            raise ValueError(f"a referral is closed or cancelled, not {status!r}")
        current = self._open_referral(referral_id)
        if current.status != "open":
            raise FollowupError(f"referral {referral_id} is already {current.status}")
        self.session.rows(
            "UPDATE referrals SET status=?, closed_reason=?, closed_at=? WHERE id=?",
            (status, reason, at, referral_id),
        )
        self.audit("close", current.record_id, current.close_detail(status, reason, at))
        return self._reread(referral_id)

    def _append(self, event: AuditEvent) -> None:
        self.session.rows(
            _AUDIT_INSERT,
            (
                event.seq,
                event.at,
                event.actor,
                event.action,
                event.record_id,
                json.dumps(event.detail, ensure_ascii=False, sort_keys=True),
                event.prev_hash,
                event.hash,
            ),
        )

    def audit(self, action: str, record_id: str | None, detail: dict[str, Any]) -> AuditEvent:
        last_seq, prev, at = self._audit_head()
        seq = last_seq + 1
        digest = event_hash(seq, at, self.actor, action, record_id, detail, prev)
        event = AuditEvent(seq, at, self.actor, action, record_id, detail, prev, digest)
        self._append(event)
        return event

    def import_record(self, record: Record) -> bool:
        return self._insert_record(record)

    def import_number(self, e: NumberEntry) -> None:
        self.session.rows("DELETE FROM numbers WHERE number=?", (e.number,))
        taken = self.session.row(
            _NUMBER_INSERT,
            (
                e.series,
                e.office_code,
                e.period,
                e.seq,
                e.number,
                e.record_id,
                e.status,
                e.at,
                e.actor,
                e.reason,
            ),
        )
        if taken is None:
            raise NumberingError(f"number {e.number}: its seq {e.seq} is taken here")

    def import_sequence(self, series: str, office_code: str, period: str, last: int) -> None:
        self.session.rows(
            "INSERT INTO sequences AS s (series, office_code, period, last) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (series, office_code, period) "
            f"DO UPDATE SET last = {self.greatest}(s.last, excluded.last)",
            (series, office_code, period, last),
        )

    def import_event(self, event: AuditEvent) -> None:
        self._lock_audit()
        head = self.session.row(_AUDIT_HEAD)
        check_link(event, int(head[0]) if head else 0, str(head[1]) if head else GENESIS)
        self._append(event)


def entry(row: Sequence[Any]) -> NumberEntry:
    series, office_code, period, seq, number, record_id, status, at, actor, reason = row
    return NumberEntry(
        series=series,
        office_code=office_code,
        period=period,
        seq=int(seq),
        number=number,
        record_id=record_id,
        status=status,
        at=at,
        actor=actor,
        reason=reason,
    )


def _event(row: Sequence[Any]) -> AuditEvent:
    seq, at, actor, action, record_id, detail_text, prev_hash, digest = row
    try:
        detail = json.loads(detail_text)
    except ValueError:
        detail = {"unreadable": detail_text}
    return AuditEvent(int(seq), at, actor, action, record_id, detail, prev_hash, digest)


def get_referral(session: Session, referral_id: str, *, lock: str = "") -> Referral | None:
    row = session.row(f"SELECT {REFERRAL_COLUMNS} FROM referrals WHERE id=?{lock}", (referral_id,))
    if row is None:
        return None
    answers = session.rows(
        "SELECT record_id FROM referral_answers WHERE referral_id=? ORDER BY at, record_id",
        (referral_id,),
    )
    return Referral.from_row(row, [a[0] for a in answers])
