"""The whole issuing pipeline: number → DOCX → official PDF → stamp → store → index."""

from __future__ import annotations

import json
import subprocess
import unicodedata
from pathlib import Path

import pypdfium2 as pdfium
import pytest
import zxingcpp
from clirun import run_cli

from docarchive import Archive, TemplateError

pytestmark = pytest.mark.official_pdf


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "out.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    for mark in "\u202a\u202b\u202c\u202d\u202e":
        text = text.replace(mark, "")
    return unicodedata.normalize("NFKC", text)


def squeezed(text: str) -> str:
    """Without slashes and spaces: extraction may move the weak '/' of a mixed-direction
    number (م.و/ت/1/2026 comes out as م.و/ت1/2026/), not its letters and digits."""
    return "".join(c for c in text if c not in "/ \n")


def test_issue_makes_a_stamped_official_pdf(tmp_path: Path, circular_data):
    with Archive.open(tmp_path / "a") as archive:
        record = archive.issue("circular", circular_data, actor="director")
        roles = {f.role: f for f in record.files}
        assert set(roles) == {"original", "rendition"}
        assert roles["rendition"].media_type == "application/pdf"
        pdf = archive.blob(roles["rendition"].sha256)
        text = pdf_text(pdf, tmp_path)
        assert circular_data["subject"] in text
        # the number, in the letter's number block and on the stamp, in logical order
        assert squeezed(text).count(squeezed(record.number or "")) == 2
        assert "صادر" in text and "الموافق" in text
        # the stamp's QR, read back from the rendered page
        page = pdfium.PdfDocument(pdf)[0].render(scale=3).to_pil()
        code = record.meta["verification_code"]
        assert [r.text for r in zxingcpp.read_barcodes(page)] == [f"{record.number}|{code}"]
        # the code is genuine; a changed one is not
        check = archive.check_code(code)
        assert check.genuine and check.record is not None and check.record.id == record.id
        forged = code[:-1] + ("A" if code[-1] != "A" else "B")
        assert not archive.check_code(forged).genuine
        assert not archive.check_code("nonsense").genuine
        archive.void(record.number or "", "أُلغي الكتاب")
        voided = archive.check_code(code)
        assert voided.genuine and voided.voided and "voided" in voided.reason
        assert archive.verify().ok


def test_check_from_the_command_line(tmp_path: Path, example_data: Path):
    root = tmp_path / "a"
    issued = json.loads(
        run_cli(
            "issue",
            "circular",
            str(example_data / "circular.json"),
            "--json",
            root=root,
            check=True,
        ).stdout
    )
    record = json.loads(run_cli("show", issued["id"], "--json", root=root, check=True).stdout)
    code = record["meta"]["verification_code"]
    ok = run_cli("check", code, root=root)
    assert ok.returncode == 0 and ok.stdout.startswith("GENUINE: genuine")
    bad = run_cli("check", code[:-2] + "ZZ", root=root)
    assert bad.returncode == 1 and "NOT GENUINE" in bad.stdout and "Traceback" not in bad.stderr


def test_a_failure_after_the_number_voids_it_with_the_reason(
    tmp_path: Path, circular_data, monkeypatch: pytest.MonkeyPatch
):
    # the template passes the limits, the rendered letter (3,000 paragraphs) does not:
    # it fails at the PDF conversion, after its number was taken
    monkeypatch.setenv("DOCARCHIVE_LIMIT_DOCX_TOTAL_BYTES", str(1_500_000))
    huge = dict(circular_data, body=["فقرة طويلة من نص الكتاب الرسمي للاختبار " * 5] * 3000)
    with Archive.open(tmp_path / "a") as archive:
        with pytest.raises(TemplateError, match="docx_total_bytes"):
            archive.issue("circular", huge)
        (entry,) = archive.register("circular")
        assert entry.status == "void"
        assert entry.reason.startswith("issue failed: TemplateError")
        assert "docx_total_bytes" in entry.reason
        assert list(archive.catalog.records()) == []
        assert archive.verify().ok
        # the next document gets the next number: the failed one is never reused
        monkeypatch.delenv("DOCARCHIVE_LIMIT_DOCX_TOTAL_BYTES")
    with Archive.open(tmp_path / "a") as archive:
        assert archive.issue("circular", circular_data).number.split("/")[2] == "2"  # type: ignore[union-attr]


def test_reservations_of_dead_processes_are_voided_on_open(tmp_path: Path, circular_data):
    root = tmp_path / "a"
    with Archive.open(root) as archive, archive.catalog.transaction("a-process-that-died") as tx:
        seq = tx.next_number("circular", "م.و", "2026")
        tx.reserve_number("circular", "م.و", "2026", seq, "م.و/ت/1/2026", "dead-record")
    with Archive.open(root) as archive:  # younger than the timeout: left alone
        assert [e.status for e in archive.register("circular")] == ["reserved"]
    settings = (root / "docarchive.toml").read_text("utf-8")
    (root / "docarchive.toml").write_text(
        settings + "\n[issue]\nreservation_timeout_seconds = 0\n", "utf-8"
    )
    with Archive.open(root) as archive:
        (entry,) = archive.register("circular")
        assert entry.status == "void" and entry.reason.startswith("interrupted:")
        assert "a-process-that-died" in entry.reason
        assert archive.verify().ok
