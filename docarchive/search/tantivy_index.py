"""The default search engine: a tantivy index in a folder, ``tantivy:///path/index``.

tantivy (a Rust engine, PyPI ``tantivy``) stores and searches; the analysis is ours. Each
text is cut and normalized in Python by the same chain the whoosh index uses
(:func:`~docarchive.search.analysis.word_terms`), and the terms are handed to tantivy
already tokenized, with their positions, so both engines hold the same terms at the same
positions. Queries are read by the same parser (whoosh's query language over the same
analyzers, :mod:`docarchive.search.query`) and the parsed tree is translated into
tantivy queries.

Schema (field: what it holds)::

    id            record id (stored: the only stored field); the state has its own id
    all           subject (twice: it weighs double), text, sender, recipients, number
                  and file names: stemmed terms with positions (phrases)
    exact         the same words at the same positions, normalized but not stemmed: a
                  phrase ranks the records holding it exactly as asked first, and
                  ``exact:`` keeps only those
    subject       stemmed, with positions, then the parts of its reference numbers
                  (``subject:3412``); sender, recipients stemmed
    number, attachments           unstemmed, a reference whole and by its parts
    kind source office year classification thread sender_id   exact values (fast:
                  the facets are tantivy aggregations)
    level         the classification as a number: the clearance is a clause of the query
    issued received date          dates as numbers (whoosh's encoding for the first
                  two, so ``issued:2019`` ranges translate as they are; seconds for
                  ``date``, the sort key and the date filters)

The last catalog change applied is a document of the index itself (id ``STATE_ID``),
replaced in every commit: the state and the records it describes are committed
together, so a killed writer leaves both as they were or both new.

tantivy allows one ``IndexWriter`` per index. Writers here take an exclusive lock file
(``docarchive.lock``) around "open a writer, check the last change applied, add, commit,
let merges finish, close the writer", held for that one commit: several processes take
turns, and readers reload whenever ``meta.json`` changes. ``manifest.json``, rewritten
after each commit, holds each segment file's size, time and CRC; opening checks it and
raises :class:`~docarchive.search.base.IndexCorrupt` for a damaged index, which the
archive answers by rebuilding.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import logging
import os
import shutil
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import tantivy
from tantivy import Occur
from whoosh import query as wq
from whoosh.util.times import datetime_to_long

from ..errors import ConfigurationError, SearchError
from ..records import Record
from .analysis import exact_form, index_strings
from .base import (
    Hit,
    IndexBusy,
    IndexCorrupt,
    Query,
    SearchIndex,
    SearchResult,
    lock_file,
    schema_code,
)
from .base import parse_when as _when
from .base import record_date as _date_of
from .index import FACETS, _schema, make_snippet
from .query import EXACT_FACTOR, parse_tree, query_parser
from .workers import Analyzers

__all__ = ["SCHEMA_VERSION", "TantivyIndex", "document"]

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2  # 2: subject holds its references' parts
STATE_ID = "\x00docarchive-state"
MANIFEST = "manifest.json"
LOCK_FILE = "docarchive.lock"
LOCK_WAIT_S = 10.0
#: The level of the state document: above every clearance, so no query ever shows it.
STATE_LEVEL = 99
_SNIPPET_FIELDS = {"all", "subject", "text"}
_STEMMED = ("all", "subject", "sender", "recipients")
_EXACT = ("number", "attachments")
_KEYWORDS = ("kind", "source", "office", "year", "classification", "thread", "sender_id")
_DATES = ("issued", "received")
_REGEX_META = set("\\.+*?()|[]{}^$#&-~")
_EPOCH = datetime(1, 1, 1)
#: Lock files, ours and tantivy's: a folder holding only these is a new index.
_LOCKS = {LOCK_FILE, ".tantivy-meta.lock", ".tantivy-writer.lock"}


def _build_schema() -> Any:
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("id", stored=True, tokenizer_name="raw", index_option="basic")
    for name in ("all", "exact", "subject"):
        sb.add_text_field(name, tokenizer_name="whitespace", index_option="position")
    for name in ("parts", "sender", "recipients", *_EXACT):
        sb.add_text_field(name, tokenizer_name="whitespace", index_option="freq")
    for name in _KEYWORDS:
        sb.add_text_field(name, tokenizer_name="raw", index_option="basic", fast=True)
    sb.add_integer_field("level", indexed=True, fast=True)
    for name in _DATES:
        sb.add_integer_field(name, indexed=True, fast=True)
    sb.add_integer_field("date", indexed=True, fast=True)
    sb.add_integer_field("applied", stored=True)
    sb.add_integer_field("schema", stored=True)
    return sb.build()


SCHEMA = _build_schema()


# -- documents -------------------------------------------------------------------------------


def _stamp(when: datetime) -> int:
    """Seconds since 0001-01-01 (a sortable, time-zone-free number)."""
    return int((when - _EPOCH).total_seconds())


#: A record as the texts and numbers of its tantivy document: what :func:`fields` gives
#: (in a worker process, see :mod:`docarchive.search.workers`) and :func:`document` adds.
#: Four lists (text fields, their texts, number fields, their numbers): they cross a pipe
#: several times faster than a list of pairs.
Fields = tuple[list[str], list[str], list[str], list[int]]


def fields(record: Record, text_limit: int = 2_000_000) -> Fields:
    """The texts (as the strings of terms
    :func:`~docarchive.search.analysis.index_strings` gives, which tantivy cuts on spaces)
    and the numbers of ``record``'s tantivy document."""
    names = ["id"]
    texts = [record.id]
    recipients = "\n".join(record.recipients)
    files = "\n".join(f.name for f in record.files if f.name)
    number = record.number or ""
    subject = index_strings(record.subject)
    analysed = [subject, subject] + [
        index_strings(t) if t else ("", "", "")
        for t in (record.text[:text_limit], record.sender, recipients, number, files)
    ]
    names += ("all", "exact")
    texts += (" ".join(t[0] for t in analysed), " ".join(t[1] for t in analysed))
    parts = " ".join(t[2] for t in analysed[1:] if t[2])
    if parts:
        names.append("parts")
        texts.append(parts)
    if subject[0]:
        names.append("subject")
        texts.append(subject[0])
    if subject[2]:  # the parts of its references: a second value, so no phrase spans both
        names.append("subject")
        texts.append(subject[2])
    for name, value, stemmed in (
        ("sender", record.sender, True),
        ("recipients", recipients, True),
        ("number", number, False),
        ("attachments", files, False),
    ):
        if value:
            whole, _, pieces = index_strings(value, stemmed)
            names.append(name)
            texts.append(f"{whole} {pieces}")
    keywords = {
        "kind": record.kind,
        "source": record.source,
        "office": record.office,
        "year": record.year,
        "classification": str(int(record.classification)),
        "thread": record.links.get("thread") or record.links.get("reply_to") or record.id,
        "sender_id": record.sender,
    }
    for name, value in keywords.items():
        if value:
            names.append(name)
            texts.append(value)
    number_names = ["level"]
    numbers = [int(record.classification)]
    for key in _DATES:
        when = _when(record.dates.get(key))
        if when is not None:
            number_names.append(key)
            numbers.append(datetime_to_long(when))
    when = _date_of(record)
    number_names.append("date")
    numbers.append(_stamp(when) if when is not None else 0)
    return names, texts, number_names, numbers


