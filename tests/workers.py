"""Real concurrent processes for the tests: workers that take numbers from one catalog, or
issue documents through one archive, started together, and the checks on what they took.

Each worker is a separate Python process (``python -c SCRIPT ARGS``): it opens its catalog
or archive, says it is ready, waits for the go file, then works; it prints the sequence
numbers it took as JSON.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from pathlib import Path

from docarchive.catalog.base import GENESIS, Catalog

__all__ = [
    "ARCHIVE_WORKER",
    "CATALOG_WORKER",
    "assert_chain_intact",
    "check_numbers",
    "run_workers",
]

#: ``CATALOG_URL GO COUNT ACTOR [SERIES]``: COUNT transactions, each taking the next number
#: of SERIES and adding its record in the same transaction.
CATALOG_WORKER = """
import json, random, sys, time
from pathlib import Path
from docarchive.catalog import open_catalog
from docarchive.records import Record, new_id

url, go, count, actor = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
series = sys.argv[5] if len(sys.argv) > 5 else "circular"
office, period = "م.و", "2026"
catalog = open_catalog(url)
Path(f"{go}.{actor}.ready").touch()
while not go.exists():
    time.sleep(0.005)
taken = []
for _ in range(count):
    with catalog.transaction(actor) as tx:
        seq = tx.next_number(series, office, period)
        tx.add_record(Record(
            id=new_id(), kind=series, number=f"{office}/{series}/{seq}/{period}",
            series=series, meta={"seq": seq, "office_code": office, "period": period},
        ))
    taken.append(seq)
    time.sleep(random.uniform(0, 0.003))  # other work between documents, so writers interleave
catalog.close()
print(json.dumps(taken))
"""

#: ``ROOT CATALOG_URL GO COUNT ACTOR DATA_JSON``: COUNT circulars issued through
#: ``Archive.issue`` (numbered, rendered, stored, catalogued, indexed).
ARCHIVE_WORKER = """
import json, sys, time
from pathlib import Path
from docarchive import Archive

root, url, go, count, actor = sys.argv[1:6]
go, count = Path(go), int(count)
data = json.loads(Path(sys.argv[6]).read_text("utf-8"))
archive = Archive.open(root, catalog=url)
Path(f"{go}.{actor}.ready").touch()
while not go.exists():
    time.sleep(0.005)
taken = []
for i in range(count):
    subject = f"{data['subject']} ({actor} {i})"
    taken.append(archive.issue("circular", {**data, "subject": subject}, actor=actor).meta["seq"])
archive.close()
print(json.dumps(taken))
"""


def run_workers(
    script: str, args: list[str], go: Path, processes: int, timeout: float = 900
) -> list[list[int]]:
    """Run ``script`` in ``processes`` processes that start together; the numbers each took.

    The worker's arguments are ``args`` with ``{go}`` and ``{actor}`` (``worker-N``)
    filled in."""
    with contextlib.ExitStack() as stack:
        procs = [
            stack.enter_context(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-c",
                        script,
                        *(a.format(go=go, actor=f"worker-{i}") for a in args),
                    ],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
            for i in range(processes)
        ]
        try:
            # start together, once every process has imported docarchive and opened its store
            deadline = time.monotonic() + 120
            while not all(Path(f"{go}.worker-{i}.ready").exists() for i in range(processes)):
                for proc in procs:
                    if proc.poll() is not None:
                        _, err = proc.communicate()
                        raise AssertionError(f"a worker died before starting: {err}")
                assert time.monotonic() < deadline, "workers did not start"
                time.sleep(0.01)
            go.touch()
            results = []
            for proc in procs:
                out, err = proc.communicate(timeout=timeout)
                assert proc.returncode == 0, err
                results.append(json.loads(out))
            return results
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()


def check_numbers(results: list[list[int]], each: int) -> None:
    """Every process took ``each`` numbers, in rising order, all of them together exactly
    1..N, and at least two processes were interleaved (they did compete for the lock)."""
    total = each * len(results)
    for taken in results:
        assert len(taken) == each
        assert taken == sorted(taken), "one process saw its numbers go backwards"
    assert sorted(n for taken in results for n in taken) == list(range(1, total + 1))
    interleaved = sum(1 for taken in results if taken[-1] - taken[0] > each - 1)
    assert interleaved >= 2, "the processes never competed for the lock"


def assert_chain_intact(catalog: Catalog, length: int) -> None:
    """The audit chain has exactly ``length`` events, each linked to the one before."""
    events = list(catalog.audit_events())
    assert [e.seq for e in events] == list(range(1, length + 1))
    prev = GENESIS
    for event in events:
        assert event.prev_hash == prev, f"event {event.seq} does not link"
        assert event.hash == event.expected_hash(), f"event {event.seq} hash is wrong"
        prev = event.hash
