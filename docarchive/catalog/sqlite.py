"""The embedded catalog: one SQLite file, ``sqlite:///path/catalog.sqlite``.

Writers take the database lock with ``BEGIN IMMEDIATE`` and wait for it (the
busy timeout, then bounded retries), so concurrent processes queue instead of
failing. WAL mode lets readers go on while one process writes. The schema is
versioned in ``meta``; :data:`MIGRATIONS` brings an older file up to date.
"""

from __future__ import annotations

import json
import random
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from ..errors import (
    ConfigurationError,
    DocArchiveError,
    IntegrityError,
    NotFoundError,
    NumberingError,
)
from ..followup import FollowupError, Referral
from ..records import Record
from .base import (
    GENESIS,
    AuditEvent,
    Catalog,
    NumberEntry,
    Transaction,
    check_link,
    event_hash,
)

__all__ = ["MIGRATIONS", "SQLiteCatalog"]

BUSY_TIMEOUT_S = 30.0
LOCK_RETRIES = 8

MIGRATIONS: list[str] = [
    # 1: records, files, numbers, audit chain
    """
    CREATE TABLE records (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        number TEXT,
        series TEXT,
        classification INTEGER NOT NULL,
        source TEXT NOT NULL,
        created_at TEXT NOT NULL,
        doc TEXT NOT NULL
    );
    CREATE INDEX records_number ON records(number);
    CREATE TABLE record_files (
        record_id TEXT NOT NULL REFERENCES records(id),
        role TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        size INTEGER NOT NULL
    );
    CREATE INDEX record_files_sha ON record_files(sha256, role);
    CREATE TABLE sequences (
        series TEXT NOT NULL,
        office_code TEXT NOT NULL,
        period TEXT NOT NULL,
        last INTEGER NOT NULL,
        PRIMARY KEY (series, office_code, period)
    );
    CREATE TABLE numbers (
        series TEXT NOT NULL,
        office_code TEXT NOT NULL,
        period TEXT NOT NULL,
        seq INTEGER NOT NULL,
        number TEXT NOT NULL UNIQUE,
        record_id TEXT,
        status TEXT NOT NULL,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (series, office_code, period, seq)
    );
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        record_id TEXT,
        detail TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE INDEX audit_record ON audit(record_id);
    """,
    # 2: mail: lookups by Message-ID and thread; where repeated imports left off (no audit)
    """
    CREATE INDEX records_message_id ON records(json_extract(doc, '$.meta.message_id'));
    CREATE INDEX records_thread ON records(json_extract(doc, '$.meta.thread'));
    CREATE TABLE cursors (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        at TEXT NOT NULL
    );
    """,
    # 3: referral and follow-up: one row per department's share of a note; every answer
    """
    CREATE TABLE referrals (
        id TEXT PRIMARY KEY,
        note_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        record_id TEXT NOT NULL REFERENCES records(id),
        department TEXT NOT NULL,
        instruction TEXT NOT NULL,
        referred_by TEXT NOT NULL,
        referred_at TEXT NOT NULL,
        due TEXT NOT NULL,
        priority TEXT NOT NULL,
        status TEXT NOT NULL,
        parent_id TEXT REFERENCES referrals(id),
        answered_by TEXT REFERENCES records(id),
        answered_at TEXT,
        closed_reason TEXT NOT NULL DEFAULT '',
        closed_at TEXT,
        classification INTEGER NOT NULL
    );
    CREATE INDEX referrals_record ON referrals(record_id);
    CREATE INDEX referrals_note ON referrals(note_id);
    CREATE INDEX referrals_parent ON referrals(parent_id);
    CREATE INDEX referrals_open ON referrals(status, due);
    CREATE INDEX referrals_department ON referrals(department, status);
    CREATE TABLE referral_answers (
        referral_id TEXT NOT NULL REFERENCES referrals(id),
        record_id TEXT NOT NULL REFERENCES records(id),
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        PRIMARY KEY (referral_id, record_id)
    );
    """,
]
_REFERRAL_COLUMNS = ", ".join(Referral.ROW_COLUMNS)
_META_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class SQLiteCatalog(Catalog):
    """Records, numbers and the audit chain in one SQLite file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).absolute()
        self.url = f"sqlite://{quote(str(self.path))}"
        self._local = threading.local()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise ConfigurationError(f"{self.path}: not a usable SQLite catalog: {exc}") from exc

    @classmethod
    def from_url(cls, url: str) -> SQLiteCatalog:
        """``sqlite:///abs/path`` (or SQLAlchemy's ``sqlite:////abs/path``), percent-quoted;
        ``sqlite:relative/path`` for a path relative to the working folder."""
        parts = urlsplit(url)
        if parts.query:
            raise ConfigurationError(f"sqlite:// catalog takes no options: {url}")
        if parts.netloc:
            raise ConfigurationError(
                f"sqlite:// catalog must be a local file, not {parts.netloc!r}"
            )
        path = unquote(parts.path)
        if path.startswith("//"):
            path = path[1:]
        if not path or path == "/":
            raise ConfigurationError(f"sqlite:// catalog needs a file path: {url}")
        return cls(path)

    # -- connection -------------------------------------------------------------------------

    @property
    def _db(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE with bounded retry: wait for other writers, then commit or roll back."""
        db = self._db
        for attempt in range(LOCK_RETRIES):
            try:
                db.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if attempt == LOCK_RETRIES - 1:
                    raise DocArchiveError(
                        f"{self.path}: the catalog stayed locked by another process; try again"
                    ) from exc
                time.sleep(random.uniform(0.05, 0.25) * (attempt + 1))
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        else:
            db.execute("COMMIT")

    def _migrate(self) -> None:
        with self._write() as db:
            db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            version = int(row[0]) if row else 0
            if version > len(MIGRATIONS):
                raise ConfigurationError(
                    f"{self.path}: catalog schema {version} is newer than this docarchive "
                    f"({len(MIGRATIONS)}); upgrade docarchive"
                )
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in script.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(number),)
                )

    def schema_version(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        return int(row[0]) if row else 0

    # -- writes -----------------------------------------------------------------------------

    @contextmanager
    def transaction(self, actor: str) -> Iterator[Transaction]:
        with self._write() as db:
            yield _SQLiteTransaction(db, actor)

    # -- reads ------------------------------------------------------------------------------

    def get(self, record_id: str) -> Record | None:
        row = self._db.execute("SELECT doc FROM records WHERE id=?", (record_id,)).fetchone()
        return Record.from_dict(json.loads(row[0])) if row else None

    def get_many(self, record_ids: list[str]) -> dict[str, Record]:
        out: dict[str, Record] = {}
        for start in range(0, len(record_ids), 500):
            chunk = record_ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self._db.execute(
                f"SELECT id, doc FROM records WHERE id IN ({marks})", chunk
            ):
                out[row[0]] = Record.from_dict(json.loads(row[1]))
        return out

    def find_number(self, number: str) -> NumberEntry | None:
        row = self._db.execute("SELECT * FROM numbers WHERE number=?", (number,)).fetchone()
        return _entry(row) if row else None

    def find_by_blob(self, sha256: str, role: str = "original") -> Record | None:
        row = self._db.execute(
            "SELECT record_id FROM record_files WHERE sha256=? AND role=? LIMIT 1", (sha256, role)
        ).fetchone()
        return self.get(row[0]) if row else None

    def find_by_meta(self, key: str, value: str) -> list[Record]:
        if not _META_KEY.fullmatch(key):
            raise ValueError(f"not a metadata key: {key!r}")
        # the literal path lets SQLite use the expression indexes of migration 2
        rows = self._db.execute(
            f"SELECT doc FROM records WHERE json_extract(doc, '$.meta.{key}') = ? "
            "ORDER BY created_at, id",
            (value,),
        )
        return [Record.from_dict(json.loads(r[0])) for r in rows]

    def cursor(self, name: str) -> str | None:
        row = self._db.execute("SELECT value FROM cursors WHERE name=?", (name,)).fetchone()
        return str(row[0]) if row else None

    def records(self) -> Iterator[Record]:
        for row in self._db.execute("SELECT doc FROM records ORDER BY created_at, id"):
            yield Record.from_dict(json.loads(row[0]))

    def register(self, series: str, period: str | None = None) -> list[NumberEntry]:
        sql = "SELECT * FROM numbers WHERE series=?"
        args: list[Any] = [series]
        if period is not None:
            sql += " AND period=?"
            args.append(period)
        rows = self._db.execute(sql + " ORDER BY office_code, period, seq", args)
        return [_entry(r) for r in rows]

    def reservations(self) -> list[NumberEntry]:
        rows = self._db.execute("SELECT * FROM numbers WHERE status='reserved' ORDER BY at")
        return [_entry(r) for r in rows]

    def last_change(self) -> int:
        return int(self._db.execute("SELECT COALESCE(MAX(seq), 0) FROM audit").fetchone()[0])

    def changes_since(self, seq: int, limit: int = 1000) -> list[tuple[int, str | None]]:
        rows = self._db.execute(
            "SELECT seq, record_id FROM audit WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit)
        )
        return [(int(r[0]), r[1]) for r in rows]

    def audit_events(self) -> Iterator[AuditEvent]:
        for r in self._db.execute("SELECT * FROM audit ORDER BY seq"):
            try:
                detail = json.loads(r["detail"])
            except ValueError:
                detail = {"unreadable": r["detail"]}
            yield AuditEvent(
                seq=r["seq"],
                at=r["at"],
                actor=r["actor"],
                action=r["action"],
                record_id=r["record_id"],
                detail=detail,
                prev_hash=r["prev_hash"],
                hash=r["hash"],
            )

    def record_digests(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for event in self.audit_events():
            digest = event.detail.get("digest")
            if event.record_id and isinstance(digest, str):
                out[event.record_id] = digest
        return out

    def numbers(self) -> Iterator[NumberEntry]:
        for row in self._db.execute(
            "SELECT * FROM numbers ORDER BY series, office_code, period, seq"
        ):
            yield _entry(row)

    def sequences(self) -> list[tuple[str, str, str, int]]:
        rows = self._db.execute("SELECT * FROM sequences ORDER BY series, office_code, period")
        return [(r["series"], r["office_code"], r["period"], int(r["last"])) for r in rows]

    # -- referral and follow-up -------------------------------------------------------------

    def get_referral(self, referral_id: str) -> Referral | None:
        return _get_referral(self._db, referral_id)

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
                where.append(f"{column} IN (SELECT value FROM json_each(?))")
                args.append(json.dumps(values))
        for column, value in (
            ("note_id", note_id),
            ("department", department),
            ("status", status),
        ):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if max_classification is not None:
            where.append("classification <= ?")
            args.append(int(max_classification))
        sql = (
            f"SELECT {_REFERRAL_COLUMNS}, (SELECT json_group_array(a.record_id) FROM "
            "(SELECT record_id FROM referral_answers WHERE referral_id = r.id ORDER BY at, "
            "record_id) a) AS answers FROM referrals r"
        )
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self._db.execute(sql + " ORDER BY referred_at, id", args)
        return [Referral.from_row(row, json.loads(row[17])) for row in rows]

    def overdue_referrals(
        self, as_of: str, *, max_classification: int, department: str | None = None
    ) -> list[tuple[Referral, str, str | None]]:
        columns = ", ".join("r." + c for c in _REFERRAL_COLUMNS.split(", "))
        sql = (
            f"SELECT {columns}, json_extract(rec.doc, '$.subject'), rec.number "
            "FROM referrals r JOIN records rec ON rec.id = r.record_id "
            "WHERE r.status = 'open' AND r.due < ? AND r.classification <= ?"
        )
        args: list[Any] = [as_of, int(max_classification)]
        if department is not None:
            sql += " AND r.department = ?"
            args.append(department)
        rows = self._db.execute(sql + " ORDER BY r.department, r.due, r.id", args)
        return [(Referral.from_row(row, []), row[17] or "", row[18]) for row in rows]


class _SQLiteTransaction(Transaction):
    def __init__(self, db: sqlite3.Connection, actor: str) -> None:
        self.db = db
        self.actor = actor

    def next_number(self, series: str, office_code: str, period: str) -> int:
        row = self.db.execute(
            "SELECT last FROM sequences WHERE series=? AND office_code=? AND period=?",
            (series, office_code, period),
        ).fetchone()
        seq = (int(row[0]) if row else 0) + 1
        self.db.execute(
            "INSERT INTO sequences VALUES (?, ?, ?, ?) ON CONFLICT (series, office_code, period) "
            "DO UPDATE SET last=excluded.last",
            (series, office_code, period, seq),
        )
        return seq

    def add_record(self, record: Record, *, action: str = "create") -> None:
        doc = record.canonical_json()
        if self.db.execute("SELECT 1 FROM records WHERE id=?", (record.id,)).fetchone():
            raise IntegrityError(
                f"record {record.id} already exists; records are never overwritten"
            )
        self.db.execute(
            "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.id,
                record.kind,
                record.number,
                record.series,
                int(record.classification),
                record.source,
                record.dates.get("created", _now()),
                doc,
            ),
        )
        self.db.executemany(
            "INSERT INTO record_files VALUES (?, ?, ?, ?)",
            [(record.id, f.role, f.sha256, f.size) for f in record.files],
        )
        if record.number is not None:
            seq = record.meta.get("seq")
            if not (record.series and isinstance(seq, int)):
                raise NumberingError(f"record {record.id} has a number but no series/seq")
            held = self.db.execute(
                "SELECT status, record_id FROM numbers WHERE number=?", (record.number,)
            ).fetchone()
            if held is not None and held["status"] == "reserved" and held["record_id"] == record.id:
                self.db.execute(
                    "UPDATE numbers SET status='issued', at=?, actor=? WHERE number=?",
                    (_now(), self.actor, record.number),
                )
            elif held is not None:
                raise NumberingError(f"number {record.number} is already in the register")
            else:
                self._enter_record(record, seq)
        self.audit(action, record.id, {"digest": record.digest(), "number": record.number})

    def reserve_number(
        self, series: str, office_code: str, period: str, seq: int, number: str, record_id: str
    ) -> None:
        self._enter(series, office_code, period, seq, number, record_id, "reserved")
        self.audit("reserve", record_id, {"number": number})

    def _enter_record(self, record: Record, seq: int) -> None:
        self._enter(
            str(record.series),
            str(record.meta.get("office_code", "")),
            str(record.meta.get("period", "")),
            seq,
            str(record.number),
            record.id,
            "issued",
        )

    def _enter(
        self,
        series: str,
        office_code: str,
        period: str,
        seq: int,
        number: str,
        record_id: str,
        status: str,
    ) -> None:
        """One new line of the register."""
        try:
            self.db.execute(
                "INSERT INTO numbers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '')",
                (series, office_code, period, seq, number, record_id, status, _now(), self.actor),
            )
        except sqlite3.IntegrityError as exc:
            raise NumberingError(f"number {number} is already in the register") from exc

    def void_number(self, number: str, reason: str) -> NumberEntry:
        row = self.db.execute("SELECT * FROM numbers WHERE number=?", (number,)).fetchone()
        if row is None:
            raise NotFoundError(f"no number {number} in any register")
        if row["status"] == "void":
            raise NumberingError(f"number {number} is already void: {row['reason']}")
        at = _now()
        self.db.execute(
            "UPDATE numbers SET status='void', reason=?, at=?, actor=? WHERE number=?",
            (reason, at, self.actor, number),
        )
        self.audit("void", row["record_id"], {"number": number, "reason": reason})
        updated = self.db.execute("SELECT * FROM numbers WHERE number=?", (number,)).fetchone()
        return _entry(updated)

    def set_cursor(self, name: str, value: str) -> None:
        self.db.execute(
            "INSERT INTO cursors VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value=excluded.value, at=excluded.at",
            (name, value, _now()),
        )

    def add_referral(self, referral: Referral) -> AuditEvent:
        found = self.db.execute("SELECT 1 FROM records WHERE id=?", (referral.record_id,))
        if found.fetchone() is None:
            raise NotFoundError(f"no record {referral.record_id!r} to refer")
        try:
            self.db.execute(
                f"INSERT INTO referrals ({_REFERRAL_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                referral.row(),
            )
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(f"referral {referral.id} cannot be added: {exc}") from exc
        return self.audit("refer", referral.record_id, referral.audit_detail())

    def import_referral(self, referral: Referral) -> bool:
        if self.db.execute("SELECT 1 FROM referrals WHERE id=?", (referral.id,)).fetchone():
            return False
        marks = ", ".join("?" * len(Referral.ROW_COLUMNS))
        self.db.execute(
            f"INSERT INTO referrals ({_REFERRAL_COLUMNS}) VALUES ({marks})", referral.row()
        )
        at = referral.answered_at or referral.referred_at
        self.db.executemany(
            "INSERT INTO referral_answers VALUES (?, ?, ?, ?)",
            [(referral.id, answer, at, self.actor) for answer in referral.answers],
        )
        return True

    def answer_referral(self, referral_id: str, record_id: str, at: str) -> Referral:
        current = _get_referral(self.db, referral_id)
        if current is None:
            raise NotFoundError(f"no referral {referral_id!r}")
        if current.status not in ("open", "answered"):
            why = f": {current.closed_reason}" if current.closed_reason else ""
            raise FollowupError(f"referral {referral_id} is {current.status}{why}")
        if self.db.execute("SELECT 1 FROM records WHERE id=?", (record_id,)).fetchone() is None:
            raise NotFoundError(f"no record {record_id!r} to answer with")
        if record_id in current.answers:
            raise FollowupError(f"record {record_id} already answers referral {referral_id}")
        self.db.execute(
            "INSERT INTO referral_answers VALUES (?, ?, ?, ?)",
            (referral_id, record_id, at, self.actor),
        )
        if current.status == "open":
            self.db.execute(
                "UPDATE referrals SET status='answered', answered_by=?, answered_at=? WHERE id=?",
                (record_id, at, referral_id),
            )
        self.audit("answer", current.record_id, current.answer_detail(record_id, at))
        updated = _get_referral(self.db, referral_id)
        assert updated is not None
        return updated

    def close_referral(
        self, referral_id: str, reason: str, at: str, *, status: str = "closed"
    ) -> Referral:
        if status not in ("closed", "cancelled"):
            raise ValueError(f"a referral is closed or cancelled, not {status!r}")
        current = _get_referral(self.db, referral_id)
        if current is None:
            raise NotFoundError(f"no referral {referral_id!r}")
        if current.status != "open":
            raise FollowupError(f"referral {referral_id} is already {current.status}")
        self.db.execute(
            "UPDATE referrals SET status=?, closed_reason=?, closed_at=? WHERE id=?",
            (status, reason, at, referral_id),
        )
        self.audit("close", current.record_id, current.close_detail(status, reason, at))
        updated = _get_referral(self.db, referral_id)
        assert updated is not None
        return updated

    def audit(self, action: str, record_id: str | None, detail: dict[str, Any]) -> AuditEvent:
        last = self.db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        seq = int(last[0]) + 1 if last else 1
        prev = str(last[1]) if last else GENESIS
        at = _now()
        digest = event_hash(seq, at, self.actor, action, record_id, detail, prev)
        self.db.execute(
            "INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                seq,
                at,
                self.actor,
                action,
                record_id,
                json.dumps(detail, ensure_ascii=False, sort_keys=True),
                prev,
                digest,
            ),
        )
        return AuditEvent(seq, at, self.actor, action, record_id, detail, prev, digest)

    def import_record(self, record: Record) -> bool:
        if self.db.execute("SELECT 1 FROM records WHERE id=?", (record.id,)).fetchone():
            return False
        self.db.execute(
            "INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.id,
                record.kind,
                record.number,
                record.series,
                int(record.classification),
                record.source,
                record.dates.get("created", _now()),
                record.canonical_json(),
            ),
        )
        self.db.executemany(
            "INSERT INTO record_files VALUES (?, ?, ?, ?)",
            [(record.id, f.role, f.sha256, f.size) for f in record.files],
        )
        return True

    def import_number(self, e: NumberEntry) -> None:
        self.db.execute("DELETE FROM numbers WHERE number=?", (e.number,))
        try:
            self.db.execute(
                "INSERT INTO numbers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        except sqlite3.IntegrityError as exc:
            raise NumberingError(f"number {e.number}: its seq {e.seq} is taken here") from exc

    def import_sequence(self, series: str, office_code: str, period: str, last: int) -> None:
        self.db.execute(
            "INSERT INTO sequences VALUES (?, ?, ?, ?) ON CONFLICT (series, office_code, period) "
            "DO UPDATE SET last=MAX(last, excluded.last)",
            (series, office_code, period, last),
        )

    def import_event(self, event: AuditEvent) -> None:
        head = self.db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        check_link(event, int(head[0]) if head else 0, str(head[1]) if head else GENESIS)
        self.db.execute(
            "INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
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


def _entry(row: sqlite3.Row) -> NumberEntry:
    return NumberEntry(
        series=row["series"],
        office_code=row["office_code"],
        period=row["period"],
        seq=int(row["seq"]),
        number=row["number"],
        record_id=row["record_id"],
        status=row["status"],
        at=row["at"],
        actor=row["actor"],
        reason=row["reason"],
    )


def _get_referral(db: sqlite3.Connection, referral_id: str) -> Referral | None:
    row = db.execute(
        f"SELECT {_REFERRAL_COLUMNS} FROM referrals WHERE id=?", (referral_id,)
    ).fetchone()
    if row is None:
        return None
    answers = [
        a[0]
        for a in db.execute(
            "SELECT record_id FROM referral_answers WHERE referral_id=? ORDER BY at, record_id",
            (referral_id,),
        )
    ]
    return Referral.from_row(row, answers)
