"""The parser worker (docarchive.ingest.worker): a segfault, a hang or a memory blow-up in
a native parser costs one file — quarantined with the reason — and at most its time
limit; the worker is reused across files and replaced after a failure.

Crashes and hangs are real: the worker process is killed by SIGSEGV (os.kill, or a read
of address 0 through ctypes) or sleeps, from a hook it calls before each task
(tests/ingest/crash_hook.py, named by DOCARCHIVE_PARSER_HOOK)."""

from __future__ import annotations

import shutil
import time
from dataclasses import replace
from pathlib import Path

import hostile
import pytest

from docarchive import Archive, IngestError, Limits
from docarchive.ingest.worker import Parsers

HOOK = Path(__file__).with_name("crash_hook.py")
SCANS = Path(__file__).resolve().parents[2] / "examples" / "data" / "scans"


@pytest.fixture(autouse=True)
def _hooked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("DOCARCHIVE_TESSERACT", "/nonexistent/tesseract")
    monkeypatch.setenv("DOCARCHIVE_PARSER_HOOK", f"{HOOK}:hook")
    log = tmp_path / "hook.log"
    monkeypatch.setenv("DOCARCHIVE_TEST_HOOK_LOG", str(log))
    return log


def _calls(log: Path) -> list[tuple[str, str, int]]:
    lines = log.read_text("utf-8").split("\n") if log.exists() else []
    return [(t, n, int(p)) for t, n, p in (line.split() for line in lines if line)]


def _batch(folder: Path, names: list[str]) -> list[str]:
    folder.mkdir()
    for name in names:  # the example circular, one distinct byte per copy
        data = (SCANS / "letter_circular.png").read_bytes() + name.encode()
        (folder / name).write_bytes(data)
    return [str(folder / n) for n in names]


def test_a_segfault_and_a_hang_cost_one_file_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _hooked: Path
):
    monkeypatch.setenv("DOCARCHIVE_LIMIT_PARSE_SECONDS", "3")
    names = ["01.png", "02-segfault.png", "03.png", "04-nullptr.png", "05-hang.png", "06.png"]
    labels = _batch(tmp_path / "in", names)
    with Archive.open(tmp_path / "archive") as archive:
        start = time.monotonic()
        result = archive.ingest_scans([tmp_path / "in"])
        took = time.monotonic() - start
        reasons = {Path(q["file"]).name: q["reason"] for q in result.quarantined}
        assert reasons["02-segfault.png"] == "the parser crashed (signal 11, SIGSEGV)"
        assert reasons["04-nullptr.png"] == "the parser crashed (signal 11, SIGSEGV)"
        assert reasons["05-hang.png"].startswith("the parser took longer than 3 s (raise it")
        assert sorted(r.files[0].name for r in result.ingested) == ["01.png", "03.png", "06.png"]
        assert all(r.meta["stamped"] for r in result.ingested)
        hostile.assert_batch_accounted(archive, result, labels)
        assert [e.number for e in archive.register("incoming")] == [
            r.number for r in result.ingested
        ]
    assert took < 3 + 25  # the hang cost its 3 s, not an hour
    scans = [(name, pid) for task, name, pid in _calls(_hooked) if task == "scan"]
    pids = dict(scans)
    # reused across files; replaced after each crash and after the hang
    assert pids["01.png"] == pids["02-segfault.png"]
    assert pids["03.png"] != pids["02-segfault.png"]
    assert pids["04-nullptr.png"] == pids["03.png"]
    assert len({pids["04-nullptr.png"], pids["05-hang.png"], pids["06.png"]}) == 3
    kept = sorted((tmp_path / "archive" / "quarantine").iterdir())
    assert len(kept) == 3  # each with the bytes read and the reason
    assert all((k / "input").exists() for k in kept)


def test_a_parser_that_runs_out_of_memory_costs_one_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    labels = _batch(tmp_path / "in", ["01-oom.png", "02.png"])
    with Archive.open(tmp_path / "archive") as archive:
        result = archive.ingest_scans([tmp_path / "in"])
        [refused] = result.quarantined
        assert refused["file"] == labels[0]
        assert refused["reason"].startswith("the parser ran out of memory (over 4096 MiB")
        assert [r.files[0].name for r in result.ingested] == ["02.png"]
        hostile.assert_batch_accounted(archive, result, labels)


