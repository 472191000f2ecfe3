"""Finding and reading records: ``search`` and ``show``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from ..archive import Archive, SearchResults
from .options import (
    archive_and_json_options,
    date_range_options,
    lowered_clearance_option,
    user_of,
)
from .output import echo_referrals, emit

if TYPE_CHECKING:
    from ..records import Record


@click.command("search")
@click.argument("query")
@click.option("--kind", help="Only records of this kind.")
@click.option("--office", help="Only records of this office code.")
@click.option("--sender", help="Only records from this sender (exact).")
@date_range_options("From this date (YYYY-MM-DD).", "To this date (YYYY-MM-DD).")
@click.option("--sort", type=click.Choice(["relevance", "newest"]), default="relevance")
@click.option("--page", type=click.IntRange(min=1), default=1)
@click.option("--limit", type=click.IntRange(min=1), default=10, help="Hits per page.")
@lowered_clearance_option("Search")
@archive_and_json_options
def search(
    archive: Archive,
    actor: str | None,
    query: str,
    page: int,
    limit: int,
    as_json: bool,
    **criteria: Any,
) -> None:
    """Full-text search in Arabic and English.

    QUERY is in whoosh's query language: words (any form: الوزارة finds والوزاره),
    "exact phrases", AND/OR/NOT, field:value (subject, sender, to, number, kind, office,
    year, issued, received, attachments, exact) and wildcards (وزار*).
    """
    # criteria: --kind, --office, --sender, --from, --to, --sort, --clearance (library names)
    results = archive.search(query, **criteria, page=page, page_size=limit, user=user_of(actor))
    emit(as_json, results.to_dict(), lambda: _echo_results(results, first=(page - 1) * limit + 1))


def _echo_results(results: SearchResults, first: int) -> None:
    """The count, the facets, and each hit (its number, kind, date, score, subject and
    snippet); ``first`` is the place of the first hit shown."""
    shown = f", {first}–{first + len(results.hits) - 1} shown" if results.hits else ""
    click.echo(f"{results.total} found{shown}")
    for name, counts in results.facets.items():
        if counts:
            click.echo(f"  {name}: " + ", ".join(f"{k or '-'} {n}" for k, n in counts.items()))
    for hit in results.hits:
        r = hit.record
        when = r.year and (r.dates.get("issued") or r.dates.get("received") or "")[:10]
        click.echo(f"\n{r.number or r.id}  [{r.kind}]  {when or '-'}  score {hit.score:.2f}")
        click.echo(f"  {r.subject}")
        click.echo(f"  {hit.snippet}")


@click.command("show")
@click.argument("id")
@lowered_clearance_option("Show")
@archive_and_json_options
def show(
    archive: Archive, actor: str | None, id: str, clearance: str | None, as_json: bool
) -> None:
    """Show one record, by id or number, with its referrals; for mail, its thread too."""
    record, thread, referrals = record_view(archive, id, clearance, user_of(actor))
    listed = [{"id": r.id, "subject": r.subject, "sender": r.sender} for r in thread]
    shown = {**record.to_dict(), "thread": listed} if thread else record.to_dict()
    emit(
        as_json,
        {**shown, "referrals": referrals},
        lambda: _echo_record(record, thread, referrals),
    )


def _echo_record(record: Record, thread: list[Record], referrals: list[dict[str, Any]]) -> None:
    """The record's metadata, files and links, its thread (when there is more than
    itself), its referrals, then its text."""
    data = record.to_dict()
    for key in ("id", "kind", "number", "subject", "sender", "office", "classification", "source"):
        click.echo(f"{key}: {data[key] if data[key] is not None else '-'}")
    for key, value in record.dates.items():
        click.echo(f"{key}: {value}")
    for f in record.files:
        click.echo(f"file: {f.role} {f.name} {f.media_type} {f.size} bytes sha256:{f.sha256}")
    for key, value in record.links.items():
        click.echo(f"{key}: {value}")
    for r in thread if len(thread) > 1 else []:
        when = (r.dates.get("sent") or r.dates.get("received") or "")[:16]
        mark = "*" if r.id == record.id or r.id == record.links.get("attachment_of") else " "
        click.echo(f"thread: {mark} {when}  {r.id}  {r.sender}: {r.subject}")
    echo_referrals(referrals)
    click.echo("")
    click.echo(record.text)


def record_view(
    archive: Archive, id: str, clearance: str | None, user: str
) -> tuple[Record, list[Record], list[dict[str, Any]]]:
    """A record (by id or number) with its mail thread (empty unless it is mail) and its
    referrals, all read with one clearance.  (Belongs in the library: four calls today.)"""
    level = archive.clearance(clearance, user)
    record = archive.get(id, clearance=level)
    thread = archive.thread(record.id, clearance=level) if record.source == "mail" else []
    return record, thread, archive.referrals(record.id, clearance=level)
