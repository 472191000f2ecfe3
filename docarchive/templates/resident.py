"""DOCX → PDF with LibreOffice kept running: started on first use, fed one document at a
time over UNO, shared by every issue, render and report of the process.

A fresh ``soffice --convert-to pdf`` spends 1–1.5 s starting for a conversion that takes
about 0.1 s; a :class:`ResidentConverter` pays the start once. It drives LibreOffice
through :mod:`.unobridge`, a small script run by a Python that has the ``uno`` module
(Debian's ``python3-uno`` for ``/usr/bin/python3``; ``DOCARCHIVE_UNO_PYTHON`` names
another), so docarchive's own environment needs no ``uno``. The bridge and LibreOffice
form one process group of their own:

- each instance has its own profile folder (``-env:UserInstallation``) and listens on a
  named local pipe only (no TCP port);
- a document that takes longer than the timeout (``[pdf] timeout_seconds``, 60 s) gets
  the whole group killed and a :class:`~docarchive.errors.TemplateError` naming it; a
  LibreOffice that dies mid-document is the same error; either way the next document
  starts a fresh instance;
- the group is killed at exit (``atexit``), and also when this process dies without
  running ``atexit`` — SIGKILL included: the bridge sees its stdin close and kills the
  group, and LibreOffice is started with the parent-death signal set, so it never
  outlives the bridge either.

A :class:`ConverterPool` holds ``[pdf] converters`` instances (``"auto"``: one per core)
and hands each document to an idle one; threads converting at once use them all. When the
long-running mode cannot start (no ``uno`` module, LibreOffice failing to start), the pool
logs the reason and falls back to :class:`~docarchive.templates.pdf.PdfConverter` (one
``soffice --convert-to`` run per call), for the rest of the process.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import json
import logging
import os
import queue
import selectors
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any, Protocol

from ..errors import TemplateError
from ..limits import Limits
from .external import strip_external
from .pdf import PdfConverter, find_soffice
from .render import check_docx

__all__ = [
    "MODES",
    "ConverterPool",
    "ConverterUnavailable",
    "ResidentConverter",
    "find_uno_python",
    "shared_converter",
]

log = logging.getLogger(__name__)

MODES = ("resident", "batch")
BRIDGE = Path(__file__).with_name("unobridge.py")
#: Seconds LibreOffice may take to start and answer on its pipe.
START_SECONDS = 90.0
#: Seconds one document may take by default.
DOCUMENT_SECONDS = 60.0
#: An instance is replaced by a fresh one after this many documents (bounds any leak).
RECYCLE_AFTER = 2000


class ConverterUnavailable(TemplateError):
    """The long-running converter cannot start here (the reason says why)."""


def find_uno_python() -> str:
    """The Python that runs the bridge: ``DOCARCHIVE_UNO_PYTHON``, else this one when it has
    ``uno``, else LibreOffice's own, else ``/usr/bin/python3`` (``python3-uno``)."""
    given = os.environ.get("DOCARCHIVE_UNO_PYTHON")
    if given:
        return given
    if importlib.util.find_spec("uno") is not None:
        return sys.executable
    for candidate in ("/usr/lib/libreoffice/program/python", "/usr/bin/python3"):
        if os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("python3") or "python3"


class _Engine(Protocol):
    def convert_one(self, docx: bytes, name: str, timeout: float) -> bytes: ...

    def close(self) -> None: ...


