"""What the private archive (issue 19) costs: intake folders read without following links,
and the permission fix-up after each index write.

    python bench/bench_private.py [FILES] [RECORDS]

Two figures, each beside its baseline measured in the same run (best of 5 rounds):

- ``walk``: a drop folder of FILES small files (4 KiB, in 20 sub-folders) listed and read
  by :func:`docarchive.ingest.files.walk` (folders by descriptor, each file opened with
  ``O_NOFOLLOW`` and checked against its listing) beside what intake did before:
  ``Path.rglob`` and ``read_bytes``;
- ``fix-up``: :meth:`Policy.fix_tree` of a whoosh index holding RECORDS records (what runs
  after every index write) beside one index write of a single record (``apply``), the
  work it follows.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from docarchive.ingest.files import walk
from docarchive.permissions import Policy
from docarchive.records import Record, new_id
from docarchive.search.index import WhooshIndex


def best(rounds: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def drop_folder(folder: Path, files: int) -> None:
    for n in range(files):
        sub = folder / f"scanner-{n % 20:02d}"
        sub.mkdir(exist_ok=True)
        (sub / f"scan-{n:05d}.pdf").write_bytes(os.urandom(4096))


def old_walk(folder: Path) -> int:
    total = 0
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            total += len(path.read_bytes())
    return total


def new_walk(folder: Path) -> int:
    return sum(len(source.read()) for source in walk([folder]))


def letter(n: int) -> Record:
    return Record(
        id=new_id(),
        kind="letter",
        subject=f"كتاب رقم {n} بشأن متابعة تنفيذ خطة الوزارة",
        text="يرجى الاطلاع واتخاذ ما يلزم بخصوص الموضوع أعلاه " * 20,
    )


def main() -> None:
    files = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    records = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "drop"
        folder.mkdir()
        drop_folder(folder, files)
        assert old_walk(folder) == new_walk(folder) == files * 4096
        old = best(5, lambda: old_walk(folder))
        new = best(5, lambda: new_walk(folder))
        print(
            f"walk {files} files: docarchive {files / new:,.0f} files/s, "
            f"rglob + read_bytes {files / old:,.0f} files/s, ratio {old / new:.2f}x"
        )

        index = WhooshIndex(Path(tmp) / "index")
        through = 0
        for start in range(0, records, 500):
            batch = [letter(n) for n in range(start, min(records, start + 500))]
            through += len(batch)
            index.apply(batch, [], through)
        entries = sum(1 for _ in (Path(tmp) / "index").iterdir())
        writes = []
        for _ in range(20):
            through += 1
            start_t = time.perf_counter()
            index.apply([letter(through)], [], through)
            writes.append(time.perf_counter() - start_t)
        policy = Policy()
        fixes = []
        for _ in range(20):
            start_t = time.perf_counter()
            policy.fix_tree(Path(tmp) / "index")
            fixes.append(time.perf_counter() - start_t)
        write, fix = statistics.median(writes), statistics.median(fixes)
        print(
            f"fix-up of an index of {records} records ({entries} files): "
            f"{fix * 1000:.2f} ms; one index write {write * 1000:.1f} ms; "
            f"ratio {fix / write:.3f}x"
        )
        index.close()


if __name__ == "__main__":
    main()
