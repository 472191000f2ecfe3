"""Arabic + English text analysis for the archive's whoosh indexes.

The chain is modelled on Lucene's ``ArabicAnalyzer`` and composed with ``|``
exactly like whoosh's own analyzers::

    ArabicTokenizer | UnicodeNormalizeFilter | StripMarksFilter | DigitFoldFilter
                    | LowercaseFilter | ArabicNormalizeFilter | ArabicStopFilter
                    | ReferenceFilter | LightStemFilter

Reference numbers (``3412/م.و``, ``17/2026``, ``ق/٤٥٢``) are one token to the
tokenizer; :class:`ReferenceFilter` indexes them whole and by each part, so both
``3412/م.و`` and ``3412`` find them.

Why not whoosh's built-ins: Python's ``\\w`` does not match harakat, so the
default tokenizer splits ``مُدير`` into ``م`` and ``دير``; ``LanguageAnalyzer('ar')``
fails, ISRI over-stems and Snowball Arabic is inconsistent.

Every filter keeps the token's ``startchar``/``endchar`` untouched, so they
always point into the *original* text (harakat included) and whoosh's
highlighter works on the stored text.

The chain is the reference; :class:`AnalyzedText` indexes with it through a
per-token cache (the same terms at the same positions, tested on random text), which
makes indexing as fast as plain whoosh's ``StandardAnalyzer``.  All classes are module
level and hold
only picklable state, because whoosh pickles the schema (and its analyzers)
into the index.
"""

from __future__ import annotations

import pickle
import re
import unicodedata
import zlib
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from typing import Any, Literal

from whoosh import fields
from whoosh.analysis import (
    STOP_WORDS,
    CompositeAnalyzer,
    Filter,
    LowercaseFilter,
    Token,
    Tokenizer,
)
from whoosh.formats import Positions
from whoosh.lang.porter import stem as porter_stem
from whoosh.lang.porter2 import stem as english_stem
from whoosh.system import _INT_SIZE, pack_uint, unpack_uint

from .lexicon import Lexicon, LexiconSettings
from .lexicon import load as load_lexicon

__all__ = [
    "ARABIC_STOP_WORDS",
    "REFERENCE_PATTERN",
    "TOKEN_PATTERN",
    "AnalyzedText",
    "ArabicNormalizeFilter",
    "ArabicStopFilter",
    "ArabicTokenizer",
    "DigitFoldFilter",
    "FormPositions",
    "LightStemFilter",
    "ReferenceFilter",
    "StripMarksFilter",
    "UnicodeNormalizeFilter",
    "analysis_code",
    "arabic_english_analyzer",
    "arabic_stem",
    "arabic_tokenizer",
    "exact_analyzer",
    "exact_form",
    "form_code",
    "index_strings",
    "indexed_terms",
    "known_lemma",
    "lexicon",
    "normalize_text",
    "raw_tokens",
    "raw_words",
    "use_lexicon",
    "word_terms",
]

# --------------------------------------------------------------------------
# Character tables
# --------------------------------------------------------------------------

#: Arabic combining marks, tatweel and Quranic annotation signs (a regex class body).
_MARKS = "\u0610-\u061a\u064b-\u065f\u0670\u0640\u06d6-\u06ed"

#: Other combining marks (e.g. decomposed Latin accents): kept inside a token,
#: never starting one.
_OTHER_MARKS = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"

#: A token is a run of letters/digits (no underscore) and Arabic marks; other
#: combining marks may follow inside it.
TOKEN_PATTERN = rf"(?:[^\W_]|[{_MARKS}])(?:[^\W_]|[{_MARKS}{_OTHER_MARKS}])*"
_TOKEN_RE = re.compile(TOKEN_PATTERN)

#: A word, or a reference number: parts joined by ``/`` (a part may hold dots, as
#: in ``م.و``).  :class:`ArabicTokenizer` keeps a ``/`` match whole only when it
#: holds a digit; ``and/or`` is two words.
REFERENCE_PATTERN = (
    rf"{TOKEN_PATTERN}(?:(?:\.{TOKEN_PATTERN})*(?:/{TOKEN_PATTERN}(?:\.{TOKEN_PATTERN})*)+)?"
)
_SCAN_RE = re.compile(REFERENCE_PATTERN)
_DIGIT = re.compile(r"\d")
_LEADING_OTHER_MARKS = re.compile(rf"^[{_OTHER_MARKS}]+")

_MARKS_TABLE: dict[int, None] = {
    cp: None
    for lo, hi in (
        (0x0610, 0x061A),
        (0x064B, 0x065F),
        (0x0670, 0x0670),
        (0x0640, 0x0640),
        (0x06D6, 0x06ED),
    )
    for cp in range(lo, hi + 1)
}

_DIGITS_TABLE: dict[int, int] = {
    **{0x0660 + i: ord("0") + i for i in range(10)},  # Arabic-Indic
    **{0x06F0 + i: ord("0") + i for i in range(10)},  # Eastern Arabic-Indic
}

_ARABIC_TABLE: dict[int, str] = {
    0x0622: "\u0627",  # alef with madda above -> alef
    0x0623: "\u0627",  # alef with hamza above -> alef
    0x0625: "\u0627",  # alef with hamza below -> alef
    0x0624: "\u0621",  # waw with hamza above -> hamza (مسؤول and مسئول are one word)
    0x0626: "\u0621",  # yeh with hamza above -> hamza (شؤون and شئون)
    0x0671: "\u0627",  # alef wasla -> alef
    0x0649: "\u064a",  # alef maksura -> yeh
    0x0629: "\u0647",  # teh marbuta -> heh
    0x06CC: "\u064a",  # Farsi yeh -> yeh
    0x06D2: "\u064a",  # yeh barree -> yeh
    0x06A9: "\u0643",  # keheh -> kaf
    0x06C0: "\u0647",  # heh with yeh above -> heh
    0x06C1: "\u0647",  # heh goal -> heh
    0x06D5: "\u0647",  # ae -> heh
}

_ARABIC_LETTER = re.compile("[\u0620-\u064a\u066e-\u06d3\u06d5\u06fa-\u06ff\u0750-\u077f]")
_LATIN = "a-z\u00df-\u00f6\u00f8-\u00ff\u0100-\u024f"
#: Lowercase Latin letters, optionally with digits, at least one letter.
_LATIN_WORD = re.compile(f"[{_LATIN}0-9]*[{_LATIN}][{_LATIN}0-9]*")


# --------------------------------------------------------------------------
# String-level helpers (shared by the filters and by normalize_text)
# --------------------------------------------------------------------------


