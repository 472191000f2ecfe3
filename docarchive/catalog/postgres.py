"""The shared catalog: PostgreSQL, ``postgresql://user@host:port/dbname?sslmode=...``.

Many processes on many machines open the same database and share one numbering
authority and one audit chain. The URL is libpq's (``postgres://`` works too);
its query options (``sslmode``, ``connect_timeout``, ``options``, ...) go to
libpq unchanged. Keep the password out of the URL: libpq reads ``PGPASSWORD`` or
``~/.pgpass``. Needs ``pip install 'docarchive[postgres]'`` (psycopg 3).

How concurrent writers stay correct (READ COMMITTED, explicit locks):

* **Numbers** — :meth:`~_PostgresTransaction.next_number` is one upsert on the
  series' row of ``sequences`` (``INSERT ... ON CONFLICT DO UPDATE SET
  last = last + 1``): it takes the row lock and waits for the transaction holding
  it, so numbers of one series are handed out one transaction at a time, gapless,
  and a rolled-back number is handed out again. Different series do not wait
  for each other.
* **Audit chain** — an append first takes a transaction-level advisory lock
  (:data:`AUDIT_LOCK`), then reads the chain's head. The lock is held until
  commit, so events get consecutive ``seq`` and link to their predecessor, from
  any number of machines. It is the last lock a normal write takes (numbers,
  then records, then the audit event), which keeps writers free of deadlocks.
  A transaction that takes a number *after* appending an audit event can
  deadlock with another writer; PostgreSQL then aborts one of them, which
  raises a "try again" :class:`~docarchive.errors.DocArchiveError`.
* Lock waits are bounded by ``lock_timeout`` (:data:`LOCK_TIMEOUT_S`), so a hung
  writer cannot stall the others for ever.
* Whatever the catalog can redo by itself, it retries with backoff: a
  serialization failure or deadlock in its own migrations and reads, a connection
  that went stale (server restart) before a transaction began, a server that is
  starting up or out of connection slots. The caller's ``with`` block cannot be
  replayed, so a failure inside it is raised, after rolling back.

The statements are the SQLite catalog's (:mod:`docarchive.catalog.sql`, written
with ``?``, run here as ``%s``), and so is the schema (:mod:`docarchive.catalog.schema`),
with the same versions in ``meta``; :data:`MIGRATIONS` run under an advisory lock, so
processes opening a new database at once do not race. Text columns use the
``"C"`` collation, so listings sort exactly as in SQLite (by code point).
"""

from __future__ import annotations

import contextlib
import functools
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from datetime import UTC
from typing import Any, NoReturn, TypeVar
from urllib.parse import urlsplit, urlunsplit

import psycopg
import psycopg.errors as pg_errors
from psycopg.conninfo import conninfo_to_dict

from ..errors import ConfigurationError, DocArchiveError
from .base import GENESIS, AuditEvent, Transaction
from .schema import META_TABLE, migrations
from .sql import META_KEY, Session, SQLCatalog, SQLTransaction

__all__ = ["AUDIT_LOCK", "LOCK_TIMEOUT_S", "MIGRATIONS", "MIGRATION_LOCK", "PostgresCatalog"]

T = TypeVar("T")
Conn = psycopg.Connection[tuple[Any, ...]]

#: Advisory lock keys (per database): b"docaudit" and b"docmigra" as big-endian int64.
AUDIT_LOCK = int.from_bytes(b"docaudit", "big")
MIGRATION_LOCK = int.from_bytes(b"docmigra", "big")
#: How long a writer waits for a lock another writer holds before giving up.
LOCK_TIMEOUT_S = 120
CONNECT_TIMEOUT_S = 10
RETRIES = 6

MIGRATIONS: list[str] = migrations("postgresql")

# Errors the catalog may retry when it can redo the whole unit of work itself.
_TRANSIENT = (pg_errors.SerializationFailure, pg_errors.DeadlockDetected)
# Server states worth waiting for when connecting: starting up, out of connection slots.
_CONNECT_LATER = {"57P03", "53300"}


def _backoff(attempt: int) -> None:
    time.sleep(random.uniform(0.02, 0.1) * 2**attempt)


