"""Search benchmark: docarchive's whoosh index against plain whoosh on the same corpus.

    python bench/bench_search.py [N_DOCS]

Builds a synthetic corpus of Arabic and English correspondence (sentences from
real circular wording, written the ways Iraqi offices write them: with and
without harakat, tatweel, taa marbuta as haa, Arabic-Indic digits), indexes it
with (a) plain whoosh (StandardAnalyzer) and (b) docarchive's WhooshIndex with
its Arabic/English analysis, then runs the same queries on both. Prints times,
their ratio (docarchive / whoosh), and recall: how many of the documents that
should match a query each engine finds.
"""

from __future__ import annotations

import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

from whoosh import fields, index
from whoosh.analysis import StandardAnalyzer
from whoosh.qparser import QueryParser

from docarchive.records import Classification, Record
from docarchive.search import Query
from docarchive.search.index import WhooshIndex

# (sentence, the concept it carries) — variants of one concept are the same words written
# differently, so every document carrying the concept should be found by any variant.
SENTENCES = [
    ("تقرر أن يبدأ الدوام الرسمي في دوائر الوزارة من الساعة التاسعة", "dawam"),
    ("تقرر أن يبدأ الدَّوام الرسمي في دوائر الوزاره من الساعة التاسعة", "dawam"),
    ("على مُدير القسم متابعة تنفيذ هذا التعميم", "mudir"),
    ("على مدير القسم متابعة تنفيذ هذا التعميم", "mudir"),
    ("إشارة إلى كتاب الوزارة المرقم ٣٤١٢ في ٢٠٢٦/٠٩/١٤", "ref3412"),
    ("إشارة إلى كتاب الوزارة المرقم 3412 في 2026/09/14", "ref3412"),
    ("يُستثنى من ذلك قسم الشؤون الصحية في مستشفى الكرامة", "hospital"),
    ("يستثنى من ذلك قسم الشؤون الصحية في مستشفي الكرامة", "hospital"),
    ("The quarterly expenditure of the investment budget reached 61 percent", "expenditure"),
    ("Expenditures on the archiving project were reviewed by the committee", "expenditure"),
    ("تشكيل لجنة فتح وتحليل العطاءات للمناقصة العامة", "tender"),
    ("الإحالة على الشركة الفائزة بالمناقصة وفق جدول الكميات", "tender"),
]
FILLER = [
    "مع التقدير",
    "للتفضل بالاطلاع",
    "نسخة منه إلى الإضبارة العامة",
    "Please find attached the report",
    "يرجى الإجابة خلال مدة أقصاها ثلاثة أيام",
]
QUERIES = {
    "الدوام": "dawam",
    "الوزاره": None,
    "مدير": "mudir",
    "مُدير": "mudir",
    "3412": "ref3412",
    "٣٤١٢": "ref3412",
    "مستشفى": "hospital",
    "expenditure": "expenditure",
    "المناقصة": "tender",
}


def corpus(n: int) -> list[tuple[str, str, set[str]]]:
    rng = random.Random(20261122)
    docs = []
    for i in range(n):
        chosen = rng.sample(SENTENCES, 3)
        text = " . ".join([s for s, _ in chosen] + rng.sample(FILLER, 2))
        docs.append((f"d{i:05d}", text, {c for _, c in chosen}))
    return docs


def expected(docs: list[tuple[str, str, set[str]]], concept: str | None) -> set[str]:
    if concept is None:  # الوزاره: every document mentioning the ministry in any spelling
        return {d for d, text, _ in docs if "الوزار" in text}
    return {d for d, _, concepts in docs if concept in concepts}


def main(n: int = 2000) -> None:
    docs = corpus(n)
    work = Path(tempfile.mkdtemp(prefix="bench-search-"))
    try:
        # (a) plain whoosh
        t0 = time.perf_counter()
        schema = fields.Schema(
            id=fields.ID(stored=True, unique=True), text=fields.TEXT(analyzer=StandardAnalyzer())
        )
        (work / "plain").mkdir()
        plain = index.create_in(str(work / "plain"), schema)
        with plain.writer() as w:
            for doc_id, text, _ in docs:
                w.add_document(id=doc_id, text=text)
        plain_index_s = time.perf_counter() - t0

        # (b) docarchive's index, fed records as the archive feeds it
        ours = WhooshIndex(work / "ours")
        records = [
            Record(
                id=d,
                kind="letter",
                subject="",
                text=t,
                classification=Classification.PUBLIC,
                dates={"issued": "2026-10-01"},
            )
            for d, t, _ in docs
        ]
        t0 = time.perf_counter()
        ours.apply(records, [], through=1)
        ours_index_s = time.perf_counter() - t0

        rows = []
        parser = QueryParser("text", plain.schema)
        plain_q_s = ours_q_s = 0.0
        repeats = 20
        with plain.searcher() as searcher:
            for q, concept in QUERIES.items():
                want = expected(docs, concept)
                parsed = parser.parse(q)
                t0 = time.perf_counter()
                for _ in range(repeats):  # a staff search: the top 10
                    searcher.search(parsed, limit=10)
                plain_q_s += time.perf_counter() - t0
                top10 = Query(text=q, clearance=Classification.PUBLIC, page_size=10)
                t0 = time.perf_counter()
                for _ in range(repeats):  # top 10, with clearance filter and facet counts
                    ours.search(top10)
                ours_q_s += time.perf_counter() - t0
                got_plain = {h["id"] for h in searcher.search(parsed, limit=None)}
                every = Query(text=q, clearance=Classification.PUBLIC, page_size=n)
                got_ours = {h.id for h in ours.search(every).hits}
                rows.append((q, len(want), len(got_plain & want), len(got_ours & want)))
        ours.close()
        plain.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    nq = len(QUERIES) * repeats
    print(f"corpus: {n} documents, {len(QUERIES)} queries x {repeats} runs")
    print(
        f"index build   plain whoosh {plain_index_s:7.2f} s   docarchive {ours_index_s:7.2f} s"
        f"   ratio {ours_index_s / plain_index_s:5.2f}x"
    )
    print(
        f"top-10 query  plain whoosh {1000 * plain_q_s / nq:7.2f} ms  docarchive "
        f"{1000 * ours_q_s / nq:7.2f} ms  ratio {ours_q_s / plain_q_s:5.2f}x"
    )
    print("recall per query (relevant / found by plain whoosh / found by docarchive):")
    total = [0, 0, 0]
    for q, want, p, o in rows:
        print(f"  {q:>12}  {want:5d} {p:5d} {o:5d}")
        total = [total[0] + want, total[1] + p, total[2] + o]
    plain_recall, ours_recall = total[1] / total[0], total[2] / total[0]
    print(f"recall        plain whoosh {plain_recall:.0%}   docarchive {ours_recall:.0%}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
