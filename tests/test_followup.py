# Arabic letters in strings are intended, not confusables:
"""Referral and follow-up: margin notes, deadlines, answers, chains, reports."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from docarchive import Archive
from docarchive.errors import AccessDeniedError, ConfigurationError, NotFoundError
from docarchive.followup import (
    FollowupError,
    FollowupSettings,
    add_days,
    due_date,
    note_status,
)
from docarchive.templates import docx_text

BAGHDAD = ZoneInfo("Asia/Baghdad")
LEGAL = "الدائرة القانونية"
FINANCE = "الدائرة المالية"
CONTRACTS = "قسم العقود"
SECRETS = "مكتب الأمن"

FOLLOWUP_TOML = f"""
[followup]
working_days = true
holidays = ["2026-03-21"]

[followup.priorities]
urgent = 3
normal = 14

[followup.departments]
"{LEGAL}" = "confidential"
"{FINANCE}" = "internal"
"{CONTRACTS}" = {{ clearance = "internal", parent = "{LEGAL}" }}
"{SECRETS}" = "top-secret"
"""


class Clock:
    """A clock the test moves: ``Archive.open(root, clock=clock)``."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 3, 1, 9, 0, tzinfo=BAGHDAD))  # a Sunday


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "archive"
    Archive.open(root).close()
    with (root / "docarchive.toml").open("a", encoding="utf-8") as fh:
        fh.write(FOLLOWUP_TOML)
    return root


@pytest.fixture
def arc(root: Path, clock: Clock) -> Iterator[Archive]:
    with Archive.open(root, clock=clock, clearance="top-secret") as archive:
        yield archive


@pytest.fixture
def scan(arc: Archive, make_pdf: Callable[..., Path]) -> str:
    path = make_pdf("incoming.pdf", ["Ministry of Finance", "Budget allocation for 2026"])
    return arc.ingest_scan(path, sender="وزارة المالية", actor="clerk").id


def letter(arc: Archive, example_data: Path) -> str:
    data: dict[str, Any] = json.loads((example_data / "letter_en.json").read_text("utf-8"))
    return arc.issue("letter_en", data, actor="legal").id


# -- the calendar ---------------------------------------------------------------------------------


def test_working_days_skip_friday_saturday_and_holidays() -> None:
    rules = FollowupSettings(holidays=frozenset({date(2026, 3, 4)}))
    # Sunday 1 March + 3 working days: Mon 2, Tue 3, (Wed 4 holiday), Thu 5
    assert add_days(date(2026, 3, 1), 3, rules) == date(2026, 3, 5)
    # Thursday 5 March + 1: Friday and Saturday off, Sunday 8
    assert add_days(date(2026, 3, 5), 1, rules) == date(2026, 3, 8)
    calendar = FollowupSettings(working_days=False)
    assert add_days(date(2026, 3, 5), 1, calendar) == date(2026, 3, 6)


def test_a_deadline_never_lands_on_a_day_off() -> None:
    rules = FollowupSettings()
    assert add_days(date(2026, 3, 6), 0, rules) == date(2026, 3, 8)  # Friday → Sunday


def test_due_date_from_priority_or_explicit() -> None:
    rules = FollowupSettings(working_days=False)
    today = date(2026, 3, 1)
    assert due_date(today, rules, priority="urgent") == (date(2026, 3, 4), "urgent")
    assert due_date(today, rules) == (date(2026, 3, 15), "normal")
    assert due_date(today, rules, due="2026-03-01") == (date(2026, 3, 1), "")
    with pytest.raises(FollowupError, match=r"the due date 2026-02-28 is in the past"):
        due_date(today, rules, due="2026-02-28")
    with pytest.raises(FollowupError, match=r"unknown priority 'soon' \(known: normal"):
        due_date(today, rules, priority="soon")
    with pytest.raises(FollowupError, match="not a date: '1/3/2026'"):
        due_date(today, rules, due="1/3/2026")


