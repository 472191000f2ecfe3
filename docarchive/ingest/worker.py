"""The parser worker: native parsers run in a child process, so a crash, a hang or a
memory blow-up costs one file, never the batch.

PDFium, Pillow's decoders, tesseract and the stamp's pypdf read untrusted bytes. In
Python an error is an exception (see :mod:`docarchive.ingest.failures`); in native code
it can be a segfault, an endless loop or an allocation that takes the machine's memory.
So a batch hands each file's parsing to a worker process:

- the worker is started once (a ``python`` running :func:`serve`) and reused for
  the next file; it runs with an address-space limit (``resource.setrlimit(RLIMIT_AS)``
  of ``[limits] parse_memory_mb``, inherited by tesseract);
- each step of a parse (opening the file, one page's text, a page rendered or read by
  OCR, the stamp) must finish within ``[limits] parse_seconds``: the worker reports each
  step it finishes, and one that takes longer gets the worker killed;
- a worker that died (a signal), was killed (too slow) or ran out of memory is replaced
  for the next file; the file is quarantined with the reason: "the parser crashed
  (signal 11, SIGSEGV)", "the parser took longer than 120 s", "the parser ran out of
  memory". Other files never notice.

:func:`parsers` gives the process-wide :class:`Parsers` for some limits: a pool of idle
workers (one per thread that parses at the same time). ``DOCARCHIVE_PARSER_WORKER=0``
runs the parsers in the calling process instead (no time or memory limit: for debugging
and as the benchmark's baseline).

Fault injection for tests: ``DOCARCHIVE_PARSER_HOOK=/path/to/file.py:function`` makes the
worker call ``function(task, label)`` before each task (a test crashes or hangs there).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import pickle
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError, DocArchiveError, IngestError
from ..limits import Limits
from .failures import one_line, reason_for

if TYPE_CHECKING:
    from ..stamping import Stamp, StampStyle
    from .scans import Scan
    from .text import Extracted

__all__ = ["ParserWorker", "Parsers", "parsers", "tick"]

START_SECONDS = 60.0  # a worker that is not ready by then does not start
TICK_EVERY_S = 0.25  # the worker reports finished steps at most this often
_ENV_PREFIXES = ("DOCARCHIVE_", "OMP_THREAD_LIMIT", "TESSDATA_PREFIX")

# -- inside the worker ------------------------------------------------------------------------

_beat: Callable[[], None] | None = None


def tick() -> None:
    """A parse step finished (a page read, rendered or recognised): in the worker this
    moves the step's deadline on; elsewhere it does nothing."""
    if _beat is not None:
        _beat()


def _task_scan(path: str, data: bytes, limits: Limits, ocr: bool) -> Scan:
    from .scans import scan_bytes

    scan = scan_bytes(path, data, limits, ocr=ocr)
    return replace(scan, data=b"")  # the caller has the bytes: do not send them back


def _task_extract(
    data: bytes, declared: str, name: str, limits: Limits, charset: str | None
) -> Extracted:
    from .text import extract_text

    return extract_text(data, declared, name, limits, charset)


def _task_stamp(pdf: bytes, stamp: Stamp, style: StampStyle, limits: Limits) -> bytes:
    from ..stamping import stamp_pdf

    return stamp_pdf(pdf, stamp, style, limits)


_TASKS: dict[str, Callable[..., Any]] = {
    "scan": _task_scan,
    "extract": _task_extract,
    "stamp": _task_stamp,
}


def _hook(spec: str) -> Callable[[str, str], None] | None:
    if not spec:
        return None
    file, _, name = spec.rpartition(":")
    loaded = importlib.util.spec_from_file_location("docarchive_parser_hook", file)
    if loaded is None or loaded.loader is None:
        return None
    module = importlib.util.module_from_spec(loaded)
    loaded.loader.exec_module(module)
    function: Callable[[str, str], None] = getattr(module, name)
    return function


