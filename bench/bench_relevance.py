"""Relevance benchmark (issue 18): the judged ministry set with and without the lexicon.

    python bench/bench_relevance.py [--index tantivy|whoosh|postgresql] [--generated N]
                                    [--failures] [--lexicon auto|builtin|builtin,arramooz]

Builds the archive of ``tests/search/test_relevance_ministry.py`` twice on one index
backend (default tantivy): the judged letters of ``tests/search/judged_ministry.py`` and
N generated letters (default 300, ``Corpus(seed=42)``) as noise. ``before`` is the
archive with ``[search] lexicon = "off"`` in its ``docarchive.toml`` (the light stemmer
alone); ``after`` with ``--lexicon`` (default: the default, ``auto``). Then it runs every
judged query on both and prints, overall and per category:

- recall@3: of all the records the queries must find, the fraction found in their top 3
  (micro-averaged: summed over the queries, then divided);
- precision@3: of all the hits returned in the top 3s, the fraction judged relevant
  (in the query's ``must``; a query with one relevant record scores at most 1/3);
- FP@3: hits in a top 3 that the query must not return (its ``must_not``);
- pass: queries that pass ``test_relevance_ministry`` (every ``must`` record in the top
  3, no ``must_not`` record on the first page of 10).

``--failures`` lists the queries that fail after (with their top 3) and those that
passed before and fail after.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # corpus
# the judged set, and the archive of the test that runs it
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "search"))

from judged_ministry import CATEGORIES, JUDGMENTS, LETTERS, Judgment
from test_relevance import open_archive
from test_relevance_ministry import PAGE, TOP, fill, ranked

from docarchive.records import Record
from docarchive.search.analysis import indexed_terms, raw_words

INDEXES = ("tantivy", "whoosh", "postgresql")


@dataclass
class Run:
    """The first page of hits of every judged query on one archive."""

    label: str
    pages: dict[str, list[str]]
    subjects: dict[str, str]
    #: query -> its words that no word of a ``must`` letter matches, with what the
    #: chain made of them and of the letter's nearest words
    unmatched: dict[str, list[str]]


@dataclass
class Score:
    queries: int = 0
    relevant: int = 0  # must records, summed over queries
    found: int = 0  # must records in their query's top 3
    returned: int = 0  # hits in the top 3s
    correct: int = 0  # of those, in the query's must
    false: int = 0  # of those, in the query's must_not
    passed: int = 0

    def add(self, j: Judgment, page: list[str]) -> None:
        top = page[:TOP]
        self.queries += 1
        self.relevant += len(j.must)
        self.found += len(j.must & set(top))
        self.returned += len(top)
        self.correct += sum(1 for i in top if i in j.must)
        self.false += sum(1 for i in top if i in j.must_not)
        self.passed += passes(j, page)

    def row(self) -> str:
        recall = self.found / self.relevant if self.relevant else 0.0
        precision = self.correct / self.returned if self.returned else 0.0
        passed = f"{self.passed}/{self.queries}"
        return f"{recall:8.3f} {precision:8.3f} {self.false:5d} {passed:>8}"


def passes(j: Judgment, page: list[str]) -> bool:
    """The test's criterion: every must in the top 3 (or len(must)), no must_not on the page."""
    return j.must <= set(page[: max(TOP, len(j.must))]) and not j.must_not & set(page)


def _toml(lexicon: str) -> str:
    """``auto``/``off`` as they are, sources (``builtin,arramooz``) as a list."""
    if lexicon in ("auto", "off"):
        return f'"{lexicon}"'
    return "[" + ", ".join(f'"{s.strip()}"' for s in lexicon.split(",")) + "]"


def _where(kind: str, root: Path, server: str | None) -> dict[str, str]:
    """The index (and, on PostgreSQL, the catalog: a new database) of one archive."""
    if kind != "postgresql":
        return {"index": f"{kind}://{root / 'index'}"}
    from docarchive.testing.postgres import create_database

    assert server is not None
    url = create_database(server, f"relevance_{root.parent.name}")
    return {"index": url, "catalog": url}


def measure(
    label: str, kind: str, lexicon: str, work: Path, generated: int, server: str | None
) -> Run:
    """Build the archive with ``[search] lexicon`` = ``lexicon`` and run every query."""
    root = work / label / "archive"
    root.mkdir(parents=True)
    (root / "docarchive.toml").write_text(f"[search]\nlexicon = {_toml(lexicon)}\n", "utf-8")
    where = _where(kind, root, server)
    index = where.pop("index")
    with open_archive(root, index, **where) as arc:
        fill(arc, generated)
        pages = {j.query: ranked(arc, j, PAGE) for j in JUDGMENTS}
        ids = {i for page in pages.values() for i in page[:TOP]}
        records: dict[str, Record] = arc.catalog.get_many(sorted(ids))
        unmatched = {j.query: _unmatched(j) for j in JUDGMENTS}  # with this archive's chain
    return Run(label, pages, {i: r.subject for i, r in records.items()}, unmatched)