def _strip_marks(text: str) -> str:
    """Remove Arabic marks; re-compose whatever the removal un-blocked (NFC)."""
    stripped = text.translate(_MARKS_TABLE)
    if stripped != text:
        stripped = unicodedata.normalize("NFC", stripped)
    return stripped


def _fold_digits(text: str) -> str:
    return text.translate(_DIGITS_TABLE)


def _normalize_arabic(text: str) -> str:
    text = text.translate(_ARABIC_TABLE)
    # str.lower() can leave a sequence NFC would compose (T + U+0308 -> t + U+0308,
    # precomposed only in lower case): recompose so normalization is idempotent.
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return text


def _mark_forms() -> dict[int, None]:
    """Presentation forms that NFKC turns into a space (or tatweel) and marks only: the
    isolated and medial harakat (U+FE70-U+FE7F) and the shadda ligatures (U+FC5E-U+FC63).
    Marks are dropped anyway; dropping these first keeps NFKC from putting a space
    inside a word or a reference number."""
    table: dict[int, None] = {}
    for code in [*range(0xFB50, 0xFE00), *range(0xFE70, 0xFF00)]:
        decomposed = unicodedata.normalize("NFKC", chr(code))
        if (
            decomposed != chr(code)
            and any(unicodedata.category(c) == "Mn" for c in decomposed)
            and all(
                c.isspace() or c == "\u0640" or unicodedata.category(c) == "Mn" for c in decomposed
            )
        ):
            table[code] = None
    return table


_MARK_FORMS = _mark_forms()


def nfkc(s: str) -> str:
    """NFKC, with the presentation forms of lone marks dropped first (:func:`_mark_forms`)."""
    return unicodedata.normalize("NFKC", s.translate(_MARK_FORMS))


def normalize_text(s: str) -> str:
    """Normalize a whole string the way the analyzers normalize each token.

    NFKC, strip Arabic marks and tatweel, fold Arabic-Indic digits, lowercase
    and unify Arabic letter variants.  No tokenizing, no stop words, no stemming.
    """
    text = nfkc(s)
    text = _fold_digits(_strip_marks(text)).lower()
    return _normalize_arabic(text)


# --------------------------------------------------------------------------
# Stemming
# --------------------------------------------------------------------------

# Larkey light stemming as in Lucene's ArabicStemmer.  Lucene lists the prefix
# "ال" first; no ال-word starts with و/ب/ك/ف/ل, so longest-first is equivalent.
_PREFIXES = ("وال", "بال", "كال", "فال", "ال", "لل")
# Conjunction + preposition + article, which Lucene leaves: وبالملاحظات, وللموظفين.
_COMPOUND_PREFIXES = ("وبال", "وكال", "فبال", "ولل", "فلل")
_WAW = "و"
# Lucene's list after normalization (ة is already ه, so its "ية"/"ة" entries
# would be duplicates of "يه"/"ه"): ها ان ات ون ين يه ه ي.
_SUFFIXES = ("ها", "ان", "ات", "ون", "ين", "يه", "ه", "ي")


_SUFFIX_ENDS = frozenset(s[-1] for s in _SUFFIXES)
_SUFFIX_LENGTHS = tuple((s, len(s)) for s in _SUFFIXES)


def _strip_suffixes(word: str) -> str:
    # One pass over the list in order; each suffix removed at most once, and
    # only while at least two letters remain (Lucene's stemSuffix).
    if not word or word[-1] not in _SUFFIX_ENDS:
        return word
    for suffix in _SUFFIXES:
        if len(word) >= len(suffix) + 2 and word.endswith(suffix):
            word = word[: -len(suffix)]
    return word


#: The first prefix of each list (in order) that leaves two or more letters: the loops
#: of Lucene's stemmer as one compiled pattern each.
_COMPOUND_PREFIX_RE = re.compile(f"(?:{'|'.join(_COMPOUND_PREFIXES)})(?=..)", re.DOTALL)
_PREFIX_RE = re.compile(f"(?:{'|'.join(_PREFIXES)})(?=..)", re.DOTALL)
#: A compound prefix, else a simple one: ``_COMPOUND_PREFIX_RE`` then ``_PREFIX_RE``.
_ANY_PREFIX_RE = re.compile(f"{_COMPOUND_PREFIX_RE.pattern}|{_PREFIX_RE.pattern}", re.DOTALL)


#: Proclitics without the article, shortest first (ولجنة is و + لجنة, not ول + جنة):
#: separated only when what remains is a word the lexicon knows (لتأمين -> تأمين, بتوجيه ->
#: توجيه; لبنان stays لبنان).
_PROCLITICS = ("و", "ف", "ب", "ك", "ل", "وب", "وك", "ول", "فب", "فك", "فل")
#: The proclitics a word starting with each letter may begin with, in ``_PROCLITICS``' order.
_PROCLITICS_BY_FIRST = {p[0]: tuple(q for q in _PROCLITICS if q[0] == p[0]) for p in _PROCLITICS}
_TEH = "ت"
_HEH = "ه"
_YEH = "ي"
_ALEF = "ا"
_HA = "ها"
_AT = "ات"
_ARTICLE = "ال"
_NISBA_FEMININE = "يه"


def _known(word: str, lemmas: Mapping[str, str]) -> str | None:
    """The lemma of ``word``, or of the first known form left as its suffixes come off
    (Lucene's list, each tried once, in order; a ت left at the end is tried as the ة it
    stands for when the ت itself is not a word: لجنتين -> لجنت -> لجنة; ية as the
    adjective's ي first: مالية -> مالي, not مال; what ات leaves as the ة singular first:
    معاملات -> معاملة, not معامل); None when no form is known."""
    return _walk(word, lemmas, stem=False)[0]


def _walk(word: str, lemmas: Mapping[str, str], stem: bool = True) -> tuple[str | None, str]:
    """(:func:`_known`'s lemma, or None; and what is left of ``word`` once all of
    Lucene's suffixes came off, the light stem of a word nothing makes known; ``stem``
    False: the word itself when its first letters are no known word's)."""
    lemma = lemmas.get(word)
    if lemma is not None:
        return lemma, word
    if word[:3] not in _HEADS:  # no known word starts so: none can be reached
        return None, _strip_unknown(word) if stem else word
    if word.endswith(_ALEF) and len(word) >= 4 and not word.endswith(_HA):  # مسؤولاً
        lemma = lemmas.get(word[:-1])
        if lemma is not None:
            return lemma, word
    if word[-1:] not in _SUFFIX_ENDS:
        return None, word
    whole = word
    n = len(word)
    for suffix, k in _SUFFIX_LENGTHS:
        if n >= k + 2 and word.endswith(suffix):
            word = word[:-k]
            n -= k
            if n < 3:  # a two-letter word is known only as written (لكون is not لك)
                return None, _strip_unknown(whole)
            if suffix == _NISBA_FEMININE:  # إدارية: the adjective إداري before its root
                lemma = lemmas.get(word + _YEH)
                if lemma is not None:
                    return lemma, word
            elif suffix == _AT:  # معاملات: the ة singular before a broken plural (معامل)
                lemma = lemmas.get(word + _HEH)
                if lemma is not None:
                    return lemma, word
            lemma = lemmas.get(word)
            if lemma is None and word.endswith(_TEH):  # لجنتين -> لجنت -> لجنة
                lemma = lemmas.get(word[:-1] + _HEH)
            if lemma is not None:
                return lemma, word
    return None, whole if _is_tafeel(whole) else word


