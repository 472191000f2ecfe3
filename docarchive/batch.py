"""Batches of documents (mail merge): one kind, many rows of data, one record per row.

:meth:`Batches.issue_many` runs each row through the single-issue pipeline
(:meth:`docarchive.issuing.Issuing.issue`: checks, number, DOCX, PDF, stamp, blobs,
record), several rows at once so that the process's LibreOffice instances (``[pdf]
converters``) all have work, and keeps what a batch must keep:

- **one number per row, in row order.** Rows reserve their numbers one after another in
  the order of the rows (a turnstile in front of :meth:`Numbers.reserve`), whatever order
  their rendering and conversion finish in;
- **a bad row costs no number.** A row that is not an object, misses a field, or names
  an image it may not, is refused by the same checks as a single issue, before its turn
  takes a number; it is reported with its line, and the rest go on;
- **a row that fails later voids only its own number**, with the reason (a LibreOffice
  that crashed on it, a full disk …), like a single issue; the converter is restarted
  for the rows after it;
- **nothing is lost when the process dies**: a row that had its number is either
  committed or, killed mid-way, left reserved and voided at the next open after
  ``[issue] reservation_timeout_seconds``; rows not yet started have no number.

The index is caught up every few seconds and at the end of the batch (from one thread),
rather than after each row.

Rows come from an iterable of mappings, or from a file: ``.jsonl`` (one JSON object a
line; blank lines skipped) or ``.csv`` (a header row of field names; a name with dots,
``signatory.name``, fills a nested field; a cell holding a JSON array or object, such as
an ``items`` table, is read as JSON; an empty cell is a missing field).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .core import Core
from .errors import DocArchiveError
from .limits import Limits, check
from .numbers import Numbers
from .records import Classification, Record

if TYPE_CHECKING:
    from .issuing import Templates

__all__ = ["Batches", "IssueBatch", "RowFailure", "read_rows"]

#: Seconds between two catch-ups of the index during a batch.
CATCH_UP_EVERY_S = 5.0


@dataclass(frozen=True)
class RowFailure:
    """A row that was not issued: its line, why, and the number it cost (voided with the
    reason), or None when it was refused before taking one."""

    line: int
    error: str
    number: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "error": self.error, "number": self.number}


@dataclass
class IssueBatch:
    """What a batch did: each row issued (with its line) in row order, each row refused."""

    kind: str
    issued: list[tuple[int, Record]] = field(default_factory=list)
    failed: list[RowFailure] = field(default_factory=list)

    @property
    def records(self) -> list[Record]:
        return [record for _, record in self.issued]

    def to_dict(self) -> dict[str, Any]:
        return {
            "issued": [{"line": line, **r.to_dict(text=False)} for line, r in self.issued],
            "failed": [f.to_dict() for f in self.failed],
        }


Row = tuple[int, Mapping[str, Any] | str]  # (line, data or why the line is not data)


def read_rows(path: str | os.PathLike[str], limits: Limits | None = None) -> Iterator[Row]:
    """The rows of a ``.jsonl`` or ``.csv`` file (at most ``input_bytes`` long), each with
    its line number; a line that is not an object of fields comes as the reason it is not."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".jsonl", ".csv"):
        raise DocArchiveError(f"{path}: rows must be a .jsonl or a .csv file")
    try:
        check(limits or Limits(), "input_bytes", path.stat().st_size)
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DocArchiveError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise DocArchiveError(f"{path}: not UTF-8 text") from None
    if suffix == ".jsonl":
        yield from _jsonl_rows(text)
    else:
        yield from _csv_rows(text, path)


def _jsonl_rows(text: str) -> Iterator[Row]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, f"not valid JSON: {exc.msg}"
            continue
        yield number, data if isinstance(data, dict) else "a row must be a JSON object of fields"


def _csv_rows(text: str, path: Path) -> Iterator[Row]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise DocArchiveError(f"{path}: not a CSV file: {exc}") from None
    names = [h.strip() for h in header]
    if not any(names) or len(set(names)) != len(names):
        raise DocArchiveError(f"{path}: the first line must name each column once")
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield reader.line_num, f"not a CSV row: {exc}"
            continue
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(names):
            yield reader.line_num, f"{len(cells)} cells for {len(names)} columns"
            continue
        yield reader.line_num, _nested(zip(names, cells, strict=True))