def document(record: Record | Fields, text_limit: int = 2_000_000) -> Any:
    """The tantivy document of ``record`` (or of its :func:`fields`)."""
    names, texts, number_names, numbers = (
        fields(record, text_limit) if isinstance(record, Record) else record
    )
    doc = tantivy.Document()
    add = doc.add_text
    for name, text in zip(names, texts, strict=True):
        add(name, text)
    for name, value in zip(number_names, numbers, strict=True):
        doc.add_integer(name, value)
    return doc


def _state_document(applied: int) -> Any:
    doc = tantivy.Document()
    doc.add_text("id", STATE_ID)
    doc.add_integer("level", STATE_LEVEL)
    doc.add_integer("applied", applied)
    doc.add_integer("schema", schema_code(SCHEMA_VERSION))
    doc.add_integer("date", 0)
    return doc


# -- queries ---------------------------------------------------------------------------------


def _regex(glob: str) -> str:
    out = []
    for ch in glob:
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        elif ch in _REGEX_META:
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def _const(q: Any) -> Any:
    return tantivy.Query.const_score_query(q, 0.0)


class _Translator:
    """A parsed whoosh query tree as a tantivy query (None: matches nothing)."""

    def __init__(self, text: str, searcher: Any) -> None:
        self.text = text
        self.searcher = searcher

    def word(self, field: str, value: str) -> Any:
        """A term of ``all``, also found as a part of a reference number (the ``parts``
        field holds those, for the records that have such a part)."""
        term = self.term(field, value)
        if field == "all" and self.searcher.doc_freq("parts", value):
            return tantivy.Query.boolean_query(
                [(Occur.Should, term), (Occur.Should, self.term("parts", value))]
            )
        return term

    def term(self, field: str, value: str) -> Any:
        return tantivy.Query.term_query(SCHEMA, field, value)

    def __call__(self, q: Any) -> Any:
        out = self._translate(q)
        boost = getattr(q, "boost", 1.0)
        if out is not None and boost not in (1.0, None) and not isinstance(q, wq.Not):
            out = tantivy.Query.boost_query(out, float(boost))
        return out

    def _exact_word(self, q: Any) -> str | None:
        start, end = getattr(q, "startchar", None), getattr(q, "endchar", None)
        if start is None or end is None:
            return None
        return exact_form(self.text[start:end])

    def _translate(self, q: Any) -> Any:
        if q is wq.NullQuery or isinstance(q, type(wq.NullQuery)):
            return None
        if isinstance(q, wq.Phrase):
            return self._phrase(q)
        if isinstance(q, wq.Term):
            if q.fieldname == "exact":
                form = self._exact_word(q)
                return self.term("exact", form) if form else self.word("all", q.text)
            return self.word(q.fieldname, q.text)
        if isinstance(q, wq.Prefix):
            return tantivy.Query.regex_query(SCHEMA, q.fieldname, _regex(q.text) + ".*")
        if isinstance(q, wq.Wildcard):
            return tantivy.Query.regex_query(SCHEMA, q.fieldname, _regex(q.text))
        if isinstance(q, wq.Every):
            if q.fieldname in (None, "all", "*"):
                return tantivy.Query.all_query()
            return tantivy.Query.regex_query(SCHEMA, q.fieldname, ".*")
        if isinstance(q, wq.NumericRange):
            return tantivy.Query.range_query(
                SCHEMA,
                q.fieldname,
                tantivy.FieldType.Integer,
                lower_bound=q.start,
                upper_bound=q.end,
                include_lower=not q.startexcl,
                include_upper=not q.endexcl,
            )
        if isinstance(q, wq.TermRange):
            return tantivy.Query.range_query(
                SCHEMA,
                q.fieldname,
                tantivy.FieldType.Text,
                lower_bound=q.start or None,
                upper_bound=q.end or None,
                include_lower=not q.startexcl,
                include_upper=not q.endexcl,
                use_inverted_index=True,
            )
        if isinstance(q, wq.Not):
            inner = self(q.query)
            if inner is None:
                return tantivy.Query.all_query()
            return tantivy.Query.boolean_query(
                [(Occur.Must, tantivy.Query.all_query()), (Occur.MustNot, inner)]
            )
        if isinstance(q, wq.AndNot):
            return self._bool([(Occur.Must, q.a), (Occur.MustNot, q.b)])
        if isinstance(q, wq.AndMaybe):
            return self._bool([(Occur.Must, q.a), (Occur.Should, q.b)])
        if isinstance(q, wq.Require):
            return self._bool([(Occur.Must, q.a), (Occur.Must, q.b)])
        if isinstance(q, wq.And):
            return self._bool([(Occur.Must, c) for c in q.subqueries])
        if isinstance(q, (wq.Or, wq.DisjunctionMax)):
            return self._bool([(Occur.Should, c) for c in q.subqueries])
        raise SearchError(
            f"the query {self.text!r} uses {type(q).__name__}, which the "
            "tantivy index does not support"
        )

    def phrase_parts(self, q: Any) -> tuple[Any, Any] | None:
        """For a query that is one phrase of ``all`` (not ``exact:``) whose words have
        their exact forms: the stemmed phrase and the phrase in its exact wording, which
        :meth:`TantivyIndex.search` runs one after the other; None for any other query."""
        if not isinstance(q, wq.Phrase) or q.fieldname != "all" or len(q.words) < 2:
            return None
        if getattr(q, "required", False) or getattr(q, "boost", 1.0) not in (1.0, None):
            return None
        ranges = q.char_ranges or []
        if len(ranges) != len(q.words) or any(s is None or e is None for s, e in ranges):
            return None
        slop = max(0, int(q.slop) - 1)
        words: list[str | tuple[int, str]] = list(q.words)
        forms: list[str | tuple[int, str]] = [exact_form(self.text[s:e]) for s, e in ranges]
        return (
            tantivy.Query.phrase_query(SCHEMA, "all", words, slop=slop),
            tantivy.Query.phrase_query(SCHEMA, "exact", forms, slop=slop),
        )

    def _bool(self, clauses: list[tuple[Occur, Any]]) -> Any:
        out: list[tuple[Occur, Any]] = []
        for occur, sub in clauses:
            if isinstance(sub, wq.Not):
                occur, sub = Occur.MustNot, sub.query
            t = self(sub)
            if t is None:
                if occur == Occur.Must:
                    return None  # a required part that matches nothing
                continue
            out.append((occur, t))
        if not any(o != Occur.MustNot for o, _ in out):
            if not out:
                return None
            out.insert(0, (Occur.Must, tantivy.Query.all_query()))
        if len(out) == 1 and out[0][0] != Occur.MustNot:
            return out[0][1]
        return tantivy.Query.boolean_query(out)

    def _phrase(self, q: Any) -> Any:
        words: list[str | tuple[int, str]] = list(q.words)
        field = "all" if q.fieldname == "exact" else q.fieldname
        required = q.fieldname == "exact" or getattr(q, "required", False)
        forms: list[str] | None = None
        ranges = q.char_ranges or []
        if (
            field == "all"
            and len(ranges) == len(words)
            and all(s is not None and e is not None for s, e in ranges)
        ):
            forms = [exact_form(self.text[s:e]) for s, e in ranges]
        if not words:
            return None
        slop = max(0, int(q.slop) - 1)

        def phrase(name: str, terms: list[str | tuple[int, str]]) -> Any:
            if len(terms) == 1:
                return self.word(name, str(terms[0]))
            return tantivy.Query.phrase_query(SCHEMA, name, terms, slop=slop)

        stemmed = phrase(field, words)
        if forms is None:
            return stemmed
        exact = phrase("exact", list(forms))
        if required:
            return exact
        return tantivy.Query.boolean_query(
            [(Occur.Must, stemmed), (Occur.Should, tantivy.Query.boost_query(exact, EXACT_FACTOR))]
        )


