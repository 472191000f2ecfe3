"""verify on every backend: a folder, S3 (moto's server on 127.0.0.1) and PostgreSQL (a
throwaway cluster) — each kind of damage named, JSON for scripts, exit 1 when wrong, and
an unreachable storage reported as such, not as N missing blobs."""

from __future__ import annotations

import json
import socket
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from services import new_bucket, new_database

from docarchive import Archive
from docarchive.errors import StorageError
from docarchive.testing.catalog import plain_record

ROOT = Path(__file__).resolve().parent.parent
SCAN = ROOT / "examples" / "data" / "scans" / "monthly_report.pdf"


# -- damage done from outside, backend by backend --------------------------------------------


@dataclass
class Setup:
    """An archive on one pair of backends, and how to damage it from outside."""

    archive: Archive
    overwrite_blob: Callable[[str, bytes], None]
    delete_blob: Callable[[str], None]
    sql: Callable[[str, tuple[Any, ...]], None]


def _local_blob(archive: Archive, sha: str) -> Path:
    return archive.settings.root / "blobs" / sha[:2] / sha[2:4] / sha


def _s3_object(archive: Archive, sha: str) -> tuple[Any, str, str]:
    import boto3

    store: Any = archive.storage
    client = boto3.client("s3", endpoint_url=store.options.endpoint_url)
    return client, store.bucket, store.object_key(sha)


@pytest.fixture(params=["folder", "s3", "postgres", "s3+postgres"])
def setup(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Setup]:
    kind = request.param
    overrides: dict[str, str] = {}
    if "s3" in kind:
        overrides["storage"] = new_bucket(request.getfixturevalue("s3_endpoint"))
    if "postgres" in kind:
        overrides["catalog"] = new_database(request.getfixturevalue("postgres_server"))
    archive = Archive.open(tmp_path / "archive", **overrides)

    def overwrite_blob(sha: str, data: bytes) -> None:
        if "s3" in kind:
            client, bucket, key = _s3_object(archive, sha)
            client.put_object(Bucket=bucket, Key=key, Body=data)
            client.close()
        else:
            path = _local_blob(archive, sha)
            path.chmod(0o600)  # owner-writable: the corruption, not a permission problem
            path.write_bytes(data)

    def delete_blob(sha: str) -> None:
        if "s3" in kind:
            client, bucket, key = _s3_object(archive, sha)
            client.delete_object(Bucket=bucket, Key=key)
            client.close()
        else:
            _local_blob(archive, sha).unlink()

    def sql(statement: str, args: tuple[Any, ...]) -> None:
        if "postgres" in kind:
            import psycopg

            with psycopg.connect(archive.catalog.url, autocommit=True) as conn:
                conn.execute(statement.replace("?", "%s"), args)
        else:
            with sqlite3.connect(archive.settings.root / "catalog.sqlite") as db:
                db.execute(statement, args)

    try:
        yield Setup(archive, overwrite_blob, delete_blob, sql)
    finally:
        archive.close()


def _filled(setup: Setup, circular_data: dict[str, Any]) -> tuple[Any, Any]:
    archive = setup.archive
    issued = archive.issue("circular", circular_data)
    scan = archive.ingest_scan(SCAN)
    assert archive.verify().ok
    return issued, scan


def test_a_healthy_archive_verifies(setup: Setup, circular_data: dict[str, Any]) -> None:
    _filled(setup, circular_data)
    report = setup.archive.verify()
    assert report.ok and report.records == 2 and report.blobs >= 2 and report.events >= 3
    assert report.notices == []


def test_missing_blob(setup: Setup, circular_data: dict[str, Any]) -> None:
    issued, _ = _filled(setup, circular_data)
    sha = issued.files[0].sha256
    setup.delete_blob(sha)
    (problem,) = setup.archive.verify().problems
    assert problem.code == "blob-missing" and problem.sha256 == sha
    assert problem.record_id == issued.id and issued.number in problem.message


def test_corrupted_blob(setup: Setup, circular_data: dict[str, Any]) -> None:
    _, scan = _filled(setup, circular_data)
    sha = scan.files[0].sha256
    data = bytearray(setup.archive.blob(sha))
    data[len(data) // 2] ^= 0xFF
    setup.overwrite_blob(sha, bytes(data))
    (problem,) = setup.archive.verify().problems
    assert problem.code == "blob-corrupt" and problem.sha256 == sha
    assert problem.record_id == scan.id


def test_record_without_blob(setup: Setup, circular_data: dict[str, Any]) -> None:
    _filled(setup, circular_data)
    never_stored = plain_record("record-without-blob", blob=b"bytes that were never stored")
    with setup.archive.catalog.transaction("clerk") as tx:
        tx.add_record(never_stored)
    (problem,) = setup.archive.verify().problems
    assert problem.code == "blob-missing" and problem.record_id == "record-without-blob"


def test_blob_without_record_is_a_notice_unless_strict(
    setup: Setup, circular_data: dict[str, Any]
) -> None:
    _filled(setup, circular_data)
    stray = setup.archive.storage.put(b"written just before a crash").sha256
    report = setup.archive.verify()
    assert report.ok and report.problems == []
    (notice,) = report.notices
    assert notice.code == "blob-orphan" and notice.sha256 == stray and stray in notice.message
    strict = setup.archive.verify(strict=True)
    assert not strict.ok and [p.code for p in strict.problems] == ["blob-orphan"]


def test_broken_audit_chain(setup: Setup, circular_data: dict[str, Any]) -> None:
    _filled(setup, circular_data)
    setup.sql("UPDATE audit SET actor=? WHERE seq=?", ("someone-else", 2))
    setup.sql("UPDATE audit SET prev_hash=? WHERE seq=?", ("f" * 64, 3))
    codes = sorted((p.code, p.event) for p in setup.archive.verify().problems)
    assert codes == [("audit-altered", 2), ("audit-altered", 3), ("audit-chain", 3)]


def test_unreachable_storage_is_one_clear_error(tmp_path: Path, s3_endpoint: str) -> None:
    url = new_bucket(s3_endpoint)
    with Archive.open(tmp_path / "archive", storage=url) as archive:
        archive.ingest_scan(SCAN)
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    gone = url.split("?")[0] + f"?endpoint_url={dead}&max_attempts=1&connect_timeout=1"
    with (
        Archive.open(tmp_path / "archive", storage=gone) as archive,
        pytest.raises(StorageError, match="cannot reach the S3 endpoint"),
    ):
        archive.verify()


def test_cli_verify_json_and_exit_codes(
    tmp_path: Path, cli: Any, circular_data: dict[str, Any]
) -> None:
    root = tmp_path / "archive"
    with Archive.open(root) as archive:
        issued = archive.issue("circular", circular_data)
        archive.storage.put(b"an orphan")
    ok = cli("verify", "--json", root=root)
    assert ok.returncode == 0, ok.stderr
    report = json.loads(ok.stdout)
    assert report["ok"] and [n["code"] for n in report["notices"]] == ["blob-orphan"]
    assert cli("verify", "--strict", root=root).returncode == 1
    sha = issued.files[0].sha256
    (root / "blobs" / sha[:2] / sha[2:4] / sha).unlink()
    bad = cli("verify", "--json", root=root)
    assert bad.returncode == 1
    problems = json.loads(bad.stdout)["problems"]
    assert [(p["code"], p["sha256"]) for p in problems] == [("blob-missing", sha)]
    text = cli("verify", root=root)
    assert text.returncode == 1 and f"PROBLEM blob-missing: record {issued.id}" in text.stdout
