"""Analysis in worker processes, for rebuilding a big index on every core.

The analysis chain is Python and holds the interpreter lock; an index engine written in
Rust (tantivy) or a database server (PostgreSQL) then waits on one core while others
idle. :class:`Analyzers` runs a module-level function over records in ``workers`` child
processes (``python -m docarchive.search.workers``: a fresh interpreter each, so
nothing of the caller's threads, locks or ``__main__`` is copied into them), in batches,
and gives the results back in the records' order, a few batches ahead, so that memory
stays bounded whatever the number of records.

Each child uses the caller's lexicon settings, so it makes exactly the terms the caller
would. Pickle is the wire format: both ends are this module, over the child's own pipes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import logging
import operator
import os
import pickle
import queue
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any, Generic, TypeVar

from docarchive.errors import SearchError
from docarchive.records import Record

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Records per batch sent to a worker: big enough that a batch's round trip is small
#: beside its analysis, small enough to keep both workers busy to the end.
BATCH = 256
#: Batches in flight per worker (one being analysed, one waiting in its pipe).
AHEAD = 2
#: Fewer records than this are analysed in the calling process (starting the workers
#: costs about half a second).
MIN_RECORDS = 2_000
#: A worker is replaced by a fresh one after this many records: its memory grows slowly
#: with what it has analysed (emptied caches leave the allocator's arenas fragmented),
#: and a rebuild of a million records must stay within a fixed budget.
RECYCLE_RECORDS = 150_000


#: The frames' layout: a worker of another version (the package upgraded under a running
#: server) refuses to start, and the caller analyses in its own process.
PROTOCOL = 2

#: A record crosses the pipe as the tuple of its fields: three times faster to read back
#: than the pickled dataclass.
_PACK = operator.attrgetter(*(f.name for f in dataclasses.fields(Record)))


def default_workers() -> int:
    """The cores this process may use (``sched_getaffinity``), at most 8."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 8))


def where(record: Record) -> tuple[str, int]:
    """(the record's id, the process that took it): which processes a map used."""
    return record.id, os.getpid()


def _function(name: str) -> Callable[..., Any]:
    module, _, attr = name.partition(":")
    fn = getattr(importlib.import_module(module), attr)
    if not callable(fn):
        raise TypeError(f"{name} is not callable")
    return fn  # type: ignore[no-any-return]


class _Worker:
    """One child process and the thread that feeds it batches."""

    def __init__(self, setup: bytes) -> None:
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (package_root, env.get("PYTHONPATH", "")) if p
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "docarchive.search.workers"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            close_fds=True,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin: IO[bytes] = self.proc.stdin
        self.stdout: IO[bytes] = self.proc.stdout
        self.inbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self.ready = False
        #: Records sent in its life; batches sent and not yet answered.
        self.sent = 0
        self.outstanding = 0
        self.inbox.put(setup)
        self.feeder = threading.Thread(target=self._feed, name="analysis-feeder", daemon=True)
        self.feeder.start()

    def _feed(self) -> None:
        try:
            while True:
                frame = self.inbox.get()
                if frame is None:
                    break
                self.stdin.write(frame)
                self.stdin.flush()
        except (OSError, ValueError):  # the worker ended: receive() says how
            pass
        finally:
            with contextlib.suppress(OSError, ValueError):
                self.stdin.close()

    def send(self, records: list[Record]) -> None:
        self.inbox.put(pickle.dumps(list(map(_PACK, records)), pickle.HIGHEST_PROTOCOL))
        self.sent += len(records)
        self.outstanding += 1

    def wait_ready(self) -> None:
        """Read the frame a worker sends once it has taken the settings (SearchError when
        it is not a worker of this version)."""
        if not self.ready:
            if self._frame() != ["ready", PROTOCOL]:
                raise SearchError("an analysis worker of another docarchive answered")
            self.ready = True

    def receive(self) -> list[Any]:
        """The results of the oldest batch sent."""
        self.wait_ready()
        results = self._frame()
        self.outstanding -= 1
        return results  # type: ignore[no-any-return]

    def _frame(self) -> Any:
        try:
            status, payload = pickle.load(self.stdout)
        except (EOFError, pickle.UnpicklingError, OSError) as exc:
            code = self.proc.wait()
            raise SearchError(
                f"an analysis worker (pid {self.proc.pid}) ended with exit code {code}"
            ) from exc
        if status != "ok":
            raise SearchError(f"an analysis worker failed: {payload}")
        return payload

    def stop(self, *, kill: bool = False) -> None:
        self.inbox.put(None)
        if kill:
            self.proc.kill()
        self.feeder.join(timeout=10)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        with contextlib.suppress(OSError):
            self.stdout.close()


