"""Printing results: JSON for scripts (``--json``) or readable text, and progress bars."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from ..errors import DocArchiveError

if TYPE_CHECKING:
    from ..archive import BatchResult
    from ..records import Record


def dump(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def emit(as_json: bool, data: Any, text: str | Callable[[], object]) -> None:
    """Print ``data`` as JSON, or else ``text`` (a line, or a function that prints)."""
    if as_json:
        dump(data)
    elif callable(text):
        text()
    else:
        click.echo(text)


def echo_batch(
    result: BatchResult, as_json: bool, noun: str, archived: Callable[[Record], str]
) -> None:
    """An ingest batch: each input archived (the line ``archived`` makes), already archived
    or quarantined; then, when some were quarantined, a summary of ``noun`` (files,
    messages) on stderr, or an error when nothing at all was archived."""
    if as_json:
        dump(result.to_dict())
    else:
        for r in result.ingested:
            click.echo(archived(r))
        for d in result.duplicates:
            click.echo(f"already archived {d['file']}  (id {d['id']})")
        for q in result.quarantined:
            click.echo(f"quarantined {q['file']}: {q['reason']}")
    done = len(result.ingested) + len(result.duplicates)
    if result.quarantined:
        total = done + len(result.quarantined)
        summary = f"{len(result.quarantined)} of {total} {noun} quarantined"
        if done == 0:
            first = result.quarantined[0]
            raise DocArchiveError(f"{summary}: {first['file']}: {first['reason']}")
        click.echo(f"docarchive: {summary}", err=True)


def echo_referrals(items: list[dict[str, Any]]) -> None:
    """A record's referrals (:meth:`~docarchive.Archive.referrals`), for ``show`` and
    ``followup --record``: each department's share (``referral:`` or ``followup:``), who
    referred it when and with what instruction, its answers or closing; a share referred
    onward is indented under it, so the tree reads director → department → division."""
    ids = {i["id"] for i in items}
    onward: dict[str | None, list[dict[str, Any]]] = {}
    for i in items:
        onward.setdefault(i["parent_id"] if i["parent_id"] in ids else None, []).append(i)

    def echo(item: dict[str, Any], pad: str) -> None:
        priority = f"  {item['priority']}" if item["priority"] else ""
        click.echo(
            f"{pad}{item['kind']}: {item['department']}  {item['status']}  due {item['due']}"
            f"{priority}  ({item['id']})"
        )
        when = item["referred_at"][:16]
        click.echo(f"{pad}  referred by {item['referred_by']} {when}: {item['instruction']}")
        if item["answers"]:
            by = ", ".join(item["answers"])
            click.echo(f"{pad}  answered {(item['answered_at'] or '')[:16]} by {by}")
        if item["status"] in ("closed", "cancelled"):
            closed = (item["closed_at"] or "")[:16]
            click.echo(f"{pad}  {item['status']} {closed}: {item['closed_reason']}")
        for child in onward.get(item["id"], []):
            echo(child, pad + "  ")

    for item in onward.get(None, []):
        echo(item, "")


@contextmanager
def counted_progress_bar(desc: str, unit: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar with a total on a terminal's stderr (none otherwise); yields the
    callback ``(done, total)``."""
    from tqdm import tqdm

    with tqdm(desc=desc, unit=unit, disable=not sys.stderr.isatty(), leave=False) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        yield progress


@contextmanager
def progress_bar(unit: str) -> Iterator[Callable[[object], None]]:
    """A progress bar on a terminal's stderr (none otherwise); yields the callback that
    counts one more input."""
    from tqdm import tqdm

    with tqdm(desc="ingest", unit=unit, disable=not sys.stderr.isatty(), leave=False) as bar:
        yield lambda _: bar.update()


@contextmanager
def stage_bars() -> Iterator[Callable[[str, int, int], None]]:
    """One progress bar per stage, each made when its stage first reports; yields the
    callback ``(stage, done, total)``."""
    from tqdm import tqdm

    bars: dict[str, Any] = {}
    quiet = not sys.stderr.isatty()

    def progress(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(desc=stage, total=total, disable=quiet, leave=True)
        bar.total = total
        bar.update(done - bar.n)

    try:
        yield progress
    finally:
        for bar in bars.values():
            bar.close()
