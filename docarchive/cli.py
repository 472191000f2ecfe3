"""The ``docarchive`` command: a thin twin of the :class:`~docarchive.Archive` API.

Each subcommand parses its options, calls one library method and prints the
result — readable text, or JSON with ``--json``. Library errors become a
one-line message and exit code 1, here and only here; usage errors exit 2.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from . import __version__
from .archive import Archive
from .config import default_root
from .errors import DocArchiveError

F = TypeVar("F", bound=Callable[..., Any])


class _Group(click.Group):
    """Turns library errors into one-line messages and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DocArchiveError as exc:
            click.echo(f"docarchive: error: {exc}", err=True)
            ctx.exit(1)
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            click.echo(f"docarchive: error: {where}{exc.strerror or exc}", err=True)
            ctx.exit(1)


def _dump(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def archive_options(func: F) -> F:
    """--root and --user on every command that opens the archive; passes the open archive."""

    def wrapper(root: Path | None, actor: str | None, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        obj = ctx.find_root().obj or {}
        root = root or obj.get("root") or default_root()
        actor = actor or obj.get("actor")
        archive = Archive.open(root)
        try:
            return ctx.invoke(func, archive, actor, **kwargs)
        finally:
            archive.close()

    functools.update_wrapper(wrapper, func)  # keeps the command's own options and help
    wrapper = click.option(
        "--user",
        "actor",
        help="Who is acting, for the audit trail [env DOCARCHIVE_USER; default: OS user].",
    )(wrapper)
    wrapper = click.option(
        "--root",
        type=click.Path(path_type=Path),
        help="Archive folder [env DOCARCHIVE_ROOT; default ./archive].",
    )(wrapper)
    return wrapper  # type: ignore[return-value]


json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")


def _load_data(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DocArchiveError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise DocArchiveError(f"{path}: not UTF-8 text") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DocArchiveError(f"{path}: not valid JSON: {exc.msg} (line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise DocArchiveError(f"{path}: the data must be a JSON object of fields")
    return data


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="docarchive")
@click.option(
    "--root",
    type=click.Path(path_type=Path),
    help="Archive folder [env DOCARCHIVE_ROOT; default ./archive].",
)
@click.option("--user", "actor", help="Who is acting [env DOCARCHIVE_USER].")
@click.pass_context
def main(ctx: click.Context, root: Path | None, actor: str | None) -> None:
    """Archive, number and search ministry correspondence."""
    ctx.obj = {"root": root, "actor": actor}


@main.command()
@click.argument("root", required=False, type=click.Path(path_type=Path))
@click.option("--storage", help="Blob storage URL (default: file://ROOT/blobs).")
@click.option("--catalog", help="Catalog URL (default: sqlite:///ROOT/catalog.sqlite).")
@click.option("--index", help="Search index URL (default: whoosh:///ROOT/index).")
@json_option
@click.pass_context
def init(
    ctx: click.Context,
    root: Path | None,
    storage: str | None,
    catalog: str | None,
    index: str | None,
    as_json: bool,
) -> None:
    """Create a new archive in ROOT."""
    obj = ctx.find_root().obj or {}
    root = root or obj.get("root") or default_root()
    with Archive.init(
        root, storage=storage, catalog=catalog, index=index, actor=obj.get("actor")
    ) as archive:
        s = archive.settings
        info = {
            "root": str(s.root),
            "storage": s.storage_url,
            "catalog": s.catalog_url,
            "index": s.index_url,
        }
    if as_json:
        _dump(info)
    else:
        click.echo(f"created an archive in {info['root']}")


@main.group()
def templates() -> None:
    """Document templates."""


@templates.command("list")
@archive_options
@json_option
def templates_list(archive: Archive, actor: str | None, as_json: bool) -> None:
    """List the templates, built-in ones and the office's own, with the fields each needs.

    The archive gives every template ministry, office, office_code, number and date.
    """
    from .templates.render import ARCHIVE_FIELDS

    found: dict[str, Any] = {}
    for kind, path in sorted(archive.templates().items()):
        fields = archive.template_fields(path)
        found[kind] = {
            "path": str(path),
            "needs": [f for f in fields.needs if f not in ARCHIVE_FIELDS],
            **fields.to_dict(),
        }
    if as_json:
        _dump(found)
    else:
        for kind, info in found.items():
            click.echo(f"{kind}\t{info['path']}")
            click.echo(f"  needs: {', '.join(info['needs']) or '-'}")
            if info["optional"]:
                click.echo(f"  optional: {', '.join(info['optional'])}")


@main.command()
@click.argument("template")
@click.argument("data", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    required=True,
    help="Where to write the document: OUT.docx, or OUT.pdf (through LibreOffice).",
)
@archive_options
def render(archive: Archive, actor: str | None, template: str, data: Path, output: Path) -> None:
    """Render TEMPLATE (a kind or a .docx file) with DATA.json, without numbering it.

    Image paths in the data (logo, {"image": ...}) are read relative to DATA.json.
    """
    fmt = output.suffix.lower().lstrip(".")
    if fmt not in ("docx", "pdf"):
        raise DocArchiveError(f"{output}: the output must be a .docx or a .pdf file")
    document = archive.render(template, _load_data(data), format=fmt, image_dir=data.parent)
    output.write_bytes(document)
    click.echo(f"wrote {output}")


@main.command()
@click.argument("kind")
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--classification", help="public, internal, confidential, secret, top-secret.")
@archive_options
@json_option
def issue(
    archive: Archive,
    actor: str | None,
    kind: str,
    data: Path,
    classification: str | None,
    as_json: bool,
) -> None:
    """Issue a numbered document of KIND from DATA.json."""
    record = archive.issue(kind, _load_data(data), classification=classification, actor=actor)
    if as_json:
        _dump(record.to_dict(text=False))
    else:
        click.echo(f"issued {record.kind} {record.number}  (id {record.id})")


@main.group()
def ingest() -> None:
    """Archive what arrives: paper scans and mail."""


@ingest.command("scan")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--classification", help="public, internal, confidential, secret, top-secret.")
@click.option("--sender", help="Who sent it (else the sidecar's, else none).")
@click.option("--subject", help="Subject (else the sidecar's, else the first line of text).")
@click.option("--department", help="The department it is referred to (on the stamp).")
@click.option("--received", help="Date received, YYYY-MM-DD (default: today).")
@click.option(
    "--stamp/--no-stamp",
    default=True,
    show_default=True,
    help="Put the incoming stamp (ختم الوارد) on the PDF rendition's first page.",
)
@archive_options
@json_option
def ingest_scan(
    archive: Archive,
    actor: str | None,
    files: tuple[Path, ...],
    classification: str | None,
    sender: str | None,
    subject: str | None,
    department: str | None,
    received: str | None,
    stamp: bool,
    as_json: bool,
) -> None:
    """Archive scans (files or folders); each takes the next incoming registration number
    (سجل الوارد). Metadata from the options, else from a sidecar JSON beside each file
    (scan.pdf.json or scan.json: sender, subject, department, received, classification).
    Refused files go to quarantine and take no number."""
    from tqdm import tqdm

    missing = [str(f) for f in files if not f.exists()]
    if missing:
        raise DocArchiveError(f"{missing[0]}: no such file or folder")
    with tqdm(desc="ingest", unit="file", disable=not sys.stderr.isatty(), leave=False) as bar:
        result = archive.ingest_scans(
            files,
            sender=sender,
            subject=subject,
            department=department,
            received=received,
            classification=classification,
            stamp=stamp,
            actor=actor,
            progress=lambda _: bar.update(),
        )
    if as_json:
        _dump(result.to_dict())
    else:
        for r in result.ingested:
            click.echo(f"archived {r.files[0].name}  {r.number or ''}  (id {r.id})")
        for d in result.duplicates:
            click.echo(f"already archived {d['file']}  (id {d['id']})")
        for q in result.quarantined:
            click.echo(f"quarantined {q['file']}: {q['reason']}")
    done = len(result.ingested) + len(result.duplicates)
    if result.quarantined:
        summary = f"{len(result.quarantined)} of {done + len(result.quarantined)} files quarantined"
        if done == 0:
            first = result.quarantined[0]
            raise DocArchiveError(f"{summary}: {first['file']}: {first['reason']}")
        click.echo(f"docarchive: {summary}", err=True)


@ingest.command("mail")
@click.argument("sources", nargs=-1, required=True)
@click.option("--since", help="IMAP only: mail received on or after this date (YYYY-MM-DD).")
@click.option("--classification", help="public, internal, confidential, secret, top-secret.")
@archive_options
@json_option
def ingest_mail(
    archive: Archive,
    actor: str | None,
    sources: tuple[str, ...],
    since: str | None,
    classification: str | None,
    as_json: bool,
) -> None:
    """Archive mail: .eml and mbox files, Maildir folders, folders of them, and IMAP
    mailboxes (imaps://USER@HOST/INBOX; password in DOCARCHIVE_IMAP_PASSWORD or ~/.netrc).
    A rerun fetches only new mail; refused messages go to quarantine."""
    from tqdm import tqdm

    from .ingest import is_imap_url

    missing = [s for s in sources if not is_imap_url(s) and not Path(s).exists()]
    if missing:
        raise DocArchiveError(f"{missing[0]}: no such file or folder")
    with tqdm(desc="ingest", unit="msg", disable=not sys.stderr.isatty(), leave=False) as bar:
        result = archive.ingest_mails(
            sources,
            since=since,
            classification=classification,
            actor=actor,
            progress=lambda _: bar.update(),
        )
    if as_json:
        _dump(result.to_dict())
    else:
        for r in result.ingested:
            click.echo(f"archived mail {r.subject}  (id {r.id}, {len(r.files) - 1} attached)")
        for d in result.duplicates:
            click.echo(f"already archived {d['file']}  (id {d['id']})")
        for q in result.quarantined:
            click.echo(f"quarantined {q['file']}: {q['reason']}")
    done = len(result.ingested) + len(result.duplicates)
    if result.quarantined:
        total = done + len(result.quarantined)
        summary = f"{len(result.quarantined)} of {total} messages quarantined"
        if done == 0:
            first = result.quarantined[0]
            raise DocArchiveError(f"{summary}: {first['file']}: {first['reason']}")
        click.echo(f"docarchive: {summary}", err=True)


@main.command()
@click.argument("query")
@click.option("--kind", help="Only records of this kind.")
@click.option("--office", help="Only records of this office code.")
@click.option("--sender", help="Only records from this sender (exact).")
@click.option("--from", "date_from", help="From this date (YYYY-MM-DD).")
@click.option("--to", "date_to", help="To this date (YYYY-MM-DD).")
@click.option("--sort", type=click.Choice(["relevance", "newest"]), default="relevance")
@click.option("--page", type=click.IntRange(min=1), default=1)
@click.option("--limit", type=click.IntRange(min=1), default=10, help="Hits per page.")
@click.option(
    "--clearance",
    envvar="DOCARCHIVE_CLEARANCE",
    help="Search with a lower clearance than your own ([access.users] in the settings) "
    "[env DOCARCHIVE_CLEARANCE].",
)
@archive_options
@json_option
def search(
    archive: Archive,
    actor: str | None,
    query: str,
    kind: str | None,
    office: str | None,
    sender: str | None,
    date_from: str | None,
    date_to: str | None,
    sort: str,
    page: int,
    limit: int,
    clearance: str | None,
    as_json: bool,
) -> None:
    """Full-text search in Arabic and English.

    QUERY is in whoosh's query language: words (any form: الوزارة finds والوزاره),
    "exact phrases", AND/OR/NOT, field:value (subject, sender, to, number, kind, office,
    year, issued, received, attachments, exact) and wildcards (وزار*).
    """
    from .config import default_actor

    results = archive.search(
        query,
        kind=kind,
        office=office,
        sender=sender,
        date_from=date_from,
        date_to=date_to,
        sort=sort,
        page=page,
        page_size=limit,
        clearance=clearance,
        user=actor or default_actor(),
    )
    if as_json:
        _dump(results.to_dict())
        return
    first = (page - 1) * limit + 1
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


@main.command()
@click.argument("id")
@click.option(
    "--clearance",
    envvar="DOCARCHIVE_CLEARANCE",
    help="Show with a lower clearance than your own ([access.users] in the settings) "
    "[env DOCARCHIVE_CLEARANCE].",
)
@archive_options
@json_option
def show(
    archive: Archive, actor: str | None, id: str, clearance: str | None, as_json: bool
) -> None:
    """Show one record, by id or number, with its referrals; for mail, its thread too."""
    from .config import default_actor

    level = archive._clearance(clearance, actor or default_actor())
    record = archive.get(id, clearance=level)
    thread = archive.thread(record.id, clearance=level) if record.source == "mail" else []
    referrals = archive.referrals(record.id, clearance=level)
    if as_json:
        listed = [{"id": r.id, "subject": r.subject, "sender": r.sender} for r in thread]
        shown = {**record.to_dict(), "thread": listed} if thread else record.to_dict()
        _dump({**shown, "referrals": referrals})
        return
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
    _echo_referrals(referrals)
    click.echo("")
    click.echo(record.text)


# -- referral and follow-up ------------------------------------------------------------------


def _echo_referrals(items: list[dict[str, Any]]) -> None:
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


def _day_option(value: str | None) -> str | None:
    from .followup import parse_day

    return parse_day(value).isoformat() if value else None


@main.command()
@click.argument("id")
@click.option("--to", "departments", multiple=True, required=True, help="A department (repeat).")
@click.option("--instruction", required=True, help="What the departments are to do.")
@click.option("--due", help="Due date (YYYY-MM-DD), not in the past.")
@click.option("--priority", help="urgent, normal, ... ([followup.priorities]): sets the due date.")
@click.option(
    "--follow-up", "follow_up", is_flag=True, help="A follow-up item of an issued directive."
)
@archive_options
@json_option
def refer(
    archive: Archive,
    actor: str | None,
    id: str,
    departments: tuple[str, ...],
    instruction: str,
    due: str | None,
    priority: str | None,
    follow_up: bool,
    as_json: bool,
) -> None:
    """Refer record ID (id or number) to departments with an instruction; or refer a
    referral (its id) onward to a division. One referral per department."""
    from .config import default_actor

    if due and priority:
        raise click.UsageError("give --due or --priority, not both")
    made = archive.refer(
        id,
        departments,
        instruction,
        due=due,
        priority=priority,
        kind="followup" if follow_up else "referral",
        user=actor or default_actor(),
        actor=actor,
    )
    if as_json:
        _dump([r.to_dict() for r in made])
        return
    for r in made:
        click.echo(f"referred to {r.department}, due {r.due}  (referral {r.id})")


@main.command()
@click.argument("referral")
@click.option("--with", "reply", required=True, help="The answering record (id or number).")
@archive_options
@json_option
def answer(archive: Archive, actor: str | None, referral: str, reply: str, as_json: bool) -> None:
    """Answer REFERRAL with a record (an issued letter, a mail, a scan)."""
    from .config import default_actor

    done = archive.answer(referral, reply, user=actor or default_actor(), actor=actor)
    if as_json:
        _dump(done.to_dict())
    else:
        click.echo(f"referral {done.id} ({done.department}) answered by {reply}")


@main.command()
@click.argument("referral")
@click.option("--reason", required=True, help="Why it is closed without an answer.")
@click.option("--cancel", is_flag=True, help="Cancel it rather than close it.")
@archive_options
@json_option
def close(
    archive: Archive, actor: str | None, referral: str, reason: str, cancel: bool, as_json: bool
) -> None:
    """Close REFERRAL by hand, with a reason."""
    from .config import default_actor

    done = archive.close_referral(
        referral, reason, cancel=cancel, user=actor or default_actor(), actor=actor
    )
    if as_json:
        _dump(done.to_dict())
    else:
        click.echo(f"referral {done.id} ({done.department}) {done.status}: {done.closed_reason}")


@main.command()
@click.option("--department", help="One department's items (within its clearance).")
@click.option("--overdue", is_flag=True, help="Only what is past due.")
@click.option("--as-of", "as_of", help="The day to count from (YYYY-MM-DD; default today).")
@click.option("--record", help="Every referral of one record, with its chain, instead.")
@archive_options
@json_option
def followup(
    archive: Archive,
    actor: str | None,
    department: str | None,
    overdue: bool,
    as_of: str | None,
    record: str | None,
    as_json: bool,
) -> None:
    """Open referrals and follow-up items: who has what, due when, how late."""
    from .config import default_actor

    user = actor or default_actor()
    if record is not None:
        items = archive.referrals(record, user=user)
    else:
        items = archive.followup(
            department=department, overdue=overdue, as_of=_day_option(as_of), user=user
        )
    if as_json:
        _dump(items)
        return
    if record is not None:
        _echo_referrals(items)
        if not items:
            click.echo("no referrals")
        return
    for i in items:
        late = f"  {i['days_late']} days late" if i.get("days_late") else ""
        chain = " → ".join(i["chain"])
        click.echo(f"{i['id']}  {i['department']}  due {i['due']}  {i['status']}{late}")
        click.echo(f"  {i.get('subject') or i['record_id']}: {i['instruction']}  [{chain}]")
    if not items:
        click.echo("nothing open")


@main.group()
def report() -> None:
    """Follow-up reports: -o REPORT.docx|.pdf (from the report_overdue template) or --json."""


def _report_out(
    archive: Archive,
    which: str,
    output: Path | None,
    as_json: bool,
    data: Callable[[], Any],
    **kwargs: Any,
) -> None:
    if as_json:
        _dump(data())
        return
    if output is None:
        raise click.UsageError("give -o REPORT.docx|REPORT.pdf, or --json")
    fmt = output.suffix.lower().lstrip(".")
    if fmt not in ("docx", "pdf"):
        raise DocArchiveError(f"{output}: the report must be a .docx or a .pdf file")
    output.write_bytes(archive.report(which, format=fmt, **kwargs))
    click.echo(f"wrote {output}")


_output_option = click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="REPORT.docx or REPORT.pdf."
)


@report.command("overdue")
@click.option("--as-of", "as_of", help="The day (YYYY-MM-DD; default today).")
@click.option("--department", help="One department only.")
@_output_option
@archive_options
@json_option
def report_overdue(
    archive: Archive,
    actor: str | None,
    as_of: str | None,
    department: str | None,
    output: Path | None,
    as_json: bool,
) -> None:
    """The delayed business of every department: item, referred on, due, days late, chain."""
    from .config import default_actor

    user = actor or default_actor()
    day = _day_option(as_of) or archive.now().date().isoformat()

    def data() -> dict[str, Any]:
        rows = archive.overdue(as_of=day, department=department, user=user)
        grouped: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            grouped.setdefault(row.department, []).append(row.to_dict())
        return {
            "as_of": day,
            "total": len(rows),
            "departments": [{"department": d, "items": i} for d, i in grouped.items()],
        }

    _report_out(
        archive, "overdue", output, as_json, data, as_of=day, department=department, user=user
    )


@report.command("department")
@click.argument("department")
@click.option("--as-of", "as_of", help="The day (YYYY-MM-DD; default today).")
@_output_option
@archive_options
@json_option
def report_department(
    archive: Archive,
    actor: str | None,
    department: str,
    as_of: str | None,
    output: Path | None,
    as_json: bool,
) -> None:
    """DEPARTMENT's open items (within its clearance)."""
    from .config import default_actor

    user = actor or default_actor()
    day = _day_option(as_of) or archive.now().date().isoformat()
    _report_out(
        archive,
        "department",
        output,
        as_json,
        lambda: archive.followup(department=department, as_of=day, user=user),
        as_of=day,
        department=department,
        user=user,
    )


@report.command("incoming")
@click.option("--from", "date_from", help="Received on or after (YYYY-MM-DD).")
@click.option("--to", "date_to", help="Received on or before (YYYY-MM-DD).")
@_output_option
@archive_options
@json_option
def report_incoming(
    archive: Archive,
    actor: str | None,
    date_from: str | None,
    date_to: str | None,
    output: Path | None,
    as_json: bool,
) -> None:
    """The register of incoming mail with its referrals and their status."""
    from .config import default_actor

    user = actor or default_actor()
    first, last = _day_option(date_from), _day_option(date_to)
    _report_out(
        archive,
        "incoming",
        output,
        as_json,
        lambda: archive.incoming(date_from=first, date_to=last, user=user),
        date_from=first,
        date_to=last,
        user=user,
    )


@main.command()
@click.argument("number")
@click.option("--reason", required=True, help="Why the number is voided.")
@archive_options
@json_option
def void(archive: Archive, actor: str | None, number: str, reason: str, as_json: bool) -> None:
    """Void an issued NUMBER; it stays in the register and is never reused."""
    entry = archive.void(number, reason, actor=actor)
    if as_json:
        _dump(entry.__dict__)
    else:
        click.echo(f"voided {entry.number}: {entry.reason}")


@main.command()
@click.argument("series")
@click.option("--year", type=int, help="One year of a yearly series.")
@archive_options
@json_option
def register(
    archive: Archive, actor: str | None, series: str, year: int | None, as_json: bool
) -> None:
    """The register of a numbering SERIES: every number and its record or void reason."""
    entries = archive.register(series, year)
    if as_json:
        _dump([e.__dict__ for e in entries])
        return
    for e in entries:
        what = e.record_id if e.status == "issued" else f"VOID: {e.reason}"
        click.echo(f"{e.number}\t{e.status}\t{e.at[:19]}\t{e.actor}\t{what}")


@main.command()
@click.argument("code")
@click.option("--clearance", help="Caller's clearance [env DOCARCHIVE_CLEARANCE].")
@archive_options
@json_option
def check(
    archive: Archive, actor: str | None, code: str, clearance: str | None, as_json: bool
) -> None:
    """Whether a stamp's verification CODE is genuine; exit 1 when it is not."""
    result = archive.check_code(code, clearance=clearance)
    if as_json:
        _dump(result.to_dict())
    else:
        click.echo(f"{'GENUINE' if result.genuine else 'NOT GENUINE'}: {result.reason}")
        if result.record is not None:
            r = result.record
            click.echo(f"{r.number}  {r.kind}  {r.dates.get('issued', '')[:10]}  {r.subject}")
    if not result.genuine:
        sys.exit(1)


@main.command()
@click.option("--strict", is_flag=True, help="Blobs no record refers to are problems too.")
@archive_options
@json_option
def verify(archive: Archive, actor: str | None, strict: bool, as_json: bool) -> None:
    """Re-hash every blob and walk the audit chain; exit 1 if anything is wrong.

    Blobs that no record refers to (left by a failed or interrupted write) are listed as
    notices and do not fail, unless --strict.
    """
    report = archive.verify(strict=strict)
    if as_json:
        _dump(report.to_dict())
    else:
        for p in report.problems:
            click.echo(f"PROBLEM {p.code}: {p.message}")
        for p in report.notices:
            click.echo(f"notice {p.code}: {p.message}")
        state = "ok" if report.ok else f"{len(report.problems)} problem(s)"
        click.echo(
            f"{state}: {report.records} records, {report.blobs} blobs, "
            f"{report.events} audit events checked"
        )
    if not report.ok:
        sys.exit(1)


@main.command()
@archive_options
@json_option
def reindex(archive: Archive, actor: str | None, as_json: bool) -> None:
    """Rebuild the search index from the catalog and blobs."""
    count = archive.reindex()
    if as_json:
        _dump({"indexed": count})
    else:
        click.echo(f"reindexed {count} records")


@main.command()
@click.argument("ids", nargs=-1)
@click.option("--query", help="Export every record this search finds (within your clearance).")
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), required=True, help="New bag folder."
)
@click.option("--clearance", help="Export with a lower clearance than your own.")
@archive_options
@json_option
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
    from .config import default_actor

    if bool(ids) == (query is not None):
        raise click.UsageError("give record IDs or --query, not both")
    bag = archive.export(
        list(ids) or None, query, dest=output, clearance=clearance, user=actor or default_actor()
    )
    count = len([p for p in (bag / "data" / "records").iterdir()])
    if as_json:
        _dump({"bag": str(bag), "records": count})
    else:
        click.echo(f"exported {count} record(s) to {bag}")