def _nested(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name, cell in pairs:
        if not name or not cell.strip():
            continue
        value: Any = cell
        if cell.lstrip()[:1] in ("[", "{"):
            try:
                value = json.loads(cell)
            except json.JSONDecodeError:
                value = cell
        *parents, leaf = name.split(".")
        target = data
        for part in parents:
            child = target.setdefault(part, {})
            if not isinstance(child, dict):
                child = target[part] = {}
            target = child
        target[leaf] = value
    return data


class _InRowOrder(Numbers):
    """The archive's numbers, handed out in row order: a row's :meth:`reserve` waits
    until every row before it has taken its number or given up its turn."""

    def __init__(self, numbers: Numbers) -> None:  # the archive's own, whatever it holds
        self.__dict__.update(vars(numbers))
        self._numbers = numbers
        self._turn = 0
        self._moved = threading.Condition()
        self._row = threading.local()

    @property
    def heartbeat(self) -> Any:
        """The archive's own lease on the catalog (one per process), not one of ours."""
        return self._numbers.heartbeat

    def close(self) -> None:
        """Nothing of ours to close: the lease is the archive's."""

    def begin(self, ticket: int) -> None:
        """The calling thread now works on the row of turn ``ticket``."""
        self._row.ticket = ticket
        self._row.number = None
        self._row.passed = False

    def taken(self) -> str | None:
        """The number the calling thread's row took (None: it took none)."""
        number: str | None = self._row.number
        return number

    def reserve(self, *args: Any, **kwargs: Any) -> Any:
        with self._moved:
            self._moved.wait_for(lambda: self._turn == self._row.ticket)
            try:
                result = super().reserve(*args, **kwargs)
                number = result[0] if isinstance(result, tuple) else result
                self._row.number = getattr(number, "number", number)
                return result
            finally:
                self._pass()

    def end(self) -> None:
        """The calling thread's row is done: give up its turn if it never took it."""
        if self._row.passed:
            return
        with self._moved:
            self._moved.wait_for(lambda: self._turn == self._row.ticket)
            self._pass()

    def _pass(self) -> None:
        self._row.passed = True
        self._turn += 1
        self._moved.notify_all()


class Batches:
    """Mail merge: many documents of one kind, each row its own record."""

    def __init__(self, core: Core, templates: Templates, numbers: Numbers) -> None:
        self.core = core
        self.templates = templates
        self.numbers = numbers

    def issue_many(
        self,
        kind: str,
        rows: Iterable[Mapping[str, Any]] | str | os.PathLike[str],
        *,
        classification: str | Classification | None = None,
        actor: str | None = None,
        progress: Callable[[int, int], None] | None = None,
        workers: int | None = None,
    ) -> IssueBatch:
        """Issue one ``kind`` document per row: numbered in row order, each row its own
        record (see :mod:`docarchive.batch`).

        ``rows`` is an iterable of mappings (a row's line is its place, from 1) or the
        path of a ``.jsonl`` or ``.csv`` file (a row's line is its line in the file). A row
        refused by the checks of :meth:`issue` (a missing field, a forbidden image, not
        an object) is listed in ``failed`` with its line and costs no number; a row that
        fails after taking its number has it voided with the reason and is listed with
        it. ``progress(done, total)`` is called after each row; ``workers`` rows are
        worked on at once (default: ``[pdf] converters`` + 1).
        """
        from .issuing import Issuing

        core = self.core
        self.templates.of_kind(kind)  # an unknown kind refuses the batch, not every row
        level = core.classification(classification)
        who = core.actor(actor)
        if isinstance(rows, str | os.PathLike):
            listed: list[Row] = list(read_rows(rows, core.settings.limits))
            if not listed:
                raise DocArchiveError(f"{rows}: no rows")
        else:
            listed = list(enumerate(rows, start=1))
        numbers = _InRowOrder(self.numbers)
        issuing = Issuing(_DeferredCore.of(core), self.templates, numbers)
        count = workers or core.settings.pdf.converters + 1
        batch = IssueBatch(kind)
        results: dict[int, Record | RowFailure] = {}
        last_catch_up = time.monotonic()

        def one(ticket: int, line: int, data: Mapping[str, Any] | str) -> Record | RowFailure:
            numbers.begin(ticket)
            try:
                if isinstance(data, str):
                    return RowFailure(line, data)
                return issuing.issue(kind, data, classification=level, actor=who)
            except Exception as exc:  # the row's own failure: reported, the batch goes on
                message = str(exc) if isinstance(exc, DocArchiveError) else repr(exc)
                return RowFailure(line, message.splitlines()[0][:500], numbers.taken())
            finally:
                numbers.end()

        pending: deque[tuple[int, Future[Record | RowFailure]]] = deque()
        done = 0

        def collect() -> None:
            nonlocal done, last_catch_up
            line_done, future = pending.popleft()
            results[line_done] = future.result()
            done += 1
            if progress:
                progress(done, len(listed))
            if time.monotonic() - last_catch_up > CATCH_UP_EVERY_S:
                core.catch_up()
                last_catch_up = time.monotonic()

        with ThreadPoolExecutor(max(1, count), thread_name_prefix="issue") as pool:
            try:
                for ticket, (line, data) in enumerate(listed):
                    pending.append((line, pool.submit(one, ticket, line, data)))
                    while len(pending) > 2 * count or (pending and pending[0][1].done()):
                        collect()
                while pending:
                    collect()
            except BaseException:
                for _, future in pending:
                    future.cancel()  # rows not started take no number
                raise
            finally:
                core.catch_up()
        for line, _ in listed:
            outcome = results[line]
            if isinstance(outcome, Record):
                batch.issued.append((line, outcome))
            else:
                batch.failed.append(outcome)
        return batch


class _DeferredCore(Core):
    """The archive's core, but its ``catch_up`` waits for the batch: the index is caught
    up from one thread, every few seconds and at the end, not after each row."""

    @classmethod
    def of(cls, core: Core) -> _DeferredCore:
        given = {f.name: getattr(core, f.name) for f in dataclasses.fields(core) if f.init}
        deferred = cls(**given)
        deferred.sync = core.sync
        return deferred

    def catch_up(self) -> int:
        return 0
