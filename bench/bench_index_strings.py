"""The analysis chain's indexing path alone, for comparing two trees of docarchive.

    PYTHONPATH=<a worktree of another commit> python bench/bench_index_strings.py [N]
    python bench/bench_index_strings.py [N]

Times :func:`~docarchive.search.analysis.index_strings` over N generated letters
(default 20,000; ``bench/corpus.py``, seed 13), best of 3 rounds with the caches emptied
before each, with whatever lexicon the tree's default is (read before the clock starts).
Run it alternately on two trees (``git worktree add /tmp/old <commit>``) and compare the
docs/s: this is how issue 18's "no more than 20 % slower" was measured against the commit
before the lexicon.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import Corpus

from docarchive.search import analysis as A


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    docs = [(r.subject, r.text) for r in Corpus(seed=13).records(n)]
    if hasattr(A, "lexicon"):
        A.lexicon()
    best = 0.0
    for _ in range(3):
        A._STRINGS[True] = A._Strings(True)
        A._STRINGS[False] = A._Strings(False)
        A.arabic_stem.cache_clear()
        A._stem_word.cache_clear()
        start = time.perf_counter()
        for subject, text in docs:
            A.index_strings(subject)
            A.index_strings(text)
        best = max(best, len(docs) / (time.perf_counter() - start))
    print(f"{A.__file__}: {best:,.0f} docs/s")


if __name__ == "__main__":
    main()