def _marked(q: Any, out: set[str], expand: Any) -> None:
    """The stemmed words of ``q`` a snippet marks (wildcards expanded by ``expand``)."""
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
            pattern = q.text + "*" if isinstance(q, wq.Prefix) else q.text
            out.update(expand(q.fieldname, pattern))
        return
    if not q.is_leaf():
        for child in q.children():
            _marked(child, out, expand)


# -- the index -------------------------------------------------------------------------------


class TantivyIndex(SearchIndex):
    """A tantivy index in one folder.

    ``heap_mb`` and ``threads`` are the writer's memory budget and indexing threads
    (``tantivy:///path?heap_mb=256&threads=2``); a rebuild uses ``rebuild_heap_mb``, and
    analyses the records of a big rebuild in ``workers`` processes (``workers=1``: in
    this one; 0, the default: one per core, see :mod:`docarchive.search.workers`).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        text_limit: int = 2_000_000,
        heap_mb: int = 64,
        threads: int = 1,
        rebuild_heap_mb: int = 256,
        workers: int = 0,
    ) -> None:
        self.path = Path(path).absolute()
        self.url = f"tantivy://{quote(str(self.path))}"
        self.text_limit = text_limit
        self.heap_mb = heap_mb
        self.threads = threads
        self.rebuild_heap_mb = rebuild_heap_mb
        self.workers = workers
        self._ix: Any = None
        self._meta: tuple[int, int] | None = None
        self._searcher: Any = None
        self._parser: Any = None
        self._lock_fd: int | None = None

    @classmethod
    def from_url(cls, url: str) -> TantivyIndex:
        parts = urlsplit(url)
        if not parts.path:
            raise ConfigurationError(f"tantivy:// index needs a folder path: {url}")
        options = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        known = {"heap_mb", "threads", "rebuild_heap_mb", "workers"}
        unknown = set(options) - known
        if unknown:
            raise ConfigurationError(
                f"unknown tantivy:// option {sorted(unknown)[0]!r} "
                f"(known: {', '.join(sorted(known))}): {url}"
            )
        try:
            values = {k: int(v) for k, v in options.items()}
        except ValueError:
            raise ConfigurationError(f"tantivy:// options must be numbers: {url}") from None
        if values.get("heap_mb", 64) < 16 or values.get("rebuild_heap_mb", 256) < 16:
            raise ConfigurationError(f"tantivy:// heap_mb must be 16 or more: {url}")
        if not 1 <= values.get("threads", 1) <= 8:
            raise ConfigurationError(f"tantivy:// threads must be 1 to 8: {url}")
        if not 0 <= values.get("workers", 0) <= 64:
            raise ConfigurationError(f"tantivy:// workers must be 0 to 64: {url}")
        return cls(unquote(parts.path), **values)

    # -- locking ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self, wait: float = LOCK_WAIT_S) -> Iterator[None]:
        """Hold the index's lock file (re-entrant within this object)."""
        if self._lock_fd is not None:
            yield
            return
        with lock_file(self.path / LOCK_FILE, wait=wait, poll=0.01) as fd:
            self._lock_fd = fd
            try:
                yield
            finally:
                self._lock_fd = None

    # -- the manifest -------------------------------------------------------------------------

    def _live_segments(self) -> set[str]:
        meta = json.loads((self.path / "meta.json").read_text())
        return {str(s["segment_id"]).replace("-", "") for s in meta.get("segments", [])}

    def _current_files(self) -> dict[str, tuple[int, int]]:
        """The files of the live segments: name -> (size, mtime_ns)."""
        live = self._live_segments()
        out = {}
        for entry in os.scandir(self.path):
            if entry.name.split(".", 1)[0] in live:
                st = entry.stat()
                out[entry.name] = (st.st_size, st.st_mtime_ns)
        return out

    def _crc(self, name: str) -> int:
        crc = 0
        with open(self.path / name, "rb") as fh:
            while chunk := fh.read(1 << 20):
                crc = zlib.crc32(chunk, crc)
        return crc

    def _read_manifest(self) -> dict[str, list[int]]:
        try:
            data = json.loads((self.path / MANIFEST).read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise IndexCorrupt(f"{self.path / MANIFEST}: unreadable: {exc}") from exc
        if not isinstance(data, dict) or not isinstance(data.get("files", {}), dict):
            raise IndexCorrupt(f"{self.path / MANIFEST}: not a manifest")
        files: dict[str, list[int]] = data.get("files", {})
        return files

    def _write_manifest(self) -> None:
        old: dict[str, list[int]] = {}
        with contextlib.suppress(IndexCorrupt):
            old = self._read_manifest()
        files = {}
        for name, (size, mtime) in self._current_files().items():
            known = old.get(name)
            if known and known[0] == size and known[1] == mtime:
                files[name] = known
            else:
                files[name] = [size, mtime, self._crc(name)]
        fd, tmp = tempfile.mkstemp(dir=self.path, prefix=".manifest-")
        with os.fdopen(fd, "w") as fh:
            json.dump({"schema": schema_code(SCHEMA_VERSION), "files": files}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path / MANIFEST)

    def _verify(self) -> None:
        """Raise IndexCorrupt when a file of a live segment is missing or altered."""
        manifest = self._read_manifest()
        live = self._live_segments()
        current = self._current_files()
        for name, known in manifest.items():
            entry = current.get(name)
            if entry is None:
                if name.split(".", 1)[0] in live:
                    raise IndexCorrupt(f"{self.path / name}: missing")
                continue  # merged away by a later commit
            size, mtime = entry
            if known[0] != size:
                raise IndexCorrupt(f"{self.path / name}: {size} bytes, {known[0]} were written")
            if known[1] != mtime and self._crc(name) != known[2]:
                raise IndexCorrupt(f"{self.path / name}: altered since it was written")

    # -- opening ----------------------------------------------------------------------------

    def _wipe(self) -> None:
        self.close()
        if not self.path.exists():
            return
        for entry in self.path.iterdir():
            if entry.name == LOCK_FILE:
                continue
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()

    def _create(self) -> Any:
        ix = tantivy.Index(SCHEMA, path=str(self.path), reuse=False)
        writer = ix.writer(heap_size=self.heap_mb * 1_000_000, num_threads=1)
        writer.add_document(_state_document(0))
        writer.commit()
        writer.wait_merging_threads()
        self._ix = ix
        self._write_manifest()
        return ix

    def _index(self) -> Any:
        """The open index, checked once per object (IndexCorrupt when damaged)."""
        if self._ix is not None:
            return self._ix
        self.path.mkdir(parents=True, exist_ok=True)
        with self._locked():
            if not (self.path / "meta.json").exists():
                leftovers = [p.name for p in self.path.iterdir() if p.name not in _LOCKS]
                if leftovers:
                    raise IndexCorrupt(f"{self.path}: meta.json is missing")
                return self._create()
            try:
                self._verify()
                ix = tantivy.Index.open(str(self.path))
                ix.config_reader("manual")
                searcher = ix.searcher()
                state = self._state(searcher)
            except IndexCorrupt:
                raise
            except (ValueError, OSError, KeyError, TypeError) as exc:
                raise IndexCorrupt(f"{self.path}: {type(exc).__name__}: {exc}") from exc
            if state is None:
                raise IndexCorrupt(f"{self.path}: the index holds no state")
            if state[1] != schema_code(SCHEMA_VERSION):
                raise IndexCorrupt(f"{self.path}: built by another docarchive or lexicon")
            self._ix = ix
            self._searcher = searcher
            self._meta = self._meta_stamp()
        return self._ix

    def _meta_stamp(self) -> tuple[int, int]:
        st = os.stat(self.path / "meta.json")
        return (st.st_mtime_ns, st.st_size)

    def _state(self, searcher: Any) -> tuple[int, int] | None:
        """(applied, schema version) from the state document."""
        found = searcher.search(self._term("id", STATE_ID), 1).hits
        if not found:
            return None
        doc = searcher.doc(found[0][1])
        return int(doc["applied"][0]), int(doc["schema"][0])

    @staticmethod
    def _term(field: str, value: Any) -> Any:
        return tantivy.Query.term_query(SCHEMA, field, value)

    def _current(self) -> Any:
        """A searcher on the index's latest commit (reloaded when another writer committed)."""
        ix = self._index()
        try:
            stamp = self._meta_stamp()
        except OSError as exc:
            raise IndexCorrupt(f"{self.path}: meta.json: {exc}") from exc
        if stamp != self._meta or self._searcher is None:
            try:
                ix.reload()
                self._searcher = ix.searcher()
            except (ValueError, OSError) as exc:
                raise IndexCorrupt(f"{self.path}: {type(exc).__name__}: {exc}") from exc
            self._meta = stamp
        return self._searcher

    def close(self) -> None:
        self._searcher = None
        self._ix = None
        self._meta = None

    # -- writing ----------------------------------------------------------------------------

    def applied(self) -> int:
        state = self._state(self._current())
        if state is None:
            raise IndexCorrupt(f"{self.path}: the index holds no state")
        return state[0]

    def _writer(self, heap_mb: int, threads: int) -> Any:
        try:
            return self._index().writer(heap_size=heap_mb * 1_000_000, num_threads=threads)
        except ValueError as exc:
            if "LockBusy" in str(exc):
                raise IndexBusy(str(self.path)) from exc
            raise IndexCorrupt(f"{self.path}: {exc}") from exc

    def _commit(self, writer: Any, applied: int) -> None:
        writer.delete_documents_by_term("id", STATE_ID)
        writer.add_document(_state_document(applied))
        writer.commit()
        writer.wait_merging_threads()  # also closes the writer and frees tantivy's lock
        self._write_manifest()
        self._current()

    def apply(self, records: list[Record], removed: list[str], through: int) -> None:
        with self._locked():
            current = self.applied()
            if through and through < current:
                return
            writer = self._writer(self.heap_mb, self.threads)
            try:
                for record_id in removed:
                    writer.delete_documents_by_term("id", record_id)
                for record in records:
                    writer.delete_documents_by_term("id", record.id)
                    writer.add_document(document(record, self.text_limit))
                self._commit(writer, max(through, current))
            except BaseException:
                with contextlib.suppress(Exception):
                    writer.rollback()
                raise
            finally:
                del writer

    def rebuild(self, records: Iterable[Record], through: int) -> int:
        """Index ``records`` in one commit that replaces everything at once (readers see the
        old index until then); a damaged index is wiped first."""
        count = 0
        with self._locked(wait=600):
            try:
                self._index()
            except IndexCorrupt as exc:
                log.warning("search index damaged, rebuilding: %s", exc)
                self._wipe()
                self._create()
            writer = self._writer(self.rebuild_heap_mb, max(self.threads, 1))
            try:
                writer.delete_all_documents()
                with Analyzers[Fields](
                    "docarchive.search.tantivy_index:fields", (self.text_limit,), self.workers
                ) as analysers:
                    for analysed in analysers.map(records):
                        writer.add_document(document(analysed))
                        count += 1
                self._commit(writer, through)
            except BaseException:
                with contextlib.suppress(Exception):
                    writer.rollback()
                raise
            finally:
                del writer
        return count

    def clear(self) -> None:
        with self._locked():
            self._wipe()
            self._create()

    # -- searching --------------------------------------------------------------------------

    def _query_parser(self) -> Any:
        if self._parser is None:
            self._parser = query_parser(_schema())
        return self._parser

    def _filtered(self, main: Any, q: Query) -> Any:
        clauses: list[tuple[Occur, Any]] = [(Occur.Must, main)]
        for field, value in (("kind", q.kind), ("office", q.office), ("sender_id", q.sender)):
            if value:
                clauses.append((Occur.Must, _const(self._term(field, value))))
        if q.date_from or q.date_to:
            clauses.append(
                (
                    Occur.Must,
                    _const(
                        tantivy.Query.range_query(
                            SCHEMA,
                            "date",
                            tantivy.FieldType.Integer,
                            lower_bound=_stamp(q.date_from) if q.date_from else None,
                            upper_bound=_stamp(q.date_to) if q.date_to else None,
                        )
                    ),
                )
            )
        hidden = tantivy.Query.range_query(
            SCHEMA, "level", tantivy.FieldType.Integer, lower_bound=int(q.clearance) + 1
        )
        clauses.append((Occur.MustNot, hidden))
        return tantivy.Query.boolean_query(clauses)

    def _exact_first(
        self, searcher: Any, stemmed: Any, exact: Any, q: Query, start: int
    ) -> tuple[list[tuple[float, Any]], int]:
        """The page of hits of a one-phrase query, and the number of matches (-1 unless
        ``q.count``): the records holding the phrase in its exact wording come first, found
        by a search of their own; the stemmed phrase, whose positions are read in many more
        records, is searched only to count or when those do not fill the page."""
        want = start + q.page_size
        boosted = tantivy.Query.boost_query(exact, EXACT_FACTOR)
        first = list(searcher.search(self._filtered(boosted, q), want, count=False).hits)
        if len(first) >= want and not q.count:
            return first[start:want], -1
        rest = searcher.search(self._filtered(stemmed, q), want, count=q.count)
        if len(first) < want:
            seen = {(a.segment_ord, a.doc) for _, a in first}
            first += [(s, a) for s, a in rest.hits if (a.segment_ord, a.doc) not in seen]
        return first[start:want], int(rest.count) if q.count else -1

    def search(self, q: Query) -> SearchResult:
        tree = parse_tree(self._query_parser(), q.text)
        try:
            translator = _Translator(q.text, self._current())
            main = translator(tree)
            parts = translator.phrase_parts(tree) if q.sort != "newest" else None
        except ValueError as exc:
            raise SearchError(f"cannot run the query {q.text!r}: {exc}") from exc
        if main is None:
            return SearchResult(0 if q.count else -1, [], {})
        searcher = self._current()
        full = self._filtered(main, q)
        start = (q.page - 1) * q.page_size
        total = -1
        try:
            if parts is not None:
                page, total = self._exact_first(searcher, *parts, q, start)
                full = self._filtered(parts[0], q)  # the same records, for the facets
            elif q.sort == "newest":
                found = searcher.search(
                    full,
                    q.page_size,
                    count=q.count,
                    order_by_field="date",
                    offset=start,
                    order=tantivy.Order.Desc,
                )
            else:
                found = searcher.search(full, q.page_size, count=q.count, offset=start)
            if parts is None:
                page = list(found.hits)
                total = int(found.count) if q.count else -1
            hits = [
                Hit(
                    str(searcher.doc(address)["id"][0]),
                    float(score) if q.sort == "relevance" else 0.0,
                )
                for score, address in page
            ]
            if not q.count:
                return SearchResult(-1, hits, {})
            facets: dict[str, dict[str, int]] = {name: {} for name in FACETS}
            if total:
                aggs = searcher.aggregate(
                    full, {n: {"terms": {"field": n, "size": 10_000}} for n in FACETS}
                )
                for name in FACETS:
                    buckets = aggs.get(name, {}).get("buckets", [])
                    facets[name] = {
                        str(b["key"]): int(b["doc_count"])
                        for b in sorted(buckets, key=lambda b: str(b["key"]))
                    }
        except ValueError as exc:
            raise IndexCorrupt(f"{self.path}: {exc}") from exc
        return SearchResult(total, hits, facets)

    # -- snippets ---------------------------------------------------------------------------

    def snippet(self, text: str, q: Query) -> str:
        tree = parse_tree(self._query_parser(), q.text)
        searcher = self._current()
        allowed = tantivy.Query.range_query(
            SCHEMA, "level", tantivy.FieldType.Integer, upper_bound=int(q.clearance)
        )

        def expand(field: str, pattern: str) -> list[str]:
            """The words a wildcard stands for in the records the clearance allows."""
            prefix = pattern.split("*", 1)[0].split("?", 1)[0]
            terms = searcher.terms_with_prefix(field, prefix, filter_query=allowed, limit=1000)
            return [t for t, _ in terms if fnmatch.fnmatchcase(t, pattern)]

        terms: set[str] = set()
        _marked(tree, terms, expand)
        return make_snippet(text[: self.text_limit], terms)
