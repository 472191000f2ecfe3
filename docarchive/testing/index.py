# Arabic letters in strings are intended, not confusables:
"""The conformance suite for search index backends (:class:`~docarchive.search.SearchIndex`).

Subclass :class:`IndexConformance`, name the subclass ``Test...`` and define
:meth:`~IndexConformance.index_url` (the URL of a new, empty index for ``location``);
define :meth:`~IndexConformance.damages` to run the tests of repairing a damaged index.
A backend that needs a server overrides the ``url`` fixture instead.

What the suite holds every backend to is what :mod:`docarchive.search.base` promises:
records added, replaced and deleted; the Arabic/English analysis (any form of a word
finds it); phrases, with the exact wording first; ``field:`` prefixes, wildcards,
``AND``/``OR``/``NOT``; reference numbers whole and by their parts; the kind, office,
sender and date filters; facets; snippets with ``<mark>``; newest first; pages; the
clearance inside the query (nothing above it in hits, totals, facets or snippets);
catch-up from the catalog's change numbers; commits a killed process cannot leave
half-done; a damaged index repaired on open; several real processes writing at once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from ..catalog import open_catalog
from ..catalog.sqlite import SQLiteCatalog
from ..errors import SearchError
from ..records import Classification, FileRef, Record
from ..search import IndexCorrupt, Query, SearchIndex, open_index
from ..search.sync import IndexSync

__all__ = ["LETTERS", "IndexConformance", "letter"]

C = Classification


def letter(rid: str, subject: str, text: str = "", **kw: object) -> Record:
    """A letter of the office of the minister, internal, issued 2025-05-01 unless told."""
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


#: The suite's letters: each written one way, the tests search for it another.
LETTERS = [
    letter("a", "تعميم الدوام الرسمي", "يبدأ الدوام الرسمي في دوائر الوزارة الساعة الثامنة"),
    letter("b", "صيانة المولدات", "صيانة مولدات الوزاره", classification=C.PUBLIC, kind="circular"),
    letter(
        "c",
        "خطة سرية",
        "خطة الوزارة لتأمين المنشآت النفطية",
        classification=C.SECRET,
        office="د.ق",
        dates={"issued": "2025-06-01T09:00:00"},
    ),
    letter(
        "d",
        "كتاب وارد",
        "إشارة إلى كتابكم المرقم ٣٤١٢/م.و في ٢٠٢٦/٠٩/١٤",
        kind="scan",
        source="scan",
        number="م.و/ك/17/2025",
        series="letter",
        meta={"seq": 17, "period": "2025", "office_code": "م.و"},
        dates={"received": "2026-09-20T09:00:00"},
        files=[FileRef("original", "0" * 64, 1, "application/pdf", "scan_0042.pdf")],
    ),
    letter(
        "e",
        "Quarterly expenditure report",
        "Expenditures of the ministry were reviewed by the inspectors",
        sender="Ahmed Kareem <ahmed@example.iq>",
        recipients=["Sara Jawad"],
        kind="mail",
        source="mail",
    ),
    letter(
        "f",
        "عَقْدُ المُتَعَاقِدِ",
        "قدم الـمـقـاول مـطـالـبـة بـالـتـعـويـض. ﻳﺒﺪﺃ ﺍﻟﺪﻭﺍﻡ ﺍﻟﺼﻴﻔﻲ. "
        "وجه وزیر التربیة بتوزیع الکتب",
        dates={"issued": "2019-11-03T10:00:00"},
        sender="الدائرة القانونية",
    ),
    letter(
        "g",
        "مستحقات المتقاعدين",
        "قررت اللجنة صرف مستحقات الموظفين المتقاعدين قبل نهاية السنة",
        dates={"issued": "2024-02-01T10:00:00"},
    ),
    letter(
        "h",
        "صرف المستحقات",
        "تصرف مستحقات الموظفون المتقاعدون بعد التدقيق. والموظفون المتقاعدون كثيرون",
        dates={"issued": "2024-03-01T10:00:00"},
    ),
]

ALL = C.TOP_SECRET

#: A process that applies ``COUNT`` batches of records to the index at ``URL``, batch k
#: with change number ``BASE + k``; the records of batch k hold the word ``TAGxk``.
#: ``URL GO TAG BASE COUNT STEP``: batch k is change ``BASE + k * STEP``.
WRITER = """
import sys, time
from pathlib import Path
from docarchive.records import Record, Classification
from docarchive.search import IndexBusy, open_index

