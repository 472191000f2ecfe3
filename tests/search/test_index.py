"""The whoosh index beyond the conformance suite (test_index_whoosh_conformance.py): its
URL options, the archive repairing a damaged whoosh folder on open, an older schema, and
the fast indexing path giving exactly what the analyzer chain gives."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_index_whoosh_conformance import DAMAGES, state_says_more

from docarchive import Archive
from docarchive.search import open_index
from docarchive.search.analysis import (
    AnalyzedText,
    FormPositions,
    arabic_english_analyzer,
    exact_analyzer,
)
from docarchive.search.index import STATE_FILE, WhooshIndex, make_snippet
from docarchive.testing.index import LETTERS


def whoosh_archive(root: Path) -> Archive:
    return Archive.open(root, index=f"whoosh://{root / 'index'}")


def test_open_index_by_url_with_writer_options(tmp_path: Path) -> None:
    index = open_index(f"whoosh://{tmp_path}/ix?procs=2&limitmb=64")
    assert isinstance(index, WhooshIndex) and (index.procs, index.limitmb) == (2, 64)
    from docarchive.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="unknown whoosh:// option 'speed'"):
        open_index(f"whoosh://{tmp_path}/ix?speed=9")


def test_make_snippet_keeps_harakat_and_cuts_long_text() -> None:
    text = "كلام " * 200 + "قرار المُدِيرِ العام " + "كلام " * 200
    got = make_snippet(text, {"مدير"})
    assert "<mark>المُدِيرِ</mark>" in got and len(got) < 300


# -- a damaged index -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "damage", [*DAMAGES.values(), state_says_more], ids=[*DAMAGES, "state-says-more"]
)
def test_archive_repairs_a_damaged_index_on_open(
    tmp_path: Path, damage: Callable[[Path], None]
) -> None:
    root = tmp_path / "archive"
    with whoosh_archive(root) as archive:
        with archive.catalog.transaction("test") as tx:
            for r in LETTERS:
                tx.add_record(r)
        archive.catch_up()
        before = sorted(h.record.id for h in archive.search("الوزارة", clearance="top-secret").hits)
    damage(root / "index")
    with whoosh_archive(root) as archive:
        after = sorted(h.record.id for h in archive.search("الوزارة", clearance="top-secret").hits)
        assert after == before == ["a", "b", "c"]
        assert archive.index.applied() == archive.catalog.last_change()
    with whoosh_archive(root) as archive:  # and it stays repaired
        assert archive.search("الثامنة", clearance="top-secret").total == 1


def test_an_index_from_an_older_schema_is_rebuilt(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    with whoosh_archive(root) as archive:
        with archive.catalog.transaction("test") as tx:
            tx.add_record(LETTERS[0])
        archive.catch_up()
    state = json.loads((root / "index" / STATE_FILE).read_text())
    state["schema"] = 1
    (root / "index" / STATE_FILE).write_text(json.dumps(state))
    with whoosh_archive(root) as archive:
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