def _is_tafeel(word: str) -> bool:
    """تفعيل with ن as its last letter (تأمين, تخزين, تدوين): its ين is the word's own."""
    return len(word) == 5 and word[0] == _TEH and word[3] == "ي" and word[4] == "ن"


def _strip_unknown(word: str) -> str:
    """Lucene's suffix stripping of a word the lexicon does not know, except that a
    تفعيل noun keeps its ين."""
    if _is_tafeel(word):
        return word
    return _strip_suffixes(word)


def _lexicon_stem(word: str, lemmas: Mapping[str, str]) -> str:
    """Stem one normalized Arabic word with the lexicon's help (see :func:`arabic_stem`)."""
    lemma, stem = _lexicon_lemma(word, lemmas)
    if lemma is None:  # unknown: light stemming, as without a lexicon
        return stem
    if len(lemma) >= 4 and lemma.endswith(_HEH):  # ة: as the light stemmer, so that
        return lemma[:-1]  # غرفة meets الغرف and محطات, which the lexicon may not list
    return lemma


def _lexicon_lemma(word: str, lemmas: Mapping[str, str]) -> tuple[str | None, str]:
    """(the lemma of what a known form is found by taking off an article prefix, a suffix
    or (only then) a bare proclitic, or None; the word's light stem)."""
    found = _ANY_PREFIX_RE.match(word)
    if found:  # never looked up whole first: السنة is not ألسنة (the plural of لسان)
        return _article_lemma(word, found, lemmas)
    lemma = lemmas.get(word)
    if lemma is None:  # a proclitic and a word as written before a suffix: لسنة
        lemma = _proclitic_lemma(word, lemmas, as_written=True)
    if lemma is not None:
        return lemma, word
    lemma, stem = _walk(word, lemmas)
    if lemma is None:
        lemma = _proclitic_lemma(word, lemmas)
    if lemma is None and len(stem) >= 5 and stem.startswith(_WAW):
        stem = stem[1:]
    return lemma, stem


def known_lemma(word: str) -> str | None:
    """The lemma the lexicon in use finds for one normalized Arabic word (as written, or
    once an article, a suffix or a proclitic is taken off); None when it finds none."""
    lemmas = lexicon().lemmas
    return _lexicon_lemma(word, lemmas)[0] if lemmas else None


def _article_lemma(
    word: str, found: re.Match[str], lemmas: Mapping[str, str]
) -> tuple[str | None, str]:
    """(the lemma, or None; the light stem) of a word that starts with an article prefix
    (``found``)."""
    prefix = found.group()
    rest = word[found.end() :]
    lemma = _ARTICLE_ONLY.get(rest)
    if lemma is not None:
        return lemma, rest
    lemma, stem = _walk(rest, lemmas)
    if prefix.endswith("لل"):  # ل + ال (للجهة), or ل + a word that starts with ل (للجان)
        other = _known(word[len(prefix) - 1 :], lemmas)
        if other is not None and (lemma is None or (other in _CORE and lemma not in _CORE)):
            return other, stem  # the office's and built-in words decide a tie
    if lemma is None and (word[:4] in _ARTICLE_HEADS or word[:3] in _ARTICLE_HEADS):
        lemma = _known(word, lemmas)  # a word of its own that starts with ال: إلكترونية
        if lemma is not None and not lemma.startswith(_ARTICLE):
            lemma = None
    return lemma, stem


def _proclitic_lemma(
    word: str, lemmas: Mapping[str, str], *, as_written: bool = False
) -> str | None:
    """The lemma of what is left once a bare proclitic (و ف ب ك ل, or two) comes off, when
    that is a known word (``as_written``: as it is; else also with its suffixes taken
    off); None otherwise."""
    candidates = _PROCLITICS_BY_FIRST.get(word[:1])
    if candidates is None:
        return None
    n = len(word)
    for proclitic in candidates:
        if n >= len(proclitic) + 3 and word.startswith(proclitic):
            rest = word[len(proclitic) :]
            lemma = lemmas.get(rest) if as_written else _known(rest, lemmas)
            if lemma is not None:
                return lemma
    return None


@lru_cache(maxsize=50_000)
def arabic_stem(word: str, strict_lucene: bool = False) -> str:
    """Stem one normalized Arabic word.

    With the lexicon (:mod:`docarchive.search.lexicon`, the default): a word the lexicon
    knows is its lemma (a broken plural its singular: مشاريع -> مشروع, لجان -> لجنة); else
    the article prefixes come off as below and what remains is looked up, then with its
    suffixes taken off one by one; a proclitic without the article (و ف ب ك ل and their
    pairs) comes off only when what remains is known (لتأمين -> تأمين, لبنان stays); a
    word nothing makes known is light-stemmed as below, except that a تفعيل noun keeps
    its ين (تخزين is not تخز). An ending that belongs to a known word stays: تأمين is
    not تام + ين.

    Without a lexicon (``[search] lexicon = "off"``) and with ``strict_lucene``: Larkey
    light stemming as in Lucene's ``ArabicStemmer``. At most one prefix of وال بال كال
    فال ال لل is removed when two or more letters remain, then the suffixes ها ان ات ون
    ين يه ه ي are each tried once in that order, each needing two letters left over.

    The bare conjunction و differs from Lucene unless ``strict_lucene`` is set:
    Lucene strips it from any 4+ letter word, which turns وزارة into زار
    ("visited") and وزير/وكيل into زير/كيل, so وزارة would never match
    الوزارة.  Here و is stripped only from what is left after suffix removal,
    and only when four or more letters remain (ووزارة -> وزار, ومدير -> مدير,
    وزارة -> وزار).  Also unlike Lucene (unless ``strict_lucene``), the compound
    prefixes وبال وكال فبال ولل فلل come off first (وبالملاحظات -> ملاحظ).
    """
    if not strict_lucene:
        lemmas = lexicon().lemmas
        if lemmas:
            return _lexicon_stem(word, lemmas)
        found = _COMPOUND_PREFIX_RE.match(word)
        if found:
            return _strip_suffixes(word[found.end() :])
    found = _PREFIX_RE.match(word)
    if found:
        return _strip_suffixes(word[found.end() :])
    if strict_lucene:
        if len(word) >= 4 and word.startswith(_WAW):
            word = word[1:]
        return _strip_suffixes(word)
    word = _strip_suffixes(word)
    if len(word) >= 5 and word.startswith(_WAW):
        word = word[1:]
    return word


