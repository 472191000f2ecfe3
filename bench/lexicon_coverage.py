"""How much of the archive's Arabic the lexicon knows (issue 18).

    python bench/lexicon_coverage.py [N_GENERATED]

For three bodies of text, the distinct Arabic words (normalized, stop words left out) and
their occurrences, and the share the lexicon knows — as written, or once an article,
a suffix or a proclitic is taken off (what the stemmer does before it falls back to light
stemming) — with each source alone and with both:

- ministry: the judged ministry letters (``tests/search/judged_ministry.py``, written in
  the wording of real Iraqi ministry correspondence) and the project's examples
  (``examples/data``: the circular, decision and assignment book data, the mails);
- generated: N letters of the benchmark's generator (``bench/corpus.py``, default 2,000);
- plurals: how many broken plurals each source joins to a singular.

Also prints the most frequent words of the ministry text that no source knows: the
candidates for ``ministry.txt`` or an office's ``[search]`` words.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from email import policy
from email.parser import BytesParser
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests" / "search"))

from corpus import Corpus  # noqa: E402

from docarchive.search import analysis as A  # noqa: E402
from docarchive.search.lexicon import LexiconSettings, arramooz_path  # noqa: E402


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def ministry_text() -> list[str]:
    from judged_ministry import LETTERS

    texts = [f"{r.subject}\n{r.text}" for r in LETTERS]
    data = ROOT / "examples" / "data"
    for path in sorted(data.glob("*.json")):
        texts.extend(_strings(json.loads(path.read_text("utf-8"))))
    for path in sorted((data / "mail").glob("*.eml")):
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        texts.append(str(message["subject"] or ""))
        for part in message.walk():
            if part.get_content_type() == "text/plain":
                texts.append(part.get_content())
    return texts


def arabic_words(texts: list[str]) -> Counter[str]:
    words: Counter[str] = Counter()
    for text in texts:
        for raw in A.raw_words(text):
            word = A.normalize_text(raw)
            if A._ARABIC_LETTER.search(word) and word not in A.ARABIC_STOP_WORDS:
                words[word] += 1
    return words


def known(word: str, lemmas: dict[str, str]) -> bool:
    return word in lemmas or A.known_lemma(word) is not None


def coverage(words: Counter[str], lemmas: dict[str, str]) -> tuple[float, float]:
    hits = [w for w in words if known(w, lemmas)]
    distinct = len(hits) / max(1, len(words))
    running = sum(words[w] for w in hits) / max(1, sum(words.values()))
    return distinct, running


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2_000
    sources: list[tuple[str, LexiconSettings]] = [("builtin", LexiconSettings(("builtin",)))]
    if arramooz_path() is not None:
        sources += [
            ("arramooz", LexiconSettings(("arramooz",))),
            ("builtin+arramooz", LexiconSettings(("builtin", "arramooz"))),
        ]
    else:
        print("arramooz is not installed (pip install 'docarchive[arabic]'): builtin only")
    bodies = {
        "ministry": arabic_words(ministry_text()),
        "generated": arabic_words([f"{r.subject}\n{r.text}" for r in Corpus(seed=7).records(n)]),
    }
    for name, words in bodies.items():
        print(f"{name}: {len(words):,} distinct Arabic words, {sum(words.values()):,} in all")
    print(f"\n{'lexicon':18s} {'words':>8s} {'plurals':>8s}", end="")
    for name in bodies:
        print(f" {name + ' distinct':>20s} {name + ' running':>18s}", end="")
    print()
    unknown: Counter[str] = Counter()
    for label, settings in sources:
        A.use_lexicon(settings)
        lexicon = A.lexicon()
        lemmas = dict(lexicon.lemmas)
        print(f"{label:18s} {len(lexicon):8,} {lexicon.plurals():8,}", end="")
        for words in bodies.values():
            distinct, running = coverage(words, lemmas)
            print(f" {distinct:20.1%} {running:18.1%}", end="")
        print()
        unknown = Counter({w: c for w, c in bodies["ministry"].items() if not known(w, lemmas)})
    A.use_lexicon(LexiconSettings())
    print("\nthe ministry text's most frequent words no source knows:")
    print("  " + " ".join(w for w, _ in unknown.most_common(40)))


if __name__ == "__main__":
    main()
