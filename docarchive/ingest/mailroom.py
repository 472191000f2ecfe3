"""Intake of electronic mail: .eml files, mbox files, Maildir folders and IMAP mailboxes.

Each message is parsed (headers, body, attachments with their text), registered in the
incoming register (سجل الوارد), stored with its attachments as records of their own, and
linked into its thread. An IMAP mailbox is read from its cursor (UIDVALIDITY and last
UID), saved in the catalog with each message. A message that cannot be archived is
quarantined with the reason; the rest of the batch goes on.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from email.message import Message
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError, IngestError, UnsafeInputError
from ..limits import Limits
from ..numbers import INCOMING
from ..records import Classification, FileRef, Record, new_id
from .imap import ImapSource, is_imap_url
from .imap import fetch as imap_fetch
from .imap import password_for as imap_password
from .intake import BatchResult, quarantine
from .mail import MAIL_TYPE, MailInput, message_bytes, parse_mail, read_inputs, safe_name
from .worker import parsers

if TYPE_CHECKING:
    from ..core import Core
    from ..numbers import Numbers

__all__ = ["MailIntake"]

MAIL_CATCH_UP_S = 5.0  # a mail batch brings the index up to date this often, and at the end
MAX_THREAD = 10_000  # mails listed in one thread at most


class MailIntake:
    """Electronic mail into the incoming register, and the threads it forms."""

    def __init__(self, core: Core, numbers: Numbers) -> None:
        self.core = core
        self.numbers = numbers

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
        record, _ = self._one(item, classification, actor)
        self.core.catch_up()
        return record

    def ingest_mails(
        self,
        sources: Iterable[str | os.PathLike[str]],
        *,
        since: date | str | None = None,
        classification: str | Classification | None = None,
        actor: str | None = None,
        progress: Callable[[str], None] | None = None,
        follow_links: bool = False,
    ) -> BatchResult:
        """Archive many messages: .eml and mbox files, Maildir folders (with their
        subfolders), other folders walked for .eml and mbox files, and IMAP mailboxes
        (``imaps://user@host/INBOX``; password from DOCARCHIVE_IMAP_PASSWORD or ~/.netrc).

        An IMAP mailbox is read from where the last run stopped (its UIDVALIDITY and last
        UID are saved in the catalog with each message); ``since`` (a date) also skips
        older mail there. One bad message never stops the batch: it is quarantined and
        listed with its reason. ``progress`` is called with each message's label.

        A path given may be a symbolic link (resolved once). A link inside a folder given
        (a Maildir, a folder of .eml files) is not followed: it is listed in
        ``quarantined`` with the reason "a symbolic link, not followed", and nothing is read
        through it or kept. ``follow_links=True`` follows them as before this rule; then
        anyone who can write in the folder can have any file this account can read
        archived and indexed.
        """
        core = self.core
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
        for item in self._inputs(plan, day, core.settings.limits, follow_links):
            result.take(item.label, partial(self._one, item, classification, actor))
            if progress:
                progress(item.label)
            if time.monotonic() - caught_up > MAIL_CATCH_UP_S:  # the index follows in steps
                core.catch_up()
                caught_up = time.monotonic()
        core.catch_up()
        return result

    def thread(
        self, record_id: str, *, clearance: str | Classification | None = None
    ) -> list[Record]:
        """The mails of the thread that ``record_id`` (a mail, or one of its attachments)
        belongs to, oldest first, within the caller's clearance. Replies are linked by
        In-Reply-To and References, whichever order they were archived in."""
        core = self.core
        allowed = core.clearance(clearance)
        record = core.get(record_id, clearance=clearance)
        parent = record.links.get("attachment_of")
        if record.kind == "attachment" and parent:
            record = core.get(parent, clearance=clearance)
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
                for other in core.catalog.find_by_meta(field_name, key):
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
        found = iter(read_inputs([message], self.core.settings.limits))
        first, second = next(found, None), next(found, None)
        if first is None:
            raise IngestError(str(message), "no mail message found")
        if second is not None:
            raise IngestError(
                str(message), "holds more than one message: use ingest_mails for mbox files"
            )
        return first

    def _inputs(
        self,
        plan: list[Path | tuple[ImapSource, str]],
        since: date | None,
        limits: Limits,
        follow_links: bool = False,
    ) -> Iterator[MailInput]:
        for entry in plan:
            if isinstance(entry, tuple):
                source, password = entry
                cursor = self.core.catalog.cursor(source.cursor_name)
                yield from imap_fetch(source, password, limits, since=since, cursor=cursor)
            else:
                yield from read_inputs([entry], limits, follow_links=follow_links)

    def _one(
        self,
        item: MailInput,
        classification: str | Classification | None,
        actor: str | None,
    ) -> tuple[Record, bool]:
        core = self.core
        who = core.actor(actor)
        try:
            if item.unsafe:  # a link, or not the file listed: nothing read, nothing kept
                raise UnsafeInputError(item.label, item.reason)
            if item.data is None:
                raise IngestError(item.label, item.reason or "could not be read")
            limits = core.settings.limits
            mail = parse_mail(item.data, limits, item.label, extract=parsers(limits).extract)
        except UnsafeInputError:
            raise
        except IngestError as exc:
            self._quarantine(item, exc.reason)
            self._save_cursor(item, who)
            raise
        sha = hashlib.sha256(mail.data).hexdigest()
        existing = self._archived_mail(sha, mail.message_id)
        if existing is not None:
            self._save_cursor(item, who)
            return existing, False
        blob = core.storage.put(mail.data)
        stored = [(a, core.storage.put(a.data)) for a in mail.attachments]
        parent = self._find_message(mail.parent) if mail.parent else None
        now = core.now()
        sent = mail.date.astimezone(core.settings.tz) if mail.date else None
        dates = {"received": (sent or now).isoformat(), "created": now.isoformat()}
        if sent is not None:
            dates["sent"] = sent.isoformat()
        level = core.classification(classification)
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
                    office=core.settings.office_code,
                    dates=dict(dates),
                    classification=level,
                    files=[ref],
                    source="mail",
                    links={"attachment_of": mail_id},
                    meta=meta,
                )
            )
        number, registration = self.numbers.reserve(INCOMING, mail_id, who, now)
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
            office=core.settings.office_code,
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
            with core.catalog.transaction(who) as tx:
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
            self.numbers.void_after_failure(number, who, exc, "registration")
            raise
        return (again, False) if again is not None else (record, True)

    def _archived_mail(self, sha256: str, message_id: str) -> Record | None:
        """The mail already archived with these bytes or this Message-ID."""
        found = self.core.catalog.find_by_blob(sha256)
        if found is not None and found.kind == "mail":
            return found
        return self._find_message(message_id) if message_id else None

    def _find_message(self, message_id: str) -> Record | None:
        return next(
            (
                r
                for r in self.core.catalog.find_by_meta("message_id", message_id)
                if r.kind == "mail"
            ),
            None,
        )

    def _save_cursor(self, item: MailInput, who: str) -> None:
        if item.cursor is not None:
            with self.core.catalog.transaction(who) as tx:
                tx.set_cursor(*item.cursor)

    def _quarantine(self, item: MailInput, reason: str) -> None:
        """Quarantine a refused message: the bytes that were read of it (from its file, an
        mbox or a server; none when it was over a limit or unreadable), and the reason."""
        quarantine(self.core, str(item.path or item.label), reason, data=item.data)


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