def test_settings_table() -> None:
    rules = FollowupSettings.from_settings(
        {
            "departments": {LEGAL: "secret", CONTRACTS: {"parent": LEGAL}},
            "priorities": {"urgent": 2, "routine": 30},
            "holidays": ["2026-03-21"],
            "working_days": False,
        }
    )
    assert rules.department(LEGAL).clearance.label == "secret"
    assert rules.department(CONTRACTS).parent == LEGAL
    assert rules.priorities == {"urgent": 2, "normal": 14, "routine": 30}
    assert rules.holidays == {date(2026, 3, 21)}
    known = f"unknown department 'x' \\(known: {LEGAL}, {CONTRACTS}\\)"
    with pytest.raises(FollowupError, match=known):
        rules.department("x")
    with pytest.raises(ConfigurationError, match="unknown setting 'colour' in \\[followup\\]"):
        FollowupSettings.from_settings({"colour": "red"})
    with pytest.raises(ConfigurationError, match="unknown parent 'nowhere'"):
        FollowupSettings.from_settings({"departments": {"a": {"parent": "nowhere"}}})
    with pytest.raises(ConfigurationError, match="holidays: not a date"):
        FollowupSettings.from_settings({"holidays": ["tomorrow"]})


def test_settings_file_with_followup(root: Path) -> None:
    with Archive.open(root) as arc:
        assert arc.settings.followup.department(CONTRACTS).parent == LEGAL
        assert arc.settings.followup.holidays == {date(2026, 3, 21)}


# -- the scenario the issue names -------------------------------------------------------------


def test_referred_to_two_answered_by_one_then_overdue(
    root: Path, arc: Archive, scan: str, clock: Clock, example_data: Path
) -> None:
    made = arc.refer(
        scan,
        [LEGAL, FINANCE],
        "للدراسة وإبداء الرأي خلال أسبوع",
        priority="urgent",
        actor="director",
    )
    assert [r.department for r in made] == [LEGAL, FINANCE]
    assert {r.note_id for r in made} == {made[0].note_id}
    # Sunday 1 March + 3 working days
    assert {r.due for r in made} == {"2026-03-04"}
    legal, finance = made

    reply = letter(arc, example_data)
    answered = arc.answer(legal.id, reply, actor="legal")
    assert (answered.status, answered.answered_by) == ("answered", reply)
    shares = arc.referrals(scan)
    assert [(s["department"], s["status"]) for s in shares] == [
        (LEGAL, "answered"),
        (FINANCE, "open"),
    ]
    assert {s["note_status"] for s in shares} == {"partly answered"}
    assert note_status(arc.catalog.referrals(note_id=legal.note_id))["done"] == 1

    # on the due date nothing is late; the day after, finance is
    clock.now = datetime(2026, 3, 4, 23, 0, tzinfo=BAGHDAD)
    assert arc.overdue() == []
    clock.now = datetime(2026, 3, 5, 8, 0, tzinfo=BAGHDAD)
    rows = arc.overdue()
    assert [(r.department, r.referral_id, r.days_late) for r in rows] == [(FINANCE, finance.id, 1)]
    assert rows[0].chain == ("director", FINANCE)
    assert rows[0].to_dict()["referred_on"] == "2026-03-01"
    assert [r.department for r in arc.overdue(as_of="2026-03-20")] == [FINANCE]
    assert arc.overdue(as_of="2026-03-04") == []

    docx = arc.report("overdue")
    text = docx_text(docx)
    assert FINANCE in text
    assert LEGAL not in text
    assert "الأعمال المتأخرة" in text
    assert arc.settings.ministry.splitlines()[0] in text


def test_every_referral_event_is_in_the_audit_chain(
    arc: Archive, scan: str, example_data: Path
) -> None:
    before = arc.catalog.last_change()
    legal, finance = arc.refer(scan, [LEGAL, FINANCE], "للاطلاع", actor="director")
    arc.answer(legal.id, letter(arc, example_data), actor="legal")
    arc.close_referral(finance.id, "عولجت في اجتماع", actor="director")
    actions = [(e.action, e.record_id) for e in arc.catalog.audit_events()][before:]
    assert ("refer", scan) in actions and ("answer", scan) in actions
    assert actions[-1] == ("close", scan)
    assert arc.verify().ok


