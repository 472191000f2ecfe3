"""For the search tests: the benchmark's letter generator on the path."""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))


import pytest  # noqa: E402

from docarchive.search.analysis import use_lexicon  # noqa: E402
from docarchive.search.lexicon import LexiconSettings  # noqa: E402


@pytest.fixture
def light_stemmer() -> object:
    """The chain without a lexicon (``[search] lexicon = "off"``: Lucene's light stemming
    with this project's و rule) for the test, then the default lexicon again."""
    use_lexicon(LexiconSettings(sources=()))
    yield None
    use_lexicon(LexiconSettings())
