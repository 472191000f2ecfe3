"""Read electronic mail: single messages (.eml), mbox files, Maildir folders.

:func:`read_inputs` turns paths into :class:`MailInput` items, one per message,
without parsing them; :func:`parse_mail` checks one message against the limits
and decodes it into a :class:`Mail`: headers (RFC 2047 and raw UTF-8, Arabic
included), the date (kept raw and flagged when it cannot be parsed), the body
text (the plain part, or the HTML part turned into text), and the attachments
with their extracted text.

Everything in a message is untrusted. Attachment file names are kept as
metadata only (:attr:`Attachment.name` is a display name with no folder part)
and never become paths. A message is refused — :class:`~docarchive.errors.IngestError`
naming it and the reason — when it is not mail at all, over a limit, or
truncated (a multipart without its closing boundary); anything less is kept and
flagged (``defects``, ``date_error``, an attachment's ``reason``).

Folders and files are read without following symbolic links (see
:mod:`docarchive.ingest.files`): a link in a Maildir or a folder given comes as a
message refused with "a symbolic link, not followed", and nothing is read through it.
"""

from __future__ import annotations

import email.header
import email.utils
import mimetypes
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import IngestError, LimitExceededError, UnsafeInputError
from ..limits import Limits, check
from .files import Entry, Folder, InputFile, given_file, is_folder, open_folder
from .precheck import check_mail
from .scans import sniff
from .text import Extracted, decode_text, extract_text, html_to_text

__all__ = [
    "MAIL_TYPE",
    "Attachment",
    "Mail",
    "MailInput",
    "is_maildir",
    "message_bytes",
    "message_ids",
    "parse_mail",
    "read_inputs",
    "safe_name",
]

MAIL_TYPE = "message/rfc822"
# compat32: fast structure; headers are decoded here, once each (policy.default re-parses
# a header on every access, which made parsing several times slower)
_PARSER = BytesParser(policy=policy.compat32)
_FIELD = re.compile(rb"[!-9;-~]+[ \t]*:")
_MSGID = re.compile(r"<([^<>\s]+)>")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069]+")
_MAIL_SUFFIXES = (".eml",)
_MBOX_SUFFIXES = (".mbox", ".mbx")
_NAME_CHARS = 150


@dataclass(frozen=True)
class Attachment:
    """One attached file: its bytes, its names and the text read from it."""

    name: str  # a display name: no folders, no control characters; never a path
    filename: str  # the name exactly as the sender gave it (decoded), "" when none
    declared_type: str
    media_type: str  # from the bytes where they say it
    data: bytes
    text: str
    searchable: bool
    reason: str = ""  # why there is no text, when there is none
    pages: int | None = None


@dataclass
class Mail:
    """One parsed message."""

    data: bytes
    message_id: str
    subject: str
    sender: str
    sender_address: str
    recipients: list[str]
    date: datetime | None
    date_raw: str
    date_error: str
    in_reply_to: str
    references: list[str]
    body: str
    body_type: str  # "plain", "html" or "" (no body)
    attachments: list[Attachment] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)

    @property
    def thread(self) -> str:
        """The thread's key: the first message it refers to, or its own Message-ID."""
        return (self.references[:1] or [self.in_reply_to or self.message_id])[0]

    @property
    def parent(self) -> str:
        """The Message-ID this one replies to, or ""."""
        return self.in_reply_to or (self.references[-1] if self.references else "")


@dataclass(frozen=True)
class MailInput:
    """One message to archive, read but not parsed, and where it came from.

    ``reason`` is set instead of ``data`` when the message could not even be read
    (``unsafe`` when it was refused unread: a link, or not the file listed).
    ``path`` is the file that holds exactly this message; ``origin`` goes into the
    record's metadata; ``cursor`` (name, value) is saved
    in the catalog with the record, so that a rerun knows where to go on.
    """

    label: str
    data: bytes | None = None
    reason: str = ""
    path: Path | None = None
    origin: dict[str, Any] = field(default_factory=dict)
    cursor: tuple[str, str] | None = None
    unsafe: bool = False


