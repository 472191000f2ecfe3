"""The Arabic lexicon of the analysis chain: which words exist, and the singular of each
broken plural.

Arabic writes most plurals of a ministry's everyday words by changing the word inside
(مشروع → مشاريع, لجنة → لجان, دائرة → دوائر): no suffix rule joins them. The lexicon
does, and it tells the stemmer which words exist as written, so that a proclitic is
separated only when what remains is a word (لتأمين → تأمين, while لبنان stays لبنان) and
an ending that looks like a suffix is kept when it belongs to the word (تأمين is not
تام + ين).

Where its words come from (``[search] lexicon`` in ``docarchive.toml``):

- ``builtin``: :file:`ministry.txt` beside this module, written for docarchive (the
  words of ministry correspondence, Iraqi places and names);
- ``arramooz``: the noun dictionary of ``arramooz-pysqlite`` (PyPI; GPL 3; installed by
  the ``arabic`` extra): some 19,000 nouns and 5,800 broken plurals, read from its
  SQLite file (its Python code is not imported);
- the office's own: ``[search.plurals]`` (plural = singular) and ``[search] words``.

The default, ``auto``, is ``builtin`` plus ``arramooz`` when it is installed. Where two
sources disagree, the office's own come first, then ``builtin``, then ``arramooz``. A
singular is never turned into another word's plural: كتاب stays كتاب although it is
also the plural of كاتب.

The lexicon is read once per process, the first time a word is stemmed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import ConfigurationError

__all__ = ["SOURCES", "Lexicon", "LexiconSettings", "arramooz_path", "load"]

#: The sources a lexicon may be made of.
SOURCES = ("builtin", "arramooz")

BUILTIN = Path(__file__).with_name("ministry.txt")


def arramooz_path() -> Path | None:
    """The SQLite noun dictionary of the installed ``arramooz-pysqlite``, or None."""
    try:
        spec = importlib.util.find_spec("arramooz")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "data" / "arabicdictionary.sqlite"
        if path.is_file():
            return path
    return None


@dataclass(frozen=True)
class LexiconSettings:
    """The ``[search]`` settings that make the lexicon."""

    #: The sources in use, in order of precedence; "auto" resolves when loaded.
    sources: tuple[str, ...] | str = "auto"
    #: plural -> singular, the office's own.
    plurals: tuple[tuple[str, str], ...] = ()
    #: Words that exist as written, the office's own.
    words: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, table: Mapping[str, Any]) -> LexiconSettings:
        known = {"lexicon", "plurals", "words"}
        unknown = sorted(set(table) - known)
        if unknown:
            raise ConfigurationError(
                f"unknown setting {unknown[0]!r} in [search] (known: {', '.join(sorted(known))})"
            )
        raw = table.get("lexicon", "auto")
        sources: tuple[str, ...] | str
        if raw in ("auto", "off"):
            sources = "auto" if raw == "auto" else ()
        elif isinstance(raw, list) and all(isinstance(s, str) for s in raw):
            bad = [s for s in raw if s not in SOURCES]
            if bad:
                raise ConfigurationError(
                    f"[search] lexicon: unknown source {bad[0]!r} (known: {', '.join(SOURCES)})"
                )
            sources = tuple(raw)
        else:
            raise ConfigurationError(
                '[search] lexicon must be "auto", "off" or a list of sources '
                f"({', '.join(SOURCES)})"
            )
        plurals = table.get("plurals", {})
        if not isinstance(plurals, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and k.strip() and v.strip()
            for k, v in plurals.items()
        ):
            raise ConfigurationError(
                '[search.plurals] must hold words: "plural" = "singular", for example '
                '"مشاريع" = "مشروع"'
            )
        words = table.get("words", [])
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise ConfigurationError("[search] words must be a list of words")
        return cls(
            sources=sources,
            plurals=tuple(sorted(plurals.items())),
            words=tuple(w for w in words if w.strip()),
        )

    def resolved(self) -> tuple[str, ...]:
        """The sources, with "auto" made concrete on this machine."""
        if self.sources == "auto":
            return ("builtin", "arramooz") if arramooz_path() is not None else ("builtin",)
        return tuple(self.sources)


@dataclass(frozen=True)
class Lexicon:
    """Known words, each with its lemma (a singular maps to itself)."""

    lemmas: Mapping[str, str] = field(default_factory=dict)
    sources: tuple[str, ...] = ()
    #: Stands for the content: an index built with another lexicon is rebuilt.
    fingerprint: str = "none"
    #: The lemmas the office's words and ``builtin`` give: they win a tie between two
    #: readings of one word (للجان: ل + لجان, not ل + ال + جان).
    core: frozenset[str] = frozenset()
    #: Plurals in ة that are also a known word + ه ("his"), known only after an article:
    #: الطلبة are students (طالب), طلبه is "his request" (طلب).
    article_only: Mapping[str, str] = field(default_factory=dict)

    def lemma(self, word: str) -> str | None:
        return self.lemmas.get(word)

    def heads(self, of: Callable[[str], bool] | None = None, size: int = 3) -> frozenset[str]:
        """The first ``size`` letters of every known word (whose lemma passes ``of``), and
        the whole of a shorter one (at least three letters), each also with ت for a final
        ة: what a word must start with for taking suffixes off it to reach a known word.
        Most words nothing can make known are turned away by it."""
        heads: set[str] = set()
        for word, lemma in self.lemmas.items():
            if of is not None and not of(lemma):
                continue
            head = word[:size]
            heads.add(head)
            if head.endswith("ه") and len(head) <= len(word) and len(word) <= size:
                heads.add(head[:-1] + "ت")
        return frozenset(heads)

    def __contains__(self, word: object) -> bool:
        return word in self.lemmas

    def __len__(self) -> int:
        return len(self.lemmas)

    def plurals(self) -> int:
        """How many known words are another word's plural."""
        return sum(1 for w, lemma in self.lemmas.items() if w != lemma)


