"""SQLiteCatalog: the conformance suite, then schema checks and real concurrent processes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from workers import CATALOG_WORKER, assert_chain_intact, check_numbers, run_workers

from docarchive.catalog import open_catalog
from docarchive.catalog.base import Catalog
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


def test_concurrent_processes_number_without_gaps_or_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    SQLiteCatalog(path).close()
    each = 250
    args = [f"sqlite://{path}", "{go}", str(each), "{actor}"]
    check_numbers(run_workers(CATALOG_WORKER, args, tmp_path / "go", 4), each)

    catalog = SQLiteCatalog(path)
    try:
        register = catalog.register("circular")
        assert [e.seq for e in register] == list(range(1, 4 * each + 1))
        assert len({e.number for e in register}) == 4 * each
        assert {e.actor for e in register} == {f"worker-{i}" for i in range(4)}
        assert len(list(catalog.records())) == 4 * each
        assert_chain_intact(catalog, 4 * each)
        assert catalog.record_digests() == {r.id: r.digest() for r in catalog.records()}
    finally:
        catalog.close()


def test_concurrent_processes_creating_the_catalog(tmp_path: Path) -> None:
    path = tmp_path / "new" / "catalog.sqlite"
    args = [f"sqlite://{path}", "{go}", "5", "{actor}"]
    results = run_workers(CATALOG_WORKER, args, tmp_path / "go", 4)
    assert sorted(n for taken in results for n in taken) == list(range(1, 21))
    catalog = SQLiteCatalog(path)
    try:
        assert catalog.schema_version() == len(MIGRATIONS)
        assert_chain_intact(catalog, 20)
    finally:
        catalog.close()