# -- reading sources ----------------------------------------------------------------------


def is_maildir(path: Path | Folder) -> bool:
    """A folder with cur/, new/ and tmp/ is a Maildir (for a listed folder: real folders,
    not links, unless links are followed)."""
    if isinstance(path, Folder):
        return all(path.has_folder(sub) for sub in ("cur", "new", "tmp"))
    return all((path / sub).is_dir() for sub in ("cur", "new", "tmp"))


def read_inputs(
    paths: Iterable[str | os.PathLike[str]], limits: Limits, *, follow_links: bool = False
) -> Iterator[MailInput]:
    """One :class:`MailInput` per message in ``paths``: .eml files, mbox files, Maildir
    folders (with their ``.Sub`` folders), and other folders walked for those. A path given
    may be a link (resolved once); links below a folder given are refused unread, unless
    ``follow_links``."""
    for item in paths:
        if is_folder(item):
            try:
                folder = open_folder(item, follow_links=follow_links)
            except OSError as exc:
                yield MailInput(str(item), reason=f"cannot read: {exc.strerror or exc}")
                continue
            with folder:
                yield from _walk_folder(folder, limits)
        else:
            try:
                source = given_file(item, follow_links=follow_links)
            except IngestError as exc:
                yield MailInput(str(item), reason=exc.reason)
                continue
            yield from _read_file(source, limits, explicit=True)


def _refused(source: InputFile) -> MailInput:
    return MailInput(str(source.label), reason=source.refused, unsafe=True)


def _sub(folder: Folder, entry: Entry) -> Folder | MailInput | None:
    """A sub-folder open, or the refusal of one swapped for a link; None for a loop."""
    try:
        return folder.sub(entry)
    except IngestError as exc:
        return MailInput(exc.file, reason=exc.reason, unsafe=isinstance(exc, UnsafeInputError))


def _walk_folder(folder: Folder, limits: Limits) -> Iterator[MailInput]:
    if is_maildir(folder):
        yield from _read_maildir(folder, limits)
        return
    for entry in folder.entries():
        if entry.name.startswith("."):
            continue
        if entry.kind == "folder":
            sub = _sub(folder, entry)
            if isinstance(sub, MailInput):
                yield sub
            elif sub is not None:
                with sub:
                    yield from _walk_folder(sub, limits)
        elif entry.kind == "link":
            yield _refused(folder.file(entry))
        elif entry.kind == "file":
            yield from _read_file(folder.file(entry), limits, explicit=False)


def _read_maildir(root: Folder, limits: Limits) -> Iterator[MailInput]:
    yield from _maildir_messages(root, root, "", limits)
    for entry in root.entries():
        if not entry.name.startswith("."):
            continue
        if entry.kind == "link":
            yield _refused(root.file(entry))
            continue
        if entry.kind != "folder":
            continue
        sub = _sub(root, entry)
        if isinstance(sub, MailInput):
            yield sub
        elif sub is not None:
            with sub:
                if is_maildir(sub):
                    yield from _maildir_messages(root, sub, entry.name[1:], limits)


def _maildir_messages(
    root: Folder, folder: Folder, name: str, limits: Limits
) -> Iterator[MailInput]:
    for part in ("new", "cur"):  # tmp/ holds deliveries still being written
        entry = folder.entry(part)
        if entry is None:
            continue
        sub = _sub(folder, entry)
        if isinstance(sub, MailInput):
            yield sub
            continue
        if sub is None:
            continue
        with sub:
            for item in sub.entries():
                if item.name.startswith("."):
                    continue
                if item.kind == "link":
                    yield _refused(sub.file(item))
                elif item.kind == "file":
                    origin = {"maildir": str(root.label), "folder": name or "INBOX"}
                    yield _read_message_file(sub.file(item), limits, origin)


