"""Analysis benchmark: the Arabic/English chain alone, documents per second, old beside new.

    python bench/bench_analysis.py [N_DOCS] [--rounds R]

Generates N_DOCS letters (default 20,000) with :mod:`corpus` and turns the subject and
text of each into index terms, in one run, with fresh caches each round:

(a) ``str.split``: cutting on spaces and nothing else (the floor: no analysis at all);
(b) the chain itself (``arabic_english_analyzer()``, one whoosh ``Token`` per word through
    every filter): what whoosh's own analyzers cost;
(c) before issue 13: the indexing fast path as it was (one regex scan that keeps the
    marks, then a cached chain result per distinct word, then positions and frequencies
    per word in Python), kept below as it was;
(d) now: :func:`~docarchive.search.analysis.index_strings` (marks removed, runs cut on
    spaces in C and looked up whole in a cache, the strings tantivy cuts on spaces;
    plain Arabic words skip the steps that cannot change them), with the default lexicon
    (issue 18: built-in words and arramooz's nouns when installed);
(e) before issue 18: the same, with ``[search] lexicon = "off"`` (light stemming alone);
(f), (g): (d) and (e) with their caches warmed by as many other letters first (untimed),
    as in a rebuild past its first letters. (d) and (e) empty the caches each round, so
    every distinct word of the generated corpus (tens of thousands of made-up
    inflections) goes through the stemmer: the worst case of the lexicon's lookups.

The lexicon is read once per process before the rounds (its time is printed apart).
(c) and (e) give the same terms (tests/search/test_index_tantivy.py checks (d) against
the chain). Prints docs/s per way and the ratios new/old and new/chain; the best of
``--rounds`` rounds (default 3), so that other load on the machine counts least.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import Corpus

from docarchive.search import analysis as A
from docarchive.search.lexicon import LexiconSettings

# -- (c) the fast path before issue 13, as it was ---------------------------------------------

_OLD_SUFFIXES = ("ها", "ان", "ات", "ون", "ين", "يه", "ه", "ي")


def _old_strip_suffixes(word: str) -> str:
    for suffix in _OLD_SUFFIXES:
        if len(word) >= len(suffix) + 2 and word.endswith(suffix):
            word = word[: -len(suffix)]
    return word


def _old_arabic_stem(word: str) -> str:
    for prefix in ("وبال", "وكال", "فبال", "ولل", "فلل"):
        if len(word) >= len(prefix) + 2 and word.startswith(prefix):
            return _old_strip_suffixes(word[len(prefix) :])
    for prefix in ("وال", "بال", "كال", "فال", "ال", "لل"):
        if len(word) >= len(prefix) + 2 and word.startswith(prefix):
            return _old_strip_suffixes(word[len(prefix) :])
    word = _old_strip_suffixes(word)
    if len(word) >= 5 and word.startswith("و"):
        word = word[1:]
    return word


def _old_stem_token(text: str, stems: dict[str, str]) -> str:
    found = stems.get(text)
    if found is None:
        if "/" in text:
            found = text
        elif A._ARABIC_LETTER.search(text):
            found = _old_arabic_stem(text)
        elif A._LATIN_WORD.fullmatch(text):
            found = str(A.porter_stem(text))
        else:
            found = text
        stems[text] = found
    return found


def _old_word_groups(raw: str, stems: dict[str, str]) -> tuple[tuple[tuple[str, int], ...], ...]:
    text = unicodedata.normalize("NFKC", raw)
    if text == raw or A._TOKEN_RE.fullmatch(text) or not A._TOKEN_RE.fullmatch(raw):
        units = [text]
    else:
        units = A._TOKEN_RE.findall(text)
    groups = []
    for unit in units:
        u = A._strip_marks(unit)
        if u != unit:
            u = A._LEADING_OTHER_MARKS.sub("", u)
        if not u:
            continue
        u = A._normalize_arabic(A._fold_digits(u).lower())
        if u in A._DEFAULT_STOPS:
            continue
        terms = A._reference_terms(A._reference_parts(u)) if "/" in u else [u]
        groups.append(tuple((_old_stem_token(t, stems), A.form_code(t)) for t in terms))
    return tuple(groups)


def _old_raw_words(text: str) -> list[str]:
    found: list[str] = A._SCAN_RE.findall(text)
    if "/" not in text:
        return found
    out: list[str] = []
    for token in found:
        if "/" in token and not A._DIGIT.search(token):
            out.extend(A._TOKEN_RE.findall(token))
        else:
            out.append(token)
    return out


def old_terms(
    parts: list[str],
    cache: dict[str, tuple[tuple[tuple[str, int], ...], ...]],
    stems: dict[str, str],
) -> dict[str, list[int]]:
    """``AnalyzedText.terms`` before issue 13: term -> positions."""
    poses: dict[str, list[int]] = {}
    pos, started, base = -1, False, 0
    for text in parts:
        words = _old_raw_words(text)
        for i, word in enumerate(words, base):
            groups = cache.get(word)
            if groups is None:
                groups = cache[word] = _old_word_groups(word, stems)
            for group in groups:
                if started:
                    pos += 1
                else:
                    pos, started = i, True
                for term, _ in group:
                    poses.setdefault(term, []).append(pos)
        base += len(words)
    return poses


# -- the run ------------------------------------------------------------------------------------


def _fresh_caches() -> None:
    A._STRINGS[True] = A._Strings(True)
    A._STRINGS[False] = A._Strings(False)
    A.arabic_stem.cache_clear()
    A._stem_word.cache_clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("n", nargs="?", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"generating {args.n:,} letters ...", flush=True)
    docs = [(r.subject, r.text) for r in Corpus(seed=13).records(args.n)]
    words = sum(len(t.split()) + len(s.split()) for s, t in docs)
    print(f"{words / len(docs):.0f} words a letter", flush=True)
    chain = A.arabic_english_analyzer()
    split = re.compile(r"\s+")

    def run_split() -> None:
        for s, t in docs:
            split.split(s)
            split.split(t)

    def run_chain() -> None:
        for s, t in docs[: max(1, len(docs) // 10)]:  # a tenth: it is slow
            for _ in chain(f"{s}\n{t}", positions=True):
                pass

    def run_old() -> None:
        cache: dict[str, tuple[tuple[tuple[str, int], ...], ...]] = {}
        stems: dict[str, str] = {}
        for s, t in docs:
            old_terms([s, t], cache, stems)

    default, off = LexiconSettings(), LexiconSettings(sources=())
    start = time.perf_counter()
    A.use_lexicon(default)
    lexicon = A.lexicon()
    print(
        f"lexicon {'+'.join(lexicon.sources)}: {len(lexicon):,} words, "
        f"{lexicon.plurals():,} plurals, read in {time.perf_counter() - start:.2f} s",
        flush=True,
    )

    warmup = [(r.subject, r.text) for r in Corpus(seed=14).records(args.n)]

    def index_all(letters: list[tuple[str, str]]) -> None:
        for s, t in letters:
            A.index_strings(s)
            A.index_strings(t)

    def cold(settings: LexiconSettings) -> Callable[[], None]:
        """index_strings over the letters with ``settings``' lexicon, caches empty."""

        def run() -> None:
            A.use_lexicon(settings)
            _fresh_caches()
            index_all(docs)
            A.use_lexicon(default)

        return run

    def warm(settings: LexiconSettings) -> Callable[[], None]:
        """index_strings over the letters with caches warmed by as many other letters
        first (untimed): a rebuild of a large archive after its first letters."""

        def run() -> None:
            index_all(docs)

        def prepare() -> None:
            A.use_lexicon(settings)
            _fresh_caches()
            index_all(warmup)

        run.prepare = prepare  # type: ignore[attr-defined]
        return run

    ways: list[tuple[str, Callable[[], None], int]] = [
        ("(a) str.split (no analysis)", run_split, len(docs)),
        ("(b) the chain, token by token", run_chain, max(1, len(docs) // 10)),
        ("(c) fast path before issue 13", run_old, len(docs)),
        ("(d) index_strings (now)", cold(default), len(docs)),
        ("(e) index_strings, lexicon off", cold(off), len(docs)),
        ("(f) (d) with warm caches", warm(default), len(docs)),
        ("(g) (e) with warm caches", warm(off), len(docs)),
    ]
    best: dict[str, float] = {}
    for _ in range(args.rounds):
        for name, fn, count in ways:
            _fresh_caches()
            prepare = getattr(fn, "prepare", None)
            if prepare is not None:
                prepare()
            start = time.perf_counter()
            fn()
            rate = count / (time.perf_counter() - start)
            best[name] = max(best.get(name, 0.0), rate)
    print(f"\n{'':34s} {'docs/s':>10s}")
    for name, _, _ in ways:
        print(f"{name:34s} {best[name]:10,.0f}")
    new, old, ref = best[ways[3][0]], best[ways[2][0]], best[ways[1][0]]
    print(f"\nnow / before issue 13: {new / old:.2f}x")
    print(f"now / the chain:       {new / ref:.1f}x")
    print(f"now / str.split:       {new / best[ways[0][0]]:.2f}x")
    print(
        f"now / lexicon off (before issue 18): {new / best[ways[4][0]]:.2f}x cold, "
        f"{best[ways[5][0]] / best[ways[6][0]]:.2f}x warm"
    )
    A.use_lexicon(default)


if __name__ == "__main__":
    main()
