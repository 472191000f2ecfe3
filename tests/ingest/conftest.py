"""Fixtures for mail tests: messages built with the stdlib ``email`` package, attachments
made on the fly (PDF with a text layer, DOCX, CSV), and a real dovecot IMAP server."""

from __future__ import annotations

import getpass
import grp
import imaplib
import io
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest
from make_data import text_pdf  # examples/make_data.py (tests/conftest.py puts it on sys.path)

Attach = tuple[bytes, str, str]  # (data, media type, file name)
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def build_mail(
    *,
    subject: str = "طلب تزويدنا بنسخة من قرار تشكيل لجنة فتح العطاءات",
    sender: str = "مكتب الوكيل الفني <deputy.office@mop.gov.iq>",
    to: str = "أرشيف مكتب الوزير <archive@mop.gov.iq>",
    body: str | None = "السلام عليكم،\nيرجى تزويدنا بنسخة من القرار رقم ١٧ لسنة ٢٠٢٦.",
    html: str | None = None,
    attachments: list[Attach] | None = None,
    message_id: str | None = None,
    date: str | None = "Tue, 10 Mar 2026 09:30:00 +0300",
    in_reply_to: str | None = None,
    references: list[str] | None = None,
    headers: dict[str, str] | None = None,
) -> bytes:
    """A message as a mail client writes it (policy.SMTP: CRLF, RFC 2047 headers)."""
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id or make_msgid(domain="mop.gov.iq")
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = " ".join(references)
    for name, value in (headers or {}).items():
        msg[name] = value
    if body is not None:
        msg.set_content(body)
    if html is not None:
        if body is None:
            msg.set_content(html, subtype="html")
        else:
            msg.add_alternative(html, subtype="html")
    for data, media_type, name in attachments or []:
        maintype, subtype = media_type.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    data = msg.as_bytes()
    if date is not None:  # written raw: the stdlib drops a Date it cannot parse
        data = f"Date: {date}\r\n".encode() + data
    return data


def pdf_bytes(lines: list[str]) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "a.pdf"
        text_pdf(path, lines)
        return path.read_bytes()


def docx_bytes(paragraphs: list[str]) -> bytes:
    from docx import Document

    doc = Document()
    for text in paragraphs:
        doc.add_paragraph(text)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def docx_bomb(member_bytes: int) -> bytes:
    """A .docx whose document.xml inflates to ``member_bytes`` (a zip bomb)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", b"<w:document>" + b" " * member_bytes)
    return out.getvalue()


def write_mbox(path: Path, messages: list[bytes]) -> Path:
    """An mbox file as mail servers write it (From_ lines, LF line ends)."""
    with path.open("wb") as fh:
        for data in messages:
            fh.write(b"From MAILER-DAEMON Tue Mar 10 09:30:00 2026\n")
            fh.write(data.replace(b"\r\n", b"\n").replace(b"\nFrom ", b"\n>From "))
            fh.write(b"\n")
    return path


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


@dataclass(frozen=True)
class Kit:
    """The helpers above, for tests (a fixture: test modules cannot import a conftest)."""

    mail: Callable[..., bytes] = build_mail
    pdf: Callable[[list[str]], bytes] = pdf_bytes
    docx: Callable[[list[str]], bytes] = docx_bytes
    docx_bomb: Callable[[int], bytes] = docx_bomb
    mbox: Callable[[Path, list[bytes]], Path] = write_mbox
    files_under: Callable[[Path], set[Path]] = files_under
    DOCX: str = DOCX


@pytest.fixture(scope="session")
def kit() -> Kit:
    return Kit()


# -- a real IMAP server -------------------------------------------------------------------


@dataclass
class Dovecot:
    """A dovecot on 127.0.0.1 for this test session, with one user."""

    port: int
    user: str
    password: str
    maildir_root: Path

    def url(self, mailbox: str = "INBOX", *, user: str | None = None) -> str:
        return f"imap://{user or self.user}@127.0.0.1:{self.port}/{mailbox}"

    def connect(self) -> imaplib.IMAP4:
        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        conn.login(self.user, self.password)
        return conn

    def append(self, mailbox: str, messages: list[bytes], *, when: float | None = None) -> None:
        conn = self.connect()
        try:
            conn.create(_quoted(mailbox))  # NO when it exists: fine
            for data in messages:
                stamp = imaplib.Time2Internaldate(when if when is not None else time.time())
                typ, answer = conn.append(_quoted(mailbox), None, stamp, data)
                assert typ == "OK", answer
        finally:
            conn.logout()

    def call(self, *command: Any) -> tuple[str, list[Any]]:
        conn = self.connect()
        try:
            name, *args = command
            typ, data = getattr(conn, name)(*args)
            return typ, data
        finally:
            conn.logout()


def _quoted(mailbox: str) -> str:
    from docarchive.ingest.imap import _quote_mailbox

    return _quote_mailbox(mailbox)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """Starts dovecot (apt-get install dovecot-imapd) on 127.0.0.1 for the session.

    Without dovecot the IMAP tests are skipped, except on CI (``CI`` set), where they
    fail: CI must not pass by running nothing.
    """
    binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
    if not os.path.exists(binary):
        message = "the IMAP tests need dovecot (apt-get install dovecot-imapd)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    base = Path(tempfile.mkdtemp(prefix="docarchive-dovecot-"))
    as_root = os.geteuid() == 0
    run_as = "dovecot" if as_root else getpass.getuser()
    entry = pwd.getpwnam(run_as)
    port = _free_port()
    user, password = "archive", uuid.uuid4().hex
    for sub in ("run", "state", "mail", "home"):
        (base / sub).mkdir()
    (base / "passwd").write_text(f"{user}:{{PLAIN}}{password}\n")
    (base / "dovecot.conf").write_text(
        f"""
protocols = imap
listen = 127.0.0.1
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = {run_as}
default_internal_group = {grp.getgrgid(entry.pw_gid).gr_name}
default_login_user = {run_as}
first_valid_uid = {min(entry.pw_uid, 100)}
mail_location = maildir:{base}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {base}/passwd
}}
userdb {{
  driver = static
  args = uid={entry.pw_uid} gid={entry.pw_gid} home={base}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
""",
        encoding="utf-8",
    )
    if as_root:
        base.chmod(0o755)
        subprocess.run(["chown", "-R", f"{run_as}:", str(base)], check=True)
        command = ["runuser", "-u", run_as, "--", binary, "-c", str(base / "dovecot.conf")]
    else:
        command = [binary, "-c", str(base / "dovecot.conf")]
    pid_file = base / "run" / "master.pid"
    server = Dovecot(port, user, password, base / "mail" / user)
    try:
        with (base / "start.log").open("wb") as out:  # a pipe would be held by the daemon
            started = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=False)
        if started.returncode != 0:
            raise RuntimeError(f"dovecot did not start: {(base / 'start.log').read_text()}")
        deadline = time.monotonic() + 20
        while True:
            try:
                server.connect().logout()
                break
            except (OSError, imaplib.IMAP4.error):
                if time.monotonic() > deadline:
                    log = base / "dovecot.log"
                    raise RuntimeError(
                        "dovecot did not start: " + (log.read_text() if log.exists() else "")
                    ) from None
                time.sleep(0.1)
        yield server
    finally:
        if pid_file.exists():
            pid = int(pid_file.read_text().split()[0])
            os.kill(pid, signal.SIGTERM)
            for _ in range(100):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def mailbox(dovecot: Dovecot) -> str:
    """A new, empty mailbox name for one test."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def imap_password(dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DOCARCHIVE_IMAP_PASSWORD", dovecot.password)
    return dovecot.password