@main.command("import")
@click.argument("bag", type=click.Path(path_type=Path))
@archive_options
@json_option
def import_(archive: Archive, actor: str | None, bag: Path, as_json: bool) -> None:
    """Import a BagIt package made by 'export', after checking every hash in it."""
    report = archive.import_bag(bag, actor=actor)
    if as_json:
        _dump(report.to_dict())
    else:
        for r in report.imported:
            click.echo(f"imported {r.number or r.kind} {r.subject}  (id {r.id})")
        for d in report.duplicates:
            click.echo(f"already archived {d['id']}")


@main.command()
@click.option("--to-storage", required=True, help="Blob storage URL to copy into.")
@click.option("--to-catalog", required=True, help="Catalog URL to copy into.")
@archive_options
@json_option
def migrate(
    archive: Archive, actor: str | None, to_storage: str, to_catalog: str, as_json: bool
) -> None:
    """Copy the whole archive to other backends (e.g. S3 + PostgreSQL), checking each blob's
    hash on arrival. Rerun after an interruption: it goes on where it stopped. The archive
    itself is only read; point its settings at the new backends afterwards."""
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
        report = archive.migrate(to_storage, to_catalog, progress=progress, actor=actor)
    finally:
        for bar in bars.values():
            bar.close()
    if as_json:
        _dump(report.to_dict())
    else:
        click.echo(
            f"migrated: {report.blobs_copied} blobs copied ({report.blobs_present} already "
            f"there), {report.records_copied} records ({report.records_present} already there), "
            f"{report.numbers} register lines, {report.sequences} sequences, "
            f"{report.events_copied} audit events ({report.events_present} already there)"
        )
