"""Search benchmark: docarchive's whoosh index against plain whoosh on the same corpus.

    python bench/bench_search.py [N_DOCS] [--queries Q] [--procs P]

Generates N_DOCS letters (default 100,000) with :mod:`corpus` (150–600 words of
administrative Arabic over a Zipf vocabulary of tens of thousands of words, a
quarter mixed with English), then indexes them with

(a) plain whoosh: ``StandardAnalyzer`` on subject + text, and ``kind``/``office``/
    ``date`` fields for filtering — the natural whoosh schema;
(b) docarchive's :class:`WhooshIndex` (Arabic/English analysis, every field of the
    archive's schema, clearance mask), through ``rebuild`` as ``reindex`` does;

both with the same writer memory (``limitmb=256``) and one process each unless
``--procs`` is given (then docarchive's build uses whoosh's multiprocessing writer,
reported as such). The two builds run at the same time, one per core (``--serial``
runs them one after the other), so that other load on the machine slows both alike.
Then it runs the same queries on both — one term, two terms,
a two- or three-word phrase, each with and without filters (kind + one year), top 10
— interleaved query by query so that machine noise hits both alike, and prints
docs/s, size per record and latency p50/p95 with their ratios (docarchive / plain
whoosh; build as plain/docarchive time, so ≥ 1 means faster). Extra rows: the full
page the archive returns (exact total + facets) against whoosh's ``groupedby`` +
``len(results)``; snippets against whoosh's highlighter; and recall on spelling
variants. Generation time is excluded from build times.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import KINDS, Corpus, vary
from whoosh import fields, highlight, index, query, sorting
from whoosh.analysis import StandardAnalyzer
from whoosh.qparser import QueryParser

from docarchive.records import Classification, Record
from docarchive.search import Query
from docarchive.search.analysis import ARABIC_STOP_WORDS, normalize_text
from docarchive.search.index import WhooshIndex

LIMITMB = 256
WORD = re.compile(r"[^\W\d_]{4,}")


def _plain_schema() -> fields.Schema:
    return fields.Schema(
        id=fields.ID(stored=True, unique=True),
        text=fields.TEXT(analyzer=StandardAnalyzer()),
        kind=fields.ID,
        office=fields.ID,
        date=fields.DATETIME,
    )


def _date(record: Record) -> datetime:
    return datetime.fromisoformat(record.dates.get("issued") or record.dates["received"])


class _Timed:
    """Iterates ``records``, keeping the time spent producing them out of the clock."""

    def __init__(self, records: list[Record]) -> None:
        self.records = records

    def __iter__(self) -> Iterator[Record]:
        yield from self.records


def build_plain(path: Path, records: list[Record]) -> float:
    path.mkdir()
    ix = index.create_in(str(path), _plain_schema())
    t0 = time.perf_counter()
    writer = ix.writer(limitmb=LIMITMB)
    for r in records:
        writer.add_document(
            id=r.id, text=f"{r.subject}\n{r.text}", kind=r.kind, office=r.office, date=_date(r)
        )
    writer.commit()
    elapsed = time.perf_counter() - t0
    ix.close()
    return elapsed


def build_ours(path: Path, records: list[Record], procs: int) -> float:
    ours = WhooshIndex(path, limitmb=LIMITMB, procs=procs)
    ours.applied()  # create the empty index outside the clock
    t0 = time.perf_counter()
    ours.rebuild(_Timed(records), through=len(records))
    elapsed = time.perf_counter() - t0
    ours.close()
    return elapsed


def build_both(work: Path, records: list[Record], procs: int) -> tuple[float, float]:
    """Both builds at once, each in its own (forked) process."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()

    def run(name: str) -> None:
        if name == "plain":
            results.put((name, build_plain(work / "plain", records)))
        else:
            results.put((name, build_ours(work / "ours", records, procs)))

    workers = [ctx.Process(target=run, args=(name,)) for name in ("plain", "ours")]
    for w in workers:
        w.start()
    got = dict(results.get() for _ in workers)
    for w in workers:
        w.join()
        if w.exitcode:
            raise SystemExit(f"a build failed (exit code {w.exitcode})")
    return got["plain"], got["ours"]


def size_of(path: Path) -> int:
    return sum(p.stat().st_size for p in path.iterdir() if p.is_file())


# -- queries ----------------------------------------------------------------------------------


def _content_words(text: str) -> list[str]:
    out = []
    for w in WORD.findall(text):
        if normalize_text(w) in ARABIC_STOP_WORDS or w.lower() in ("with", "from", "that", "this"):
            continue
        out.append(w)
    return out


