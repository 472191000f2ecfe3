"""The archive as a whole: ``init``, ``verify``, ``reindex``, ``export``, ``import`` and
``migrate``."""

from __future__ import annotations

from pathlib import Path

import click

from ..archive import Archive
from .group import Negative
from .options import (
    archive_and_json_options,
    clearance_option,
    given_actor,
    given_root,
    json_option,
    output_option,
    user_of,
)
from .output import emit, stage_bars


@click.command("init")
@click.argument("root", required=False, type=click.Path(path_type=Path))
@click.option("--storage", help="Blob storage URL (default: file://ROOT/blobs).")
@click.option("--catalog", help="Catalog URL (default: sqlite:///ROOT/catalog.sqlite).")
@click.option(
    "--index",
    help="Search index URL: tantivy:///PATH (default: tantivy:///ROOT/index), "
    "whoosh:///PATH, or postgresql://... (in the catalog's database).",
)
@click.option(
    "--group",
    help="A group that may read what the archive writes ([security] group); "
    "without it, everything is private to this account.",
)
@click.option(
    "--group-access",
    type=click.Choice(["read", "write"]),
    help="What --group may do: read (the default) or read and write.",
)
@json_option
def init(
    root: Path | None,
    storage: str | None,
    catalog: str | None,
    index: str | None,
    group: str | None,
    group_access: str | None,
    as_json: bool,
) -> None:
    """Create a new archive in ROOT (folders 0700, files 0600, blobs 0400; with --group,
    that group may read, or read and write)."""
    if group_access and not group:
        raise click.UsageError("--group-access needs --group")
    with Archive.init(
        given_root(root),
        storage=storage,
        catalog=catalog,
        index=index,
        actor=given_actor(None),
        group=group,
        group_access=group_access,
    ) as archive:
        s = archive.settings
        info = {
            "root": str(s.root),
            "storage": s.storage_url,
            "catalog": s.catalog_url,
            "index": s.index_url,
        }
        if s.group:
            info["group"] = s.group
            info["group_access"] = s.group_access
    emit(as_json, info, f"created an archive in {info['root']}")


@click.command("verify")
@click.option("--strict", is_flag=True, help="Blobs no record refers to are problems too.")
@click.option(
    "--fix-permissions",
    is_flag=True,
    help="First bring every local file and folder of the archive to the permission policy "
    "(an archive made before it, or after [security] group changed).",
)
@archive_and_json_options
def verify(
    archive: Archive, actor: str | None, strict: bool, fix_permissions: bool, as_json: bool
) -> None:
    """Re-hash every blob, walk the audit chain and check who may read the archive's files;
    exit 1 if anything is wrong.

    Blobs that no record refers to (left by a failed or interrupted write) are listed as
    notices and do not fail, unless --strict. Files or folders open beyond the permission
    policy (0700 folders, 0600 files, 0400 blobs, or the [security] group's modes) are
    problems (permissions-open).
    """
    report = archive.verify(strict=strict, fix_permissions=fix_permissions)

    def text() -> None:
        if report.permissions_fixed is not None:
            click.echo(f"brought {report.permissions_fixed} files or folders to the policy")
        for p in report.problems:
            click.echo(f"PROBLEM {p.code}: {p.message}")
        for p in report.notices:
            click.echo(f"notice {p.code}: {p.message}")
        state = "ok" if report.ok else f"{len(report.problems)} problem(s)"
        click.echo(
            f"{state}: {report.records} records, {report.blobs} blobs, "
            f"{report.events} audit events checked"
        )

    emit(as_json, report.to_dict(), text)
    if not report.ok:
        raise Negative


@click.command("reindex")
@archive_and_json_options
def reindex(archive: Archive, actor: str | None, as_json: bool) -> None:
    """Rebuild the search index from the catalog and blobs."""
    count = archive.reindex()
    emit(as_json, {"indexed": count}, f"reindexed {count} records")


@click.command("export")
@click.argument("ids", nargs=-1)
@click.option("--query", help="Export every record this search finds (within your clearance).")
@output_option("New bag folder.", required=True)
@clearance_option("Export with a lower clearance than your own.")
@archive_and_json_options
def export(
    archive: Archive,
    actor: str | None,
    ids: tuple[str, ...],
    query: str | None,
    output: Path,
    clearance: str | None,
    as_json: bool,
) -> None:
    """Export records (IDs or numbers, or --query) as a BagIt package: their files,
    metadata and audit events, for another archive or an auditor."""
    if bool(ids) == (query is not None):
        raise click.UsageError("give record IDs or --query, not both")
    bag = archive.export(
        list(ids) or None, query, dest=output, clearance=clearance, user=user_of(actor)
    )
    count = bag_records(bag)
    emit(as_json, {"bag": str(bag), "records": count}, f"exported {count} record(s) to {bag}")


def bag_records(bag: Path) -> int:
    """How many records an exported bag holds.  (Belongs in the library: export() could
    say so itself.)"""
    return len([p for p in (bag / "data" / "records").iterdir()])


@click.command("import")
@click.argument("bag", type=click.Path(path_type=Path))
@archive_and_json_options
def import_(archive: Archive, actor: str | None, bag: Path, as_json: bool) -> None:
    """Import a BagIt package made by 'export', after checking every hash in it."""
    report = archive.import_bag(bag, actor=actor)

    def text() -> None:
        for r in report.imported:
            click.echo(f"imported {r.number or r.kind} {r.subject}  (id {r.id})")
        for d in report.duplicates:
            click.echo(f"already archived {d['id']}")

    emit(as_json, report.to_dict(), text)


@click.command("migrate")
@click.option("--to-storage", required=True, help="Blob storage URL to copy into.")
@click.option("--to-catalog", required=True, help="Catalog URL to copy into.")
@archive_and_json_options
def migrate(
    archive: Archive, actor: str | None, to_storage: str, to_catalog: str, as_json: bool
) -> None:
    """Copy the whole archive to other backends (e.g. S3 + PostgreSQL), checking each blob's
    hash on arrival. Rerun after an interruption: it goes on where it stopped. The archive
    itself is only read; point its settings at the new backends afterwards."""
    with stage_bars() as progress:
        report = archive.migrate(to_storage, to_catalog, progress=progress, actor=actor)
    emit(
        as_json,
        report.to_dict(),
        f"migrated: {report.blobs_copied} blobs copied ({report.blobs_present} already "
        f"there), {report.records_copied} records ({report.records_present} already there), "
        f"{report.numbers} register lines, {report.sequences} sequences, "
        f"{report.events_copied} audit events ({report.events_present} already there)",
    )