def _read_file(source: InputFile, limits: Limits, *, explicit: bool) -> Iterator[MailInput]:
    lower = source.name.lower()
    if not explicit and not lower.endswith(_MAIL_SUFFIXES + _MBOX_SUFFIXES) and "." in lower:
        return  # a folder is walked for .eml and mbox files only
    try:
        fh = source.open()
    except IngestError as exc:
        yield MailInput(
            str(source.label), reason=exc.reason, unsafe=isinstance(exc, UnsafeInputError)
        )
        return
    with fh:
        try:
            head = fh.read(5)
        except OSError as exc:
            yield MailInput(str(source.label), reason=f"cannot read: {exc.strerror or exc}")
            return
        if head == b"From ":
            yield from _read_mbox(source, fh, limits)
            return
    if explicit or lower.endswith(_MAIL_SUFFIXES + _MBOX_SUFFIXES):
        yield _read_message_file(source, limits, {"file": str(source.label)})


def _read_message_file(source: InputFile, limits: Limits, origin: dict[str, Any]) -> MailInput:
    label = str(source.label)
    try:
        data = source.read(limits.mail_bytes, "mail_bytes")
    except IngestError as exc:
        unsafe = isinstance(exc, UnsafeInputError)
        return MailInput(label, reason=exc.reason, path=source.label, unsafe=unsafe)
    return MailInput(label, data, path=source.label, origin=origin)


def _read_mbox(source: InputFile, fh: BinaryIO, limits: Limits) -> Iterator[MailInput]:
    """Each message of an mbox file, read one at a time (mbox files can be large), from
    the file already open and checked (``fh``): the stdlib's reader opens it again
    through ``/proc/self/fd``, which is that very file, not whatever has its name now."""
    import mailbox

    path = source.label
    reopen = f"/proc/self/fd/{fh.fileno()}"
    try:
        box = mailbox.mbox(reopen if os.path.exists(reopen) else source.location, create=False)
        keys = list(box.iterkeys())
    except (OSError, mailbox.Error) as exc:
        yield MailInput(str(path), reason=f"cannot read the mbox file: {exc}", path=path)
        return
    try:
        for number, key in enumerate(keys, start=1):
            label = f"{path}#{number}"
            origin = {"mbox": str(path), "index": number}
            with box.get_file(key) as message:
                message.seek(0, os.SEEK_END)
                size = message.tell()
                try:
                    check(limits, "mail_bytes", size)
                except LimitExceededError as exc:
                    yield MailInput(label, reason=str(exc), origin=origin)
                    continue
                message.seek(0)
                data = message.read()
            yield MailInput(label, data, origin=origin)
    finally:
        box.close()


# -- parsing ------------------------------------------------------------------------------


Extract = Callable[[bytes, str, str, Limits, str | None], Extracted]


def parse_mail(
    data: bytes, limits: Limits, label: str = "message", *, extract: Extract = extract_text
) -> Mail:
    """Check and decode one message; IngestError names ``label`` and the reason.

    ``extract`` reads each attachment's text (default :func:`extract_text`, in this
    process; the mail intake passes the parser worker's, see
    :mod:`docarchive.ingest.worker`)."""
    try:
        return _parse(data, limits, label, extract)
    except IngestError:
        raise
    except Exception as exc:  # whatever else hostile input provokes: refuse, never crash
        raise IngestError(label, f"cannot read the message: {type(exc).__name__}: {exc}") from exc


