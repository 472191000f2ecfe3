"""The default search engine: a whoosh index in a folder, ``whoosh:///path/index``.

Schema (field: what it holds, how it is analyzed)::

    id            record id (stored: the only stored field)
    all           subject (weighing double), text, sender, recipients, number and file
                  names: the Arabic/English stemmed chain, positions with the exact
                  form's fingerprint (phrases, and exact phrases first)
    subject, sender, recipients     stemmed, for ``subject:``/``sender:``/``to:`` queries
    number        reference-number aware, unstemmed: found whole and by its parts
    attachments   file names, unstemmed
    kind source office year classification thread sender_id    exact values
    hidden        the clearances a record is hidden from (for the clearance mask)
    issued received               dates, for ``issued:[2025 to 2026]``
    date          the record's date as a column (sorting, date filters)

Clearance, kind, office, sender and date filters are document sets kept per
searcher (one per index generation), given to whoosh as ``filter``/``mask`` so the
page of hits, the total and the facet counts never include a record above the
caller's clearance. Facets and the total are counted on the matching document set
(set intersections), not by grouping every hit.

Writers take an exclusive lock file (``docarchive.lock``) around "check the last
change applied, commit, record the new one and the files written", so several
processes never apply an older state over a newer one. ``applied.json`` holds the
last catalog change applied and each segment file's size, time and CRC; opening
checks them (and reads the table of contents) and raises
:class:`~docarchive.search.base.IndexCorrupt` for a damaged index, which the
archive answers by rebuilding.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pickle
import struct
import tempfile
import zlib
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from whoosh import columns, fields, index, query, sorting, writing
from whoosh.index import LockError

from ..errors import ConfigurationError, SearchError
from ..records import Classification, Record
from .analysis import (
    AnalyzedText,
    arabic_english_analyzer,
    exact_analyzer,
    indexed_terms,
    raw_tokens,
)
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
from .query import parse_query, query_parser
from .scoring import FastBM25F

__all__ = ["FACETS", "SCHEMA_VERSION", "WhooshIndex"]

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
STATE_FILE = "applied.json"
LOCK_FILE = "docarchive.lock"
LOCK_WAIT_S = 10.0
INDEX_NAME = "MAIN"
FACETS = ("kind", "year", "office")
SUBJECT_WEIGHT = 2.0
SNIPPET_CHARS = 200
SNIPPET_SCAN = 100_000
#: Text fields whose matched words a snippet marks.
_SNIPPET_FIELDS = {"all", "subject", "text"}
#: What reading a damaged index raises, deep inside whoosh.
_DAMAGE = (
    EOFError,
    struct.error,
    zlib.error,
    pickle.UnpicklingError,
    OSError,
    IndexError,
    KeyError,
    ValueError,
    AttributeError,
    TypeError,
    AssertionError,
    MemoryError,
)


def _schema() -> fields.Schema:
    stem = arabic_english_analyzer()
    exact = exact_analyzer()

    def stemmed(**kw: Any) -> AnalyzedText:
        return AnalyzedText(stem, cache_key="stem", renumber=True, **kw)

    def unstemmed(**kw: Any) -> AnalyzedText:
        return AnalyzedText(exact, cache_key="exact", renumber=False, **kw)

    return fields.Schema(
        id=fields.ID(stored=True, unique=True),
        all=stemmed(forms=True),
        subject=stemmed(),
        sender=stemmed(phrase=False),
        recipients=stemmed(phrase=False),
        number=unstemmed(phrase=False),
        attachments=unstemmed(phrase=False),
        exact=stemmed(),  # never indexed: the ``exact:`` query syntax
        kind=fields.ID,
        source=fields.ID,
        office=fields.ID,
        year=fields.ID,
        classification=fields.ID,
        thread=fields.ID,
        sender_id=fields.ID,
        hidden=fields.KEYWORD,
        issued=fields.DATETIME,
        received=fields.DATETIME,
        date=fields.COLUMN(columns.NumericColumn("q", default=0)),
    )


def _stamp(when: datetime) -> int:
    """Seconds since 0001-01-01 (a sortable, time-zone-free number)."""
    return int((when - datetime(1, 1, 1)).total_seconds())


def document(record: Record, text_limit: int = 2_000_000) -> dict[str, Any]:
    """The whoosh document of ``record``."""
    text = record.text[:text_limit]
    recipients = "\n".join(record.recipients)
    names = "\n".join(f.name for f in record.files if f.name)
    number = record.number or ""
    level = int(record.classification)
    doc: dict[str, Any] = {
        "id": record.id,
        "all": [
            (record.subject, SUBJECT_WEIGHT),
            (text, 1.0),
            (record.sender, 1.0),
            (recipients, 1.0),
            (number, 1.0),
            (names, 1.0),
        ],
        "subject": record.subject,
        "sender": record.sender,
        "recipients": recipients,
        "number": number,
        "attachments": names,
        "kind": record.kind,
        "source": record.source,
        "office": record.office,
        "year": record.year,
        "classification": str(level),
        "thread": record.links.get("thread") or record.links.get("reply_to") or record.id,
        "sender_id": record.sender,
        "hidden": " ".join(str(c) for c in range(level)),
    }
    doc = {k: v for k, v in doc.items() if v not in ("", None)}
    for key in ("issued", "received"):
        when = _when(record.dates.get(key))
        if when is not None:
            doc[key] = when
    when = _date_of(record)
    if when is not None:
        doc["date"] = _stamp(when)
    return doc


class _View:
    """One searcher (one index generation) and the document sets kept for it."""

    def __init__(self, searcher: Any) -> None:
        self.searcher = searcher
        self.sets: dict[tuple[str, str], set[int]] = {}
        self.dates: tuple[list[int], list[int]] | None = None
        self.facets: dict[str, dict[str, set[int]]] = {}

    def docs(self, field: str, value: str) -> set[int]:
        key = (field, value)
        found = self.sets.get(key)
        if found is None:
            found = set(self.searcher.docs_for_query(query.Term(field, value)))
            self.sets[key] = found
        return found

    def facet(self, field: str) -> dict[str, set[int]]:
        values = self.facets.get(field)
        if values is None:
            reader = self.searcher.reader()
            names = [b.decode("utf-8") for b in reader.lexicon(field)]
            values = self.facets[field] = {v: self.docs(field, v) for v in names}
        return values

    def date_range(self, start: datetime | None, end: datetime | None) -> set[int]:
        if self.dates is None:
            reader = self.searcher.reader()
            column = reader.column_reader("date") if reader.has_column("date") else None
            pairs = (
                sorted((int(column[d]), d) for d in reader.all_doc_ids() if column[d])
                if column is not None
                else []
            )
            self.dates = ([p[0] for p in pairs], [p[1] for p in pairs])
        stamps, docs = self.dates
        lo = bisect_left(stamps, _stamp(start)) if start else 0
        hi = bisect_right(stamps, _stamp(end)) if end else len(stamps)
        return set(docs[lo:hi])


class WhooshIndex(SearchIndex):
    """A whoosh index in one folder.

    ``procs``/``limitmb``/``multisegment`` are whoosh writer settings used for
    rebuilds (``whoosh:///path?procs=2&limitmb=512``).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        text_limit: int = 2_000_000,
        procs: int = 1,
        limitmb: int = 256,
        multisegment: bool = False,
    ) -> None:
        self.path = Path(path).absolute()
        self.url = f"whoosh://{quote(str(self.path))}"
        self.text_limit = text_limit
        self.procs = procs
        self.limitmb = limitmb
        self.multisegment = multisegment
        self._ix: Any = None
        self._view: _View | None = None
        self._parser: Any = None
        self._lock_fd: int | None = None

    @classmethod
    def from_url(cls, url: str) -> WhooshIndex:
        parts = urlsplit(url)
        if not parts.path:
            raise ConfigurationError(f"whoosh:// index needs a folder path: {url}")
        options = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        unknown = set(options) - {"procs", "limitmb", "multisegment"}
        if unknown:
            raise ConfigurationError(
                f"unknown whoosh:// option {sorted(unknown)[0]!r} (known: limitmb, "
                f"multisegment, procs): {url}"
            )
        try:
            return cls(
                unquote(parts.path),
                procs=int(options.get("procs", 1)),
                limitmb=int(options.get("limitmb", 256)),
                multisegment=options.get("multisegment", "0").lower() in ("1", "true", "yes"),
            )
        except ValueError:
            raise ConfigurationError(f"whoosh:// options must be numbers: {url}") from None

    # -- locking ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self, *, exclusive: bool = True, wait: float = LOCK_WAIT_S) -> Iterator[None]:
        """Hold the index's lock file (re-entrant within this object)."""
        if self._lock_fd is not None:
            yield
            return
        with lock_file(self.path / LOCK_FILE, exclusive=exclusive, wait=wait) as fd:
            self._lock_fd = fd
            try:
                yield
            finally:
                self._lock_fd = None

    # -- state ------------------------------------------------------------------------------

    def _read_state(self) -> dict[str, Any]:
        try:
            raw = (self.path / STATE_FILE).read_text()
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError) as exc:
            raise IndexCorrupt(f"{self.path / STATE_FILE}: unreadable: {exc}") from exc
        try:
            data = json.loads(raw)
            if not isinstance(data, dict):
                raise ValueError("not an object")
            data["applied"] = int(data.get("applied", 0))
            if not isinstance(data.get("files", {}), dict):
                raise ValueError("files is not an object")
        except (ValueError, TypeError) as exc:
            raise IndexCorrupt(f"{self.path / STATE_FILE}: not a valid state: {exc}") from exc
        return data

    def _current_files(self, ix: Any) -> dict[str, tuple[int, int]]:
        """The files of the index's current generation: name -> (size, mtime_ns)."""
        gen = ix.latest_generation()
        segids = [seg.segment_id() for seg in ix._segments()]
        names = [f"_{INDEX_NAME}_{gen}.toc"]
        for name in os.listdir(self.path):
            if any(name.startswith(s + ".") or name.startswith(s + "_") for s in segids):
                names.append(name)
        out = {}
        for name in names:
            st = os.stat(self.path / name)
            out[name] = (st.st_size, st.st_mtime_ns)
        return out

    def _crc(self, name: str) -> int:
        crc = 0
        with open(self.path / name, "rb") as fh:
            while chunk := fh.read(1 << 20):
                crc = zlib.crc32(chunk, crc)
        return crc

    def _write_state(self, ix: Any, applied: int) -> None:
        old = {}
        with contextlib.suppress(IndexCorrupt):
            old = self._read_state().get("files", {})
        files = {}
        for name, (size, mtime) in self._current_files(ix).items():
            known = old.get(name)
            if known and known[0] == size and known[1] == mtime:
                files[name] = known
            else:
                files[name] = [size, mtime, self._crc(name)]
        state = {
            "applied": applied,
            "schema": schema_code(SCHEMA_VERSION),
            "generation": ix.latest_generation(),
            "files": files,
        }
        fd, tmp = tempfile.mkstemp(dir=self.path, prefix=".applied-")
        with os.fdopen(fd, "w") as fh:
            json.dump(state, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path / STATE_FILE)

    def _verify(self, ix: Any, state: dict[str, Any]) -> None:
        """Raise IndexCorrupt when a file of the current generation is missing or altered."""
        if state and state.get("schema") != schema_code(SCHEMA_VERSION):
            raise IndexCorrupt(f"{self.path}: built by another docarchive or lexicon")
        if set(ix.schema.names()) != set(_schema().names()):
            raise IndexCorrupt(f"{self.path}: built with another schema")
        manifest = state.get("files", {})
        current = self._current_files(ix)
        for name, (size, mtime) in current.items():
            known = manifest.get(name)
            if known is None:
                continue  # committed after the state was last written (a crash in between)
            if known[0] != size:
                raise IndexCorrupt(f"{name}: {size} bytes, {known[0]} were written")
            if known[1] != mtime and self._crc(name) != known[2]:
                raise IndexCorrupt(f"{name}: altered since it was written")
        if state.get("generation") == ix.latest_generation():
            for name in manifest:
                if name not in current:
                    raise IndexCorrupt(f"{name}: missing")
        with ix.reader() as reader:
            reader.doc_count()
            last = reader.doc_count_all() - 1
            if last >= 0 and not reader.is_deleted(last):
                reader.stored_fields(last)

    # -- opening ----------------------------------------------------------------------------

    def _wipe(self) -> None:
        self.close()
        for entry in self.path.iterdir():
            if entry.name != LOCK_FILE:
                if entry.is_dir():
                    import shutil

                    shutil.rmtree(entry)
                else:
                    entry.unlink()

    def _create(self) -> Any:
        ix = index.create_in(str(self.path), _schema(), indexname=INDEX_NAME)
        self._write_state(ix, 0)
        return ix

    def _index(self) -> Any:
        """The open index, checked once per object (IndexCorrupt when damaged)."""
        if self._ix is not None:
            return self._ix
        self.path.mkdir(parents=True, exist_ok=True)
        with self._locked(exclusive=True):
            state = self._read_state()
            if not index.exists_in(str(self.path), indexname=INDEX_NAME):
                if state.get("applied", 0) > 0 or any(
                    p.name.startswith(f"_{INDEX_NAME}_") for p in self.path.iterdir()
                ):
                    raise IndexCorrupt(f"{self.path}: the table of contents is missing")
                self._ix = self._create()
                return self._ix
            try:
                ix = index.open_dir(str(self.path), indexname=INDEX_NAME)
                self._verify(ix, state)
            except IndexCorrupt:
                raise
            except (*_DAMAGE, index.EmptyIndexError) as exc:
                raise IndexCorrupt(f"{self.path}: {type(exc).__name__}: {exc}") from exc
            self._ix = ix
        return self._ix

    def close(self) -> None:
        if self._view is not None:
            self._view.searcher.close()
            self._view = None
        if self._ix is not None:
            self._ix.close()
            self._ix = None

    # -- writing ----------------------------------------------------------------------------

    def applied(self) -> int:
        self._index()
        return int(self._read_state().get("applied", 0))

    def apply(self, records: list[Record], removed: list[str], through: int) -> None:
        with self._locked(exclusive=True):
            ix = self._index()
            if through and through < self.applied():
                return
            try:
                writer = ix.writer(timeout=LOCK_WAIT_S, delay=0.05, limitmb=self.limitmb)
            except LockError as exc:
                raise IndexBusy(str(self.path)) from exc
            try:
                for record_id in removed:
                    writer.delete_by_term("id", record_id)
                for record in records:
                    writer.update_document(**document(record, self.text_limit))
                writer.commit()
            except BaseException:
                if not writer.is_closed:
                    writer.cancel()
                raise
            self._write_state(ix, max(through, self.applied()))

    def rebuild(self, records: Iterable[Record], through: int) -> int:
        """Index ``records`` into a new generation that replaces the old one at commit
        (readers keep the old one until then); a damaged index is wiped first."""
        count = 0
        with self._locked(exclusive=True, wait=600):
            try:
                ix = self._index()
            except IndexCorrupt as exc:
                log.warning("search index damaged, rebuilding: %s", exc)
                self._wipe()
                ix = self._ix = self._create()
            options: dict[str, Any] = {"limitmb": self.limitmb}
            if self.procs > 1:
                options.update(procs=self.procs, multisegment=self.multisegment)
            try:
                writer = ix.writer(timeout=LOCK_WAIT_S, delay=0.05, **options)
            except LockError as exc:
                raise IndexBusy(str(self.path)) from exc
            try:
                for record in records:
                    writer.add_document(**document(record, self.text_limit))
                    count += 1
                writer.commit(mergetype=writing.CLEAR)
            except BaseException:
                if not writer.is_closed:
                    writer.cancel()
                raise
            self._write_state(ix, through)
        return count

    def clear(self) -> None:
        with self._locked(exclusive=True):
            self._wipe()
            self._ix = self._create()

    # -- searching --------------------------------------------------------------------------

    def _current(self) -> _View:
        ix = self._index()
        view = self._view
        if view is None or not view.searcher.up_to_date():
            if view is not None:
                view.searcher.close()
            view = self._view = _View(ix.searcher(weighting=FastBM25F()))
        return view

    def _query_parser(self) -> Any:
        if self._parser is None:
            self._parser = query_parser(self._index().schema)
        return self._parser

    def _allowed(self, view: _View, q: Query) -> set[int] | None:
        """The documents the filters allow (None: no filter)."""
        sets: list[set[int]] = []
        if q.kind:
            sets.append(view.docs("kind", q.kind))
        if q.office:
            sets.append(view.docs("office", q.office))
        if q.sender:
            sets.append(view.docs("sender_id", q.sender))
        if q.date_from or q.date_to:
            sets.append(view.date_range(q.date_from, q.date_to))
        if not sets:
            return None
        sets.sort(key=len)
        allowed = set(sets[0])
        for other in sets[1:]:
            allowed &= other
        return allowed

    def _hidden(self, view: _View, clearance: Classification) -> set[int] | None:
        if clearance >= max(Classification):
            return None
        return view.docs("hidden", str(int(clearance)))

    def search(self, q: Query) -> SearchResult:
        parsed = parse_query(self._query_parser(), q.text)
        try:
            return self._search(q, parsed)
        except (SearchError, IndexBusy, IndexCorrupt):
            raise
        except query.QueryError as exc:
            raise SearchError(f"cannot run the query {q.text!r}: {exc}") from exc
        except _DAMAGE as exc:
            raise IndexCorrupt(f"{self.path}: {type(exc).__name__}: {exc}") from exc

    def _search(self, q: Query, parsed: Any) -> SearchResult:
        if parsed is query.NullQuery:
            return SearchResult(0 if q.count else -1, [], {})
        view = self._current()
        searcher = view.searcher
        allowed = self._allowed(view, q)
        hidden = self._hidden(view, q.clearance)
        if allowed is not None and hidden:
            allowed = allowed - hidden
            hidden = None
        start = (q.page - 1) * q.page_size
        hits: list[Hit] = []
        if allowed is None or allowed:
            options: dict[str, Any] = {"limit": start + q.page_size, "filter": allowed}
            if hidden:
                options["mask"] = hidden
            if q.sort == "newest":
                options["sortedby"] = sorting.FieldFacet("date", reverse=True)
            results = searcher.search(parsed, **options)
            for i in range(start, min(start + q.page_size, results.scored_length())):
                docnum = results.docnum(i)
                score = results.score(i) if q.sort == "relevance" else 0.0
                hits.append(Hit(searcher.stored_fields(docnum)["id"], float(score or 0.0)))
        if not q.count:
            return SearchResult(-1, hits, {})
        if allowed is not None and not allowed:
            return SearchResult(0, [], {name: {} for name in FACETS})
        docs = set(searcher.docs_for_query(parsed))
        if allowed is not None:
            docs &= allowed
        if hidden:
            docs -= hidden
        facets = {}
        for name in FACETS:
            counts = {v: len(docs & s) for v, s in view.facet(name).items()}
            facets[name] = {v: n for v, n in sorted(counts.items()) if n}
        return SearchResult(len(docs), hits, facets)

    # -- snippets ---------------------------------------------------------------------------

    def _marked_terms(self, q: Query) -> set[str]:
        parsed = parse_query(self._query_parser(), q.text)
        reader = self._current().searcher.reader()
        terms: set[str] = set()
        try:
            found = parsed.existing_terms(reader, phrases=True, expand=True)
        except _DAMAGE:
            found = set(parsed.iter_all_terms(phrases=True))
        for fieldname, text in found:
            if fieldname in _SNIPPET_FIELDS:
                terms.add(text.decode("utf-8") if isinstance(text, bytes) else str(text))
        return terms

    def snippet(self, text: str, q: Query) -> str:
        terms = self._marked_terms(q)
        return make_snippet(text[: self.text_limit], terms)


