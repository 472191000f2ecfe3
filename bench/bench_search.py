"""Search benchmark: docarchive on tantivy and on whoosh beside plain whoosh, one corpus.

    python bench/bench_search.py [N_DOCS] [--queries Q] [--procs P] [--corpus FILE]
                                 [--engines plain,whoosh,tantivy]
    python bench/bench_search.py --growth 10000,100000,1000000 [--corpus FILE]

Generates N_DOCS letters (default 100,000) with :mod:`corpus` (150–600 words of
administrative Arabic over a Zipf vocabulary of tens of thousands of words, a
quarter mixed with English), or reads them from a corpus file (``bench/corpus_file.py``
writes one), then indexes them with

(a) plain whoosh: ``StandardAnalyzer`` on subject + text, and ``kind``/``office``/
    ``date`` fields for filtering — the natural whoosh schema;
(b) docarchive's :class:`WhooshIndex` (Arabic/English analysis, every field of the
    archive's schema, clearance mask), through ``rebuild`` as ``reindex`` does;
(c) docarchive's :class:`TantivyIndex` (the same analysis and fields), through
    ``rebuild``, one writer thread;

(a) and (b) with the same writer memory (``limitmb=256``) and one process each unless
``--procs`` is given (then docarchive's whoosh build uses whoosh's multiprocessing
writer, reported as such). The builds run at the same time, one process each
(``--serial`` runs them one after the other), so that other load on the machine slows
all alike. Then it runs the same queries on all — one term, two terms,
a two- or three-word phrase, each with and without filters (kind + one year), top 10
— interleaved query by query so that machine noise hits all alike, and prints
docs/s, size per record and latency p50/p95 with their ratios to plain whoosh (build
as plain/docarchive time, so ≥ 1 means faster). Extra rows: the full
page the archive returns (exact total + facets) against whoosh's ``groupedby`` +
``len(results)``; snippets against whoosh's highlighter; and recall on spelling
variants. Generation time is excluded from build times.

After each build (and each batch of builds at the same time) the files it left for the
kernel to write are written out (``sync``) outside every clock. ``--serial --again``
builds docarchive's indexes a second time after the others: with ``--engines
tantivy,plain``, tantivy before and after plain whoosh's minutes-long build, so a change
in the machine's speed in between shows as two different ratios.

``--growth`` builds docarchive's tantivy index alone at each size in turn (a fresh
process each, streaming the records from the corpus file), and prints the build time,
docs/s, the peak memory of the build process and its analysis workers together (their
resident sets summed, sampled four times a second; also the build process's ``getrusage``
figure) and the
p50/p95 of one term, two terms, a phrase and a filtered query at each size.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import random
import re
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import KINDS, Corpus, vary
from whoosh import fields, highlight, index, query, sorting
from whoosh.analysis import StandardAnalyzer
from whoosh.qparser import QueryParser

from docarchive.records import Classification, Record
from docarchive.search import Query, SearchIndex
from docarchive.search.analysis import ARABIC_STOP_WORDS, normalize_text
from docarchive.search.index import WhooshIndex
from docarchive.search.tantivy_index import TantivyIndex

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


def build_tantivy(path: Path, records: Iterable[Record]) -> float:
    ours = TantivyIndex(path)
    ours.applied()  # create the empty index outside the clock
    t0 = time.perf_counter()
    ours.rebuild(records, through=1)
    elapsed = time.perf_counter() - t0
    ours.close()
    return elapsed


#: The database of the PostgreSQL engine (a throwaway server the run starts).
PG_URL = ""


def build_postgres(records: Iterable[Record]) -> float:
    from docarchive.search.pgindex import PostgresIndex

    ours = PostgresIndex(PG_URL)
    ours.applied()  # create the tables outside the clock
    t0 = time.perf_counter()
    ours.rebuild(records, through=1)
    elapsed = time.perf_counter() - t0
    ours.close()
    return elapsed


BUILDERS: dict[str, Callable[[Path, list[Record], int], float]] = {
    "postgresql": lambda path, records, procs: build_postgres(_Timed(records)),
    "plain": lambda path, records, procs: build_plain(path, records),
    "whoosh": lambda path, records, procs: build_ours(path, records, procs),
    "tantivy": lambda path, records, procs: build_tantivy(path, _Timed(records)),
}


def build_all(
    work: Path, records: list[Record], procs: int, engines: list[str], serial: bool
) -> dict[str, float]:
    """Each build in its own (forked) process, all at once unless ``serial``."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()

    def run(name: str) -> None:
        try:
            results.put((name, BUILDERS[name](work / name, records, procs)))
        except BaseException as exc:
            results.put((name, exc))
            raise

    got: dict[str, float] = {}
    batches = [[e] for e in engines] if serial else [engines]
    for batch in batches:
        workers = [ctx.Process(target=run, args=(name,)) for name in batch]
        for w in workers:
            w.start()
        for _ in workers:
            name, took = results.get()
            if isinstance(took, BaseException):
                for w in workers:
                    w.kill()
                raise SystemExit(f"the {name} build failed: {took!r}")
            got[name] = took
        for w in workers:
            w.join()
            if w.exitcode:
                raise SystemExit(f"a build failed (exit code {w.exitcode})")
        # what a build left for the kernel to write (whoosh never syncs; tantivy's commit
        # syncs its own files) is written now, outside every clock: otherwise the next
        # build pays for the previous one's writeback
        t0 = time.perf_counter()
        os.sync()
        print(f"(written out after {', '.join(batch)}: {time.perf_counter() - t0:.1f} s)")
    return got


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