class PostgresCatalog(SQLCatalog):
    """Records, numbers and the audit chain in a PostgreSQL database."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("postgresql", "postgres"):
            raise ConfigurationError(f"not a PostgreSQL catalog URL: {_redact(url)}")
        self._secret = parts.password or ""
        self.url = _redact(url)
        try:
            params = conninfo_to_dict(url)
        except psycopg.Error as exc:
            raise ConfigurationError(
                f"not a valid PostgreSQL catalog URL {self.url}: {self._scrub(str(exc))}"
            ) from None
        self._secret = self._secret or str(params.get("password") or "")
        user = params.get("user") or "(default user)"
        host = params.get("host") or "local socket"
        port = params.get("port") or "5432"
        self.where = f"{host}:{port}/{params.get('dbname') or '(default database)'} as {user}"
        self._conninfo = url
        self._connect_args: dict[str, Any] = {}
        if "connect_timeout" not in params:
            self._connect_args["connect_timeout"] = CONNECT_TIMEOUT_S
        if "application_name" not in params:
            self._connect_args["application_name"] = "docarchive"
        self._set_lock_timeout = "lock_timeout" not in str(params.get("options") or "")
        #: Called inside every write transaction, after its work and before its commit, with
        #: its session and the changes it made (change number, record id): the PostgreSQL
        #: search index writes its rows there, in the same transaction (search/pgindex.py).
        self.commit_hooks: list[Callable[[Session, list[tuple[int, str | None]]], None]] = []
        self._local = threading.local()
        self._conns: list[Conn] = []
        self._conns_lock = threading.Lock()
        self._pid = os.getpid()
        try:
            self._migrate()
        except BaseException:
            self.close()
            raise

    @classmethod
    def from_url(cls, url: str) -> PostgresCatalog:
        """``postgresql://user@host:port/dbname?libpq-options`` (or ``postgres://``)."""
        return cls(url)

    # -- errors: every psycopg error becomes a DocArchiveError here ----------------------------

    def _scrub(self, text: str) -> str:
        lines = [line.strip().rstrip(".") for line in text.splitlines() if line.strip()]
        text = ". ".join(lines)
        return text.replace(self._secret, "***") if self._secret else text

    def _fail(self, exc: psycopg.Error, doing: str) -> NoReturn:
        """Raise the DocArchiveError that explains ``exc`` (one line, no password)."""
        where = f"the PostgreSQL catalog at {self.where}"
        sqlstate = exc.sqlstate or ""
        message = self._scrub(exc.diag.message_primary or str(exc))
        if isinstance(exc, pg_errors.DeadlockDetected):
            raise DocArchiveError(
                f"{doing}: deadlocked with another writer of {where} and was rolled back; try again"
            ) from exc
        if isinstance(exc, pg_errors.SerializationFailure):
            raise DocArchiveError(
                f"{doing}: conflicted with another writer of {where} and was rolled back; try again"
            ) from exc
        if isinstance(exc, pg_errors.LockNotAvailable):
            raise DocArchiveError(
                f"{doing}: waited {LOCK_TIMEOUT_S} s for another writer of {where} to finish; "
                "try again"
            ) from exc
        if isinstance(exc, pg_errors.InsufficientPrivilege):
            raise ConfigurationError(
                f"{doing}: {message} on {where}; the catalog's user needs to own the database "
                "or to have CREATE and USAGE on its schema"
            ) from exc
        if isinstance(exc, pg_errors.UndefinedTable | pg_errors.UndefinedColumn):
            raise ConfigurationError(
                f"{doing}: {message} on {where}; the catalog's tables were changed outside "
                "docarchive"
            ) from exc
        if isinstance(exc, psycopg.OperationalError) and (
            not sqlstate or sqlstate.startswith("08") or sqlstate in _CONNECT_LATER
        ):
            raise ConfigurationError(
                f"cannot reach {where}: {_connect_reason(self._scrub(str(exc)))}"
            ) from exc
        raise DocArchiveError(f"{doing}: {where} answered: {message}") from exc

    # -- connections: one per thread -----------------------------------------------------------

    def _connect(self) -> Conn:
        for attempt in range(RETRIES):
            try:
                conn = psycopg.connect(self._conninfo, autocommit=True, **self._connect_args)
                break
            except psycopg.OperationalError as exc:
                if exc.sqlstate not in _CONNECT_LATER or attempt == RETRIES - 1:
                    self._fail(exc, "connecting")
                _backoff(attempt)
            except psycopg.Error as exc:
                self._fail(exc, "connecting")
        try:
            # Writers read committed data under explicit locks, whatever the server's default.
            conn.isolation_level = psycopg.IsolationLevel.READ_COMMITTED
            if self._set_lock_timeout:
                conn.execute(f"SET lock_timeout = '{LOCK_TIMEOUT_S}s'")
        except psycopg.Error as exc:
            conn.close()
            self._fail(exc, "connecting")
        with self._conns_lock:
            self._conns.append(conn)
        return conn

    def _conn(self) -> Conn:
        if os.getpid() != self._pid:
            self._after_fork()
        conn: Conn | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = self._local.conn = self._connect()
        return conn

    def _discard(self, conn: Conn) -> None:
        with self._conns_lock:
            if conn in self._conns:
                self._conns.remove(conn)
        if getattr(self._local, "conn", None) is conn:
            self._local.conn = None
        conn.close()

    def _after_fork(self) -> None:
        """In a forked child: let go of the parent's connections without ending the
        parent's sessions (their sockets are shared), and connect anew on next use."""
        with self._conns_lock:
            inherited, self._conns = self._conns, []
        for conn in inherited:
            with contextlib.suppress(Exception):
                # Point the shared socket's descriptor at /dev/null in this process only,
                # so closing says goodbye to nobody.
                null = os.open(os.devnull, os.O_RDWR)
                os.dup2(null, conn.pgconn.socket)
                os.close(null)
            with contextlib.suppress(Exception):
                conn.close()
        self._local = threading.local()
        self._pid = os.getpid()

    def close_thread(self) -> None:
        conn: Conn | None = getattr(self._local, "conn", None)
        if conn is not None and os.getpid() == self._pid:
            self._discard(conn)

    def close(self) -> None:
        """Close every connection this catalog opened, in every thread."""
        if os.getpid() != self._pid:
            self._after_fork()
            return
        with self._conns_lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            conn.close()
        self._local = threading.local()

    def _run(self, work: Callable[[Conn], T], doing: str) -> T:
        """Run ``work`` (one statement, or one transaction it opens itself) with retries:
        reconnect once if the connection went stale, redo on serialization failure or
        deadlock with backoff."""
        reconnected = False
        for attempt in range(RETRIES):
            conn = self._conn()
            try:
                return work(conn)
            except _TRANSIENT as exc:
                if attempt == RETRIES - 1:
                    self._fail(exc, doing)
                _backoff(attempt)
            except psycopg.OperationalError as exc:
                if not conn.broken or reconnected:
                    self._fail(exc, doing)
                self._discard(conn)
                reconnected = True
            except psycopg.Error as exc:
                self._fail(exc, doing)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- schema -------------------------------------------------------------------------------

    def _version(self, conn: Conn) -> int:
        if conn.execute("SELECT to_regclass('meta')").fetchone() == (None,):
            return 0
        row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        return int(row[0]) if row else 0

    def _migrate(self) -> None:
        def migrate(conn: Conn) -> None:
            if self._version(conn) == len(MIGRATIONS):
                return
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
                conn.execute(META_TABLE)
                version = self._version(conn)
                if version > len(MIGRATIONS):
                    raise ConfigurationError(
                        f"{self.url}: catalog schema {version} is newer than this docarchive "
                        f"({len(MIGRATIONS)}); upgrade docarchive"
                    )
                for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                    conn.execute(script)
                    conn.execute(
                        "INSERT INTO meta VALUES ('schema_version', %s) "
                        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        (str(number),),
                    )

        self._run(migrate, "opening the catalog")

    def schema_version(self) -> int:
        return self._run(self._version, "reading the schema version")

    # -- writes -------------------------------------------------------------------------------

    @contextmanager
    def transaction(self, actor: str) -> Iterator[Transaction]:
        stack = ExitStack()
        for attempt in range(2):
            conn = self._conn()
            try:
                stack.enter_context(conn.transaction())
                break
            except psycopg.OperationalError as exc:
                if not conn.broken or attempt == 1:
                    self._fail(exc, "starting a transaction")
                self._discard(conn)  # stale (the server restarted): connect again
            except psycopg.Error as exc:
                self._fail(exc, "starting a transaction")
        try:
            with stack:  # commits, or rolls back on any exception from the block
                tx = _PostgresTransaction(_PostgresSession(conn), actor)
                yield tx
                for hook in self.commit_hooks:
                    hook(tx.session, tx.changes)
        except psycopg.Error as exc:
            if conn.broken:
                self._discard(conn)
            self._fail(exc, f"transaction of {actor}")

    # -- the dialect: placeholders, arrays, jsonb ----------------------------------------------

    answers_sql = (
        "ARRAY(SELECT a.record_id FROM referral_answers a "
        "WHERE a.referral_id = r.id ORDER BY a.at, a.record_id)"
    )

    def _read(self, work: Callable[[Session], T], doing: str) -> T:
        return self._run(lambda conn: work(_PostgresSession(conn)), doing)

    def _any(self, column: str, values: list[str]) -> tuple[str, Any]:
        return f"{column} = ANY(?)", list(values)

    def _json_text(self, column: str, key: str) -> str:
        return f"{column}::jsonb ->> {_literal(key)}"

    def _meta_equals(self, key: str) -> str:
        # jsonb equality matches JSON strings only, as SQLite's json_extract does
        return f"(doc::jsonb -> 'meta') -> {_literal(key)} = to_jsonb(?::text)"


