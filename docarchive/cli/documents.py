"""Documents and their numbers: templates, render, issue, void, register, check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..archive import Archive
from ..errors import DocArchiveError
from .group import Negative
from .inputs import document_format, load_data
from .options import (
    archive_and_json_options,
    archive_options,
    classification_option,
    clearance_option,
    output_option,
)
from .output import counted_progress_bar, dump, emit


@click.group("templates")
def templates() -> None:
    """Document templates."""


@templates.command("list")
@archive_and_json_options
def templates_list(archive: Archive, actor: str | None, as_json: bool) -> None:
    """List the templates, built-in ones and the office's own, with the fields each needs.

    The archive gives every template ministry, office, office_code, number and date.
    """
    found = template_catalogue(archive)

    def text() -> None:
        for kind, info in found.items():
            click.echo(f"{kind}\t{info['path']}")
            click.echo(f"  needs: {', '.join(info['needs']) or '-'}")
            if info["optional"]:
                click.echo(f"  optional: {', '.join(info['optional'])}")

    emit(as_json, found, text)


def template_catalogue(archive: Archive) -> dict[str, Any]:
    """Kind → the template's path and fields, its ``needs`` without the fields the
    archive fills in itself.  (Belongs in the library: one call per template today.)"""
    from ..templates.render import ARCHIVE_FIELDS

    found: dict[str, Any] = {}
    for kind, path in sorted(archive.templates().items()):
        fields = archive.template_fields(path)
        found[kind] = {
            "path": str(path),
            "needs": [f for f in fields.needs if f not in ARCHIVE_FIELDS],
            **fields.to_dict(),
        }
    return found


@click.command("render")
@click.argument("template")
@click.argument("data", type=click.Path(path_type=Path))
@output_option(
    "Where to write the document: OUT.docx, or OUT.pdf (through LibreOffice).", required=True
)
@archive_options
def render(archive: Archive, actor: str | None, template: str, data: Path, output: Path) -> None:
    """Render TEMPLATE (a kind or a .docx file) with DATA.json, without numbering it.

    Image paths in the data (logo, {"image": ...}) are read relative to DATA.json.
    """
    fmt = document_format(output, "output")
    document = archive.render(template, load_data(data), format=fmt, image_dir=data.parent)
    output.write_bytes(document)
    click.echo(f"wrote {output}")


@click.command("issue")
@click.argument("kind")
@click.argument("data", type=click.Path(path_type=Path))
@classification_option
@archive_and_json_options
def issue(
    archive: Archive,
    actor: str | None,
    kind: str,
    data: Path,
    classification: str | None,
    as_json: bool,
) -> None:
    """Issue a numbered document of KIND from DATA.json, or one per row of ROWS.jsonl or
    ROWS.csv (numbered in row order; a bad row is reported with its line, costs no number,
    and the rest go on)."""
    if data.suffix.lower() in (".jsonl", ".csv"):
        issue_rows(archive, actor, kind, data, classification, as_json)
        return
    record = archive.issue(kind, load_data(data), classification=classification, actor=actor)
    emit(
        as_json,
        record.to_dict(text=False),
        f"issued {record.kind} {record.number}  (id {record.id})",
    )


def issue_rows(
    archive: Archive,
    actor: str | None,
    kind: str,
    rows: Path,
    classification: str | None,
    as_json: bool,
) -> None:
    """``issue KIND ROWS.jsonl|ROWS.csv``: the batch, with a progress bar; exit 1 only when
    no row at all was issued."""
    with counted_progress_bar("issue", "doc") as progress:
        batch = archive.issue_many(
            kind, rows, classification=classification, actor=actor, progress=progress
        )
    if as_json:
        dump(batch.to_dict())
    else:
        for line, r in batch.issued:
            click.echo(f"line {line}: issued {r.kind} {r.number}  (id {r.id})")
        for f in batch.failed:
            cost = f"; number {f.number} voided" if f.number else ""
            click.echo(f"line {f.line}: not issued: {f.error}{cost}", err=True)
    if batch.failed:
        total = len(batch.issued) + len(batch.failed)
        summary = f"{len(batch.failed)} of {total} rows of {rows} not issued"
        if not batch.issued:
            first = batch.failed[0]
            raise DocArchiveError(f"{summary}: line {first.line}: {first.error}")
        click.echo(f"docarchive: {summary}", err=True)


@click.command("void")
@click.argument("number")
@click.option("--reason", required=True, help="Why the number is voided.")
@archive_and_json_options
def void(archive: Archive, actor: str | None, number: str, reason: str, as_json: bool) -> None:
    """Void an issued NUMBER; it stays in the register and is never reused."""
    entry = archive.void(number, reason, actor=actor)
    emit(as_json, entry.__dict__, f"voided {entry.number}: {entry.reason}")


@click.command("register")
@click.argument("series")
@click.option("--year", type=int, help="One year of a yearly series.")
@archive_and_json_options
def register(
    archive: Archive, actor: str | None, series: str, year: int | None, as_json: bool
) -> None:
    """The register of a numbering SERIES: every number and its record or void reason."""
    entries = archive.register(series, year)

    def text() -> None:
        for e in entries:
            what = e.record_id if e.status == "issued" else f"VOID: {e.reason}"
            click.echo(f"{e.number}\t{e.status}\t{e.at[:19]}\t{e.actor}\t{what}")

    emit(as_json, [e.__dict__ for e in entries], text)


@click.command("check")
@click.argument("code")
@clearance_option("Caller's clearance [env DOCARCHIVE_CLEARANCE].")
@archive_and_json_options
def check(
    archive: Archive, actor: str | None, code: str, clearance: str | None, as_json: bool
) -> None:
    """Whether a stamp's verification CODE is genuine; exit 1 when it is not."""
    result = archive.check_code(code, clearance=clearance)

    def text() -> None:
        click.echo(f"{'GENUINE' if result.genuine else 'NOT GENUINE'}: {result.reason}")
        if result.record is not None:
            r = result.record
            click.echo(f"{r.number}  {r.kind}  {r.dates.get('issued', '')[:10]}  {r.subject}")

    emit(as_json, result.to_dict(), text)
    if not result.genuine:
        raise Negative