Pct = tuple[float, float]
Row = tuple[str, Pct | None, dict[str, Pct]]


def _mine(index: SearchIndex, text: str, kind: str | None, year: int | None) -> None:
    q = Query(
        text,
        Classification.INTERNAL,
        kind=kind,
        date_from=datetime(year, 1, 1) if year else None,
        date_to=datetime(year, 12, 31, 23, 59) if year else None,
        count=False,
    )
    index.search(q)


def run_queries(
    plain_ix: Any, ours: dict[str, SearchIndex], queries: dict[str, list[str]], rng: random.Random
) -> list[Row]:
    rows: list[Row] = []
    kinds = [k[0] for k in KINDS]
    with contextlib.ExitStack() as stack:
        searcher = stack.enter_context(plain_ix.searcher()) if plain_ix is not None else None
        parser = QueryParser("text", plain_ix.schema) if plain_ix is not None else None

        def plain(text: str, kind: str | None, year: int | None) -> None:
            assert searcher is not None and parser is not None
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
                for t, k, y in picks[:20]:  # warm every engine
                    if searcher is not None:
                        plain(t, k, y)
                    for index in ours.values():
                        _mine(index, t, k, y)
                p_times: list[float] = []
                o_times: dict[str, list[float]] = {e: [] for e in ours}
                for t, k, y in picks:
                    if searcher is not None:
                        p_times.append(_clock(lambda t=t, k=k, y=y: plain(t, k, y)))
                    for e, index in ours.items():
                        o_times[e].append(
                            _clock(lambda index=index, t=t, k=k, y=y: _mine(index, t, k, y))
                        )
                label = f"{name}{' + filters' if filtered else ''}"
                rows.append(
                    (
                        label,
                        _percentiles(p_times) if p_times else None,
                        {e: _percentiles(v) for e, v in o_times.items()},
                    )
                )
    return rows


def run_full_pages(
    plain_ix: Any, ours: dict[str, SearchIndex], texts: list[str], by_id: dict[str, Record]
) -> list[Row]:
    """The page the archive shows: total, facets, 10 snippets — against whoosh's own."""
    facets = {
        "kind": sorting.FieldFacet("kind"),
        "office": sorting.FieldFacet("office"),
    }
    with plain_ix.searcher() as searcher:
        parser = QueryParser("text", plain_ix.schema)
        analyzer = plain_ix.schema["text"].analyzer
        p_full: list[float] = []
        p_snip: list[float] = []
        o_full: dict[str, list[float]] = {e: [] for e in ours}
        o_snip: dict[str, list[float]] = {e: [] for e in ours}
        for text in texts:

            def plain_full(text: str = text) -> Any:
                results = searcher.search(parser.parse(text), limit=10, groupedby=facets)
                len(results)
                [results.groups(name) for name in facets]
                return [hit["id"] for hit in results]

            p_full.append(_clock(plain_full))
            p_ids = plain_full()
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

            p_snip.append(_clock(plain_snippets))
            for e, index in ours.items():

                def ours_full(index: SearchIndex = index, q: Query = q) -> Any:
                    return index.search(q).hits

                o_full[e].append(_clock(ours_full))
                o_ids = [h.id for h in ours_full()]

                def ours_snippets(
                    ids: list[str] = o_ids, q: Query = q, index: SearchIndex = index
                ) -> None:
                    for i in ids:
                        index.snippet(by_id[i].text, q)

                o_snip[e].append(_clock(ours_snippets))
    return [
        (
            "page: total + facets",
            _percentiles(p_full),
            {e: _percentiles(v) for e, v in o_full.items()},
        ),
        ("10 snippets", _percentiles(p_snip), {e: _percentiles(v) for e, v in o_snip.items()}),
    ]


