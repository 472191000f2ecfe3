"""Analysis in worker processes (docarchive.search.workers): the same terms as in this
process, in the records' order, with the caller's lexicon, and a clear error when a
worker fails or dies; a tantivy rebuild on several workers is the same index."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from docarchive.errors import SearchError
from docarchive.records import Classification, Record
from docarchive.search import Query, SearchIndex, analysis, workers
from docarchive.search.lexicon import LexiconSettings
from docarchive.search.tantivy_index import TantivyIndex, fields
from docarchive.search.workers import Analyzers
from docarchive.testing.index import letter

SENTENCES = [
    "تقرر صرف المستحقات المالية للموظفين المتعاقدين في دائرة الموارد البشرية",
    "يرجى تزويدنا بكشف الإنجاز الشهري للمشاريع الاستثمارية في المحافظات",
    "إشارة إلى كتابكم المرقم ٣٤١٢/م.و في ٢٠٢٦/٠٥/١٤ نود إعلامكم بالموافقة",
    "The committee approved the evaluation of tenders for the new hospitals.",
    "بالنظر لأهمية الموضوع، يرجى الإسراع في تشكيل اللجان التحقيقية وإعلامنا.",
    "ﺍﻝﺱﻱﺩ ﻡﺩﻱﺭ ﺍﻝﻡﻭﺍﺭﺩ ﺍﻝﺏﺵﺭﻱﺓ ﺍﻝﻡﺡﺕﺭﻡ، تحية طيبة",
]


def records(n: int) -> list[Record]:
    """``n`` letters of real sentences in varying orders, each with its own number."""
    out = []
    for i in range(n):
        words = " ".join(SENTENCES[(i + k) % len(SENTENCES)] for k in range(i % 4 + 1))
        out.append(
            letter(
                f"r{i}",
                SENTENCES[i % len(SENTENCES)][:40],
                f"{words} رقم {i}/{2020 + i % 7}",
                classification=Classification(i % 4),
            )
        )
    return out


@pytest.fixture
def few(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers start for a map of 10 records or more (2,000 unless told)."""
    monkeypatch.setattr(workers, "MIN_RECORDS", 10)
    monkeypatch.setattr(workers, "BATCH", 16)


@pytest.mark.usefixtures("few")
def test_the_workers_give_this_process_s_fields_in_order() -> None:
    batch = records(300)
    with Analyzers[tuple[str, int]]("docarchive.search.workers:where", (), 2) as run:
        places = list(run.map(batch))
    assert [rid for rid, _ in places] == [r.id for r in batch]
    pids = {pid for _, pid in places}
    assert len(pids) == 2 and os.getpid() not in pids  # both workers, not this process
    with Analyzers[object]("docarchive.search.tantivy_index:fields", (2_000_000,), 2) as run:
        assert list(run.map(batch)) == [fields(r) for r in batch]


def test_few_records_or_one_worker_stay_in_this_process() -> None:
    batch = records(50)  # below MIN_RECORDS
    with Analyzers[tuple[str, int]]("docarchive.search.workers:where", (), 2) as run:
        assert {pid for _, pid in run.map(batch)} == {os.getpid()}


@pytest.mark.usefixtures("few")
def test_one_worker_is_this_process() -> None:
    with Analyzers[tuple[str, int]]("docarchive.search.workers:where", (), 1) as run:
        assert {pid for _, pid in run.map(records(40))} == {os.getpid()}


@pytest.mark.usefixtures("few")
def test_the_workers_stem_with_the_caller_s_lexicon() -> None:
    """An office's own plural reaches the workers: they stem it to its singular, as this
    process does."""
    office = LexiconSettings(plurals=(("طوامير", "طومار"),))
    before = analysis.lexicon_settings()
    analysis.use_lexicon(office)
    try:
        text = "وصلت طوامير الواردات إلى الديوان"
        batch = [letter(f"p{i}", "طوامير الواردات", text) for i in range(40)]
        with Analyzers[object]("docarchive.search.tantivy_index:fields", (2_000_000,), 2) as run:
            got = list(run.map(batch))
        mine = [fields(r) for r in batch]
    finally:
        analysis.use_lexicon(before)
    assert got == mine
    names, texts = got[0][0], got[0][1]  # type: ignore[index]
    all_terms = texts[names.index("all")].split()
    assert "طومار" in all_terms and "طوامير" not in all_terms
    with Analyzers[object]("docarchive.search.tantivy_index:fields", (2_000_000,), 2) as run:
        assert list(run.map(batch)) != mine  # without the office's plural: other terms


