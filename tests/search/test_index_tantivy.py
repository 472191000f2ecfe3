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
from docarchive.search.analysis import (
    ArabicStopFilter,
    ReferenceFilter,
    _normalizing,
    arabic_english_analyzer,
    exact_analyzer,
    index_strings,
)
from docarchive.search.tantivy_index import TantivyIndex, document
from docarchive.testing.index import LETTERS, letter


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
    ۴۵۲ الوزارة. (المدير) «للموظفين»، والمستشفيات؛ م. و. في، …من —على ٣٤١٢/م.و. (17/2026)
    ﻻ ﺑﺎﻟﻤﺪﻳﺮ. بـمكافحة، ـــ ﻭﺍﻝﻡﻭﻅﻑﻱﻥ، ۀ کے ﷺ، اُلْمحِتُصلّ. لَلَعْضّاوهْا ً مسئول
    آخر ًالوزارة (ـ) ٣٤١٢/مُ.و
    """.split()  # noqa: SIM905
)
_TEXT = st.lists(st.one_of(_WORDS, st.text(max_size=8)), max_size=30).map(" ".join)


def _by_position(tokens: object) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for t in tokens:  # type: ignore[attr-defined]
        out.setdefault(t.pos, []).append(t.text)
    return out


@settings(max_examples=500, deadline=None)
@given(_TEXT)
def test_property_strings_given_to_tantivy_equal_the_analyzer_chain(text: str) -> None:
    """tantivy cuts the strings on spaces, counting positions from 0: it gets the chain's
    whole term of each position in order, with no gaps where the chain has none, the exact
    form of each at the same position, and the reference parts the chain puts there."""
    stemmed = _by_position(arabic_english_analyzer()(text, positions=True, mode="index"))
    unstemmed_chain = _normalizing() | ArabicStopFilter() | ReferenceFilter()
    forms = _by_position(unstemmed_chain(text, positions=True, mode="query"))
    whole, exact, parts = index_strings(text)
    positions = sorted(stemmed)
    if positions:  # consecutive, as tantivy counts them
        assert positions == list(range(positions[0], positions[0] + len(positions)))
    assert whole.split() == [stemmed[p][0] for p in positions]
    assert exact.split() == [forms[p][0] for p in sorted(forms)]
    assert sorted(parts.split()) == sorted(t for p in positions for t in stemmed[p][1:])

    plain = _by_position(exact_analyzer()(text, positions=True, mode="index"))
    whole, _, parts = index_strings(text, stemmed=False)
    assert sorted((whole + " " + parts).split()) == sorted(t for ts in plain.values() for t in ts)


def test_property_finds_a_difference() -> None:
    """The property above can fail: a chain that stems differently is caught."""
    text = "الوزارة والمستشفيات"
    whole, _, _ = index_strings(text)
    chain = _by_position(exact_analyzer()(text, positions=True, mode="index"))
    assert whole.split() != [chain[p][0] for p in sorted(chain)]


@pytest.mark.usefixtures("light_stemmer")
def test_parts_are_one_text_and_subject_weighs_double(tmp_path: Path) -> None:
    index = TantivyIndex(tmp_path / "ix")
    index.apply([letter("s", "الدوام الرسمي", "في الوزارة الدوام")], [], through=1)
    searcher = index._current()
    assert searcher.doc_freq("all", "دوام") == 1
    doc = document(letter("s", "الدوام الرسمي", "في الوزارة الدوام"))
    # the subject twice, the text (في is a stop word), the sender; no recipients, number
    # or file names
    assert doc["all"][0].split() == ["دوام", "رسم", "دوام", "رسم", "وزار", "دوام", "مكتب", "وزير"]
    index.close()


def test_the_term_cache_is_emptied_between_texts_never_inside_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A cache that fills up is emptied before a text, so a text never finds half of its
    runs gone (the exact forms and parts are read after the whole terms)."""
    from docarchive.search import analysis

    monkeypatch.setattr(analysis, "_STRINGS_LIMIT", 3)
    text = "قرر السيد مدير الدائرة المالية صرف المستحقات 17/2026 للموظفين"
    expected = index_strings(text)
    for _ in range(3):
        assert index_strings(text) == expected
        assert index_strings("كتاب آخر فيه كلمات جديدة كثيرة") is not None


def test_a_phrase_is_its_words_in_a_row(tmp_path: Path) -> None:
    """A record holding each two neighbouring words of a three-word phrase, but apart, is
    not a match."""
    index = TantivyIndex(tmp_path / "ix")
    index.apply(
        [
            letter("apart", "كتاب", "صيانة المولدات ثم تأجيل ثم المولدات الكهربائية"),
            letter("whole", "كتاب", "صيانة المولدات الكهربائية"),
        ],
        [],
        through=1,
    )
    from docarchive.records import Classification
    from docarchive.search import Query

    hits = index.search(Query('"صيانة المولدات الكهربائية"', Classification.TOP_SECRET)).hits
    assert [h.id for h in hits] == ["whole"]
    index.close()