def make_queries(records: list[Record], n: int, rng: random.Random) -> dict[str, list[str]]:
    """Realistic queries: words and phrases that occur in the letters, as staff type them."""
    one: list[str] = []
    two: list[str] = []
    phrase: list[str] = []
    while len(one) < n or len(two) < n or len(phrase) < n:
        r = rng.choice(records)
        words = _content_words(r.text)
        if len(words) < 4:
            continue
        if len(one) < n:
            one.append(rng.choice(words))
        if len(two) < n:
            a, b = rng.sample(words, 2)
            two.append(f"{a} {b}")
        if len(phrase) < n:
            tokens = r.text.split()
            i = rng.randrange(0, len(tokens) - 3)
            k = rng.choice((2, 3))
            cut = [re.sub(r"[^\w]", "", t) for t in tokens[i : i + k]]
            if all(cut) and not any(c.isdigit() for c in "".join(cut)):
                phrase.append('"' + " ".join(cut) + '"')
    return {"one term": one, "two terms": two, "phrase": phrase}


def _percentiles(values: list[float]) -> tuple[float, float]:
    values = sorted(values)
    p50 = statistics.median(values)
    p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
    return p50 * 1000, p95 * 1000


def _clock(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def run_queries(
    plain_ix: Any, ours: WhooshIndex, queries: dict[str, list[str]], rng: random.Random
) -> list[tuple[str, tuple[float, float], tuple[float, float]]]:
    rows = []
    kinds = [k[0] for k in KINDS]
    with plain_ix.searcher() as searcher:
        parser = QueryParser("text", plain_ix.schema)

        def plain(text: str, kind: str | None, year: int | None) -> None:
            q = parser.parse(text)
            flt = None
            if kind:
                flt = query.And(
                    [
                        query.Term("kind", kind),
                        query.DateRange(
                            "date", datetime(year or 1, 1, 1), datetime(year or 1, 12, 31, 23, 59)
                        ),
                    ]
                )
            results = searcher.search(q, limit=10, filter=flt)
            [hit["id"] for hit in results]

        def mine(text: str, kind: str | None, year: int | None) -> None:
            q = Query(
                text,
                Classification.INTERNAL,
                kind=kind,
                date_from=datetime(year, 1, 1) if year else None,
                date_to=datetime(year, 12, 31, 23, 59) if year else None,
                count=False,
            )
            ours.search(q)

        for name, texts in queries.items():
            for filtered in (False, True):
                picks = [
                    (
                        t,
                        rng.choice(kinds) if filtered else None,
                        rng.randint(2016, 2021) if filtered else None,
                    )
                    for t in texts
                ]
                for t, k, y in picks[:20]:  # warm both
                    plain(t, k, y)
                    mine(t, k, y)
                p_times, o_times = [], []
                for t, k, y in picks:
                    p_times.append(_clock(lambda t=t, k=k, y=y: plain(t, k, y)))
                    o_times.append(_clock(lambda t=t, k=k, y=y: mine(t, k, y)))
                label = f"{name}{' + filters' if filtered else ''}"
                rows.append((label, _percentiles(p_times), _percentiles(o_times)))
    return rows


def run_full_pages(
    plain_ix: Any, ours: WhooshIndex, texts: list[str], by_id: dict[str, Record]
) -> list[tuple[str, tuple[float, float], tuple[float, float]]]:
    """The page the archive shows: total, facets, 10 snippets — against whoosh's own."""
    facets = {
        "kind": sorting.FieldFacet("kind"),
        "office": sorting.FieldFacet("office"),
    }
    rows = []
    with plain_ix.searcher() as searcher:
        parser = QueryParser("text", plain_ix.schema)
        analyzer = plain_ix.schema["text"].analyzer
        p_full, o_full, p_snip, o_snip = [], [], [], []
        for text in texts:

            def plain_full(text: str = text) -> Any:
                results = searcher.search(parser.parse(text), limit=10, groupedby=facets)
                len(results)
                [results.groups(name) for name in facets]
                return [hit["id"] for hit in results]

            def ours_full(text: str = text) -> Any:
                return ours.search(Query(text, Classification.INTERNAL)).hits

            p_full.append(_clock(plain_full))
            o_full.append(_clock(ours_full))
            p_ids = plain_full()
            o_ids = [h.id for h in ours_full()]
            q = Query(text, Classification.INTERNAL)
            terms = {t.text for t in analyzer(text.strip('"'))}

            def plain_snippets(ids: list[str] = p_ids, terms: set[str] = terms) -> None:
                for i in ids:
                    highlight.highlight(
                        by_id[i].text,
                        frozenset(terms),
                        analyzer,
                        highlight.ContextFragmenter(maxchars=200, surround=60),
                        highlight.HtmlFormatter(),
                        top=2,
                    )

            def ours_snippets(ids: list[str] = o_ids, q: Query = q) -> None:
                for i in ids:
                    ours.snippet(by_id[i].text, q)

            p_snip.append(_clock(plain_snippets))
            o_snip.append(_clock(ours_snippets))
        rows.append(("page: total + facets", _percentiles(p_full), _percentiles(o_full)))
        rows.append(("10 snippets", _percentiles(p_snip), _percentiles(o_snip)))
    return rows


def recall(
    plain_ix: Any, ours: WhooshIndex, records: list[Record], rng: random.Random
) -> list[Any]:
    """Words written another way than in the letters (harakat, ة/ه, أ/ا, ی/ي, digits)."""
    style = {"harakat": 0.0, "tatweel": 0.0, "haa": 1.0, "hamza": 1.0, "kurdish": 0.0, "any": 1.0}
    rows = []
    with plain_ix.searcher() as searcher:
        parser = QueryParser("text", plain_ix.schema)
        for word in ["الوزارة", "المالية", "الإدارية", "المحافظة", "الأرشفة", "مستشفى", "المناقصة"]:
            variant = vary(word, rng, style)
            p = len(searcher.search(parser.parse(word), limit=None))
            pv = len(searcher.search(parser.parse(variant), limit=None))
            o = ours.search(Query(word, Classification.TOP_SECRET)).total
            ov = ours.search(Query(variant, Classification.TOP_SECRET)).total
            rows.append((word, variant, p, pv, o, ov))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("n", nargs="?", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=200, help="queries of each type")
    ap.add_argument("--procs", type=int, default=1, help="docarchive build processes")
    ap.add_argument("--serial", action="store_true", help="build one index after the other")
    args = ap.parse_args()
    rng = random.Random(7)
    t0 = time.perf_counter()
    corpus = Corpus()
    records = list(corpus.records(args.n))
    words = sum(len(r.text.split()) for r in records)
    print(
        f"corpus: {args.n} letters, {words / args.n:.0f} words each on average "
        f"(generated in {time.perf_counter() - t0:.0f} s)",
        flush=True,
    )
    work = Path(tempfile.mkdtemp(prefix="bench-search-"))
    try:
        if args.serial:
            plain_s = build_plain(work / "plain", records)
            ours_s = build_ours(work / "ours", records, args.procs)
        else:
            plain_s, ours_s = build_both(work, records, args.procs)
        print(f"built: plain whoosh {plain_s:.1f} s, docarchive {ours_s:.1f} s", flush=True)
        plain_size, ours_size = size_of(work / "plain"), size_of(work / "ours")
        plain_ix = index.open_dir(str(work / "plain"))
        ours = WhooshIndex(work / "ours")
        queries = make_queries(records, args.queries, rng)
        rows = run_queries(plain_ix, ours, queries, rng)
        by_id = {r.id: r for r in records}
        full = run_full_pages(plain_ix, ours, queries["two terms"][:50], by_id)
        variants = recall(plain_ix, ours, records, rng)
        plain_ix.close()
        ours.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    cpu = os.cpu_count()
    print()
    print(f"{args.n:,} records, {args.queries} queries per type, {cpu} CPUs, top 10 hits")
    print(f"{'':28s} {'plain whoosh':>14s} {'docarchive':>14s} {'ratio':>8s}")
    build_note = f" ({args.procs} procs)" if args.procs > 1 else ""
    print(
        f"{'build docs/s' + build_note:28s} {args.n / plain_s:14.0f} {args.n / ours_s:14.0f} "
        f"{plain_s / ours_s:7.2f}x"
    )
    print(
        f"{'index bytes per record':28s} {plain_size / args.n:14.0f} {ours_size / args.n:14.0f} "
        f"{ours_size / plain_size:7.2f}x"
    )
    for label, (pp50, pp95), (op50, op95) in rows + full:
        print(
            f"{label + ' p50 ms':28s} {pp50:14.2f} {op50:14.2f} {op50 / pp50:7.2f}x\n"
            f"{label + ' p95 ms':28s} {pp95:14.2f} {op95:14.2f} {op95 / pp95:7.2f}x"
        )
    print("\nrecall: records found for a word and for the same word written another way")
    print(f"{'word':>12s} {'variant':>12s}  plain: word variant   docarchive: word variant")
    for word, variant, p, pv, o, ov in variants:
        print(f"{word:>12s} {variant:>12s}  {p:12d} {pv:7d}   {o:16d} {ov:7d}")


if __name__ == "__main__":
    main()
