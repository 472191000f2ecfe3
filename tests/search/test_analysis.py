"""Tests for docarchive.search.analysis: each filter alone, then the whole chain."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from whoosh import highlight
from whoosh.analysis import LowercaseFilter, StandardAnalyzer
from whoosh.fields import ID, TEXT, Schema
from whoosh.filedb.filestore import RamStorage
from whoosh.qparser import QueryParser

from docarchive.search.analysis import (
    ARABIC_STOP_WORDS,
    TOKEN_PATTERN,
    ArabicNormalizeFilter,
    ArabicStopFilter,
    DigitFoldFilter,
    LightStemFilter,
    StripMarksFilter,
    UnicodeNormalizeFilter,
    arabic_english_analyzer,
    arabic_stem,
    arabic_tokenizer,
    exact_analyzer,
    normalize_text,
)

FULL = arabic_english_analyzer()
EXACT = exact_analyzer()

SENTENCE = "تقرر أن يبدأ الدوام الرسمي في دوائر الوزارة كافة من الساعة التاسعة صباحاً"
LETTER = (
    "إلى/ مُدِيرِيَّة الموارد البشرية\n"
    "م/ تعميم\n"
    "نرفق لكم طيّاً كتاب وزارة المالية المرقم ٤٥٢ في ٢٠٢٦/٣/١٥ بخصوص النفقات."
)


def terms(analyzer: Any, text: str, **kwargs: Any) -> list[str]:
    return [t.text for t in analyzer(text, **kwargs)]


def term(analyzer: Any, text: str) -> str:
    found = terms(analyzer, text)
    assert len(found) == 1, found
    return found[0]


# --------------------------------------------------------------------------- tokenizer


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("مُدير", ["مُدير"]),
        ("مُدِيرُ عامٍّ", ["مُدِيرُ", "عامٍّ"]),
        ("الـــوزارة", ["الـــوزارة"]),
        ("ق/2026", ["ق/2026"]),  # a reference number is one token
        ("and/or", ["and", "or"]),  # words joined by "/" are not
        ("م.و", ["م", "و"]),
        ("ref A4-2026x", ["ref", "A4", "2026x"]),
        ("snake_case", ["snake", "case"]),
        ("٤٥٢ ۴۵۲", ["٤٥٢", "۴۵۲"]),
        ("قرآنٰ ۖ", ["قرآنٰ", "ۖ"]),
        ("re\u0301sume\u0301 \u0301x", ["re\u0301sume\u0301", "x"]),  # decomposed accents
    ],
)
def test_tokenizer_keeps_marks_inside_tokens(text: str, expected: list[str]) -> None:
    assert terms(arabic_tokenizer(), text) == expected


def test_tokenizer_words_match_the_exported_pattern() -> None:
    import re

    text = "مُدِيرُ الوزارة ref A4 ٤٥٢"
    assert terms(arabic_tokenizer(), text) == re.findall(TOKEN_PATTERN, text)


def test_default_whoosh_tokenizer_splits_harakat() -> None:
    """Documents the bug this module exists for."""
    assert terms(StandardAnalyzer(stoplist=None), "مُدير") == ["م", "دير"]


def test_tokenizer_offsets_point_into_original() -> None:
    text = "قرار  مُدِيرِ الوزارةِ"
    spans = [text[t.startchar : t.endchar] for t in arabic_tokenizer()(text, chars=True)]
    assert spans == ["قرار", "مُدِيرِ", "الوزارةِ"]


# --------------------------------------------------------------------------- filters alone


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ﺍﻟﻮﺯﺍﺭﺓ", ["الوزارة"]),  # U+FE8D ... presentation forms B
        ("ﻻ", ["لا"]),  # lam-alef ligature
        ("ﭘ", ["پ"]),  # presentation forms A
        ("ＡＢＣ１２", ["ABC12"]),  # full width
        ("ﷲ", ["الله"]),
        ("cafe\u0301", ["café"]),
        ("الوزارة", ["الوزارة"]),
    ],
)
def test_unicode_normalize_filter(text: str, expected: list[str]) -> None:
    assert terms(arabic_tokenizer() | UnicodeNormalizeFilter(), text) == expected


def test_unicode_normalize_filter_splits_expanded_ligature_keeping_offsets() -> None:
    text = "قال ﷺ"
    chain = arabic_tokenizer() | UnicodeNormalizeFilter()
    got = [(t.text, t.pos, t.startchar, t.endchar) for t in chain(text, positions=True, chars=True)]
    assert got == [
        ("قال", 0, 0, 3),
        ("صلى", 1, 4, 5),
        ("الله", 1, 4, 5),
        ("عليه", 1, 4, 5),
        ("وسلم", 1, 4, 5),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("½", ["1", "2"]), ("⅐", ["1", "7"]), ("ﹰ", [])],  # a lone mark's form: dropped
)
def test_unicode_normalize_filter_resplits_on_introduced_non_word_chars(
    text: str, expected: list[str]
) -> None:
    assert terms(arabic_tokenizer() | UnicodeNormalizeFilter(), text) == expected


def test_unicode_normalize_filter_does_not_split_untokenized_value() -> None:
    chain = arabic_tokenizer() | UnicodeNormalizeFilter()
    assert terms(chain, "ﻻ ﷺ", tokenize=False) == ["لا صلى الله عليه وسلم"]


def test_unicode_normalize_filter_other_form() -> None:
    assert terms(arabic_tokenizer() | UnicodeNormalizeFilter("NFC"), "ﻻ") == ["ﻻ"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("مُدِيرُ", ["مدير"]),
        ("عامٍّ", ["عام"]),
        ("الـــوزارة", ["الوزارة"]),
        ("ـــ قرار", ["قرار"]),  # token of tatweels only is dropped
        ("هذٰا", ["هذا"]),  # superscript alef
        ("ٔ", []),  # standalone hamza above is a mark
        ("سٕ", ["س"]),  # hamza below
        ("ذلكۖ", ["ذلك"]),  # Quranic annotation
        ("ﷺ", ["ﷺ"]),  # no NFKC in this chain: not a mark
        ("plain", ["plain"]),
        ("\u0670\u0300b", ["b"]),  # a Latin accent left at the start is dropped
    ],
)
def test_strip_marks_filter(text: str, expected: list[str]) -> None:
    assert terms(arabic_tokenizer() | StripMarksFilter(), text) == expected


def test_strip_marks_filter_keeps_offsets_of_original() -> None:
    text = "ــــ مُدِيرُ"
    chain = arabic_tokenizer() | StripMarksFilter()
    got = [(t.text, text[t.startchar : t.endchar]) for t in chain(text, chars=True)]
    assert got == [("مدير", "مُدِيرُ")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("٤٥٢", "452"),
        ("۴۵۲", "452"),
        ("٠١٢٣٤٥٦٧٨٩", "0123456789"),
        ("۰۱۲۳۴۵۶۷۸۹", "0123456789"),
        ("ق٢", "ق2"),
        ("2026", "2026"),
    ],
)
def test_digit_fold_filter(text: str, expected: str) -> None:
    assert term(arabic_tokenizer() | DigitFoldFilter(), text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("آمر", "امر"),
        ("أحمد", "احمد"),
        ("إدارة", "اداره"),
        ("ٱلله", "الله"),
        ("مستشفى", "مستشفي"),
        ("مدیر", "مدير"),  # Farsi yeh U+06CC
        ("ے", "ي"),  # yeh barree
        ("کتاب", "كتاب"),  # keheh
        ("ۀ", "ه"),
        ("ہ", "ه"),
        ("ە", "ه"),
        ("مسؤول", "مسءول"),  # hamza on waw or yeh -> hamza: مسؤول and مسئول are one word
        ("رئيس", "رءيس"),
        ("مسئول", "مسءول"),
    ],
)
def test_arabic_normalize_filter(text: str, expected: str) -> None:
    assert term(arabic_tokenizer() | ArabicNormalizeFilter(), text) == expected


STOP_CHAIN = arabic_tokenizer() | LowercaseFilter() | ArabicNormalizeFilter() | ArabicStopFilter()


@pytest.mark.parametrize("word", ["في", "من", "إلى", "الى", "أن", "ان", "إن", "هذه", "The", "and"])
def test_stop_filter_drops_stop_words(word: str) -> None:
    assert terms(STOP_CHAIN, word) == []


@pytest.mark.parametrize("word", ["الوزارة", "مدير", "ق", "2026", "budget", "علي", "على"])
def test_stop_filter_keeps_content_words(word: str) -> None:
    assert len(terms(STOP_CHAIN, word)) == 1


def test_stop_list_is_stored_normalized() -> None:
    assert "ان" in ARABIC_STOP_WORDS
    assert "الي" in ARABIC_STOP_WORDS
    assert all(normalize_text(w) == w for w in ARABIC_STOP_WORDS)
    assert 100 <= len(ARABIC_STOP_WORDS) <= 160


def test_stop_filter_renumbers_positions() -> None:
    got = [(t.text, t.pos) for t in STOP_CHAIN("كتاب من الوزارة في بغداد", positions=True)]
    assert got == [("كتاب", 0), ("الوزاره", 1), ("بغداد", 2)]


def test_stop_filter_marks_instead_of_dropping_when_removestops_false() -> None:
    got = [
        (t.text, t.stopped, t.pos)
        for t in STOP_CHAIN("كتاب من الوزارة", positions=True, removestops=False)
    ]
    assert got == [("كتاب", False, 0), ("من", True, 1), ("الوزاره", False, 2)]


def test_stop_filter_custom_list_is_normalized() -> None:
    chain = arabic_tokenizer() | ArabicNormalizeFilter() | ArabicStopFilter(stoplist=["المُرقَّم"])
    assert terms(chain, "المرقم كتاب") == ["كتاب"]


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("الوزاره", "وزار"),
        ("والوزاره", "وزار"),
        ("بالوزاره", "وزار"),
        ("كالوزاره", "وزار"),
        ("فالوزاره", "وزار"),
        ("للوزاره", "وزار"),
        ("وزاره", "وزار"),
        ("ووزاره", "وزار"),
        ("وزارات", "وزار"),
        ("الوزير", "وزير"),
        ("وزير", "وزير"),
        ("وكيل", "وكيل"),
        ("ومدير", "مدير"),
        ("الموظفون", "موظف"),
        ("الموظفين", "موظف"),
        ("كتابها", "كتاب"),
        ("مستشفي", "مستشف"),
        ("ال", "ال"),  # too short for any prefix
        ("الي", "ال"),  # no prefix (too short), then the yeh suffix
        ("وتم", "وتم"),
        ("به", "به"),  # suffix needs two letters left
    ],
)
@pytest.mark.usefixtures("light_stemmer")
def test_arabic_stem(word: str, expected: str) -> None:
    assert arabic_stem(word) == expected


@pytest.mark.parametrize(
    ("word", "expected"),
    [("وزاره", "زار"), ("وزير", "زير"), ("وتم", "وتم"), ("الوزاره", "وزار")],
)
def test_arabic_stem_strict_lucene(word: str, expected: str) -> None:
    assert arabic_stem(word, strict_lucene=True) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("الوزاره", "وزار"),
        ("expenditures", "expenditur"),
        ("expenditure", "expenditur"),
        ("ministries", "ministri"),
        ("cafés", "café"),
        ("a4s", "a4"),
        ("2026", "2026"),
        ("ق2", "ق2"),
        ("привет", "привет"),  # other scripts pass through
    ],
)
def test_light_stem_filter(text: str, expected: str) -> None:
    assert term(arabic_tokenizer() | LightStemFilter(), text) == expected


def test_light_stem_filter_strict_lucene_option() -> None:
    assert term(arabic_tokenizer() | LightStemFilter(strict_lucene=True), "وزاره") == "زار"


# --------------------------------------------------------------------------- whole chain


@pytest.mark.parametrize(
    "group",
    [
        ["مُدير", "مدير", "مُدِيرُ", "مدیر"],
        ["الوزارة", "الوزاره", "وزارة", "والوزارة", "ﺍﻟﻮﺯﺍﺭﺓ", "الـــوزارة", "الوزارةِ"],
        ["الدوام", "دوام"],
        ["٤٥٢", "۴۵۲", "452", "４５２"],
        ["مستشفى", "مستشفي"],
        ["expenditures", "expenditure", "Expenditures"],
        ["أحمد", "احمد", "إحمد"],
    ],
)
def test_chain_conflates(group: list[str]) -> None:
    assert len({term(FULL, word) for word in group}) == 1


@pytest.mark.parametrize(
    ("a", "b"),
    [("الوزير", "الوزارة"), ("وزير", "وزارة"), ("مدير", "مدينة"), ("452", "425")],
)
def test_chain_does_not_over_stem(a: str, b: str) -> None:
    assert term(FULL, a) != term(FULL, b)


@pytest.mark.usefixtures("light_stemmer")
def test_chain_on_sentence() -> None:
    assert terms(FULL, SENTENCE) == [
        "تقرر",
        "يبدا",
        "دوام",
        "رسم",
        "دواءر",
        "وزار",
        "كاف",
        "ساع",
        "تاسع",
        "صباحا",
    ]


def test_chain_drops_english_stop_words() -> None:
    assert terms(FULL, "The Ministry of Finance") == ["ministri", "financ"]


@pytest.mark.usefixtures("light_stemmer")
def test_chain_offsets_point_into_original_text() -> None:
    text = LETTER
    got = [
        (t.text, t.pos, text[t.startchar : t.endchar])
        for t in FULL(text, positions=True, chars=True)
    ]
    # إلى (position 0) is a stop word; kept tokens are renumbered without gaps.
    assert got[0] == ("مدير", 1, "مُدِيرِيَّة")  # مديريه -> مدير (Lucene's yeh+heh suffix)
    assert ("452", 13, "٤٥٢") in got
    # a date is a reference: whole and by its parts, all at one position
    for part in ("2026/3/15", "2026", "3", "15"):
        assert (part, 14, "٢٠٢٦/٣/١٥") in got
    assert got[-1] == ("نفق", 16, "النفقات")
    assert sorted({pos for _, pos, _ in got}) == list(range(1, 17))


def test_exact_analyzer_normalizes_without_stems_or_stops() -> None:
    assert terms(EXACT, "في الوزارةِ المرقم ٤٥٢ The Expenditures") == [
        "في",
        "الوزاره",
        "المرقم",
        "452",
        "the",
        "expenditures",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("مُدِيرُ الـــوزارة", "مدير الوزاره"),
        ("ﺍﻟﻮﺯﺍﺭﺓ ٤٥٢/۴۵۲", "الوزاره 452/452"),
        ("آمر مستشفى The", "امر مستشفي the"),
        ("", ""),
        ("T\u0308", "\u1e97"),  # lowercasing T + diaeresis needs recomposition
    ],
)
def test_normalize_text(text: str, expected: str) -> None:
    assert normalize_text(text) == expected


def test_analyzers_pickle_and_compare_equal() -> None:
    """whoosh pickles the schema, analyzers included, into the index."""
    for analyzer in (FULL, EXACT):
        clone = pickle.loads(pickle.dumps(analyzer))
        assert clone == analyzer
        assert terms(clone, SENTENCE) == terms(analyzer, SENTENCE)
    assert arabic_english_analyzer() == FULL
    assert FULL != EXACT


def test_query_mode_keeps_stopped_tokens_marked() -> None:
    got = [(t.text, t.stopped) for t in FULL("من الوزارة", mode="query", removestops=False)]
    assert got == [("من", True), ("وزار", False)]


# --------------------------------------------------------------------------- properties

ARABIC_CHARS = st.characters(min_codepoint=0x0600, max_codepoint=0x06FF)
PRESENTATION_CHARS = st.characters(min_codepoint=0xFB50, max_codepoint=0xFEFF)
ASCII_CHARS = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
MIXED_TEXT = st.text(alphabet=st.one_of(ARABIC_CHARS, PRESENTATION_CHARS, ASCII_CHARS))
ANY_TEXT = st.one_of(st.text(), MIXED_TEXT)

ARABIC_LETTERS = st.sampled_from([chr(c) for c in range(0x0621, 0x064B) if c != 0x0640])
HARAKAT = st.sampled_from([chr(c) for c in (*range(0x064B, 0x0653), 0x0670, 0x0640)])


@given(ANY_TEXT)
def test_property_analyzers_never_raise(text: str) -> None:
    for analyzer in (FULL, EXACT):
        list(analyzer(text, positions=True, chars=True))
        list(analyzer(text, mode="query", removestops=False))


@given(ANY_TEXT)
def test_property_normalize_text_is_idempotent(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once


@given(MIXED_TEXT)
def test_property_analyzing_a_normalized_token_gives_the_same_terms(text: str) -> None:
    for analyzer in (FULL, EXACT):
        by_span: dict[tuple[int, int], list[str]] = {}
        for t in analyzer(text, chars=True):
            by_span.setdefault((t.startchar, t.endchar), []).append(t.text)
        for (start, end), found in by_span.items():
            assert terms(analyzer, normalize_text(text[start:end])) == found


@given(st.text(alphabet=st.one_of(ARABIC_CHARS, ASCII_CHARS)))
def test_property_analyzing_normalized_text_gives_same_terms(text: str) -> None:
    # Not for presentation forms: e.g. U+FDFC (rial sign) is no word character,
    # but its NFKC form is the word ریال.
    assert terms(FULL, normalize_text(text)) == terms(FULL, text)
    assert terms(EXACT, normalize_text(text)) == terms(EXACT, text)


@given(st.lists(ARABIC_LETTERS, min_size=1, max_size=12), st.data())
def test_property_harakat_and_tatweel_never_change_terms(
    letters: list[str], data: st.DataObject
) -> None:
    word = "".join(letters)
    decorated = "".join(
        letter + "".join(data.draw(st.lists(HARAKAT, max_size=3))) for letter in letters
    )
    assert terms(FULL, decorated) == terms(FULL, word)
    assert terms(EXACT, decorated) == terms(EXACT, word)


@given(st.integers(min_value=0, max_value=10**30))
def test_property_digit_renderings_fold_to_ascii(n: int) -> None:
    ascii_digits = str(n)
    arabic_indic = ascii_digits.translate({ord("0") + i: 0x0660 + i for i in range(10)})
    eastern = ascii_digits.translate({ord("0") + i: 0x06F0 + i for i in range(10)})
    expected = [ascii_digits]
    assert terms(FULL, arabic_indic) == terms(FULL, eastern) == terms(FULL, ascii_digits)
    assert terms(FULL, ascii_digits) == expected


@given(ANY_TEXT, st.booleans())
def test_property_offsets_within_bounds(text: str, removestops: bool) -> None:
    for analyzer in (FULL, EXACT):
        for t in analyzer(text, positions=True, chars=True, removestops=removestops):
            assert 0 <= t.startchar < t.endchar <= len(text)
            assert text[t.startchar : t.endchar]
            assert t.text


# --------------------------------------------------------------------------- whoosh integration

DOCS = {
    "1": "تقرر أن يبدأ الدوام الرسمي في دوائر الوزارة كافة من الساعة التاسعة صباحاً",
    "2": "يُعلن مُدير الدائرة عن اجتماع مع المحافظ يوم الخميس",
}


def search_ids(analyzer: Any, query: str) -> set[str]:
    schema = Schema(id=ID(stored=True), body=TEXT(analyzer=analyzer, stored=True))
    index = RamStorage().create_index(schema)
    with index.writer() as writer:
        for doc_id, body in DOCS.items():
            writer.add_document(id=doc_id, body=body)
    with index.searcher() as searcher:
        parsed = QueryParser("body", schema).parse(query)
        return {hit["id"] for hit in searcher.search(parsed)}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("الوزاره", {"1"}),
        ("وزارة", {"1"}),
        ("مدير", {"2"}),
        ("مُدير", {"2"}),
        ("دوام", {"1"}),
        ('"الدوام الرسمي"', {"1"}),
        ("الوزير", set()),
    ],
)
def test_whoosh_index_finds_normalized_forms(query: str, expected: set[str]) -> None:
    assert search_ids(arabic_english_analyzer(), query) == expected


def test_whoosh_standard_analyzer_misses_harakat_word() -> None:
    """Why this module exists: StandardAnalyzer indexes مُدير as م + دير."""
    assert search_ids(StandardAnalyzer(), "مدير") == set()
    assert search_ids(arabic_english_analyzer(), "مدير") == {"2"}


def test_whoosh_highlight_marks_original_text() -> None:
    text = DOCS["2"]
    fragment = highlight.highlight(
        text,
        frozenset(["مدير"]),
        FULL,
        highlight.WholeFragmenter(),
        highlight.HtmlFormatter(tagname="b", classname="m"),
    )
    assert '<b class="m term0">مُدير</b>' in fragment


@pytest.mark.parametrize("mark", ["\ufe70", "\ufe72", "\ufe76", "\ufe7c", "\ufc5e"])
def test_presentation_forms_of_lone_marks_leave_no_space(mark: str) -> None:
    # found by the property test below: NFKC turns U+FE70 into a space and a fathatan
    assert normalize_text(f"0/{mark}") == "0/"
    assert normalize_text(f"كتاب{mark}") == "كتاب"
    for analyzer in (FULL, EXACT):
        assert terms(analyzer, f"0/{mark}") == terms(analyzer, "0/")