@pytest.mark.usefixtures("few")
def test_a_record_that_fails_in_a_worker_is_a_search_error() -> None:
    batch = records(60)
    batch[45] = letter("bad", "كتاب", None)  # type: ignore[arg-type]
    fails = pytest.raises(SearchError, match="an analysis worker failed: TypeError")
    with fails, Analyzers[object]("docarchive.search.tantivy_index:fields", (2_000_000,), 2) as run:
        list(run.map(batch))


@pytest.mark.usefixtures("few")
def test_a_worker_that_dies_is_a_search_error_not_a_hang() -> None:
    batch = records(400)
    dies = pytest.raises(SearchError, match=r"analysis worker \(pid \d+\) ended with exit code")
    with dies, Analyzers[tuple[str, int]]("docarchive.search.workers:where", (), 2) as run:
        for i, _ in enumerate(run.map(batch)):
            if i == 0:
                for worker in run._pool:
                    os.kill(worker.proc.pid, signal.SIGKILL)


@pytest.mark.usefixtures("few")
@pytest.mark.parametrize("engine", ["tantivy", "postgresql"])
def test_a_rebuild_on_two_workers_is_the_same_index(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from docarchive.search.pgindex import PostgresIndex

    batch = records(200)
    found = {}
    for n in (1, 2):
        index: SearchIndex
        if engine == "tantivy":
            index = TantivyIndex(tmp_path / f"ix{n}", workers=n)
        else:
            index = PostgresIndex(request.getfixturevalue("postgres_url"), workers=n)
        assert index.rebuild(iter(batch), through=7) == 200
        assert index.applied() == 7
        found[n] = [
            (r.total, [h.id for h in r.hits], r.facets)
            for r in (
                index.search(Query(text=text, clearance=Classification.SECRET, page_size=50))
                for text in ("الموظفين", "مستحقات مالية", '"الموارد البشرية"', "3412", "tenders")
            )
        ]
        index.close()
    assert found[1] == found[2]
    assert all(total > 0 for total, _, _ in found[1])


@pytest.mark.usefixtures("few")
def test_workers_that_cannot_start_leave_the_work_to_this_process(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """An interpreter that is not Python (an embedding server's binary) answers nothing:
    the records are analysed here, with a warning, and none is lost."""
    monkeypatch.setattr(workers.sys, "executable", "/bin/true")
    batch = records(100)
    with Analyzers[tuple[str, int]]("docarchive.search.workers:where", (), 2) as run:
        got = list(run.map(batch))
    assert got == [(r.id, os.getpid()) for r in batch]
    assert "analysis workers could not start" in caplog.text


@pytest.mark.usefixtures("few")
def test_workers_of_another_version_are_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """A caller whose frames a worker does not know (docarchive upgraded under a running
    server) gets no wrong answers: the work stays in this process."""
    monkeypatch.setattr(workers, "PROTOCOL", 1)  # this process speaks an older protocol
    batch = records(60)
    with Analyzers[tuple[str, int]]("docarchive.search.workers:where", (), 2) as run:
        assert {pid for _, pid in run.map(batch)} == {os.getpid()}


@pytest.mark.usefixtures("few")
def test_workers_are_replaced_after_their_share_and_nothing_is_lost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker is replaced by a fresh process after RECYCLE_RECORDS records (its memory
    stays bounded): every record still comes back once, in order, and every replaced
    worker has ended by the time the map is done."""
    monkeypatch.setattr(workers, "RECYCLE_RECORDS", 48)  # three batches of 16
    batch = records(400)
    with Analyzers[tuple[str, int]]("docarchive.search.workers:where", (), 2) as run:
        places = list(run.map(batch))
        assert run._retired == []  # each stopped once its last batch was read
        live = {w.proc.pid for w in run._pool}
    assert [rid for rid, _ in places] == [r.id for r in batch]
    pids = [pid for _, pid in places]
    assert len(set(pids)) >= 8  # 400 records, 48 a life: at least 8 processes
    for pid in set(pids) - live:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # ended and reaped


@pytest.mark.usefixtures("few")
def test_workers_end_when_the_caller_stops_reading_early() -> None:
    """Leaving the loop with batches unanswered ends every worker (killed: nobody reads
    what they would write)."""
    batch = records(2_000)
    with Analyzers[object]("docarchive.search.tantivy_index:fields", (2_000_000,), 2) as run:
        for _ in run.map(batch):
            break
        pool = list(run._pool)
        assert any(w.outstanding for w in pool)
    assert [w.proc.returncode for w in pool] == [-signal.SIGKILL] * len(pool)