def _parse(data: bytes, limits: Limits, label: str, extract: Extract) -> Mail:
    try:
        check(limits, "mail_bytes", len(data))
    except LimitExceededError as exc:
        raise IngestError(label, str(exc)) from exc
    if not data.strip():
        raise IngestError(label, "empty file (0 bytes)" if not data else "empty message")
    _check_looks_like_mail(data, label)
    try:
        check_mail(data, limits)  # nesting depth, before the recursive stdlib parser
    except LimitExceededError as exc:
        raise IngestError(label, str(exc)) from exc
    try:
        msg = _PARSER.parsebytes(data)
    except RecursionError:
        raise IngestError(label, "MIME parts are nested too deeply to parse") from None
    except Exception as exc:  # the stdlib parser is lenient; anything it raises is corrupt
        raise IngestError(label, f"cannot parse the message: {exc}") from exc
    if not any(h in msg for h in ("from", "to", "subject", "date", "message-id")):
        raise IngestError(label, "not a mail message: no From, To, Subject, Date or Message-ID")
    depth = _depth(msg)
    try:
        check(limits, "mime_depth", depth)
    except LimitExceededError as exc:
        raise IngestError(label, str(exc)) from exc
    defects = _defects(msg)
    if "CloseBoundaryNotFoundDefect" in defects:
        raise IngestError(
            label, "truncated: a multipart part has no closing boundary (the message is cut off)"
        )
    bodies, attached = _split(msg)
    try:
        check(limits, "mail_attachments", len(attached))
    except LimitExceededError as exc:
        raise IngestError(label, str(exc)) from exc
    body, body_type = _body(bodies)
    date_raw = _header(msg, "date")
    date, date_error = _parse_date(date_raw)
    sender, sender_address = _sender(msg)
    references = message_ids(_header(msg, "references"))
    in_reply_to = (message_ids(_header(msg, "in-reply-to")) or [""])[0]
    message_id = (message_ids(_header(msg, "message-id")) or [""])[0]
    return Mail(
        data=data,
        message_id=message_id,
        subject=_header(msg, "subject"),
        sender=sender,
        sender_address=sender_address,
        recipients=_addresses(msg, "to") + _addresses(msg, "cc"),
        date=date,
        date_raw=date_raw,
        date_error=date_error,
        in_reply_to=in_reply_to,
        references=references,
        body=body[: limits.indexed_text_chars],
        body_type=body_type,
        attachments=[_attachment(part, n, limits, extract) for n, part in enumerate(attached, 1)],
        defects=defects,
    )


def _check_looks_like_mail(data: bytes, label: str) -> None:
    end = data.find(b"\n\n")
    crlf = data.find(b"\r\n\r\n")
    if crlf != -1 and (end == -1 or crlf < end):
        end = crlf
    head = data[: end if end != -1 else len(data)]
    first = head.split(b"\n", 1)[0]
    if first.startswith(b"From "):  # an mbox envelope line before the headers
        first = (head.split(b"\n", 2)[1:2] or [b""])[0]
    if not _FIELD.match(first):
        media, what = sniff(data[:1024])
        found = what if media != "application/octet-stream" else f"it starts with {first[:16]!r}"
        raise IngestError(label, f"not a mail message: no header lines ({found})")
    if b"\x00" in head:
        raise IngestError(label, "not a mail message: binary data (NUL bytes) in the headers")


def _depth(msg: Message) -> int:
    """How deeply MIME parts nest (1 for a single-part message), without recursion."""
    deepest = 0
    stack: list[tuple[Message, int]] = [(msg, 1)]
    while stack:
        part, depth = stack.pop()
        deepest = max(deepest, depth)
        payload = part.get_payload()
        if isinstance(payload, list):
            stack.extend((p, depth + 1) for p in payload if isinstance(p, Message))
    return deepest


def _defects(msg: Message) -> list[str]:
    found: set[str] = set()
    stack = [msg]
    while stack:
        part = stack.pop()
        found.update(type(d).__name__ for d in part.defects)
        payload = part.get_payload()
        if isinstance(payload, list):
            stack.extend(p for p in payload if isinstance(p, Message))
    return sorted(found)


