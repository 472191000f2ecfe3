"""The index inside the catalog's PostgreSQL database: ``postgresql://…`` (the catalog's URL).

Every server of a ministry searches the same rows, so there is no replica to catch up:
when the catalog is the same database, each write transaction of the catalog also writes
the search rows of the records it changed, before it commits (the catalog's
``commit_hooks``, see :meth:`PostgresIndex.attach`); a catalog change and its index rows
are committed together or not at all. Catch-up from change numbers still works as for
any index (records written by a process that had no index attached, a rebuild).

The analysis is ours: each text goes through the same chain as the other engines
(:func:`~docarchive.search.analysis.index_strings`) and the terms are written as a
``tsvector`` literal, with their positions (1-based, at most 16,383: the first 16,383
words of a record are indexed) — PostgreSQL's own parser and dictionaries never see the
text, so the ``simple`` configuration's rules do not matter. Queries are read by the
same parser as the other engines and become ``tsquery`` values (``&``, ``|``, ``!``,
``<->`` for phrases, ``:*`` for prefixes) over GIN indexes; ranking is ``ts_rank_cd``,
the subject's words weighing ``A``, and a phrase found in its exact wording (the
``exact`` column) ranks first. A phrase is found by its pairs of neighbouring words
(``pairs``, a GIN index), so the positions of the records that merely hold its words are
never read; ranking reads the words of a bounded set of candidates only (see
:data:`RANK_CANDIDATES`).

Tables (created by the index itself, beside the catalog's)::

    search_docs    id, body (all the record's words, stemmed), exact (the same words,
                   unstemmed, at the same positions), subject, sender, recipients,
                   number, attachments (tsvector each), kind, source, office, year,
                   classification, thread, sender_id (text), level (the classification),
                   issued, received (whoosh's date numbers), date (seconds, the sort key),
                   pairs (each two neighbouring words of body as one lexeme "a b", no
                   positions), words (the length of body, which the rank is divided by)
    search_state   applied (the last catalog change the rows reflect), schema
"""

from __future__ import annotations

import contextlib
import fnmatch
import itertools
import json
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import psycopg
from whoosh import query as wq
from whoosh.util.times import datetime_to_long

from ..catalog.postgres import PostgresCatalog, _PostgresSession, _redact
from ..catalog.sql import Session, get_referral
from ..errors import ConfigurationError, SearchError
from ..records import Record
from .analysis import exact_form, index_strings, indexed_terms, raw_tokens
from .base import Hit, IndexBusy, IndexCorrupt, Query, SearchIndex, SearchResult, schema_code
from .base import parse_when as _when
from .index import FACETS, _schema, make_snippet
from .query import EXACT_FACTOR, parse_tree, query_parser
from .sync import with_referrals
from .workers import Analyzers

__all__ = ["SCHEMA_VERSION", "PostgresIndex"]

SCHEMA_VERSION = 2  # 2: the pairs column
MAX_POSITION = 16_383
#: Ranking reads the words of each record it ranks: of the records a query matches, it
#: takes those whose subject holds a ranked word and the first others found, this many
#: of each (the total and the facets still count every match) ...
RANK_CANDIDATES = 2_000
#: ... and ranks the shortest this many of each (the rank is divided by the length, a
#: column); a query whose condition reads positions (a phrase of three words or more)
#: takes only this many candidates of each.
RANK_TOP = 300
#: Advisory lock key (per database) around creating the tables: b"docsrchx".
DDL_LOCK = int.from_bytes(b"docsrchx", "big")
_SNIPPET_FIELDS = {"all", "subject", "text"}
_TS_COLUMNS = ("body", "exact", "subject", "sender", "recipients", "number", "attachments")
_KEYWORDS = ("kind", "source", "office", "year", "classification", "thread", "sender_id")
#: The tsvector columns: the fields, and ``pairs`` (each two neighbouring words of ``body``).
_VECTORS = (*_TS_COLUMNS, "pairs")
_COLUMNS = (*_VECTORS, *_KEYWORDS, "level", "issued", "received", "date", "words")
_FIELD_COLUMN = {"all": "body", **{c: c for c in _TS_COLUMNS if c != "body"}}
_EPOCH = datetime(1, 1, 1)