def recall(plain_ix: Any, ours: dict[str, SearchIndex], rng: random.Random) -> list[Any]:
    """Words written another way than in the letters (harakat, ة/ه, أ/ا, ی/ي, digits)."""
    style = {"harakat": 0.0, "tatweel": 0.0, "haa": 1.0, "hamza": 1.0, "kurdish": 0.0, "any": 1.0}
    rows = []
    with plain_ix.searcher() as searcher:
        parser = QueryParser("text", plain_ix.schema)
        for word in ["الوزارة", "المالية", "الإدارية", "المحافظة", "الأرشفة", "مستشفى", "المناقصة"]:
            variant = vary(word, rng, style)
            p = len(searcher.search(parser.parse(word), limit=None))
            pv = len(searcher.search(parser.parse(variant), limit=None))
            found = []
            for index in ours.values():
                found.append(index.search(Query(word, Classification.TOP_SECRET)).total)
                found.append(index.search(Query(variant, Classification.TOP_SECRET)).total)
            rows.append((word, variant, p, pv, found))
    return rows


# -- growth: docarchive on tantivy at 10k, 100k, 1M ------------------------------------------


def _tree_rss_mb(root: int) -> tuple[float, float]:
    """The resident memory of process ``root`` and all its descendants (the analysis
    workers of a rebuild), from ``/proc``: all of it, and its anonymous part (without the
    index files tantivy maps, which are the page cache's)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    anon: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            status = (entry / "status").read_text()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
        rss[int(entry.name)] = int(found.group(1)) if found else 0
        found = re.search(r"^RssAnon:\s+(\d+) kB", status, re.M)
        anon[int(entry.name)] = int(found.group(1)) if found else 0
    tree = {root}
    grew = True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    return (
        sum(rss.get(pid, 0) for pid in tree) / 1024,
        sum(anon.get(pid, 0) for pid in tree) / 1024,
    )


class _PeakMemory:
    """Samples :func:`_tree_rss_mb` of this process four times a second; ``peak`` is the
    highest sum seen."""

    def __init__(self) -> None:
        import threading

        self.peak = 0.0
        self.peak_anon = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            rss, anon = _tree_rss_mb(os.getpid())
            self.peak = max(self.peak, rss)
            self.peak_anon = max(self.peak_anon, anon)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak


def _grow(path: Path, n: int, corpus: Path | None, queries: dict[str, list[str]], out: Any) -> None:
    """In a fresh process: build ``n`` records, then time the queries; report on ``out``."""
    source: Iterable[Record]
    if corpus is not None:
        from corpus_file import read

        source = read(corpus, n)
    else:
        source = Corpus().records(n)
    t0 = time.perf_counter()
    sampler = _PeakMemory()
    seconds = build_tantivy(path, source)
    wall = time.perf_counter() - t0
    tree_mb = sampler.stop()
    # (getrusage's figure for children is no help: a worker is forked, then executes
    # Python, and keeps the high-water mark of the fork's copy of this process.)
    self_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak_mb = max(tree_mb, self_mb)
    print(
        f"{n:,}: peak memory of the build and its workers together {tree_mb:,.0f} MB "
        f"(sampled; anonymous memory {sampler.peak_anon:,.0f} MB); the build process alone "
        f"{self_mb:,.0f} MB (getrusage)",
        flush=True,
    )
    index = TantivyIndex(path)
    gc.collect()
    gc.freeze()  # as in compare(): no full collection passes inside the timed queries
    rng = random.Random(11)
    kinds = [k[0] for k in KINDS]
    rows: dict[str, Pct] = {}
    for name, texts in [*queries.items(), ("two terms + filters", queries["two terms"])]:
        filtered = name.endswith("filters")
        picks = [
            (
                t,
                rng.choice(kinds) if filtered else None,
                rng.randint(2016, 2021) if filtered else None,
            )
            for t in texts
        ]
        for t, k, y in picks[:20]:
            _mine(index, t, k, y)
        times = [_clock(lambda t=t, k=k, y=y: _mine(index, t, k, y)) for t, k, y in picks]
        rows[name] = _percentiles(times)
    full = [
        _clock(lambda t=t: index.search(Query(t, Classification.INTERNAL)))
        for t in queries["two terms"]
    ]
    rows["page: total + facets"] = _percentiles(full)
    index.close()
    out.put((n, seconds, wall, peak_mb, size_of(path), rows))


def growth(sizes: list[int], corpus: Path | None, n_queries: int) -> None:
    import multiprocessing

    first = list(corpus_records(corpus, min(sizes[0], 10_000)))
    queries = make_queries(first, n_queries, random.Random(7))
    ctx = multiprocessing.get_context("fork")
    results = []
    work = Path(tempfile.mkdtemp(prefix="bench-growth-"))
    try:
        for n in sizes:
            out = ctx.Queue()
            proc = ctx.Process(target=_grow, args=(work / f"ix-{n}", n, corpus, queries, out))
            proc.start()
            got = out.get()
            proc.join()
            if proc.exitcode:
                raise SystemExit(f"the build of {n:,} failed (exit code {proc.exitcode})")
            results.append(got)
            shutil.rmtree(work / f"ix-{n}", ignore_errors=True)
            seconds, peak, size = got[1], got[3], got[4]
            print(
                f"{n:,} records: build {seconds:.0f} s ({n / seconds:,.0f} docs/s), "
                f"peak memory {peak:,.0f} MB, {size / n:,.0f} index bytes per record",
                flush=True,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\ndocarchive on tantivy, {n_queries} queries per type, {os.cpu_count()} CPUs")
    header = f"{'':28s}" + "".join(f"{n:>14,}" for n, *_ in results)
    print(header)
    print(f"{'build s':28s}" + "".join(f"{r[1]:14.0f}" for r in results))
    print(f"{'build docs/s':28s}" + "".join(f"{r[0] / r[1]:14,.0f}" for r in results))
    print(f"{'peak memory MB':28s}" + "".join(f"{r[3]:14,.0f}" for r in results))
    print(f"{'index bytes per record':28s}" + "".join(f"{r[4] / r[0]:14,.0f}" for r in results))
    for label in results[0][5]:
        for i, which in enumerate(("p50", "p95")):
            print(
                f"{label + ' ' + which + ' ms':28s}"
                + "".join(f"{r[5][label][i]:14.2f}" for r in results)
            )
    base = results[0]
    print("\ngrowth against the smallest size (time per record, p95):")
    for r in results[1:]:
        print(
            f"  x{r[0] // base[0]} records: build time x{r[1] / base[1]:.1f}, "
            + ", ".join(
                f"{label} p95 x{r[5][label][1] / base[5][label][1]:.1f}" for label in base[5]
            )
        )


def _pg_size() -> int:
    import psycopg

    with psycopg.connect(PG_URL) as conn:
        row = conn.execute("SELECT pg_total_relation_size('search_docs')").fetchone()
    return int(row[0]) if row else 0


def corpus_records(corpus: Path | None, n: int) -> Iterator[Record]:
    if corpus is not None:
        from corpus_file import read

        return read(corpus, n)
    return Corpus().records(n)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("n", nargs="?", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=200, help="queries of each type")
    ap.add_argument("--procs", type=int, default=1, help="docarchive whoosh build processes")
    ap.add_argument("--serial", action="store_true", help="build one index after the other")
    ap.add_argument(
        "--again",
        action="store_true",
        help="with --serial: build docarchive's indexes a second time after the others "
        "(--engines tantivy,plain --serial --again: tantivy before and after plain "
        "whoosh), and report both builds' ratios",
    )
    ap.add_argument("--corpus", type=Path, help="a corpus file (bench/corpus_file.py)")
    ap.add_argument(
        "--engines",
        default="plain,whoosh,tantivy",
        help="which to build: plain,whoosh,tantivy,postgresql (postgresql starts a "
        "throwaway server)",
    )
    ap.add_argument(
        "--growth", help="sizes to build docarchive's tantivy index at, e.g. 10000,100000"
    )
    args = ap.parse_args()
    if args.growth:
        growth([int(x) for x in args.growth.split(",")], args.corpus, args.queries)
        return
    engines = args.engines.split(",")
    if args.again and not args.serial:
        raise SystemExit("--again needs --serial")
    if "plain" not in engines:
        raise SystemExit("--engines must include plain (the baseline)")
    with contextlib.ExitStack() as stack:
        if "postgresql" in engines:
            from docarchive.testing.postgres import create_database, running_postgres

            global PG_URL
            server = stack.enter_context(running_postgres(tempfile.mkdtemp(prefix="bench-pg-")))
            PG_URL = create_database(server, "bench")
        compare(args, engines)


def compare(args: argparse.Namespace, engines: list[str]) -> None:
    rng = random.Random(7)
    t0 = time.perf_counter()
    records = list(corpus_records(args.corpus, args.n))
    words = sum(len(r.text.split()) for r in records)
    print(
        f"corpus: {args.n} letters, {words / args.n:.0f} words each on average "
        f"(ready in {time.perf_counter() - t0:.0f} s)",
        flush=True,
    )
    work = Path(tempfile.mkdtemp(prefix="bench-search-"))
    try:
        took = build_all(work, records, args.procs, engines, args.serial)
        print(
            "built: " + ", ".join(f"{e} {took[e]:.1f} s" for e in engines),
            flush=True,
        )
        again: dict[str, float] = {}
        if args.again:
            ours_only = [e for e in engines if e != "plain"]
            (work / "again").mkdir()
            again = build_all(work / "again", records, args.procs, ours_only, serial=True)
            print("built again: " + ", ".join(f"{e} {again[e]:.1f} s" for e in ours_only))
            shutil.rmtree(work / "again", ignore_errors=True)
        sizes = {e: size_of(work / e) if (work / e).exists() else 0 for e in engines}
        if "postgresql" in engines:
            sizes["postgresql"] = _pg_size()
        plain_ix = index.open_dir(str(work / "plain"))
        ours: dict[str, SearchIndex] = {}
        if "whoosh" in engines:
            ours["whoosh"] = WhooshIndex(work / "whoosh")
        if "tantivy" in engines:
            ours["tantivy"] = TantivyIndex(work / "tantivy")
        if "postgresql" in engines:
            from docarchive.search.pgindex import PostgresIndex

            ours["postgresql"] = PostgresIndex(PG_URL)
        queries = make_queries(records, args.queries, rng)
        # The corpus and the open indexes stay for the whole run: leave them out of the
        # cyclic collector's full passes, which otherwise stop a query for tens of
        # milliseconds now and then (every engine's, at random: noise in the p95).
        gc.collect()
        gc.freeze()
        rows = run_queries(plain_ix, ours, queries, rng)
        by_id = {r.id: r for r in records}
        full = run_full_pages(plain_ix, ours, queries["two terms"][:50], by_id)
        variants = recall(plain_ix, ours, rng)
        plain_ix.close()
        for o in ours.values():
            o.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    names = {
        "whoosh": "docarchive/whoosh",
        "tantivy": "docarchive/tantivy",
        "postgresql": "docarchive/postgres",
    }
    cols = [e for e in engines if e != "plain"]
    cpu = os.cpu_count()
    mode = "one after the other" if args.serial else "at the same time"
    print()
    print(f"{args.n:,} records, {args.queries} queries per type, {cpu} CPUs, top 10 hits")
    print(f"builds {mode}; ratio: docarchive / plain whoosh (build: plain time / ours)")
    print(
        f"{'':28s} {'plain whoosh':>14s}" + "".join(f" {names[e]:>19s} {'ratio':>8s}" for e in cols)
    )
    build_note = f" ({args.procs} procs)" if args.procs > 1 else ""
    print(
        f"{'build docs/s' + build_note:28s} {args.n / took['plain']:14.0f}"
        + "".join(f" {args.n / took[e]:19.0f} {took['plain'] / took[e]:7.2f}x" for e in cols)
    )
    if again:
        print(
            f"{'build docs/s, again':28s} {'':14s}"
            + "".join(f" {args.n / again[e]:19.0f} {took['plain'] / again[e]:7.2f}x" for e in cols)
        )
    print(
        f"{'index bytes per record':28s} {sizes['plain'] / args.n:14.0f}"
        + "".join(f" {sizes[e] / args.n:19.0f} {sizes[e] / sizes['plain']:7.2f}x" for e in cols)
    )
    for label, plain_pct, mine in rows + full:
        assert plain_pct is not None
        for i, which in enumerate(("p50", "p95")):
            print(
                f"{label + ' ' + which + ' ms':28s} {plain_pct[i]:14.2f}"
                + "".join(f" {mine[e][i]:19.2f} {mine[e][i] / plain_pct[i]:7.2f}x" for e in cols)
            )
    print("\nrecall: records found for a word and for the same word written another way")
    print(
        f"{'word':>12s} {'variant':>12s}  plain: word variant"
        + "".join(f"   {names[e]}: word variant" for e in cols)
    )
    for word, variant, p, pv, found in variants:
        print(
            f"{word:>12s} {variant:>12s}  {p:12d} {pv:7d}"
            + "".join(
                f"   {found[2 * i]:{len(names[e]) + 6}d} {found[2 * i + 1]:7d}"
                for i, e in enumerate(cols)
            )
        )


if __name__ == "__main__":
    main()