url, go, tag = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
base, count, step = map(int, sys.argv[4:7])
index = open_index(url)
index.applied()
Path(f"{go}.{tag}.ready").touch()
while not go.exists():
    time.sleep(0.005)
for k in range(count):
    batch = [
        Record(id=f"{tag}-{k}-{j}", kind="letter", subject=f"كتاب {tag}x{k} رقم {j}",
               text="نص الكتاب الوارد الى الوزارة " * 20, classification=Classification.PUBLIC,
               dates={"issued": "2026-01-01T10:00:00"})
        for j in range(BATCH)
    ]
    while True:
        try:
            index.apply(batch, [], base + k * step)
            break
        except IndexBusy:
            time.sleep(0.01)
    print(k, flush=True)
index.close()
"""


#: ``INDEX_URL CATALOG_URL GO TAG COUNT``: COUNT transactions of 5 records each (the
#: records of transaction k hold the word ``TAGxk``), each followed by a catch-up of the
#: index, as an archive does after a write.
SYNC_WRITER = """
import sys, time
from pathlib import Path
from docarchive.catalog import open_catalog
from docarchive.records import Record, Classification
from docarchive.search import open_index
from docarchive.search.sync import IndexSync

url, catalog_url, go, tag = sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4]
count = int(sys.argv[5])
index, catalog = open_index(url), open_catalog(catalog_url)
sync = IndexSync(catalog, index)
sync.catch_up()
Path(f"{go}.{tag}.ready").touch()
while not go.exists():
    time.sleep(0.005)
for k in range(count):
    with catalog.transaction(tag) as tx:
        for j in range(5):
            tx.add_record(Record(
                id=f"{tag}-{k}-{j}", kind="letter", subject=f"كتاب {tag}x{k} رقم {j}",
                text="نص الكتاب الوارد الى الوزارة " * 20, classification=Classification.PUBLIC,
                dates={"issued": "2026-01-01T10:00:00"}))
    sync.catch_up()