# --------------------------------------------------------------------------
# The lexicon in use
# --------------------------------------------------------------------------

_LEXICON_SETTINGS = LexiconSettings()
_LEXICON: Lexicon | None = None
#: The active lexicon's :meth:`~docarchive.search.lexicon.Lexicon.heads`, and those of
#: its words whose lemma starts with ال (إلكتروني): the only ones a word with an article
#: prefix can be known as whole.
_HEADS: frozenset[str] = frozenset()
_ARTICLE_HEADS: frozenset[str] = frozenset()
#: The lemmas of the office's and the built-in words, which win a tie (للجان).
_CORE: frozenset[str] = frozenset()
#: The active lexicon's plurals known only after an article (الطلبة).
_ARTICLE_ONLY: Mapping[str, str] = {}
#: Lexicons read in this process, by their settings: each is read once.
_LEXICONS: dict[LexiconSettings, Lexicon] = {}


def lexicon() -> Lexicon:
    """The lexicon in use, read the first time a word is stemmed (once per process)."""
    global _LEXICON, _HEADS, _ARTICLE_HEADS, _CORE, _ARTICLE_ONLY
    if _LEXICON is None:
        found = _LEXICONS.get(_LEXICON_SETTINGS)
        if found is None:
            found = _LEXICONS[_LEXICON_SETTINGS] = load_lexicon(_LEXICON_SETTINGS, normalize_text)
        _HEADS = found.heads()
        _ARTICLE_HEADS = found.heads(lambda lemma: lemma.startswith(_ARTICLE), 4)
        _CORE = found.core
        _ARTICLE_ONLY = found.article_only
        _LEXICON = found
    return _LEXICON


def use_lexicon(settings: LexiconSettings) -> None:
    """Stem with the lexicon ``settings`` describe (an archive's ``[search]`` table) from
    now on in this process; a no-op when it is the one in use. The lexicon itself is read
    when first needed. Every cache of analysed words is emptied on a change."""
    global _LEXICON_SETTINGS, _LEXICON
    if settings == _LEXICON_SETTINGS:
        return
    _LEXICON_SETTINGS = settings
    _LEXICON = None
    arabic_stem.cache_clear()
    _stem_word.cache_clear()
    _GROUPS.clear()
    for strings in _STRINGS.values():
        strings.reset()


#: Raised whenever the chain changes what it makes of a word, beside the lexicon's own
#: fingerprint: an index made by another chain is rebuilt (:func:`analysis_code`).
ANALYSIS_REVISION = 4


def lexicon_settings() -> LexiconSettings:
    """The settings of the lexicon in use (see :func:`use_lexicon`)."""
    return _LEXICON_SETTINGS


def analysis_code() -> int:
    """A number below 1,000,000 that stands for the chain in use (its revision and its
    lexicon): indexes record it and are rebuilt when it changes."""
    digest = zlib.crc32(f"{ANALYSIS_REVISION}:{lexicon().fingerprint}".encode())
    return digest % 1_000_000


def _stem_token(text: str, strict_lucene: bool) -> str:
    if "/" in text:  # a reference number (or one of its parts), never stemmed: and not
        return text  # remembered either, as most references are met once
    return _stem_word(text, strict_lucene)


@lru_cache(maxsize=50_000)
def _stem_word(text: str, strict_lucene: bool) -> str:
    if _ARABIC_LETTER.search(text):
        return arabic_stem(text, strict_lucene)
    if _LATIN_WORD.fullmatch(text):
        # Porter2 (Snowball English) without a lexicon too: Porter cut general and
        # generous to one stem, and evaluating and evaluation to two
        return str(porter_stem(text) if strict_lucene else english_stem(text))
    return text


# --------------------------------------------------------------------------
# Stop words
# --------------------------------------------------------------------------

# Jacques Savoy's Arabic stop word list (BSD licence) as shipped with Lucene's
# ArabicAnalyzer, plus a few common function words.  Stored normalized (below),
# so أن/ان/إن, الى/إلى collapse.  Unlike Lucene, على is left out: normalized it is the
# name علي, one of the commonest in the correspondence (signatories, committee members).
_ARABIC_STOP_SOURCE = """
من ومن منها منه في وفي فيها فيه و ف ثم او أو ب بها به ا أ اى اي أي أى لا ولا الا ألا
إلا لكن ما وما كما فما عن مع اذا إذا ان أن إن انها أنها إنها انه أنه إنه بان بأن فان فأن
وان وأن وإن التى التي الذى الذي الذين الى الي إلى إلي عليها عليه اما أما إما ايضا
أيضا كل وكل لم ولم لن ولن هى هي هو وهى وهي وهو فهى فهي فهو انت أنت لك لها له هذه هذا
تلك ذلك هناك كانت كان يكون تكون وكانت وكان غير بعض قد نحو بين بينما منذ ضمن حيث الان
الآن خلال بعد قبل حتى عند عندما لدى جميع
هؤلاء أولئك إذ لقد كذلك سوف ليس ليست لأن إنما كي لكي التي اللذان اللتان اللواتي ذات
إليه إليها إليهم إليكم إلينا لديه لديها لديهم عليهم عليكم
"""

#: Arabic stop words, normalized with :func:`normalize_text`.
ARABIC_STOP_WORDS: frozenset[str] = frozenset(
    normalize_text(word) for word in _ARABIC_STOP_SOURCE.split()
)
_DEFAULT_STOPS = ARABIC_STOP_WORDS | STOP_WORDS


# --------------------------------------------------------------------------
# Filters
# --------------------------------------------------------------------------


def raw_tokens(text: str) -> list[tuple[str, int]]:
    """The tokens of ``text`` and their start offsets, as :class:`ArabicTokenizer` cuts them."""
    out: list[tuple[str, int]] = []
    for m in _SCAN_RE.finditer(text):
        token = m.group()
        if "/" in token and not _DIGIT.search(token):  # words joined by "/": not a number
            start = m.start()
            out.extend((w.group(), start + w.start()) for w in _TOKEN_RE.finditer(token))
        else:
            out.append((token, m.start()))
    return out


