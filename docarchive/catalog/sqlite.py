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
from ..records import Record
from .base import GENESIS, AuditEvent, Catalog, NumberEntry, Transaction, event_hash

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
]
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
