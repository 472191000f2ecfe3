"""The tantivy index beyond the conformance suite (test_index_tantivy_conformance.py): its
URL options, the archive repairing a damaged tantivy folder on open, and the tokens handed
to tantivy being exactly what the analyzer chain gives."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_index_tantivy_conformance import DAMAGES

from docarchive import Archive
from docarchive.errors import ConfigurationError
from docarchive.search import open_index
from docarchive.search.analysis import arabic_english_analyzer, exact_analyzer
from docarchive.search.tantivy_index import TantivyIndex, analyzed
from docarchive.testing.index import LETTERS


def test_open_index_by_url_with_writer_options(tmp_path: Path) -> None:
    index = open_index(f"tantivy://{tmp_path}/ix?heap_mb=32&threads=2")
    assert isinstance(index, TantivyIndex) and (index.heap_mb, index.threads) == (32, 2)
    with pytest.raises(ConfigurationError, match="unknown tantivy:// option 'speed'"):
        open_index(f"tantivy://{tmp_path}/ix?speed=9")
    with pytest.raises(ConfigurationError, match="heap_mb must be 16 or more"):
        open_index(f"tantivy://{tmp_path}/ix?heap_mb=1")
    with pytest.raises(ConfigurationError, match="must be numbers"):
        open_index(f"tantivy://{tmp_path}/ix?threads=many")


@pytest.mark.parametrize("damage", DAMAGES.values(), ids=list(DAMAGES))
def test_archive_repairs_a_damaged_index_on_open(
    tmp_path: Path, damage: Callable[[Path], None]
) -> None:
    root = tmp_path / "archive"
    url = f"tantivy://{root / 'index'}"
    with Archive.open(root, index=url) as archive:
        with archive.catalog.transaction("test") as tx:
            for r in LETTERS:
                tx.add_record(r)
        archive.catch_up()
        before = sorted(h.record.id for h in archive.search("الوزارة", clearance="top-secret").hits)
    damage(root / "index")
    with Archive.open(root, index=url) as archive:
        after = sorted(h.record.id for h in archive.search("الوزارة", clearance="top-secret").hits)
        assert after == before == ["a", "b", "c"]
        assert archive.index.applied() == archive.catalog.last_change()
    with Archive.open(root, index=url) as archive:  # and it stays repaired
        assert archive.search("الثامنة", clearance="top-secret").total == 1


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
def test_property_tokens_given_to_tantivy_equal_the_analyzer_chain(text: str) -> None:
    """The same terms at the same positions as the chain, stemmed (with stop words) and
    unstemmed; the exact forms sit at the stemmed terms' positions."""
    for analyzer, stemmed in ((arabic_english_analyzer(), True), (exact_analyzer(), False)):
        expected: dict[str, list[int]] = {}
        for t in analyzer(text, positions=True, mode="index"):
            expected.setdefault(t.text, []).append(t.pos)
        exact: list[object] = []
        got: dict[str, list[int]] = {}
        for token in analyzed([text], stemmed, exact if stemmed else None):  # type: ignore[arg-type]
            got.setdefault(token.text, []).append(token.position)
        assert got == expected
        if stemmed:
            positions = sorted({p for ps in expected.values() for p in ps})
            assert [t.position for t in exact] == positions  # type: ignore[attr-defined]
            unstemmed: dict[str, list[int]] = {}
            for t in exact_analyzer()(text, positions=True, mode="query"):
                unstemmed.setdefault(t.text, []).append(t.pos)
            assert {t.text for t in exact} <= set(unstemmed)  # type: ignore[attr-defined]


def test_parts_are_one_text_and_subject_weighs_double(tmp_path: Path) -> None:
    tokens = analyzed(["الدوام الرسمي", "في الوزارة الدوام"], True)
    assert [(t.text, t.position) for t in tokens] == [
        ("دوام", 0),
        ("رسم", 1),
        ("وزار", 2),
        ("دوام", 3),
    ]