#: For indexing, where offsets do not matter: Arabic marks and tatweel (token characters
#: the chain strips anyway) removed before cutting, so a word is a plain run.
_MARKS_RUN = re.compile(f"[{_MARKS}]+")
_OTHER_MARK = re.compile(f"[{_OTHER_MARKS}]")
#: A word not followed by "." or "/" (possessive: no backtracking), else a reference
#: exactly as :data:`REFERENCE_PATTERN` cuts it; ``\w`` where the text has no "_".
_WORD_OR_REF = re.compile(r"\w++(?![./])|\w+(?:(?:\.\w+)*(?:/\w+(?:\.\w+)*)+)?")
_WORD_OR_REF_NO_UNDERSCORE = re.compile(
    r"[^\W_]++(?![./])|[^\W_]+(?:(?:\.[^\W_]+)*(?:/[^\W_]+(?:\.[^\W_]+)*)+)?"
)
_PLAIN_WORD = re.compile(r"[^\W_]+")
#: Madda and hamza written as combining marks (آ أ ؤ إ ئ decomposed).
_COMBINING_HAMZA = re.compile("[\u0653-\u0655]")


def raw_words(text: str) -> list[str]:
    """The words of ``text`` for indexing: :func:`raw_tokens` without offsets, and with
    Arabic marks and tatweel already removed (the chain gives the same terms either way).

    One compiled pattern and no Python per word; text holding other combining marks
    (rare: decomposed Latin accents) is cut by the tokenizer's own pattern."""
    if _COMBINING_HAMZA.search(text):  # ئ written as ي + hamza: composed, as the chain does
        text = unicodedata.normalize("NFC", text)
    if _OTHER_MARK.search(text):
        found: list[str] = _SCAN_RE.findall(text)
        splitter = _TOKEN_RE
    else:
        if _MARKS_RUN.search(text):
            text = _MARKS_RUN.sub("", text)
        pattern = _WORD_OR_REF_NO_UNDERSCORE if "_" in text else _WORD_OR_REF
        found = pattern.findall(text)
        splitter = _PLAIN_WORD
    if "/" not in text:
        return found
    out: list[str] = []
    for token in found:
        if "/" in token and not _DIGIT.search(token):  # words joined by "/": not a number
            out.extend(splitter.findall(token))
        else:
            out.append(token)
    return out


class ArabicTokenizer(Tokenizer):  # type: ignore[misc]
    """Words as runs of letters, digits and Arabic marks (:data:`TOKEN_PATTERN`), so
    ``مُدير`` stays one word; a reference number (:data:`REFERENCE_PATTERN` with a
    digit: ``3412/م.و``, ``ق/٤٥٢``) is one token.
    """

    def __eq__(self, other: object) -> bool:
        return self.__class__ is other.__class__

    def __hash__(self) -> int:
        return hash(self.__class__)

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            t.original = t.text = value
            t.boost = 1.0
            if positions:
                t.pos = start_pos
            if chars:
                t.startchar = start_char
                t.endchar = start_char + len(value)
            yield t
            return
        pos = start_pos
        for text, start in raw_tokens(value):
            t.text = text
            t.boost = 1.0
            if keeporiginal:
                t.original = text
            t.stopped = False
            if positions:
                t.pos = pos
                pos += 1
            if chars:
                t.startchar = start_char + start
                t.endchar = start_char + start + len(text)
            yield t


def _reference_parts(text: str) -> list[str]:
    """The parts of a reference, numbers without leading zeros; parts that normalization
    emptied (a lone haraka) are dropped."""
    return [p.lstrip("0") or "0" if p.isdigit() else p for p in text.split("/") if p]


def _reference_terms(parts: list[str]) -> list[str]:
    """The whole reference, then what a search may ask for inside it: each run of two or
    more consecutive parts (``17/2025`` in ``م.و/ك/17/2025``) and each part alone."""
    whole = "/".join(parts)
    out = [whole]
    n = len(parts)
    if n <= 6:
        for size in range(n - 1, 1, -1):
            out.extend("/".join(parts[i : i + size]) for i in range(n - size + 1))
    out.extend(p for p in parts if p)
    return list(dict.fromkeys(out))


class ReferenceFilter(Filter):  # type: ignore[misc]
    """Index a reference number whole and by each of its parts.

    A token holding ``/`` (the tokenizer only keeps one whole when it has a digit)
    becomes the whole reference (leading zeros dropped from numeric parts:
    ``2026/09/14`` -> ``2026/9/14``) followed, when indexing, by each run of two or
    more consecutive parts and each part, all at the same position:
    ``م.و/ك/17/2025`` -> the whole, ``م.و/ك/17``, ``ك/17/2025``, ``م.و/ك``, ``ك/17``,
    ``17/2025``, ``م.و``, ``ك``, ``17``, ``2025``.  A query
    (``mode="query"``) keeps only the whole, so a phrase around a reference still
    lines up.
    """

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        for t in tokens:
            text = t.text
            if "/" not in text:
                yield t
                continue
            terms = _reference_terms(_reference_parts(text))
            t.text = terms[0]
            yield t
            if t.mode == "query":
                continue
            for term in terms[1:]:
                t.text = term
                yield t


class UnicodeNormalizeFilter(Filter):  # type: ignore[misc]
    """Apply a Unicode normalization form (NFKC by default) to token text.

    NFKC maps Arabic presentation forms (U+FB50-U+FDFF, U+FE70-U+FEFF) to base
    letters and full-width/compatibility characters to plain ones.  Some
    characters expand to several words (U+FDFA), to a space plus a mark
    (U+FE70) or to digits around a fraction slash (U+00BD).  Such a token is
    re-split on :data:`TOKEN_PATTERN` and every part is emitted with the
    original token's position and offsets.  Text that was not a single
    pattern match to begin with (``tokenize=False``) is never split.
    """

    def __init__(self, form: Literal["NFC", "NFD", "NFKC", "NFKD"] = "NFKC") -> None:
        self.form = form

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        form = self.form
        for t in tokens:
            original = t.text
            text = nfkc(original) if form == "NFKC" else unicodedata.normalize(form, original)
            if text == original:
                yield t
            elif _TOKEN_RE.fullmatch(text) or not _TOKEN_RE.fullmatch(original):
                t.text = text
                yield t
            else:
                for match in _TOKEN_RE.finditer(text):
                    t.text = match.group()
                    yield t