class _Builder:
    """Words gathered source by source. Within one source a word that is a singular is
    itself, whatever else it may be; across sources the first source's say about a word
    wins (the office's, then ``builtin``, then ``arramooz``), so that ``builtin``'s
    مدارس (the plural of مدرسة) is not undone by arramooz's مدارس (a singular)."""

    def __init__(self, normalize: Callable[[str], str]) -> None:
        self.normalize = normalize
        self.lemmas: dict[str, str] = {}
        self.singulars: dict[str, None] = {}
        self.plurals: dict[str, str] = {}
        self.core: set[str] = set()
        self.core_words: set[str] = set()
        self.article_only: dict[str, str] = {}

    def word(self, word: str) -> None:
        w = self.normalize(word)
        if _is_word(w):
            self.singulars.setdefault(w, None)

    def article_plural(self, plural: str, singular: str) -> None:
        """A plural known only after an article (الطلبة; bare, طلبه is "his request")."""
        p, s = self.normalize(plural), self.normalize(singular)
        if _is_word(p) and _is_word(s) and p != s:
            self.singulars.setdefault(s, None)
            self.article_only.setdefault(p, s)

    def plural(self, plural: str, singular: str) -> None:
        p, s = self.normalize(plural), self.normalize(singular)
        if _is_word(p) and _is_word(s) and p != s:
            self.singulars.setdefault(s, None)
            self.plurals.setdefault(p, s)

    def end_source(self, core: bool = False) -> None:
        """What the source read since the last call joins the words of earlier ones
        (``core``: the office's or the built-in words)."""
        for word in self.singulars:
            self.lemmas.setdefault(word, word)
        for plural, singular in self.plurals.items():
            if plural not in self.singulars:
                self.lemmas.setdefault(plural, singular)
        if core:
            self.core.update(self.singulars)
            self.core.update(self.plurals.values())
            self.core_words.update(self.singulars)
            self.core_words.update(self.plurals)
        self.singulars = {}
        self.plurals = {}

    def build(self, sources: tuple[str, ...]) -> Lexicon:
        self.end_source()
        lemmas = self.lemmas
        # a plural in ة that is also a known word + ه ("his") is known only after an
        # article (unless the office or the built-in words list it bare; ministry.txt
        # may list it with ال): طلبه is "his request", الطلبة the students
        article_only = dict(self.article_only)
        for word in [w for w, lemma in lemmas.items() if w != lemma and w.endswith("ه")]:
            if len(word) > 3 and word[:-1] in lemmas and word not in self.core_words:
                article_only[word] = lemmas.pop(word)
        for word, lemma in lemmas.items():
            # a plural of a word an earlier source calls a plural ends at that one's singular
            seen = {word}
            while lemmas.get(lemma, lemma) != lemma and lemma not in seen:
                seen.add(lemma)
                lemma = lemmas[lemma]
            lemmas[word] = lemma
        digest = hashlib.sha256()
        for word in sorted(lemmas):
            digest.update(f"{word}\t{lemmas[word]}\n".encode())
        core = frozenset(lemmas.get(w, w) for w in self.core)
        for word in sorted(article_only):
            digest.update(f"ال{word}\t{article_only[word]}\n".encode())
        return Lexicon(lemmas, sources, digest.hexdigest()[:16], core, article_only)


