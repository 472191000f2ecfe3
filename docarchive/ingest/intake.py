"""Intake of paper scans: a scan read (text layer or OCR), registered in the incoming
register (سجل الوارد) with the next incoming number, stamped (ختم الوارد), stored and
indexed; and what every intake shares: batch results and quarantine.

A file that cannot be archived is copied to quarantine with the reason, takes no number,
and is listed in the batch's ``quarantined``; the rest of the batch goes on. A symbolic
link in a folder given is not followed (:mod:`docarchive.ingest.files`): it is listed in
``quarantined`` with the reason "a symbolic link, not followed", and nothing of it is
read or kept. Quarantine is part of the archive and as private as the rest of it.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError, DocArchiveError, IngestError, UnsafeInputError
from ..numbers import INCOMING
from ..records import Classification, FileRef, Record, new_id
from ..stamping import Stamp
from ..templates import DEFAULT_DATE_FORMAT
from .failures import one_line, reason_for
from .files import InputFile, given_file
from .files import walk as walk_files
from .ocr import ocr_lang
from .scans import ScanInfo, day_argument, is_sidecar, read_sidecar
from .worker import parsers

if TYPE_CHECKING:
    from ..core import Core
    from ..numbers import Numbers

__all__ = ["BatchResult", "ScanIntake", "quarantine", "walk"]

log = logging.getLogger(__name__)


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

    def take(self, label: str, work: Callable[[], tuple[Record, bool]]) -> None:
        """Run one input's intake (``work`` returns its record and whether it is new) and
        count the outcome; a refused input is listed with its reason, not raised."""
        try:
            record, created = work()
        except IngestError as exc:
            self.quarantined.append({"file": exc.file, "reason": one_line(exc.reason)})
        else:
            if created:
                self.ingested.append(record)
            else:
                self.duplicates.append({"file": label, "id": record.id})


def quarantine(core: Core, label: str, reason: str, *, data: bytes | None = None) -> None:
    """Keep a copy of a refused input (the bytes that were read, when there are any) and
    why, under a folder name we choose: names from outside never become paths, and
    nothing is read again from outside to be kept. The folder and its files follow the
    archive's permission policy (owner only by default)."""
    policy = core.permissions
    folder = core.settings.root / "quarantine" / f"{core.now():%Y%m%dT%H%M%S}-{new_id()[:8]}"
    try:
        policy.folder(folder.parent)
        folder.mkdir(mode=0o700)
        policy.apply(folder, "folder")
        if data is not None and len(data) <= core.settings.limits.input_bytes:
            policy.write_file(folder / "input", data, exclusive=True)
        text = f"{label}\n{one_line(reason)}\n"
        policy.write_file(folder / "reason.txt", text.encode(), exclusive=True)
    except OSError as exc:
        log.warning("could not quarantine %s: %s", label, exc)


def walk(
    paths: Iterable[str | os.PathLike[str]], *, follow_links: bool = False
) -> Iterable[InputFile]:
    """The files given and, for each folder given, the files below it (hidden ones left
    out); symbolic links below a folder given come refused (see
    :mod:`docarchive.ingest.files`) unless ``follow_links``."""
    return walk_files(paths, follow_links=follow_links)