def test_a_real_decoder_hits_the_memory_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Pillow allocating a 150-megapixel RGB image (450 MB) in a 300 MiB worker."""
    monkeypatch.setenv("DOCARCHIVE_LIMIT_PARSE_MEMORY_MB", "300")
    path = tmp_path / "big.png"
    path.write_bytes(hostile.png_declaring(12_500, 12_000, color=2))
    small = tmp_path / "small.png"
    small.write_bytes((SCANS / "letter_circular.png").read_bytes())
    with Archive.open(tmp_path / "archive") as archive:
        result = archive.ingest_scans([path, small])
        assert [q["reason"] for q in result.quarantined] == [
            "the parser ran out of memory (over 300 MiB; raise it with "
            "DOCARCHIVE_LIMIT_PARSE_MEMORY_MB or [limits] parse_memory_mb)"
        ]
        assert len(result.ingested) == 1
        hostile.assert_batch_accounted(archive, result, [str(path), str(small)])


def test_a_stamp_that_hangs_leaves_the_scan_archived_unstamped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("DOCARCHIVE_LIMIT_PARSE_SECONDS", "2")
    monkeypatch.setenv("DOCARCHIVE_TEST_HOOK_TASK", "stamp")
    labels = _batch(tmp_path / "in", ["01-hang.png", "02-segfault.png", "03.png"])
    with Archive.open(tmp_path / "archive") as archive:
        result = archive.ingest_scans([tmp_path / "in"])
        assert result.quarantined == []
        meta = {r.files[0].name: r.meta for r in result.ingested}
        assert meta["01-hang.png"]["stamp_error"].startswith("the parser took longer than 2 s")
        assert meta["02-segfault.png"]["stamp_error"] == "the parser crashed (signal 11, SIGSEGV)"
        assert meta["03.png"]["stamped"] is True and "stamp_error" not in meta["03.png"]
        hostile.assert_batch_accounted(archive, result, labels)


def test_a_mail_attachment_that_crashes_its_parser_is_kept_with_the_reason(tmp_path: Path, kit):
    png = (SCANS / "letter_circular.png").read_bytes()
    data = kit.mail(
        subject="إحالة كتاب وزارة المالية",
        attachments=[
            (png, "image/png", "segfault.png"),
            (kit.pdf(["Ministry of Finance"]), "application/pdf", "كتاب.pdf"),
        ],
    )
    with Archive.open(tmp_path / "archive") as archive:
        record = archive.ingest_mail(data)
        attachments = {a.subject: a for a in map(archive.get, record.meta["attachments"])}
        crashed = attachments["segfault.png"]
        assert crashed.meta["text_error"] == "the parser crashed (signal 11, SIGSEGV)"
        assert archive.get(record.id).files[1].size == len(png)  # the bytes are kept
        assert "Ministry of Finance" in attachments["كتاب.pdf"].text  # the next one is read
        assert archive.verify().ok


def test_the_worker_and_in_process_read_the_same(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("DOCARCHIVE_PARSER_HOOK")
    limits = Limits()
    isolated, local = Parsers(30, 4096), Parsers(30, 4096, isolated=False)
    try:
        for name in ("letter_circular.png", "letter_assignment.tiff", "monthly_report.pdf"):
            data = (SCANS / name).read_bytes()
            there, here = isolated.scan(name, data, limits), local.scan(name, data, limits)
            # a rendition carries the time it was made (img2pdf's CreationDate): not compared
            assert replace(there, rendition=None) == replace(here, rendition=None)
            assert (there.rendition is None) == (here.rendition is None)
        with pytest.raises(IngestError, match=r"^c\.pdf: broken PDF: page 1: Failed to load"):
            isolated.scan("c.pdf", hostile.circular_page_tree(), limits)
    finally:
        isolated.close()


def test_a_worker_that_cannot_start_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch):
    from docarchive.errors import ConfigurationError

    parsers = Parsers(30, 20)  # 20 MiB: not even Python starts
    with pytest.raises(ConfigurationError, match="parser worker did not start"):
        parsers.scan("a.png", (SCANS / "letter_circular.png").read_bytes(), Limits())


def test_a_copy_of_the_hook_elsewhere_still_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The hook is loaded from its file, not from the worker's import path."""
    copy = tmp_path / "elsewhere" / "hook.py"
    copy.parent.mkdir()
    shutil.copy(HOOK, copy)
    monkeypatch.setenv("DOCARCHIVE_PARSER_HOOK", f"{copy}:hook")
    parsers = Parsers(30, 4096)
    try:
        with pytest.raises(IngestError, match=r"segfault\.png: the parser crashed \(signal 11"):
            parsers.scan("segfault.png", (SCANS / "letter_circular.png").read_bytes(), Limits())
    finally:
        parsers.close()
