"""Several processes writing into one archive at once: no update lost, the index intact.

Two ingest scripts and an issuing system, each a real process, write into one folder
archive at the same time; afterwards the index has applied every catalog change,
without any repair, and every record is found by its own words.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from docarchive import Archive
from docarchive.search import open_index

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
sys.path.insert(0, str(EXAMPLES))
from make_data import text_pdf  # noqa: E402  (examples/make_data.py: the one PDF writer)

PER_PROCESS = 8

WORKER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from docarchive import Archive

    root, role, go, items = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), sys.argv[4:]
    while not go.exists():
        time.sleep(0.01)
    data = json.loads((Path(sys.argv[0]).parent / "circular.json").read_text("utf-8"))
    with Archive.open(root) as archive:
        for item in items:
            if role == "issue":
                archive.issue("circular", {**data, "subject": f"تعميم رقم {item}"})
            else:
                archive.ingest_scan(item)
    """
)


@pytest.mark.parametrize("backend", ["tantivy", "whoosh"])
def test_three_processes_write_at_once_and_nothing_is_lost(tmp_path: Path, backend: str) -> None:
    root = tmp_path / "archive"
    url = f"{backend}://{root / 'index'}"
    with Archive.open(root, index=url):  # the settings name the index the workers open
        pass
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    (tmp_path / "circular.json").write_text((EXAMPLES / "data" / "circular.json").read_text())
    tokens: dict[str, list[str]] = {"issue": [], "scan1": [], "scan2": []}
    args: dict[str, list[str]] = {}
    for role in tokens:
        items = []
        for i in range(PER_PROCESS):
            token = f"{role}x{i}q"
            tokens[role].append(token)
            if role == "issue":
                items.append(token)
            else:
                pdf = tmp_path / f"{token}.pdf"
                text_pdf(pdf, [f"Report {token} of the department", f"Serial {role}-{i}"])
                items.append(str(pdf))
        args[role] = items
    go = tmp_path / "go"
    env = {**os.environ, "DOCARCHIVE_ISSUE_PDF": "0", "DOCARCHIVE_USER": "worker"}
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(root), role, str(go), *items],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for role, items in args.items()
    ]
    time.sleep(0.5)
    go.touch()
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err

    # no repair: the index the writers left has every change applied
    with _catalog(root) as last:
        index = open_index(url)
        assert index.applied() == last
        index.close()
    with Archive.open(root) as archive:
        assert archive.verify().ok
        records = list(archive.catalog.records())
        assert len(records) == 3 * PER_PROCESS
        for words in tokens.values():
            for word in words:
                found = archive.search(word, clearance="top-secret")
                assert found.total == 1, (word, found.total)
        everything = archive.search("تعميم OR report", clearance="top-secret", page_size=100)
        assert everything.total == 3 * PER_PROCESS
        assert {h.record.id for h in everything.hits} == {r.id for r in records}


class _catalog:
    """The catalog's last change, read without opening (and so repairing) the index."""

    def __init__(self, root: Path) -> None:
        from docarchive.catalog.sqlite import SQLiteCatalog

        self.catalog = SQLiteCatalog(root / "catalog.sqlite")

    def __enter__(self) -> int:
        return self.catalog.last_change()

    def __exit__(self, *exc: object) -> None:
        self.catalog.close()
