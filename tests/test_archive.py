"""The folder archive end to end, through the library."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from docarchive import (
    Archive,
    ConfigurationError,
    MissingFieldError,
    NotFoundError,
    NumberingError,
    SearchError,
    TemplateError,
)
from docarchive.catalog.sqlite import SQLiteCatalog

BAGHDAD = ZoneInfo("Asia/Baghdad")


def test_issue_twice_gives_consecutive_numbers(archive: Archive, circular_data: dict[str, Any]):
    year = archive.now().year
    first = archive.issue("circular", circular_data)
    second = archive.issue("circular", circular_data)
    assert first.number == f"م.و/ت/1/{year}"
    assert second.number == f"م.و/ت/2/{year}"
    assert first.id != second.id
    assert [e.number for e in archive.register("circular")] == [first.number, second.number]


def test_issued_record_holds_the_rendered_document(archive: Archive, circular_data):
    record = archive.issue("circular", circular_data, classification="public")
    assert record.kind == "circular" and record.source == "issued"
    assert record.subject == circular_data["subject"]
    assert record.recipients == circular_data["recipients"]
    assert record.classification.label == "public"
    (original,) = record.files
    assert original.role == "original" and original.media_type.endswith("document")
    docx = archive.blob(original.sha256)
    assert docx.startswith(b"PK")
    # the number and the body are in the stored document's own text
    assert record.number in record.text
    assert circular_data["body"][1] in record.text
    assert archive.get(record.id) == record
    assert archive.get(record.number or "") == record


def test_series_format_comes_from_settings(tmp_path: Path, circular_data):
    root = tmp_path / "archive"
    Archive.open(root).close()
    settings = (root / "docarchive.toml").read_text("utf-8")
    settings = settings.replace(
        'format = "{office_code}/{kind_code}/{seq}/{year}"\nkind_code = "ت"\npadding = 0\n'
        'digits = "ascii"',
        'format = "{seq}/{kind_code}"\nkind_code = "ت"\npadding = 4\ndigits = "arabic"',
        1,
    )
    (root / "docarchive.toml").write_text(settings, "utf-8")
    with Archive.open(root) as archive:
        assert archive.issue("circular", circular_data).number == "٠٠٠١/ت"
        assert archive.issue("circular", circular_data).number == "٠٠٠٢/ت"


def test_yearly_series_restart_in_the_office_time_zone(tmp_path: Path, circular_data):
    # 31 Dec 2026 22:30 UTC is already 1 Jan 2027 in Baghdad (UTC+3)
    times = iter(
        [
            datetime(2026, 12, 31, 20, 0, tzinfo=ZoneInfo("UTC")),
            datetime(2026, 12, 31, 22, 30, tzinfo=ZoneInfo("UTC")),
        ]
    )
    with Archive.open(tmp_path / "a", clock=lambda: next(times)) as archive:
        assert archive.issue("circular", circular_data).number == "م.و/ت/1/2026"
        assert archive.issue("circular", circular_data).number == "م.و/ت/1/2027"


def test_search_finds_arabic_with_normalization(archive: Archive, circular_data):
    record = archive.issue("circular", circular_data)
    for query in ["الدوام", "الوزاره", "الوزارة", "دوائر الوزارة", "الأرشفة", "الارشفه"]:
        result = archive.search(query)
        assert [h.record.id for h in result.hits] == [record.id], query
    hit = archive.search("الدوام").hits[0]
    assert "<mark>الدوام</mark>" in hit.snippet
    assert hit.score > 0
    assert archive.search("الدوام").facets["kind"] == {"circular": 1}


def test_search_finds_text_of_a_scan(archive: Archive, make_pdf):
    pdf = make_pdf("report.pdf", ["Quarterly expenditure of the investment budget"])
    record = archive.ingest_scan(pdf)
    assert record.kind == "scan" and record.source == "scan"
    assert "expenditure" in record.text
    assert [h.record.id for h in archive.search("expenditure").hits] == [record.id]
    assert [h.record.id for h in archive.search("expenditures").hits] == [record.id]


def test_search_filters_and_errors(archive: Archive, circular_data, make_pdf):
    circular = archive.issue("circular", circular_data)
    scan = archive.ingest_scan(make_pdf("r.pdf", ["Archiving of the ministry correspondence"]))
    both = "الوزارة OR ministry"
    assert {h.record.id for h in archive.search(both).hits} == {circular.id, scan.id}
    assert [h.record.id for h in archive.search(both, kind="scan").hits] == [scan.id]
    year = archive.now().year
    assert archive.search(both, date_from=f"{year + 1}-01-01").total == 0
    assert archive.search(both, date_to=f"{year}-12-31").total == 2
    with pytest.raises(SearchError, match="not a date"):
        archive.search("الوزارة", date_from="yesterday")
    with pytest.raises(SearchError, match="empty"):
        archive.search("   ")


def test_clearance_hides_records_even_from_counts(archive: Archive, circular_data):
    from docarchive import AccessDeniedError

    public = archive.issue("circular", circular_data, classification="public")
    secret = archive.issue("circular", circular_data, classification="secret")
    as_internal = archive.search("الدوام", clearance="internal")
    assert [h.record.id for h in as_internal.hits] == [public.id]
    assert as_internal.total == 1
    assert as_internal.facets["kind"] == {"circular": 1}
    assert archive.search("الدوام", clearance="top-secret").total == 2
    with pytest.raises(AccessDeniedError, match="above your clearance"):
        archive.get(secret.id, clearance="internal")
    assert archive.get(secret.id, clearance="secret").id == secret.id
    with pytest.raises(ConfigurationError, match="unknown classification"):
        archive.search("الدوام", clearance="everything")


def test_reindex_from_nothing_gives_the_same_results(archive: Archive, circular_data, make_pdf):
    """The same records in the same order (scores may differ a little: tantivy's statistics
    count records replaced or deleted until their segments merge, as Lucene's do)."""
    archive.issue("circular", circular_data)
    archive.ingest_scan(make_pdf("r.pdf", ["Expenditure report of the ministry"]))
    before = [h.record.id for h in archive.search("الدوام OR expenditure").hits]
    archive.close()
    shutil.rmtree(archive.settings.root / "index")
    with Archive.open(archive.settings.root) as reopened:
        assert reopened.reindex() == 2
        after = [h.record.id for h in reopened.search("الدوام OR expenditure").hits]
    assert after == before and len(after) == 2


def test_index_catches_up_after_a_crash_between_catalog_and_index(tmp_path: Path, circular_data):
    root = tmp_path / "archive"
    with Archive.open(root) as archive:
        archive.issue("circular", circular_data)
        # a writer that died after its catalog commit, before touching the index:
        record = archive.issue("circular", circular_data)
    catalog = SQLiteCatalog(root / "catalog.sqlite")
    with catalog.transaction("another-process") as tx:
        from dataclasses import replace

        from docarchive.records import new_id

        tx.add_record(
            replace(
                record, id=new_id(), number=None, series=None, subject="كتاب وصل قبل توقف العملية"
            )
        )
    catalog.close()
    with Archive.open(root) as archive:
        assert archive.search("توقف").total == 1
        assert archive.index.applied() == archive.catalog.last_change()


def test_verify_names_a_flipped_byte(archive: Archive, circular_data):
    record = archive.issue("circular", circular_data)
    assert archive.verify().ok
    sha = record.files[0].sha256
    path = archive.settings.root / "blobs" / sha[:2] / sha[2:4] / sha
    path.chmod(0o600)  # writable by its owner only: the corruption, not a permission problem
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    report = archive.verify()
    assert not report.ok
    (problem,) = report.problems
    assert problem.code == "blob-corrupt"
    assert problem.record_id == record.id and problem.sha256 == sha
    assert record.id in problem.message and sha in problem.message


def test_verify_names_a_missing_blob(archive: Archive, circular_data):
    record = archive.issue("circular", circular_data)
    sha = record.files[0].sha256
    (archive.settings.root / "blobs" / sha[:2] / sha[2:4] / sha).unlink()
    (problem,) = archive.verify().problems
    assert problem.code == "blob-missing" and problem.sha256 == sha


def _db(archive: Archive) -> sqlite3.Connection:
    return sqlite3.connect(archive.settings.root / "catalog.sqlite", isolation_level=None)


def test_verify_names_an_altered_audit_event(archive: Archive, circular_data):
    archive.issue("circular", circular_data, actor="clerk")
    archive.issue("circular", circular_data, actor="clerk")
    with _db(archive) as db:
        db.execute("UPDATE audit SET actor='someone-else' WHERE seq=1")
    (problem,) = archive.verify().problems
    assert problem.code == "audit-altered" and problem.event == 1
    assert "audit event 1" in problem.message


def test_verify_names_a_deleted_audit_event_and_an_altered_record(archive: Archive, circular_data):
    first = archive.issue("circular", circular_data)
    archive.issue("circular", circular_data)
    archive.issue("circular", circular_data)
    with _db(archive) as db:
        db.execute("DELETE FROM audit WHERE seq=3")  # the second issue's reservation
        doc = json.loads(
            db.execute("SELECT doc FROM records WHERE id=?", (first.id,)).fetchone()[0]
        )
        doc["subject"] = "موضوع مزور"
        db.execute("UPDATE records SET doc=? WHERE id=?", (json.dumps(doc), first.id))
    codes = {p.code: p for p in archive.verify().problems}
    assert codes["audit-gap"].event == 3
    assert codes["audit-chain"].event == 4
    assert codes["record-altered"].record_id == first.id


def test_actor_is_in_the_audit_trail(archive: Archive, circular_data):
    record = archive.issue("circular", circular_data, actor="hr-system")
    archive.void(record.number or "", "صدر بالخطأ", actor="director")
    events = list(archive.catalog.audit_events())
    assert [(e.action, e.actor) for e in events] == [
        ("reserve", "hr-system"),
        ("create", "hr-system"),
        ("void", "director"),
    ]


def test_void_keeps_the_number_and_never_reuses_it(archive: Archive, circular_data):
    first = archive.issue("circular", circular_data)
    entry = archive.void(first.number or "", "صدر بالخطأ")
    assert entry.status == "void" and entry.reason == "صدر بالخطأ"
    second = archive.issue("circular", circular_data)
    assert second.number and second.number.split("/")[2] == "2"
    assert [(e.number, e.status) for e in archive.register("circular")] == [
        (first.number, "void"),
        (second.number, "issued"),
    ]
    with pytest.raises(NumberingError, match="already void"):
        archive.void(first.number or "", "again")
    with pytest.raises(NotFoundError):
        archive.void("no/such/number", "x")
    with pytest.raises(NumberingError, match="reason"):
        archive.void(second.number or "", "  ")
    assert archive.verify().ok


def test_unknown_kind_writes_nothing(archive: Archive, circular_data):
    with pytest.raises(TemplateError, match="unknown kind 'memo'"):
        archive.issue("memo", circular_data)
    assert archive.catalog.last_change() == 0
    assert list(archive.storage.keys()) == []


def test_missing_field_names_it_and_consumes_no_number(archive: Archive, circular_data):
    data = {k: v for k, v in circular_data.items() if k != "signatory"}
    with pytest.raises(MissingFieldError, match="'signatory'.*lacks") as info:
        archive.issue("circular", data)
    assert info.value.template == "circular.docx"
    assert archive.catalog.last_change() == 0
    assert archive.issue("circular", circular_data).number.split("/")[2] == "1"  # type: ignore[union-attr]


def test_markup_in_data_cannot_break_the_document(archive: Archive, circular_data):
    data = dict(circular_data, subject='<w:p>"</w:t> & <script> ]]>')
    record = archive.issue("circular", data)
    assert '<w:p>"</w:t> & <script> ]]>' in record.text


def test_open_refuses_a_folder_that_is_not_an_archive(tmp_path: Path):
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "holiday.jpg").write_bytes(b"\xff\xd8\xff")
    with pytest.raises(ConfigurationError, match="not an archive"):
        Archive.open(tmp_path / "photos")
    with pytest.raises(ConfigurationError, match="already holds an archive"):
        Archive.open(tmp_path / "new").close()
        Archive.init(tmp_path / "new")


def test_a_password_never_reaches_the_settings_file(tmp_path: Path):
    url = "postgresql://archivist:s3cret@127.0.0.1:1/archive"
    with pytest.raises(ConfigurationError, match="archivist:\\*\\*\\*@") as info:
        Archive.init(tmp_path / "a", catalog=url)
    assert "s3cret" not in str(info.value)
    assert not (tmp_path / "a").exists()


def test_a_failed_init_leaves_nothing_behind(tmp_path: Path):
    with pytest.raises(ConfigurationError, match="no catalog backend for nosuch://"):
        Archive.init(tmp_path / "a", catalog="nosuch://x")
    assert not (tmp_path / "a").exists()
    Archive.init(tmp_path / "a").close()  # and the folder can be used afterwards