class StripMarksFilter(Filter):  # type: ignore[misc]
    """Remove harakat, tanwin, shadda, sukun, hamza above/below (U+064B-U+065F),
    Quranic signs (U+0610-U+061A, U+06D6-U+06ED), superscript alef (U+0670) and
    tatweel (U+0640).  Tokens left empty (e.g. a run of tatweels) are dropped,
    and so are non-Arabic combining marks left at the start of a token.
    """

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        for t in tokens:
            text = _strip_marks(t.text)
            if text != t.text:
                text = _LEADING_OTHER_MARKS.sub("", text)
            if text:
                t.text = text
                yield t


class DigitFoldFilter(Filter):  # type: ignore[misc]
    """Fold Arabic-Indic (U+0660-U+0669) and Eastern Arabic-Indic (U+06F0-U+06F9)
    digits to ASCII 0-9, so ٤٥٢, ۴۵۲ and 452 are one term.
    """

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        for t in tokens:
            t.text = _fold_digits(t.text)
            yield t


class ArabicNormalizeFilter(Filter):  # type: ignore[misc]
    """Unify Arabic letter variants as Lucene's ``ArabicNormalizer`` does.

    آ أ إ ٱ -> ا, ى -> ي, ة -> ه, plus the Persian/Kurdish forms produced by
    Iraqi keyboards: ی ے -> ي, ک -> ك, ۀ ہ ە -> ه.  ؤ and ئ -> ء (مسؤول and مسئول are one word).
    Being the last normalization step, it also re-composes (NFC) the rare
    sequence that lowercasing leaves decomposed.
    """

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        for t in tokens:
            t.text = _normalize_arabic(t.text)
            yield t


class ArabicStopFilter(Filter):  # type: ignore[misc]
    """Stop Arabic (normalized) and English stop words, like whoosh's ``StopFilter``.

    Must follow :class:`ArabicNormalizeFilter` and ``LowercaseFilter``.  Stop
    words are dropped, or only marked ``stopped`` when the analyzer is called
    with ``removestops=False`` (query parsing, highlighting).  With
    ``renumber`` the positions of kept tokens close the gaps left by dropped
    stop words, as in whoosh; unlike whoosh, positions are left alone when
    nothing is dropped, so marked stop words never share a position.
    Single-letter tokens are kept unless listed (references like ق are useful).
    """

    def __init__(self, stoplist: Iterable[str] | None = None, renumber: bool = True) -> None:
        if stoplist is None:
            self.stops = _DEFAULT_STOPS
        else:
            self.stops = frozenset(normalize_text(word) for word in stoplist)
        self.renumber = renumber

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        stops = self.stops
        renumber = self.renumber
        pos: int | None = None
        for t in tokens:
            if t.text not in stops:
                if renumber and t.positions and t.removestops:
                    if pos is None:
                        pos = t.pos
                    else:
                        pos += 1
                        t.pos = pos
                t.stopped = False
                yield t
            elif not t.removestops:
                t.stopped = True
                yield t


class LightStemFilter(Filter):  # type: ignore[misc]
    """Light-stem Arabic tokens (:func:`arabic_stem`) and Porter2-stem Latin ones.

    Tokens containing an Arabic letter get Larkey/Lucene light stemming;
    tokens of Latin letters (with optional digits) get whoosh's Porter2 (Snowball English) stemmer;
    anything else (numbers, other scripts) passes through unchanged.
    """

    def __init__(self, strict_lucene: bool = False) -> None:
        self.strict_lucene = strict_lucene

    def __call__(self, tokens: Iterable[Token]) -> Iterator[Token]:
        strict = self.strict_lucene
        for t in tokens:
            t.text = _stem_token(t.text, strict)
            yield t


# --------------------------------------------------------------------------
# Analyzers
# --------------------------------------------------------------------------


def arabic_tokenizer() -> ArabicTokenizer:
    """The tokenizer of the chain: words with their harakat, reference numbers whole."""
    return ArabicTokenizer()


def _normalizing() -> CompositeAnalyzer:
    return (
        arabic_tokenizer()
        | UnicodeNormalizeFilter()
        | StripMarksFilter()
        | DigitFoldFilter()
        | LowercaseFilter()
        | ArabicNormalizeFilter()
    )


def exact_analyzer() -> CompositeAnalyzer:
    """Tokenize and normalize, without stop words or stemming (exact-form field)."""
    return _normalizing() | ReferenceFilter()


def arabic_english_analyzer() -> CompositeAnalyzer:
    """The full chain: normalization, stop words, references, stemming (lexicon and light
    stemming for Arabic, Porter2 for English)."""
    return _normalizing() | ArabicStopFilter() | ReferenceFilter() | LightStemFilter()


# --------------------------------------------------------------------------
# Fast indexing
# --------------------------------------------------------------------------

#: Per analyzer kind: raw token -> groups of terms, each group at one position.
_GROUPS: dict[str, dict[str, tuple[Group, ...]]] = {}
_CACHE_LIMIT = 1_000_000


def form_code(form: str) -> int:
    """A one-byte fingerprint of a word's exact (normalized, unstemmed) form."""
    return zlib.crc32(form.encode("utf-8")) & 0xFF


def exact_form(raw: str) -> str:
    """The exact form of one raw word as the index fingerprints it (see :class:`FormPositions`)."""
    text = normalize_text(raw)
    if "/" in text:
        text = "/".join(_reference_parts(text))
    return text


Group = tuple[tuple[str, int], ...]


Pairs = tuple[tuple[str, str], ...]


#: Basic Arabic letters (no marks, tatweel or digits): NFKC, mark stripping, digit
#: folding and lowercasing leave such a word as it is.
_PLAIN_ARABIC = re.compile("[\u0621-\u063a\u0641-\u064a]+")
_ARABIC_VARIANT = re.compile("[\u0622\u0623\u0624\u0625\u0626\u0649\u0629]")


def _plain_word(raw: str, stemmed: bool, strict_lucene: bool = False) -> tuple[str, str]:
    """(whole term, exact form) of a word of plain Arabic letters; ("", "") for a stop
    word (``stemmed``). NFKC, marks, digits and case cannot change such a word."""
    u = raw.translate(_ARABIC_TABLE) if _ARABIC_VARIANT.search(raw) else raw
    if not stemmed:
        return u, u
    if u in _DEFAULT_STOPS:
        return "", ""
    # the callers remember their words: arabic_stem's own cache would only be filled
    return arabic_stem.__wrapped__(u, strict_lucene), u


