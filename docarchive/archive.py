"""The Archive: the one facade over storage, catalog and search.

It composes three backends chosen by URL and holds no code specific to any of
them. Writes go blob first (atomic), then the catalog row (one transaction,
with the audit event and, for issued documents, the number), then the index
(idempotent, caught up from the catalog's change numbers). So a crash at any
point leaves an archive that opens, verifies and converges.
"""

from __future__ import annotations

import hmac
import logging
import os
import shutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from .catalog import Catalog, NumberEntry, open_catalog
from .config import SETTINGS_FILE, Settings, default_actor
from .errors import (
    ConfigurationError,
    DocArchiveError,
    IngestError,
    NotFoundError,
    NumberingError,
    SearchError,
    TemplateError,
)
from .ingest import read_scan
from .records import Classification, FileRef, Record, new_id
from .search import IndexBusy, Query, SearchIndex, open_index
from .stamping import parse_code, verification_code
from .storage import BlobStorage, open_storage
from .templates import builtin_templates, docx_text, render_docx

__all__ = [
    "Archive",
    "BatchResult",
    "CodeCheck",
    "Problem",
    "SearchHit",
    "SearchResults",
    "VerifyReport",
]

log = logging.getLogger(__name__)

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class SearchHit:
    record: Record
    score: float
    snippet: str

    def to_dict(self) -> dict[str, Any]:
        return {**self.record.to_dict(text=False), "score": self.score, "snippet": self.snippet}


@dataclass
class SearchResults:
    total: int
    hits: list[SearchHit]
    facets: dict[str, dict[str, int]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "hits": [h.to_dict() for h in self.hits],
            "facets": self.facets,
        }


@dataclass(frozen=True)
class CodeCheck:
    """The answer to ``check CODE``: genuine or not, why, and the record (within clearance)."""

    genuine: bool
    reason: str
    number: str | None = None
    voided: bool = False
    record: Record | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "genuine": self.genuine,
            "reason": self.reason,
            "number": self.number,
            "voided": self.voided,
            "record": self.record.to_dict(text=False) if self.record else None,
        }


@dataclass(frozen=True)
class Problem:
    """One thing ``verify`` found wrong, named precisely."""

    code: str
    message: str
    record_id: str | None = None
    sha256: str | None = None
    event: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class VerifyReport:
    records: int = 0
    blobs: int = 0
    events: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "records": self.records,
            "blobs": self.blobs,
            "events": self.events,
            "problems": [p.to_dict() for p in self.problems],
        }


@dataclass
class BatchResult:
    """What a batch did: records archived, inputs already in the archive, inputs refused."""

    ingested: list[Record] = field(default_factory=list)
    duplicates: list[dict[str, str]] = field(default_factory=list)
    quarantined: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ingested": [r.to_dict(text=False) for r in self.ingested],
            "duplicates": self.duplicates,
            "quarantined": self.quarantined,
        }