class ResidentConverter:
    """One LibreOffice kept running, fed one document at a time; started on first use,
    restarted after it died or hung. Thread-safe (one document at a time)."""

    def __init__(self, *, python: str | None = None, start_timeout: float = START_SECONDS):
        self.python = python or find_uno_python()
        self.start_timeout = start_timeout
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._folder: Path | None = None
        self._buffer = b""
        self._errors: IO[bytes] | None = None
        self._seq = 0
        self._done = 0
        self._sockets: list[str] = []
        self._closed = False
        #: LibreOffice's process id while it runs (``None`` before the first document).
        self.soffice_pid: int | None = None
        #: How many times LibreOffice was started (the first start included).
        self.starts = 0
        #: The name of the document being converted now (None between documents).
        self.current: str | None = None

    @property
    def pid(self) -> int | None:
        """The bridge's process id (the process group of the instance), while it runs."""
        return self._proc.pid if self._proc is not None else None

    @property
    def profile(self) -> Path | None:
        """The profile folder of the running instance."""
        return self._folder

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Start LibreOffice now (it starts on the first document otherwise)."""
        with self._lock:
            self._ensure()

    def convert_one(self, docx: bytes, name: str, timeout: float = DOCUMENT_SECONDS) -> bytes:
        """The PDF of one (checked, stripped) .docx; TemplateError naming ``name`` otherwise."""
        with self._lock:
            if self._closed:
                raise TemplateError("this PDF converter is closed")
            if self._done >= RECYCLE_AFTER:
                self._kill()
            self._ensure()
            assert self._folder is not None and self._proc is not None
            self._seq += 1
            src = self._folder / f"{self._seq:07d}.docx"
            dst = self._folder / f"{self._seq:07d}.pdf"
            self.current = name
            try:
                src.write_bytes(docx)
                self._send({"id": self._seq, "src": str(src), "dst": str(dst)})
                reply = self._receive(time.monotonic() + timeout)
                if reply is not None and reply.get("idle"):
                    # it had died between documents: a fresh one takes this document
                    self._kill()
                    self._ensure()
                    src = self._folder / src.name
                    dst = self._folder / dst.name
                    src.write_bytes(docx)
                    self._send({"id": self._seq, "src": str(src), "dst": str(dst)})
                    reply = self._receive(time.monotonic() + timeout)
                if reply is None:
                    self._kill()
                    raise TemplateError(
                        f"LibreOffice did not convert {name} within {timeout:g} s; "
                        "it was stopped and is restarted for the next document"
                    )
                if reply.get("eof") or reply.get("dead"):
                    self._kill()
                    raise TemplateError(
                        f"LibreOffice stopped while converting {name}; "
                        "it is restarted for the next document"
                    )
                if "error" in reply:
                    raise TemplateError(
                        f"LibreOffice could not convert {name} to PDF: {reply['error']}"
                    )
                data = dst.read_bytes() if dst.exists() else b""
                if not data.startswith(b"%PDF"):
                    raise TemplateError(f"LibreOffice could not convert {name} to PDF")
                self._done += 1
                return data
            finally:
                self.current = None
                with contextlib.suppress(OSError):
                    src.unlink()
                with contextlib.suppress(OSError):
                    dst.unlink()

    def close(self) -> None:
        """Stop LibreOffice (its whole process group) and remove its profile."""
        with self._lock:
            self._closed = True
            self._kill()

    def __enter__(self) -> ResidentConverter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the process ------------------------------------------------------------------------

    def _ensure(self) -> None:
        if self.running():
            return
        self._kill()  # whatever is left of a dead instance
        folder = Path(tempfile.mkdtemp(prefix="docarchive-lo-"))
        pipe = f"docarchive-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        errors = tempfile.TemporaryFile()  # noqa: SIM115  (kept: the bridge's stderr)
        try:
            proc = subprocess.Popen(
                [self.python, str(BRIDGE), str(folder), pipe],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=errors,
                cwd=str(folder),
                start_new_session=True,  # bridge and LibreOffice: one group, killed whole
            )
        except OSError as exc:
            errors.close()
            shutil.rmtree(folder, ignore_errors=True)
            raise ConverterUnavailable(f"cannot run {self.python}: {exc}") from exc
        self._proc, self._folder, self._errors, self._buffer = proc, folder, errors, b""
        ready = self._receive(time.monotonic() + self.start_timeout)
        if ready is None or not ready.get("ready"):
            if ready is None:
                reason = f"LibreOffice did not start within {self.start_timeout:g} s"
            elif ready.get("eof"):
                reason = f"the bridge exited: {self._stderr_tail() or 'no message'}"
            else:
                reason = str(ready.get("error", "unknown error"))
            self._kill()
            raise ConverterUnavailable(reason)
        self.soffice_pid = int(ready["soffice_pid"])
        self._sockets = [str(p) for p in ready.get("sockets", [])]
        self.starts += 1
        self._done = 0

    def _send(self, message: dict[str, Any]) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.write((json.dumps(message) + "\n").encode())
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # the reply says eof

    def _receive(self, deadline: float) -> dict[str, Any] | None:
        """The next message of the bridge; ``{"eof": True}`` when it ended, None on timeout."""
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                if not sel.select(left):
                    continue
                chunk = os.read(fd, 65536)
                if not chunk:
                    return {"eof": True}
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            message: dict[str, Any] = json.loads(line)
        except ValueError:
            return {"eof": True}
        return message

    def _stderr_tail(self) -> str:
        if self._errors is None:
            return ""
        self._errors.seek(0)
        lines = self._errors.read().decode("utf-8", "replace").strip().splitlines()
        return lines[-1] if lines else ""

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            for stream in (proc.stdin, proc.stdout):
                with contextlib.suppress(OSError):
                    if stream is not None:
                        stream.close()
            proc.wait()
            if self.soffice_pid is not None:
                _wait_gone(self.soffice_pid)
            for path in self._sockets:  # a killed LibreOffice leaves its pipes behind
                with contextlib.suppress(OSError):
                    if stat.S_ISSOCK(os.lstat(path).st_mode):
                        os.unlink(path)
            self._sockets = []
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None
        if self._errors is not None:
            self._errors.close()
            self._errors = None
        self.soffice_pid = None

    def _forget(self) -> None:
        """In a forked child: drop the parent's instance without touching it."""
        proc, self._proc = self._proc, None
        if proc is not None:
            for stream in (proc.stdin, proc.stdout):
                with contextlib.suppress(OSError, ValueError):
                    if stream is not None:
                        stream.close()
            proc.returncode = 0  # never waited for here
        self._folder = None
        self._lock = threading.Lock()


