"""Reading scans: types from content, text layers, and refusals that name the reason."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from docarchive import IngestError, Limits
from docarchive.ingest import read_scan, sniff


def test_text_layer_is_extracted(make_pdf):
    pdf = make_pdf("report.pdf", ["No. 2291/MO Date: 2026-10-05", "Expenditure reached 61 percent"])
    scan = read_scan(pdf, Limits())
    assert scan.media_type == "application/pdf" and scan.pages == 1 and scan.has_text_layer
    assert "2291/MO" in scan.text and "2026-10-05" in scan.text
    assert "Expenditure reached 61 percent" in scan.text


def test_a_pdf_without_text_is_archived_without_text(tmp_path: Path):
    from reportlab.pdfgen import canvas

    path = tmp_path / "blank.pdf"
    pdf = canvas.Canvas(str(path))
    pdf.rect(100, 100, 200, 200, fill=1)
    pdf.save()
    scan = read_scan(path, Limits())
    assert scan.pages == 1 and not scan.has_text_layer and scan.text.strip() == ""


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.pdf", b"", "empty file (0 bytes)"),
        ("gif.pdf", b"GIF89a this is not a pdf", "not a PDF: its content is GIF image"),
        ("page.pdf", b"<html><body>hello</body></html>", "not a PDF: its content is unrecognised"),
        (
            "truncated.pdf",
            b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendo",
            "broken PDF",
        ),
        ("notes.txt", b"just some text", "unsupported file type"),
        ("scan.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "PNG image: image scans are not supported"),
    ],
)
def test_bad_inputs_are_refused_with_the_reason(
    tmp_path: Path, name: str, content: bytes, reason: str
):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(IngestError, match=re.escape(reason)) as info:
        read_scan(path, Limits())
    assert info.value.file == str(path)
    assert str(info.value).startswith(f"{path}: ")
    assert "\n" not in str(info.value)


def test_missing_file_and_folder(tmp_path: Path):
    with pytest.raises(IngestError, match="no such file"):
        read_scan(tmp_path / "nothing.pdf", Limits())
    with pytest.raises(IngestError, match="not a regular file|folder"):
        read_scan(tmp_path, Limits())


def test_limits_refuse_huge_inputs(make_pdf, tmp_path: Path):
    from reportlab.pdfgen import canvas

    many = tmp_path / "many.pdf"
    pdf = canvas.Canvas(str(many))
    for page in range(30):
        pdf.drawString(72, 720, f"page {page + 1}")
        pdf.showPage()
    pdf.save()
    with pytest.raises(IngestError, match="pdf_pages is 30, over the limit of 20"):
        read_scan(many, Limits(pdf_pages=20))
    small = make_pdf("small.pdf", ["hello"])
    with pytest.raises(
        IngestError, match="input_bytes is .* over the limit of 100 .*DOCARCHIVE_LIMIT_INPUT_BYTES"
    ):
        read_scan(small, Limits(input_bytes=100))


def test_text_beyond_the_index_limit_is_not_read(tmp_path: Path):
    from reportlab.pdfgen import canvas

    path = tmp_path / "long.pdf"
    pdf = canvas.Canvas(str(path))
    for page in range(10):
        pdf.drawString(72, 720, f"page {page + 1} " + "word " * 20)
        pdf.showPage()
    pdf.save()
    scan = read_scan(path, Limits(indexed_text_chars=200))
    assert scan.pages == 10 and "page 1 " in scan.text and "page 10" not in scan.text


@given(st.binary(max_size=2048))
def test_sniff_never_fails(head: bytes):
    media_type, label = sniff(head)
    assert media_type and label


@given(st.binary(min_size=1, max_size=4096))
def test_arbitrary_bytes_are_read_or_refused_cleanly(tmp_path_factory, data: bytes):
    path = tmp_path_factory.mktemp("fuzz") / "input.pdf"
    path.write_bytes(b"%PDF-1.7\n" + data)
    try:
        read_scan(path, Limits())
    except IngestError as exc:
        assert exc.file == str(path) and exc.reason
