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
        ("scan.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "broken PNG image: its content cannot be"),
        ("scan.gif", b"GIF89a" + b"\0" * 40, "unsupported file type (GIF image)"),
        ("tiny.tiff", b"II*\x00\x00\x00\x00\x00", "broken TIFF image"),
        ("noifd.tif", b"MM\x00*\x00\x00\x00\x08\x00\x00", "TIFF image"),
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


# -- image scans ----------------------------------------------------------------------------
# OCR is switched off here (a tesseract that does not exist): these tests are about reading
# images; tests/ingest/test_ocr.py runs the real OCR.


@pytest.fixture
def no_ocr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCARCHIVE_TESSERACT", "/nonexistent/tesseract")


def _image(path: Path, size: tuple[int, int] = (400, 300), frames: int = 1, **save: object) -> Path:
    from PIL import Image, ImageDraw

    pages = []
    for number in range(frames):
        page = Image.new("L", size, 255)
        ImageDraw.Draw(page).rectangle((20, 20 + number * 10, 200, 60 + number * 10), fill=0)
        pages.append(page)
    if save.get("compression") == "group4":
        pages = [p.convert("1") for p in pages]
    if frames > 1:
        save = {"save_all": True, "append_images": pages[1:], **save}
    pages[0].save(path, dpi=(200, 200), **save)  # type: ignore[arg-type]
    return path


def _pdf_pages(data: bytes) -> list[tuple[float, float]]:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    try:
        return [tuple(round(v) for v in pdf[i].get_size()) for i in range(len(pdf))]  # type: ignore[misc]
    finally:
        pdf.close()


@pytest.mark.parametrize(
    ("name", "save", "media_type"),
    [
        ("scan.png", {}, "image/png"),
        ("scan.jpg", {"quality": 70}, "image/jpeg"),
        ("scan.tiff", {"compression": "tiff_lzw"}, "image/tiff"),
    ],
)
def test_image_scans_are_kept_with_a_pdf_rendition(
    tmp_path: Path, no_ocr: None, name: str, save: dict[str, object], media_type: str
):
    path = _image(tmp_path / name, **save)
    scan = read_scan(path, Limits())
    assert scan.data == path.read_bytes() and scan.media_type == media_type
    assert scan.pages == 1 and not scan.has_text_layer
    assert scan.rendition is not None and scan.rendition.startswith(b"%PDF-")
    # 400 x 300 pixels at 200 dpi: a 144 x 108 pt page
    assert _pdf_pages(scan.rendition) == [(144, 108)]
    assert not scan.searchable and "tesseract is not installed" in scan.reason


def test_a_multipage_tiff_gives_a_page_per_frame(tmp_path: Path, no_ocr: None):
    path = _image(tmp_path / "two.tiff", frames=2, compression="group4")
    scan = read_scan(path, Limits())
    assert scan.pages == 2 and scan.rendition is not None
    assert len(_pdf_pages(scan.rendition)) == 2


def test_the_rendition_renders_the_scanned_page(tmp_path: Path, no_ocr: None):
    import pypdfium2 as pdfium

    scan = read_scan(_image(tmp_path / "p.png"), Limits())
    assert scan.rendition is not None
    pdf = pdfium.PdfDocument(scan.rendition)
    image = pdf[0].render(scale=200 / 72).to_pil().convert("L")
    pdf.close()
    assert abs(image.size[0] - 400) <= 1 and abs(image.size[1] - 300) <= 1
    assert image.getpixel((100, 40)) < 60 and image.getpixel((300, 200)) > 200


def test_an_image_with_alpha_still_gets_a_rendition(tmp_path: Path, no_ocr: None):
    from PIL import Image

    path = tmp_path / "alpha.png"
    Image.new("RGBA", (120, 80), (255, 0, 0, 128)).save(path)
    scan = read_scan(path, Limits())
    assert scan.rendition is not None and len(_pdf_pages(scan.rendition)) == 1


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` pixels, with almost no data."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def test_decompression_bombs_are_refused_by_the_pixel_limit(tmp_path: Path):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png_header(100_000, 100_000))
    with pytest.raises(
        IngestError, match=r"scan_pixels is 10000000000, over the limit of 200000000"
    ):
        read_scan(bomb, Limits())
    big = tmp_path / "big.png"
    big.write_bytes(_png_header(2000, 2000))
    with pytest.raises(
        IngestError,
        match=r"scan_pixels is 4000000, over the limit of 1000000 .*DOCARCHIVE_LIMIT_SCAN_PIXELS",
    ):
        read_scan(big, Limits(scan_pixels=1_000_000))


def test_broken_images_are_refused(tmp_path: Path, no_ocr: None):
    good = _image(tmp_path / "good.jpg", size=(600, 400), quality=90)
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(IngestError, match="broken JPEG image: image file is truncated"):
        read_scan(truncated, Limits())
    cut_png = tmp_path / "cut.png"
    cut_png.write_bytes(_png_header(300, 300)[:-12])  # no IEND, and IDAT far too short
    with pytest.raises(IngestError, match="broken PNG image"):
        read_scan(cut_png, Limits())
    named_pdf = tmp_path / "letter.pdf"
    named_pdf.write_bytes(good.read_bytes())
    with pytest.raises(IngestError, match="not a PDF: its content is JPEG image"):
        read_scan(named_pdf, Limits())


def test_a_tiff_with_too_many_pages_is_refused(tmp_path: Path, no_ocr: None):
    path = _image(tmp_path / "many.tiff", size=(40, 30), frames=5)
    with pytest.raises(IngestError, match="pdf_pages is 5, over the limit of 3"):
        read_scan(path, Limits(pdf_pages=3))


def test_an_encrypted_pdf_is_kept_and_flagged(make_pdf, tmp_path: Path):
    from pypdf import PdfReader, PdfWriter

    plain = make_pdf("plain.pdf", ["Confidential budget figures"])
    writer = PdfWriter(clone_from=PdfReader(plain))
    writer.encrypt(user_password="secret", algorithm="AES-256")
    locked = tmp_path / "locked.pdf"
    with locked.open("wb") as out:
        writer.write(out)
    scan = read_scan(locked, Limits())
    assert scan.encrypted and not scan.searchable and scan.text == ""
    assert scan.reason == "the PDF is encrypted with a password"
    assert scan.data == locked.read_bytes()


def test_a_pdf_without_text_is_flagged_when_ocr_cannot_run(tmp_path: Path, no_ocr: None):
    from reportlab.pdfgen import canvas

    path = tmp_path / "blank.pdf"
    pdf = canvas.Canvas(str(path))
    pdf.rect(100, 100, 200, 200, fill=1)
    pdf.save()
    scan = read_scan(path, Limits())
    assert not scan.searchable and scan.rendition is None
    assert scan.reason.startswith("tesseract is not installed ('/nonexistent/tesseract' not found)")


# -- sidecar metadata -----------------------------------------------------------------------


def test_sidecar_metadata_is_read_from_either_name(tmp_path: Path):
    import json
    from datetime import date

    from docarchive.ingest.scans import is_sidecar, read_sidecar

    scan = tmp_path / "a.pdf"
    scan.write_bytes(b"%PDF-1.4")
    assert read_sidecar(scan).sender is None
    (tmp_path / "a.json").write_text(json.dumps({"sender": "وزارة المالية"}), "utf-8")
    assert read_sidecar(scan).sender == "وزارة المالية"
    (tmp_path / "a.pdf.json").write_text(
        json.dumps(
            {"sender": "ديوان الرقابة", "received": "2026-03-15", "department": "قسم العقود"}
        ),
        "utf-8",
    )
    info = read_sidecar(scan)  # scan.pdf.json wins over scan.json
    assert (info.sender, info.received, info.department) == (
        "ديوان الرقابة",
        date(2026, 3, 15),
        "قسم العقود",
    )
    assert is_sidecar(tmp_path / "a.pdf.json") and is_sidecar(tmp_path / "a.json")
    assert not is_sidecar(scan)
    lonely = tmp_path / "data.json"
    lonely.write_text("{}", "utf-8")
    assert not is_sidecar(lonely)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('{"sendr": "x"}', "sidecar a.png.json: unknown field 'sendr' (known: sender, subject"),
        ('["x"]', "sidecar a.png.json must hold a JSON object"),
        ('{"received": "yesterday"}', "received must be a date (YYYY-MM-DD), not 'yesterday'"),
        ('{"subject": 5}', "sidecar a.png.json: subject must be text"),
        ("{not json", "sidecar a.png.json cannot be read"),
    ],
)
def test_bad_sidecars_are_refused_with_the_reason(tmp_path: Path, content: str, reason: str):
    from docarchive.ingest.scans import read_sidecar

    scan = tmp_path / "a.png"
    scan.write_bytes(b"\x89PNG")
    (tmp_path / "a.png.json").write_text(content, "utf-8")
    with pytest.raises(IngestError, match=re.escape(reason)) as info:
        read_sidecar(scan)
    assert info.value.file == str(scan)
