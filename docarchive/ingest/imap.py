"""Fetch mail from an IMAP mailbox: ``imaps://user@host:993/INBOX`` (or ``imap://``).

The password never goes in a URL or in the settings: it comes from the
``DOCARCHIVE_IMAP_PASSWORD`` environment variable, else from a ``~/.netrc`` line
``machine HOST login USER password ...`` (``NETRC`` names another file).

The mailbox is opened read-only (EXAMINE) and messages are fetched with
``BODY.PEEK[]``, so archiving changes nothing on the server, not even the
\\Seen flag. What was fetched is a cursor — the mailbox's UIDVALIDITY and the
last UID handled — that the archive saves in its catalog in the same
transaction as the records, so a rerun asks only for newer UIDs; when the
server's UIDVALIDITY changes, the mailbox is read again from the start (the
archive's Message-ID and content checks keep that from duplicating anything).

``imap://`` upgrades to TLS with STARTTLS when the server offers it, and refuses
to send a password in clear to any host but the local machine.
"""

from __future__ import annotations

import contextlib
import imaplib
import ipaddress
import json
import logging
import netrc
import os
import re
import ssl
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from ..errors import ConfigurationError, IngestError, LimitExceededError
from ..limits import Limits
from .mail import MailInput

__all__ = ["PASSWORD_ENV", "ImapSource", "fetch", "is_imap_url", "password_for"]

log = logging.getLogger(__name__)