def word_terms(raw: str, stemmed: bool, strict_lucene: bool = False) -> tuple[Pairs, ...]:
    """What the chain makes of one raw token: per position it fills, its terms, each with
    its exact form (normalized, unstemmed); stop words fill none (``stemmed``).

    The same steps as the filters, as plain string operations (tested against the chain).
    A word of plain Arabic letters (most words) skips the steps that cannot change it.
    """
    if _PLAIN_ARABIC.fullmatch(raw):
        whole, u = _plain_word(raw, stemmed, strict_lucene)
        return (((whole, u),),) if u else ()
    text = nfkc(raw)
    if text == raw or _TOKEN_RE.fullmatch(text) or not _TOKEN_RE.fullmatch(raw):
        units = [text]
    else:
        units = _TOKEN_RE.findall(text)
    groups: list[Pairs] = []
    for unit in units:
        u = _strip_marks(unit)
        if u != unit:
            u = _LEADING_OTHER_MARKS.sub("", u)
        if not u:
            continue
        u = _normalize_arabic(_fold_digits(u).lower())
        if stemmed and u in _DEFAULT_STOPS:
            continue
        terms = _reference_terms(_reference_parts(u)) if "/" in u else [u]
        if stemmed:
            groups.append(tuple((_stem_token(t, strict_lucene), t) for t in terms))
        else:
            groups.append(tuple((t, t) for t in terms))
    return tuple(groups)


def _word_groups(raw: str, stemmed: bool, strict_lucene: bool = False) -> tuple[Group, ...]:
    """:func:`word_terms` with each exact form as its one-byte fingerprint."""
    return tuple(
        tuple((term, form_code(form)) for term, form in group)
        for group in word_terms(raw, stemmed, strict_lucene)
    )


def indexed_terms(raw: str) -> frozenset[str]:
    """The stemmed terms the index holds for one raw token (for marking snippets)."""
    cache = _GROUPS.setdefault("stem", {})
    groups = cache.get(raw)
    if groups is None:
        groups = cache[raw] = _word_groups(raw, True)
    return frozenset(term for group in groups for term, _ in group)


#: Punctuation that is never part of a token, around a word: ``الوزارة.`` is the word
#: الوزارة (no ``/``, no marks, no letters, digits or underscore).
_EDGE_PUNCTUATION = ".,:;!?()[]{}\"'«»،؛؟…-–—"


def _fold_table() -> dict[int, str | None]:
    """Letters the chain turns into one plain Arabic letter (or none) whatever surrounds
    them: the presentation forms NFKC makes plain letters of (ﻻ is لا), the variants of
    ``_ARABIC_TABLE`` that become plain letters (ک is ك), and the marks and tatweel, which
    go — all but madda and hamza written as marks, which NFKC joins to the letter before
    them (ي + U+0654 is ئ)."""
    table: dict[int, str | None] = {
        code: None for code in _MARKS_TABLE if code not in (0x0653, 0x0654, 0x0655)
    }
    for code in [*range(0xFB50, 0xFE00), *range(0xFE70, 0xFF00)]:
        folded = unicodedata.normalize("NFKC", chr(code)).translate(_ARABIC_TABLE)
        if folded != chr(code) and _PLAIN_ARABIC.fullmatch(folded):
            table[code] = folded
    for code, letter in _ARABIC_TABLE.items():
        if _PLAIN_ARABIC.fullmatch(letter):
            table[code] = letter
    return table


#: See :func:`_fold_table`: a run of such letters and plain ones is one plain word.
_FOLD = _fold_table()


class _Strings(dict[str, str]):
    """A run of text without spaces -> the whole terms of its words (one per position, none
    for a stop word), filling the exact forms and reference parts of :func:`index_strings`
    on the way."""

    def __init__(self, stemmed: bool) -> None:
        super().__init__()
        self.stemmed = stemmed
        self.exact: dict[str, str] = {}
        self.parts: dict[str, str] = {}
        self.words: dict[str, tuple[Pairs, ...]] = {}

    def reset(self) -> None:
        self.clear()
        self.exact.clear()
        self.parts.clear()
        self.words.clear()

    def __missing__(self, chunk: str) -> str:
        if _PLAIN_ARABIC.fullmatch(chunk):  # one word of plain Arabic letters: most runs
            whole, self.exact[chunk] = _plain_word(chunk, self.stemmed)
            self[chunk] = whole
            return whole  # no reference parts: only a run with "/" is asked for them
        core = chunk.translate(_FOLD).strip(_EDGE_PUNCTUATION)
        if core and core != chunk and _PLAIN_ARABIC.fullmatch(core):  # الوزارة. ﺍﻝﻮﺯﺍﺭﺓ
            whole = self[core]  # the word's own run: often known already
            self.exact[chunk] = self.exact[core]
            self[chunk] = whole
            return whole
        words = self.words
        cut = raw_words(chunk)
        groups: list[Pairs] = []
        for word in cut:
            found = words.get(word)
            if found is None:
                found = words[word] = word_terms(word, self.stemmed)
            groups.extend(found)
        if len(groups) == 1 and len(groups[0]) == 1:  # one word, one term: most runs
            whole, form = groups[0][0]
            self.exact[chunk] = form
            self.parts[chunk] = ""
            self[chunk] = whole
            return whole
        whole = self[chunk] = " ".join(g[0][0] for g in groups)
        self.exact[chunk] = " ".join(g[0][1] for g in groups)
        self.parts[chunk] = " ".join(t for g in groups for t, _ in g[1:])
        return whole


_STRINGS = {True: _Strings(True), False: _Strings(False)}
#: Runs of text remembered per chain (some 300 bytes each, with their words): emptied when
#: full, which frequent words survive by coming straight back (a million letters of the
#: benchmark's corpus hold tens of millions of distinct runs). Keeping the first 100,000
#: runs (the frequent ones) instead of emptying it missed a sixth fewer runs on that
#: corpus but held 100 MB more in each rebuild worker (fragments): a million-letter
#: rebuild then peaked at 2.09 GB.
_STRINGS_LIMIT = 250_000


def index_strings(text: str, stemmed: bool = True) -> tuple[str, str, str]:
    """What the chain makes of ``text``, as three strings of space-separated terms for an
    engine that cuts on spaces: the whole term of each position, in order (a stop word
    leaves no gap, as :class:`ArabicStopFilter` renumbers); the exact form (normalized,
    unstemmed) of each of those, at the same positions; and the parts of reference numbers
    (:class:`ReferenceFilter`), which the chain puts at their reference's position.

    ``stemmed`` False: the unstemmed chain (:func:`exact_analyzer`), stop words kept.

    No token holds a space, so the text is cut on spaces (in C) and each distinct run
    goes through the chain once (cached): a text costs a split and a dictionary lookup
    per run, with no Python code run per word.
    """
    cache = _STRINGS[stemmed]
    if len(cache) > _STRINGS_LIMIT or len(cache.words) > _STRINGS_LIMIT:
        cache.reset()  # never in the middle of a text: its three strings need its runs
    chunks = text.split()
    for _ in range(3):
        try:
            whole = " ".join(map(cache.__getitem__, chunks))
            exact = " ".join(map(cache.exact.__getitem__, chunks))
            parts = ""
            if "/" in text:
                parts = " ".join(map(cache.parts.__getitem__, [c for c in chunks if "/" in c]))
            return whole, exact, parts
        except KeyError:  # another thread emptied the cache between the joins: again
            continue
    raise RuntimeError("the analysis cache was emptied three times while one text was read")


