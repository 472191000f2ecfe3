"""The PostgreSQL catalog, against a real server on 127.0.0.1 (see tests/catalog/conftest.py)."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from services import new_bucket
from workers import CATALOG_WORKER, assert_chain_intact, check_numbers, run_workers

try:
    import psycopg
except ImportError:  # on CI, a missing extra must fail, not skip (see conftest.py)
    if os.environ.get("CI"):
        raise
    pytest.skip("needs psycopg: pip install 'docarchive[postgres]'", allow_module_level=True)

from docarchive import Archive
from docarchive.catalog import open_catalog
from docarchive.catalog.base import Catalog
from docarchive.catalog.postgres import MIGRATIONS, PostgresCatalog
from docarchive.errors import (
    ConfigurationError,
    DocArchiveError,
    IntegrityError,
    NumberingError,
)
from docarchive.records import Record
from docarchive.testing import CatalogConformance
from docarchive.testing.postgres import create_database

ROOT = Path(__file__).resolve().parents[2]
CIRCULAR = ROOT / "examples" / "data" / "circular.json"


class TestPostgresCatalog(CatalogConformance):
    @pytest.fixture(autouse=True)
    def _server(self, postgres_server: str) -> None:
        self.server = postgres_server

    def make_catalog(self, location: Path) -> Catalog:
        # One database per test folder: the same folder reopens the same database.
        name = "c_" + hashlib.sha256(str(location).encode()).hexdigest()[:20]
        return PostgresCatalog(create_database(self.server, name))


@pytest.fixture
def catalog(postgres_url: str) -> Iterator[PostgresCatalog]:
    cat = PostgresCatalog(postgres_url)
    try:
        yield cat
    finally:
        cat.close()


def sql(url: str, statement: str, *args: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(statement, args or None)
        return cur.fetchall() if cur.description else []


# -- opening, URLs, schema -------------------------------------------------------------------


def test_open_by_url_and_schema(postgres_url: str) -> None:
    for url in (postgres_url, postgres_url.replace("postgresql://", "postgres://", 1)):
        catalog = open_catalog(url)
        try:
            assert isinstance(catalog, PostgresCatalog)
            assert catalog.schema_version() == len(MIGRATIONS)
            assert catalog.url == url
        finally:
            catalog.close()
    tables = {r[0] for r in sql(postgres_url, "SELECT tablename FROM pg_tables")}
    assert {"meta", "records", "record_files", "sequences", "numbers", "audit"} <= tables


def test_libpq_options_pass_through(postgres_url: str) -> None:
    catalog = PostgresCatalog(f"{postgres_url}?sslmode=disable&application_name=clerk-7")
    try:
        with catalog.transaction("clerk") as tx:
            tx.add_record(Record(id="r1", kind="scan"))
        names = sql(postgres_url, "SELECT application_name FROM pg_stat_activity")
        assert ("clerk-7",) in names
    finally:
        catalog.close()


def test_unknown_option_is_a_configuration_error(postgres_url: str) -> None:
    with pytest.raises(ConfigurationError, match="invalid URI query parameter"):
        PostgresCatalog(f"{postgres_url}?colour=blue")


def test_schema_newer_than_the_code(postgres_url: str) -> None:
    PostgresCatalog(postgres_url).close()
    newer = len(MIGRATIONS) + 1
    sql(postgres_url, "UPDATE meta SET value=%s WHERE key='schema_version'", str(newer))
    with pytest.raises(
        ConfigurationError,
        match=rf"catalog schema {newer} is newer than this docarchive "
        rf"\({len(MIGRATIONS)}\); upgrade docarchive",
    ):
        PostgresCatalog(postgres_url)


def test_missing_database(postgres_server: str) -> None:
    url = postgres_server.rsplit("/", 1)[0] + "/no_such_db"
    with pytest.raises(ConfigurationError, match=r'cannot reach .*: database "no_such_db" does'):
        PostgresCatalog(url)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_unreachable_server_is_one_clear_line_without_the_password() -> None:
    port = closed_port()
    url = f"postgresql://archivist:s3cret-pw@127.0.0.1:{port}/archive?connect_timeout=3"
    with pytest.raises(DocArchiveError) as info:
        open_catalog(url)
    message = str(info.value)
    assert message == (
        f"cannot reach the PostgreSQL catalog at 127.0.0.1:{port}/archive as archivist: "
        "Connection refused. Is the server running on that host and accepting TCP/IP "
        "connections?"
    )
    assert "s3cret" not in message and "\n" not in message
    assert isinstance(info.value, ConfigurationError)


def test_cli_reports_an_unreachable_catalog(tmp_path: Path) -> None:
    url = f"postgresql://archivist@127.0.0.1:{closed_port()}/archive"
    proc = subprocess.run(
        [sys.executable, "-m", "docarchive", "init", str(tmp_path / "a"), "--catalog", url],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PGPASSWORD": "s3cret-pw"},
    )
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "cannot reach the PostgreSQL catalog at 127.0.0.1" in proc.stderr
    assert "s3cret" not in proc.stderr + proc.stdout


def test_redacted_url_keeps_no_password(postgres_url: str) -> None:
    url = postgres_url.replace("postgres@", "postgres:not-checked@", 1)
    catalog = PostgresCatalog(url)  # trust authentication ignores the password
    try:
        assert "not-checked" not in catalog.url
        assert catalog.url == postgres_url
    finally:
        catalog.close()


# -- behaviour specific to PostgreSQL ----------------------------------------------------------


def test_duplicate_record_id_is_an_integrity_error(catalog: PostgresCatalog) -> None:
    with catalog.transaction("clerk") as tx:
        tx.add_record(Record(id="same", kind="scan"))
    with (
        pytest.raises(IntegrityError, match="record same already exists"),
        catalog.transaction("clerk") as tx,
    ):
        tx.add_record(Record(id="same", kind="other"))
    record = catalog.get("same")
    assert record is not None and record.kind == "scan"


def test_a_refused_record_leaves_the_transaction_usable(catalog: PostgresCatalog) -> None:
    with catalog.transaction("clerk") as tx:
        seq = tx.next_number("circular", "A", "2026")
        tx.add_record(_numbered("first", seq))
    with catalog.transaction("clerk") as tx:
        with pytest.raises(NumberingError, match="already in the register"):
            tx.add_record(_numbered("again", 1))
        with pytest.raises(IntegrityError):
            tx.add_record(Record(id="first", kind="scan"))
        tx.add_record(Record(id="kept", kind="scan"))
    assert catalog.get("again") is None
    assert catalog.get("kept") is not None
    assert [e.record_id for e in catalog.audit_events()] == ["first", "kept"]


def _numbered(record_id: str, seq: int) -> Record:
    return Record(
        id=record_id,
        kind="circular",
        number=f"A/{seq}/2026",
        series="circular",
        meta={"seq": seq, "office_code": "A", "period": "2026"},
    )


def test_lookups_by_meta_and_cursors(catalog: PostgresCatalog, postgres_url: str) -> None:
    assert catalog.find_by_meta("message_id", "nothing") == []
    assert catalog.cursor("imap:x") is None
    with catalog.transaction("clerk") as tx:
        for i, (message_id, thread) in enumerate([("<a@x>", "t1"), ("<b@x>", "t1"), ("5", "t2")]):
            meta = {"message_id": message_id, "thread": thread}
            tx.add_record(
                Record(id=f"m{i}", kind="mail", dates={"created": f"2026-0{3 - i}"}, meta=meta)
            )
        tx.add_record(Record(id="n5", kind="mail", meta={"message_id": 5}))
        tx.set_cursor("imap:x", '{"uid": 1}')
    with catalog.transaction("clerk") as tx:
        tx.set_cursor("imap:x", '{"uid": 2}')
    assert catalog.cursor("imap:x") == '{"uid": 2}'
    assert catalog.last_change() == 4, "a cursor is not audited"
    assert [r.id for r in catalog.find_by_meta("message_id", "<b@x>")] == ["m1"]
    assert [r.id for r in catalog.find_by_meta("thread", "t1")] == ["m1", "m0"]  # oldest first
    assert [r.id for r in catalog.find_by_meta("message_id", "5")] == ["m2"], "strings only"
    assert catalog.find_by_meta("no_such_key", "t1") == []
    with pytest.raises(ValueError, match="not a metadata key"):
        catalog.find_by_meta("x') OR 1=1 --", "")
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("SET enable_seqscan = off")
        plan = conn.execute(
            "EXPLAIN SELECT doc FROM records "
            "WHERE (doc::jsonb -> 'meta') -> 'message_id' = to_jsonb(%s::text)",
            ("x",),
        ).fetchall()
    assert "records_message_id" in " ".join(r[0] for r in plan)


def test_an_old_catalog_is_migrated(postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        conn.execute(MIGRATIONS[0])
        conn.execute("INSERT INTO meta VALUES ('schema_version', '1')")
        conn.execute(
            "INSERT INTO records VALUES ('old', 'scan', NULL, NULL, 0, '', 'x', %s)",
            (Record(id="old", kind="scan").canonical_json(),),
        )
    catalog = PostgresCatalog(postgres_url)
    try:
        assert catalog.schema_version() == len(MIGRATIONS) >= 2
        assert catalog.cursor("x") is None
        assert catalog.get("old") == Record(id="old", kind="scan")
    finally:
        catalog.close()


def test_listing_sorts_like_sqlite(catalog: PostgresCatalog) -> None:
    offices = ["م.و", "Z", "a", "B", "ب"]
    with catalog.transaction("clerk") as tx:
        for office in offices:
            seq = tx.next_number("letter", office, "2026")
            tx.add_record(
                Record(
                    id=f"id-{office}",
                    kind="letter",
                    number=f"{office}/{seq}",
                    series="letter",
                    meta={"seq": seq, "office_code": office, "period": "2026"},
                )
            )
    assert [e.office_code for e in catalog.register("letter")] == sorted(offices)


def test_many_records_page_through(catalog: PostgresCatalog) -> None:
    with catalog.transaction("clerk") as tx:
        for i in range(2500):
            tx.add_record(Record(id=f"r{i:05d}", kind="scan", dates={"created": "2026-01-01"}))
    assert [r.id for r in catalog.records()] == [f"r{i:05d}" for i in range(2500)]
    assert len(catalog.record_digests()) == 2500
    assert_chain_intact(catalog, 2500)


def test_threads_share_one_catalog(catalog: PostgresCatalog) -> None:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(20):
                with catalog.transaction(f"thread-{n}") as tx:
                    seq = tx.next_number("circular", "A", "2026")
                    tx.add_record(_numbered(f"t{n}-{i}", seq))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [e.seq for e in catalog.register("circular")] == list(range(1, 81))
    assert_chain_intact(catalog, 80)


def test_reconnects_after_the_server_dropped_the_connection(
    catalog: PostgresCatalog, postgres_url: str
) -> None:
    with catalog.transaction("clerk") as tx:
        tx.add_record(Record(id="before", kind="scan"))
    dbname = postgres_url.rsplit("/", 1)[1]
    killed = sql(
        postgres_url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname=%s AND pid <> pg_backend_pid()",
        dbname,
    )
    assert killed
    time.sleep(0.1)
    assert catalog.get("before") is not None
    sql(
        postgres_url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname=%s AND pid <> pg_backend_pid()",
        dbname,
    )
    time.sleep(0.1)
    with catalog.transaction("clerk") as tx:
        tx.add_record(Record(id="after", kind="scan"))
    assert catalog.last_change() == 2


def test_a_forked_child_leaves_the_parents_connection_alone(catalog: PostgresCatalog) -> None:
    with catalog.transaction("parent") as tx:
        tx.add_record(Record(id="parent-1", kind="scan"))
    session = catalog._conn().info.backend_pid
    pid = os.fork()
    if pid == 0:  # the child: its own connection; closing must not end the parent's session
        code = 1
        try:
            with catalog.transaction("child") as tx:
                tx.add_record(Record(id="child-1", kind="scan"))
            catalog.close()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    alive = catalog._conn().execute("SELECT pg_backend_pid()").fetchone()
    assert alive == (session,), "the parent lost its session"
    with catalog.transaction("parent") as tx:
        tx.add_record(Record(id="parent-2", kind="scan"))
    assert [e.actor for e in catalog.audit_events()] == ["parent", "child", "parent"]


def test_a_deadlock_is_reported_as_try_again(catalog: PostgresCatalog, postgres_url: str) -> None:
    """Taking numbers of two series in opposite orders: PostgreSQL aborts one transaction."""
    other = PostgresCatalog(postgres_url)
    both_hold_one = threading.Barrier(2)
    outcome: dict[str, str] = {}

    def take(cat: PostgresCatalog, first: str, second: str) -> None:
        try:
            with cat.transaction(first) as tx:
                tx.next_number(first, "A", "2026")
                both_hold_one.wait(timeout=30)
                tx.next_number(second, "A", "2026")
            outcome[first] = "committed"
        except DocArchiveError as exc:
            outcome[first] = str(exc)

    threads = [
        threading.Thread(target=take, args=(catalog, "circular", "decision")),
        threading.Thread(target=take, args=(other, "decision", "circular")),
    ]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    finally:
        other.close()
    assert sorted(outcome.values())[0] == "committed"
    assert "deadlocked with another writer" in sorted(outcome.values())[1]
    assert "try again" in sorted(outcome.values())[1]


# -- real concurrent processes ------------------------------------------------------------------


def test_concurrent_processes_number_without_gaps_or_duplicates(
    postgres_url: str, tmp_path: Path
) -> None:
    each = 250
    started = time.monotonic()
    results = run_workers(
        CATALOG_WORKER, [postgres_url, "{go}", str(each), "{actor}"], tmp_path / "go", 4
    )
    print(f"\n4 processes x {each} catalog transactions: {time.monotonic() - started:.1f} s")
    check_numbers(results, each)
    catalog = PostgresCatalog(postgres_url)
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


def test_concurrent_writers_of_different_series_share_one_chain(
    postgres_url: str, tmp_path: Path
) -> None:
    """No number lock in common: only the audit lock keeps the chain whole."""
    each = 150
    args = [postgres_url, "{go}", str(each), "{actor}", "series-{actor}"]
    started = time.monotonic()
    results = run_workers(CATALOG_WORKER, args, tmp_path / "go", 4)
    print(f"\n4 processes x {each} in 4 series: {time.monotonic() - started:.1f} s")
    assert results == [list(range(1, each + 1))] * 4
    catalog = PostgresCatalog(postgres_url)
    try:
        assert_chain_intact(catalog, 4 * each)
        actors = [e.actor for e in catalog.audit_events()]
        switches = sum(1 for a, b in pairwise(actors) if a != b)
        assert switches >= 4, "the writers never interleaved"
    finally:
        catalog.close()


def test_concurrent_processes_creating_the_catalog(postgres_url: str, tmp_path: Path) -> None:
    args = [postgres_url, "{go}", "5", "{actor}"]
    results = run_workers(CATALOG_WORKER, args, tmp_path / "go", 4)
    assert sorted(n for taken in results for n in taken) == list(range(1, 21))
    catalog = PostgresCatalog(postgres_url)
    try:
        assert catalog.schema_version() == len(MIGRATIONS)
        assert_chain_intact(catalog, 20)
    finally:
        catalog.close()


# -- the Archive over PostgreSQL ------------------------------------------------------------------


@pytest.mark.parametrize("shared", ["bucket", "folder"])
def test_two_servers_share_one_catalog(
    postgres_url: str, tmp_path: Path, make_pdf: Any, shared: str, request: pytest.FixtureRequest
) -> None:
    """Two archives on different folders (own index each) over one catalog and one storage:
    an S3 bucket (moto's server), or a shared folder."""
    if shared == "bucket":
        storage = new_bucket(request.getfixturevalue("s3_endpoint"))
    else:
        storage = (tmp_path / "shared-blobs").as_uri()
    data = json.loads(CIRCULAR.read_text("utf-8"))
    with (
        Archive.open(tmp_path / "server-1", catalog=postgres_url, storage=storage) as one,
        Archive.open(tmp_path / "server-2", catalog=postgres_url, storage=storage) as two,
    ):
        backend = "S3Storage" if shared == "bucket" else "LocalStorage"
        assert type(one.storage).__name__ == type(two.storage).__name__ == backend
        issued = one.issue("circular", data, actor="clerk-1")
        hits = two.search("الأرشفة", kind="circular").hits
        assert [h.record.id for h in hits] == [issued.id]
        assert two.blob(issued.files[0].sha256)[:2] == b"PK"

        scan = two.ingest_scan(
            make_pdf("letter.pdf", ["Budget request for the fiscal year"]), actor="clerk-2"
        )
        assert [h.record.id for h in one.search("budget").hits] == [scan.id]
        assert two.issue("circular", data).meta["seq"] == 2

        one.void(issued.number or "", "issued in error", actor="head")
        assert two.register("circular")[0].status == "void"
        assert one.verify().ok and two.verify().ok
        # issue: reserve + create (×2); scan: registration reserve + create; void
        assert one.catalog.last_change() == two.catalog.last_change() == 7


def test_mail_over_postgres(postgres_url: str, tmp_path: Path) -> None:
    """Mail ingest's lookups (Message-ID) and its duplicate detection, on PostgreSQL."""
    eml = tmp_path / "m.eml"
    eml.write_text(
        "From: a@example.org\nTo: b@example.org\nSubject: Budget review\n"
        "Message-ID: <budget-1@example.org>\nDate: Sun, 1 Mar 2026 09:00:00 +0300\n\n"
        "Please review the budget.\n",
        encoding="utf-8",
    )
    with Archive.open(tmp_path / "a", catalog=postgres_url) as archive:
        first = archive.ingest_mail(eml)
        again = archive.ingest_mail(eml.read_bytes().replace(b"review the", b"review  the"))
        assert again.id == first.id
        assert [h.record.id for h in archive.search("budget").hits] == [first.id]
        assert archive.verify().ok
