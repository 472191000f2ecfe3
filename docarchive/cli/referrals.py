"""Referral and follow-up: ``refer``, ``answer``, ``close``, ``followup`` and ``report``."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ..archive import Archive
from .inputs import day, document_format
from .options import (
    archive_and_json_options,
    as_of_option,
    date_range_options,
    output_option,
    stack,
    user_of,
)
from .output import dump, echo_referrals, emit


@click.command("refer")
@click.argument("id")
@click.option("--to", "departments", multiple=True, required=True, help="A department (repeat).")
@click.option("--instruction", required=True, help="What the departments are to do.")
@click.option("--due", help="Due date (YYYY-MM-DD), not in the past.")
@click.option("--priority", help="urgent, normal, ... ([followup.priorities]): sets the due date.")
@click.option(
    "--follow-up", "follow_up", is_flag=True, help="A follow-up item of an issued directive."
)
@archive_and_json_options
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
    if due and priority:
        raise click.UsageError("give --due or --priority, not both")
    made = archive.refer(
        id,
        departments,
        instruction,
        due=due,
        priority=priority,
        kind="followup" if follow_up else "referral",
        user=user_of(actor),
        actor=actor,
    )

    def text() -> None:
        for r in made:
            click.echo(f"referred to {r.department}, due {r.due}  (referral {r.id})")

    emit(as_json, [r.to_dict() for r in made], text)


@click.command("answer")
@click.argument("referral")
@click.option("--with", "reply", required=True, help="The answering record (id or number).")
@archive_and_json_options
def answer(archive: Archive, actor: str | None, referral: str, reply: str, as_json: bool) -> None:
    """Answer REFERRAL with a record (an issued letter, a mail, a scan)."""
    done = archive.answer(referral, reply, user=user_of(actor), actor=actor)
    emit(as_json, done.to_dict(), f"referral {done.id} ({done.department}) answered by {reply}")


@click.command("close")
@click.argument("referral")
@click.option("--reason", required=True, help="Why it is closed without an answer.")
@click.option("--cancel", is_flag=True, help="Cancel it rather than close it.")
@archive_and_json_options
def close(
    archive: Archive, actor: str | None, referral: str, reason: str, cancel: bool, as_json: bool
) -> None:
    """Close REFERRAL by hand, with a reason."""
    done = archive.close_referral(referral, reason, cancel=cancel, user=user_of(actor), actor=actor)
    emit(
        as_json,
        done.to_dict(),
        f"referral {done.id} ({done.department}) {done.status}: {done.closed_reason}",
    )


@click.command("followup")
@click.option("--department", help="One department's items (within its clearance).")
@click.option("--overdue", is_flag=True, help="Only what is past due.")
@as_of_option("The day to count from (YYYY-MM-DD; default today).")
@click.option("--record", help="Every referral of one record, with its chain, instead.")
@archive_and_json_options
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
    user = user_of(actor)
    if record is not None:
        shares = archive.referrals(record, user=user)
        emit(as_json, shares, lambda: _echo_shares(shares))
    else:
        items = archive.followup(
            department=department, overdue=overdue, as_of=day(as_of), user=user
        )
        emit(as_json, items, lambda: _echo_open(items))


def _echo_shares(shares: list[dict[str, Any]]) -> None:
    """``followup --record``: the record's referral tree, or that it has none."""
    echo_referrals(shares)
    if not shares:
        click.echo("no referrals")


def _echo_open(items: list[dict[str, Any]]) -> None:
    """``followup``: each open item, two lines (who, due, how late; what, and its chain)."""
    for i in items:
        late = f"  {i['days_late']} days late" if i.get("days_late") else ""
        chain = " → ".join(i["chain"])
        click.echo(f"{i['id']}  {i['department']}  due {i['due']}  {i['status']}{late}")
        click.echo(f"  {i.get('subject') or i['record_id']}: {i['instruction']}  [{chain}]")
    if not items:
        click.echo("nothing open")


# -- reports ------------------------------------------------------------------------------


@click.group("report")
def report() -> None:
    """Follow-up reports: -o REPORT.docx|.pdf (from the report_overdue template) or --json."""


_report_options = stack(output_option(), archive_and_json_options)


def _report_out(
    archive: Archive,
    which: str,
    output: Path | None,
    as_json: bool,
    data: Callable[..., Any],
    **options: Any,
) -> None:
    """Print the report's ``data(**options)`` as JSON, or write the document
    ``archive.report(which, **options)`` makes to -o."""
    if as_json:
        dump(data(**options))
        return
    if output is None:
        raise click.UsageError("give -o REPORT.docx|REPORT.pdf, or --json")
    fmt = document_format(output, "report")
    output.write_bytes(archive.report(which, format=fmt, **options))
    click.echo(f"wrote {output}")


def report_day(archive: Archive, as_of: str | None) -> str:
    """The day a report is on: --as-of, else today in the office's time zone.
    (Belongs in the library, whose report() defaults to the same day.)"""
    return day(as_of) or archive.now().date().isoformat()


def overdue_report(archive: Archive, *, as_of: str, department: str | None, user: str) -> Any:
    """The overdue report as data: the day, the count and the rows by department.
    (Belongs in the library, beside the document report('overdue') makes.)"""
    rows = archive.overdue(as_of=as_of, department=department, user=user)
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row.department, []).append(row.to_dict())
    return {
        "as_of": as_of,
        "total": len(rows),
        "departments": [{"department": d, "items": i} for d, i in grouped.items()],
    }


@report.command("overdue")
@as_of_option()
@click.option("--department", help="One department only.")
@_report_options
def report_overdue(
    archive: Archive,
    actor: str | None,
    as_of: str | None,
    department: str | None,
    output: Path | None,
    as_json: bool,
) -> None:
    """The delayed business of every department: item, referred on, due, days late, chain."""
    user, on = user_of(actor), report_day(archive, as_of)
    data = functools.partial(overdue_report, archive)
    _report_out(
        archive, "overdue", output, as_json, data, as_of=on, department=department, user=user
    )


@report.command("department")
@click.argument("department")
@as_of_option()
@_report_options
def report_department(
    archive: Archive,
    actor: str | None,
    department: str,
    as_of: str | None,
    output: Path | None,
    as_json: bool,
) -> None:
    """DEPARTMENT's open items (within its clearance)."""
    user, on = user_of(actor), report_day(archive, as_of)
    _report_out(
        archive,
        "department",
        output,
        as_json,
        archive.followup,
        as_of=on,
        department=department,
        user=user,
    )


@report.command("incoming")
@date_range_options("Received on or after (YYYY-MM-DD).", "Received on or before (YYYY-MM-DD).")
@_report_options
def report_incoming(
    archive: Archive,
    actor: str | None,
    date_from: str | None,
    date_to: str | None,
    output: Path | None,
    as_json: bool,
) -> None:
    """The register of incoming mail with its referrals and their status."""
    user, first, last = user_of(actor), day(date_from), day(date_to)
    _report_out(
        archive,
        "incoming",
        output,
        as_json,
        archive.incoming,
        date_from=first,
        date_to=last,
        user=user,
    )
