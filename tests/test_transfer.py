"""Moving records: migrate a folder archive to S3 + PostgreSQL (killed midway and rerun),
export BagIt packages within the caller's clearance, import them with every hash checked."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import bagit
import pytest
from services import new_bucket, new_database

from docarchive import Archive
from docarchive.catalog import open_catalog
from docarchive.errors import AccessDeniedError, ConfigurationError, IntegrityError
from docarchive.storage import open_storage
from docarchive.testing.catalog import plain_record

SCAN = Path(__file__).resolve().parent.parent / "examples" / "data" / "scans" / "monthly_report.pdf"

MIGRATE = """
import sys, time
from docarchive import Archive

def progress(stage, done, total):
    print(stage, done, total, flush=True)
    if stage == "audit" and "--pause-in-audit" in sys.argv:
        time.sleep(30)  # the test kills the process here, between two committed batches

with Archive.open(sys.argv[1]) as archive:
    archive.migrate(sys.argv[2], sys.argv[3], progress=progress)
print("done", flush=True)
"""


def _fill(archive: Archive, circular_data: dict[str, Any], bulk: int = 0) -> list[str]:
    """Issued circulars (one voided), a scan, and ``bulk`` more records with small files."""
    numbers = [archive.issue("circular", circular_data).number or "" for _ in range(3)]
    archive.void(numbers[1], "صدر بالخطأ")
    archive.ingest_scan(SCAN)
    for start in range(0, bulk, 50):
        records = []
        for i in range(start, min(start + 50, bulk)):
            data = f"كتاب وارد رقم {i} ".encode() * 40
            archive.storage.put(data)
            records.append(plain_record(f"bulk-{i:04d}", blob=data))
        with archive.catalog.transaction("clerk") as tx:
            for record in records:
                tx.add_record(record)
    archive.catch_up()
    return numbers


def _same_content(source: Archive, copy: Archive) -> None:
    assert [r.to_dict() for r in copy.catalog.records()] == [
        r.to_dict() for r in source.catalog.records()
    ]
    assert list(copy.catalog.audit_events()) == list(source.catalog.audit_events())
    assert list(copy.catalog.numbers()) == list(source.catalog.numbers())
    assert copy.catalog.sequences() == source.catalog.sequences()
    assert sorted(copy.storage.keys()) == sorted(source.storage.keys())


def test_migrate_a_folder_archive_to_s3_and_postgres(
    tmp_path: Path, circular_data: dict[str, Any], s3_endpoint: str, postgres_server: str
) -> None:
    storage, catalog = new_bucket(s3_endpoint), new_database(postgres_server)
    with Archive.open(tmp_path / "folder") as source:
        numbers = _fill(source, circular_data)
        source.add_user("suad", "كلمة-مرور-طويلة", clearance="secret", role="officer")
        token = source.create_token("suad", label="نظام العقود").token
        before = source.catalog.last_change()
        report = source.migrate(storage, catalog)
        assert (report.users, report.tokens) == (1, 1)
        assert report.blobs_copied == len(set(source.storage.keys()))
        assert report.records_copied == 4 and report.events_copied == before
        assert source.catalog.last_change() == before  # the source is only read
        assert source.verify().ok
        found = source.search("الأرشفة")
        again = source.migrate(storage, catalog)  # a rerun finds everything there
        assert (again.blobs_copied, again.records_copied, again.events_copied) == (0, 0, 0)
        assert (again.users, again.tokens) == (0, 0)
        assert again.events_present == before
        with Archive.open(tmp_path / "moved", storage=storage, catalog=catalog) as moved:
            _same_content(source, moved)
            assert moved.verify().ok
            again = moved.search("الأرشفة")
            assert again.total == found.total
            assert sorted(h.record.id for h in again.hits) == sorted(
                h.record.id for h in found.hits
            )
            assert moved.get(numbers[0]).id == source.get(numbers[0]).id
            assert moved.users() == source.users()
            assert moved.authenticate(token).name == "suad"  # the same token works there
            assert moved.login("suad", "كلمة-مرور-طويلة").name == "suad"
            nxt = moved.issue("circular", circular_data).number or ""
            assert nxt.split("/")[2] == "4"  # numbering goes on after 1, 2 (void), 3
            assert moved.verify().ok


def _run_until(args: list[str], stop: Any) -> list[str]:
    """Run the migration in a subprocess; SIGKILL it when ``stop(stage, done, total)``."""
    proc = subprocess.Popen(
        [sys.executable, "-c", MIGRATE, *args], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:
        seen.append(line.strip())
        parts = line.split()
        if len(parts) == 3 and stop(parts[0], int(parts[1]), int(parts[2])):
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait(timeout=120)
    proc.stdout.close()
    return seen


def test_migrate_killed_midway_resumes_and_completes(
    tmp_path: Path, circular_data: dict[str, Any], s3_endpoint: str, postgres_server: str
) -> None:
    storage, catalog = new_bucket(s3_endpoint), new_database(postgres_server)
    root = tmp_path / "folder"
    with Archive.open(root) as source:
        _fill(source, circular_data, bulk=450)
        total_blobs = len(set(source.storage.keys()))
        total_events = source.catalog.last_change()
    assert total_events > 400

    # killed while copying blobs, wherever it happens to be
    seen = _run_until([str(root), storage, catalog], lambda s, d, t: s == "blobs" and d >= 150)
    assert "done" not in seen
    store, partial = open_storage(storage), open_catalog(catalog)
    copied = len(set(store.keys()))
    assert 150 <= copied < total_blobs
    assert partial.last_change() == 0
    store.close()
    partial.close()

    # killed again halfway through the audit chain, after a committed batch
    seen = _run_until(
        [str(root), storage, catalog, "--pause-in-audit"], lambda s, d, t: s == "audit"
    )
    assert "done" not in seen
    partial = open_catalog(catalog)
    head = partial.last_change()
    assert 0 < head < total_events
    partial.close()

    # the rerun completes from there
    proc = subprocess.run(
        [sys.executable, "-c", MIGRATE, str(root), storage, catalog],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("done")
    with (
        Archive.open(root) as source,
        Archive.open(tmp_path / "moved", storage=storage, catalog=catalog) as moved,
    ):
        _same_content(source, moved)
        report = moved.verify()
        assert report.ok, report.problems
        assert moved.search("الأرشفة").total == source.search("الأرشفة").total
        assert (moved.issue("circular", circular_data).number or "").split("/")[2] == "4"


def test_migrate_refuses_a_catalog_of_another_archive(
    tmp_path: Path, circular_data: dict[str, Any]
) -> None:
    with Archive.open(tmp_path / "other") as other:
        other.issue("circular", circular_data)
    with Archive.open(tmp_path / "source") as source:
        source.issue("circular", circular_data)
        with pytest.raises(ConfigurationError, match="holds another archive"):
            source.migrate(
                (tmp_path / "new-blobs").as_uri(),
                f"sqlite://{tmp_path / 'other' / 'catalog.sqlite'}",
            )
        with pytest.raises(ConfigurationError, match="is the source"):
            source.migrate(source.storage.url, f"sqlite://{tmp_path / 'x.sqlite'}")


def test_migrate_stops_on_a_corrupt_source_blob(
    tmp_path: Path, circular_data: dict[str, Any]
) -> None:
    with Archive.open(tmp_path / "source") as source:
        record = source.issue("circular", circular_data)
        sha = record.files[0].sha256
        path = source.settings.root / "blobs" / sha[:2] / sha[2:4] / sha
        path.chmod(0o600)  # writable by its owner only: the corruption, not a permission problem
        path.write_bytes(b"not what was stored")
        with pytest.raises(IntegrityError, match=f"blob {sha} .* is corrupt"):
            source.migrate((tmp_path / "b").as_uri(), f"sqlite://{tmp_path / 'c.sqlite'}")


def test_cli_migrate(tmp_path: Path, cli: Any, circular_data: dict[str, Any]) -> None:
    root = tmp_path / "source"
    with Archive.open(root) as source:
        _fill(source, circular_data)
    blobs, catalog = (tmp_path / "new" / "blobs").as_uri(), f"sqlite://{tmp_path / 'new.sqlite'}"
    proc = cli("migrate", "--to-storage", blobs, "--to-catalog", catalog, "--json", root=root)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["records_copied"] == 4
    proc = cli("migrate", "--to-storage", blobs, "--to-catalog", catalog, root=root)
    assert proc.returncode == 0 and "0 records (4 already there)" in proc.stdout


# -- export and import ------------------------------------------------------------------------


def test_export_writes_a_valid_bag(tmp_path: Path, circular_data: dict[str, Any]) -> None:
    with Archive.open(tmp_path / "archive") as archive:
        issued = archive.issue("circular", circular_data)
        scan = archive.ingest_scan(SCAN)
        bag_dir = archive.export([issued.number or "", scan.id], dest=tmp_path / "bag")
    for name in ("bagit.txt", "manifest-sha256.txt", "tagmanifest-sha256.txt", "bag-info.txt"):
        assert (bag_dir / name).is_file()
    bag = bagit.Bag(str(bag_dir))
    assert bag.validate()
    assert bag.info["Docarchive-Records"] == "2"
    meta = json.loads((bag_dir / "data" / "records" / issued.id / "record.json").read_text())
    assert meta["number"] == issued.number and meta["subject"] == issued.subject
    events = json.loads((bag_dir / "data" / "records" / issued.id / "audit.json").read_text())
    assert [e["action"] for e in events] == ["reserve", "create"]
    for ref in [*issued.files, *scan.files]:
        assert (bag_dir / "data" / "blobs" / ref.sha256).is_file()


def test_export_respects_clearance(tmp_path: Path, circular_data: dict[str, Any]) -> None:
    with Archive.open(tmp_path / "archive") as archive:
        secret = archive.issue("circular", circular_data, classification="secret")
        open_one = archive.issue("circular", circular_data, classification="internal")
        with pytest.raises(AccessDeniedError):
            archive.export([secret.id], dest=tmp_path / "bag1", clearance="internal")
        assert not (tmp_path / "bag1").exists()
        bag = archive.export(query="الأرشفة", dest=tmp_path / "bag2", clearance="internal")
        assert sorted(p.name for p in (bag / "data" / "records").iterdir()) == [open_one.id]
        with pytest.raises(ConfigurationError, match="ids or a query"):
            archive.export(dest=tmp_path / "bag3")


def test_import_into_another_archive(tmp_path: Path, circular_data: dict[str, Any]) -> None:
    with Archive.open(tmp_path / "sender") as sender:
        issued = sender.issue("circular", circular_data)
        scan = sender.ingest_scan(SCAN)
        bag = sender.export([issued.id, scan.id], dest=tmp_path / "bag")
    with Archive.open(tmp_path / "receiver") as receiver:
        report = receiver.import_bag(bag, actor="archivist")
        assert sorted(r.id for r in report.imported) == sorted([issued.id, scan.id])
        assert receiver.get(issued.id).to_dict() == issued.to_dict()
        assert receiver.blob(scan.files[0].sha256) == SCAN.read_bytes()
        events = [e for e in receiver.catalog.audit_events() if e.action == "import"]
        assert {e.record_id for e in events} == {issued.id, scan.id}
        assert all(e.actor == "archivist" and e.detail["source"] for e in events)
        assert receiver.verify().ok
        assert receiver.search("الأرشفة").total == 1
        again = receiver.import_bag(bag)
        assert again.imported == [] and len(again.duplicates) == 2


def test_import_refuses_a_tampered_bag(
    tmp_path: Path, cli: Any, circular_data: dict[str, Any]
) -> None:
    with Archive.open(tmp_path / "sender") as sender:
        issued = sender.issue("circular", circular_data)
    proc = cli("export", issued.id, "-o", str(tmp_path / "bag"), root=tmp_path / "sender")
    assert proc.returncode == 0, proc.stderr
    sha = issued.files[0].sha256
    blob = tmp_path / "bag" / "data" / "blobs" / sha
    data = bytearray(blob.read_bytes())
    data[100] ^= 0xFF
    blob.write_bytes(bytes(data))
    receiver = tmp_path / "receiver"
    proc = cli("import", str(tmp_path / "bag"), root=receiver)
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert f"data/blobs/{sha}" in proc.stderr and "does not match" in proc.stderr
    with Archive.open(receiver) as archive:
        assert list(archive.catalog.records()) == []


def test_import_refuses_a_record_its_audit_events_do_not_match(
    tmp_path: Path, circular_data: dict[str, Any]
) -> None:
    with Archive.open(tmp_path / "sender") as sender:
        issued = sender.issue("circular", circular_data)
        bag_dir = sender.export([issued.id], dest=tmp_path / "bag")
    meta_path = bag_dir / "data" / "records" / issued.id / "record.json"
    meta = json.loads(meta_path.read_text())
    meta["subject"] = "موضوع مزور"
    meta_path.write_text(json.dumps(meta, ensure_ascii=False))
    bag = bagit.Bag(str(bag_dir))
    bag.save(manifests=True)  # a forger who rewrites the manifests too
    with (
        Archive.open(tmp_path / "receiver") as receiver,
        pytest.raises(IntegrityError, match="differs from what its audit events recorded"),
    ):
        receiver.import_bag(bag_dir)