_DOCS_TABLE = """CREATE TABLE IF NOT EXISTS {name} (
    id text COLLATE "C" PRIMARY KEY,
    body tsvector NOT NULL, exact tsvector NOT NULL, subject tsvector,
    sender tsvector, recipients tsvector, number tsvector, attachments tsvector,
    pairs tsvector NOT NULL,
    kind text COLLATE "C", source text COLLATE "C", office text COLLATE "C",
    year text COLLATE "C", classification text COLLATE "C", thread text COLLATE "C",
    sender_id text COLLATE "C", level integer NOT NULL,
    issued bigint, received bigint, date bigint NOT NULL, words integer NOT NULL)"""
_DOCS_INDEXES = [
    "CREATE INDEX IF NOT EXISTS {name}_body ON {name} USING gin (body)",
    "CREATE INDEX IF NOT EXISTS {name}_exact ON {name} USING gin (exact)",
    "CREATE INDEX IF NOT EXISTS {name}_pairs ON {name} USING gin (pairs)",
    "CREATE INDEX IF NOT EXISTS {name}_fields ON {name} USING gin "
    "(subject, sender, recipients, number, attachments)",
    "CREATE INDEX IF NOT EXISTS {name}_date ON {name} (date)",
    "CREATE INDEX IF NOT EXISTS {name}_kind ON {name} (kind, office)",
]
DDL = [
    _DOCS_TABLE.format(name="search_docs"),
    *(i.format(name="search_docs") for i in _DOCS_INDEXES),
    """CREATE TABLE IF NOT EXISTS search_state (
        one integer PRIMARY KEY CHECK (one = 1), applied bigint NOT NULL,
        schema integer NOT NULL)""",
]

_UPSERT = (
    f"INSERT INTO search_docs (id, {', '.join(_COLUMNS)}) VALUES (?, "
    + ", ".join("?::tsvector" if c in _VECTORS else "?" for c in _COLUMNS)
    + ") ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in _COLUMNS)
)


# -- rows ------------------------------------------------------------------------------------


def _lexeme(term: str) -> str:
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector(terms: Iterable[str], *, weight_first: int = 0, extra: Iterable[str] = ()) -> str:
    """A tsvector literal: each term at its position (1-based, in order; the first
    ``weight_first`` weigh ``A``), then the ``extra`` terms (reference parts) at position 1."""
    positions: dict[str, list[str]] = {}
    pos = 0
    for pos, term in enumerate(terms, 1):
        if pos > MAX_POSITION:
            break
        positions.setdefault(term, []).append(f"{pos}A" if pos <= weight_first else str(pos))
    for term in extra:
        positions.setdefault(term, []).append("1")
    return " ".join(f"{_lexeme(t)}:{','.join(p[:256])}" for t, p in positions.items())


def pairs_of(terms: list[str]) -> str:
    """A tsvector literal (no positions) of each two neighbouring ``terms``, as the lexeme
    ``"a b"`` (no term holds a space): a phrase of common words is then found by its pairs
    in the GIN index, not by reading the positions of every record holding its words."""
    terms = terms[:MAX_POSITION]
    return " ".join(_lexeme(f"{a} {b}") for a, b in dict.fromkeys(itertools.pairwise(terms)))


