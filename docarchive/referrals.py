"""Referral and follow-up at work: a record referred to departments (هامش), answered,
closed or referred onward; the open and overdue business of each department, the incoming
register with its referrals, and the follow-up reports as documents.

The rules (deadlines, working days, statuses, chains) are in :mod:`docarchive.followup`;
the catalog keeps the referrals, each change an audit event on its record.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING, Any

from .errors import AccessDeniedError, NotFoundError, TemplateError
from .followup import KINDS as FOLLOWUP_KINDS
from .followup import (
    MAX_INSTRUCTION,
    REPORT_TEMPLATE,
    FollowupError,
    OverdueRow,
    Referral,
    days_late,
    due_date,
    note_status,
    parse_day,
    report_context,
)
from .followup import chain as followup_chain
from .records import Classification, new_id
from .templates import render_docx

if TYPE_CHECKING:
    from .core import Core
    from .issuing import Templates

__all__ = ["Referrals"]


class Referrals:
    """Referrals, follow-up items and their reports in one archive."""

    def __init__(self, core: Core, templates: Templates) -> None:
        self.core = core
        self.templates = templates

    def refer(
        self,
        id_or_referral: str,
        departments: str | Iterable[str],
        instruction: str,
        *,
        due: date | str | None = None,
        priority: str | None = None,
        kind: str = "referral",
        clearance: str | Classification | None = None,
        user: str | None = None,
        actor: str | None = None,
    ) -> list[Referral]:
        """Refer a record (id or number) to one or more departments with an instruction, or
        refer a department's referral onward (give its id): one :class:`~docarchive.followup.
        Referral` per department, made together (one ``note_id``) in one transaction, each
        an audit event on the record.

        ``due`` (a date, not in the past) or ``priority`` (``[followup.priorities]``: urgent
        3 days, normal 14, in working days unless ``working_days = false``) sets the
        deadline. ``kind="followup"`` makes follow-up items of an issued directive.
        FollowupError for an unknown department or priority, a due date in the past, an
        empty instruction, or a department whose clearance is below the record's
        classification; nothing is written then.
        """
        rules = self.core.settings.followup
        if kind not in FOLLOWUP_KINDS:
            raise FollowupError(f"kind must be one of {', '.join(FOLLOWUP_KINDS)}, not {kind!r}")
        parent = self.core.catalog.get_referral(id_or_referral)
        if parent is not None:
            if parent.status != "open":
                raise FollowupError(
                    f"referral {parent.id} is {parent.status}: only an open one can be referred on"
                )
            record = self.core.get(parent.record_id, clearance=clearance, user=user)
        else:
            record = self.core.get(id_or_referral, clearance=clearance, user=user)
        names = [departments] if isinstance(departments, str) else list(departments)
        names = list(dict.fromkeys(n.strip() for n in names if n.strip()))
        if not names:
            raise FollowupError("name at least one department to refer to")
        text = instruction.strip()
        if not text:
            raise FollowupError("the instruction is empty")
        if len(text) > MAX_INSTRUCTION:
            raise FollowupError(f"the instruction is longer than {MAX_INSTRUCTION} characters")
        for name in names:
            dept = rules.department(name)
            if dept.clearance < record.classification:
                raise FollowupError(
                    f"department {name!r} holds clearance {dept.clearance.label}; record "
                    f"{record.id} is {record.classification.label}"
                )
        now = self.core.now()
        day, label = due_date(now.date(), rules, due=due, priority=priority)
        who = self.core.actor(actor)
        note = new_id()
        made = [
            Referral(
                id=f"{note}-{position}",
                note_id=note,
                record_id=record.id,
                department=name,
                instruction=text,
                referred_by=who,
                referred_at=now.isoformat(),
                due=day.isoformat(),
                priority=label,
                kind=kind,
                parent_id=parent.id if parent is not None else None,
                classification=record.classification,
            )
            for position, name in enumerate(names, start=1)
        ]
        with self.core.catalog.transaction(who) as tx:
            for referral in made:
                tx.add_referral(referral)
        self.core.catch_up()
        return made

    def answer(
        self,
        referral_id: str,
        reply: str,
        *,
        clearance: str | Classification | None = None,
        user: str | None = None,
        actor: str | None = None,
    ) -> Referral:
        """Answer a referral with a record (an issued letter, an ingested mail or scan; id or
        number): the referral becomes ``answered``; the note's other departments stay open.
        A second answer (another process, a later reply) is kept beside the first."""
        referral = self.referral(referral_id, clearance=clearance, user=user)
        try:
            answer = self.core.get(reply, clearance=clearance, user=user)
        except NotFoundError:
            raise NotFoundError(
                f"cannot answer referral {referral.id}: {reply!r} is not a record in the archive"
            ) from None
        if answer.id == referral.record_id:
            raise FollowupError(f"record {answer.id} is the referred record, not an answer to it")
        with self.core.catalog.transaction(self.core.actor(actor)) as tx:
            done = tx.answer_referral(referral.id, answer.id, self.core.now().isoformat())
        self.core.catch_up()
        return done

    def close_referral(
        self,
        referral_id: str,
        reason: str,
        *,
        cancel: bool = False,
        clearance: str | Classification | None = None,
        user: str | None = None,
        actor: str | None = None,
    ) -> Referral:
        """Close an open referral by hand (or cancel it); a reason is required."""
        if not reason.strip():
            raise FollowupError("a reason is required to close a referral")
        referral = self.referral(referral_id, clearance=clearance, user=user)
        status = "cancelled" if cancel else "closed"
        with self.core.catalog.transaction(self.core.actor(actor)) as tx:
            done = tx.close_referral(
                referral.id, reason.strip(), self.core.now().isoformat(), status=status
            )
        self.core.catch_up()
        return done

    def referral(
        self,
        referral_id: str,
        *,
        clearance: str | Classification | None = None,
        user: str | None = None,
    ) -> Referral:
        """One referral; NotFoundError, or AccessDeniedError above the caller's clearance."""
        referral = self.core.catalog.get_referral(referral_id.strip())
        if referral is None:
            raise NotFoundError(f"no referral {referral_id!r}")
        allowed = self.core.clearance(clearance, user)
        if referral.classification > allowed:
            raise AccessDeniedError(
                f"referral {referral_id!r} is classified above your clearance ({allowed.label})"
            )
        return referral

    def referrals(
        self,
        record_id: str,
        *,
        clearance: str | Classification | None = None,
        user: str | None = None,
    ) -> list[dict[str, Any]]:
        """Every referral of a record, each with its whole chain, and each note's status
        (``partly answered`` when some departments answered and others not)."""
        record = self.core.get(record_id, clearance=clearance, user=user)
        found = self.core.catalog.referrals(record_ids=[record.id])
        by_id = {r.id: r for r in found}
        notes: dict[str, list[Referral]] = {}
        for r in found:
            notes.setdefault(r.note_id, []).append(r)
        return [
            {
                **r.to_dict(),
                "chain": list(followup_chain(r, by_id)),
                "note_status": note_status(notes[r.note_id])["status"],
            }
            for r in found
        ]

    def followup(
        self,
        *,
        department: str | None = None,
        overdue: bool = False,
        as_of: date | str | None = None,
        clearance: str | Classification | None = None,
        user: str | None = None,
    ) -> list[dict[str, Any]]:
        """Open business: every open referral and follow-up item (of one department), with
        its record's subject and number, the chain, and days late on ``as_of`` (default
        today); ``overdue`` keeps only what is past due. Nothing above the caller's
        clearance, nor above the department's."""
        allowed = self.core.clearance(clearance, user)
        if department is not None:
            allowed = min(allowed, self.core.settings.followup.department(department).clearance)
        day = parse_day(as_of) if as_of is not None else self.core.now().date()
        found = self.core.catalog.referrals(
            department=department, status="open", max_classification=int(allowed)
        )
        if overdue:
            found = [r for r in found if r.due < day.isoformat()]
        records = self.core.catalog.get_many(sorted({r.record_id for r in found}))
        by_id = self._with_ancestors(found, allowed)
        items = []
        for r in sorted(found, key=lambda r: (r.department, r.due, r.id)):
            rec = records.get(r.record_id)
            items.append(
                {
                    **r.to_dict(),
                    "subject": rec.subject if rec else "",
                    "number": rec.number if rec else None,
                    "chain": list(followup_chain(r, by_id)),
                    "days_late": days_late(r.due, day),
                    "overdue": r.due < day.isoformat(),
                }
            )
        return items

    def overdue(
        self,
        *,
        as_of: date | str | None = None,
        department: str | None = None,
        clearance: str | Classification | None = None,
        user: str | None = None,
    ) -> list[OverdueRow]:
        """The delayed business of every department (or one): open referrals past due on
        ``as_of`` (default today, office time zone), by department then due date, each
        with days late and its chain. Within the caller's clearance and each
        department's."""
        allowed = self.core.clearance(clearance, user)
        rules = self.core.settings.followup
        if department is not None:
            allowed = min(allowed, rules.department(department).clearance)
        day = parse_day(as_of) if as_of is not None else self.core.now().date()
        found = self.core.catalog.overdue_referrals(
            day.isoformat(), max_classification=int(allowed), department=department
        )
        by_id = self._with_ancestors([r for r, _, _ in found], allowed)
        rows = []
        for r, subject, number in found:
            dept = rules.departments.get(r.department)
            if dept is not None and r.classification > dept.clearance:
                continue
            rows.append(
                OverdueRow(
                    referral_id=r.id,
                    record_id=r.record_id,
                    department=r.department,
                    subject=subject,
                    number=number,
                    instruction=r.instruction,
                    referred_at=r.referred_at,
                    due=r.due,
                    days_late=days_late(r.due, day),
                    chain=followup_chain(r, by_id),
                    classification=r.classification,
                )
            )
        return rows

    def _with_ancestors(
        self, referrals: list[Referral], allowed: Classification
    ) -> dict[str, Referral]:
        """``referrals`` by id, with every parent up their chains (within ``allowed``)."""
        by_id = {r.id: r for r in referrals}
        wanted = {r.parent_id for r in referrals if r.parent_id} - set(by_id)
        while wanted:
            found = self.core.catalog.referrals(ids=sorted(wanted), max_classification=int(allowed))
            by_id.update((r.id, r) for r in found)
            wanted = {r.parent_id for r in found if r.parent_id} - set(by_id)
        return by_id

    def incoming(
        self,
        *,
        date_from: date | str | None = None,
        date_to: date | str | None = None,
        clearance: str | Classification | None = None,
        user: str | None = None,
    ) -> list[dict[str, Any]]:
        """The register of incoming mail (scans and mails received from ``date_from`` to
        ``date_to``, inclusive, office time zone) with its referrals and their status."""
        allowed = self.core.clearance(clearance, user)
        first = parse_day(date_from) if date_from is not None else None
        last = parse_day(date_to) if date_to is not None else None
        chosen = []
        for record in self.core.catalog.records():
            received = record.dates.get("received", "")
            if record.source not in ("scan", "mail") or record.kind == "attachment":
                continue
            if not received or record.classification > allowed:
                continue
            day = received[:10]
            if (first and day < first.isoformat()) or (last and day > last.isoformat()):
                continue
            chosen.append(record)
        found = self.core.catalog.referrals(
            record_ids=[r.id for r in chosen], max_classification=int(allowed)
        )
        by_record: dict[str, list[Referral]] = {}
        for r in found:
            by_record.setdefault(r.record_id, []).append(r)
        by_id = {r.id: r for r in found}
        out = []
        for record in sorted(chosen, key=lambda r: (r.dates["received"], r.id)):
            shares = by_record.get(record.id, [])
            out.append(
                {
                    "id": record.id,
                    "kind": record.kind,
                    "number": record.number,
                    "subject": record.subject,
                    "sender": record.sender,
                    "received": record.dates["received"],
                    "classification": record.classification.label,
                    "status": note_status(shares)["status"],
                    "referrals": [
                        {**r.to_dict(), "chain": list(followup_chain(r, by_id))} for r in shares
                    ],
                }
            )
        return out

    def report(
        self,
        which: str,
        *,
        format: str = "docx",
        as_of: date | str | None = None,
        department: str | None = None,
        date_from: date | str | None = None,
        date_to: date | str | None = None,
        clearance: str | Classification | None = None,
        user: str | None = None,
    ) -> bytes:
        """A follow-up report as a document (``docx``, or ``pdf`` through LibreOffice),
        rendered from the ``report_overdue`` template (the office may override it):

        * ``overdue`` — the delayed business of every department (or one), on ``as_of``;
        * ``department`` — one department's open items;
        * ``incoming`` — the register of incoming mail with referrals and status.
        """
        if format not in ("docx", "pdf"):
            raise TemplateError(f"unknown output format {format!r} (known: docx, pdf)")
        day = parse_day(as_of) if as_of is not None else self.core.now().date()
        fmt = self.templates.date_format()

        def shown(iso: str) -> str:
            return parse_day(iso).strftime(fmt)

        if which == "overdue":
            rows = self.overdue(as_of=day, department=department, clearance=clearance, user=user)
            context = report_context(
                "overdue", rows, day.strftime(fmt), shown, department=department
            )
        elif which == "department":
            if department is None:
                raise FollowupError("the department report needs a department")
            items = self.followup(department=department, as_of=day, clearance=clearance, user=user)
            context = report_context(
                "department", items, day.strftime(fmt), shown, department=department
            )
        elif which == "incoming":
            entries = self.incoming(
                date_from=date_from, date_to=date_to, clearance=clearance, user=user
            )
            span = " — ".join(shown(str(d)) for d in (date_from, date_to) if d is not None)
            context = report_context("incoming", entries, span or day.strftime(fmt), shown)
        else:
            raise FollowupError(f"unknown report {which!r} (known: overdue, department, incoming)")
        template = self.templates.of_kind(REPORT_TEMPLATE)
        docx = render_docx(
            template,
            self.templates.context(context, number=None, when=self.core.now()),
            self.core.settings.limits,
            date_format=fmt,
        )
        if format == "docx":
            return docx
        return self.core.to_pdf([docx], [f"{which}.docx"])[0]
