"""A generated corpus kept on disk, for benchmarks too big to generate on the clock.

    python bench/corpus_file.py N [PATH]

Writes the first N letters of ``Corpus()`` (the seed the benchmarks use) to PATH (default
``/tmp/docarchive-corpus-N.pickle``) as pickled batches of 10,000 records; ``read(path,
n)`` streams the first ``n`` of them back. Generation runs at about a thousand letters a
second on one core; reading back at tens of thousands.
"""

from __future__ import annotations

import pickle
import sys
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import Corpus

from docarchive.records import Record

BATCH = 10_000


def default_path(n: int) -> Path:
    return Path(f"/tmp/docarchive-corpus-{n}.pickle")


def write(path: Path, n: int) -> None:
    tmp = path.with_suffix(".partial")
    corpus = Corpus()
    t0 = time.perf_counter()
    with tmp.open("wb") as fh:
        for start in range(0, n, BATCH):
            batch = list(corpus.records(min(BATCH, n - start), start=start))
            pickle.dump(batch, fh, protocol=pickle.HIGHEST_PROTOCOL)
            print(f"{start + len(batch):,} letters, {time.perf_counter() - t0:.0f} s", flush=True)
    tmp.replace(path)


def read(path: Path, n: int) -> Iterator[Record]:
    """The first ``n`` records of the corpus file at ``path``."""
    left = n
    with path.open("rb") as fh:
        while left > 0:
            try:
                batch: list[Record] = pickle.load(fh)
            except EOFError:
                raise SystemExit(f"{path} holds fewer than {n:,} letters") from None
            yield from batch[:left]
            left -= len(batch)


if __name__ == "__main__":
    count = int(sys.argv[1])
    write(Path(sys.argv[2]) if len(sys.argv) > 2 else default_path(count), count)
