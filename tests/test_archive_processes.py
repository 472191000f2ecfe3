"""Four processes issue 250 circulars each through ``Archive.issue`` into one archive, on
each catalog: the numbers are exactly 1..1000 with no gap or duplicate, every record is
stored (its blob verified) and found by search, and the audit chain holds every event.

Each worker is a real process with its own ``Archive`` (own index writer, own catalog
connection) over the same folder and catalog — as several scripts or servers would be.
Issuing here renders the DOCX (no PDF: see tests/conftest.py), stores it, commits the
record and brings the index up to date, so the run takes a few minutes on 2 cores.
"""

from __future__ import annotations

import time
from pathlib import Path

from workers import ARCHIVE_WORKER, check_numbers, run_workers

from docarchive import Archive

CIRCULAR = Path(__file__).resolve().parent.parent / "examples" / "data" / "circular.json"
PROCESSES, EACH = 4, 250


def test_four_processes_issue_250_each(catalog_url: str, tmp_path: Path) -> None:
    root = tmp_path / "archive"
    Archive.open(root, catalog=catalog_url).close()
    started = time.monotonic()
    args = [str(root), catalog_url, "{go}", str(EACH), "{actor}", str(CIRCULAR)]
    results = run_workers(ARCHIVE_WORKER, args, tmp_path / "go", PROCESSES, timeout=1800)
    print(f"\n{PROCESSES} processes x {EACH} Archive.issue: {time.monotonic() - started:.1f} s")
    check_numbers(results, EACH)

    total = PROCESSES * EACH
    with Archive.open(root, catalog=catalog_url) as archive:
        register = archive.register("circular")
        assert [e.seq for e in register] == list(range(1, total + 1))
        assert {e.status for e in register} == {"issued"}
        assert len({e.number for e in register}) == total
        # every record is searchable: all of them by common words, each by its own subject
        found = archive.search("الأرشفة الإلكترونية", kind="circular", page_size=5)
        assert found.total == total
        for worker, i in [(0, 0), (1, EACH - 1), (2, EACH // 2), (3, 17)]:
            hits = archive.search(f'"worker-{worker} {i}"', kind="circular").hits
            assert len(hits) == 1, (worker, i)
            assert hits[0].record.meta["seq"] in results[worker]
        # every record stored: verify re-hashes each blob and walks the audit chain
        report = archive.verify()
        assert report.ok, report.problems[:5]
        # two audit events per issue: the number reserved, then the record created
        assert (report.records, report.events) == (total, 2 * total)