def _unmatched(j: Judgment) -> list[str]:
    """The query's words that match no word of its ``must`` letters (in the chain now in
    use), each as ``word→term`` with the letter's words whose terms begin alike."""
    letters = {r.id: r for r in LETTERS}
    words = [
        w
        for i in sorted(j.must)
        for w in raw_words(f"{letters[i].subject} {letters[i].text} {letters[i].sender}")
    ]
    terms = {w: indexed_terms(w) for w in words}
    found = set().union(*terms.values())
    out = []
    for word in raw_words(j.query):
        mine = indexed_terms(word)
        if not mine or mine & found:
            continue
        near = sorted(
            {
                f"{w}→{'/'.join(sorted(t))}"
                for w, t in terms.items()
                for m in mine
                if any(x[:2] == m[:2] for x in t)
            }
        )
        out.append(f"{word}→{'/'.join(sorted(mine))} (letter: {', '.join(near) or '-'})")
    return out


def table(runs: list[Run]) -> None:
    cells = f"{'recall@3':>8} {'prec@3':>8} {'FP@3':>5} {'pass':>8}"
    print(f"{'':<10} {'':>7}" + "".join(f" | {r.label:<{len(cells)}}" for r in runs))
    print(f"{'category':<10} {'queries':>7}" + f" | {cells}" * len(runs))
    for category in (*CATEGORIES, "all"):
        judged = [j for j in JUDGMENTS if category in ("all", j.category)]
        row = f"{category:<10} {len(judged):>7}"
        for run in runs:
            score = Score()
            for j in judged:
                score.add(j, run.pages[j.query])
            row += f" | {score.row()}"
        print(row)


def _top(run: Run, j: Judgment) -> str:
    return "; ".join(f"{i} ({run.subjects.get(i, '')[:36]})" for i in run.pages[j.query][:TOP])


def failures(before: Run, after: Run) -> None:
    failing = [j for j in JUDGMENTS if not passes(j, after.pages[j.query])]
    print(f"\nfailing {after.label} ({len(failing)}):")
    for j in failing:
        print(f"  [{j.category}] {j.query!r} must {sorted(j.must)}", end="")
        print(f" must not {sorted(j.must_not)}" if j.must_not else "")
        print(f"      top 3: {_top(after, j) or '(no hits)'}")
        for line in after.unmatched[j.query]:
            print(f"      unmatched: {line}")
    broken = [j for j in failing if passes(j, before.pages[j.query])]
    print(f"\npassing {before.label}, failing {after.label} ({len(broken)}):")
    for j in broken:
        print(f"  [{j.category}] {j.query!r}: {before.label} top 3: {_top(before, j)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", choices=INDEXES, default="tantivy")
    parser.add_argument("--generated", type=int, default=300, help="noise letters")
    parser.add_argument(
        "--lexicon",
        default="auto",
        help="[search] lexicon of 'after': auto (default), or sources: builtin,arramooz",
    )
    parser.add_argument("--failures", action="store_true", help="list the failing queries")
    args = parser.parse_args(argv)
    counts = {c: sum(1 for j in JUDGMENTS if j.category == c) for c in CATEGORIES}
    print(
        f"{len(JUDGMENTS)} judged queries ({', '.join(f'{c} {n}' for c, n in counts.items())}); "
        f"{sum(1 for j in JUDGMENTS if j.must_not)} with must_not; index {args.index}; "
        f"{args.generated} generated letters as noise\n"
    )
    with (
        tempfile.TemporaryDirectory(prefix="bench-relevance-") as tmp,
        contextlib.ExitStack() as stack,
    ):
        work = Path(tmp)
        server = None
        if args.index == "postgresql":
            from docarchive.testing.postgres import running_postgres

            server = stack.enter_context(running_postgres())
        before = measure("before", args.index, "off", work, args.generated, server)
        after = measure("after", args.index, args.lexicon, work, args.generated, server)
        print(f'before: [search] lexicon = "off"; after: lexicon = {_toml(args.lexicon)}\n')
        table([before, after])
        if args.failures:
            failures(before, after)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
