"""The whoosh index: schema, query language, clearance, filters, facets, snippets, and
repair of a damaged index (the archive rebuilds it, never refuses to open)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from docarchive import Archive
from docarchive.errors import SearchError
from docarchive.records import Classification, FileRef, Record
from docarchive.search import IndexCorrupt, Query, open_index
from docarchive.search.analysis import (
    AnalyzedText,
    FormPositions,
    arabic_english_analyzer,
    exact_analyzer,
)
from docarchive.search.index import STATE_FILE, WhooshIndex, make_snippet

C = Classification


def rec(rid: str, subject: str, text: str = "", **kw: object) -> Record:
    defaults: dict[str, object] = {
        "kind": "letter",
        "office": "م.و",
        "sender": "مكتب الوزير",
        "dates": {"issued": "2025-05-01T09:00:00"},
        "classification": C.INTERNAL,
        "source": "issued",
    }
    defaults.update(kw)
    return Record(id=rid, subject=subject, text=text, **defaults)  # type: ignore[arg-type]


LETTERS = [
    rec("a", "تعميم الدوام الرسمي", "يبدأ الدوام الرسمي في دوائر الوزارة الساعة الثامنة"),
    rec("b", "صيانة المولدات", "صيانة مولدات الوزاره", classification=C.PUBLIC, kind="circular"),
    rec("c", "خطة سرية", "خطة الوزارة لتأمين المنشآت", classification=C.SECRET, office="د.ق"),
    rec(
        "d",
        "كتاب وارد",
        "إشارة إلى كتابكم المرقم ٣٤١٢/م.و في ٢٠٢٦/٠٩/١٤",
        kind="scan",
        source="scan",
        dates={"received": "2026-09-20T09:00:00"},
        files=[FileRef("original", "0" * 64, 1, "application/pdf", "scan_0042.pdf")],
    ),
    rec("e", "Quarterly expenditure report", "Expenditures of the ministry were reviewed"),
]


@pytest.fixture
def ix(tmp_path: Path) -> Iterator[WhooshIndex]:
    index = WhooshIndex(tmp_path / "index")
    index.apply(LETTERS, [], through=len(LETTERS))
    yield index
    index.close()


def ids(index: WhooshIndex, text: str, clearance: C = C.TOP_SECRET, **kw: object) -> list[str]:
    return [h.id for h in index.search(Query(text, clearance, **kw)).hits]  # type: ignore[arg-type]


def test_open_index_by_url_with_writer_options(tmp_path: Path) -> None:
    index = open_index(f"whoosh://{tmp_path}/ix?procs=2&limitmb=64")
    assert isinstance(index, WhooshIndex) and (index.procs, index.limitmb) == (2, 64)
    from docarchive.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="unknown whoosh:// option 'speed'"):
        open_index(f"whoosh://{tmp_path}/ix?speed=9")


def test_applied_is_remembered(ix: WhooshIndex) -> None:
    assert ix.applied() == len(LETTERS)
    ix.apply([], [], through=2)  # an older batch never moves it back
    assert ix.applied() == len(LETTERS)


def test_words_in_any_form(ix: WhooshIndex) -> None:
    assert set(ids(ix, "الوزارة")) == {"a", "b", "c", "d"} - {"d"} | {"a", "b", "c"}
    assert "b" in ids(ix, "والمولدات")
    assert ids(ix, "expenditure") == ["e"]


def test_reference_numbers_whole_and_by_parts(ix: WhooshIndex) -> None:
    for q in ("3412/م.و", "٣٤١٢/م.و", "3412", "٣٤١٢", "2026/9/14", "2026/09/14"):
        assert ids(ix, q) == ["d"], q


def test_query_language_passes_through(ix: WhooshIndex) -> None:
    assert ids(ix, "الدوام AND الثامنة") == ["a"]
    assert set(ids(ix, "الدوام OR expenditure")) == {"a", "e"}
    assert ids(ix, "الوزارة NOT خطة NOT صيانة NOT الدوام") == []
    assert ids(ix, "subject:صيانة") == ["b"]
    assert ids(ix, "kind:scan") == ["d"]
    assert ids(ix, "attachments:scan_0042") == ["d"]
    assert ids(ix, "مولد*") == ["b"]
    assert ids(ix, "received:2026") == ["d"]
    assert ids(ix, '"الدوام الرسمي"')[0] == "a"


@pytest.mark.parametrize(
    "text", ['"unclosed phrase', "(الدوام", "الدوام)", "issued:[2020 TO", "issued:>tomorrow"]
)
def test_syntax_errors_are_one_line_search_errors(ix: WhooshIndex, text: str) -> None:
    with pytest.raises(SearchError, match="cannot parse the query") as err:
        ix.search(Query(text, C.TOP_SECRET))
    assert "\n" not in str(err.value)


def test_clearance_hides_hits_counts_and_facets(ix: WhooshIndex) -> None:
    low = ix.search(Query("الوزارة OR خطة", C.INTERNAL))
    assert "c" not in {h.id for h in low.hits}
    assert low.total == 2
    assert low.facets["office"] == {"م.و": 2}
    high = ix.search(Query("الوزارة OR خطة", C.SECRET))
    assert high.total == 3 and high.facets["office"] == {"د.ق": 1, "م.و": 2}
    assert ix.search(Query("خطة", C.CONFIDENTIAL)).total == 0
    assert ix.search(Query("خطة", C.CONFIDENTIAL)).facets == {"kind": {}, "year": {}, "office": {}}


def test_filters_and_facets(ix: WhooshIndex) -> None:
    assert ids(ix, "الوزارة", kind="circular") == ["b"]
    assert ids(ix, "الوزارة", office="د.ق") == ["c"]
    assert set(ids(ix, "الوزارة", sender="مكتب الوزير", kind="letter")) == {"a", "c"}
    assert ids(ix, "الوزارة", sender="مكتب الوزير", office="د.ق") == ["c"]
    found = ix.search(Query("الوزارة OR كتاب", C.TOP_SECRET, date_from=datetime(2026, 1, 1)))
    assert [h.id for h in found.hits] == ["d"] and found.facets["year"] == {"2026": 1}
    assert ids(ix, "الوزارة", date_to=datetime(2024, 12, 31)) == []
    assert ix.search(Query("الوزارة", C.TOP_SECRET)).facets["kind"] == {"circular": 1, "letter": 2}


def test_sort_newest_and_pages(ix: WhooshIndex) -> None:
    newest = ids(ix, "الوزارة OR كتاب OR expenditure", sort="newest", page_size=10)
    assert newest[0] == "d"
    pages = [ids(ix, "الوزارة OR expenditure", page=p, page_size=2) for p in (1, 2, 3)]
    assert [len(p) for p in pages] == [2, 2, 0]
    assert len({i for p in pages for i in p}) == 4


def test_count_false_is_the_fast_path(ix: WhooshIndex) -> None:
    found = ix.search(Query("الوزارة", C.TOP_SECRET, count=False))
    assert found.total == -1 and found.facets == {} and len(found.hits) == 3


def test_snippet_marks_matched_words(ix: WhooshIndex) -> None:
    q = Query("دوائر الوزاره", C.TOP_SECRET)
    got = ix.snippet(LETTERS[0].text, q)
    assert "<mark>دوائر</mark>" in got and "<mark>الوزارة</mark>" in got
    assert ix.snippet("لا شيء هنا", q) == "لا شيء هنا"


def test_make_snippet_keeps_harakat_and_cuts_long_text() -> None:
    text = "كلام " * 200 + "قرار المُدِيرِ العام " + "كلام " * 200
    got = make_snippet(text, {"مدير"})
    assert "<mark>المُدِيرِ</mark>" in got and len(got) < 300


def test_deleting_and_updating(ix: WhooshIndex) -> None:
    ix.apply([rec("a", "تعميم ملغى", "لا دوام")], ["b"], through=10)
    assert ids(ix, "صيانة") == []
    assert ids(ix, "ملغى") == ["a"] and ids(ix, "الثامنة") == []


def test_rebuild_replaces_everything(ix: WhooshIndex) -> None:
    assert ix.rebuild(iter([rec("z", "جديد")]), through=99) == 1
    assert ids(ix, "الوزارة") == [] and ids(ix, "جديد") == ["z"]
    assert ix.applied() == 99


# -- a damaged index -------------------------------------------------------------------------


def _segment(path: Path) -> Path:
    return max(path.glob("*.seg"), key=lambda p: p.stat().st_size)


def _truncate(path: Path) -> None:
    seg = _segment(path)
    seg.write_bytes(seg.read_bytes()[: seg.stat().st_size // 2])


def _garble(path: Path) -> None:
    seg = _segment(path)
    data = bytearray(seg.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 64] = os.urandom(64)
    seg.write_bytes(bytes(data))


def _no_toc(path: Path) -> None:
    for toc in path.glob("*.toc"):
        toc.unlink()


def _junk_state(path: Path) -> None:
    (path / STATE_FILE).write_text("{not json")


def _state_says_more(path: Path) -> None:
    state = json.loads((path / STATE_FILE).read_text())
    state["files"] = {}
    state["applied"] = 10**6
    (path / STATE_FILE).write_text(json.dumps(state))


@pytest.mark.parametrize("damage", [_truncate, _garble, _no_toc, _junk_state])
def test_damage_is_detected_on_open(tmp_path: Path, damage: object) -> None:
    index = WhooshIndex(tmp_path / "index")
    index.apply(LETTERS, [], through=5)
    index.close()
    damage(tmp_path / "index")  # type: ignore[operator]
    with pytest.raises(IndexCorrupt):
        WhooshIndex(tmp_path / "index").applied()


@pytest.mark.parametrize("damage", [_truncate, _garble, _no_toc, _junk_state, _state_says_more])
def test_archive_repairs_a_damaged_index_on_open(tmp_path: Path, damage: object) -> None:
    root = tmp_path / "archive"
    with Archive.open(root) as archive:
        with archive.catalog.transaction("test") as tx:
            for r in LETTERS:
                tx.add_record(r)
        archive.catch_up()
        before = sorted(h.record.id for h in archive.search("الوزارة", clearance="top-secret").hits)
    damage(root / "index")  # type: ignore[operator]
    with Archive.open(root) as archive:
        after = sorted(h.record.id for h in archive.search("الوزارة", clearance="top-secret").hits)
        assert after == before == ["a", "b", "c"]
        assert archive.index.applied() == archive.catalog.last_change()
    with Archive.open(root) as archive:  # and it stays repaired
        assert archive.search("الدوام", clearance="top-secret").total == 1


def test_an_index_ahead_of_the_catalog_is_rebuilt(tmp_path: Path) -> None:
    """A catalog restored from an older backup: the index holds changes it lacks."""
    root = tmp_path / "archive"
    with Archive.open(root) as archive:
        with archive.catalog.transaction("test") as tx:
            tx.add_record(LETTERS[0])
        archive.catch_up()
        archive.index.apply([LETTERS[1]], [], through=10**6)
    with Archive.open(root) as archive:
        assert archive.index.applied() == archive.catalog.last_change()
        assert archive.search("صيانة", clearance="top-secret").total == 0


def test_an_index_from_an_older_schema_is_rebuilt(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    with Archive.open(root) as archive:
        with archive.catalog.transaction("test") as tx:
            tx.add_record(LETTERS[0])
        archive.catch_up()
    state = json.loads((root / "index" / STATE_FILE).read_text())
    state["schema"] = 1
    (root / "index" / STATE_FILE).write_text(json.dumps(state))
    with Archive.open(root) as archive:
        assert archive.search("الدوام").total == 1


# -- the fast indexing path gives what the analyzer gives -------------------------------------

_WORDS = st.sampled_from(
    """
    الوزارة والمستشفيات بالمدير للموظفين وبالملاحظات ٣٤١٢/م.و 17/2026 ق/٤٥٢ مُدِيرٌ
    الـــوزارة ﺍﻟﻮﺯﺍﺭﺓ کتاب وزیر and/or The ministries' e.g. 2026/09/14 في من على ﷺ ½
    ۴۵۲
    """.split()  # noqa: SIM905
)
_TEXT = st.lists(st.one_of(_WORDS, st.text(max_size=8)), max_size=30).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(_TEXT)
def test_property_fast_indexing_equals_the_analyzer_chain(text: str) -> None:
    for analyzer, key, renumber in (
        (arabic_english_analyzer(), "stem", True),
        (exact_analyzer(), "exact", False),
    ):
        field = AnalyzedText(analyzer, cache_key=key, renumber=renumber)
        expected: dict[str, list[int]] = {}
        for t in analyzer(text, positions=True, mode="index"):
            expected.setdefault(t.text, []).append(t.pos)
        got = {term: positions for term, (positions, _, _) in field.terms(text).items()}
        assert got == expected


def test_weighted_parts_index_as_one_text() -> None:
    field = AnalyzedText(arabic_english_analyzer(), cache_key="stem", renumber=True)
    terms = field.terms([("الدوام الرسمي", 2.0), ("في الوزارة الدوام", 1.0)])
    # one text: في (a stop word) leaves no gap; subject words weigh 2
    assert terms["دوام"][0] == [0, 3] and terms["دوام"][1] == 3.0
    assert terms["وزار"][0] == [2] and terms["وزار"][1] == 1.0


def test_form_positions_round_trip() -> None:
    fmt = FormPositions()
    value = fmt.encode(([3, 7, 20], bytes([1, 2, 255])))
    assert fmt.decode_positions(value) == [3, 7, 20]
    assert fmt.decode_forms(value) == {3: 1, 7: 2, 20: 255}
    assert fmt.decode_frequency(value) == 3
    merged = fmt.combine([value, fmt.encode(([5], bytes([9])))])
    assert fmt.decode_forms(merged) == {3: 1, 5: 9, 7: 2, 20: 255}
