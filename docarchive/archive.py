"""The Archive: the one facade over storage, catalog and search.

It composes three backends chosen by URL and holds no code specific to any of
them. Writes go blob first (atomic), then the catalog row (one transaction,
with the audit event and, for issued documents, the number), then the index
(idempotent, caught up from the catalog's change numbers). So a crash at any
point leaves an archive that opens, verifies and converges.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from . import transfer
from .catalog import Catalog, NumberEntry, open_catalog
from .config import SETTINGS_FILE, Settings, default_actor
from .errors import (
    AccessDeniedError,
    ConfigurationError,
    DocArchiveError,
    IngestError,
    NotFoundError,
    NumberingError,
    SearchError,
    StorageError,
    TemplateError,
)
from .followup import KINDS as FOLLOWUP_KINDS
from .followup import (
    MAX_INSTRUCTION,
    REPORT_TEMPLATE,
    FollowupError,
    OverdueRow,
    Referral,
    days_late,
    due_date,
    note_status,
    parse_day,
    report_context,
)
from .followup import chain as followup_chain
from .followup import index_text as referral_index_text
from .ingest import read_scan
from .ingest.imap import ImapSource, is_imap_url
from .ingest.imap import fetch as imap_fetch
from .ingest.imap import password_for as imap_password
from .ingest.mail import MAIL_TYPE, MailInput, message_bytes, parse_mail, read_inputs, safe_name
from .ingest.ocr import ocr_lang
from .ingest.scans import ScanInfo, day_argument, is_sidecar, read_sidecar
from .limits import Limits
from .records import Classification, FileRef, Record, new_id
from .search import IndexBusy, IndexCorrupt, Query, SearchIndex, open_index
from .stamping import Stamp, parse_code, stamp_pdf, verification_code
from .storage import BlobStorage, open_storage
from .templates import (
    DEFAULT_DATE_FORMAT,
    TemplateFields,
    builtin_templates,
    docx_text,
    docx_to_pdf,
    render_docx,
    template_fields,
)
from .templates.filters import hijri
from .templates.render import _check_fields
from .transfer import storage_unreachable

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
MAIL_CATCH_UP_S = 5.0  # a mail batch brings the index up to date this often, and at the end
MAX_THREAD = 10_000  # mails listed in one thread at most
INCOMING = "incoming"  # the series of the incoming register (سجل الوارد): scans and mail
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class SearchHit:
    """One record found: its score and an extract with the matched words marked
    ``<mark>…</mark>``."""

    record: Record
    score: float
    snippet: str

    def to_dict(self) -> dict[str, Any]:
        return {**self.record.to_dict(text=False), "score": self.score, "snippet": self.snippet}


@dataclass
class SearchResults:
    """A page of hits, how many records match in all (``total``) and the facet counts
    by kind, year and office; all within the caller's clearance."""

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
    #: Findings that do not fail verify: blobs no record refers to (``blob-orphan``).
    notices: list[Problem] = field(default_factory=list)

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
            "notices": [p.to_dict() for p in self.notices],
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
                backends = {
                    k: overrides[k] for k in ("storage", "catalog", "index") if overrides.get(k)
                }
                for url in backends.values():
                    if urlsplit(url).password:
                        raise ConfigurationError(
                            f"{_without_password(url)}: a password does not belong in a URL that "
                            "is written to the settings file; give it through the backend's own "
                            "means (PGPASSWORD or ~/.pgpass, boto3's credential chain)"
                        )
                created = not root.exists()
                root.mkdir(parents=True, exist_ok=True)
                try:
                    archive = cls._compose(settings, clock)
                except BaseException:
                    if created:
                        shutil.rmtree(root, ignore_errors=True)
                    raise
                settings.write(backends=backends, creator=overrides.get("creator"))
                return archive._ready()
        return cls._compose(settings, clock)._ready()

    @classmethod
    def _compose(cls, settings: Settings, clock: Clock | None) -> Archive:
        storage = open_storage(settings.storage_url)
        catalog = open_catalog(settings.catalog_url)
        archive = cls(settings, storage, catalog, open_index(settings.index_url), clock=clock)
        if hasattr(archive.index, "text_limit"):
            archive.index.text_limit = settings.limits.indexed_text_chars
        return archive

    def _ready(self) -> Archive:
        """Bring a freshly opened archive up to date: quarantine folder, numbers left
        reserved by dead processes voided, index caught up."""
        (self.settings.root / "quarantine").mkdir(parents=True, exist_ok=True)
        self.void_interrupted()
        self.catch_up()
        return self

    @classmethod
    def init(
        cls,
        root: str | os.PathLike[str],
        *,
        storage: str | None = None,
        catalog: str | None = None,
        index: str | None = None,
        actor: str | None = None,
    ) -> Archive:
        """Create a new archive in ``root`` (refuses a folder that already holds one).

        ``actor`` (default: ``DOCARCHIVE_USER`` or the OS user) is written into the
        settings with the highest clearance, until the settings say otherwise.
        """
        path = Path(root)
        if (path / SETTINGS_FILE).exists():
            raise ConfigurationError(f"{path} already holds an archive ({SETTINGS_FILE})")
        return cls.open(path, storage=storage, catalog=catalog, index=index, creator=actor)

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
        next call, brings the index up to date. A damaged index (missing or altered
        files, an unreadable state) is rebuilt from the catalog: the index is derived,
        so opening an archive never fails on it.
        """
        applied = 0
        try:
            applied = self.index.applied()
            if applied > self.catalog.last_change():
                raise IndexCorrupt(
                    f"the index has applied change {applied}, the catalog's last is "
                    f"{self.catalog.last_change()} (a catalog restored from a backup?)"
                )
            while applied < self.catalog.last_change():
                changes = self.catalog.changes_since(applied, limit=500)
                if not changes:
                    break
                ids = sorted({rid for _, rid in changes if rid})
                found = self.catalog.get_many(ids)
                through = changes[-1][0]
                self.index.apply(
                    self.indexable(list(found.values())),
                    [i for i in ids if i not in found],
                    through,
                )
                applied = max(through, self.index.applied())
            return applied
        except IndexBusy:
            log.info("index busy; it will catch up later")
            return applied
        except IndexCorrupt as exc:
            log.warning("search index damaged (%s); rebuilding it from the catalog", exc)
            self.reindex()
            return self.index.applied()

    # -- templates and issuing --------------------------------------------------------------

    def templates(self) -> dict[str, Path]:
        """Kind → template: the built-in ones, overridden by the office's templates folder."""
        found = builtin_templates()
        folder = self.settings.templates_dir
        if folder and folder.is_dir():
            found.update(
                {
                    p.stem: p
                    for p in sorted(folder.glob("*.docx"))
                    if not p.name.startswith(("~$", "."))  # Word's lock files, hidden files
                }
            )
        return found

    def template_fields(self, template: str | os.PathLike[str]) -> TemplateFields:
        """The fields a template (a kind or a .docx path) reads: a
        :class:`~docarchive.templates.TemplateFields` with ``required``, ``optional``
        and ``paths`` (attributes read from required fields, e.g. ``signatory.name``).

        Besides its own fields, every template is given ``ministry``, ``office``,
        ``office_code``, ``number`` and ``date`` by :meth:`render` and :meth:`issue`.
        """
        return template_fields(self._template_path(template), self.settings.limits)

    def _template_path(self, template: str | os.PathLike[str]) -> Path:
        path = Path(template)
        if path.suffix.lower() != ".docx":
            return self._template(str(template))
        if not path.is_file():
            raise TemplateError(f"{path}: no such template file")
        return path

    def _template(self, kind: str) -> Path:
        templates = self.templates()
        if kind not in templates:
            raise TemplateError(
                f"unknown kind {kind!r} (known: {', '.join(sorted(templates)) or 'none'})"
            )
        return templates[kind]

    def render(
        self,
        template: str | os.PathLike[str],
        data: Mapping[str, Any],
        *,
        format: str = "docx",
        image_dir: str | os.PathLike[str] | None = None,
    ) -> bytes:
        """Render a template (a kind or a .docx path) with ``data``, without numbering it.

        ``format`` is ``"docx"`` or ``"pdf"`` (through LibreOffice). The data may carry
        ``number`` and ``date`` (a draft's); otherwise the number is empty and the date is
        today. Relative image paths in the data (``logo``, ``{"image": ...}``) are read from
        ``image_dir`` (default: the current folder).
        """
        if format not in ("docx", "pdf"):
            raise TemplateError(f"unknown output format {format!r} (known: docx, pdf)")
        if not isinstance(data, Mapping):
            raise TemplateError("the data must be an object of fields")
        path = self._template_path(template)
        docx = render_docx(
            path,
            self._context(data, number=None, when=self.now()),
            self.settings.limits,
            date_format=self._date_format(),
            image_dir=Path(image_dir) if image_dir is not None else None,
        )
        if format == "docx":
            return docx
        name = f"{path.stem}.docx"
        return docx_to_pdf([docx], [name], limits=self.settings.limits)[0]

    def _date_format(self) -> str:
        return self.settings.date_format or DEFAULT_DATE_FORMAT

    def _context(
        self, data: Mapping[str, Any], *, number: str | None, when: datetime
    ) -> dict[str, Any]:
        """What every template is given: the office's fields, the data, the number and date.

        ``number=None`` is a draft (:meth:`render`): the data's own ``number`` and ``date``
        are kept. The office's logo (``logo.png`` or ``logo.jpg`` in its templates folder)
        is the ``logo`` unless the data has one.
        """
        s = self.settings
        context: dict[str, Any] = {
            "ministry": s.ministry,
            "office": s.office_name,
            "office_code": s.office_code,
            **data,
        }
        folder = s.templates_dir
        if "logo" not in context and folder is not None:
            for name in ("logo.png", "logo.jpg", "logo.jpeg"):
                if (folder / name).is_file():
                    context["logo"] = folder / name
                    break
        today = when.strftime(self._date_format())
        if number is None:
            context.setdefault("number", "")
            context.setdefault("date", today)
        else:
            context["number"] = number
            context["date"] = today
        return context

    def issue(
        self,
        kind: str,
        data: Mapping[str, Any],
        *,
        classification: str | Classification | None = None,
        actor: str | None = None,
    ) -> Record:
        """Number, render, convert to the official PDF, stamp, store and index a document.

        The pipeline: the next number of the kind's series is taken and entered in the
        register as reserved (a short catalog transaction: the numbering lock is never
        held while rendering or converting); the DOCX is rendered with that number, turned
        into PDF by LibreOffice and stamped (number, date, Hijri date, QR with the
        verification code); both files are stored; then the record is committed and the
        number becomes issued. If anything fails after the number was taken, the number
        is voided with the reason — it never silently disappears — and the error is
        raised. A process killed mid-way leaves a reservation, voided when the archive is
        next opened after ``[issue] reservation_timeout_seconds``.
        """
        if not isinstance(data, Mapping):
            raise TemplateError(f"the data for a {kind} must be an object of fields")
        template = self._template(kind)
        series = self.settings.series_for(kind)
        level = self._classification(classification)
        who = self._actor(actor)
        when = self.now()
        office_code = self.settings.office_code
        record_id = new_id()
        # user errors (a missing field, a broken template) must not cost a number
        fields = template_fields(template, self.settings.limits)
        _check_fields(fields, self._context(data, number="", when=when), template.name)
        number, registration = self._reserve(kind, record_id, who, when)
        try:
            docx = render_docx(
                template,
                self._context(data, number=number, when=when),
                self.settings.limits,
                date_format=self._date_format(),
            )
            blob = self.storage.put(docx)
            files = [FileRef("original", blob.sha256, blob.size, DOCX, f"{kind}.docx")]
            code = verification_code(self.settings.stamp_key(), record_id, number, blob.sha256)
            if self.settings.issue_pdf:
                pdf = docx_to_pdf([docx], [f"{kind} {number}"], limits=self.settings.limits)[0]
                stamped = stamp_pdf(
                    pdf,
                    self._outgoing_stamp(number, when, code),
                    self.settings.stamp,
                    self.settings.limits,
                )
                rendition = self.storage.put(stamped)
                files.append(
                    FileRef(
                        "rendition",
                        rendition.sha256,
                        rendition.size,
                        "application/pdf",
                        f"{kind}.pdf",
                    )
                )
            record = Record(
                id=record_id,
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
                files=files,
                source="issued",
                meta={
                    **registration,
                    "template": template.name,
                    "verification_code": code,
                },
            )
            with self.catalog.transaction(who) as tx:
                tx.add_record(record)
        except BaseException as exc:
            self._void_after_failure(number, who, exc)
            raise
        self.catch_up()
        return record

    def _outgoing_stamp(self, number: str, when: datetime, code: str) -> Stamp:
        lines = [f"العدد: {number}", f"التاريخ: {when.strftime(self._date_format())}"]
        if self.settings.stamp_hijri:
            lines.append(f"الموافق: {hijri(when.date())}")
        lines.append(f"رمز التحقق: {code.split('-', 1)[1][:8]}")
        return Stamp(f"{self.settings.office_name} — صادر", tuple(lines), qr=f"{number}|{code}")

    def _void_after_failure(
        self, number: str, actor: str, exc: BaseException, what: str = "issue"
    ) -> None:
        reason = f"{what} failed: {type(exc).__name__}: {exc}".splitlines()[0][:500]
        try:
            with self.catalog.transaction(actor) as tx:
                tx.void_number(number, reason)
        except Exception:  # the reservation stays; the next open voids it
            log.exception("could not void number %s after a failed issue", number)

    def void_interrupted(
        self, *, older_than_s: int | None = None, actor: str | None = None
    ) -> list[NumberEntry]:
        """Void reservations left by processes that died mid-issue; returns what was voided.

        Runs on every open. A reservation younger than ``older_than_s`` (default
        ``[issue] reservation_timeout_seconds``) may belong to a process still at work
        and is left alone.
        """
        limit = self.settings.reservation_timeout_s if older_than_s is None else older_than_s
        now = datetime.now(UTC)
        voided = []
        for entry in self.catalog.reservations():
            try:
                age = (now - datetime.fromisoformat(entry.at)).total_seconds()
            except ValueError:
                age = float("inf")
            if age < limit:
                continue
            reason = (
                f"interrupted: the issuing process stopped before the document was "
                f"stored (reserved {entry.at[:19]} by {entry.actor})"
            )
            try:
                with self.catalog.transaction(actor or "docarchive") as tx:
                    voided.append(tx.void_number(entry.number, reason))
            except NumberingError:  # finished or voided meanwhile by its own process
                continue
        return voided

    # -- ingest -----------------------------------------------------------------------------

    def ingest_scan(
        self,
        path: str | os.PathLike[str],
        *,
        subject: str | None = None,
        sender: str | None = None,
        department: str | None = None,
        received: date | str | None = None,
        classification: str | Classification | None = None,
        stamp: bool = True,
        actor: str | None = None,
    ) -> Record:
        """Archive one scan and register it in the incoming register (سجل الوارد).

        Returns its record, whose ``number`` is the registration number taken from the
        ``incoming`` series (the existing record if the same bytes were archived before).
        Metadata comes from the arguments, else from a sidecar JSON beside the file
        (``scan.pdf.json`` or ``scan.json``). Image scans get a PDF rendition; the
        rendition (for a PDF, a copy of it) carries the incoming stamp (ختم الوارد) on its
        first page unless ``stamp`` is False; the original is kept byte for byte. Text
        comes from the PDF's text layer or from OCR; when there is none (OCR unavailable,
        an encrypted PDF) the scan is still archived with ``meta.text_searchable`` False
        and ``meta.text_error`` saying why. A file that cannot be archived (corrupt, not
        what it claims to be, over a limit) is copied to quarantine, takes no number, and
        raises IngestError naming it and the reason."""
        given = ScanInfo(
            sender=sender,
            subject=subject,
            department=department,
            received=None if received is None else day_argument(received),
            classification=None if classification is None else str(classification),
        )
        record, _ = self._ingest_scan(Path(path), given, classification, actor, stamp)
        return record

    def ingest_scans(
        self,
        paths: Iterable[str | os.PathLike[str]],
        *,
        subject: str | None = None,
        sender: str | None = None,
        department: str | None = None,
        received: date | str | None = None,
        classification: str | Classification | None = None,
        stamp: bool = True,
        actor: str | None = None,
        progress: Callable[[Path], None] | None = None,
    ) -> BatchResult:
        """Archive many scans (folders are walked; sidecar JSON files are read with their
        scan, not archived); one bad file never stops the batch. The arguments apply to
        every scan and win over its sidecar. Each archived scan takes the next incoming
        registration number; refused files and duplicates take none."""
        given = ScanInfo(
            sender=sender,
            subject=subject,
            department=department,
            received=None if received is None else day_argument(received),
            classification=None if classification is None else str(classification),
        )
        result = BatchResult()
        for path in _walk(paths):
            if is_sidecar(path):
                continue
            try:
                record, created = self._ingest_scan(path, given, classification, actor, stamp)
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
        given: ScanInfo,
        classification: str | Classification | None,
        actor: str | None,
        stamp: bool = True,
    ) -> tuple[Record, bool]:
        chosen = None if classification is None else self._classification(classification)
        try:
            info = given.over(read_sidecar(path))
            level = chosen if chosen is not None else self._classification(info.classification)
            scan = read_scan(path, self.settings.limits)
        except ConfigurationError as exc:  # a bad classification in a sidecar
            self._quarantine(path, f"sidecar: {exc}")
            raise IngestError(str(path), f"sidecar: {exc}") from exc
        except IngestError as exc:
            self._quarantine(path, exc.reason)
            raise
        who = self._actor(actor)
        blob = self.storage.put(scan.data)
        existing = self.catalog.find_by_blob(blob.sha256)
        if existing is not None:
            return existing, False
        # the file was read: only now is a registration number taken (refusals take none)
        when = self.now()
        record_id = new_id()
        number, registration = self._reserve(INCOMING, record_id, who, when)
        try:
            received = info.received or when.date()
            meta: dict[str, Any] = {
                **registration,
                "pages": scan.pages,
                "text_layer": scan.has_text_layer,
                "text_searchable": scan.searchable,
            }
            if scan.reason:
                meta["text_error"] = scan.reason
            if scan.ocr:
                meta["ocr"] = ocr_lang()
            if scan.encrypted:
                meta["encrypted"] = True
            if info.department:
                meta["department"] = info.department
            files = [FileRef("original", blob.sha256, blob.size, scan.media_type, path.name)]
            rendition = scan.rendition
            if stamp:
                base = rendition if rendition is not None else scan.data
                try:
                    rendition = stamp_pdf(
                        base,
                        self._incoming_stamp(number, received, info.department),
                        dataclasses.replace(
                            self.settings.stamp, position="top-left", pages="first"
                        ),
                        self.settings.limits,
                    )
                    meta["stamped"] = True
                except DocArchiveError as exc:  # keep what can be kept: unstamped, and why
                    meta["stamp_error"] = str(exc)[:300]
            if rendition is not None:
                put = self.storage.put(rendition)
                files.append(
                    FileRef(
                        "rendition",
                        put.sha256,
                        put.size,
                        "application/pdf",
                        f"{Path(path.name).stem}.pdf",
                    )
                )
            first_line = next((ln.strip() for ln in scan.text.splitlines() if ln.strip()), "")
            record = Record(
                id=record_id,
                kind="scan",
                subject=info.subject or first_line[:200] or path.name,
                text=scan.text,
                number=number,
                series=INCOMING,
                sender=info.sender or "",
                office=self.settings.office_code,
                dates={
                    "received": datetime.combine(
                        received, datetime.min.time(), self.settings.tz
                    ).isoformat(),
                    "registered": when.isoformat(),
                    "created": when.isoformat(),
                },
                classification=level,
                files=files,
                source="scan",
                meta=meta,
            )
            with self.catalog.transaction(who) as tx:
                again = self.catalog.find_by_blob(blob.sha256)  # archived meanwhile elsewhere?
                if again is None:
                    tx.add_record(record)
                else:
                    tx.void_number(
                        number,
                        f"duplicate: the same scan was archived meanwhile as record {again.id}",
                    )
        except BaseException as exc:
            self._void_after_failure(number, who, exc, "registration")
            raise
        self.catch_up()
        return (again, False) if again is not None else (record, True)

    def _reserve(
        self, series_name: str, record_id: str, who: str, when: datetime
    ) -> tuple[str, dict[str, Any]]:
        """Take the next number of a series for ``record_id`` (issued documents: their
        kind's series; scans and mail: the incoming register, سجل الوارد), entered as
        reserved: adding the record makes it issued; a failure must void it."""
        series = self.settings.series_for(series_name)
        office_code = self.settings.office_code
        period = series.period(when.year)
        with self.catalog.transaction(who) as tx:
            seq = tx.next_number(series.name, office_code, period)
            number = series.format_number(seq, year=when.year, office_code=office_code)
            tx.reserve_number(series.name, office_code, period, seq, number, record_id)
        return number, {"seq": seq, "period": period, "office_code": office_code}

    def _incoming_stamp(self, number: str, received: date, department: str | None) -> Stamp:
        """ختم الوارد: the registration number, the date received and the referral."""
        lines = [f"رقم القيد: {number}", f"تاريخ الورود: {received.strftime(self._date_format())}"]
        if department:
            lines.append(f"يحال إلى: {department}")
        return Stamp(f"ختم الوارد — {self.settings.office_name}", tuple(lines))

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

    # -- mail -------------------------------------------------------------------------------

    def ingest_mail(
        self,
        message: str | os.PathLike[str] | bytes | Message,
        *,
        classification: str | Classification | None = None,
        actor: str | None = None,
    ) -> Record:
        """Archive one message — an .eml file, its bytes, or an ``email.message`` object —
        with its attachments as records of their own; returns the mail's record (the
        existing one when the same Message-ID or the same bytes were archived before).
        A message that cannot be archived is copied to quarantine and raises IngestError
        naming it and the reason."""
        item = self._one_message(message)
        record, _ = self._ingest_mail(item, classification, actor)
        self.catch_up()
        return record

    def ingest_mails(
        self,
        sources: Iterable[str | os.PathLike[str]],
        *,
        since: date | str | None = None,
        classification: str | Classification | None = None,
        actor: str | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> BatchResult:
        """Archive many messages: .eml and mbox files, Maildir folders (with their
        subfolders), other folders walked for .eml and mbox files, and IMAP mailboxes
        (``imaps://user@host/INBOX``; password from DOCARCHIVE_IMAP_PASSWORD or ~/.netrc).

        An IMAP mailbox is read from where the last run stopped (its UIDVALIDITY and last
        UID are saved in the catalog with each message); ``since`` (a date) also skips
        older mail there. One bad message never stops the batch: it is quarantined and
        listed with its reason. ``progress`` is called with each message's label.
        """
        limits = self.settings.limits
        plan: list[Path | tuple[ImapSource, str]] = []
        for source in sources:
            if is_imap_url(source):
                imap_source = ImapSource.parse(str(source))
                plan.append((imap_source, imap_password(imap_source)))
            else:
                plan.append(Path(source))
        day = _as_day(since)
        if day is not None and not any(isinstance(p, tuple) for p in plan):
            raise ConfigurationError("since applies to imap:// and imaps:// sources only")
        result = BatchResult()
        caught_up = time.monotonic()
        for item in self._mail_inputs(plan, day, limits):
            try:
                record, created = self._ingest_mail(item, classification, actor)
            except IngestError as exc:
                result.quarantined.append({"file": exc.file, "reason": exc.reason})
            else:
                if created:
                    result.ingested.append(record)
                else:
                    result.duplicates.append({"file": item.label, "id": record.id})
            if progress:
                progress(item.label)
            if time.monotonic() - caught_up > MAIL_CATCH_UP_S:  # the index follows in steps
                self.catch_up()
                caught_up = time.monotonic()
        self.catch_up()
        return result

    def thread(
        self, record_id: str, *, clearance: str | Classification | None = None
    ) -> list[Record]:
        """The mails of the thread that ``record_id`` (a mail, or one of its attachments)
        belongs to, oldest first, within the caller's clearance. Replies are linked by
        In-Reply-To and References, whichever order they were archived in."""
        allowed = self._clearance(clearance)
        record = self.get(record_id, clearance=clearance)
        parent = record.links.get("attachment_of")
        if record.kind == "attachment" and parent:
            record = self.get(parent, clearance=clearance)
        if record.kind != "mail":
            return [record]
        found = {record.id: record}
        pending, seen = _thread_keys(record), set()
        while pending and len(found) < MAX_THREAD:
            key = pending.pop()
            if key in seen:
                continue
            seen.add(key)
            for field_name in ("message_id", "thread"):
                for other in self.catalog.find_by_meta(field_name, key):
                    if other.kind == "mail" and other.id not in found:
                        found[other.id] = other
                        pending.extend(_thread_keys(other))
        visible = [r for r in found.values() if r.classification <= allowed]
        return sorted(visible, key=lambda r: (r.dates.get("sent") or r.dates["received"], r.id))

    def _one_message(self, message: str | os.PathLike[str] | bytes | Message) -> MailInput:
        if isinstance(message, Message):
            return MailInput("message", message_bytes(message))
        if isinstance(message, bytes | bytearray):
            return MailInput("message", bytes(message))
        found = iter(read_inputs([message], self.settings.limits))
        first, second = next(found, None), next(found, None)
        if first is None:
            raise IngestError(str(message), "no mail message found")
        if second is not None:
            raise IngestError(
                str(message), "holds more than one message: use ingest_mails for mbox files"
            )
        return first

    def _mail_inputs(
        self, plan: list[Path | tuple[ImapSource, str]], since: date | None, limits: Limits
    ) -> Iterator[MailInput]:
        for entry in plan:
            if isinstance(entry, tuple):
                source, password = entry
                cursor = self.catalog.cursor(source.cursor_name)
                yield from imap_fetch(source, password, limits, since=since, cursor=cursor)
            else:
                yield from read_inputs([entry], limits)

    def _ingest_mail(
        self,
        item: MailInput,
        classification: str | Classification | None,
        actor: str | None,
    ) -> tuple[Record, bool]:
        who = self._actor(actor)
        try:
            if item.data is None:
                raise IngestError(item.label, item.reason or "could not be read")
            mail = parse_mail(item.data, self.settings.limits, item.label)
        except IngestError as exc:
            self._quarantine_mail(item, exc.reason)
            self._save_cursor(item, who)
            raise
        sha = hashlib.sha256(mail.data).hexdigest()
        existing = self._archived_mail(sha, mail.message_id)
        if existing is not None:
            self._save_cursor(item, who)
            return existing, False
        blob = self.storage.put(mail.data)
        stored = [(a, self.storage.put(a.data)) for a in mail.attachments]
        parent = self._find_message(mail.parent) if mail.parent else None
        now = self.now()
        sent = mail.date.astimezone(self.settings.tz) if mail.date else None
        dates = {"received": (sent or now).isoformat(), "created": now.isoformat()}
        if sent is not None:
            dates["sent"] = sent.isoformat()
        level = self._classification(classification)
        mail_id = new_id()
        attachments: list[Record] = []
        for attachment, info in stored:
            ref = FileRef(
                "original", info.sha256, info.size, attachment.media_type, attachment.name
            )
            meta: dict[str, Any] = {
                "filename": attachment.filename,
                "declared_type": attachment.declared_type,
                "text_searchable": attachment.searchable,
            }
            if attachment.reason:
                meta["text_error"] = attachment.reason
            if attachment.pages is not None:
                meta["pages"] = attachment.pages
            attachments.append(
                Record(
                    id=new_id(),
                    kind="attachment",
                    subject=attachment.name,
                    text=attachment.text,
                    sender=mail.sender,
                    recipients=mail.recipients,
                    office=self.settings.office_code,
                    dates=dict(dates),
                    classification=level,
                    files=[ref],
                    source="mail",
                    links={"attachment_of": mail_id},
                    meta=meta,
                )
            )
        number, registration = self._reserve(INCOMING, mail_id, who, now)
        meta = {
            **registration,
            "message_id": mail.message_id,
            "thread": mail.thread,
            "in_reply_to": mail.in_reply_to,
            "references": mail.references,
            "from_address": mail.sender_address,
            "date_raw": mail.date_raw,
            "date_error": mail.date_error,
            "body_type": mail.body_type,
            "defects": mail.defects,
            "attachments": [r.id for r in attachments],
            "origin": item.origin,
        }
        record = Record(
            id=mail_id,
            kind="mail",
            subject=mail.subject or "(no subject)",
            text=mail.body,
            number=number,
            series=INCOMING,
            sender=mail.sender,
            recipients=mail.recipients,
            office=self.settings.office_code,
            dates=dates,
            classification=level,
            files=[
                FileRef("original", blob.sha256, blob.size, MAIL_TYPE, _mail_name(item)),
                *(
                    FileRef("attachment", info.sha256, info.size, a.media_type, a.name)
                    for a, info in stored
                ),
            ],
            source="mail",
            links={"reply_to": parent.id} if parent is not None else {},
            meta={k: v for k, v in meta.items() if v not in ("", [], {})},  # no empty keys
        )
        try:
            with self.catalog.transaction(who) as tx:
                again = self._archived_mail(sha, mail.message_id)  # archived meanwhile?
                if again is None:
                    tx.add_record(record)
                    for attachment_record in attachments:
                        tx.add_record(attachment_record)
                else:
                    tx.void_number(
                        number,
                        f"duplicate: the same mail was archived meanwhile as record {again.id}",
                    )
                if item.cursor is not None:
                    tx.set_cursor(*item.cursor)
        except BaseException as exc:
            self._void_after_failure(number, who, exc, "registration")
            raise
        return (again, False) if again is not None else (record, True)

    def _archived_mail(self, sha256: str, message_id: str) -> Record | None:
        """The mail already archived with these bytes or this Message-ID."""
        found = self.catalog.find_by_blob(sha256)
        if found is not None and found.kind == "mail":
            return found
        return self._find_message(message_id) if message_id else None

    def _find_message(self, message_id: str) -> Record | None:
        return next(
            (r for r in self.catalog.find_by_meta("message_id", message_id) if r.kind == "mail"),
            None,
        )

    def _save_cursor(self, item: MailInput, who: str) -> None:
        if item.cursor is not None:
            with self.catalog.transaction(who) as tx:
                tx.set_cursor(*item.cursor)

    def _quarantine_mail(self, item: MailInput, reason: str) -> None:
        """Quarantine a refused message: a copy of its file, or its bytes when it came
        from an mbox or a server, and the reason."""
        if item.path is not None:
            self._quarantine(item.path, reason)
            return
        folder = self.settings.root / "quarantine" / f"{self.now():%Y%m%dT%H%M%S}-{new_id()[:8]}"
        try:
            folder.mkdir(parents=True)
            if item.data is not None:
                (folder / "input").write_bytes(item.data)
            (folder / "reason.txt").write_text(f"{item.label}\n{reason}\n", encoding="utf-8")
        except OSError as exc:
            log.warning("could not quarantine %s: %s", item.label, exc)

    # -- reading ----------------------------------------------------------------------------

    def get(
        self,
        id_or_number: str,
        *,
        clearance: str | Classification | None = None,
        user: str | None = None,
    ) -> Record:
        """A record by id or official number.

        NotFoundError when there is none; AccessDeniedError when it is classified above
        the caller's clearance (see :meth:`search` for ``clearance`` and ``user``).
        """
        allowed = self._clearance(clearance, user)
        record = self.catalog.get(id_or_number)
        if record is None:
            entry = self.catalog.find_number(id_or_number)
            record = self.catalog.get(entry.record_id) if entry and entry.record_id else None
        if record is None:
            raise NotFoundError(f"no record {id_or_number!r}")
        if record.classification > allowed:
            raise AccessDeniedError(
                f"record {id_or_number!r} is classified above your clearance ({allowed.label})"
            )
        return record

    def blob(self, sha256: str) -> bytes:
        """The bytes of a stored file."""
        return self.storage.get(sha256)

    def _clearance(
        self, value: str | Classification | None, user: str | None = None
    ) -> Classification:
        """The clearance to apply.

        A library caller (``user`` None) passes the clearance of the person it acts for,
        or gets ``[access] default_clearance``. For a ``user`` (the command line), the
        settings give their own clearance (``[access.users]``); ``value`` may lower it,
        never raise it.
        """
        if user is None:
            return self.settings.default_clearance if value is None else Classification.parse(value)
        own = self.settings.clearance_of(user)
        if value is None:
            return own
        asked = Classification.parse(value)
        if asked > own:
            raise AccessDeniedError(
                f"{user} holds clearance {own.label} and cannot act as {asked.label}"
            )
        return asked

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
        user: str | None = None,
    ) -> SearchResults:
        """Full-text search in Arabic and English, within the caller's clearance.

        ``query`` is in whoosh's query language: words (found in any form: الوزارة,
        والوزاره, وزارات), ``"phrases"`` (the exact wording ranks first), ``AND``/``OR``/
        ``NOT``, ``field:`` prefixes (subject, sender, to, number, attachments, kind,
        office, year, thread, issued, received; ``exact:`` for the exact form only) and
        wildcards. ``kind``, ``office``, ``sender`` (exact) and ``date_from``/``date_to``
        (dates or ISO strings, inclusive) filter; ``sort`` is ``relevance`` or
        ``newest``. ``clearance`` is the caller's (default ``[access]
        default_clearance``); with ``user``, the user's own from the settings, which
        ``clearance`` can only lower (AccessDeniedError otherwise). Nothing above it
        shows in hits, total, facets or snippets.
        """
        if sort not in ("relevance", "newest"):
            raise SearchError(f"sort must be 'relevance' or 'newest', not {sort!r}")
        if page < 1 or page_size < 1:
            raise SearchError("page and page_size must be 1 or more")
        if not query.strip():
            raise SearchError("the query is empty")
        q = Query(
            text=query,
            clearance=self._clearance(clearance, user),
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
        try:
            found = self.index.search(q)
        except IndexCorrupt as exc:
            log.warning("search index damaged (%s); rebuilding it from the catalog", exc)
            self.reindex()
            try:
                found = self.index.search(q)
            except IndexCorrupt as again:
                raise SearchError(f"the search index cannot be read: {again}") from again
        except IndexBusy:
            raise SearchError("the search index is being rebuilt; try again shortly") from None
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

    def verify(self, *, strict: bool = False) -> VerifyReport:
        """Re-hash every blob and walk the audit chain; name exactly what is wrong.

        Problems: ``blob-missing`` (a record's file is not in storage), ``blob-corrupt``
        (its bytes no longer match their SHA-256), ``blob-unreadable``, ``record-unaudited``,
        ``record-altered``, ``audit-gap``, ``audit-chain``, ``audit-altered``. A blob that no
        record refers to (``blob-orphan``) is a notice, not a problem: blobs are written
        before their record, so a failed issue or a crash in between leaves one behind, and
        the storage cannot tell those from others. ``strict`` makes orphans problems. Storage
        that does not answer raises StorageError (it is not N missing blobs).
        """
        report = VerifyReport()
        checked: dict[str, str | None] = {}
        stored = set(self.storage.keys())  # raises StorageError when the storage is unreachable
        digests = self.catalog.record_digests()
        for record in self.catalog.records():
            report.records += 1
            for f in record.files:
                if f.sha256 not in checked:
                    checked[f.sha256] = self._check_blob(f.sha256, stored)
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
        for sha256 in sorted(stored - checked.keys()):
            orphan = Problem(
                "blob-orphan",
                f"blob {sha256} is stored but no record refers to it (left by a failed or "
                "interrupted write, or its record is missing from the catalog)",
                sha256=sha256,
            )
            (report.problems if strict else report.notices).append(orphan)
        return report

    def _check_blob(self, sha256: str, stored: set[str] | None = None) -> str | None:
        if stored is not None and sha256 not in stored:
            return "missing: not found in storage"
        try:
            if not self.storage.verify(sha256):
                return "corrupt: stored bytes no longer match their SHA-256"
        except StorageError as exc:
            down = storage_unreachable(self.storage)
            if down is not None:  # the storage, not this blob: stop with its error
                raise down from exc
            return f"unreadable: {exc}" if stored is not None else "missing: not found in storage"
        except DocArchiveError:
            return "missing: not found in storage"
        return None

    # -- moving records ---------------------------------------------------------------------

    def export(
        self,
        ids: Iterable[str] | None = None,
        query: str | None = None,
        *,
        dest: str | os.PathLike[str],
        clearance: str | Classification | None = None,
        user: str | None = None,
    ) -> Path:
        """Export records (by id or number, or all that ``query`` finds) with their files and
        audit events as a BagIt package in ``dest`` (a new or empty folder).

        ``clearance`` and ``user`` as for :meth:`get`: a record asked for by id above the
        clearance raises AccessDeniedError; a query exports only what the caller may see.
        """
        wanted = list(ids or [])
        if bool(wanted) == (query is not None):
            raise ConfigurationError("export takes record ids or a query, not both or neither")
        if query is not None:
            records, page = [], 1
            while True:
                found = self.search(query, page=page, page_size=100, clearance=clearance, user=user)
                records += [hit.record for hit in found.hits]
                if len(found.hits) < 100:
                    break
                page += 1
            if not records:
                raise NotFoundError(f"no record found for {query!r}")
        else:
            records = [self.get(i, clearance=clearance, user=user) for i in wanted]
        unique = list({r.id: r for r in records}.values())
        s = self.settings
        info = {
            "Source-Organization": " — ".join(x for x in (s.ministry, s.office_name) if x),
            "Docarchive-Office": s.office_code,
        }
        return transfer.export_bag(unique, self.storage, self.catalog, dest, info=info)

    def import_bag(
        self, path: str | os.PathLike[str], *, actor: str | None = None
    ) -> transfer.ImportReport:
        """Import the records of a BagIt package made by :meth:`export`: every hash is checked
        first (IntegrityError naming the file otherwise); each record gets an ``import``
        audit event naming the source; records already here are skipped."""
        report = transfer.import_bag(path, self.storage, self.catalog, actor=self._actor(actor))
        self.catch_up()
        return report

    def migrate(
        self,
        to_storage: str,
        to_catalog: str,
        *,
        progress: transfer.Progress | None = None,
        actor: str | None = None,
    ) -> transfer.MigrateReport:
        """Copy this archive (blobs, records, registers, sequences, audit chain) to the
        backends at ``to_storage`` and ``to_catalog``; resumable, and this archive is only
        read. Point the settings at the new backends afterwards (``docarchive init``, or
        ``DOCARCHIVE_STORAGE``/``DOCARCHIVE_CATALOG``)."""
        storage = open_storage(to_storage)
        try:
            catalog = open_catalog(to_catalog)
            try:
                return transfer.migrate(
                    self.storage,
                    self.catalog,
                    storage,
                    catalog,
                    actor=self._actor(actor),
                    progress=progress,
                )
            finally:
                catalog.close()
        finally:
            storage.close()

    def reindex(self) -> int:
        """Rebuild the search index from the catalog and blobs alone; returns records indexed.

        The new index replaces the old one at once (searches meanwhile see the old one);
        changes made while it was built are applied after.
        """
        through = self.catalog.last_change()
        count = self.index.rebuild(self._indexable_records(), through)
        self.catch_up()
        return count

    # -- referral and follow-up -------------------------------------------------------------

    def refer(
        self,
        id_or_referral: str,
        departments: str | Iterable[str],
        instruction: str,
        *,
        due: date | str | None = None,
        priority: str | None = None,
        kind: str = "referral",
        clearance: str | Classification | None = None,
        user: str | None = None,
        actor: str | None = None,
    ) -> list[Referral]:
        """Refer a record (id or number) to one or more departments with an instruction, or
        refer a department's referral onward (give its id): one :class:`~docarchive.followup.
        Referral` per department, made together (one ``note_id``) in one transaction, each
        an audit event on the record.

        ``due`` (a date, not in the past) or ``priority`` (``[followup.priorities]``: urgent
        3 days, normal 14, in working days unless ``working_days = false``) sets the
        deadline. ``kind="followup"`` makes follow-up items of an issued directive.
        FollowupError for an unknown department or priority, a due date in the past, an
        empty instruction, or a department whose clearance is below the record's
        classification; nothing is written then.
        """
        rules = self.settings.followup
        if kind not in FOLLOWUP_KINDS:
            raise FollowupError(f"kind must be one of {', '.join(FOLLOWUP_KINDS)}, not {kind!r}")
        parent = self.catalog.get_referral(id_or_referral)
        if parent is not None:
            if parent.status != "open":
                raise FollowupError(
                    f"referral {parent.id} is {parent.status}: only an open one can be referred on"
                )
            record = self.get(parent.record_id, clearance=clearance, user=user)
        else:
            record = self.get(id_or_referral, clearance=clearance, user=user)
        names = [departments] if isinstance(departments, str) else list(departments)
        names = list(dict.fromkeys(n.strip() for n in names if n.strip()))
        if not names:
            raise FollowupError("name at least one department to refer to")
        text = instruction.strip()
        if not text:
            raise FollowupError("the instruction is empty")
        if len(text) > MAX_INSTRUCTION:
            raise FollowupError(f"the instruction is longer than {MAX_INSTRUCTION} characters")
        for name in names:
            dept = rules.department(name)
            if dept.clearance < record.classification:
                raise FollowupError(
                    f"department {name!r} holds clearance {dept.clearance.label}; record "
                    f"{record.id} is {record.classification.label}"
                )
        now = self.now()
        day, label = due_date(now.date(), rules, due=due, priority=priority)
        who = self._actor(actor)
        note = new_id()
        made = [
            Referral(
                id=f"{note}-{position}",
                note_id=note,
                record_id=record.id,
                department=name,
                instruction=text,
                referred_by=who,
                referred_at=now.isoformat(),
                due=day.isoformat(),
                priority=label,
                kind=kind,
                parent_id=parent.id if parent is not None else None,
                classification=record.classification,
            )
            for position, name in enumerate(names, start=1)
        ]
        with self.catalog.transaction(who) as tx:
            for referral in made:
                tx.add_referral(referral)
        self.catch_up()
        return made

    def answer(
        self,
        referral_id: str,
        reply: str,
        *,
        clearance: str | Classification | None = None,
        user: str | None = None,
        actor: str | None = None,
    ) -> Referral:
        """Answer a referral with a record (an issued letter, an ingested mail or scan; id or
        number): the referral becomes ``answered``; the note's other departments stay open.
        A second answer (another process, a later reply) is kept beside the first."""
        referral = self.referral(referral_id, clearance=clearance, user=user)
        try:
            answer = self.get(reply, clearance=clearance, user=user)
        except NotFoundError:
            raise NotFoundError(
                f"cannot answer referral {referral.id}: {reply!r} is not a record in the archive"
            ) from None
        if answer.id == referral.record_id:
            raise FollowupError(f"record {answer.id} is the referred record, not an answer to it")
        with self.catalog.transaction(self._actor(actor)) as tx:
            done = tx.answer_referral(referral.id, answer.id, self.now().isoformat())
        self.catch_up()
        return done

    def close_referral(
        self,
        referral_id: str,
        reason: str,
        *,
        cancel: bool = False,
        clearance: str | Classification | None = None,
        user: str | None = None,
        actor: str | None = None,
    ) -> Referral:
        """Close an open referral by hand (or cancel it); a reason is required."""
        if not reason.strip():
            raise FollowupError("a reason is required to close a referral")
        referral = self.referral(referral_id, clearance=clearance, user=user)
        status = "cancelled" if cancel else "closed"
        with self.catalog.transaction(self._actor(actor)) as tx:
            done = tx.close_referral(
                referral.id, reason.strip(), self.now().isoformat(), status=status
            )
        self.catch_up()
        return done

    def referral(
        self,
        referral_id: str,
        *,
        clearance: str | Classification | None = None,
        user: str | None = None,
    ) -> Referral:
        """One referral; NotFoundError, or AccessDeniedError above the caller's clearance."""
        referral = self.catalog.get_referral(referral_id.strip())
        if referral is None:
            raise NotFoundError(f"no referral {referral_id!r}")
        allowed = self._clearance(clearance, user)
        if referral.classification > allowed:
            raise AccessDeniedError(
                f"referral {referral_id!r} is classified above your clearance ({allowed.label})"
            )
        return referral

    def referrals(
        self,
        record_id: str,
        *,
        clearance: str | Classification | None = None,
        user: str | None = None,
    ) -> list[dict[str, Any]]:
        """Every referral of a record, each with its whole chain, and each note's status
        (``partly answered`` when some departments answered and others not)."""
        record = self.get(record_id, clearance=clearance, user=user)
        found = self.catalog.referrals(record_ids=[record.id])
        by_id = {r.id: r for r in found}
        notes: dict[str, list[Referral]] = {}
        for r in found:
            notes.setdefault(r.note_id, []).append(r)
        return [
            {
                **r.to_dict(),
                "chain": list(followup_chain(r, by_id)),
                "note_status": note_status(notes[r.note_id])["status"],
            }
            for r in found
        ]

    def followup(
        self,
        *,
        department: str | None = None,
        overdue: bool = False,
        as_of: date | str | None = None,
        clearance: str | Classification | None = None,
        user: str | None = None,
    ) -> list[dict[str, Any]]:
        """Open business: every open referral and follow-up item (of one department), with
        its record's subject and number, the chain, and days late on ``as_of`` (default
        today); ``overdue`` keeps only what is past due. Nothing above the caller's
        clearance, nor above the department's."""
        allowed = self._clearance(clearance, user)
        if department is not None:
            allowed = min(allowed, self.settings.followup.department(department).clearance)
        day = parse_day(as_of) if as_of is not None else self.now().date()
        found = self.catalog.referrals(
            department=department, status="open", max_classification=int(allowed)
        )
        if overdue:
            found = [r for r in found if r.due < day.isoformat()]
        records = self.catalog.get_many(sorted({r.record_id for r in found}))
        by_id = self._with_ancestors(found, allowed)
        items = []
        for r in sorted(found, key=lambda r: (r.department, r.due, r.id)):
            rec = records.get(r.record_id)
            items.append(
                {
                    **r.to_dict(),
                    "subject": rec.subject if rec else "",
                    "number": rec.number if rec else None,
                    "chain": list(followup_chain(r, by_id)),
                    "days_late": days_late(r.due, day),
                    "overdue": r.due < day.isoformat(),
                }
            )
        return items

    def overdue(
        self,
        *,
        as_of: date | str | None = None,
        department: str | None = None,
        clearance: str | Classification | None = None,
        user: str | None = None,
    ) -> list[OverdueRow]:
        """The delayed business of every department (or one): open referrals past due on
        ``as_of`` (default today, office time zone), by department then due date, each
        with days late and its chain. Within the caller's clearance and each
        department's."""
        allowed = self._clearance(clearance, user)
        rules = self.settings.followup
        if department is not None:
            allowed = min(allowed, rules.department(department).clearance)
        day = parse_day(as_of) if as_of is not None else self.now().date()
        found = self.catalog.overdue_referrals(
            day.isoformat(), max_classification=int(allowed), department=department
        )
        by_id = self._with_ancestors([r for r, _, _ in found], allowed)
        rows = []
        for r, subject, number in found:
            dept = rules.departments.get(r.department)
            if dept is not None and r.classification > dept.clearance:
                continue
            rows.append(
                OverdueRow(
                    referral_id=r.id,
                    record_id=r.record_id,
                    department=r.department,
                    subject=subject,
                    number=number,
                    instruction=r.instruction,
                    referred_at=r.referred_at,
                    due=r.due,
                    days_late=days_late(r.due, day),
                    chain=followup_chain(r, by_id),
                    classification=r.classification,
                )
            )
        return rows

    def _with_ancestors(
        self, referrals: list[Referral], allowed: Classification
    ) -> dict[str, Referral]:
        """``referrals`` by id, with every parent up their chains (within ``allowed``)."""
        by_id = {r.id: r for r in referrals}
        wanted = {r.parent_id for r in referrals if r.parent_id} - set(by_id)
        while wanted:
            found = self.catalog.referrals(ids=sorted(wanted), max_classification=int(allowed))
            by_id.update((r.id, r) for r in found)
            wanted = {r.parent_id for r in found if r.parent_id} - set(by_id)
        return by_id

    def incoming(
        self,
        *,
        date_from: date | str | None = None,
        date_to: date | str | None = None,
        clearance: str | Classification | None = None,
        user: str | None = None,
    ) -> list[dict[str, Any]]:
        """The register of incoming mail (scans and mails received from ``date_from`` to
        ``date_to``, inclusive, office time zone) with its referrals and their status."""
        allowed = self._clearance(clearance, user)
        first = parse_day(date_from) if date_from is not None else None
        last = parse_day(date_to) if date_to is not None else None
        chosen = []
        for record in self.catalog.records():
            received = record.dates.get("received", "")
            if record.source not in ("scan", "mail") or record.kind == "attachment":
                continue
            if not received or record.classification > allowed:
                continue
            day = received[:10]
            if (first and day < first.isoformat()) or (last and day > last.isoformat()):
                continue
            chosen.append(record)
        found = self.catalog.referrals(
            record_ids=[r.id for r in chosen], max_classification=int(allowed)
        )
        by_record: dict[str, list[Referral]] = {}
        for r in found:
            by_record.setdefault(r.record_id, []).append(r)
        by_id = {r.id: r for r in found}
        out = []
        for record in sorted(chosen, key=lambda r: (r.dates["received"], r.id)):
            shares = by_record.get(record.id, [])
            out.append(
                {
                    "id": record.id,
                    "kind": record.kind,
                    "number": record.number,
                    "subject": record.subject,
                    "sender": record.sender,
                    "received": record.dates["received"],
                    "classification": record.classification.label,
                    "status": note_status(shares)["status"],
                    "referrals": [
                        {**r.to_dict(), "chain": list(followup_chain(r, by_id))} for r in shares
                    ],
                }
            )
        return out

    def report(
        self,
        which: str,
        *,
        format: str = "docx",
        as_of: date | str | None = None,
        department: str | None = None,
        date_from: date | str | None = None,
        date_to: date | str | None = None,
        clearance: str | Classification | None = None,
        user: str | None = None,
    ) -> bytes:
        """A follow-up report as a document (``docx``, or ``pdf`` through LibreOffice),
        rendered from the ``report_overdue`` template (the office may override it):

        * ``overdue`` — the delayed business of every department (or one), on ``as_of``;
        * ``department`` — one department's open items;
        * ``incoming`` — the register of incoming mail with referrals and status.
        """
        if format not in ("docx", "pdf"):
            raise TemplateError(f"unknown output format {format!r} (known: docx, pdf)")
        day = parse_day(as_of) if as_of is not None else self.now().date()
        fmt = self._date_format()

        def shown(iso: str) -> str:
            return parse_day(iso).strftime(fmt)

        if which == "overdue":
            rows = self.overdue(as_of=day, department=department, clearance=clearance, user=user)
            context = report_context(
                "overdue", rows, day.strftime(fmt), shown, department=department
            )
        elif which == "department":
            if department is None:
                raise FollowupError("the department report needs a department")
            items = self.followup(department=department, as_of=day, clearance=clearance, user=user)
            context = report_context(
                "department", items, day.strftime(fmt), shown, department=department
            )
        elif which == "incoming":
            entries = self.incoming(
                date_from=date_from, date_to=date_to, clearance=clearance, user=user
            )
            span = " — ".join(shown(str(d)) for d in (date_from, date_to) if d is not None)
            context = report_context("incoming", entries, span or day.strftime(fmt), shown)
        else:
            raise FollowupError(f"unknown report {which!r} (known: overdue, department, incoming)")
        template = self._template(REPORT_TEMPLATE)
        docx = render_docx(
            template,
            self._context(context, number=None, when=self.now()),
            self.settings.limits,
            date_format=fmt,
        )
        if format == "docx":
            return docx
        return docx_to_pdf([docx], [f"{which}.docx"], limits=self.settings.limits)[0]

    def _indexable_records(self, batch_size: int = 500) -> Iterator[Record]:
        """Every record as the index should see it, read in batches."""
        batch: list[Record] = []
        for record in self.catalog.records():
            batch.append(record)
            if len(batch) == batch_size:
                yield from self.indexable(batch)
                batch = []
        yield from self.indexable(batch)

    def indexable(self, records: list[Record]) -> list[Record]:
        """``records`` as the search index should see them: each record's text followed by
        its referrals' departments and instructions (so a search for a department or for
        words of an instruction finds the record). The search layer calls this before
        indexing; referral events name their record, so catch-up re-indexes it."""
        if not records:
            return records
        found = self.catalog.referrals(record_ids=[r.id for r in records])
        by_record: dict[str, list[Referral]] = {}
        for r in found:
            by_record.setdefault(r.record_id, []).append(r)
        return [
            replace(r, text=f"{r.text}\n{referral_index_text(by_record[r.id])}")
            if r.id in by_record
            else r
            for r in records
        ]


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


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


def _as_day(value: date | str | None) -> date | None:
    if value is None or isinstance(value, date):
        return value.date() if isinstance(value, datetime) else value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigurationError(f"not a date: {value!r} (use YYYY-MM-DD)") from None


def _thread_keys(record: Record) -> list[str]:
    meta = record.meta
    keys = [meta.get("message_id"), meta.get("thread"), meta.get("in_reply_to")]
    keys += meta.get("references") or []
    return [k for k in keys if isinstance(k, str) and k]


def _mail_name(item: MailInput) -> str:
    """A display name for an archived message's file (never used as a path)."""
    origin = item.origin
    if item.path is not None:
        name = item.path.name
    elif "mbox" in origin:
        name = f"{Path(str(origin['mbox'])).name}-{origin.get('index')}"
    elif "imap" in origin:
        name = f"{str(origin['imap']).rsplit('/', 1)[-1]}-{origin.get('uid')}"
    else:
        name = "message"
    name = safe_name(name) or "message"
    return name if name.lower().endswith(".eml") else f"{name}.eml"


def _walk(paths: Iterable[str | os.PathLike[str]]) -> Iterable[Path]:
    for item in paths:
        path = Path(item)
        if path.is_dir():
            for sub in sorted(path.rglob("*")):
                if sub.is_file() and not sub.name.startswith("."):
                    yield sub
        else:
            yield path