def test_re_referral_keeps_the_chain(arc: Archive, scan: str, clock: Clock) -> None:
    (legal,) = arc.refer(scan, LEGAL, "للدراسة", due="2026-03-10", actor="director")
    (contracts,) = arc.refer(
        legal.id, CONTRACTS, "لإعداد المطالعة", due="2026-03-08", actor="legal.head"
    )
    assert contracts.parent_id == legal.id and contracts.record_id == scan
    clock.now = datetime(2026, 3, 12, 9, 0, tzinfo=BAGHDAD)
    rows = {r.department: r for r in arc.overdue()}
    assert rows[CONTRACTS].chain == ("director", LEGAL, CONTRACTS)
    assert rows[LEGAL].chain == ("director", LEGAL)
    chains = {s["department"]: s["chain"] for s in arc.referrals(scan)}
    assert chains[CONTRACTS] == ["director", LEGAL, CONTRACTS]
    text = docx_text(arc.report("overdue"))
    assert f"director ← {LEGAL} ← {CONTRACTS}" in text


def test_refusals_write_nothing(arc: Archive, scan: str, example_data: Path) -> None:
    before = arc.catalog.last_change()
    known = f"unknown department 'المخازن' \\(known: {LEGAL}, {FINANCE}"
    with pytest.raises(FollowupError, match=known):
        arc.refer(scan, [LEGAL, "المخازن"], "للاطلاع")
    with pytest.raises(FollowupError, match="the due date 2026-02-27 is in the past"):
        arc.refer(scan, LEGAL, "للاطلاع", due="2026-02-27")
    with pytest.raises(FollowupError, match="the instruction is empty"):
        arc.refer(scan, LEGAL, "  ")
    with pytest.raises(NotFoundError, match="no record 'nothing'"):
        arc.refer("nothing", LEGAL, "للاطلاع")
    assert arc.catalog.last_change() == before
    (legal,) = arc.refer(scan, LEGAL, "للاطلاع")
    before = arc.catalog.last_change()
    with pytest.raises(NotFoundError, match=f"cannot answer referral {legal.id}: 'ghost' is not"):
        arc.answer(legal.id, "ghost")
    with pytest.raises(FollowupError, match="is the referred record, not an answer"):
        arc.answer(legal.id, scan)
    with pytest.raises(NotFoundError, match="no referral 'zzz'"):
        arc.answer("zzz", scan)
    with pytest.raises(FollowupError, match="a reason is required"):
        arc.close_referral(legal.id, " ")
    assert arc.catalog.last_change() == before
    assert arc.catalog.get_referral(legal.id) == legal


def test_classification_a_department_never_sees_above_its_clearance(
    arc: Archive, make_pdf: Callable[..., Path], clock: Clock
) -> None:
    secret = arc.ingest_scan(
        make_pdf("secret.pdf", ["Troop movements"]), classification="secret"
    ).id
    with pytest.raises(FollowupError, match=f"department '{FINANCE}' holds clearance internal"):
        arc.refer(secret, FINANCE, "للاطلاع")
    arc.refer(secret, SECRETS, "للاطلاع والعمل", due="2026-03-02")
    clock.now = datetime(2026, 3, 9, 9, 0, tzinfo=BAGHDAD)
    assert [r.department for r in arc.overdue()] == [SECRETS]
    assert arc.overdue(clearance="confidential") == []
    assert arc.followup(department=SECRETS, clearance="confidential") == []
    assert len(arc.followup(department=SECRETS)) == 1
    with pytest.raises(AccessDeniedError):
        arc.referrals(secret, clearance="internal")


def test_followup_lists_open_items_with_days_late(arc: Archive, scan: str, clock: Clock) -> None:
    arc.refer(scan, [LEGAL, FINANCE], "للاطلاع", due="2026-03-03")
    clock.now = datetime(2026, 3, 6, 9, 0, tzinfo=BAGHDAD)
    items = arc.followup(department=FINANCE)
    assert [(i["department"], i["days_late"], i["overdue"]) for i in items] == [(FINANCE, 3, True)]
    assert items[0]["subject"]
    assert len(arc.followup()) == 2
    assert arc.followup(overdue=True, as_of="2026-03-03") == []
    text = docx_text(arc.report("department", department=FINANCE))
    assert "الأعمال المفتوحة" in text and FINANCE in text


