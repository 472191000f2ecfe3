"""The long-running converter: LibreOffice started once and fed documents over UNO,
restarted when it dies or hangs, and never left behind — checked on real processes."""

from __future__ import annotations

import io
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from docx import Document
from tplhelpers import example, pdf_text, render_kind

from docarchive import Archive, ConfigurationError, TemplateError
from docarchive.config import Settings
from docarchive.templates import ConverterPool, ResidentConverter, shared_converter

ROOT = Path(__file__).resolve().parents[2]


def processes_using(marker: str | Path) -> list[int]:
    """The live processes whose command line holds ``marker`` (zombies have none)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if str(marker).encode() in cmdline:
                found.append(int(entry.name))
    return found


def wait_until_gone(marker: str | Path, seconds: float = 15.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while (left := processes_using(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def _write(tmp_path: Path, pdf: bytes, name: str = "out.pdf") -> Path:
    path = tmp_path / name
    path.write_bytes(pdf)
    return path


def test_one_libreoffice_converts_document_after_document(tmp_path: Path):
    circular, letter = render_kind("circular"), render_kind("letter_en")
    with ResidentConverter() as converter:
        first = converter.convert_one(circular, "circular.docx")
        pid, profile, sockets = converter.soffice_pid, converter.profile, converter._sockets
        assert pid is not None and profile is not None
        assert sockets and all(Path(p).is_socket() for p in sockets)  # its local pipes
        assert processes_using(profile)  # LibreOffice runs with its own profile
        second = converter.convert_one(letter, "letter.docx")
        third = converter.convert_one(circular, "circular.docx")
        assert converter.soffice_pid == pid and converter.starts == 1  # not restarted
    assert example("circular")["subject"] in pdf_text(_write(tmp_path, first))
    assert example("letter_en")["subject"] in pdf_text(_write(tmp_path, second, "letter.pdf"))
    assert pdf_text(_write(tmp_path, third)) == pdf_text(_write(tmp_path, first, "again.pdf"))
    assert wait_until_gone(profile) == []
    assert not profile.exists()
    assert [p for p in sockets if Path(p).exists()] == []  # no pipe left in /tmp


def long_document(paragraphs: int = 3000) -> bytes:
    """A .docx of some hundred pages: LibreOffice takes seconds over it."""
    doc = Document()
    for i in range(paragraphs):
        doc.add_paragraph(
            f"الفقرة {i}: تعلن الوزارة عن تنظيم الدوام الرسمي في دوائرها كافة "
            "اعتباراً من بداية الشهر المقبل. " * 3
        )
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def test_a_libreoffice_that_died_between_documents_costs_no_document():
    docx = render_kind("circular")
    with ResidentConverter() as converter:
        converter.convert_one(docx, "circular.docx")
        old = converter.soffice_pid
        assert old is not None
        os.kill(old, signal.SIGKILL)
        while old in processes_using(str(converter.profile)):
            time.sleep(0.02)
        pdf = converter.convert_one(docx, "circular 2.docx")  # a fresh one takes it
        assert pdf.startswith(b"%PDF")
        assert converter.soffice_pid not in (None, old) and converter.starts == 2


def test_a_libreoffice_that_dies_in_the_middle_of_a_document_names_it_and_is_restarted():
    docx = render_kind("circular")
    with ResidentConverter() as converter:
        converter.convert_one(docx, "circular.docx")
        old = converter.soffice_pid
        assert old is not None
        long = long_document()

        def kill_when_at_work() -> None:
            while converter.current != "the long report.docx":
                time.sleep(0.005)
            time.sleep(0.3)  # in the middle of it: it takes some seconds
            os.kill(old, signal.SIGKILL)

        killer = threading.Thread(target=kill_when_at_work)
        killer.start()
        try:
            with pytest.raises(
                TemplateError,
                match=r"LibreOffice stopped while converting the long report.docx; "
                r"it is restarted for the next document",
            ):
                converter.convert_one(long, "the long report.docx")
        finally:
            killer.join()
        assert converter.convert_one(docx, "circular 3.docx").startswith(b"%PDF")
        assert converter.soffice_pid not in (None, old) and converter.starts == 2


def test_a_hung_libreoffice_is_killed_whole_and_the_next_document_gets_a_fresh_one():
    docx = render_kind("circular")
    with ResidentConverter() as converter:
        converter.convert_one(docx, "circular.docx")
        profile, pid = converter.profile, converter.soffice_pid
        assert profile is not None and pid is not None
        sockets = list(converter._sockets)
        assert sockets and all(Path(p).exists() for p in sockets)
        os.kill(pid, signal.SIGSTOP)  # a LibreOffice that no longer answers
        with pytest.raises(
            TemplateError,
            match=r"LibreOffice did not convert circular 2.docx within 2 s; "
            r"it was stopped and is restarted for the next document",
        ):
            converter.convert_one(docx, "circular 2.docx", timeout=2)
        assert wait_until_gone(profile) == []
        assert not profile.exists()
        assert [p for p in sockets if Path(p).exists()] == []
        assert converter.convert_one(docx, "circular 3.docx").startswith(b"%PDF")
        assert converter.starts == 2


def test_the_bridge_killed_takes_libreoffice_with_it():
    docx = render_kind("circular")
    with ResidentConverter() as converter:
        converter.convert_one(docx, "circular.docx")
        profile, bridge, office = converter.profile, converter.pid, converter.soffice_pid
        assert bridge is not None and office is not None and profile is not None
        os.kill(bridge, signal.SIGKILL)  # the bridge alone, not its group
        deadline = time.monotonic() + 15
        while office in processes_using(profile) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert office not in processes_using(profile)  # killed by its parent-death signal
        while converter.running() and time.monotonic() < deadline:
            time.sleep(0.05)  # the bridge's last threads exit just after LibreOffice died
        # the next document starts a fresh instance
        assert converter.convert_one(docx, "circular 2.docx").startswith(b"%PDF")
        assert converter.starts == 2


HOLDER = """
import sys, time
from docarchive.templates import shared_converter
docx = open(sys.argv[1], "rb").read()
pool = shared_converter()
pool.convert([docx], ["circular.docx"])
(engine,) = pool.resident
print(engine.profile, engine.pid, engine.soffice_pid, *engine._sockets, flush=True)
if sys.argv[2] == "exit":
    sys.exit(0)       # no close(): atexit stops it