@functools.lru_cache(maxsize=1024)
def _pyformat(statement: str) -> str:
    """``statement`` with psycopg's placeholders: ``?`` becomes ``%s`` (and ``%`` ``%%``)."""
    return statement.replace("%", "%%").replace("?", "%s")


def _literal(key: str) -> str:
    """A checked key (``[A-Za-z0-9_]``) as an SQL string literal."""
    assert META_KEY.fullmatch(key), key
    return f"'{key}'"


class _PostgresSession(Session):
    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    def rows(self, sql: str, args: Sequence[Any] = ()) -> list[Any]:
        cur = self.conn.execute(_pyformat(sql), tuple(args))
        return cur.fetchall() if cur.description is not None else []

    def many(self, sql: str, args: list[Sequence[Any]]) -> None:
        if args:
            with self.conn.cursor() as cur:
                cur.executemany(_pyformat(sql), args)


class _PostgresTransaction(SQLTransaction):
    """READ COMMITTED under explicit locks: row locks, the audit chain's advisory lock,
    and savepoints so that a refused change leaves the transaction usable."""

    lock = " FOR UPDATE"
    greatest = "GREATEST"
    session: _PostgresSession

    def __init__(self, session: _PostgresSession, actor: str) -> None:
        super().__init__(session, actor)
        self.changes: list[tuple[int, str | None]] = []

    def _append(self, event: AuditEvent) -> None:
        super()._append(event)
        self.changes.append((event.seq, event.record_id))

    def _savepoint(self) -> AbstractContextManager[Any]:
        return self.session.conn.transaction()

    def _integrity_errors(self) -> tuple[type[Exception], ...]:
        return (psycopg.IntegrityError,)

    def _lock_audit(self) -> None:
        # Serialize appends: the lock is held until commit, and the head is read after it
        # (a new snapshot per statement), so the chain has no fork and no gap.
        self.session.rows("SELECT pg_advisory_xact_lock(?)", (AUDIT_LOCK,))

    def _audit_head(self) -> tuple[int, str, str]:
        self._lock_audit()
        # The server's clock, read under the lock: times rise along the chain even when the
        # writers' machines disagree about the time.
        head = self.session.row(
            "SELECT a.seq, a.hash, clock_timestamp() FROM (SELECT 1) one LEFT JOIN LATERAL "
            "(SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1) a ON true"
        )
        assert head is not None
        last_seq, last_hash, clock = head
        seq = int(last_seq) if last_seq is not None else 0
        prev = str(last_hash) if last_hash is not None else GENESIS
        return seq, prev, clock.astimezone(UTC).isoformat(timespec="microseconds")


def _redact(url: str) -> str:
    """``url`` without its password."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        host = parts.netloc.rpartition("@")[2]
        user = parts.username or ""
        return urlunsplit(parts._replace(netloc=f"{user}@{host}" if user else host))
    except ValueError:
        return re.sub(r"//([^/@:]*):[^/@]*@", r"//\1@", url)


def _connect_reason(message: str) -> str:
    """libpq's reason, without the 'connection to server at ... failed:' preamble."""
    reason = re.split(r"\bfailed:\s*", message)[-1].strip()
    reason = re.sub(r"^(FATAL|ERROR):\s*", "", reason)
    return reason or message
