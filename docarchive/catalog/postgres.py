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

The schema is the SQLite catalog's (:mod:`docarchive.catalog.sqlite`), with the
same versions in ``meta``; :data:`MIGRATIONS` run under an advisory lock, so
processes opening a new database at once do not race. Text columns use the
``"C"`` collation, so listings sort exactly as in SQLite (by code point).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from typing import Any, NoReturn, TypeVar
from urllib.parse import urlsplit, urlunsplit

import psycopg
import psycopg.errors as pg_errors
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

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
PAGE = 1000

MIGRATIONS: list[str] = [
    # 1: records, files, numbers, audit chain
    """
    CREATE TABLE records (
        id TEXT COLLATE "C" PRIMARY KEY,
        kind TEXT COLLATE "C" NOT NULL,
        number TEXT COLLATE "C",
        series TEXT COLLATE "C",
        classification INTEGER NOT NULL,
        source TEXT COLLATE "C" NOT NULL,
        created_at TEXT COLLATE "C" NOT NULL,
        doc TEXT NOT NULL
    );
    CREATE INDEX records_number ON records(number);
    CREATE INDEX records_created ON records(created_at, id);
    CREATE TABLE record_files (
        record_id TEXT COLLATE "C" NOT NULL REFERENCES records(id),
        role TEXT COLLATE "C" NOT NULL,
        sha256 TEXT COLLATE "C" NOT NULL,
        size BIGINT NOT NULL
    );
    CREATE INDEX record_files_sha ON record_files(sha256, role);
    CREATE TABLE sequences (
        series TEXT COLLATE "C" NOT NULL,
        office_code TEXT COLLATE "C" NOT NULL,
        period TEXT COLLATE "C" NOT NULL,
        last BIGINT NOT NULL,
        PRIMARY KEY (series, office_code, period)
    );
    CREATE TABLE numbers (
        series TEXT COLLATE "C" NOT NULL,
        office_code TEXT COLLATE "C" NOT NULL,
        period TEXT COLLATE "C" NOT NULL,
        seq BIGINT NOT NULL,
        number TEXT COLLATE "C" NOT NULL UNIQUE,
        record_id TEXT COLLATE "C",
        status TEXT COLLATE "C" NOT NULL,
        at TEXT COLLATE "C" NOT NULL,
        actor TEXT COLLATE "C" NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (series, office_code, period, seq)
    );
    CREATE TABLE audit (
        seq BIGINT PRIMARY KEY,
        at TEXT COLLATE "C" NOT NULL,
        actor TEXT COLLATE "C" NOT NULL,
        action TEXT COLLATE "C" NOT NULL,
        record_id TEXT COLLATE "C",
        detail TEXT NOT NULL,
        prev_hash TEXT COLLATE "C" NOT NULL,
        hash TEXT COLLATE "C" NOT NULL
    );
    CREATE INDEX audit_record ON audit(record_id);
    """,
    # 2: mail: lookups by Message-ID and thread; where repeated imports left off (no audit)
    """
    CREATE INDEX records_message_id ON records(((doc::jsonb -> 'meta') -> 'message_id'));
    CREATE INDEX records_thread ON records(((doc::jsonb -> 'meta') -> 'thread'));
    CREATE TABLE cursors (
        name TEXT COLLATE "C" PRIMARY KEY,
        value TEXT NOT NULL,
        at TEXT COLLATE "C" NOT NULL
    );
    """,
    # 3: referral and follow-up: one row per department's share of a note; every answer
    """
    CREATE TABLE referrals (
        id TEXT COLLATE "C" PRIMARY KEY,
        note_id TEXT COLLATE "C" NOT NULL,
        kind TEXT COLLATE "C" NOT NULL,
        record_id TEXT COLLATE "C" NOT NULL REFERENCES records(id),
        department TEXT COLLATE "C" NOT NULL,
        instruction TEXT NOT NULL,
        referred_by TEXT COLLATE "C" NOT NULL,
        referred_at TEXT COLLATE "C" NOT NULL,
        due TEXT COLLATE "C" NOT NULL,
        priority TEXT COLLATE "C" NOT NULL,
        status TEXT COLLATE "C" NOT NULL,
        parent_id TEXT COLLATE "C" REFERENCES referrals(id),
        answered_by TEXT COLLATE "C" REFERENCES records(id),
        answered_at TEXT COLLATE "C",
        closed_reason TEXT NOT NULL DEFAULT '',
        closed_at TEXT COLLATE "C",
        classification INTEGER NOT NULL
    );
    CREATE INDEX referrals_record ON referrals(record_id);
    CREATE INDEX referrals_note ON referrals(note_id);
    CREATE INDEX referrals_parent ON referrals(parent_id);
    CREATE INDEX referrals_open ON referrals(status, due);
    CREATE INDEX referrals_department ON referrals(department, status);
    CREATE TABLE referral_answers (
        referral_id TEXT COLLATE "C" NOT NULL REFERENCES referrals(id),
        record_id TEXT COLLATE "C" NOT NULL REFERENCES records(id),
        at TEXT COLLATE "C" NOT NULL,
        actor TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (referral_id, record_id)
    );
    """,
]
_REFERRAL_COLUMNS = ", ".join(Referral.ROW_COLUMNS)
_META_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")