def _with_memory_cause(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, MemoryError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def serve(fd: int, memory_mb: int) -> None:
    """The worker's loop: run tasks sent on ``fd`` until the other end closes."""
    global _beat
    conn = Connection(fd)
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    # what every task needs, loaded once per worker
    import pypdfium2  # noqa: F401
    from PIL import Image  # noqa: F401

    from . import scans  # noqa: F401  (text, for attachments, is loaded when first asked)

    last = [0.0]

    def beat() -> None:
        now = time.monotonic()
        if now - last[0] >= TICK_EVERY_S:
            last[0] = now
            conn.send_bytes(b"t")

    _beat = beat
    conn.send_bytes(b"r")
    hooks: dict[str, Callable[[str, str], None] | None] = {}
    while True:
        try:
            message = conn.recv_bytes()
        except (EOFError, OSError):
            return
        task, label, args, environ = pickle.loads(message)
        for key in [k for k in os.environ if k.startswith(_ENV_PREFIXES)]:
            if key not in environ:
                del os.environ[key]
        os.environ.update(environ)
        restart = False
        try:
            spec = environ.get("DOCARCHIVE_PARSER_HOOK", "")
            if spec not in hooks:
                hooks[spec] = _hook(spec)
            hook = hooks[spec]
            if hook is not None:
                hook(task, label)
            last[0] = time.monotonic()
            answer: tuple[Any, ...] = ("ok", _TASKS[task](*args))
        except MemoryError:
            restart = True
            answer = ("oom", "")
        except Exception as exc:
            if _with_memory_cause(exc):  # a MemoryError a parser turned into its own error
                restart = True
                answer = ("oom", "")
            elif isinstance(exc, IngestError):
                answer = ("ingest", exc.reason)
            elif isinstance(exc, DocArchiveError):  # ours (a stamp refused): as it says
                answer = ("error", one_line(str(exc)))
            else:
                answer = ("error", reason_for(exc))
        try:
            reply = pickle.dumps((*answer, restart), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # an answer that cannot travel is the task's failure
            reply = pickle.dumps(("error", reason_for(exc), restart))
        answer = ()
        conn.send_bytes(reply)
        if restart:
            return


# -- in the parent ----------------------------------------------------------------------------


class _Failed(Exception):
    """The worker died, hung or ran out of memory; ``reason`` is the file's one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


# The worker loads the parsers, not the whole package (the facade, the catalog and the
# search backends that docarchive/__init__.py imports): the two packages on the way to this
# module are made as empty packages first, which halves the worker's start.
_BOOT = """
import importlib.machinery, importlib.util, sys
spec = importlib.util.find_spec("docarchive")
for name in ("docarchive", "docarchive.ingest"):
    module = importlib.util.module_from_spec(spec)  # the package, its __init__ not run
    sys.modules[name] = module
    spec = importlib.machinery.PathFinder.find_spec("docarchive.ingest", module.__path__)
from docarchive.ingest.worker import serve
serve(int(sys.argv[1]), int(sys.argv[2]))
"""


class ParserWorker:
    """One worker process; :meth:`run` sends it a task and waits under the limits."""

    def __init__(self, seconds: int, memory_mb: int) -> None:
        self.seconds = seconds
        self.memory_mb = memory_mb
        parent, child = socket.socketpair()
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (root, env.get("PYTHONPATH", "")) if p
        )  # the same docarchive as this process
        try:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    _BOOT,
                    str(child.fileno()),
                    str(memory_mb),
                ],
                pass_fds=(child.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                # libtiff, libjpeg and PDFium write warnings on hostile files to stderr: not
                # the user's terminal (DOCARCHIVE_PARSER_STDERR=1 keeps them, to debug)
                stderr=None
                if os.environ.get("DOCARCHIVE_PARSER_STDERR") == "1"
                else subprocess.DEVNULL,
                env=env,
                close_fds=True,
            )
        except OSError as exc:
            parent.close()
            child.close()
            raise ConfigurationError(f"the parser worker cannot start: {exc}") from exc
        child.close()
        self.conn = Connection(parent.detach())
        self.pid = os.getpid()
        try:
            if not self.conn.poll(START_SECONDS) or self.conn.recv_bytes() != b"r":
                raise EOFError
        except (EOFError, OSError):
            self.close()
            raise ConfigurationError(
                "the parser worker did not start (is [limits] parse_memory_mb, now "
                f"{memory_mb}, too small to load PDFium and Pillow?)"
            ) from None

    @property
    def alive(self) -> bool:
        return self.process.poll() is None and not self.conn.closed

    def run(self, task: str, label: str, *args: Any) -> Any:
        """The task's result; IngestError(label, reason) when the file failed in the worker
        (the worker is then replaced before the next task where it must be)."""
        environ = {k: v for k, v in os.environ.items() if k.startswith(_ENV_PREFIXES)}
        message = pickle.dumps((task, label, args, environ), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            self.conn.send_bytes(message)
            answer = self._wait()
        except _Failed as exc:
            self.close()
            raise IngestError(label, exc.reason) from None
        del message
        kind, value, restart = answer
        if restart:  # the worker exits after this answer: it must not be given another task
            self.close()
        if kind == "ok":
            return value
        raise IngestError(label, self._oom() if kind == "oom" else value)

    def _wait(self) -> tuple[Any, ...]:
        deadline = time.monotonic() + self.seconds
        while True:
            left = deadline - time.monotonic()
            try:
                ready = left > 0 and self.conn.poll(left)
                if not ready:
                    raise _Failed(
                        f"the parser took longer than {self.seconds} s (raise it with "
                        "DOCARCHIVE_LIMIT_PARSE_SECONDS or [limits] parse_seconds)"
                    )
                data = self.conn.recv_bytes()
            except (EOFError, OSError):
                raise _Failed(self._death()) from None
            if data == b"t":
                deadline = time.monotonic() + self.seconds
                continue
            answer: tuple[Any, ...] = pickle.loads(data)
            return answer

    def _oom(self) -> str:
        return (
            f"the parser ran out of memory (over {self.memory_mb} MiB; raise it with "
            "DOCARCHIVE_LIMIT_PARSE_MEMORY_MB or [limits] parse_memory_mb)"
        )

    def _death(self) -> str:
        try:
            code = self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            return "the parser stopped answering"
        if code < 0:
            return f"the parser crashed (signal {-code}, {_signal_name(-code)})"
        return f"the parser exited with status {code}"

    def close(self) -> None:
        """Stop the worker (killed if it does not go at once)."""
        if not self.conn.closed:
            self.conn.close()
        if self.process.poll() is None:
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):  # SIGKILL does not wait
            self.process.wait(timeout=10)


class Parsers:
    """The parsers a batch uses: in worker processes under the limits, or in-process."""

    def __init__(self, seconds: int, memory_mb: int, *, isolated: bool = True) -> None:
        self.seconds = seconds
        self.memory_mb = memory_mb
        self.isolated = isolated
        self._idle: list[ParserWorker] = []
        self._lock = threading.Lock()

    def _call(self, task: str, label: str, *args: Any) -> Any:
        if not self.isolated:
            return _TASKS[task](*args)
        with self._lock:
            worker = None
            while self._idle and worker is None:
                worker = self._idle.pop()
                if not worker.alive or worker.pid != os.getpid():
                    worker = None
        if worker is None:
            worker = ParserWorker(self.seconds, self.memory_mb)
        try:
            return worker.run(task, label, *args)
        finally:
            if worker.alive:
                with self._lock:
                    self._idle.append(worker)

    def scan(self, path: str | Path, data: bytes, limits: Limits, *, ocr: bool = True) -> Scan:
        """:func:`~docarchive.ingest.scans.scan_bytes`; IngestError names the file."""
        if not self.isolated:
            from .scans import scan_bytes

            return scan_bytes(path, data, limits, ocr=ocr)
        scan: Scan = self._call("scan", str(path), str(path), data, limits, ocr)
        return replace(scan, data=data)

    def extract(
        self, data: bytes, declared: str, name: str, limits: Limits, charset: str | None = None
    ) -> Extracted:
        """:func:`~docarchive.ingest.text.extract_text` of an attachment: never raises for
        the file; a crash or a hang in its parser is its ``reason``."""
        from .scans import sniff
        from .text import Extracted, extract_text

        sniffed, _ = sniff(data[:1024])
        if not self.isolated or sniffed not in _NATIVE:
            return extract_text(data, declared, name, limits, charset)
        try:
            found: Extracted = self._call("extract", name, data, declared, name, limits, charset)
        except IngestError as exc:
            return Extracted("", sniffed, False, one_line(exc.reason))
        return found

    def stamp(
        self, pdf: bytes, stamp: Stamp, style: StampStyle, limits: Limits, label: str = "stamp"
    ) -> bytes:
        """:func:`~docarchive.stamping.stamp_pdf` of the file ``label``; a crash or a hang
        raises IngestError."""
        if not self.isolated:
            return _task_stamp(pdf, stamp, style, limits)
        stamped: bytes = self._call("stamp", label, pdf, stamp, style, limits)
        return stamped

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.close()


_NATIVE = {"application/pdf", "image/png", "image/jpeg", "image/tiff", "application/zip"}
_SHARED: dict[tuple[int, int, bool], Parsers] = {}
_SHARED_LOCK = threading.Lock()


def parsers(limits: Limits) -> Parsers:
    """The process-wide parsers for these limits (workers are kept for the next batch,
    and stopped when the process exits)."""
    isolated = os.environ.get("DOCARCHIVE_PARSER_WORKER", "1").strip() not in ("0", "no", "off")
    key = (limits.parse_seconds, limits.parse_memory_mb, isolated)
    with _SHARED_LOCK:
        found = _SHARED.get(key)
        if found is None:
            found = _SHARED[key] = Parsers(*key[:2], isolated=isolated)
        return found


@atexit.register
def _stop_all() -> None:
    for shared in list(_SHARED.values()):
        shared.close()