class Archive:
    """An archive of correspondence: ``Archive.open(root)`` and its methods.

    Every method that changes the archive takes ``actor`` (who is acting); it
    defaults to ``DOCARCHIVE_USER`` or the operating-system user and is written
    into the audit event.
    """

    def __init__(
        self,
        settings: Settings,
        storage: BlobStorage,
        catalog: Catalog,
        index: SearchIndex,
        *,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.storage = storage
        self.catalog = catalog
        self.index = index
        self._clock = clock

    # -- opening ----------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        root_or_settings: str | os.PathLike[str] | Settings | None = None,
        *,
        clock: Clock | None = None,
        **overrides: Any,
    ) -> Archive:
        """Open the archive at a folder (created with defaults if absent or empty).

        ``overrides`` take precedence over the environment and ``docarchive.toml``:
        ``storage``, ``catalog``, ``index`` (backend URLs), ``clearance``, ``timezone``.
        """
        if isinstance(root_or_settings, Settings):
            settings = root_or_settings
        else:
            settings = Settings.load(root_or_settings, **overrides)
            root = settings.root
            if root.exists() and not root.is_dir():
                raise ConfigurationError(f"{root} is a file, not an archive folder")
            if not (root / SETTINGS_FILE).exists():
                if root.exists() and any(root.iterdir()):
                    raise ConfigurationError(
                        f"{root} is not an archive (no {SETTINGS_FILE}) and is not empty; "
                        "run 'docarchive init' on a new folder"
                    )
                root.mkdir(parents=True, exist_ok=True)
                settings.write(
                    backends={
                        k: overrides[k] for k in ("storage", "catalog", "index") if overrides.get(k)
                    }
                )
        archive = cls(
            settings,
            open_storage(settings.storage_url),
            open_catalog(settings.catalog_url),
            open_index(settings.index_url),
            clock=clock,
        )
        if hasattr(archive.index, "text_limit"):
            archive.index.text_limit = settings.limits.indexed_text_chars
        (settings.root / "quarantine").mkdir(parents=True, exist_ok=True)
        archive.catch_up()
        return archive

    @classmethod
    def init(
        cls,
        root: str | os.PathLike[str],
        *,
        storage: str | None = None,
        catalog: str | None = None,
        index: str | None = None,
    ) -> Archive:
        """Create a new archive in ``root`` (refuses a folder that already holds one)."""
        path = Path(root)
        if (path / SETTINGS_FILE).exists():
            raise ConfigurationError(f"{path} already holds an archive ({SETTINGS_FILE})")
        return cls.open(path, storage=storage, catalog=catalog, index=index)

    def close(self) -> None:
        self.index.close()
        self.catalog.close()
        self.storage.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- helpers ----------------------------------------------------------------------------

    def now(self) -> datetime:
        """The current time in the office's time zone."""
        current = self._clock() if self._clock else datetime.now(self.settings.tz)
        if current.tzinfo is None:
            current = current.replace(tzinfo=self.settings.tz)
        return current.astimezone(self.settings.tz)

    def _actor(self, actor: str | None) -> str:
        return actor or default_actor()

    def _classification(self, value: str | Classification | None) -> Classification:
        return (
            self.settings.default_classification if value is None else Classification.parse(value)
        )

    def catch_up(self) -> int:
        """Apply catalog changes the index has not seen; returns the change it reached.

        When another process holds the index, this stops quietly: that process, or the
        next call, brings the index up to date.
        """
        applied = self.index.applied()
        while applied < self.catalog.last_change():
            changes = self.catalog.changes_since(applied, limit=500)
            if not changes:
                break
            ids = sorted({rid for _, rid in changes if rid})
            found = self.catalog.get_many(ids)
            through = changes[-1][0]
            try:
                self.index.apply(list(found.values()), [i for i in ids if i not in found], through)
            except IndexBusy:
                log.info("index busy; it will catch up later")
                return applied
            applied = max(through, self.index.applied())
        return applied

    # -- templates and issuing --------------------------------------------------------------

    def templates(self) -> dict[str, Path]:
        """Kind → template: the built-in ones, overridden by the office's templates folder."""
        found = builtin_templates()
        folder = self.settings.templates_dir
        if folder and folder.is_dir():
            found.update({p.stem: p for p in sorted(folder.glob("*.docx"))})
        return found

    def _template(self, kind: str) -> Path:
        templates = self.templates()
        if kind not in templates:
            raise TemplateError(
                f"unknown kind {kind!r} (known: {', '.join(sorted(templates)) or 'none'})"
            )
        return templates[kind]

    def render(self, template: str | os.PathLike[str], data: Mapping[str, Any]) -> bytes:
        """Render a template (a kind or a .docx path) with ``data``; the .docx bytes."""
        path = Path(template)
        if not (path.suffix == ".docx" and path.exists()):
            path = self._template(str(template))
        return render_docx(
            path, self._context(data, number="", when=self.now()), self.settings.limits
        )

    def _context(self, data: Mapping[str, Any], *, number: str, when: datetime) -> dict[str, Any]:
        s = self.settings
        return {
            "ministry": s.ministry,
            "office": s.office_name,
            "office_code": s.office_code,
            **data,
            "number": number,
            "date": when.strftime("%Y/%m/%d"),
        }

    def issue(
        self,
        kind: str,
        data: Mapping[str, Any],
        *,
        classification: str | Classification | None = None,
        actor: str | None = None,
    ) -> Record:
        """Number, render, store and index a document of ``kind`` from ``data``.

        The number is taken in the catalog transaction that creates the record, so a
        failure anywhere before the commit leaves no number behind and no gap.
        """
        if not isinstance(data, Mapping):
            raise TemplateError(f"the data for a {kind} must be an object of fields")
        template = self._template(kind)
        series = self.settings.series_for(kind)
        level = self._classification(classification)
        who = self._actor(actor)
        when = self.now()
        office_code = self.settings.office_code
        with self.catalog.transaction(who) as tx:
            seq = tx.next_number(series.name, office_code, series.period(when.year))
            number = series.format_number(seq, year=when.year, office_code=office_code)
            docx = render_docx(
                template, self._context(data, number=number, when=when), self.settings.limits
            )
            blob = self.storage.put(docx)
            record = Record(
                id=new_id(),
                kind=kind,
                subject=str(data.get("subject", "")),
                text=docx_text(docx),
                number=number,
                series=series.name,
                sender=str(data.get("office", self.settings.office_name)),
                recipients=[str(r) for r in _as_list(data.get("recipients"))],
                office=office_code,
                dates={"issued": when.isoformat(), "created": when.isoformat()},
                classification=level,
                files=[FileRef("original", blob.sha256, blob.size, DOCX, f"{kind}.docx")],
                source="issued",
                meta={
                    "seq": seq,
                    "period": series.period(when.year),
                    "office_code": office_code,
                    "template": template.name,
                },
            )
            tx.add_record(record)
        self.catch_up()
        return record

    # -- ingest -----------------------------------------------------------------------------

    def ingest_scan(
        self,
        path: str | os.PathLike[str],
        *,
        subject: str | None = None,
        sender: str = "",
        classification: str | Classification | None = None,
        actor: str | None = None,
    ) -> Record:
        """Archive one scan; returns its record (the existing one if the same bytes were
        archived before). A file that cannot be archived is copied to quarantine and
        raises IngestError naming it and the reason."""
        record, _ = self._ingest_scan(Path(path), subject, sender, classification, actor)
        return record

    def ingest_scans(
        self,
        paths: Iterable[str | os.PathLike[str]],
        *,
        classification: str | Classification | None = None,
        actor: str | None = None,
        progress: Callable[[Path], None] | None = None,
    ) -> BatchResult:
        """Archive many scans (folders are walked); one bad file never stops the batch."""
        result = BatchResult()
        for path in _walk(paths):
            try:
                record, created = self._ingest_scan(path, None, "", classification, actor)
            except IngestError as exc:
                result.quarantined.append({"file": exc.file, "reason": exc.reason})
            else:
                if created:
                    result.ingested.append(record)
                else:
                    result.duplicates.append({"file": str(path), "id": record.id})
            if progress:
                progress(path)
        return result

    def _ingest_scan(
        self,
        path: Path,
        subject: str | None,
        sender: str,
        classification: str | Classification | None,
        actor: str | None,
    ) -> tuple[Record, bool]:
        try:
            scan = read_scan(path, self.settings.limits)
        except IngestError as exc:
            self._quarantine(path, exc.reason)
            raise
        who = self._actor(actor)
        blob = self.storage.put(scan.data)
        existing = self.catalog.find_by_blob(blob.sha256)
        if existing is not None:
            return existing, False
        when = self.now()
        first_line = next((ln.strip() for ln in scan.text.splitlines() if ln.strip()), "")
        record = Record(
            id=new_id(),
            kind="scan",
            subject=subject or first_line[:200] or path.name,
            text=scan.text,
            sender=sender,
            office=self.settings.office_code,
            dates={"received": when.isoformat(), "created": when.isoformat()},
            classification=self._classification(classification),
            files=[FileRef("original", blob.sha256, blob.size, scan.media_type, path.name)],
            source="scan",
            meta={"pages": scan.pages, "text_layer": scan.has_text_layer},
        )
        with self.catalog.transaction(who) as tx:
            tx.add_record(record)
        self.catch_up()
        return record, True

    def _quarantine(self, path: Path, reason: str) -> None:
        """Keep a copy of a refused input and why, under a name we choose."""
        folder = self.settings.root / "quarantine" / f"{self.now():%Y%m%dT%H%M%S}-{new_id()[:8]}"
        try:
            folder.mkdir(parents=True)
            if path.is_file() and path.stat().st_size <= self.settings.limits.input_bytes:
                shutil.copyfile(path, folder / "input")
            (folder / "reason.txt").write_text(f"{path}\n{reason}\n", encoding="utf-8")
        except OSError as exc:
            log.warning("could not quarantine %s: %s", path, exc)

    # -- reading ----------------------------------------------------------------------------

    def get(self, id_or_number: str, *, clearance: str | Classification | None = None) -> Record:
        """A record by id or official number; NotFoundError when absent or above clearance."""
        allowed = self._clearance(clearance)
        record = self.catalog.get(id_or_number)
        if record is None:
            entry = self.catalog.find_number(id_or_number)
            record = self.catalog.get(entry.record_id) if entry and entry.record_id else None
        if record is None or record.classification > allowed:
            raise NotFoundError(f"no record {id_or_number!r}")
        return record

    def blob(self, sha256: str) -> bytes:
        """The bytes of a stored file."""
        return self.storage.get(sha256)

    def _clearance(self, value: str | Classification | None) -> Classification:
        return self.settings.default_clearance if value is None else Classification.parse(value)

    def search(
        self,
        query: str,
        *,
        kind: str | None = None,
        office: str | None = None,
        sender: str | None = None,
        date_from: date | datetime | str | None = None,
        date_to: date | datetime | str | None = None,
        sort: str = "relevance",
        page: int = 1,
        page_size: int = 10,
        clearance: str | Classification | None = None,
    ) -> SearchResults:
        """Full-text search in Arabic and English, within the caller's clearance."""
        if sort not in ("relevance", "newest"):
            raise SearchError(f"sort must be 'relevance' or 'newest', not {sort!r}")
        if page < 1 or page_size < 1:
            raise SearchError("page and page_size must be 1 or more")
        if not query.strip():
            raise SearchError("the query is empty")
        q = Query(
            text=query,
            clearance=self._clearance(clearance),
            kind=kind,
            office=office,
            sender=sender,
            date_from=_as_datetime(date_from, end=False),
            date_to=_as_datetime(date_to, end=True),
            sort=sort,
            page=page,
            page_size=page_size,
        )
        self.catch_up()
        found = self.index.search(q)
        records = self.catalog.get_many([h.id for h in found.hits])
        hits = [
            SearchHit(records[h.id], h.score, self.index.snippet(records[h.id].text, q))
            for h in found.hits
            if h.id in records and records[h.id].classification <= q.clearance
        ]
        return SearchResults(found.total, hits, found.facets)

    # -- numbers ----------------------------------------------------------------------------

    def void(self, number: str, reason: str, *, actor: str | None = None) -> NumberEntry:
        """Void an issued number with a reason; it stays in the register, never reused."""
        if not reason.strip():
            raise NumberingError("a reason is required to void a number")
        with self.catalog.transaction(self._actor(actor)) as tx:
            entry = tx.void_number(number, reason.strip())
        self.catch_up()
        return entry

    def register(self, series: str, year: int | None = None) -> list[NumberEntry]:
        """Every number of a series (one year of it, for yearly series) and its state."""
        config = self.settings.series_for(series)
        period = config.period(year) if year is not None else None
        return self.catalog.register(series, period)

    def check_code(self, code: str, *, clearance: str | Classification | None = None) -> CodeCheck:
        """Whether a stamp's verification code is genuine, and the record it belongs to.

        The record is shown only within the caller's clearance; its number always is,
        since the number is printed beside the code on the stamp.
        """
        try:
            record_id, _ = parse_code(code)
        except ValueError:
            return CodeCheck(False, "not a docarchive verification code")
        record = self.catalog.get(record_id)
        original = next((f for f in record.files if f.role == "original"), None) if record else None
        if record is None or original is None or not record.number:
            return CodeCheck(False, "no record carries this code")
        expected = verification_code(
            self.settings.stamp_key(), record.id, record.number, original.sha256
        )
        if not hmac.compare_digest(expected.upper(), code.strip().upper()):
            return CodeCheck(False, "the code does not match the record: not genuine")
        entry = self.catalog.find_number(record.number)
        if entry is not None and entry.status == "void":
            return CodeCheck(
                True,
                f"genuine, but number {record.number} was voided: {entry.reason}",
                number=record.number,
                voided=True,
                record=record if record.classification <= self._clearance(clearance) else None,
            )
        shown = record if record.classification <= self._clearance(clearance) else None
        return CodeCheck(True, "genuine", number=record.number, record=shown)

    # -- integrity --------------------------------------------------------------------------

    def verify(self) -> VerifyReport:
        """Re-hash every blob and walk the audit chain; name exactly what is wrong."""
        report = VerifyReport()
        checked: dict[str, str | None] = {}
        digests = self.catalog.record_digests()
        for record in self.catalog.records():
            report.records += 1
            for f in record.files:
                if f.sha256 not in checked:
                    checked[f.sha256] = self._check_blob(f.sha256)
                problem = checked[f.sha256]
                if problem:
                    report.problems.append(
                        Problem(
                            "blob-" + problem.split(":")[0],
                            f"record {record.id} ({record.number or record.kind}): {f.role} blob "
                            f"{f.sha256} {problem.split(': ', 1)[1]}",
                            record_id=record.id,
                            sha256=f.sha256,
                        )
                    )
            recorded = digests.get(record.id)
            if recorded is None:
                report.problems.append(
                    Problem("record-unaudited", f"record {record.id} has no audit event", record.id)
                )
            elif recorded != record.digest():
                report.problems.append(
                    Problem(
                        "record-altered",
                        f"record {record.id} differs from what its audit event recorded",
                        record.id,
                    )
                )
        report.blobs = len(checked)
        prev_hash, expected_seq = None, 1
        for event in self.catalog.audit_events():
            report.events += 1
            if event.seq != expected_seq:
                report.problems.append(
                    Problem(
                        "audit-gap",
                        f"audit events {expected_seq}..{event.seq - 1} are missing",
                        event=expected_seq,
                    )
                )
            if prev_hash is not None and event.prev_hash != prev_hash:
                report.problems.append(
                    Problem(
                        "audit-chain",
                        f"audit event {event.seq} does not link to event {event.seq - 1}",
                        event.record_id,
                        event=event.seq,
                    )
                )
            if event.hash != event.expected_hash():
                report.problems.append(
                    Problem(
                        "audit-altered",
                        f"audit event {event.seq} ({event.action} by {event.actor}) was altered: "
                        "its hash does not match its content",
                        event.record_id,
                        event=event.seq,
                    )
                )
            prev_hash, expected_seq = event.hash, event.seq + 1
        return report

    def _check_blob(self, sha256: str) -> str | None:
        try:
            if not self.storage.verify(sha256):
                return "corrupt: stored bytes no longer match their SHA-256"
        except DocArchiveError:
            return "missing: not found in storage"
        return None

    def reindex(self) -> int:
        """Rebuild the search index from the catalog and blobs alone; returns records indexed."""
        through = self.catalog.last_change()
        self.index.clear()
        batch: list[Record] = []
        count = 0
        for record in self.catalog.records():
            batch.append(record)
            if len(batch) == 500:
                self.index.apply(batch, [], 0)
                count += len(batch)
                batch = []
        self.index.apply(batch, [], through)
        count += len(batch)
        self.catch_up()
        return count


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def _as_datetime(value: date | datetime | str | None, *, end: bool) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        except ValueError:
            raise SearchError(f"not a date: {value!r} (use YYYY-MM-DD)") from None
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if end:
        return datetime(value.year, value.month, value.day, 23, 59, 59, 999999)
    return datetime(value.year, value.month, value.day)


def _walk(paths: Iterable[str | os.PathLike[str]]) -> Iterable[Path]:
    for item in paths:
        path = Path(item)
        if path.is_dir():
            for sub in sorted(path.rglob("*")):
                if sub.is_file() and not sub.name.startswith("."):
                    yield sub
        else:
            yield path