_NUMBER_COLUMNS = "series, office_code, period, seq, number, record_id, status, at, actor, reason"
_AUDIT_COLUMNS = "seq, at, actor, action, record_id, detail, prev_hash, hash"
# Errors the catalog may retry when it can redo the whole unit of work itself.
_TRANSIENT = (pg_errors.SerializationFailure, pg_errors.DeadlockDetected)
# Server states worth waiting for when connecting: starting up, out of connection slots.
_CONNECT_LATER = {"57P03", "53300"}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _backoff(attempt: int) -> None:
    time.sleep(random.uniform(0.02, 0.1) * 2**attempt)


class PostgresCatalog(Catalog):
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

    def _rows(self, sql: str, args: tuple[Any, ...] | list[Any], doing: str) -> list[Any]:
        return self._run(lambda conn: conn.execute(sql, args).fetchall(), doing)

    def _row(self, sql: str, args: tuple[Any, ...] | list[Any], doing: str) -> Any:
        return self._run(lambda conn: conn.execute(sql, args).fetchone(), doing)

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
                conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
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
                yield _PostgresTransaction(conn, actor)
        except psycopg.Error as exc:
            if conn.broken:
                self._discard(conn)
            self._fail(exc, f"transaction of {actor}")

    # -- reads --------------------------------------------------------------------------------

    def get(self, record_id: str) -> Record | None:
        row = self._row("SELECT doc FROM records WHERE id=%s", (record_id,), "reading a record")
        return Record.from_dict(json.loads(row[0])) if row else None

    def get_many(self, record_ids: list[str]) -> dict[str, Record]:
        out: dict[str, Record] = {}
        for start in range(0, len(record_ids), PAGE):
            chunk = record_ids[start : start + PAGE]
            for rid, doc in self._rows(
                "SELECT id, doc FROM records WHERE id = ANY(%s)", (chunk,), "reading records"
            ):
                out[rid] = Record.from_dict(json.loads(doc))
        return out

    def find_number(self, number: str) -> NumberEntry | None:
        row = self._row(
            f"SELECT {_NUMBER_COLUMNS} FROM numbers WHERE number=%s", (number,), "finding a number"
        )
        return _entry(row) if row else None

    def find_by_blob(self, sha256: str, role: str = "original") -> Record | None:
        row = self._row(
            "SELECT r.doc FROM record_files f JOIN records r ON r.id = f.record_id "
            "WHERE f.sha256=%s AND f.role=%s ORDER BY r.created_at, r.id LIMIT 1",
            (sha256, role),
            "finding a blob's record",
        )
        return Record.from_dict(json.loads(row[0])) if row else None

    def find_by_meta(self, key: str, value: str) -> list[Record]:
        if not _META_KEY.fullmatch(key):
            raise ValueError(f"not a metadata key: {key!r}")
        # The key as a literal, so the expression indexes of migration 2 serve the lookup;
        # jsonb equality matches JSON strings only, as SQLite's json_extract does.
        query = sql.SQL(
            "SELECT doc FROM records WHERE (doc::jsonb -> 'meta') -> {} = to_jsonb(%s::text) "
            "ORDER BY created_at, id"
        ).format(sql.Literal(key))
        rows = self._run(lambda conn: conn.execute(query, (value,)).fetchall(), "finding records")
        return [Record.from_dict(json.loads(r[0])) for r in rows]

    def cursor(self, name: str) -> str | None:
        row = self._row("SELECT value FROM cursors WHERE name=%s", (name,), "reading a cursor")
        return str(row[0]) if row else None

    def records(self) -> Iterator[Record]:
        rows = self._rows(
            "SELECT created_at, id, doc FROM records ORDER BY created_at, id LIMIT %s",
            (PAGE,),
            "listing records",
        )
        while rows:
            for _, _, doc in rows:
                yield Record.from_dict(json.loads(doc))
            if len(rows) < PAGE:
                return
            rows = self._rows(
                "SELECT created_at, id, doc FROM records WHERE (created_at, id) > (%s, %s) "
                "ORDER BY created_at, id LIMIT %s",
                (rows[-1][0], rows[-1][1], PAGE),
                "listing records",
            )

    def register(self, series: str, period: str | None = None) -> list[NumberEntry]:
        sql = f"SELECT {_NUMBER_COLUMNS} FROM numbers WHERE series=%s"
        args: list[Any] = [series]
        if period is not None:
            sql += " AND period=%s"
            args.append(period)
        rows = self._rows(sql + " ORDER BY office_code, period, seq", args, "reading a register")
        return [_entry(r) for r in rows]

    def reservations(self) -> list[NumberEntry]:
        rows = self._rows(
            f"SELECT {_NUMBER_COLUMNS} FROM numbers WHERE status='reserved' ORDER BY at",
            (),
            "listing reserved numbers",
        )
        return [_entry(r) for r in rows]

    def last_change(self) -> int:
        row = self._row("SELECT COALESCE(MAX(seq), 0) FROM audit", (), "reading the last change")
        return int(row[0])

    def changes_since(self, seq: int, limit: int = 1000) -> list[tuple[int, str | None]]:
        rows = self._rows(
            "SELECT seq, record_id FROM audit WHERE seq > %s ORDER BY seq LIMIT %s",
            (seq, limit),
            "reading changes",
        )
        return [(int(r[0]), r[1]) for r in rows]

    def audit_events(self) -> Iterator[AuditEvent]:
        after = 0
        while True:
            rows = self._rows(
                f"SELECT {_AUDIT_COLUMNS} FROM audit WHERE seq > %s ORDER BY seq LIMIT %s",
                (after, PAGE),
                "reading the audit chain",
            )
            for row in rows:
                yield _event(row)
            if len(rows) < PAGE:
                return
            after = int(rows[-1][0])

    def record_digests(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for event in self.audit_events():
            digest = event.detail.get("digest")
            if event.record_id and isinstance(digest, str):
                out[event.record_id] = digest
        return out

    def numbers(self) -> Iterator[NumberEntry]:
        rows = self._rows(
            f"SELECT {_NUMBER_COLUMNS} FROM numbers ORDER BY series, office_code, period, seq",
            (),
            "listing the registers",
        )
        for row in rows:
            yield _entry(row)

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
        return self._run(lambda conn: _get_referral(conn, referral_id), "reading a referral")

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
                where.append(f"r.{column} = ANY(%s)")
                args.append(list(values))
        for column, value in (
            ("note_id", note_id),
            ("department", department),
            ("status", status),
        ):
            if value is not None:
                where.append(f"r.{column} = %s")
                args.append(value)
        if max_classification is not None:
            where.append("r.classification <= %s")
            args.append(int(max_classification))
        columns = ", ".join("r." + c for c in Referral.ROW_COLUMNS)
        query = (
            f"SELECT {columns}, ARRAY(SELECT a.record_id FROM referral_answers a "
            "WHERE a.referral_id = r.id ORDER BY a.at, a.record_id) FROM referrals r"
        )
        if where:
            query += " WHERE " + " AND ".join(where)
        rows = self._rows(query + " ORDER BY r.referred_at, r.id", args, "listing referrals")
        return [Referral.from_row(row, row[17]) for row in rows]

    def overdue_referrals(
        self, as_of: str, *, max_classification: int, department: str | None = None
    ) -> list[tuple[Referral, str, str | None]]:
        columns = ", ".join("r." + c for c in Referral.ROW_COLUMNS)
        query = (
            f"SELECT {columns}, rec.doc::jsonb ->> 'subject', rec.number "
            "FROM referrals r JOIN records rec ON rec.id = r.record_id "
            "WHERE r.status = 'open' AND r.due < %s AND r.classification <= %s"
        )
        args: list[Any] = [as_of, int(max_classification)]
        if department is not None:
            query += " AND r.department = %s"
            args.append(department)
        rows = self._rows(
            query + " ORDER BY r.department, r.due, r.id", args, "listing overdue referrals"
        )
        return [(Referral.from_row(row, []), row[17] or "", row[18]) for row in rows]


class _PostgresTransaction(Transaction):
    def __init__(self, conn: Conn, actor: str) -> None:
        self.conn = conn
        self.actor = actor

    def next_number(self, series: str, office_code: str, period: str) -> int:
        # The upsert locks the series' row until commit; other writers of the series wait.
        row = self.conn.execute(
            "INSERT INTO sequences AS s (series, office_code, period, last) "
            "VALUES (%s, %s, %s, 1) ON CONFLICT (series, office_code, period) "
            "DO UPDATE SET last = s.last + 1 RETURNING last",
            (series, office_code, period),
        ).fetchone()
        assert row is not None
        return int(row[0])

    def add_record(self, record: Record, *, action: str = "create") -> None:
        # A savepoint: a refused record leaves the rest of the transaction usable.
        with self.conn.transaction():
            inserted = self.conn.execute(
                "INSERT INTO records VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (id) DO NOTHING RETURNING id",
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
            ).fetchone()
            if inserted is None:
                raise IntegrityError(
                    f"record {record.id} already exists; records are never overwritten"
                )
            if record.files:
                with self.conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO record_files VALUES (%s, %s, %s, %s)",
                        [(record.id, f.role, f.sha256, f.size) for f in record.files],
                    )
            if record.number is not None:
                seq = record.meta.get("seq")
                if not (record.series and isinstance(seq, int)):
                    raise NumberingError(f"record {record.id} has a number but no series/seq")
                held = self.conn.execute(
                    "UPDATE numbers SET status='issued', at=%s, actor=%s "
                    "WHERE number=%s AND status='reserved' AND record_id=%s RETURNING seq",
                    (_now(), self.actor, record.number, record.id),
                ).fetchone()
                taken = (
                    held
                    or self.conn.execute(
                        "INSERT INTO numbers VALUES (%s, %s, %s, %s, %s, %s, 'issued', %s, %s, '') "
                        "ON CONFLICT DO NOTHING RETURNING seq",
                        (
                            record.series,
                            str(record.meta.get("office_code", "")),
                            str(record.meta.get("period", "")),
                            seq,
                            record.number,
                            record.id,
                            _now(),
                            self.actor,
                        ),
                    ).fetchone()
                )
                if taken is None:
                    raise NumberingError(f"number {record.number} is already in the register")
            self.audit(action, record.id, {"digest": record.digest(), "number": record.number})

    def reserve_number(
        self, series: str, office_code: str, period: str, seq: int, number: str, record_id: str
    ) -> None:
        taken = self.conn.execute(
            "INSERT INTO numbers VALUES (%s, %s, %s, %s, %s, %s, 'reserved', %s, %s, '') "
            "ON CONFLICT DO NOTHING RETURNING seq",
            (series, office_code, period, seq, number, record_id, _now(), self.actor),
        ).fetchone()
        if taken is None:
            raise NumberingError(f"number {number} is already in the register")
        self.audit("reserve", record_id, {"number": number})

    def void_number(self, number: str, reason: str) -> NumberEntry:
        row = self.conn.execute(
            f"SELECT {_NUMBER_COLUMNS} FROM numbers WHERE number=%s FOR UPDATE", (number,)
        ).fetchone()
        if row is None:
            raise NotFoundError(f"no number {number} in any register")
        entry = _entry(row)
        if entry.status == "void":
            raise NumberingError(f"number {number} is already void: {entry.reason}")
        updated = self.conn.execute(
            "UPDATE numbers SET status='void', reason=%s, at=%s, actor=%s WHERE number=%s "
            f"RETURNING {_NUMBER_COLUMNS}",
            (reason, _now(), self.actor, number),
        ).fetchone()
        self.audit("void", entry.record_id, {"number": number, "reason": reason})
        return _entry(updated)

    def set_cursor(self, name: str, value: str) -> None:
        self.conn.execute(
            "INSERT INTO cursors VALUES (%s, %s, %s) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value, at = excluded.at",
            (name, value, _now()),
        )

    def add_referral(self, referral: Referral) -> AuditEvent:
        found = self.conn.execute("SELECT 1 FROM records WHERE id=%s", (referral.record_id,))
        if found.fetchone() is None:
            raise NotFoundError(f"no record {referral.record_id!r} to refer")
        marks = ", ".join(["%s"] * len(Referral.ROW_COLUMNS))
        try:
            with self.conn.transaction():  # a savepoint: a refused row leaves the rest usable
                self.conn.execute(
                    f"INSERT INTO referrals ({_REFERRAL_COLUMNS}) VALUES ({marks})",
                    referral.row(),
                )
        except psycopg.IntegrityError as exc:
            raise IntegrityError(f"referral {referral.id} cannot be added: {exc}") from exc
        return self.audit("refer", referral.record_id, referral.audit_detail())

    def import_referral(self, referral: Referral) -> bool:
        marks = ", ".join(["%s"] * len(Referral.ROW_COLUMNS))
        inserted = self.conn.execute(
            f"INSERT INTO referrals ({_REFERRAL_COLUMNS}) VALUES ({marks}) "
            "ON CONFLICT (id) DO NOTHING",
            referral.row(),
        ).rowcount
        if not inserted:
            return False
        at = referral.answered_at or referral.referred_at
        for answer in referral.answers:
            self.conn.execute(
                "INSERT INTO referral_answers VALUES (%s, %s, %s, %s)",
                (referral.id, answer, at, self.actor),
            )
        return True

    def answer_referral(self, referral_id: str, record_id: str, at: str) -> Referral:
        # the row lock serializes answers to one referral from any number of processes
        current = _get_referral(self.conn, referral_id, lock=True)
        if current is None:
            raise NotFoundError(f"no referral {referral_id!r}")
        if current.status not in ("open", "answered"):
            why = f": {current.closed_reason}" if current.closed_reason else ""
            raise FollowupError(f"referral {referral_id} is {current.status}{why}")
        found = self.conn.execute("SELECT 1 FROM records WHERE id=%s", (record_id,))
        if found.fetchone() is None:
            raise NotFoundError(f"no record {record_id!r} to answer with")
        if record_id in current.answers:
            raise FollowupError(f"record {record_id} already answers referral {referral_id}")
        self.conn.execute(
            "INSERT INTO referral_answers VALUES (%s, %s, %s, %s)",
            (referral_id, record_id, at, self.actor),
        )
        if current.status == "open":
            self.conn.execute(
                "UPDATE referrals SET status='answered', answered_by=%s, answered_at=%s "
                "WHERE id=%s",
                (record_id, at, referral_id),
            )
        self.audit("answer", current.record_id, current.answer_detail(record_id, at))
        updated = _get_referral(self.conn, referral_id)
        assert updated is not None
        return updated

    def close_referral(
        self, referral_id: str, reason: str, at: str, *, status: str = "closed"
    ) -> Referral:
        if status not in ("closed", "cancelled"):
            raise ValueError(f"a referral is closed or cancelled, not {status!r}")
        current = _get_referral(self.conn, referral_id, lock=True)
        if current is None:
            raise NotFoundError(f"no referral {referral_id!r}")
        if current.status != "open":
            raise FollowupError(f"referral {referral_id} is already {current.status}")
        self.conn.execute(
            "UPDATE referrals SET status=%s, closed_reason=%s, closed_at=%s WHERE id=%s",
            (status, reason, at, referral_id),
        )
        self.audit("close", current.record_id, current.close_detail(status, reason, at))
        updated = _get_referral(self.conn, referral_id)
        assert updated is not None
        return updated

    def audit(self, action: str, record_id: str | None, detail: dict[str, Any]) -> AuditEvent:
        # Serialize appends: the lock is held until commit, and the head is read after it
        # (a new snapshot per statement), so the chain has no fork and no gap.
        self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (AUDIT_LOCK,))
        # The server's clock, read under the lock: times rise along the chain even when the
        # writers' machines disagree about the time.
        head = self.conn.execute(
            "SELECT a.seq, a.hash, clock_timestamp() FROM (SELECT 1) one LEFT JOIN LATERAL "
            "(SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1) a ON true"
        ).fetchone()
        assert head is not None
        last_seq, last_hash, clock = head
        seq = int(last_seq) + 1 if last_seq is not None else 1
        prev = str(last_hash) if last_hash is not None else GENESIS
        at = clock.astimezone(UTC).isoformat(timespec="microseconds")
        digest = event_hash(seq, at, self.actor, action, record_id, detail, prev)
        self.conn.execute(
            f"INSERT INTO audit ({_AUDIT_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
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
        inserted = self.conn.execute(
            "INSERT INTO records VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (id) DO NOTHING RETURNING id",
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
        ).fetchone()
        if inserted is None:
            return False
        if record.files:
            with self.conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO record_files VALUES (%s, %s, %s, %s)",
                    [(record.id, f.role, f.sha256, f.size) for f in record.files],
                )
        return True

    def import_number(self, e: NumberEntry) -> None:
        self.conn.execute("DELETE FROM numbers WHERE number=%s", (e.number,))
        taken = self.conn.execute(
            f"INSERT INTO numbers ({_NUMBER_COLUMNS}) VALUES "
            "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING seq",
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
        ).fetchone()
        if taken is None:
            raise NumberingError(f"number {e.number}: its seq {e.seq} is taken here")

    def import_sequence(self, series: str, office_code: str, period: str, last: int) -> None:
        self.conn.execute(
            "INSERT INTO sequences AS s (series, office_code, period, last) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (series, office_code, period) "
            "DO UPDATE SET last = GREATEST(s.last, excluded.last)",
            (series, office_code, period, last),
        )

    def import_event(self, event: AuditEvent) -> None:
        self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (AUDIT_LOCK,))
        head = self.conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        check_link(event, int(head[0]) if head else 0, str(head[1]) if head else GENESIS)
        self.conn.execute(
            f"INSERT INTO audit ({_AUDIT_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
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


def _entry(row: Any) -> NumberEntry:
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


def _event(row: Any) -> AuditEvent:
    seq, at, actor, action, record_id, detail_text, prev_hash, digest = row
    try:
        detail = json.loads(detail_text)
    except ValueError:
        detail = {"unreadable": detail_text}
    return AuditEvent(int(seq), at, actor, action, record_id, detail, prev_hash, digest)


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


def _get_referral(conn: Conn, referral_id: str, *, lock: bool = False) -> Referral | None:
    row = conn.execute(
        f"SELECT {_REFERRAL_COLUMNS} FROM referrals WHERE id=%s" + (" FOR UPDATE" if lock else ""),
        (referral_id,),
    ).fetchone()
    if row is None:
        return None
    answers = [
        a[0]
        for a in conn.execute(
            "SELECT record_id FROM referral_answers WHERE referral_id=%s ORDER BY at, record_id",
            (referral_id,),
        )
    ]
    return Referral.from_row(row, answers)