def test_follow_up_items_of_a_directive(
    arc: Archive, circular_data: dict[str, Any], clock: Clock
) -> None:
    circular = arc.issue("circular", circular_data, actor="director")
    (item,) = arc.refer(
        circular.id, FINANCE, "تنفيذ التعميم وإعلامنا", kind="followup", priority="normal"
    )
    assert item.kind == "followup" and item.status == "open"
    clock.now = datetime(2026, 4, 1, 9, 0, tzinfo=BAGHDAD)
    assert [r.referral_id for r in arc.overdue()] == [item.id]


def test_incoming_register(arc: Archive, scan: str, clock: Clock) -> None:
    arc.refer(scan, [LEGAL, FINANCE], "للاطلاع")
    rows = arc.incoming(date_from="2026-03-01", date_to="2026-03-31")
    assert [(r["id"], r["status"], len(r["referrals"])) for r in rows] == [(scan, "open", 2)]
    assert arc.incoming(date_from="2026-04-01") == []
    text = docx_text(arc.report("incoming", date_from="2026-03-01", date_to="2026-03-31"))
    assert "سجل البريد الوارد" in text and LEGAL in text


def test_a_second_answer_is_kept_beside_the_first(
    arc: Archive, scan: str, example_data: Path
) -> None:
    (legal,) = arc.refer(scan, LEGAL, "للاطلاع")
    first, second = letter(arc, example_data), letter(arc, example_data)
    arc.answer(legal.id, first)
    again = arc.answer(legal.id, second)
    assert (again.status, again.answered_by) == ("answered", first)
    assert set(again.answers) == {first, second}


def test_referrals_reach_the_indexed_text(arc: Archive, scan: str) -> None:
    arc.refer(scan, LEGAL, "يرجى إعداد مطالعة قانونية")
    record = arc.get(scan)
    (seen,) = arc.indexable([record])
    assert LEGAL in seen.text and "مطالعة قانونية" in seen.text
    assert seen.text.startswith(record.text)
    assert arc.indexable([]) == []


@pytest.mark.official_pdf
def test_overdue_report_as_pdf(arc: Archive, scan: str, clock: Clock) -> None:
    arc.refer(scan, FINANCE, "للاطلاع", due="2026-03-02")
    clock.now = datetime(2026, 3, 9, 9, 0, tzinfo=BAGHDAD)
    pdf = arc.report("overdue", format="pdf")
    assert pdf.startswith(b"%PDF")
    with pytest.raises(FollowupError, match="unknown report 'weekly'"):
        arc.report("weekly")


def test_referrals_are_searchable_and_survive_reindex(arc: Archive, scan: str) -> None:
    arc.refer(scan, [LEGAL], "يرجى دراسة الطلب وإبداء الرأي القانوني", actor="director")
    assert [h.record.id for h in arc.search("القانوني", clearance="secret").hits] == [scan]
    assert [h.record.id for h in arc.search('"الدائرة القانونية"', clearance="secret").hits] == [
        scan
    ]
    arc.reindex()
    assert [h.record.id for h in arc.search("القانوني", clearance="secret").hits] == [scan]


def test_followup_error_lives_in_errors_and_the_old_import_path_still_works() -> None:
    import docarchive
    import docarchive.errors
    import docarchive.followup

    assert docarchive.followup.FollowupError is docarchive.errors.FollowupError
    assert docarchive.FollowupError is docarchive.errors.FollowupError
    assert FollowupError is docarchive.errors.FollowupError  # imported from docarchive.followup
    assert FollowupError.__module__ == "docarchive.errors"
    assert issubclass(FollowupError, docarchive.DocArchiveError)
    assert "FollowupError" in docarchive.__all__ and "FollowupError" in docarchive.errors.__all__
    assert "FollowupError" in docarchive.followup.__all__
    assert "FollowupError" in (docarchive.errors.__doc__ or "")  # drawn in the tree
    with pytest.raises(docarchive.DocArchiveError, match="unknown department 'المخازن'"):
        FollowupSettings().department("المخازن")