def _is_word(w: str) -> bool:
    return len(w) >= 2 and " " not in w


def read_builtin(builder: _Builder, path: Path = BUILTIN) -> None:
    """Lines ``singular: plural ...`` (a plural written with ال is known only after an
    article) and ``= word ...`` (see :file:`ministry.txt`)."""
    for line in path.read_text("utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("="):
            for word in line[1:].split():
                builder.word(word)
        elif ":" in line:
            singular, plurals = line.split(":", 1)
            builder.word(singular.strip())
            for plural in plurals.split():
                if plural.startswith("ال"):  # known only after an article
                    builder.article_plural(plural[2:], singular.strip())
                else:
                    builder.plural(plural, singular.strip())
        else:
            for word in line.split():
                builder.word(word)


def read_arramooz(builder: _Builder, path: Path) -> None:
    """The nouns of arramooz's dictionary: each singular, and its broken plurals."""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            rows = db.execute(
                "SELECT unvocalized, number, broken_plural FROM nouns ORDER BY id"
            ).fetchall()
    except sqlite3.Error as exc:
        raise ConfigurationError(f"{path}: cannot read the arramooz dictionary ({exc})") from None
    for word, number, broken in rows:
        if not isinstance(word, str) or not isinstance(broken, str | None):
            raise ConfigurationError(f"{path}: not the arramooz dictionary (a row of {word!r})")
        if not word or number == "جمع تكسير":  # a plural listed alone: no singular to join
            continue
        builder.word(word)
        for plural in (broken or "").split(";"):
            if plural.strip():
                builder.plural(plural.strip(), word)


def load(settings: LexiconSettings, normalize: Callable[[str], str]) -> Lexicon:
    """Read the lexicon ``settings`` describe, every word normalized with ``normalize``."""
    sources = settings.resolved()
    builder = _Builder(normalize)
    for plural, singular in settings.plurals:
        builder.plural(plural, singular)
    for word in settings.words:
        builder.word(word)
    builder.end_source(core=True)
    for source in sources:
        if source == "builtin":
            read_builtin(builder)
        elif source == "arramooz":
            path = arramooz_path()
            if path is None:
                raise ConfigurationError(
                    "[search] lexicon names arramooz, which is not installed "
                    "(pip install 'docarchive[arabic]')"
                )
            read_arramooz(builder, path)
        builder.end_source(core=source == "builtin")
    own: tuple[str, ...] = ("office",) if settings.plurals or settings.words else ()
    return builder.build(own + sources)
