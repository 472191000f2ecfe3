"""The embedded catalog: one SQLite file, ``sqlite:///path/catalog.sqlite``.

Writers take the database lock with ``BEGIN IMMEDIATE`` and wait for it (the
busy timeout, then bounded retries), so concurrent processes queue instead of
failing. WAL mode lets readers go on while one process writes. The schema is
versioned in ``meta``; :data:`MIGRATIONS` (:mod:`docarchive.catalog.schema`) brings an
older file up to date. The statements themselves are shared with PostgreSQL
(:mod:`docarchive.catalog.sql`); this module holds the connection and the write lock.
"""

from __future__ import annotations

import contextlib
import json
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, unquote, urlsplit

from ..errors import ConfigurationError, DocArchiveError
from ..permissions import Policy
from .base import Transaction
from .schema import META_TABLE, migrations
from .sql import Session, SQLCatalog, SQLTransaction

__all__ = ["MIGRATIONS", "SQLiteCatalog"]

T = TypeVar("T")

BUSY_TIMEOUT_S = 30.0
LOCK_RETRIES = 8

MIGRATIONS: list[str] = migrations("sqlite")


class SQLiteCatalog(SQLCatalog):
    """Records, numbers and the audit chain in one SQLite file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).absolute()
        self.url = f"sqlite://{quote(str(self.path))}"
        self._local = threading.local()
        try:
            # owner only until the archive applies its policy; SQLite gives its -wal and
            # -shm files the mode of the database file
            Policy().folder(self.path.parent)
            with contextlib.suppress(OSError):  # cannot create it: SQLite says why, below
                Policy().create_file(self.path)
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

    close_thread = close  # a connection is the calling thread's own

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
            db.execute(META_TABLE)
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
            yield _SQLiteTransaction(_SQLiteSession(db), actor)

    # -- the dialect: SQLite's JSON functions --------------------------------------------------

    answers_sql = (
        "(SELECT json_group_array(a.record_id) FROM (SELECT record_id FROM referral_answers "
        "WHERE referral_id = r.id ORDER BY at, record_id) a)"
    )

    def _read(self, work: Callable[[Session], T], doing: str) -> T:
        return work(_SQLiteSession(self._db))

    def _scan(self, select: str, key: str, doing: str) -> Iterator[Any]:
        # one statement, read as the caller goes (a page at a time would sort the table anew)
        # (a for loop, not ``yield from``: closing an abandoned scan must not close the
        # cursor, which fails once the catalog's connection is closed)
        for row in self._db.execute(f"{select} ORDER BY {key}"):  # noqa: UP028
            yield row

    def _any(self, column: str, values: list[str]) -> tuple[str, Any]:
        return f"{column} IN (SELECT value FROM json_each(?))", json.dumps(values)

    def _json_text(self, column: str, key: str) -> str:
        return f"json_extract({column}, '$.{key}')"

    def _meta_equals(self, key: str) -> str:
        # the literal path lets SQLite use the expression indexes of migration 2
        return f"json_extract(doc, '$.meta.{key}') = ?"

    def _answers(self, value: Any) -> list[str]:
        return list(json.loads(value))


class _SQLiteSession(Session):
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        return self.db.execute(sql, args).fetchall()

    def many(self, sql: str, args: list[Sequence[Any]]) -> None:
        self.db.executemany(sql, args)


class _SQLiteTransaction(SQLTransaction):
    """BEGIN IMMEDIATE holds the one write lock: no row locks, no savepoints needed."""

    def _integrity_errors(self) -> tuple[type[Exception], ...]:
        return (sqlite3.IntegrityError,)