def _wait_gone(pid: int, seconds: float = 5.0) -> None:
    """Wait until a killed process is gone (or a zombie: it no longer writes anything)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except (OSError, IndexError):
            return
        if state in ("Z", "X"):
            return
        time.sleep(0.01)


class _Batch:
    """Today's converter as an engine: one ``soffice --convert-to`` run per document."""

    def __init__(self) -> None:
        self.converter = PdfConverter()

    def convert_one(self, docx: bytes, name: str, timeout: float) -> bytes:
        # the timeout is the document's; a fresh run also has to start LibreOffice
        return self.converter._run([docx], [name], START_SECONDS + timeout)[0]

    def close(self) -> None:
        self.converter.close()


class ConverterPool:
    """``size`` converters, each document to an idle one.

    ``mode`` is ``"resident"`` (LibreOffice kept running, the default) or ``"batch"`` (a
    fresh ``soffice`` run per call: today's :class:`PdfConverter`). ``timeout`` is the
    most seconds one document may take.
    """

    def __init__(
        self,
        size: int = 1,
        *,
        mode: str = "resident",
        timeout: float = DOCUMENT_SECONDS,
        limits: Limits | None = None,
    ) -> None:
        if size < 1:
            raise ValueError("a converter pool needs at least one converter")
        if mode not in MODES:
            raise ValueError(f"unknown converter mode {mode!r} (known: {', '.join(MODES)})")
        self.mode = mode
        self.timeout = timeout
        self.limits = limits or Limits()
        self.size = 0
        #: Why the long-running mode is not used, once it could not start.
        self.fallback_reason: str | None = None
        self._engines: list[_Engine] = []
        self._idle: queue.LifoQueue[_Engine] = queue.LifoQueue()  # the warmest first
        self._lock = threading.Lock()
        self._closed = False
        self.grow(size)

    @property
    def resident(self) -> list[ResidentConverter]:
        """The long-running instances (empty in batch mode or after the fallback)."""
        return [e for e in self._engines if isinstance(e, ResidentConverter)]

    def grow(self, size: int) -> None:
        """Have at least ``size`` converters."""
        with self._lock:
            while self.size < size:
                engine = self._new_engine()
                self._engines.append(engine)
                self._idle.put(engine)
                self.size += 1

    def _new_engine(self) -> _Engine:
        if self.mode == "resident" and self.fallback_reason is None:
            return ResidentConverter()
        find_soffice()  # LibreOffice missing: the install hint, now
        return _Batch()

    def start(self) -> None:
        """Start every converter now rather than on first use."""
        engines = [self._idle.get() for _ in range(self.size)]
        try:
            for engine in engines:
                if isinstance(engine, ResidentConverter):
                    engine.start()
        finally:
            for engine in engines:
                self._idle.put(engine)

    def convert(
        self,
        docs: Sequence[bytes],
        names: Sequence[str] | None = None,
        *,
        timeout: float | None = None,
        limits: Limits | None = None,
    ) -> list[bytes]:
        """The PDF of each .docx in ``docs``, in order (several at once over the pool).

        Each is checked against the DOCX limits and stripped of every link outside it
        first. A document that fails raises TemplateError naming every failed one.
        """
        if names is None:
            names = [f"document {i + 1}" for i in range(len(docs))]
        if len(names) != len(docs):
            raise ValueError("names must name each document")
        for data, name in zip(docs, names, strict=True):
            check_docx(data, name, limits or self.limits)
        clean = [strip_external(data, name) for data, name in zip(docs, names, strict=True)]
        per_doc = self.timeout if timeout is None else timeout
        if len(clean) <= 1 or self.size == 1:
            return [self._one(d, n, per_doc) for d, n in zip(clean, names, strict=True)]
        with ThreadPoolExecutor(min(self.size, len(clean))) as pool:
            futures = [
                pool.submit(self._one, d, n, per_doc) for d, n in zip(clean, names, strict=True)
            ]
            results: list[bytes] = []
            failed: list[str] = []
            for future, name in zip(futures, names, strict=True):
                try:
                    results.append(future.result())
                except TemplateError:
                    failed.append(name)
        if failed:
            raise TemplateError(
                f"LibreOffice could not convert {', '.join(failed)} to PDF "
                f"({len(failed)} of {len(clean)})"
            )
        return results

    def _one(self, docx: bytes, name: str, timeout: float) -> bytes:
        if self._closed:
            raise TemplateError("this PDF converter is closed")
        engine = self._idle.get()
        try:
            try:
                return engine.convert_one(docx, name, timeout)
            except ConverterUnavailable as exc:
                engine = self._fall_back(engine, str(exc))
                return engine.convert_one(docx, name, timeout)
        finally:
            self._idle.put(engine)

    def _fall_back(self, engine: _Engine, reason: str) -> _Engine:
        with self._lock:
            if self.fallback_reason is None:
                self.fallback_reason = reason
                log.warning(
                    "the long-running LibreOffice converter cannot start (%s); "
                    "converting with a fresh soffice run per document instead",
                    reason,
                )
            engine.close()
            replacement = _Batch()
            self._engines[self._engines.index(engine)] = replacement
            return replacement

    def close(self) -> None:
        """Stop every converter."""
        with self._lock:
            self._closed = True
            for engine in self._engines:
                with contextlib.suppress(Exception):
                    engine.close()

    def __enter__(self) -> ConverterPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_shared: ConverterPool | None = None