def row_of(record: Record, text_limit: int = 2_000_000) -> tuple[Any, ...]:
    """The ``search_docs`` row of ``record`` (id first, then :data:`_COLUMNS`)."""
    recipients = "\n".join(record.recipients)
    names = "\n".join(f.name for f in record.files if f.name)
    number = record.number or ""
    texts = [record.subject, record.text[:text_limit], record.sender, recipients, number, names]
    analyzed = [index_strings(t) if t else ("", "", "") for t in texts]
    subject_terms = analyzed[0][0].split()
    words = " ".join(a[0] for a in analyzed).split()
    parts = " ".join(a[2] for a in analyzed).split()
    exact = " ".join(a[1] for a in analyzed).split()
    body = tsvector(words, weight_first=len(subject_terms), extra=parts)
    pairs = pairs_of(words)

    def field(text: str, stemmed: bool) -> str | None:
        if not text:
            return None
        whole, _, pieces = index_strings(text, stemmed)
        return tsvector(whole.split(), extra=pieces.split())

    dates = {key: _when(record.dates.get(key)) for key in ("issued", "received", "created")}
    when = dates["issued"] or dates["received"] or dates["created"]
    return (
        record.id,
        body,
        tsvector(exact),
        field(record.subject, True),
        field(record.sender, True),
        field(recipients, True),
        field(number, False),
        field(names, False),
        pairs,
        record.kind or None,
        record.source or None,
        record.office or None,
        record.year or None,
        str(int(record.classification)),
        record.links.get("thread") or record.links.get("reply_to") or record.id,
        record.sender or None,
        int(record.classification),
        datetime_to_long(dates["issued"]) if dates["issued"] else None,
        datetime_to_long(dates["received"]) if dates["received"] else None,
        int((when - _EPOCH).total_seconds()) if when else 0,
        min(len(words), MAX_POSITION) + len(parts),
    )


# -- queries ---------------------------------------------------------------------------------


class _Node:
    """A translated query: a tsquery on one column, or an SQL condition with arguments."""

    def __init__(
        self, column: str | None = None, ts: str = "", sql: str = "", args: list[Any] | None = None
    ) -> None:
        self.column = column
        self.ts = ts
        self.sql = sql
        self.args = args or []

    def condition(self) -> tuple[str, list[Any]]:
        if self.column is not None:
            return f"{self.column} @@ ?::tsquery", [self.ts]
        return self.sql, self.args


