"""Relevance on ministry wording (issue 18): the judged set of :mod:`judged_ministry` on
every index backend.

The archive holds the judged letters and, as noise, the 300 generated letters of
``bench/corpus.py`` (``Corpus(seed=42)``, the same as test_relevance's). For each judged
query:

- every record in ``must`` is in the top 3 (in the top ``len(must)`` when it names more
  than 3): what a ministry user expects to see first;
- no record in ``must_not`` is on the first page of hits (the top 10, what the user
  sees): a letter that only shares a light stem or a proclitic-looking letter with the
  query (``بشكل تام`` for ``تأمين``) is a false hit wherever it ranks on that page.

``bench/bench_relevance.py`` measures the same set as recall and precision at 3, with and
without the lexicon.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from backends import backend_archive
from corpus import Corpus
from judged_ministry import CATEGORIES, JUDGMENTS, LETTERS, Judgment
from test_relevance import BACKENDS

from docarchive import Archive

#: Generated letters put in beside the judged ones.
GENERATED = 300
#: The first page of hits: no ``must_not`` record may be on it.
PAGE = 10
#: Where the ``must`` records must be: the top 3, or the top len(must) when it is longer.
TOP = 3


@pytest.fixture(scope="module", params=BACKENDS)
def archive(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Archive]:
    with backend_archive(request, tmp_path_factory, "ministry") as arc:
        fill(arc)
        yield arc


def fill(arc: Archive, generated: int = GENERATED) -> None:
    """Put the generated letters and the judged ones into ``arc``, and index them."""
    with arc.catalog.transaction("relevance-ministry") as tx:
        for record in Corpus(seed=42).records(generated):
            tx.add_record(record)
        for record in LETTERS:
            tx.add_record(record)
    arc.catch_up()


def ranked(arc: Archive, judgment: Judgment, size: int = PAGE) -> list[str]:
    """The ids of the first ``size`` hits of a judged query, as a user with every
    clearance sees them."""
    found = arc.search(judgment.query, clearance="top-secret", page_size=size, **judgment.options)
    return [hit.record.id for hit in found.hits]


def _describe(arc: Archive, ids: list[str]) -> str:
    records = arc.catalog.get_many(ids)
    return "; ".join(f"{i} ({records[i].subject[:40]})" for i in ids if i in records)


def test_the_judged_set_is_large_and_well_formed() -> None:
    queries = [j.query for j in JUDGMENTS]
    assert len(set(queries)) >= 150, "at least 150 distinct queries"
    assert len(set(queries)) == len(queries), [q for q, n in Counter(queries).items() if n > 1]
    assert sum(1 for j in JUDGMENTS if j.must_not) >= 30, "at least 30 false-positive traps"
    ids = [r.id for r in LETTERS]
    assert len(set(ids)) == len(ids)
    for j in JUDGMENTS:
        assert j.must, f"{j.query!r} names no record it must find"
        assert j.must | j.must_not <= set(ids), f"{j.query!r} names an unknown record"
        assert not j.must & j.must_not, f"{j.query!r}: a record both must and must not"
        assert j.category in CATEGORIES, j
    assert {j.category for j in JUDGMENTS} == set(CATEGORIES)
    # every judged letter is wanted by some query or is the trap of one
    assert set(ids) == set().union(*(j.must | j.must_not for j in JUDGMENTS))


@pytest.mark.parametrize("judgment", JUDGMENTS, ids=[f"{j.category}:{j.query}" for j in JUDGMENTS])
def test_judged_query(archive: Archive, judgment: Judgment) -> None:
    top = ranked(archive, judgment)
    within = top[: max(TOP, len(judgment.must))]
    missing = sorted(judgment.must - set(within))
    false = sorted(judgment.must_not & set(top))
    assert not missing and not false, (
        f"{judgment.query!r} {judgment.options}: missing from the top {len(within)}: "
        f"{missing}; false hits on the first page: {false}; "
        f"top 3: {_describe(archive, top[:TOP])}"
    )


def test_noise_is_in_the_archive(archive: Archive) -> None:
    """The generated letters are there: the judged ones do not rank alone."""
    assert archive.search("الوزارة", clearance="top-secret").total > len(LETTERS)
