"""The Arabic lexicon in the analysis chain (issue 18): broken plurals meet their singular,
a proclitic without the article comes off only when a known word remains, and an ending
that belongs to the word stays.

The issue's own cases run three ways: on the stemmer, through the library on every index
backend, and through the command line on a folder archive with default settings, exactly
as the issue tried them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from backends import INDEX_BACKENDS, backend_archive
from clirun import run_cli
from hypothesis import given, settings
from hypothesis import strategies as st

from docarchive import Archive
from docarchive.errors import ConfigurationError
from docarchive.search import analysis
from docarchive.search.analysis import (
    analysis_code,
    arabic_stem,
    lexicon,
    normalize_text,
    use_lexicon,
)
from docarchive.search.lexicon import LexiconSettings, arramooz_path, read_builtin

BUILTIN = LexiconSettings(sources=("builtin",))
DEFAULT = LexiconSettings()


def stem(word: str) -> str:
    return arabic_stem(normalize_text(word))


@pytest.fixture(params=["builtin", "auto"])
def chain(request: pytest.FixtureRequest) -> Iterator[str]:
    """The chain with the built-in lexicon alone (what ``make demo`` installs), then with
    the default (built-in and arramooz's nouns, installed by the tests' extras)."""
    use_lexicon(BUILTIN if request.param == "builtin" else DEFAULT)
    yield request.param
    use_lexicon(DEFAULT)


def test_the_tests_have_arramooz() -> None:
    # the default lexicon of the tests is the full one; without it half of this module
    # would test the built-in lexicon twice
    assert arramooz_path() is not None
    assert DEFAULT.resolved() == ("builtin", "arramooz")


# -- the stemmer -----------------------------------------------------------------------------

BROKEN_PLURALS = [
    ("مشروع", "المشاريع"),
    ("لجنة", "لجان"),
    ("دائرة", "الدوائر"),
    ("قسم", "الأقسام"),
    ("كتاب", "الكتب"),
    ("مادة", "المواد"),
    ("تقرير", "التقارير"),
    ("مدرسة", "المدارس"),
    ("منطقة", "مناطق"),
    ("وثيقة", "الوثائق"),
    ("مدخل", "المداخل"),
    ("عقد", "العقود"),
    ("شرط", "الشروط"),
    ("وزير", "الوزراء"),
    ("عضو", "أعضاء"),
    ("مهمة", "المهام"),
    ("مبلغ", "المبالغ"),
    ("جهاز", "الأجهزة"),
    ("مخزن", "المخازن"),
]


@pytest.mark.parametrize(("singular", "plural"), BROKEN_PLURALS)
def test_a_broken_plural_meets_its_singular(chain: str, singular: str, plural: str) -> None:
    assert stem(plural) == stem(singular)


@pytest.mark.parametrize(
    ("attached", "word"),
    [
        ("لتأمين", "تأمين"),
        ("بتوجيه", "توجيه"),
        ("كمشروع", "مشروع"),
        ("ولجنة", "لجنة"),
        ("للجان", "لجنة"),
        ("للجنة", "لجنة"),
        ("بكتاب", "كتاب"),
        ("وبكتاب", "كتاب"),
        ("فالقرار", "قرار"),
        ("لمدرسة", "مدرسة"),
    ],
)
def test_a_proclitic_comes_off_a_known_word(chain: str, attached: str, word: str) -> None:
    assert stem(attached) == stem(word)


@pytest.mark.parametrize(
    ("word", "other"),
    [
        ("تأمين", "تام"),
        ("تأمين", "تامة"),
        ("تكوين", "كون"),
        ("تكوين", "تكون"),
        ("تعيين", "عين"),
        ("لبنان", "بنان"),
        ("قانون", "قان"),
        ("بيان", "بي"),
        ("تخزين", "تخز"),
    ],
)
def test_an_ending_or_a_first_letter_of_the_word_stays(chain: str, word: str, other: str) -> None:
    assert stem(word) != stem(other)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("السنة", "سنة"),  # not ألسنة, the plural of لسان
        ("للسنة", "سنة"),
        ("لسنة", "سنة"),  # ل + a known word before a suffix reading (لسن)
        ("للجهة", "الجهة"),  # ل + ال, not ل + لجة
        ("لجهة", "جهة"),
        ("للجان", "لجان"),  # ل + لجان: the built-in words decide the tie
        ("معاملات", "معاملة"),  # the ة singular before a broken plural (معامل)
        ("شهادات", "شهادة"),
        ("مجالسها", "مجالس"),  # ها is not tanween
        ("تكريتي", "تكريت"),  # a ت of the word's own
        ("الطلبة", "طالب"),  # students after the article
        ("مائتان", "مئة"),
        ("الغاز", "غاز"),
        ("الباب", "باب"),
    ],
)
def test_what_the_review_found_meets(chain: str, a: str, b: str) -> None:
    assert stem(a) == stem(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("طلبه", "طالب"),  # bare: "his request", not students
        ("بدوره", "بدر"),
        ("السنة", "لسان"),
    ],
)
def test_what_the_review_found_stays_apart(chain: str, a: str, b: str) -> None:
    assert stem(a) != stem(b)


def test_lebanon_stays_whole(chain: str) -> None:
    assert stem("لبنان") == "لبنان"
    assert stem("بلبنان") == "لبنان"  # ب + a known word


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("الإدارية", "إداري"),
        ("المالية", "مالي"),
        ("الموظفات", "موظف"),
        ("لجنتين", "لجنة"),
        ("وزارتي", "وزارة"),
        ("الوزارة", "وزارة"),
        ("ووزارة", "وزارة"),
        ("التأمينات", "تأمين"),
        ("مديرياتها", "مديرية"),
    ],
)
def test_inflections_the_lexicon_does_not_list_still_meet(chain: str, a: str, b: str) -> None:
    assert stem(a) == stem(b)


def test_without_a_lexicon_the_chain_is_the_light_stemmer() -> None:
    use_lexicon(LexiconSettings(sources=()))
    try:
        assert len(lexicon()) == 0
        assert stem("تأمين") == stem("تام") == "تام"  # the over-stemming the issue reports
        assert stem("المشاريع") != stem("مشروع")
        assert stem("لتأمين") == "لتام"
    finally:
        use_lexicon(DEFAULT)


def test_every_plural_of_the_builtin_lexicon_meets_its_singular(chain: str) -> None:
    pairs: list[tuple[str, str]] = []

    class Collect:
        normalize = staticmethod(normalize_text)

        def word(self, word: str) -> None:
            pass

        def plural(self, plural: str, singular: str) -> None:
            pairs.append((plural, singular))

        def article_plural(self, plural: str, singular: str) -> None:
            with_article.append((plural, singular))

    with_article: list[tuple[str, str]] = []
    read_builtin(Collect())  # type: ignore[arg-type]
    assert len(pairs) >= 150 and with_article
    # bare, and each with the article (السنوات and السنة, not ألسنة)
    apart = [(p, s) for p, s in pairs if stem(p) != stem(s) or stem("ال" + p) != stem("ال" + s)]
    apart += [(p, s) for p, s in with_article if stem("ال" + p) != stem(s)]
    assert apart == []


ARABIC_LETTERS = "ابتثجحخدذرزسشصضطظعغفقكلمنهويءآأإؤئةى"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=ARABIC_LETTERS, min_size=1, max_size=12))
def test_a_stem_is_a_nonempty_word_and_stable(word: str) -> None:
    use_lexicon(DEFAULT)
    normal = normalize_text(word)
    term = arabic_stem(normal)
    assert term and " " not in term
    assert arabic_stem(normal) == term  # cached or not, the same answer
    # the article in front changes nothing once two letters remain, unless the word with
    # it is a word of its own (ألد, إلكتروني: the lexicon's lemma starts with ال)
    lemmas = lexicon().lemmas
    if len(normal) >= 2 and not normal.startswith(("و", "ف", "ب", "ك", "ل", "ا")):
        own = analysis._known("ال" + normal, lemmas)
        if normal not in lemmas and not (own and own.startswith("ال")):
            assert arabic_stem("ال" + normal) == term


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["مشروع", "لجنة", "دائرة", "قسم", "تأمين", "توجيه", "مسؤول", "مدرسة"]))
def test_a_known_word_and_each_proclitic_form_meet(word: str) -> None:
    use_lexicon(DEFAULT)
    for clitic in ("و", "ف", "ب", "ل", "ك", "وب", "ول", "فل", "ال", "وال", "بال", "لل"):
        assert stem(clitic + word) == stem(word), clitic + word


# -- settings --------------------------------------------------------------------------------


def test_settings_read_the_offices_own_words() -> None:
    got = LexiconSettings.from_settings(
        {"lexicon": ["builtin"], "plurals": {"مخافر": "مخفر"}, "words": ["الكرخ"]}
    )
    assert got.resolved() == ("builtin",)
    assert got.plurals == (("مخافر", "مخفر"),)
    assert LexiconSettings.from_settings({"lexicon": "off"}).resolved() == ()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"lexicon": "everything"}, "must be"),
        ({"lexicon": ["builtin", "wordnet"]}, "unknown source 'wordnet'"),
        ({"plurals": {"مخافر": ""}}, "plural"),
        ({"plurals": ["مخافر"]}, "plural"),
        ({"words": "الكرخ"}, "list of words"),
        ({"stemmer": "isri"}, "unknown setting 'stemmer'"),
    ],
)
def test_bad_settings_are_refused_with_what_to_write(table: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        LexiconSettings.from_settings(table)


def test_the_offices_pairs_come_first_and_join_new_plurals() -> None:
    # not words docarchive knows: ان taken for a suffix, an Iraqi plural not joined
    assert stem("شهربان") == "شهرب"
    assert stem("السراكيل") != stem("سركال")
    own = LexiconSettings(sources=("builtin",), plurals=(("سراكيل", "سركال"),), words=("شهربان",))
    use_lexicon(own)
    try:
        assert stem("السراكيل") == stem("سركال")
        assert stem("بشهربان") == stem("الشهربان") == stem("شهربان") == "شهربان"
        assert lexicon().sources == ("office", "builtin")
    finally:
        use_lexicon(DEFAULT)
    assert stem("السراكيل") != stem("سركال")


def test_the_lexicon_is_read_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[LexiconSettings] = []
    real = analysis.load_lexicon

    def counting(settings: LexiconSettings, normalize: Any) -> Any:
        calls.append(settings)
        return real(settings, normalize)

    monkeypatch.setattr(analysis, "load_lexicon", counting)
    monkeypatch.setattr(analysis, "_LEXICONS", {})
    fresh = LexiconSettings(sources=("builtin",), words=("فريدة",))
    use_lexicon(fresh)
    try:
        assert calls == []  # lazily: not before a word is stemmed
        for word in ("المشاريع", "لجان", "تأمين"):
            stem(word)
        use_lexicon(DEFAULT)
        use_lexicon(fresh)
        stem("الدوائر")
        assert calls == [fresh]
    finally:
        use_lexicon(DEFAULT)


def test_the_analysis_code_follows_the_lexicon() -> None:
    codes = set()
    for lex in (DEFAULT, BUILTIN, LexiconSettings(sources=()), LexiconSettings(words=("زنبقلوت",))):
        use_lexicon(lex)
        codes.add(analysis_code())
    use_lexicon(DEFAULT)
    assert len(codes) == 4
    assert all(0 <= c < 1_000_000 for c in codes)


# -- through the archive ---------------------------------------------------------------------

LETTERS = {
    "projects": ("متابعة المشاريع المتلكئة", "نطلب إعداد تقرير عن المشاريع المتلكئة في المحافظة."),
    "committees": ("تشكيل لجان الجرد", "تشكل لجان الجرد السنوي في جميع المخازن."),
    "departments": ("تعميم على الدوائر", "يعمم على الدوائر كافة الالتزام بالدوام الرسمي."),
    "sections": ("الأقسام الإدارية", "على الأقسام الإدارية رفع جداول الحضور شهرياً."),
    "entrances": ("خطة أمنية", "أعدت خطة لتأمين المداخل الرئيسة لمبنى الوزارة."),
    "guidance": ("صيانة المصاعد", "بتوجيه من السيد الوزير تتم صيانة المصاعد فوراً."),
    "complete": ("إنجاز الأعمال", "أنجزت الأعمال بشكل تام وفق المواصفات المطلوبة."),
    "lebanon": ("وفد من لبنان", "يزور وفد من لبنان الوزارة الأسبوع القادم."),
}

#: The issue's searches: query -> the letters it must find, and the one it must not.
ISSUE_SEARCHES = [
    ("مشروع", {"projects"}, set()),
    ("لجنة", {"committees"}, set()),
    ("دائرة", {"departments"}, set()),
    ("قسم", {"sections"}, set()),
    ("تأمين", {"entrances"}, {"complete"}),
    ("توجيه", {"guidance"}, set()),
    ("تام", {"complete"}, {"entrances"}),
    ("لبنان", {"lebanon"}, set()),
]


EXAMPLE = json.loads(
    (Path(__file__).resolve().parents[2] / "examples" / "data" / "circular.json").read_text("utf-8")
)


def circular(subject: str, body: str) -> dict[str, Any]:
    """The example circular's data with another subject and body."""
    return {**EXAMPLE, "subject": subject, "body": [body], "references": []}