class _Translator:
    def __init__(self, text: str) -> None:
        self.text = text
        self.rank: list[str] = []  # body tsqueries that rank
        self.exact_rank: list[str] = []  # exact-wording phrases that rank first
        self.positions = False  # a condition reads positions (a phrase of 3 words or more)
        self.ranked_phrase = False  # a phrase of two words or more ranks

    def __call__(self, q: Any, positive: bool = True) -> _Node | None:
        if q is wq.NullQuery or isinstance(q, type(wq.NullQuery)):
            return None
        if isinstance(q, wq.Phrase):
            return self._phrase(q, positive)
        if isinstance(q, wq.Term):
            return self._term(q, positive)
        if isinstance(q, wq.Prefix):
            column = _FIELD_COLUMN.get(q.fieldname)
            if column is None:
                return _Node(sql=f"{_keyword(q.fieldname)} LIKE ?", args=[_like(q.text) + "%"])
            ts = f"{_lexeme(q.text)}:*"
            if positive and column == "body":
                self.rank.append(ts)
            return _Node(column, ts)
        if isinstance(q, wq.Wildcard):
            return self._wildcard(q, positive)
        if isinstance(q, wq.Every):
            return _Node(sql="TRUE")
        if isinstance(q, wq.NumericRange):
            return self._range(q.fieldname, q.start, q.end, q.startexcl, q.endexcl)
        if isinstance(q, wq.TermRange):
            return self._range(_keyword(q.fieldname), q.start, q.end, q.startexcl, q.endexcl)
        if isinstance(q, wq.Not):
            inner = self(q.query, not positive)
            if inner is None:
                return _Node(sql="TRUE")
            if inner.column is not None:
                return _Node(inner.column, f"!({inner.ts})")
            sql, args = inner.condition()
            return _Node(sql=f"NOT ({sql})", args=args)
        if isinstance(q, wq.AndNot):
            return self._combine("&", [q.a, wq.Not(q.b)], positive)
        if isinstance(q, (wq.AndMaybe, wq.Require)):
            return (
                self(q.a, positive)
                if isinstance(q, wq.AndMaybe)
                else self._combine("&", [q.a, q.b], positive)
            )
        if isinstance(q, wq.And):
            return self._combine("&", list(q.subqueries), positive)
        if isinstance(q, (wq.Or, wq.DisjunctionMax)):
            return self._combine("|", list(q.subqueries), positive)
        raise SearchError(
            f"the query {self.text!r} uses {type(q).__name__}, which the PostgreSQL index "
            "does not support"
        )

    def _term(self, q: Any, positive: bool) -> _Node:
        if q.fieldname == "exact":
            start, end = getattr(q, "startchar", None), getattr(q, "endchar", None)
            if start is not None and end is not None:
                return _Node("exact", _lexeme(exact_form(self.text[start:end])))
            return self._term(wq.Term("all", q.text), positive)
        column = _FIELD_COLUMN.get(q.fieldname)
        if column is None:
            return _Node(sql=f"{_keyword(q.fieldname)} = ?", args=[q.text])
        ts = _lexeme(q.text)
        if positive and column == "body":
            self.rank.append(ts)
        return _Node(column, ts)

    def _phrase(self, q: Any, positive: bool) -> _Node | None:
        words = list(q.words)
        if not words:
            return None
        column = "body" if q.fieldname in ("exact", "all") else _FIELD_COLUMN.get(q.fieldname)
        if column is None:
            return _Node(sql=f"{_keyword(q.fieldname)} = ?", args=[" ".join(words)])
        ts = " <-> ".join(_lexeme(w) for w in words)
        ranges = q.char_ranges or []
        forms = None
        if (
            column == "body"
            and len(ranges) == len(words)
            and all(s is not None and e is not None for s, e in ranges)
        ):
            forms = " <-> ".join(_lexeme(exact_form(self.text[s:e])) for s, e in ranges)
        if q.fieldname == "exact" or getattr(q, "required", False):
            if forms is None:
                return self._body_phrase(words, ts) if column == "body" else _Node(column, ts)
            if positive:
                self.exact_rank.append(forms)
            return _Node("exact", forms)
        if positive and column == "body":
            self.rank.append(ts)
            self.ranked_phrase = self.ranked_phrase or len(words) > 1
            if forms is not None:
                self.exact_rank.append(forms)
        return self._body_phrase(words, ts) if column == "body" else _Node(column, ts)

    def _body_phrase(self, words: list[str], ts: str) -> _Node:
        """A phrase of ``body``: the records holding each two neighbouring words as a pair
        (the GIN index of ``pairs`` finds them, no record's words are read), then for three
        words or more the phrase itself in their positions."""
        if len(words) < 2:
            return _Node("body", ts)
        pairs = " & ".join(_lexeme(f"{a} {b}") for a, b in itertools.pairwise(words))
        if len(words) == 2:
            return _Node("pairs", pairs)
        self.positions = True
        return _Node(sql="(pairs @@ ?::tsquery AND body @@ ?::tsquery)", args=[pairs, ts])

    def _wildcard(self, q: Any, positive: bool) -> _Node:
        column = _FIELD_COLUMN.get(q.fieldname)
        pattern = (
            "^"
            + "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in q.text)
            + "$"
        )
        if column is None:
            return _Node(sql=f"{_keyword(q.fieldname)} ~ ?", args=[pattern])
        prefix = re.split(r"[*?]", q.text, maxsplit=1)[0]
        sql = f"EXISTS (SELECT 1 FROM unnest({column}) u WHERE u.lexeme ~ ?)"
        args: list[Any] = [pattern]
        if prefix:
            sql = f"{column} @@ ?::tsquery AND {sql}"
            args.insert(0, f"{_lexeme(prefix)}:*")
            if positive and column == "body":
                self.rank.append(f"{_lexeme(prefix)}:*")
        return _Node(sql=f"({sql})", args=args)

    def _range(self, column: str, start: Any, end: Any, startexcl: bool, endexcl: bool) -> _Node:
        if column not in ("issued", "received") and column not in _KEYWORDS:
            raise SearchError(f"cannot run the query {self.text!r}: no range on {column}")
        parts, args = [], []
        if start is not None and start != "":
            parts.append(f"{column} {'>' if startexcl else '>='} ?")
            args.append(start)
        if end is not None and end != "":
            parts.append(f"{column} {'<' if endexcl else '<='} ?")
            args.append(end)
        return _Node(sql=" AND ".join(parts) or "TRUE", args=args)

    def _combine(self, op: str, subs: list[Any], positive: bool) -> _Node | None:
        nodes = []
        for sub in subs:
            node = self(sub, positive)
            if node is None:
                if op == "&":
                    return None  # a required part that matches nothing
                continue
            nodes.append(node)
        if not nodes:
            return None
        if len(nodes) == 1:
            return nodes[0]
        columns = {n.column for n in nodes}
        if len(columns) == 1 and None not in columns:
            return _Node(nodes[0].column, f" {op} ".join(f"({n.ts})" for n in nodes))
        conditions, args = [], []
        for n in nodes:
            sql, a = n.condition()
            conditions.append(f"({sql})")
            args.extend(a)
        return _Node(sql=(" AND " if op == "&" else " OR ").join(conditions), args=args)


