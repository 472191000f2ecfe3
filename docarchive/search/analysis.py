"""Arabic + English text analysis for the archive's whoosh indexes.

The chain is modelled on Lucene's ``ArabicAnalyzer`` and composed with ``|``
exactly like whoosh's own analyzers::

    tokenizer | UnicodeNormalizeFilter | StripMarksFilter | DigitFoldFilter
              | LowercaseFilter | ArabicNormalizeFilter | ArabicStopFilter
              | LightStemFilter

Why not whoosh's built-ins: Python's ``\\w`` does not match harakat, so the
default tokenizer splits ``مُدير`` into ``م`` and ``دير``; ``LanguageAnalyzer('ar')``
fails, ISRI over-stems and Snowball Arabic is inconsistent.

Every filter keeps the token's ``startchar``/``endchar`` untouched, so they
always point into the *original* text (harakat included) and whoosh's
highlighter works on the stored text.  All classes are module level and hold
only picklable state, because whoosh pickles the schema (and its analyzers)
into the index.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Literal

from whoosh.analysis import (
    STOP_WORDS,
    CompositeAnalyzer,
    Filter,
    LowercaseFilter,
    RegexTokenizer,
    Token,
)
from whoosh.lang.porter import stem as porter_stem

__all__ = [
    "ARABIC_STOP_WORDS",
    "TOKEN_PATTERN",
    "ArabicNormalizeFilter",
    "ArabicStopFilter",
    "DigitFoldFilter",
    "LightStemFilter",
    "StripMarksFilter",
    "UnicodeNormalizeFilter",
    "arabic_english_analyzer",
    "arabic_stem",
    "arabic_tokenizer",
    "exact_analyzer",
    "normalize_text",
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


def normalize_text(s: str) -> str:
    """Normalize a whole string the way the analyzers normalize each token.

    NFKC, strip Arabic marks and tatweel, fold Arabic-Indic digits, lowercase
    and unify Arabic letter variants.  No tokenizing, no stop words, no stemming.
    """
    text = unicodedata.normalize("NFKC", s)
    text = _fold_digits(_strip_marks(text)).lower()
    return _normalize_arabic(text)


# --------------------------------------------------------------------------
# Stemming
# --------------------------------------------------------------------------

# Larkey light stemming as in Lucene's ArabicStemmer.  Lucene lists the prefix
# "ال" first; no ال-word starts with و/ب/ك/ف/ل, so longest-first is equivalent.
_PREFIXES = ("وال", "بال", "كال", "فال", "ال", "لل")
_WAW = "و"
# Lucene's list after normalization (ة is already ه, so its "ية"/"ة" entries
# would be duplicates of "يه"/"ه"): ها ان ات ون ين يه ه ي.
_SUFFIXES = ("ها", "ان", "ات", "ون", "ين", "يه", "ه", "ي")


def _strip_suffixes(word: str) -> str:
    # One pass over the list in order; each suffix removed at most once, and
    # only while at least two letters remain (Lucene's stemSuffix).
    for suffix in _SUFFIXES:
        if len(word) >= len(suffix) + 2 and word.endswith(suffix):
            word = word[: -len(suffix)]
    return word


@lru_cache(maxsize=50_000)
def arabic_stem(word: str, strict_lucene: bool = False) -> str:
    """Light-stem one normalized Arabic word (Larkey / Lucene ``ArabicStemmer``).

    At most one prefix of وال بال كال فال ال لل is removed when two or more
    letters remain, then the suffixes ها ان ات ون ين يه ه ي are each tried once
    in that order, each needing two letters left over.

    The bare conjunction و differs from Lucene unless ``strict_lucene`` is set:
    Lucene strips it from any 4+ letter word, which turns وزارة into زار
    ("visited") and وزير/وكيل into زير/كيل, so وزارة would never match
    الوزارة.  Here و is stripped only from what is left after suffix removal,
    and only when four or more letters remain (ووزارة -> وزار, ومدير -> مدير,
    وزارة -> وزار).
    """
    for prefix in _PREFIXES:
        if len(word) >= len(prefix) + 2 and word.startswith(prefix):
            return _strip_suffixes(word[len(prefix) :])
    if strict_lucene:
        if len(word) >= 4 and word.startswith(_WAW):
            word = word[1:]
        return _strip_suffixes(word)
    word = _strip_suffixes(word)
    if len(word) >= 5 and word.startswith(_WAW):
        word = word[1:]
    return word


@lru_cache(maxsize=50_000)
def _stem_token(text: str, strict_lucene: bool) -> str:
    if _ARABIC_LETTER.search(text):
        return arabic_stem(text, strict_lucene)
    if _LATIN_WORD.fullmatch(text):
        return str(porter_stem(text))
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
"""

#: Arabic stop words, normalized with :func:`normalize_text`.
ARABIC_STOP_WORDS: frozenset[str] = frozenset(
    normalize_text(word) for word in _ARABIC_STOP_SOURCE.split()
)


# --------------------------------------------------------------------------
# Filters
# --------------------------------------------------------------------------


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
            text = unicodedata.normalize(form, original)
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
    Iraqi keyboards: ی ے -> ي, ک -> ك, ۀ ہ ە -> ه.  ؤ and ئ are left alone.
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
            self.stops = ARABIC_STOP_WORDS | STOP_WORDS
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
    """Light-stem Arabic tokens (:func:`arabic_stem`) and Porter-stem Latin ones.

    Tokens containing an Arabic letter get Larkey/Lucene light stemming;
    tokens of Latin letters (with optional digits) get whoosh's Porter stemmer;
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


def arabic_tokenizer() -> RegexTokenizer:
    """A ``RegexTokenizer`` on :data:`TOKEN_PATTERN` (keeps harakat inside words)."""
    return RegexTokenizer(TOKEN_PATTERN)


def exact_analyzer() -> CompositeAnalyzer:
    """Tokenize and normalize, without stop words or stemming (exact-form field)."""
    return (
        arabic_tokenizer()
        | UnicodeNormalizeFilter()
        | StripMarksFilter()
        | DigitFoldFilter()
        | LowercaseFilter()
        | ArabicNormalizeFilter()
    )


def arabic_english_analyzer() -> CompositeAnalyzer:
    """The full chain: :func:`exact_analyzer` + stop words + light/Porter stemming."""
    return exact_analyzer() | ArabicStopFilter() | LightStemFilter()