_shared_lock = threading.Lock()


def shared_converter(
    size: int = 1, *, mode: str | None = None, timeout: float | None = None
) -> ConverterPool:
    """The process's converter pool, made on first use and stopped at exit.

    It grows to the largest ``size`` asked for. ``mode`` None keeps the pool's mode (a new
    pool: ``DOCARCHIVE_PDF_MODE``, else ``"resident"``); a call asking for another mode
    replaces the pool with one of that mode. ``timeout`` (per document) replaces the
    pool's when given.
    """
    global _shared
    with _shared_lock:
        if _shared is not None and not _shared._closed and mode in (None, _shared.mode):
            _shared.grow(size)
        else:
            if _shared is not None:
                _shared.close()
            chosen = mode or os.environ.get("DOCARCHIVE_PDF_MODE") or "resident"
            _shared = ConverterPool(size, mode=chosen)
        if timeout is not None:
            _shared.timeout = timeout
        return _shared


def _close_shared() -> None:
    if _shared is not None:
        _shared.close()


def _forget_shared_in_child() -> None:
    """A forked child starts without the parent's converters (and without holding their
    pipes open, which would keep them alive after the parent died)."""
    global _shared, _shared_lock
    if _shared is not None:
        for engine in _shared.resident:
            engine._forget()
    _shared = None
    _shared_lock = threading.Lock()


atexit.register(_close_shared)
os.register_at_fork(after_in_child=_forget_shared_in_child)