def _split(msg: Message) -> tuple[list[Message], list[Message]]:
    """Body candidates (inline text/plain and text/html parts) and attachments, in order.

    A forwarded message (message/rfc822) is one attachment, not walked into.
    """
    bodies: list[Message] = []
    attached: list[Message] = []
    stack = [msg]
    while stack:
        part = stack.pop()
        ctype = part.get_content_type()
        if part.get_content_maintype() == "multipart" and isinstance(part.get_payload(), list):
            stack.extend(reversed([p for p in part.get_payload() if isinstance(p, Message)]))
            continue
        inline_text = ctype in ("text/plain", "text/html")
        if inline_text and part.get_content_disposition() != "attachment" and not _filename(part):
            bodies.append(part)
        else:
            attached.append(part)
    return bodies, attached


def _body(parts: list[Message]) -> tuple[str, str]:
    plain = [p for p in parts if p.get_content_type() == "text/plain"]
    if plain:
        return "\n\n".join(t for t in map(_part_text, plain) if t.strip()).strip(), "plain"
    html = [p for p in parts if p.get_content_type() == "text/html"]
    if html:
        return "\n\n".join(html_to_text(_part_text(p)) for p in html).strip(), "html"
    return "", ""


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    text = decode_text(payload.replace(b"\x00", b""), _charset(part))  # a body is text
    return text or ""


def _charset(part: Message) -> str | None:
    try:
        charset = part.get_content_charset()
    except Exception:
        return None
    return charset if charset and charset != "unknown-8bit" else None


def _attachment(part: Message, number: int, limits: Limits, extract: Extract) -> Attachment:
    declared = part.get_content_type()
    filename = _filename(part)
    name = safe_name(filename) or f"attachment-{number}{_extension(declared)}"
    if declared == "message/delivery-status" and isinstance(part.get_payload(), list):
        return _delivery_status(part, name, filename)
    if part.get_content_maintype() == "message" and isinstance(part.get_payload(), list):
        inner = part.get_payload(0)
        if not isinstance(inner, Message):
            inner = Message()
        data = _message_bytes(inner)
        text = _forwarded_text(inner)
        searchable = bool(text.strip())
        reason = "" if searchable else "the attached message has no text"
        return Attachment(name, filename, declared, MAIL_TYPE, data, text, searchable, reason)
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    found = extract(data, declared, name, limits, _charset(part))
    return Attachment(
        name,
        filename,
        declared,
        found.media_type,
        data,
        found.text,
        found.searchable,
        found.reason,
        found.pages,
    )


def _delivery_status(part: Message, name: str, filename: str) -> Attachment:
    """A bounce's delivery status (RFC 3464): blocks of fields, one per recipient, kept
    whole and read as text (who, which status, the remote server's diagnostic)."""
    blocks = [block for block in part.get_payload() if isinstance(block, Message)]
    data = b"".join(_message_bytes(block) for block in blocks)
    text = "\n\n".join(
        "\n".join(f"{field}: {_header(block, field)}" for field in dict.fromkeys(block.keys()))
        for block in blocks
    ).strip()
    reason = "" if text else "the delivery status has no fields"
    declared = "message/delivery-status"
    return Attachment(name, filename, declared, declared, data, text, bool(text), reason)


def _message_bytes(msg: Message) -> bytes:
    try:
        return msg.as_bytes()
    except Exception:  # a broken nested message: keep what the parser holds
        return str(msg).encode("utf-8", "surrogateescape")


def _forwarded_text(msg: Message) -> str:
    bodies, _ = _split(msg)
    body, _ = _body(bodies)
    head = [f"{h}: {v}" for h in ("From", "Subject", "Date") if (v := _header(msg, h))]
    return "\n".join([*head, "", body]).strip()


def _filename(part: Message) -> str:
    """The attachment's file name: RFC 2231 or RFC 2047 encoded, or raw UTF-8."""
    for header, param in (("content-disposition", "filename"), ("content-type", "name")):
        raw = _raw(part, header)
        if raw is None or param not in raw.lower():
            continue
        try:
            parsed: Any = policy.default.header_factory(header, _fix(raw))
            value = parsed.params.get(param)
        except Exception:  # a hostile parameter can upset the stdlib
            value = None
        if value:
            return _decode(str(value))
    return ""


