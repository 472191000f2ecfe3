# Arabic letters in strings are intended, not confusables:
"""Follow-up benchmark: the overdue report over many records and referrals.

    python bench/bench_followup.py [RECORDS] [REFERRALS]     (default 100000 150000)

Builds an archive directly through the catalog (one bulk transaction: records
imported verbatim, then referrals with their audit events: 1 in 10 referred onward,
the rest split between answered, closed and open, due dates over five months),
then times on one day:

* the bare query: one plain SQL statement computing the same rows (open, due
  before the day, within clearance, joined to the record's subject and number,
  days late, ordered by department, due, id) and dumping them as the same JSON
  objects (its chain is only referrer → department: no walk up re-referrals);
* ``Archive.overdue`` → JSON, the way ``docarchive report overdue --json`` does it
  (with each row's chain of re-referrals);
* ``Archive.report("overdue")`` → DOCX from the report_overdue template.

Target: the JSON report within 2× the bare query.
"""

from __future__ import annotations

import json
import random
import sqlite3
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from docarchive import Archive
from docarchive.followup import Referral
from docarchive.records import Classification, Record

DEPARTMENTS = [f"الدائرة {n}" for n in ("القانونية", "المالية", "الإدارية", "الفنية")] + [
    f"قسم {i}" for i in range(1, 9)
]
AS_OF = date(2026, 4, 1)
BARE = """
SELECT r.id, r.record_id, r.department, json_extract(rec.doc, '$.subject'), rec.number,
       r.instruction, substr(r.referred_at, 1, 10), r.due,
       CAST(julianday(?) - julianday(r.due) AS INTEGER), r.referred_by, r.parent_id
FROM referrals r JOIN records rec ON rec.id = r.record_id
WHERE r.status = 'open' AND r.due < ? AND r.classification <= ?
ORDER BY r.department, r.due, r.id
"""


def build(arc: Archive, records: int, referrals: int) -> None:
    rng = random.Random(8)
    start = datetime(2026, 1, 1, 9, 0, tzinfo=ZoneInfo("Asia/Baghdad"))
    ids: list[tuple[str, Classification, datetime]] = []
    with arc.catalog.transaction("bench") as tx:
        for i in range(records):
            when = start + timedelta(minutes=i * 2)
            level = Classification(rng.choice([0, 1, 1, 1, 2]))
            rid = f"r{i:08d}"
            tx.import_record(  # verbatim, no audit event: bulk load; referrals are audited
                Record(
                    id=rid,
                    kind="scan",
                    subject=f"كتاب وارد رقم {i} بشأن تخصيصات الموازنة",
                    sender="وزارة المالية",
                    dates={"received": when.isoformat(), "created": when.isoformat()},
                    classification=level,
                    source="scan",
                )
            )
            ids.append((rid, level, when))
        made: list[Referral] = []
        for n in range(referrals):
            rid, level, when = ids[n % records]
            parent = made[-1] if made and n % 10 == 9 and made[-1].record_id == rid else None
            referred = when + timedelta(days=rng.randint(0, 3))
            due = referred.date() + timedelta(days=rng.choice([3, 14, 30]))
            status = rng.choice(["answered", "answered", "closed", "open", "open"])
            ref = Referral(
                id=f"n{n:08d}-1",
                note_id=f"n{n:08d}",
                record_id=rid,
                department=rng.choice(DEPARTMENTS),
                instruction="للدراسة وإبداء الرأي",
                referred_by="مدير المكتب" if parent is None else parent.department,
                referred_at=referred.isoformat(),
                due=due.isoformat(),
                priority="normal",
                status="open",
                parent_id=parent.id if parent is not None else None,
                classification=level,
            )
            tx.add_referral(ref)
            if status == "answered":
                tx.answer_referral(ref.id, ids[(n + 1) % records][0], referred.isoformat())
            elif status == "closed":
                tx.close_referral(ref.id, "عولجت", referred.isoformat())
            made.append(ref)


def main(records: int = 100_000, referrals: int = 150_000) -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-followup-"))
    Archive.open(root).close()
    with (root / "docarchive.toml").open("a", encoding="utf-8") as fh:
        fh.write("\n[followup]\n[followup.departments]\n")
        fh.writelines(f'"{d}" = "top-secret"\n' for d in DEPARTMENTS)
        fh.write("\n[limits]\ndocx_member_bytes = 1073741824\n")
    arc = Archive.open(root, clearance="top-secret")
    t0 = time.perf_counter()
    build(arc, records, referrals)
    built_s = time.perf_counter() - t0

    db = sqlite3.connect(root / "catalog.sqlite")
    t0 = time.perf_counter()
    day = AS_OF.isoformat()
    rows = db.execute(BARE, (day, day, int(Classification.TOP_SECRET))).fetchall()
    keys = ("referral_id", "record_id", "department", "subject", "number", "instruction")
    keys += ("referred_on", "due", "days_late")
    bare_json = json.dumps(
        [{**dict(zip(keys, r[:9], strict=True)), "chain": [r[9], r[2]]} for r in rows],
        ensure_ascii=False,
    )
    bare_s = time.perf_counter() - t0
    db.close()

    t0 = time.perf_counter()
    found = arc.overdue(as_of=AS_OF)
    ours_json = json.dumps([r.to_dict() for r in found], ensure_ascii=False)
    json_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    docx = arc.report("overdue", as_of=AS_OF)
    docx_s = time.perf_counter() - t0
    arc.close()

    same = [r[0] for r in rows] == [r.referral_id for r in found]
    print(f"built {records} records and {referrals} referrals in {built_s:.1f} s")
    print(f"overdue on {day}: {len(rows)} rows; same rows as the bare query: {same}")
    print(f"bare SQL query + JSON   {bare_s:7.2f} s   ({len(bare_json) // 1024} KiB)")
    print(
        f"overdue report, JSON    {json_s:7.2f} s   ({len(ours_json) // 1024} KiB)   "
        f"{json_s / bare_s:.2f}x the bare query (target <= 2x)"
    )
    print(f"overdue report, DOCX    {docx_s:7.2f} s   ({len(docx) // 1024} KiB)")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    main(*args)
