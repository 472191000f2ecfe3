# Arabic letters in strings are intended, not confusables:
"""Referral and follow-up: the margin note (هامش), its deadlines and its chain.

A record that comes in (a scan, a mail) is *referred* by the minister or the
office director to one or more departments, each with an instruction and a due
date; an issued decision or circular may carry *follow-up items* of the same
shape. Each department's share is one :class:`Referral`; the referrals made
together share a ``note_id``, so a note answered by one of two departments is
half closed. A department can refer its share onward (department → division):
the new referral names its ``parent``, and :func:`chain` walks back to the
director who wrote the note.

Rules kept here, free of any backend:

* a priority implies a due date (``urgent`` = 3 days, ``normal`` = 14; see
  :class:`FollowupSettings`), counted in working days when ``working_days`` is
  on: Friday and Saturday off, and the public holidays listed in the settings;
* a due date is never in the past (in the office's time zone);
* a department is one the settings know, and a record goes only to a
  department whose clearance covers its classification;
* statuses: ``open`` → ``answered`` (a reply record links to it) or ``closed``
  (by hand, with a reason) or ``cancelled``.

``[followup]`` in ``docarchive.toml``::

    [followup]
    working_days = true
    holidays = ["2026-01-01", "2026-01-06", "2026-03-21"]

    [followup.priorities]      # days to answer
    urgent = 3
    normal = 14

    [followup.departments]     # name = clearance, or a table with a parent
    "الدائرة القانونية" = "confidential"
    "الدائرة المالية" = "internal"
    "قسم العقود" = { clearance = "internal", parent = "الدائرة القانونية" }
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, ClassVar

from .errors import ConfigurationError, FollowupError  # FollowupError: re-exported from here
from .records import Classification

__all__ = [
    "DEFAULT_PRIORITIES",
    "KINDS",
    "REPORT_TEMPLATE",
    "STATUSES",
    "Department",
    "FollowupError",
    "FollowupSettings",
    "OverdueRow",
    "Referral",
    "add_days",
    "chain",
    "days_late",
    "due_date",
    "index_text",
    "note_status",
    "parse_day",
    "report_context",
]

DEFAULT_PRIORITIES: dict[str, int] = {"urgent": 3, "normal": 14}
STATUSES = ("open", "answered", "closed", "cancelled")
KINDS = ("referral", "followup")
WEEKEND = (4, 5)  # Friday and Saturday (date.weekday())
MAX_INSTRUCTION = 4000  # characters of one instruction
_LEVELS = {int(c): c for c in Classification}


@dataclass(frozen=True)
class Department:
    """A department (or a division under one) that business is referred to."""

    name: str
    clearance: Classification = Classification.INTERNAL
    parent: str = ""


@dataclass(frozen=True)
class FollowupSettings:
    """``[followup]``: departments, priorities and the working calendar."""

    departments: dict[str, Department] = field(default_factory=dict)
    priorities: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PRIORITIES))
    working_days: bool = True
    holidays: frozenset[date] = frozenset()
    default_priority: str = "normal"

    @classmethod
    def from_settings(cls, table: Mapping[str, Any]) -> FollowupSettings:
        known = {"departments", "priorities", "working_days", "holidays", "default_priority"}
        unknown = set(table) - known
        if unknown:
            raise ConfigurationError(
                f"unknown setting {sorted(unknown)[0]!r} in [followup] "
                f"(known: {', '.join(sorted(known))})"
            )
        departments: dict[str, Department] = {}
        raw = table.get("departments", {})
        if not isinstance(raw, Mapping):
            raise ConfigurationError("[followup.departments] must be a table")
        for name, value in raw.items():
            if isinstance(value, str):
                departments[str(name)] = Department(str(name), Classification.parse(value))
            elif isinstance(value, Mapping):
                departments[str(name)] = Department(
                    str(name),
                    Classification.parse(str(value.get("clearance", "internal"))),
                    str(value.get("parent", "")),
                )
            else:
                raise ConfigurationError(
                    f"[followup.departments] {name!r}: give a clearance or a table"
                )
        for dept in departments.values():
            if dept.parent and dept.parent not in departments:
                raise ConfigurationError(
                    f"[followup.departments] {dept.name!r}: unknown parent {dept.parent!r}"
                )
        priorities = dict(DEFAULT_PRIORITIES)
        raw_priorities = table.get("priorities", {})
        if not isinstance(raw_priorities, Mapping):
            raise ConfigurationError("[followup.priorities] must be a table of days")
        for name, days in raw_priorities.items():
            if not isinstance(days, int) or isinstance(days, bool) or days < 0:
                raise ConfigurationError(
                    f"[followup.priorities] {name!r} must be a whole number of days"
                )
            priorities[str(name)] = days
        holidays: set[date] = set()
        for value in table.get("holidays", []):
            try:
                holidays.add(value if isinstance(value, date) else date.fromisoformat(str(value)))
            except ValueError:
                raise ConfigurationError(
                    f"[followup] holidays: not a date: {value!r} (use YYYY-MM-DD)"
                ) from None
        default = str(table.get("default_priority", "normal"))
        if default not in priorities:
            raise ConfigurationError(f"[followup] default_priority {default!r} is not a priority")
        return cls(
            departments=departments,
            priorities=priorities,
            working_days=bool(table.get("working_days", True)),
            holidays=frozenset(holidays),
            default_priority=default,
        )

    def department(self, name: str) -> Department:
        """The department called ``name``; FollowupError naming the known ones otherwise."""
        found = self.departments.get(name.strip())
        if found is None:
            known = ", ".join(sorted(self.departments)) or "none: add [followup.departments]"
            raise FollowupError(f"unknown department {name!r} (known: {known})")
        return found

    def is_working_day(self, day: date) -> bool:
        return day.weekday() not in WEEKEND and day not in self.holidays


@dataclass(frozen=True)
class Referral:
    """One department's share of a margin note, or one follow-up item of a directive.

    ``due`` is a date (``YYYY-MM-DD``) in the office's time zone; ``referred_at`` and
    ``answered_at``/``closed_at`` are ISO datetimes. ``answers`` lists every reply record
    (two processes may answer at once: both are kept), the first one is ``answered_by``.
    ``classification`` is the referred record's, kept here so listings filter without
    reading records.
    """

    id: str
    note_id: str
    record_id: str
    department: str
    instruction: str
    referred_by: str
    referred_at: str
    due: str
    priority: str = ""
    status: str = "open"
    kind: str = "referral"
    parent_id: str | None = None
    answered_by: str | None = None
    answered_at: str | None = None
    closed_reason: str = ""
    closed_at: str | None = None
    classification: Classification = Classification.INTERNAL
    answers: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "note_id": self.note_id,
            "kind": self.kind,
            "record_id": self.record_id,
            "department": self.department,
            "instruction": self.instruction,
            "referred_by": self.referred_by,
            "referred_at": self.referred_at,
            "due": self.due,
            "priority": self.priority,
            "status": self.status,
            "parent_id": self.parent_id,
            "answered_by": self.answered_by,
            "answered_at": self.answered_at,
            "answers": list(self.answers),
            "closed_reason": self.closed_reason,
            "closed_at": self.closed_at,
            "classification": self.classification.label,
        }

    def audit_detail(self) -> dict[str, Any]:
        """What the audit event of its creation records (no ``digest`` key: that one
        belongs to record events)."""
        detail = self.to_dict()
        for key in ("answered_by", "answered_at", "answers", "closed_reason", "closed_at"):
            detail.pop(key)
        return detail

    def answer_detail(self, answer: str, at: str) -> dict[str, Any]:
        """The audit detail of an answer to this referral."""
        return {
            "referral": self.id,
            "note_id": self.note_id,
            "department": self.department,
            "answer": answer,
            "at": at,
        }

    def close_detail(self, status: str, reason: str, at: str) -> dict[str, Any]:
        """The audit detail of closing (or cancelling) this referral by hand."""
        return {
            "referral": self.id,
            "note_id": self.note_id,
            "department": self.department,
            "status": status,
            "reason": reason,
            "at": at,
        }

    # the catalog's columns (migration 3) in the order of the fields; answers apart
    ROW_COLUMNS: ClassVar[tuple[str, ...]] = (
        "id",
        "note_id",
        "record_id",
        "department",
        "instruction",
        "referred_by",
        "referred_at",
        "due",
        "priority",
        "status",
        "kind",
        "parent_id",
        "answered_by",
        "answered_at",
        "closed_reason",
        "closed_at",
        "classification",
    )

    def row(self) -> tuple[Any, ...]:
        """The values of :attr:`ROW_COLUMNS`, classification as its number."""
        return (
            *(getattr(self, c) for c in self.ROW_COLUMNS[:-1]),
            int(self.classification),
        )

    @classmethod
    def from_row(cls, row: Any, answers: Iterable[str]) -> Referral:
        """A referral from a catalog row whose first values follow :attr:`ROW_COLUMNS`."""
        # ROW_COLUMNS are the fields in their order, then classification and answers
        r = row
        return cls(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            r[6],
            r[7],
            r[8],
            r[9],
            r[10],
            r[11],
            r[12],
            r[13],
            r[14],
            r[15],
            _LEVELS[r[16]],
            tuple(answers),
        )


@dataclass(frozen=True)
class OverdueRow:
    """One line of the overdue report."""

    referral_id: str
    record_id: str
    department: str
    subject: str
    number: str | None
    instruction: str
    referred_at: str
    due: str
    days_late: int
    chain: tuple[str, ...]
    classification: Classification

    def to_dict(self) -> dict[str, Any]:
        return {
            "referral_id": self.referral_id,
            "record_id": self.record_id,
            "department": self.department,
            "subject": self.subject,
            "number": self.number,
            "instruction": self.instruction,
            "referred_on": self.referred_at[:10],
            "due": self.due,
            "days_late": self.days_late,
            "chain": list(self.chain),
        }


# -- the calendar -------------------------------------------------------------------------------


def add_days(start: date, days: int, settings: FollowupSettings) -> date:
    """``days`` after ``start``: working days (skipping Friday, Saturday and holidays) when
    ``working_days`` is on, calendar days otherwise. A deadline that falls on a day off
    moves to the next working day."""
    if not settings.working_days:
        day = start + timedelta(days=days)
        return day
    day, left = start, days
    while left > 0:
        day += timedelta(days=1)
        if settings.is_working_day(day):
            left -= 1
    while not settings.is_working_day(day):
        day += timedelta(days=1)
    return day


def due_date(
    today: date,
    settings: FollowupSettings,
    *,
    due: date | str | None = None,
    priority: str | None = None,
) -> tuple[date, str]:
    """The due date and priority of a new referral made on ``today`` (office time zone).

    A given ``due`` wins (never in the past); otherwise the priority's days count from
    today. Both given: the explicit date, the priority kept as a label.
    """
    if priority is not None and priority not in settings.priorities:
        known = ", ".join(f"{k} ({v} days)" for k, v in sorted(settings.priorities.items()))
        raise FollowupError(f"unknown priority {priority!r} (known: {known})")
    label = priority or settings.default_priority
    if due is not None:
        day = parse_day(due)
        if day < today:
            raise FollowupError(
                f"the due date {day.isoformat()} is in the past (today is {today.isoformat()})"
            )
        return day, label if priority is not None else ""
    return add_days(today, settings.priorities[label], settings), label


def parse_day(value: date | datetime | str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        raise FollowupError(f"not a date: {value!r} (use YYYY-MM-DD)") from None


def days_late(due: str, as_of: date) -> int:
    """Calendar days past ``due`` on ``as_of`` (0 when not late)."""
    return max(0, (as_of - date.fromisoformat(due)).days)


# -- chains and status --------------------------------------------------------------------------


def chain(referral: Referral, by_id: Mapping[str, Referral]) -> tuple[str, ...]:
    """Who referred it and where it went: ``("director", "dept", "division")``, from the
    note's author down to this referral's department. A parent missing from ``by_id``
    (cut off by clearance) ends the walk."""
    steps: list[str] = [referral.department]
    current, seen = referral, {referral.id}
    while current.parent_id and current.parent_id in by_id and current.parent_id not in seen:
        current = by_id[current.parent_id]
        seen.add(current.id)
        steps.append(current.department)
    steps.append(current.referred_by)
    return tuple(reversed(steps))


def note_status(referrals: Iterable[Referral]) -> dict[str, Any]:
    """A note's state from its departments' shares: ``open``, ``partly answered``
    (some done, some open: half closed), ``answered`` or ``closed``; with counts."""
    counts = {s: 0 for s in STATUSES}
    for r in referrals:
        counts[r.status] += 1
    total = sum(counts.values())
    done = counts["answered"] + counts["closed"] + counts["cancelled"]
    if total == 0:
        state = "none"
    elif done == 0:
        state = "open"
    elif done < total:
        state = "partly answered"
    elif counts["answered"]:
        state = "answered"
    else:
        state = "closed"
    return {"status": state, "done": done, "total": total, **counts}


def index_text(referrals: Iterable[Referral]) -> str:
    """The words a record's referrals add to its indexed text: department, instruction.

    The search layer appends this to the record's text, so a search for a department or
    for words of an instruction finds the record (see ``Archive.indexable``)."""
    lines = [f"إحالة إلى {r.department}: {r.instruction}" for r in referrals]
    return "\n".join(lines)


# -- reports --------------------------------------------------------------------------------------

REPORT_TEMPLATE = "report_overdue"
_REPORTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "overdue": (
        "الأعمال المتأخرة لجميع التشكيلات",
        ("ت", "الموضوع والهامش", "تاريخ الإحالة", "الموعد المحدد", "أيام التأخير", "التسلسل"),
    ),
    "department": (
        "الأعمال المفتوحة",
        ("ت", "الموضوع والهامش", "تاريخ الإحالة", "الموعد المحدد", "أيام التأخير", "التسلسل"),
    ),
    "incoming": (
        "سجل البريد الوارد",
        ("ت", "الموضوع", "تاريخ الورود", "الجهة المرسلة", "الإحالات", "الحالة"),
    ),
}
_STATUS_AR = {
    "open": "مفتوحة",
    "answered": "أُجيب عنها",
    "closed": "مغلقة",
    "cancelled": "ملغاة",
    "partly answered": "أُجيب عنها جزئياً",
    "none": "غير محالة",
}


def report_context(
    which: str,
    items: Iterable[Any],
    when: str,
    shown: Callable[[str], str],
    *,
    department: str | None = None,
) -> dict[str, Any]:
    """The fields of the ``report_overdue`` template for report ``which``: ``title``,
    ``subtitle``, six ``headers``, ``groups`` (one per department: ``name``, ``rows`` of
    six ``cells``) and ``total``. ``items`` are :class:`OverdueRow` (overdue),
    :meth:`~docarchive.Archive.followup` items (department) or
    :meth:`~docarchive.Archive.incoming` entries (incoming); ``shown`` formats an ISO
    date for print."""
    title, headers = _REPORTS[which]
    groups: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        if which == "overdue":
            row: OverdueRow = item
            what = f"{row.number or ''} {row.subject} — {row.instruction}".strip()
            cells = [
                what,
                shown(row.referred_at),
                shown(row.due),
                str(row.days_late),
                " ← ".join(row.chain),
            ]
            key = row.department
        elif which == "department":
            what = f"{item['number'] or ''} {item['subject']} — {item['instruction']}".strip()
            late = str(item["days_late"]) if item["overdue"] else "—"
            cells = [
                what,
                shown(item["referred_at"]),
                shown(item["due"]),
                late,
                " ← ".join(item["chain"]),
            ]
            key = str(item["department"])
        else:
            shares = "؛ ".join(
                f"{r['department']} ({_STATUS_AR.get(r['status'], r['status'])})"
                for r in item["referrals"]
            )
            cells = [
                f"{item['number'] or ''} {item['subject']}".strip(),
                shown(item["received"]),
                item["sender"],
                shares or "—",
                _STATUS_AR.get(item["status"], item["status"]),
            ]
            key = ""
        rows = groups.setdefault(key, [])
        rows.append({"cells": [str(len(rows) + 1), *cells]})
    subtitle = f"لغاية {when}" if which != "incoming" else f"للمدة {when}"
    if department:
        subtitle = f"{department} — {subtitle}"
    return {
        "subject": title,
        "title": title,
        "subtitle": subtitle,
        "headers": list(headers),
        "groups": [{"name": name, "rows": rows} for name, rows in groups.items()],
        "total": sum(len(rows) for rows in groups.values()),
    }