class FormPositions(Positions):  # type: ignore[misc]
    """Positions, each with the one-byte fingerprint of the exact form found there.

    A stemmed field in this format answers phrase queries as usual, and also tells
    whether a phrase occurs in exactly the form asked for (``الدوام الرسمي`` rather than
    ``دوام رسمي``), without a second, unstemmed field (which would double the postings
    and the indexing time).  Value: frequency (uint), the fingerprints (one byte per
    position), then the pickled position deltas, as whoosh's ``Positions`` stores them.
    """

    def encode(self, value: Any) -> bytes:
        poslist, codes = value if isinstance(value, tuple) else (value, b"")
        codes = bytes(codes) if codes else bytes(len(poslist))
        deltas = []
        base = 0
        for pos in poslist:
            deltas.append(pos - base)
            base = pos
        return bytes(pack_uint(len(deltas))) + codes + pickle.dumps(deltas, 2)

    def _split(self, valuestring: bytes) -> tuple[int, bytes, bytes]:
        n = unpack_uint(valuestring[:_INT_SIZE])[0]
        return n, valuestring[_INT_SIZE : _INT_SIZE + n], valuestring[_INT_SIZE + n :]

    def decode_positions(self, valuestring: bytes) -> list[int]:
        _, _, rest = self._split(valuestring)
        if not rest.endswith(b"."):
            rest += b"."
        position = 0
        positions = []
        for code in pickle.loads(rest):
            position += code
            positions.append(position)
        return positions

    def decode_forms(self, valuestring: bytes) -> dict[int, int]:
        """position -> fingerprint of the exact form there."""
        _, codes, _ = self._split(valuestring)
        return dict(zip(self.decode_positions(valuestring), codes, strict=False))

    def decode_frequency(self, valuestring: bytes) -> int:
        return int(unpack_uint(valuestring[:_INT_SIZE])[0])

    def combine(self, vs: Iterable[bytes]) -> bytes:
        merged: dict[int, int] = {}
        for v in vs:
            merged.update(self.decode_forms(v))
        poslist = sorted(merged)
        return self.encode((poslist, bytes(merged[p] for p in poslist)))


class AnalyzedText(fields.TEXT):  # type: ignore[misc]
    """A ``TEXT`` field that indexes through a per-token cache of its analyzer.

    Whoosh runs every token through every filter (a generator per filter, a
    ``Token`` per word).  Here each distinct raw token (:func:`raw_tokens`) goes
    through the chain once; its result (the terms it gives and how they share
    positions) is remembered, so a document costs one regex scan and a dict
    lookup per word.  Terms, frequencies and positions are those the chain gives
    for the whole text (``renumber`` is True for analyzers with a stop filter, as
    :class:`ArabicStopFilter` renumbers).  A value may also be a list of
    ``(text, boost)`` pairs, indexed as if joined by newlines, each part's terms
    weighing ``boost`` per occurrence: the subject weighs more in the same field.

    Queries and highlighting use the analyzer itself.
    """

    def __init__(
        self,
        analyzer: CompositeAnalyzer,
        *,
        cache_key: str,
        renumber: bool,
        forms: bool = False,
        **kw: Any,
    ) -> None:
        super().__init__(analyzer=analyzer, **kw)
        self.cache_key = cache_key
        self.renumber = renumber
        if forms:
            positions: Any = self.__dict__["format"]
            self.format = FormPositions(field_boost=positions.field_boost)

    def _groups(self, token: str) -> tuple[Group, ...]:
        stemmed = self.cache_key.startswith("stem")
        return _word_groups(token, stemmed, strict_lucene=self.cache_key == "stem-strict")

    def terms(
        self, value: str | list[tuple[str, float]]
    ) -> dict[str, tuple[list[int], float, bytearray]]:
        """term -> (positions, weight, form fingerprints) for ``value`` (text, or
        ``(text, boost)`` pairs)."""
        cache = _GROUPS.get(self.cache_key)
        if cache is None or len(cache) > _CACHE_LIMIT:
            cache = _GROUPS[self.cache_key] = {}
        parts = [(value, 1.0)] if isinstance(value, str) else value
        poses: dict[str, list[int]] = {}
        codes: dict[str, bytearray] = {}
        weights: dict[str, float] = {}
        pos = -1
        started = False
        base = 0
        renumber = self.renumber
        for text, boost in parts:
            words = raw_words(text)
            extra = boost - 1.0
            for i, word in enumerate(words, base):
                groups = cache.get(word)
                if groups is None:
                    groups = cache[word] = self._groups(word)
                for group in groups:
                    if not renumber:
                        pos = i
                    elif started:
                        pos += 1
                    else:
                        pos, started = i, True
                    for term, code in group:
                        plist = poses.get(term)
                        if plist is None:
                            poses[term] = [pos]
                            codes[term] = bytearray((code,))
                        else:
                            plist.append(pos)
                            codes[term].append(code)
                        if extra:
                            weights[term] = weights.get(term, 0.0) + extra
            base += len(words)
        return {t: (p, len(p) + weights.get(t, 0.0), codes[t]) for t, p in poses.items()}

    def index(self, value: Any, **kwargs: Any) -> Iterator[tuple[bytes, int, float, bytes]]:
        if not isinstance(value, str | list):
            raise ValueError(f"{value!r} is not text")
        fmt = self.format
        fb = fmt.field_boost
        encode: Any = getattr(fmt, "encode", None)
        if isinstance(fmt, FormPositions):
            for term, (poslist, weight, codes) in self.terms(value).items():
                yield term.encode("utf-8"), len(poslist), weight * fb, encode((poslist, codes))
        elif fmt.supports("positions"):
            for term, (poslist, weight, _) in self.terms(value).items():
                yield term.encode("utf-8"), len(poslist), weight * fb, encode(poslist)
        elif fmt.supports("frequency"):
            for term, (poslist, weight, _) in self.terms(value).items():
                yield term.encode("utf-8"), len(poslist), weight * fb, pack_uint(len(poslist))
        else:
            for term, (poslist, weight, _) in self.terms(value).items():
                yield term.encode("utf-8"), len(poslist), weight * fb, b""