class ScanIntake:
    """Paper scans into the incoming register."""

    def __init__(self, core: Core, numbers: Numbers) -> None:
        self.core = core
        self.numbers = numbers

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
        follow_links: bool = False,
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
        raises IngestError naming it and the reason.

        ``path`` may be a symbolic link (it is resolved once); a sidecar beside it that is
        a link is not followed (the scan is refused) unless ``follow_links``."""
        given = _given(subject, sender, department, received, classification)
        try:
            source = given_file(path, follow_links=follow_links)
        except IngestError as exc:
            quarantine(self.core, str(path), exc.reason)
            raise
        record, _ = self._one(source, given, classification, actor, stamp)
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
        follow_links: bool = False,
    ) -> BatchResult:
        """Archive many scans (folders are walked; sidecar JSON files are read with their
        scan, not archived); one bad file never stops the batch. The arguments apply to
        every scan and win over its sidecar. Each archived scan takes the next incoming
        registration number; refused files and duplicates take none.

        A path given may be a symbolic link (resolved once). A link inside a folder given
        is not followed: it is listed in ``quarantined`` with the reason "a symbolic link,
        not followed", and nothing is read through it or kept. ``follow_links=True`` follows
        them as before this rule; then anyone who can write in the folder can have any
        file this account can read archived and indexed."""
        given = _given(subject, sender, department, received, classification)
        result = BatchResult()
        for source in walk(paths, follow_links=follow_links):
            if not source.refused and is_sidecar(source):
                continue
            result.take(
                str(source.label), partial(self._one, source, given, classification, actor, stamp)
            )
            if progress:
                progress(source.label)
        return result

    def _one(
        self,
        source: InputFile,
        given: ScanInfo,
        classification: str | Classification | None,
        actor: str | None,
        stamp: bool = True,
    ) -> tuple[Record, bool]:
        core = self.core
        settings = core.settings
        path = source.label
        chosen = None if classification is None else core.classification(classification)
        data: bytes | None = None
        try:
            data = source.read(settings.limits.input_bytes, "input_bytes")
            info = given.over(read_sidecar(source))
            level = chosen if chosen is not None else core.classification(info.classification)
            scan = parsers(settings.limits).scan(path, data, settings.limits)
        except UnsafeInputError:
            raise  # a link, or not the file listed: nothing read, nothing kept
        except ConfigurationError as exc:  # a bad classification in a sidecar
            quarantine(core, str(path), f"sidecar: {exc}", data=data)
            raise IngestError(str(path), f"sidecar: {exc}") from exc
        except IngestError as exc:
            quarantine(core, str(path), exc.reason, data=data)
            raise
        except Exception as exc:  # any parser's exception is this file's failure
            reason = reason_for(exc)
            quarantine(core, str(path), reason, data=data)
            raise IngestError(str(path), reason) from exc
        who = core.actor(actor)
        blob = core.storage.put(scan.data)
        existing = core.catalog.find_by_blob(blob.sha256)
        if existing is not None:
            return existing, False
        # the file was read: only now is a registration number taken (refusals take none)
        when = core.now()
        record_id = new_id()
        number, registration = self.numbers.reserve(INCOMING, record_id, who, when)
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
                    rendition = parsers(settings.limits).stamp(
                        base,
                        self._stamp(number, received, info.department),
                        dataclasses.replace(settings.stamp, position="top-left", pages="first"),
                        settings.limits,
                        str(path),
                    )
                    meta["stamped"] = True
                except Exception as exc:  # keep what can be kept: unstamped, and why
                    detail = (
                        exc.reason
                        if isinstance(exc, IngestError)
                        else str(exc)
                        if isinstance(exc, DocArchiveError)
                        else reason_for(exc)
                    )
                    meta["stamp_error"] = one_line(detail)
            if rendition is not None:
                put = core.storage.put(rendition)
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
                office=settings.office_code,
                dates={
                    "received": datetime.combine(
                        received, datetime.min.time(), settings.tz
                    ).isoformat(),
                    "registered": when.isoformat(),
                    "created": when.isoformat(),
                },
                classification=level,
                files=files,
                source="scan",
                meta=meta,
            )
            with core.catalog.transaction(who) as tx:
                again = core.catalog.find_by_blob(blob.sha256)  # archived meanwhile elsewhere?
                if again is None:
                    tx.add_record(record)
                else:
                    tx.void_number(
                        number,
                        f"duplicate: the same scan was archived meanwhile as record {again.id}",
                    )
        except BaseException as exc:
            self.numbers.void_after_failure(number, who, exc, "registration")
            raise
        core.catch_up()
        return (again, False) if again is not None else (record, True)

    def _stamp(self, number: str, received: date, department: str | None) -> Stamp:
        """ختم الوارد: the registration number, the date received and the referral."""
        settings = self.core.settings
        day = received.strftime(settings.date_format or DEFAULT_DATE_FORMAT)
        lines = [f"رقم القيد: {number}", f"تاريخ الورود: {day}"]
        if department:
            lines.append(f"يحال إلى: {department}")
        return Stamp(f"ختم الوارد — {settings.office_name}", tuple(lines))


def _given(
    subject: str | None,
    sender: str | None,
    department: str | None,
    received: date | str | None,
    classification: str | Classification | None,
) -> ScanInfo:
    return ScanInfo(
        sender=sender,
        subject=subject,
        department=department,
        received=None if received is None else day_argument(received),
        classification=None if classification is None else str(classification),
    )
