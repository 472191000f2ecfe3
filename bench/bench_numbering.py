"""Numbering benchmark: official numbers per second, one process and four at once.

    python bench/bench_numbering.py [N]

Each number is a real catalog transaction: BEGIN IMMEDIATE, take the next
number of the series, insert the record, its register line and its audit
event (hash-chained), commit (WAL, synchronous=FULL). The baseline is the
bare minimum the same SQLite file can do with the same durability: one
``UPDATE counter SET n = n + 1`` transaction per number. Four processes then
take N numbers each at once, and the run checks that the 4×N numbers are
exactly 1..4N. Target: ≥ 1,000 numbers/s from one process.
"""

from __future__ import annotations

import multiprocessing as mp
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from docarchive.catalog.sqlite import SQLiteCatalog
from docarchive.records import Record, new_id


def take(path: str, n: int) -> list[int]:
    catalog = SQLiteCatalog(path)
    seqs = []
    for _ in range(n):
        with catalog.transaction("bench") as tx:
            seq = tx.next_number("circular", "BENCH", "2026")
            number = f"BENCH/{seq}/2026"
            tx.add_record(
                Record(
                    id=new_id(),
                    kind="circular",
                    number=number,
                    series="circular",
                    meta={"seq": seq, "period": "2026", "office_code": "BENCH"},
                )
            )
        seqs.append(seq)
    catalog.close()
    return seqs


def bare(path: str, n: int) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE IF NOT EXISTS counter (n INTEGER)")
    db.execute("INSERT INTO counter VALUES (0)")
    for _ in range(n):
        db.execute("BEGIN IMMEDIATE")
        db.execute("UPDATE counter SET n = n + 1")
        db.execute("COMMIT")
    db.close()


def main(n: int = 2000) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-numbering-"))
    t0 = time.perf_counter()
    bare(str(work / "bare.sqlite"), n)
    bare_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    take(str(work / "one.sqlite"), n)
    one_s = time.perf_counter() - t0

    path = str(work / "four.sqlite")
    SQLiteCatalog(path).close()
    t0 = time.perf_counter()
    with mp.get_context("spawn").Pool(4) as pool:
        results = pool.starmap(take, [(path, n)] * 4)
    four_s = time.perf_counter() - t0
    numbers = sorted(s for r in results for s in r)
    exact = numbers == list(range(1, 4 * n + 1))

    print(f"bare SQLite counter      {n / bare_s:8.0f} transactions/s")
    print(
        f"one process              {n / one_s:8.0f} numbers/s   "
        f"ratio {bare_s / one_s:.2f}x of the bare counter (target >= 1,000 numbers/s)"
    )
    print(
        f"four processes at once   {4 * n / four_s:8.0f} numbers/s   "
        f"{4 * n} numbers exactly 1..{4 * n}: {'yes' if exact else 'NO'}"
    )
    if not exact:
        sys.exit(1)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
