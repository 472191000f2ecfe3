"""The default search engine: a whoosh index in a folder, ``whoosh:///path/index``.

Fields are analyzed with the Arabic/English chain of :mod:`.analysis`; an
unstemmed ``exact`` field lets a literal phrase rank above a stem match. The
last catalog change applied is kept in ``applied.json`` beside the segments,
written after each commit (a crash in between only means re-applying, which is
idempotent).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from whoosh import fields, highlight, index, query, sorting
from whoosh.index import LockError
from whoosh.qparser import MultifieldParser, QueryParserError

from ..errors import ConfigurationError, SearchError
from ..records import Record
from .analysis import arabic_english_analyzer, exact_analyzer
from .base import Hit, IndexBusy, Query, SearchIndex, SearchResult

__all__ = ["WhooshIndex"]

STATE_FILE = "applied.json"
LOCK_WAIT_S = 10.0
SEARCH_FIELDS = ["subject", "text", "exact", "number", "sender", "recipients", "attachments"]
FIELD_BOOSTS = {"subject": 2.0, "exact": 1.5, "number": 3.0}


def _schema() -> fields.Schema:
    stem = arabic_english_analyzer()
    exact = exact_analyzer()
    return fields.Schema(
        id=fields.ID(stored=True, unique=True),
        number=fields.TEXT(analyzer=exact, phrase=True),
        kind=fields.ID(sortable=True),
        source=fields.ID,
        office=fields.ID(sortable=True),
        year=fields.ID(sortable=True),
        classification=fields.ID,
        subject=fields.TEXT(analyzer=stem),
        text=fields.TEXT(analyzer=stem),
        exact=fields.TEXT(analyzer=exact),
        sender=fields.TEXT(analyzer=stem),
        sender_id=fields.ID,
        recipients=fields.TEXT(analyzer=stem),
        attachments=fields.TEXT(analyzer=exact),
        date=fields.DATETIME(sortable=True),
    )


class _MarkFormatter(highlight.Formatter):  # type: ignore[misc]
    """Marks matched words as ``<mark>word</mark>``, the rest left as it is."""

    between = " … "

    def format_token(self, text: str, token: Any, replace: bool = False) -> str:
        return f"<mark>{highlight.get_text(text, token, replace)}</mark>"


def _date_of(record: Record) -> datetime | None:
    for key in ("issued", "received", "created"):
        value = record.dates.get(key)
        if value:
            try:
                return datetime.fromisoformat(value).replace(tzinfo=None)
            except ValueError:
                continue
    return None


class WhooshIndex(SearchIndex):
    """A whoosh index in one folder."""

    def __init__(self, path: str | os.PathLike[str], *, text_limit: int = 2_000_000) -> None:
        self.path = Path(path).absolute()
        self.url = f"whoosh://{quote(str(self.path))}"
        self.text_limit = text_limit
        self._ix: Any = None

    @classmethod
    def from_url(cls, url: str) -> WhooshIndex:
        parts = urlsplit(url)
        if parts.query:
            raise ConfigurationError(f"whoosh:// index takes no options: {url}")
        if not parts.path:
            raise ConfigurationError(f"whoosh:// index needs a folder path: {url}")
        return cls(unquote(parts.path))

    # -- opening ----------------------------------------------------------------------------

    def _index(self) -> Any:
        if self._ix is None:
            self.path.mkdir(parents=True, exist_ok=True)
            if index.exists_in(str(self.path)):
                self._ix = index.open_dir(str(self.path))
            else:
                try:
                    self._ix = index.create_in(str(self.path), _schema())
                except LockError:  # another process is creating it
                    time.sleep(0.2)
                    self._ix = index.open_dir(str(self.path))
        return self._ix

    def close(self) -> None:
        if self._ix is not None:
            self._ix.close()
            self._ix = None

    # -- writing ----------------------------------------------------------------------------

    def applied(self) -> int:
        try:
            data = json.loads((self.path / STATE_FILE).read_text())
            return int(data["applied"])
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return 0

    def _set_applied(self, seq: int) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.path, prefix=".applied-")
        with os.fdopen(fd, "w") as fh:
            json.dump({"applied": seq}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path / STATE_FILE)

    def apply(self, records: list[Record], removed: list[str], through: int) -> None:
        ix = self._index()
        try:
            writer = ix.writer(timeout=LOCK_WAIT_S, delay=0.05)
        except LockError as exc:
            raise IndexBusy(str(self.path)) from exc
        try:
            if through and through < self.applied():
                writer.cancel()
                return
            for record_id in removed:
                writer.delete_by_term("id", record_id)
            for record in records:
                writer.update_document(**self._document(record))
            writer.commit()
            self._set_applied(through)
        except BaseException:
            if not writer.is_closed:
                writer.cancel()
            raise

    def _document(self, record: Record) -> dict[str, Any]:
        text = record.text[: self.text_limit]
        doc: dict[str, Any] = {
            "id": record.id,
            "number": record.number or "",
            "kind": record.kind,
            "source": record.source,
            "office": record.office,
            "year": record.year,
            "classification": str(int(record.classification)),
            "subject": record.subject,
            "text": text,
            "exact": f"{record.subject}\n{text}",
            "sender": record.sender,
            "sender_id": record.sender,
            "recipients": "\n".join(record.recipients),
            "attachments": "\n".join(f.name for f in record.files if f.name),
        }
        when = _date_of(record)
        if when is not None:
            doc["date"] = when
        return doc

    def clear(self) -> None:
        self.close()
        if self.path.exists():
            shutil.rmtree(self.path)
        self.path.mkdir(parents=True)
        self._ix = index.create_in(str(self.path), _schema())

    # -- searching --------------------------------------------------------------------------

    def _parse(self, q: Query) -> Any:
        ix = self._index()
        parser = MultifieldParser(SEARCH_FIELDS, ix.schema, fieldboosts=FIELD_BOOSTS)
        try:
            parsed = parser.parse(q.text)
        except (QueryParserError, ValueError, TypeError) as exc:
            raise SearchError(f"cannot parse the query {q.text!r}: {exc}") from exc
        return parsed

    def _filter(self, q: Query) -> Any:
        terms: list[Any] = [
            query.Or([query.Term("classification", str(int(c))) for c in q.clearance.allowed()])
        ]
        if q.kind:
            terms.append(query.Term("kind", q.kind))
        if q.office:
            terms.append(query.Term("office", q.office))
        if q.sender:
            terms.append(query.Term("sender_id", q.sender))
        if q.date_from or q.date_to:
            terms.append(query.DateRange("date", q.date_from, q.date_to))
        return query.And(terms)

    def search(self, q: Query) -> SearchResult:
        parsed = self._parse(q)
        if parsed is query.NullQuery:
            return SearchResult(0, [], {})
        facets = {name: sorting.FieldFacet(name) for name in ("kind", "year", "office")}
        start = (q.page - 1) * q.page_size
        with self._index().searcher() as searcher:
            try:
                results = searcher.search(
                    parsed,
                    filter=self._filter(q),
                    limit=start + q.page_size,
                    groupedby=facets,
                    sortedby="date" if q.sort == "newest" else None,
                    reverse=q.sort == "newest",
                )
            except (ValueError, TypeError) as exc:
                raise SearchError(f"cannot run the query {q.text!r}: {exc}") from exc
            hits = [
                Hit(id=hit["id"], score=float(hit.score or 0.0))
                for hit in results[start : start + q.page_size]
            ]
            counts = {
                name: {k or "": len(v) for k, v in results.groups(name).items()} for name in facets
            }
            return SearchResult(total=len(results), hits=hits, facets=counts)

    def snippet(self, text: str, q: Query) -> str:
        parsed = self._parse(q)
        terms = {t for f, t in parsed.iter_all_terms() if f in ("text", "subject", "exact")}
        if not terms or not text:
            return " ".join(text[:200].split())
        analyzer = self._index().schema["text"].analyzer
        fragmenter = highlight.ContextFragmenter(maxchars=200, surround=60)
        formatter = _MarkFormatter()
        hl = highlight.highlight(
            text[: self.text_limit], frozenset(terms), analyzer, fragmenter, formatter, top=2
        )
        return " ".join(str(hl).split()) or " ".join(text[:200].split())