class Analyzers(Generic[T]):
    """``function`` (``"module:name"``, called as ``function(record, *args)``) over
    records, in ``workers`` processes: ``with Analyzers(...) as run: for out in
    run.map(records)``. One worker or few records: in this process, no children."""

    def __init__(self, function: str, args: tuple[Any, ...] = (), workers: int = 0) -> None:
        self.function = function
        self.args = args
        self.workers = workers or default_workers()
        self._pool: list[_Worker] = []
        self._retired: list[_Worker] = []
        self._setup = b""

    def __enter__(self) -> Analyzers[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close(kill=exc[0] is not None)

    def close(self, *, kill: bool = False) -> None:
        """Stop the workers; one with batches still unanswered (the caller stopped
        reading) is killed: nobody reads what it would write."""
        for worker in self._pool + self._retired:
            worker.stop(kill=kill or worker.outstanding > 0)
        self._pool = []
        self._retired = []

    def _start(self) -> bool:
        from docarchive.search import analysis

        self._setup = pickle.dumps(
            (PROTOCOL, analysis.lexicon_settings(), self.function, self.args),
            pickle.HIGHEST_PROTOCOL,
        )
        try:
            for _ in range(self.workers):
                self._pool.append(_Worker(self._setup))
            for worker in self._pool:  # each answers once it has read the settings
                worker.wait_ready()
        except (OSError, SearchError) as exc:
            log.warning("analysis workers could not start (%s): analysing in one process", exc)
            self.close(kill=True)
            return False
        return True

    def map(self, records: Iterable[Record]) -> Iterator[T]:
        fn = _function(self.function)
        it = iter(records)
        head: list[Record] = []
        if self.workers > 1:
            for record in it:
                head.append(record)
                if len(head) >= MIN_RECORDS:
                    break
        if self.workers <= 1 or len(head) < MIN_RECORDS or not self._start():
            for record in head:
                yield fn(record, *self.args)
            for record in it:
                yield fn(record, *self.args)
            return
        yield from self._parallel(head, it)

    def _batches(self, head: list[Record], rest: Iterator[Record]) -> Iterator[list[Record]]:
        for start in range(0, len(head), BATCH):
            yield head[start : start + BATCH]
        batch: list[Record] = []
        for record in rest:
            batch.append(record)
            if len(batch) == BATCH:
                yield batch
                batch = []
        if batch:
            yield batch

    def _parallel(self, head: list[Record], rest: Iterator[Record]) -> Iterator[T]:
        in_flight: deque[_Worker] = deque()
        for turn, batch in enumerate(self._batches(head, rest)):
            if len(in_flight) >= AHEAD * len(self._pool):
                yield from self._receive(in_flight.popleft())
            slot = turn % len(self._pool)
            worker = self._pool[slot]
            worker.send(batch)
            in_flight.append(worker)
            if worker.sent >= RECYCLE_RECORDS:  # it ends after its last batch: a fresh one
                worker.inbox.put(None)
                self._retired.append(worker)
                try:
                    self._pool[slot] = _Worker(self._setup)
                except OSError as exc:
                    raise SearchError(f"an analysis worker could not start: {exc}") from exc
        head.clear()
        while in_flight:
            yield from self._receive(in_flight.popleft())

    def _receive(self, worker: _Worker) -> list[Any]:
        results = worker.receive()
        if not worker.outstanding and worker in self._retired:
            worker.stop()
            self._retired.remove(worker)
        return results


def _serve(stdin: IO[bytes], stdout: IO[bytes]) -> None:
    from docarchive.search import analysis

    protocol, settings, name, args = pickle.load(stdin)
    if protocol != PROTOCOL:
        pickle.dump(("error", f"protocol {protocol}, not {PROTOCOL}"), stdout)
        return
    analysis.use_lexicon(settings)
    fn = _function(name)
    pickle.dump(("ok", ["ready", PROTOCOL]), stdout, pickle.HIGHEST_PROTOCOL)
    stdout.flush()
    while True:
        try:
            packed = pickle.load(stdin)
        except EOFError:
            return
        try:
            reply: tuple[str, Any] = ("ok", [fn(Record(*values), *args) for values in packed])
        except Exception as exc:  # reported to the parent, which raises it
            reply = ("error", f"{type(exc).__name__}: {exc}")
        pickle.dump(reply, stdout, pickle.HIGHEST_PROTOCOL)
        stdout.flush()


if __name__ == "__main__":
    # The replies get a descriptor of their own; whatever else writes to stdout (a
    # library's print) goes to stderr instead of into a frame.
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    _serve(sys.stdin.buffer, replies)
