"""A process killed (SIGKILL) in the middle of a batch leaves a consistent archive."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from docarchive import Archive

BATCH = textwrap.dedent(
    """
    import json, sys
    from docarchive import Archive
    data = json.load(open(sys.argv[2], encoding="utf-8"))
    with Archive.open(sys.argv[1]) as archive:
        for i in range(200):
            record = archive.issue("circular", data, actor="batch")
            print(record.number, flush=True)
    """
)


def test_sigkill_mid_batch(tmp_path: Path, example_data: Path):
    root = tmp_path / "archive"
    Archive.open(root).close()
    proc = subprocess.Popen(
        [sys.executable, "-c", BATCH, str(root), str(example_data / "circular.json")],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    printed = [proc.stdout.readline() for _ in range(25)]
    time.sleep(0.05)  # let it get into the middle of the next issue
    proc.kill()
    proc.wait(timeout=30)
    proc.stdout.close()
    assert proc.returncode == -9 and all(printed)

    with Archive.open(root) as archive:
        report = archive.verify()
        assert report.ok, report.problems
        register = archive.register("circular")
        seqs = [int(re.split("/", e.number)[2]) for e in register]
        assert len(seqs) >= 25
        assert seqs == list(range(1, len(seqs) + 1))  # consecutive: no gap, no duplicate
        # the number being issued when the process died was voided by this open, at once:
        # its issuer's process is gone (leases), no need to wait for the timeout
        *done, last = register
        assert all(e.status == "issued" and e.record_id for e in done)
        assert last.status in ("issued", "void")
        if last.status == "void":
            assert last.reason.startswith(f"interrupted: the issuing process {proc.pid} on ")
        assert archive.void_interrupted(older_than_s=0) == []
        register = archive.register("circular")
        assert {e.status for e in register[:-1]} == {"issued"}
        issued = [e for e in register if e.status == "issued"]
        records = list(archive.catalog.records())
        assert len(records) == len(issued)
        assert archive.verify().ok
        found = archive.search("الأرشفة", page_size=1000)
        assert found.total == len(records)
        assert {h.record.id for h in found.hits} == {r.id for r in records}
        # the archive goes on numbering where the killed process stopped
        data = json.loads((example_data / "circular.json").read_text("utf-8"))
        assert int((archive.issue("circular", data).number or "").split("/")[2]) == len(seqs) + 1