index.close()
catalog.close()
"""


def _writer(batch: int) -> str:
    return WRITER.replace("BATCH", str(batch))


def ids(index: SearchIndex, text: str, clearance: C = ALL, **kw: object) -> list[str]:
    """The ids of the first page of hits for ``text``."""
    return [h.id for h in index.search(Query(text, clearance, **kw)).hits]  # type: ignore[arg-type]


class IndexConformance:
    """Tests every :class:`~docarchive.search.SearchIndex` backend must pass."""

    # -- hooks the subclass provides ------------------------------------------------------

    def index_url(self, location: Path) -> str:
        """The URL of an index kept in ``location`` (a fresh folder); the same location
        gives the same index."""
        raise NotImplementedError

    def damages(self) -> dict[str, Callable[[Path], None]]:
        """Ways to damage the index at ``location`` behind its back (files truncated or
        garbled, its state lost): name -> function of the location."""
        return {}

    @pytest.fixture
    def location(self, tmp_path: Path) -> Path:
        path = tmp_path / "index"
        path.mkdir()
        return path

    @pytest.fixture
    def url(self, location: Path) -> str:
        return self.index_url(location)

    @pytest.fixture
    def empty(self, url: str) -> Iterator[SearchIndex]:
        index = open_index(url)
        yield index
        index.close()

    @pytest.fixture
    def ix(self, empty: SearchIndex) -> SearchIndex:
        empty.apply(LETTERS, [], through=len(LETTERS))
        return empty

    # -- writing --------------------------------------------------------------------------

    def test_new_index_is_empty(self, empty: SearchIndex) -> None:
        assert empty.applied() == 0
        assert empty.search(Query("الوزارة", ALL)).total == 0

    def test_applied_is_remembered_and_never_moves_back(self, ix: SearchIndex, url: str) -> None:
        assert ix.applied() == len(LETTERS)
        ix.apply([], [], through=2)  # an older batch
        assert ix.applied() == len(LETTERS)
        ix.close()
        again = open_index(url)
        try:
            assert again.applied() == len(LETTERS)
            assert ids(again, "صيانة") == ["b"]
        finally:
            again.close()

    def test_replace_and_delete(self, ix: SearchIndex) -> None:
        ix.apply([letter("a", "تعميم ملغى", "لا دوام")], ["b"], through=10)
        assert ids(ix, "صيانة") == []
        assert ids(ix, "ملغى") == ["a"] and ids(ix, "الثامنة") == []
        assert ix.search(Query("ملغى OR الوزارة", ALL)).total == 2  # a and c, b is gone
        ix.apply([letter("a", "تعميم ملغى", "لا دوام")], [], through=11)  # idempotent
        assert ix.search(Query("ملغى", ALL)).total == 1
        ix.apply([], ["no-such-record"], through=12)
        assert ix.applied() == 12

    def test_rebuild_replaces_everything(self, ix: SearchIndex) -> None:
        assert ix.rebuild(iter([letter("z", "جديد")]), through=99) == 1
        assert ids(ix, "الوزارة") == [] and ids(ix, "جديد") == ["z"]
        assert ix.applied() == 99

    def test_clear(self, ix: SearchIndex) -> None:
        ix.clear()
        assert ix.applied() == 0 and ids(ix, "الوزارة") == []

    # -- analysis -------------------------------------------------------------------------

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("الوزارة", {"a", "b", "c"}),  # ال and taa marbuta, and the haa form in b
            ("وزارة", {"a", "b", "c"}),
            ("والمولدات", {"b"}),  # و + ال + plural
            ("مولد", {"b"}),
            ("المتعاقد", {"f"}),  # harakat in the letter
            ("مُتَعاقِد", {"f"}),  # harakat in the query
            ("المقاول التعويض", {"f"}),  # tatweel in the letter
            ("مـطـالبة", {"f"}),  # tatweel in the query
            ("الصيفي", {"f"}),  # presentation forms in the letter
            ("ﺍﻟﺼﻴﻔﻲ", {"f"}),  # presentation forms in the query
            ("وزير التربية", {"f"}),  # Kurdish keyboard letters in the letter
            ("الكتب", {"d", "f"}),  # the plural of كتاب (d): the lexicon joins them
            ("expenditure", {"e"}),  # English stems
            ("reviewing inspector", {"e"}),
            ("EXPENDITURES", {"e"}),
        ],
    )
    def test_words_are_found_in_any_form(
        self, ix: SearchIndex, query: str, expected: set[str]
    ) -> None:
        assert set(ids(ix, query)) == expected

    def test_stop_words_alone_find_nothing(self, ix: SearchIndex) -> None:
        assert ids(ix, "في من") == []

    @pytest.mark.parametrize(
        "query", ["3412/م.و", "٣٤١٢/م.و", "3412", "٣٤١٢", "2026/9/14", "2026/09/14", "٢٠٢٦/٠٩/١٤"]
    )
    def test_reference_numbers_whole_and_by_parts(self, ix: SearchIndex, query: str) -> None:
        assert ids(ix, query) == ["d"]

    @pytest.mark.parametrize("query", ["number:17/2025", "number:م.و/ك/17/2025", "number:17"])
    def test_the_record_number_field(self, ix: SearchIndex, query: str) -> None:
        assert ids(ix, query) == ["d"]

    @pytest.mark.parametrize(
        "query",
        [
            "subject:3412",
            "subject:٣٤١٢",
            "subject:3412/م.و",
            "subject:2026/09/14",
            "subject:3412 AND subject:جواب",
            "from:77",
            "to:55",
            "file:66",
        ],
    )
    def test_field_prefixes_find_reference_parts(self, ix: SearchIndex, query: str) -> None:
        # d holds 3412/م.و in its text: a field prefix finds the part in that field only
        reply = letter(
            "i",
            "جواب كتابكم المرقم 3412/م.و في 2026/9/14",
            "نص الجواب",
            sender="قسم 77/ق.م",
            recipients=["شعبة 55/ش.ع"],
            files=[FileRef("original", "1" * 64, 1, "application/pdf", "رد 66/ب.ت.pdf")],
        )
        ix.apply([reply], [], through=len(LETTERS) + 1)
        assert sorted(ids(ix, "3412")) == ["d", "i"]
        assert ids(ix, query) == ["i"]

    # -- the query language ----------------------------------------------------------------

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("الدوام AND الثامنة", ["a"]),
            ("الوزارة NOT خطة NOT صيانة NOT الدوام", []),
            ("(صيانة OR خطة) AND NOT سرية", ["b"]),
            ("subject:صيانة", ["b"]),
            ("subject:الوزارة", []),  # in b's text, not its subject
            ("text:المنشآت", ["c"]),
            ("sender:القانونية", ["f"]),
            ("from:Ahmed", ["e"]),
            ("to:Sara", ["e"]),
            ("kind:scan", ["d"]),
            ("office:د.ق", ["c"]),
            ("year:2019", ["f"]),
            ("attachments:scan_0042", ["d"]),
            ("file:scan_0042.pdf", ["d"]),
            ("مولد*", ["b"]),
            ("صيا?", ["b"]),
            ("expend*", ["e"]),
            ("received:2026", ["d"]),
            ("issued:2019 AND عقد", ["f"]),
            ("issued:[2024 TO 2024]", ["h", "g"]),
        ],
    )
    def test_query_language(self, ix: SearchIndex, query: str, expected: list[str]) -> None:
        assert sorted(ids(ix, query)) == sorted(expected)

    def test_or_finds_either(self, ix: SearchIndex) -> None:
        assert set(ids(ix, "الدوام OR expenditure")) == {"a", "e", "f"}

    def test_phrases_exact_wording_first(self, ix: SearchIndex) -> None:
        # g holds the phrase as written once, h holds it stemmed twice
        top = ids(ix, '"الموظفين المتقاعدين"')
        assert set(top) == {"g", "h"} and top[0] == "g"
        top = ids(ix, '"الموظفون المتقاعدون"')
        assert set(top) == {"g", "h"} and top[0] == "h"
        assert ids(ix, '"دوام رسمي"') == ["a"]  # stemmed words still make the phrase
        assert ids(ix, '"الرسمي الدوام"') == []  # the words in another order are not it

    def test_exact_wording_first_across_pages(self, ix: SearchIndex) -> None:
        text = '"الموظفين المتقاعدين"'  # g holds it as written, h stemmed
        pages = [ids(ix, text, page=n, page_size=1) for n in (1, 2, 3)]
        assert pages == [["g"], ["h"], []]
        assert [ids(ix, text, page=n, page_size=1, count=False) for n in (1, 2)] == [["g"], ["h"]]
        assert ix.search(Query(text, ALL, page_size=1)).total == 2

    def test_exact_keeps_only_the_exact_form(self, ix: SearchIndex) -> None:
        assert ids(ix, 'exact:"الموظفين المتقاعدين"') == ["g"]
        assert ids(ix, "exact:المتقاعدين") == ["g"]
        assert set(ids(ix, "المتقاعدين")) == {"g", "h"}

    @pytest.mark.parametrize(
        "text", ['"unclosed phrase', "(الدوام", "الدوام)", "issued:[2020 TO", "issued:>tomorrow"]
    )
    def test_syntax_errors_are_one_line_search_errors(self, ix: SearchIndex, text: str) -> None:
        with pytest.raises(SearchError, match="cannot parse the query") as err:
            ix.search(Query(text, ALL))
        assert "\n" not in str(err.value)

    # -- filters, facets, order, pages ----------------------------------------------------

    def test_filters(self, ix: SearchIndex) -> None:
        assert ids(ix, "الوزارة", kind="circular") == ["b"]
        assert ids(ix, "الوزارة", office="د.ق") == ["c"]
        assert set(ids(ix, "الوزارة", sender="مكتب الوزير", kind="letter")) == {"a", "c"}
        assert ids(ix, "الوزارة", sender="مكتب الوزير", office="د.ق") == ["c"]
        assert ids(ix, "الوزارة", sender="مكتب") == []  # the sender filter is exact
        found = ix.search(Query("الوزارة OR كتاب", ALL, date_from=datetime(2026, 1, 1)))
        assert [h.id for h in found.hits] == ["d"] and found.total == 1
        assert found.facets["year"] == {"2026": 1}
        assert ids(ix, "الوزارة", date_to=datetime(2024, 12, 31)) == []
        assert ids(
            ix, "المستحقات", date_from=datetime(2024, 2, 1), date_to=datetime(2024, 2, 1, 10)
        ) == ["g"]
        assert ids(ix, "الوزارة", kind="circular", office="د.ق") == []

    def test_facets_count_every_match(self, ix: SearchIndex) -> None:
        found = ix.search(Query("الوزارة", ALL, page_size=1))
        assert len(found.hits) == 1 and found.total == 3
        assert found.facets == {
            "kind": {"circular": 1, "letter": 2},
            "year": {"2025": 3},
            "office": {"د.ق": 1, "م.و": 2},
        }
        none = ix.search(Query("كلمةغائبة", ALL))
        assert none.total == 0 and none.facets == {"kind": {}, "year": {}, "office": {}}

    def test_sort_newest(self, ix: SearchIndex) -> None:
        newest = ids(ix, "الوزارة OR كتاب OR expenditure OR مستحقات", sort="newest")
        assert newest[:2] == ["d", "c"] and set(newest[2:5]) == {"a", "b", "e"}
        assert newest[5:] == ["h", "g", "f"]  # f: الكتب, the plural of كتاب

    def test_pages(self, ix: SearchIndex) -> None:
        pages = [ids(ix, "الوزارة OR expenditure", page=p, page_size=2) for p in (1, 2, 3)]
        assert [len(p) for p in pages] == [2, 2, 0]
        assert len({i for p in pages for i in p}) == 4
        newest = [
            ids(ix, "الوزارة OR expenditure", sort="newest", page=p, page_size=3) for p in (1, 2)
        ]
        assert newest[0][0] == "c" and len(newest[1]) == 1

    def test_count_false_is_the_fast_path(self, ix: SearchIndex) -> None:
        found = ix.search(Query("الوزارة", ALL, count=False))
        assert found.total == -1 and found.facets == {} and len(found.hits) == 3

    # -- snippets ---------------------------------------------------------------------------

    def test_snippet_marks_matched_words(self, ix: SearchIndex) -> None:
        q = Query("دوائر الوزاره", ALL)
        got = ix.snippet(LETTERS[0].text, q)
        assert "<mark>دوائر</mark>" in got and "<mark>الوزارة</mark>" in got
        assert ix.snippet("لا شيء هنا", q) == "لا شيء هنا"

    def test_snippet_keeps_the_letter_as_written(self, ix: SearchIndex) -> None:
        got = ix.snippet(LETTERS[5].text, Query("المتعاقد OR مطالبة", ALL))
        assert "<mark>مـطـالـبـة</mark>" in got

    def test_snippet_marks_wildcard_and_phrase_words(self, ix: SearchIndex) -> None:
        assert "<mark>مولدات</mark>" in ix.snippet(LETTERS[1].text, Query("مولد*", ALL))
        got = ix.snippet(LETTERS[0].text, Query('"الدوام الرسمي"', ALL))
        assert "<mark>الدوام</mark> <mark>الرسمي</mark>" in got

    # -- clearance ----------------------------------------------------------------------------

    def test_clearance_hides_hits_totals_and_facets(self, ix: SearchIndex) -> None:
        low = ix.search(Query("الوزارة OR خطة", C.INTERNAL))
        assert {h.id for h in low.hits} == {"a", "b"} and low.total == 2
        assert low.facets["office"] == {"م.و": 2} and low.facets["year"] == {"2025": 2}
        high = ix.search(Query("الوزارة OR خطة", C.SECRET))
        assert high.total == 3 and high.facets["office"] == {"د.ق": 1, "م.و": 2}
        public = ix.search(Query("الوزارة", C.PUBLIC))
        assert [h.id for h in public.hits] == ["b"] and public.total == 1
        assert public.facets["kind"] == {"circular": 1}

    def test_clearance_in_every_query_form(self, ix: SearchIndex) -> None:
        for text in ("خطة", "office:د.ق", "kind:letter AND النفطية", "النفط*", '"المنشآت النفطية"'):
            found = ix.search(Query(text, C.CONFIDENTIAL, sort="newest"))
            assert "c" not in {h.id for h in found.hits}, text
            assert all("د.ق" not in v for v in found.facets.values()), text
        assert ix.search(Query("خطة", C.CONFIDENTIAL)).facets == {
            "kind": {},
            "year": {},
            "office": {},
        }
        assert ix.search(Query("خطة", C.CONFIDENTIAL, office="د.ق")).total == 0

    def test_clearance_with_filters_and_pages(self, ix: SearchIndex) -> None:
        found = ix.search(Query("الوزارة", C.INTERNAL, sender="مكتب الوزير", page_size=1))
        assert found.total == 2 and len(found.hits) == 1
        second = ix.search(Query("الوزارة", C.INTERNAL, sender="مكتب الوزير", page=2, page_size=1))
        assert len(second.hits) == 1 and second.hits[0].id != found.hits[0].id
        assert ix.search(Query("الوزارة", C.INTERNAL, page=3, page_size=1)).hits == []

    # -- catch-up from the catalog ------------------------------------------------------------

    def test_catch_up_from_change_numbers(self, empty: SearchIndex, tmp_path: Path) -> None:
        catalog = SQLiteCatalog(tmp_path / "catalog.sqlite")
        try:
            sync = IndexSync(catalog, empty)
            with catalog.transaction("test") as tx:
                for r in LETTERS[:4]:
                    tx.add_record(r)
            assert sync.catch_up() == catalog.last_change() == empty.applied()
            assert ids(empty, "صيانة") == ["b"]
            with catalog.transaction("test") as tx:
                tx.add_record(LETTERS[4])
            assert ids(empty, "expenditure") == []  # behind until caught up
            sync.catch_up()
            assert ids(empty, "expenditure") == ["e"]
            assert empty.applied() == catalog.last_change()
            assert sync.reindex() == 5 and empty.applied() == catalog.last_change()
            assert ids(empty, "expenditure") == ["e"]
        finally:
            catalog.close()

    def test_an_index_ahead_of_the_catalog_is_rebuilt(
        self, empty: SearchIndex, tmp_path: Path
    ) -> None:
        catalog = SQLiteCatalog(tmp_path / "catalog.sqlite")
        try:
            with catalog.transaction("test") as tx:
                tx.add_record(LETTERS[0])
            empty.apply([LETTERS[1]], [], through=10**6)  # a catalog restored from a backup
            IndexSync(catalog, empty).catch_up()
            assert empty.applied() == catalog.last_change()
            assert ids(empty, "صيانة") == [] and ids(empty, "الدوام") == ["a"]
        finally:
            catalog.close()

    # -- damage and crashes -------------------------------------------------------------------

    def test_damage_is_detected_and_repaired(self, url: str, location: Path) -> None:
        damages = self.damages()
        if not damages:
            pytest.skip("the backend names no way to damage it")  # pragma: no cover
        for name, damage in damages.items():
            index = open_index(url)
            index.rebuild(iter(LETTERS), through=len(LETTERS))
            index.close()
            damage(location)
            index = open_index(url)
            try:
                with pytest.raises(IndexCorrupt):
                    index.applied()
                    index.search(Query("الوزارة", ALL))
                # what the archive does: rebuild from the catalog
                index.rebuild(iter(LETTERS), through=len(LETTERS))
                assert index.applied() == len(LETTERS), name
                assert set(ids(index, "الوزارة")) == {"a", "b", "c"}, name
            finally:
                index.close()
            again = open_index(url)  # and it stays repaired
            try:
                assert again.applied() == len(LETTERS), name
            finally:
                again.close()

    def test_a_killed_writer_leaves_a_whole_commit(self, url: str, tmp_path: Path) -> None:
        """A writer killed at any point: the index opens, and every batch up to the change
        it says it applied is there whole (each later one whole or not at all)."""
        go = tmp_path / "go"
        proc = subprocess.Popen(
            [sys.executable, "-c", _writer(40), url, str(go), "k", "1", "1000", "1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            _wait_ready(go, ["k"], [proc])
            go.touch()
            assert proc.stdout is not None
            for _ in range(3):  # a few batches committed, then killed in the middle of one
                proc.stdout.readline()
            time.sleep(0.05)
            os.kill(proc.pid, signal.SIGKILL)
            proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        index = open_index(url)
        try:
            try:
                applied = index.applied()
            except IndexCorrupt:  # allowed: the archive rebuilds it
                index.rebuild(iter([]), through=0)
                applied = 0
            assert applied >= 3
            for k in range(applied):
                assert index.search(Query(f"kx{k}", ALL)).total == 40, k
            later = index.search(Query(f"kx{applied}", ALL)).total
            assert later in (0, 40)
            index.apply([letter("after", "كتاب بعد الانقطاع")], [], through=applied + 1)
            assert ids(index, "الانقطاع") == ["after"]
        finally:
            index.close()

    @pytest.fixture
    def catalog_url(self, tmp_path: Path) -> str:
        """The catalog the processes of :meth:`test_several_processes_write_at_once` share."""
        return f"sqlite://{tmp_path / 'catalog.sqlite'}"

    def test_several_processes_write_at_once(
        self, url: str, catalog_url: str, tmp_path: Path
    ) -> None:
        """Three real processes add records to one catalog and each catches the one index
        up after every transaction, as archives do: afterwards the index has applied the
        catalog's last change without any repair, and every record is found."""
        go = tmp_path / "go"
        writers, batches = 3, 6
        open_index(url).close()
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    SYNC_WRITER,
                    url,
                    catalog_url,
                    str(go),
                    f"w{i}",
                    str(batches),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for i in range(writers)
        ]
        try:
            _wait_ready(go, [f"w{i}" for i in range(writers)], procs)
            go.touch()
            for proc in procs:
                _, err = proc.communicate(timeout=600)
                assert proc.returncode == 0, err
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
        index = open_index(url)
        catalog = open_catalog(catalog_url)
        try:
            assert index.applied() == catalog.last_change()
            for i in range(writers):
                for k in range(batches):
                    assert index.search(Query(f"w{i}x{k}", ALL)).total == 5, (i, k)
            assert index.search(Query("الوارد", ALL)).total == writers * batches * 5
        finally:
            index.close()
            catalog.close()


def _wait_ready(go: Path, tags: list[str], procs: list[subprocess.Popen[str]]) -> None:
    deadline = time.monotonic() + 120
    while not all(Path(f"{go}.{t}.ready").exists() for t in tags):
        for proc in procs:
            if proc.poll() is not None:
                _, err = proc.communicate()
                raise AssertionError(f"a writer died before starting: {err}")
        assert time.monotonic() < deadline, "writers did not start"
        time.sleep(0.01)


def state_of(location: Path) -> dict[str, object]:
    """A backend's JSON state file, for damage functions that edit it."""
    data: dict[str, object] = json.loads((location / "applied.json").read_text())
    return data