def _fill(arc: Archive) -> dict[str, str]:
    ids = {}
    for key, (subject, body) in LETTERS.items():
        ids[arc.issue("circular", circular(subject, body)).id] = key
    arc.catch_up()
    return ids


@pytest.fixture(scope="module", params=INDEX_BACKENDS)
def filled(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Archive, dict[str, str]]]:
    with backend_archive(request, tmp_path_factory, "lexicon") as arc:
        yield arc, _fill(arc)


@pytest.mark.parametrize(
    ("query", "must", "must_not"), ISSUE_SEARCHES, ids=[q[0] for q in ISSUE_SEARCHES]
)
def test_the_issues_searches_on_every_backend(
    filled: tuple[Archive, dict[str, str]], query: str, must: set[str], must_not: set[str]
) -> None:
    arc, ids = filled
    found = [
        ids.get(h.record.id, h.record.id) for h in arc.search(query, clearance="top-secret").hits
    ]
    assert must <= set(found), f"{query}: {found}"
    assert not must_not & set(found), f"{query}: {found}"


def test_the_exact_form_still_ranks_first(filled: tuple[Archive, dict[str, str]]) -> None:
    arc, _ = filled
    arc.issue("circular", circular("مشروع الطاقة", "مشروع محطة الطاقة الشمسية."))
    arc.catch_up()
    found = [h.record.subject for h in arc.search("مشروع", clearance="top-secret").hits]
    assert found[0] == "مشروع الطاقة", found  # as written before the plural
    assert "متابعة المشاريع المتلكئة" in found
    exact = [h.record.subject for h in arc.search("exact:مشروع", clearance="top-secret").hits]
    assert exact == ["مشروع الطاقة"]