def _extension(media_type: str) -> str:
    return {"text/plain": ".txt", MAIL_TYPE: ".eml"}.get(media_type) or (
        mimetypes.guess_extension(media_type) or ""
    )


def safe_name(name: str) -> str:
    """A display name for a file name from outside: its last path component, without
    control or bidi-override characters, at most 150 characters; "" when nothing is left."""
    name = _CONTROL.sub("", name).replace("\\", "/").split("/")[-1].strip()
    if name in (".", ".."):
        return ""
    if len(name) > _NAME_CHARS:
        _, dot, ext = name.rpartition(".")
        keep = ext if dot and len(ext) <= 10 else ""
        name = name[: _NAME_CHARS - len(keep) - 1] + ("." + keep if keep else "")
    return name.lstrip(".") or ""


# -- headers ------------------------------------------------------------------------------


def _fix(text: str) -> str:
    """Undo surrogate escapes of raw 8-bit header bytes (UTF-8, else Windows-1256), fold
    lines, drop control characters, NFC."""
    if _has_surrogates(text):
        raw = text.encode("utf-8", "surrogateescape")
        text = decode_text(raw, None) or raw.decode("utf-8", "replace")
    text = _CONTROL.sub(" ", text.replace("\r", " ").replace("\n", " "))
    return unicodedata.normalize("NFC", " ".join(text.split()))


def _raw(msg: Message, name: str) -> str | None:
    """A header's raw value (8-bit bytes surrogate-escaped), or None when absent."""
    lname = name.lower()
    return next((str(v) for k, v in msg.raw_items() if k.lower() == lname), None)


def _decode(raw: str) -> str:
    """RFC 2047 encoded words or raw 8-bit text to text; never raises."""
    if "=?" in raw and not _has_surrogates(raw):
        try:
            return _fix(str(email.header.make_header(email.header.decode_header(raw))))
        except Exception:  # an unknown charset, broken base64: keep it as it came
            pass
    return _fix(raw)


def _has_surrogates(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def _header(msg: Message, name: str) -> str:
    """A header decoded to text ("" when absent); never raises on hostile headers."""
    raw = _raw(msg, name)
    return "" if raw is None else _decode(raw)


def _address_list(msg: Message, name: str) -> list[tuple[str, str]]:
    raw = _raw(msg, name)
    if not raw:
        return []
    try:
        pairs = email.utils.getaddresses([_fix(raw) if _has_surrogates(raw) else raw])
    except Exception:
        pairs = []
    found = [(_decode(n), _fix(a)) for n, a in pairs if n or a]
    return found or [(_decode(raw), "")]


def _format(name: str, address: str) -> str:
    return f"{name} <{address}>" if name and address else name or address


def _sender(msg: Message) -> tuple[str, str]:
    found = _address_list(msg, "from")
    return (_format(*found[0]), found[0][1]) if found else ("", "")


def _addresses(msg: Message, name: str) -> list[str]:
    return [_format(n, a) for n, a in _address_list(msg, name)]


def _parse_date(raw: str) -> tuple[datetime | None, str]:
    if not raw:
        return None, "no Date header, or an empty one"
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None, f"unparseable Date header: {raw[:100]!r}"
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if not 1 < when.year < 9999:  # so near the ends of time that no zone can show it
        return None, f"Date header out of range: {raw[:100]!r}"
    return when, ""


def message_ids(value: str) -> list[str]:
    """The Message-IDs in a header value, without angle brackets, in order."""
    found = _MSGID.findall(value)
    if not found and value.strip() and " " not in value.strip():
        found = [value.strip()]
    return list(dict.fromkeys(found))


def message_bytes(message: Message) -> bytes:
    """The bytes of a message object given by a caller (an EmailMessage or a Message)."""
    if isinstance(message, EmailMessage):
        return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))
    return message.as_bytes()