def _keyword(field: str) -> str:
    if field in _KEYWORDS:
        return field
    if field in ("issued", "received"):
        return field
    raise SearchError(f"unknown field {field!r}")


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _marked(q: Any, out: set[str], patterns: list[str]) -> None:
    if isinstance(q, wq.Phrase):
        if q.fieldname in _SNIPPET_FIELDS or q.fieldname == "exact":
            out.update(q.words)
        return
    if isinstance(q, wq.Term):
        if q.fieldname in _SNIPPET_FIELDS or q.fieldname == "exact":
            out.add(q.text)
        return
    if isinstance(q, (wq.Prefix, wq.Wildcard)):
        if q.fieldname in _SNIPPET_FIELDS:
            patterns.append(q.text + "*" if isinstance(q, wq.Prefix) else q.text)
        return
    if not q.is_leaf():
        for child in q.children():
            _marked(child, out, patterns)


# -- the index -------------------------------------------------------------------------------


class PostgresIndex(SearchIndex):
    """The search rows in the catalog's PostgreSQL database (``search_docs``)."""

    def __init__(self, url: str, *, text_limit: int = 2_000_000, workers: int = 0) -> None:
        self._conninfo = url
        self.url = _redact(url)
        self.text_limit = text_limit
        #: Processes that analyse the records of a big rebuild (0: one per core).
        self.workers = workers
        self._conn: psycopg.Connection[Any] | None = None
        self._parser: Any = None
        self._ready = False
        self._attached: PostgresCatalog | None = None

    @classmethod
    def from_url(cls, url: str) -> PostgresIndex:
        if urlsplit(url).scheme.lower() not in ("postgresql", "postgres"):
            raise ConfigurationError(f"not a PostgreSQL index URL: {_redact(url)}")
        return cls(url)

    # -- connection -----------------------------------------------------------------------

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            try:
                self._conn = psycopg.connect(
                    self._conninfo, autocommit=True, application_name="docarchive-search"
                )
            except psycopg.Error as exc:
                raise SearchError(
                    f"cannot reach the PostgreSQL index at {self.url}: {exc}"
                ) from exc
        return self._conn

    @contextlib.contextmanager
    def _session(self, write: bool = False) -> Iterator[Session]:
        conn = self._connection()
        try:
            if write:
                with conn.transaction():
                    yield _PostgresSession(conn)
            else:
                yield _PostgresSession(conn)
        except psycopg.errors.UndefinedTable as exc:
            self._ready = False
            raise IndexCorrupt(f"the PostgreSQL index at {self.url}: {exc}") from exc
        except psycopg.errors.LockNotAvailable as exc:
            raise IndexBusy(self.url) from exc
        except psycopg.Error as exc:
            raise SearchError(f"the PostgreSQL index at {self.url}: {exc}") from exc

    def _create(self, session: Session) -> None:
        session.rows("SELECT pg_advisory_xact_lock(?)", (DDL_LOCK,))
        for statement in DDL:
            session.rows(statement)
        session.rows(
            "INSERT INTO search_state (one, applied, schema) VALUES (1, 0, ?) "
            "ON CONFLICT (one) DO NOTHING",
            (schema_code(SCHEMA_VERSION),),
        )

    def _check(self) -> None:
        """Create the tables in a new database; IndexCorrupt when they are damaged."""
        if self._ready:
            return
        with self._session() as s:
            found = s.rows(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema() AND table_name IN "
                "('search_docs', 'search_state')"
            )
        tables = {r[0] for r in found}
        if not tables:
            with self._session(write=True) as s:
                self._create(s)
        elif tables != {"search_docs", "search_state"}:
            raise IndexCorrupt(f"the PostgreSQL index at {self.url}: a table is missing")
        with self._session() as s:
            state = s.row("SELECT applied, schema FROM search_state WHERE one = 1")
        if state is None:
            raise IndexCorrupt(f"the PostgreSQL index at {self.url}: its state is missing")
        if int(state[1]) != schema_code(SCHEMA_VERSION):
            raise IndexCorrupt(
                f"the PostgreSQL index at {self.url}: another schema version or lexicon"
            )
        self._ready = True

    def close(self) -> None:
        if self._attached is not None:
            with contextlib.suppress(ValueError):
                self._attached.commit_hooks.remove(self._in_transaction)
            self._attached = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- writing ----------------------------------------------------------------------------

    def attach(self, catalog: Any) -> None:
        """Write in the catalog's transactions when the catalog is this database."""
        if (
            isinstance(catalog, PostgresCatalog)
            and catalog._conninfo == self._conninfo
            and self._in_transaction not in catalog.commit_hooks
        ):
            catalog.commit_hooks.append(self._in_transaction)
            self._attached = catalog

    def _in_transaction(self, session: Session, changes: list[tuple[int, str | None]]) -> None:
        """The catalog's hook: index what this transaction changed, in the transaction.

        The state moves to this transaction's last change only when it stood just before
        its first (appends are serialized by the audit lock, so nothing was skipped);
        otherwise catch-up, which starts from the state, applies the gap."""
        if not changes:
            return
        self._check()
        ids = sorted({rid for _, rid in changes if rid})
        self._write(session, self._records_in(session, ids), ids)
        first, last = changes[0][0], changes[-1][0]
        session.rows(
            "UPDATE search_state SET applied = ? WHERE one = 1 AND applied = ?", (last, first - 1)
        )

    def _records_in(self, session: Session, ids: list[str]) -> list[Record]:
        if not ids:
            return []
        rows = session.rows("SELECT doc FROM records WHERE id = ANY(?)", (ids,))
        records = [Record.from_dict(json.loads(r[0])) for r in rows]
        found = session.rows(
            "SELECT id FROM referrals WHERE record_id = ANY(?) ORDER BY referred_at, id", (ids,)
        )
        referrals = [get_referral(session, r[0]) for r in found]
        return with_referrals(records, [r for r in referrals if r is not None])

    def _write(self, session: Session, records: list[Record], ids: list[str]) -> None:
        present = {r.id for r in records}
        gone = [i for i in ids if i not in present]
        if gone:
            session.rows("DELETE FROM search_docs WHERE id = ANY(?)", (gone,))
        session.many(_UPSERT, [row_of(r, self.text_limit) for r in records])

    def applied(self) -> int:
        self._check()
        with self._session() as s:
            state = s.row("SELECT applied FROM search_state WHERE one = 1")
        if state is None:
            self._ready = False
            raise IndexCorrupt(f"the PostgreSQL index at {self.url}: its state is missing")
        return int(state[0])

    def apply(self, records: list[Record], removed: list[str], through: int) -> None:
        self._check()
        with self._session(write=True) as s:
            state = s.row("SELECT applied FROM search_state WHERE one = 1 FOR UPDATE")
            if state is None:
                raise IndexCorrupt(f"the PostgreSQL index at {self.url}: its state is missing")
            current = int(state[0])
            if through and through < current:
                return
            self._write(s, records, removed + [r.id for r in records])
            s.rows("UPDATE search_state SET applied = ? WHERE one = 1", (max(through, current),))

    def rebuild(self, records: Iterable[Record], through: int) -> int:
        """Load every row into a new table, index it, and swap it in with one short
        transaction (searches use the old rows until then); missing or damaged tables
        are made anew first. Bulk loading before indexing is many times faster than
        keeping the GIN indexes up to date row by row."""
        try:
            self._check()
        except IndexCorrupt:
            self.clear()
        count = 0
        conn = self._connection()
        columns = ", ".join(("id", *_COLUMNS))
        try:
            conn.execute("DROP TABLE IF EXISTS search_docs_new")
            conn.execute(_DOCS_TABLE.format(name="search_docs_new"))
            with (
                conn.cursor() as cur,
                cur.copy(f"COPY search_docs_new ({columns}) FROM STDIN") as copy,
                Analyzers[tuple[Any, ...]](
                    "docarchive.search.pgindex:row_of", (self.text_limit,), self.workers
                ) as analysers,
            ):
                for row in analysers.map(records):
                    copy.write_row(row)
                    count += 1
            # GIN indexes are built in fewer passes with more than the default 64 MB
            # (this session only, for these statements).
            conn.execute("SET maintenance_work_mem = '256MB'")
            for statement in _DOCS_INDEXES:
                conn.execute(statement.format(name="search_docs_new"))
            conn.execute("RESET maintenance_work_mem")
            conn.execute("ANALYZE search_docs_new")
            with conn.transaction():
                session = _PostgresSession(conn)
                session.rows("SELECT pg_advisory_xact_lock(?)", (DDL_LOCK,))
                session.rows("SELECT applied FROM search_state WHERE one = 1 FOR UPDATE")
                session.rows("DROP TABLE search_docs")
                session.rows("ALTER TABLE search_docs_new RENAME TO search_docs")
                for index in ("body", "exact", "pairs", "fields", "date", "kind"):
                    session.rows(
                        f"ALTER INDEX search_docs_new_{index} RENAME TO search_docs_{index}"
                    )
                session.rows("UPDATE search_state SET applied = ? WHERE one = 1", (through,))
        except psycopg.Error as exc:
            raise SearchError(f"rebuilding the PostgreSQL index at {self.url}: {exc}") from exc
        return count

    def clear(self) -> None:
        with self._session(write=True) as s:
            s.rows("SELECT pg_advisory_xact_lock(?)", (DDL_LOCK,))
            s.rows("DROP TABLE IF EXISTS search_docs")
            s.rows("DROP TABLE IF EXISTS search_state")
            self._create(s)
        self._ready = True

    # -- searching --------------------------------------------------------------------------

    def _query_parser(self) -> Any:
        if self._parser is None:
            self._parser = query_parser(_schema())
        return self._parser

    def search(self, q: Query) -> SearchResult:
        self._check()
        tree = parse_tree(self._query_parser(), q.text)
        tr = _Translator(q.text)
        node = tr(tree)
        if node is None:
            return SearchResult(0 if q.count else -1, [], {})
        where, args = node.condition()
        conditions = [f"({where})", "level <= ?"]
        args = [*args, int(q.clearance)]
        for column, value in (("kind", q.kind), ("office", q.office), ("sender_id", q.sender)):
            if value:
                conditions.append(f"{column} = ?")
                args.append(value)
        if q.date_from:
            conditions.append("date >= ?")
            args.append(int((q.date_from - _EPOCH).total_seconds()))
        if q.date_to:
            conditions.append("date <= ?")
            args.append(int((q.date_to - _EPOCH).total_seconds()))
        where_sql = " AND ".join(conditions)
        rank_sql, rank_args = "0", []
        if tr.rank:
            rank_sql = "ts_rank_cd(body, ?::tsquery, 2)"
            rank_args.append(" | ".join(f"({t})" for t in tr.rank))
        if tr.exact_rank:
            rank_sql += f" + {EXACT_FACTOR} * ts_rank_cd(exact, ?::tsquery, 2)"
            rank_args.append(" | ".join(f"({t})" for t in tr.exact_rank))
        start = (q.page - 1) * q.page_size
        with self._session(write=True) as s:  # a transaction: SET LOCAL below
            if q.sort == "newest" or not tr.rank:
                order = "date DESC, id" if q.sort == "newest" else "id"
                rows = s.rows(
                    f"SELECT id, 0 FROM search_docs WHERE {where_sql} "
                    f"ORDER BY {order} LIMIT ? OFFSET ?",
                    (*args, q.page_size, start),
                )
            else:
                # Ranked: the records whose subject holds a ranked word (they rank
                # highest), then the first others found, RANK_CANDIDATES of each at most;
                # of each, the RANK_TOP shortest (the rank is divided by the length, and
                # the length is a column: nothing of a candidate's words is read to pick
                # them) are ranked. The GIN indexes find them (a sequential scan would
                # read every record's words to test it).
                # A condition on positions reads each record it tests: then RANK_TOP.
                cap = max(RANK_TOP if tr.positions else RANK_CANDIDATES, start + q.page_size)
                top = max(RANK_TOP, start + q.page_size)
                ranked = " | ".join(f"({t})" for t in tr.rank)
                # A phrase in the subject is checked in each candidate's positions, and
                # PostgreSQL then re-tests the whole condition there, reading its pairs
                # and words too (70 ms for 2,000 of them): RANK_TOP of those.
                subject_cap = min(cap, top) if tr.ranked_phrase else cap
                pick = "SELECT id, body, exact FROM (SELECT id, body, exact, words FROM search_docs"
                s.rows("SET LOCAL enable_seqscan = off")
                rows = s.rows(
                    f"SELECT id, {rank_sql} AS score FROM (({pick} WHERE {where_sql} "
                    "AND subject @@ ?::tsquery LIMIT ?) a ORDER BY words LIMIT ?) UNION ALL "
                    f"({pick} WHERE {where_sql} AND NOT coalesce(subject @@ ?::tsquery, false) "
                    "LIMIT ?) b ORDER BY words LIMIT ?)) c "
                    "ORDER BY score DESC, id LIMIT ? OFFSET ?",
                    (
                        *rank_args,
                        *args,
                        ranked,
                        subject_cap,
                        top,
                        *args,
                        ranked,
                        cap,
                        top,
                        q.page_size,
                        start,
                    ),
                )
            hits = [Hit(str(r[0]), float(r[1])) for r in rows]
            if not q.count:
                return SearchResult(-1, hits, {})
            grouped = s.rows(
                f"SELECT kind, year, office, GROUPING(kind, year, office), count(*) "
                f"FROM search_docs WHERE {where_sql} "
                "GROUP BY GROUPING SETS ((kind), (year), (office), ())",
                args,
            )
        facets: dict[str, dict[str, int]] = {name: {} for name in FACETS}
        total = 0
        for kind, year, office, grouping, n in grouped:
            if grouping == 7:
                total = int(n)
            elif grouping == 3 and kind is not None:  # grouped by kind
                facets["kind"][kind] = int(n)
            elif grouping == 5 and year is not None:
                facets["year"][year] = int(n)
            elif grouping == 6 and office is not None:
                facets["office"][office] = int(n)
        return SearchResult(total, hits, {k: dict(sorted(v.items())) for k, v in facets.items()})

    def snippet(self, text: str, q: Query) -> str:
        tree = parse_tree(self._query_parser(), q.text)
        terms: set[str] = set()
        patterns: list[str] = []
        _marked(tree, terms, patterns)
        text = text[: self.text_limit]
        if patterns:  # the words of this text a wildcard stands for
            for raw, _ in raw_tokens(text[:100_000]):
                for term in indexed_terms(raw):
                    if any(fnmatch.fnmatchcase(term, p) for p in patterns):
                        terms.add(term)
        return make_snippet(text, terms)
