"""What arrives: ``ingest scan`` and ``ingest mail``, batches that go on past bad inputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..archive import Archive
from .inputs import require_existing
from .options import (
    archive_and_json_options,
    classification_option,
    scan_metadata_options,
)
from .output import echo_batch, progress_bar

follow_links_option = click.option(
    "--follow-links",
    is_flag=True,
    help="Follow symbolic links inside the folders given (by default they are refused, "
    "unread). Risky: anyone who can write in those folders can then have any file this "
    "account can read archived and indexed.",
)


@click.group("ingest")
def ingest() -> None:
    """Archive what arrives: paper scans and mail."""


@ingest.command("scan")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@classification_option
@scan_metadata_options
@follow_links_option
@archive_and_json_options
def ingest_scan(
    archive: Archive,
    actor: str | None,
    files: tuple[Path, ...],
    follow_links: bool,
    as_json: bool,
    **metadata: Any,
) -> None:
    """Archive scans (files or folders); each takes the next incoming registration number
    (سجل الوارد). Metadata from the options, else from a sidecar JSON beside each file
    (scan.pdf.json or scan.json: sender, subject, department, received, classification).
    Refused files go to quarantine and take no number. Symbolic links inside the folders
    given are refused unread (a path given may itself be a link)."""
    # metadata: --classification, --sender, --subject, --department, --received, --stamp
    require_existing(files)
    with progress_bar("file") as progress:
        result = archive.ingest_scans(
            files, **metadata, actor=actor, progress=progress, follow_links=follow_links
        )
    echo_batch(
        result,
        as_json,
        "files",
        lambda r: f"archived {r.files[0].name}  {r.number or ''}  (id {r.id})",
    )


@ingest.command("mail")
@click.argument("sources", nargs=-1, required=True)
@click.option("--since", help="IMAP only: mail received on or after this date (YYYY-MM-DD).")
@classification_option
@follow_links_option
@archive_and_json_options
def ingest_mail(
    archive: Archive,
    actor: str | None,
    sources: tuple[str, ...],
    since: str | None,
    classification: str | None,
    follow_links: bool,
    as_json: bool,
) -> None:
    """Archive mail: .eml and mbox files, Maildir folders, folders of them, and IMAP
    mailboxes (imaps://USER@HOST/INBOX; password in DOCARCHIVE_IMAP_PASSWORD or ~/.netrc).
    A rerun fetches only new mail; refused messages go to quarantine. Symbolic links
    inside the folders given are refused unread (a path given may itself be a link)."""
    from ..ingest import is_imap_url

    require_existing(sources, elsewhere=is_imap_url)
    with progress_bar("msg") as progress:
        result = archive.ingest_mails(
            sources,
            since=since,
            classification=classification,
            actor=actor,
            progress=progress,
            follow_links=follow_links,
        )
    echo_batch(
        result,
        as_json,
        "messages",
        lambda r: f"archived mail {r.subject}  (id {r.id}, {len(r.files) - 1} attached)",
    )
