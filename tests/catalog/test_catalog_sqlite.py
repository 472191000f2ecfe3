"""SQLiteCatalog: the conformance suite, then schema checks and real concurrent processes."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from docarchive.catalog import open_catalog
from docarchive.catalog.base import GENESIS, Catalog
from docarchive.catalog.sqlite import MIGRATIONS, SQLiteCatalog
from docarchive.errors import ConfigurationError, DocArchiveError
from docarchive.records import Record
from docarchive.testing import CatalogConformance


class TestSQLiteCatalog(CatalogConformance):
    def make_catalog(self, location: Path) -> Catalog:
        return SQLiteCatalog(location / "catalog.sqlite")


def set_schema_version(path: Path, version: str) -> None:
    db = sqlite3.connect(path)
    try:
        with db:
            db.execute("UPDATE meta SET value=? WHERE key='schema_version'", (version,))
    finally:
        db.close()


def test_new_file_is_migrated_to_the_latest_schema(tmp_path: Path) -> None:
    catalog = SQLiteCatalog(tmp_path / "sub" / "catalog.sqlite")
    try:
        assert catalog.schema_version() == len(MIGRATIONS)
    finally:
        catalog.close()


def test_schema_newer_than_the_code(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    SQLiteCatalog(path).close()
    set_schema_version(path, str(len(MIGRATIONS) + 1))
    with pytest.raises(
        ConfigurationError,
        match=rf"catalog schema {len(MIGRATIONS) + 1} is newer than this docarchive "
        rf"\({len(MIGRATIONS)}\); upgrade docarchive",
    ):
        SQLiteCatalog(path)


def test_file_that_is_not_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    path.write_bytes(b"%PDF-1.7 this is a scan, not a database\n" * 200)
    with pytest.raises(ConfigurationError, match=r"catalog.sqlite: not a usable SQLite catalog"):
        SQLiteCatalog(path)
    assert path.read_bytes().startswith(b"%PDF-1.7")


def test_from_url(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    catalog = open_catalog(f"sqlite:///{path}")
    try:
        assert isinstance(catalog, SQLiteCatalog)
        assert catalog.path.resolve() == path.resolve()
        assert path.exists()
    finally:
        catalog.close()


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///"])
def test_from_url_needs_a_path(url: str) -> None:
    with pytest.raises(ConfigurationError, match="sqlite:// catalog needs a file path"):
        SQLiteCatalog.from_url(url)


def test_from_url_rejects_options(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="sqlite:// catalog takes no options"):
        SQLiteCatalog.from_url(f"sqlite:///{tmp_path / 'c.sqlite'}?timeout=5")


def test_duplicate_record_id_is_a_docarchive_error(tmp_path: Path) -> None:
    catalog = SQLiteCatalog(tmp_path / "catalog.sqlite")
    try:
        with catalog.transaction("clerk") as tx:
            tx.add_record(Record(id="same", kind="scan"))
        with pytest.raises(DocArchiveError, match="same"), catalog.transaction("clerk") as tx:
            tx.add_record(Record(id="same", kind="scan"))
    finally:
        catalog.close()


# -- real concurrent processes ----------------------------------------------------------

WORKER = """
import json, random, sys, time
from pathlib import Path
from docarchive.catalog.sqlite import SQLiteCatalog
from docarchive.records import Record, new_id

path, go, count, actor = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
office, period = "م.و", "2026"
catalog = SQLiteCatalog(path)
Path(f"{go}.{actor}.ready").touch()
while not go.exists():
    time.sleep(0.005)
taken = []
for _ in range(count):
    with catalog.transaction(actor) as tx:
        seq = tx.next_number("circular", office, period)
        tx.add_record(Record(
            id=new_id(), kind="circular", number=f"{office}/ت/{seq}/{period}",
            series="circular", meta={"seq": seq, "office_code": office, "period": period},
        ))
    taken.append(seq)
    time.sleep(random.uniform(0, 0.004))  # other work between documents, so writers interleave
catalog.close()
print(json.dumps(taken))
"""


def run_workers(path: Path, go: Path, processes: int, each: int) -> list[list[int]]:
    """Run WORKER in ``processes`` processes at once; the numbers each one took."""
    with contextlib.ExitStack() as stack:
        procs = [
            stack.enter_context(
                subprocess.Popen(
                    [sys.executable, "-c", WORKER, str(path), str(go), str(each), f"worker-{i}"],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
            for i in range(processes)
        ]
        try:
            # Start together, once every process has imported docarchive and opened the catalog.
            deadline = time.monotonic() + 120
            while not all(Path(f"{go}.worker-{i}.ready").exists() for i in range(processes)):
                assert all(p.poll() is None for p in procs), "a worker died before starting"
                assert time.monotonic() < deadline, "workers did not start"
                time.sleep(0.01)
            go.touch()
            results = []
            for proc in procs:
                out, err = proc.communicate(timeout=180)
                assert proc.returncode == 0, err
                results.append(json.loads(out))
            return results
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()


def assert_chain_intact(catalog: Catalog, length: int) -> None:
    events = list(catalog.audit_events())
    assert [e.seq for e in events] == list(range(1, length + 1))
    prev = GENESIS
    for event in events:
        assert event.prev_hash == prev, f"event {event.seq} does not link"
        assert event.hash == event.expected_hash(), f"event {event.seq} hash is wrong"
        prev = event.hash


def test_concurrent_processes_number_without_gaps_or_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    SQLiteCatalog(path).close()
    results = run_workers(path, tmp_path / "go", processes=4, each=50)

    for taken in results:
        assert len(taken) == 50
        assert taken == sorted(taken), "one process saw its numbers go backwards"
    assert sorted(n for taken in results for n in taken) == list(range(1, 201))
    interleaved = sum(1 for taken in results if taken[-1] - taken[0] > 49)
    assert interleaved >= 2, "the processes never competed for the lock"

    catalog = SQLiteCatalog(path)
    try:
        register = catalog.register("circular")
        assert [e.seq for e in register] == list(range(1, 201))
        assert len({e.number for e in register}) == 200
        assert {e.actor for e in register} == {f"worker-{i}" for i in range(4)}
        assert len(list(catalog.records())) == 200
        assert_chain_intact(catalog, 200)
        assert catalog.record_digests() == {r.id: r.digest() for r in catalog.records()}
    finally:
        catalog.close()


def test_concurrent_processes_creating_the_catalog(tmp_path: Path) -> None:
    path = tmp_path / "new" / "catalog.sqlite"
    results = run_workers(path, tmp_path / "go", processes=4, each=5)
    assert sorted(n for taken in results for n in taken) == list(range(1, 21))
    catalog = SQLiteCatalog(path)
    try:
        assert catalog.schema_version() == len(MIGRATIONS)
        assert_chain_intact(catalog, 20)
    finally:
        catalog.close()