time.sleep(600)       # killed by the test
"""


@pytest.mark.parametrize("how", ["exit", "sigkill"])
def test_no_libreoffice_outlives_its_process(tmp_path: Path, how: str):
    docx = tmp_path / "circular.docx"
    docx.write_bytes(render_kind("circular"))
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(docx), how],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    ) as proc:
        assert proc.stdout is not None
        profile, _bridge, office, *sockets = proc.stdout.readline().split()
        assert sockets
        if how == "sigkill":
            assert all(Path(p).exists() for p in sockets)
            assert int(office) in processes_using(profile)  # LibreOffice at work
            proc.kill()  # SIGKILL: no atexit, no finally
        assert proc.wait(timeout=60) == (0 if how == "exit" else -signal.SIGKILL)
    assert wait_until_gone(profile) == []  # neither the bridge nor LibreOffice remains
    assert not Path(profile).exists()
    assert [p for p in sockets if Path(p).exists()] == []  # nor its pipes in /tmp


def test_a_pool_converts_on_every_instance_at_once(tmp_path: Path):
    docs = [render_kind("circular"), render_kind("decision")] * 3
    with ConverterPool(2) as pool:
        pdfs = pool.convert(docs, [f"doc {i}.docx" for i in range(len(docs))])
        offices = {engine.soffice_pid for engine in pool.resident}
        profiles = {engine.profile for engine in pool.resident}
    assert len(offices) == 2 and None not in offices and len(profiles) == 2
    for i, pdf in enumerate(pdfs):  # in order
        kind = ("circular", "decision")[i % 2]
        assert example(kind)["subject"] in pdf_text(_write(tmp_path, pdf, f"{i}.pdf"))


def test_without_uno_it_falls_back_to_a_fresh_soffice_run_with_the_reason_logged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    # this test's own Python has no uno module: the bridge cannot start under it
    monkeypatch.setenv("DOCARCHIVE_UNO_PYTHON", sys.executable)
    with ConverterPool(1) as pool, caplog.at_level(logging.WARNING):
        (pdf,) = pool.convert([render_kind("circular")], ["circular.docx"])
        assert pool.fallback_reason is not None and "has no uno module" in pool.fallback_reason
        assert pool.resident == []
    assert "the long-running LibreOffice converter cannot start" in caplog.text
    assert "has no uno module" in caplog.text
    assert example("circular")["subject"] in pdf_text(_write(tmp_path, pdf))


def test_a_bad_document_is_named_and_the_converter_goes_on(tmp_path: Path):
    import io
    import zipfile

    broken = io.BytesIO()
    with zipfile.ZipFile(broken, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<<< not xml")
    with ConverterPool(1) as pool:
        with pytest.raises(TemplateError, match=r"could not convert broken.docx to PDF"):
            pool.convert([broken.getvalue()], ["broken.docx"])
        (engine,) = pool.resident
        pid = engine.soffice_pid
        assert pool.convert([render_kind("circular")])[0].startswith(b"%PDF")
        assert engine.soffice_pid == pid


@pytest.mark.official_pdf
def test_issue_and_render_share_the_process_converter(tmp_path: Path):
    with Archive.open(tmp_path / "a") as archive:
        archive.render("decision", example("decision"), format="pdf")
        pool = shared_converter()
        running = {e.soffice_pid for e in pool.resident if e.running()}
        starts = sum(e.starts for e in pool.resident)
        assert running - {None}
        record = archive.issue("circular", example("circular"), actor="test")
        assert [f.role for f in record.files] == ["original", "rendition"]
        # the same LibreOffice converted both: none was started for the issue
        assert {e.soffice_pid for e in pool.resident if e.running()} == running
        assert sum(e.starts for e in pool.resident) == starts


def test_pdf_settings(tmp_path: Path):
    (tmp_path / "docarchive.toml").write_text(
        '[pdf]\nmode = "batch"\nconverters = 3\ntimeout_seconds = 20\n', encoding="utf-8"
    )
    pdf = Settings.load(tmp_path, environ={}).pdf
    assert (pdf.mode, pdf.converters, pdf.timeout_s) == ("batch", 3, 20.0)
    auto = Settings.load(tmp_path, environ={"DOCARCHIVE_PDF_CONVERTERS": "auto"}).pdf
    assert auto.converters == os.cpu_count()
    assert Settings.load(tmp_path / "new", environ={}).pdf.mode == "resident"
    for bad, message in (
        ('mode = "fast"', "mode must be 'resident' or 'batch'"),
        ("converters = 0", "converters must be 1..64"),
        ("timeout_seconds = -1", "timeout_seconds must be a positive number"),
        ("speed = 2", "unknown setting 'speed' in \\[pdf\\]"),
    ):
        (tmp_path / "docarchive.toml").write_text(f"[pdf]\n{bad}\n", encoding="utf-8")
        with pytest.raises(ConfigurationError, match=message):
            Settings.load(tmp_path, environ={})


FORKER = """
import os, sys, time
from docarchive.templates import shared_converter
docx = open(sys.argv[1], "rb").read()
pool = shared_converter()
pool.convert([docx], ["circular.docx"])
(engine,) = pool.resident
child = os.fork()
if child == 0:  # the child: a pool of its own, and no hold on the parent's LibreOffice
    fresh = shared_converter()
    ok = fresh is not pool and fresh.resident[0].soffice_pid is None
    open(sys.argv[2], "w").write(str(ok))
    time.sleep(600)
    os._exit(0)