def _write_search_settings(root: Path, text: str) -> None:
    settings_file = root / "docarchive.toml"
    settings_file.write_text(settings_file.read_text("utf-8") + "\n" + text, "utf-8")


def test_the_issues_searches_from_the_command_line(tmp_path: Path) -> None:
    """A folder archive with default settings, a few circulars, and the CLI's search."""
    root = tmp_path / "archive"
    run_cli("init", str(root), isolated=True, check=True)
    for key, (subject, body) in LETTERS.items():
        data = tmp_path / f"{key}.json"
        data.write_text(json.dumps(circular(subject, body), ensure_ascii=False))
        run_cli("issue", "circular", str(data), root=root, isolated=True, check=True)
    subjects = {subject: key for key, (subject, _) in LETTERS.items()}
    for query, must, must_not in ISSUE_SEARCHES:
        proc = run_cli("search", query, "--json", root=root, isolated=True, check=True)
        found = {subjects.get(h["subject"]) for h in json.loads(proc.stdout)["hits"]}
        assert must <= found, (query, found)
        assert not must_not & found, (query, found)


def test_an_offices_own_plural_rebuilds_the_index_and_finds_old_letters(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    Archive.init(root).close()
    with Archive.open(root, issue_pdf=False) as arc:
        arc.issue("circular", circular("تدريب السراكيل", "يلتحق السراكيل بدورة السلامة المهنية."))
        assert arc.search("سركال", clearance="top-secret").total == 0
    _write_search_settings(root, '[search.plurals]\n"سراكيل" = "سركال"\n')
    with Archive.open(root, issue_pdf=False) as arc:  # the index was made with another lexicon
        found = arc.search("سركال", clearance="top-secret")
        assert [h.record.subject for h in found.hits] == ["تدريب السراكيل"]
    _write_search_settings(root, "")
    use_lexicon(DEFAULT)


def test_lexicon_off_in_the_settings_gives_the_light_stemmer(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    Archive.init(root).close()
    with Archive.open(root, issue_pdf=False) as arc:
        arc.issue("circular", circular("إنجاز الأعمال", "أنجزت بشكل تام."))
    _write_search_settings(root, '[search]\nlexicon = "off"\n')
    try:
        with Archive.open(root, issue_pdf=False) as arc:
            assert arc.search("تأمين", clearance="top-secret").total == 1  # the old over-stemming
    finally:
        use_lexicon(DEFAULT)


def test_two_archives_in_one_process_each_index_with_its_own_lexicon(tmp_path: Path) -> None:
    """Reindexing one archive while another, with another lexicon, was used last builds
    the first with its own lexicon (the catch-up and the rebuild switch to it)."""
    roots = {name: tmp_path / name for name in ("a", "b")}
    for root in roots.values():
        Archive.init(root).close()
    _write_search_settings(roots["b"], '[search]\nlexicon = "off"\n')
    try:
        with (
            Archive.open(roots["a"], issue_pdf=False) as a,
            Archive.open(roots["b"], issue_pdf=False) as b,
        ):
            a.issue("circular", circular(*LETTERS["entrances"]))
            b.issue("circular", circular(*LETTERS["complete"]))
            assert b.search("تأمين", clearance="top-secret").total == 1  # b: light stemming
            a.reindex()
            use_lexicon(LexiconSettings(sources=()))  # b's, as a thread serving b leaves it
            a.catch_up()
            found = a.search("تأمين", clearance="top-secret")
            assert [h.record.subject for h in found.hits] == ["خطة أمنية"]
            assert a.search("تام", clearance="top-secret").total == 0
    finally:
        use_lexicon(DEFAULT)