PASSWORD_ENV = "DOCARCHIVE_IMAP_PASSWORD"
TIMEOUT_S = 60.0
FETCH_BYTES = 32 * 1024 * 1024  # at most this much mail held in memory per FETCH
FETCH_COUNT = 100
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_UID = re.compile(rb"UID (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


def is_imap_url(value: object) -> bool:
    return isinstance(value, str) and value.lower().startswith(("imap://", "imaps://"))


@dataclass(frozen=True)
class ImapSource:
    """A mailbox on an IMAP server, parsed from its URL."""

    secure: bool
    host: str
    port: int
    user: str
    mailbox: str

    @classmethod
    def parse(cls, url: str) -> ImapSource:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("imap", "imaps"):
            raise ConfigurationError(f"not an IMAP URL: {url!r} (imap://... or imaps://...)")
        if parts.password is not None:
            raise ConfigurationError(
                f"{scheme}://: keep the password out of the URL; set {PASSWORD_ENV} "
                "or put it in ~/.netrc"
            )
        if not parts.hostname:
            raise ConfigurationError(f"{url!r}: no server name")
        if not parts.username:
            raise ConfigurationError(f"{url!r}: no user name (imaps://USER@HOST/MAILBOX)")
        if parts.query or parts.fragment:
            raise ConfigurationError(f"{url!r}: IMAP URLs take no options")
        try:
            port = parts.port or (993 if scheme == "imaps" else 143)
        except ValueError:
            raise ConfigurationError(f"{url!r}: the port is not a number") from None
        mailbox = unquote(parts.path.lstrip("/")) or "INBOX"
        return cls(scheme == "imaps", parts.hostname, port, unquote(parts.username), mailbox)

    @property
    def url(self) -> str:
        """The URL, without any password, as shown in labels and kept in metadata."""
        scheme = "imaps" if self.secure else "imap"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{quote(self.user, safe='')}@{host}:{self.port}/{quote(self.mailbox)}"

    @property
    def cursor_name(self) -> str:
        return f"imap:{self.url}"


def password_for(
    source: ImapSource,
    environ: Mapping[str, str] | None = None,
) -> str:
    """The password from ``DOCARCHIVE_IMAP_PASSWORD``, else from the netrc file."""
    environ = os.environ if environ is None else environ
    if environ.get(PASSWORD_ENV):
        return environ[PASSWORD_ENV]
    where = environ.get("NETRC") or os.path.join(os.path.expanduser("~"), ".netrc")
    if os.path.exists(where):
        try:
            entry = netrc.netrc(where).authenticators(source.host)
        except (netrc.NetrcParseError, OSError) as exc:
            raise ConfigurationError(f"{where}: cannot read it: {exc}") from exc
        if entry and entry[2] and entry[0] in ("", source.user):
            return entry[2]
    raise ConfigurationError(
        f"no IMAP password for {source.user}@{source.host}: set {PASSWORD_ENV}, or add "
        f"'machine {source.host} login {source.user} password ...' to {where}"
    )


def fetch(
    source: ImapSource,
    password: str,
    limits: Limits,
    *,
    since: date | None = None,
    cursor: str | None = None,
) -> Iterator[MailInput]:
    """The mailbox's messages after ``cursor`` (and on or after ``since``), oldest UID
    first, each carrying the cursor to save once it is archived."""
    conn = _connect(source)
    try:
        _login(conn, source, password)
        typ, data = conn.select(_quote_mailbox(source.mailbox), readonly=True)
        if typ != "OK":
            raise IngestError(source.url, f"cannot open the mailbox: {_text(data)}")
        validity_data = conn.response("UIDVALIDITY")[1]
        if not validity_data or validity_data[0] is None:
            raise IngestError(source.url, "the server gave no UIDVALIDITY")
        uidvalidity = int(validity_data[0])
        last = _last_uid(cursor, uidvalidity)
        criteria = ["UID", f"{last + 1}:*"]
        if since is not None:
            criteria += ["SINCE", f"{since.day}-{_MONTHS[since.month - 1]}-{since.year}"]
        typ, data = conn.uid("SEARCH", *criteria)
        if typ != "OK":
            raise IngestError(source.url, f"the search failed: {_text(data)}")
        found = data[0] if data and isinstance(data[0], bytes) else b""
        uids = sorted(u for u in map(int, found.split()) if u > last)  # n:* always has one
        log.info("%s: %d new message(s) after UID %d", source.url, len(uids), last)
        for uid, size, body in _messages(conn, uids, limits):
            label = f"{source.url};UIDVALIDITY={uidvalidity}/;UID={uid}"
            origin = {"imap": source.url, "uidvalidity": uidvalidity, "uid": uid}
            state = (source.cursor_name, json.dumps({"uidvalidity": uidvalidity, "uid": uid}))
            if body is None:
                reason = str(LimitExceededError("mail_bytes", size, limits.mail_bytes))
                yield MailInput(label, reason=reason, origin=origin, cursor=state)
            else:
                yield MailInput(label, body, origin=origin, cursor=state)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise IngestError(source.url, f"IMAP error: {exc}") from exc
    finally:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            conn.logout()


def _connect(source: ImapSource) -> imaplib.IMAP4:
    try:
        if source.secure:
            return imaplib.IMAP4_SSL(
                source.host,
                source.port,
                ssl_context=ssl.create_default_context(),
                timeout=TIMEOUT_S,
            )
        conn = imaplib.IMAP4(source.host, source.port, timeout=TIMEOUT_S)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise IngestError(source.url, f"cannot connect to the IMAP server: {exc}") from exc
    try:
        if "STARTTLS" in conn.capabilities:
            conn.starttls(ssl.create_default_context())
        elif not _is_loopback(source.host):
            conn.shutdown()
            raise IngestError(
                source.url,
                "the server offers no STARTTLS: refusing to send the password unencrypted "
                "(use imaps://)",
            )
    except (OSError, imaplib.IMAP4.error) as exc:
        conn.shutdown()
        raise IngestError(source.url, f"STARTTLS failed: {exc}") from exc
    return conn


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _login(conn: imaplib.IMAP4, source: ImapSource, password: str) -> None:
    try:
        conn.login(source.user, password)
    except imaplib.IMAP4.error as exc:
        raise IngestError(source.url, f"the server refused the login: {_text(exc.args)}") from None


def _messages(
    conn: imaplib.IMAP4, uids: list[int], limits: Limits
) -> Iterator[tuple[int, int, bytes | None]]:
    """(uid, size, bytes) in UID order; bytes is None for a message over ``mail_bytes``,
    which is not downloaded. Fetches in groups bounded by count and bytes."""
    for start in range(0, len(uids), FETCH_COUNT):
        group = uids[start : start + FETCH_COUNT]
        sizes = _fetch(conn, group, "RFC822.SIZE", body=False)
        batch: list[int] = []
        held = 0
        for uid in group:
            size = int(sizes.get(uid, 0))
            if size <= limits.mail_bytes:
                if batch and held + size > FETCH_BYTES:
                    yield from _bodies(conn, batch, sizes)
                    batch, held = [], 0
                batch.append(uid)
                held += size
            else:
                yield from _bodies(conn, batch, sizes)
                batch, held = [], 0
                yield uid, size, None
        yield from _bodies(conn, batch, sizes)


def _bodies(
    conn: imaplib.IMAP4, uids: list[int], sizes: dict[int, int]
) -> Iterator[tuple[int, int, bytes | None]]:
    if not uids:
        return
    found = _fetch(conn, uids, "BODY.PEEK[]", body=True)
    for uid in uids:
        if uid in found:  # a message expunged meanwhile is simply gone
            data = found[uid]
            yield uid, sizes.get(uid, len(data)), data if isinstance(data, bytes) else b""


def _fetch(conn: imaplib.IMAP4, uids: list[int], what: str, *, body: bool) -> dict[int, Any]:
    typ, data = conn.uid("FETCH", ",".join(map(str, uids)), f"(UID {what})")
    if typ != "OK":
        raise imaplib.IMAP4.error(f"FETCH failed: {_text(data)}")
    out: dict[int, Any] = {}
    for item in data:
        head = item[0] if isinstance(item, tuple) else item
        if not isinstance(head, bytes):
            continue
        uid = _UID.search(head)
        if uid is None:
            continue
        if body:
            if isinstance(item, tuple) and isinstance(item[1], bytes):
                out[int(uid.group(1))] = item[1]
        else:
            size = _SIZE.search(head)
            if size:
                out[int(uid.group(1))] = int(size.group(1))
    return out


def _last_uid(cursor: str | None, uidvalidity: int) -> int:
    if not cursor:
        return 0
    try:
        state = json.loads(cursor)
        if int(state["uidvalidity"]) == uidvalidity:
            return int(state["uid"])
    except (ValueError, KeyError, TypeError):
        log.warning("ignoring an unreadable IMAP cursor: %r", cursor)
        return 0
    log.warning("UIDVALIDITY changed (now %d): reading the mailbox from the start", uidvalidity)
    return 0


def _quote_mailbox(name: str) -> str:
    encoded = _utf7(name)
    return '"' + encoded.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _utf7(name: str) -> str:
    """IMAP's modified UTF-7 (RFC 3501 5.1.3) for mailbox names such as Arabic ones."""
    import base64

    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            raw = "".join(pending).encode("utf-16-be")
            out.append(
                "&" + base64.b64encode(raw).decode("ascii").rstrip("=").replace("/", ",") + "-"
            )
            pending.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return "".join(out)


def _text(value: object) -> str:
    if isinstance(value, list | tuple):
        return " ".join(_text(v) for v in value if v is not None)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