print(engine.profile, child, flush=True)
time.sleep(600)
"""


def test_a_forked_child_does_not_keep_the_parents_libreoffice_alive(tmp_path: Path):
    docx = tmp_path / "circular.docx"
    docx.write_bytes(render_kind("circular"))
    said = tmp_path / "child.txt"
    with subprocess.Popen(
        [sys.executable, "-c", FORKER, str(docx), str(said)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    ) as proc:
        assert proc.stdout is not None
        profile, pid = proc.stdout.readline().split()
        child = int(pid)
        try:
            deadline = time.monotonic() + 60
            while not said.exists() or not said.read_text():
                assert time.monotonic() < deadline, "the child never answered"
                time.sleep(0.05)
            assert said.read_text() == "True"  # a fresh pool of its own
            assert processes_using(profile)
            proc.kill()  # the parent dies; its child lives on, holding copies of its fds
            proc.wait(timeout=30)
            assert wait_until_gone(profile) == []
        finally:
            os.kill(child, signal.SIGKILL)
            proc.kill()


def test_batch_mode_converts_with_a_fresh_soffice_per_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("DOCARCHIVE_PDF_MODE", "batch")
    try:
        with Archive.open(tmp_path / "a") as archive:
            assert archive.settings.pdf.mode == "batch"
            pdf = archive.render("decision", example("decision"), format="pdf")
            pool = shared_converter()
            assert pool.mode == "batch" and pool.resident == []  # no LibreOffice kept
        assert example("decision")["subject"] in pdf_text(_write(tmp_path, pdf))
    finally:
        shared_converter(mode="resident")  # the process's converter as the other tests know it