def make_snippet(text: str, terms: set[str], width: int = SNIPPET_CHARS) -> str:
    """Up to two extracts of ``text`` around words whose index terms are in ``terms``,
    each such word marked ``<mark>word</mark>``; the start of the text when none is."""
    spans: list[tuple[int, int]] = []
    if terms:
        for raw, start in raw_tokens(text[:SNIPPET_SCAN]):
            if not terms.isdisjoint(indexed_terms(raw)):
                spans.append((start, start + len(raw)))
    if not spans:
        return " ".join(text[:width].split())
    fragments: list[tuple[int, int]] = []
    for s, e in spans:
        if fragments and s < fragments[-1][1]:
            continue
        a = max(0, s - width // 3)
        while a > 0 and not text[a - 1].isspace() and s - a < width // 2:
            a -= 1
        b = min(len(text), a + width)
        while b < len(text) and not text[b].isspace() and b - a < width + 30:
            b += 1
        fragments.append((a, max(b, e)))
        if len(fragments) == 2:
            break
    out = []
    for a, b in fragments:
        piece, cursor = [], a
        for s, e in spans:
            if s >= a and e <= b:
                piece.append(text[cursor:s])
                piece.append(f"<mark>{text[s:e]}</mark>")
                cursor = e
        piece.append(text[cursor:b])
        out.append(" ".join("".join(piece).split()))
    return " … ".join(out)
