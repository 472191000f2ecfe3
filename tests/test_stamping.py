"""Stamps on real PDFs: rendered, read back (text and QR), on every page shape."""

from __future__ import annotations

import io
import unicodedata

import pypdfium2 as pdfium
import pytest
import zxingcpp
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from reportlab.lib.pagesizes import A4, landscape, letter
from reportlab.pdfgen import canvas

from docarchive import ConfigurationError, DocArchiveError, Limits
from docarchive.stamping import (
    Stamp,
    StampStyle,
    parse_code,
    stamp_pdf,
    verification_code,
    visual,
)

NUMBER = "م.و/ت/12/2026"
CODE = verification_code(b"k" * 32, "5ed7f3aecb5e44fb9117", NUMBER, "a" * 64)
STAMP = Stamp(
    "مكتب الوزير — صادر",
    (f"العدد: {NUMBER}", "التاريخ: 2026/11/22", "الموافق ١٤٤٨/٠٥/٢١ هـ"),
    qr=f"{NUMBER}|{CODE}",
)
BODY = "Quarterly report on the investment budget of the ministry"


def page_pdf(size: tuple[float, float] = A4, pages: int = 1, rotate: int = 0) -> bytes:
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=size)
    for n in range(pages):
        pdf.setFont("Helvetica", 12)
        pdf.drawString(72, size[1] / 2, f"{BODY} page {n + 1}")
        pdf.showPage()
    pdf.save()
    if not rotate:
        return out.getvalue()
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(out.getvalue())))
    for page in writer.pages:
        page.rotate(rotate)
    rotated = io.BytesIO()
    writer.write(rotated)
    return rotated.getvalue()


def render(pdf: bytes, page: int = 0) -> Image.Image:
    return pdfium.PdfDocument(pdf)[page].render(scale=2).to_pil().convert("RGB")


def page_text(pdf: bytes, page: int = 0) -> str:
    text = pdfium.PdfDocument(pdf)[page].get_textpage().get_text_range()
    return unicodedata.normalize("NFKC", text)


def ink_box(image: Image.Image) -> tuple[int, int, int, int] | None:
    """Bounding box of the stamp's blue ink (blue well above red and green)."""
    pixels = image.load()
    w, h = image.size
    xs, ys = [], []
    for y in range(0, h, 2):
        for x in range(0, w, 2):
            pr, pg, pb = pixels[x, y]
            if pb > 90 and pb - pr > 50 and pb - pg > 30:
                xs.append(x)
                ys.append(y)
    return (min(xs), min(ys), max(xs), max(ys)) if xs else None


@pytest.mark.parametrize(
    ("size", "rotate"),
    [(A4, 0), (letter, 0), (landscape(A4), 0), (A4, 90), (A4, 270), (landscape(letter), 180)],
)
@pytest.mark.parametrize("position", ["top-left", "bottom-right"])
def test_stamp_is_drawn_inside_the_page_and_reads_back(size, rotate, position):
    original = page_pdf(size, rotate=rotate)
    stamped = stamp_pdf(original, STAMP, StampStyle(position=position))
    image = render(stamped)
    box = ink_box(image)
    assert box is not None, "no stamp ink on the page"
    w, h = image.size
    left, top, right, bottom = box
    assert 0 < left < right < w and 0 < top < bottom < h
    # the corner asked for, as the reader sees the page (rotation included)
    assert (left < w / 2) == position.endswith("left")
    assert (top < h / 2) == position.startswith("top")
    # the QR decodes to the number and the verification code
    assert [r.text for r in zxingcpp.read_barcodes(image)] == [f"{NUMBER}|{CODE}"]
    # the page's own text layer is intact, and the stamp's Arabic reads in logical order
    text = page_text(stamped)
    assert f"{BODY} page 1" in text
    assert "مكتب الوزير — صادر" in text and "التاريخ: 2026/11/22" in text


def test_first_page_or_every_page():
    original = page_pdf(pages=3)
    first = stamp_pdf(original, STAMP, StampStyle(pages="first"))
    every = stamp_pdf(original, STAMP, StampStyle(pages="all"))
    assert [ink_box(render(first, n)) is not None for n in range(3)] == [True, False, False]
    assert [ink_box(render(every, n)) is not None for n in range(3)] == [True, True, True]
    assert all(f"page {n + 1}" in page_text(every, n) for n in range(3))


def test_seal_image_with_transparency():
    seal = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    for x in range(40, 160):
        for y in range(40, 160):
            seal.putpixel((x, y), (200, 20, 20, 160))
    png = io.BytesIO()
    seal.save(png, format="PNG")
    stamped = stamp_pdf(
        page_pdf(), Stamp("ختم الوارد", ("الرقم: و/7/2026",), seal_png=png.getvalue())
    )
    image = render(stamped)
    pixels = image.load()
    w, h = image.size
    reds = [
        (x, y)
        for y in range(0, h, 2)
        for x in range(0, w, 2)
        if pixels[x, y][0] > 180 and pixels[x, y][1] < 150 and pixels[x, y][2] < 150
    ]
    assert reds, "the seal is not drawn"
    # drawn translucent over white: pink, not the seal's full red
    assert all(pixels[x, y][1] > 40 for x, y in reds)


def test_arabic_is_shaped_and_in_visual_order():
    shown = visual("مكتب الوزير")
    # presentation forms (joined letters), drawn right to left: the last word comes first
    assert all(0xFB50 <= ord(c) <= 0xFEFF for c in shown.replace(" ", ""))
    assert unicodedata.normalize("NFKC", shown).split() == ["ريزولا", "بتكم"]


def test_refusals():
    with pytest.raises(DocArchiveError, match="cannot stamp the PDF"):
        stamp_pdf(b"%PDF-1.4 broken", STAMP)
    with pytest.raises(DocArchiveError, match="pdf_pages is 5, over the limit of 3"):
        stamp_pdf(page_pdf(pages=5), STAMP, limits=Limits(pdf_pages=3))
    with pytest.raises(ConfigurationError, match="stamp position must be one of"):
        StampStyle(position="middle")
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(page_pdf())))
    writer.encrypt("secret")
    locked = io.BytesIO()
    writer.write(locked)
    with pytest.raises(DocArchiveError, match="encrypted"):
        stamp_pdf(locked.getvalue(), STAMP)


def test_verification_codes():
    record_id, mac = parse_code(CODE)
    assert record_id == "5ed7f3aecb5e44fb9117" and len(mac) == 20
    assert verification_code(b"k" * 32, record_id, NUMBER, "a" * 64) == CODE
    assert verification_code(b"other-key" * 4, record_id, NUMBER, "a" * 64) != CODE
    assert verification_code(b"k" * 32, record_id, NUMBER, "b" * 64) != CODE
    for bad in ["", "nodash", "abc-short", "abc-" + "!" * 20]:
        with pytest.raises(ValueError):
            parse_code(bad)


@given(st.text(min_size=1, max_size=40), st.binary(min_size=16, max_size=64))
def test_codes_always_parse_back(record_id_seed: str, key: bytes):
    record_id = record_id_seed.encode().hex()[:20] or "0"
    code = verification_code(key, record_id, NUMBER, "c" * 64)
    assert parse_code(code)[0] == record_id


def _page_streams(pdf: bytes, page: int = 0) -> list[bytes]:
    import pikepdf

    with pikepdf.open(io.BytesIO(pdf)) as doc:
        contents = doc.pages[page].obj.Contents
        streams = list(contents) if isinstance(contents, pikepdf.Array) else [contents]
        return [s.read_raw_bytes() for s in streams]


def test_the_pages_own_content_is_kept_byte_for_byte():
    original = page_pdf(pages=2)
    stamped = stamp_pdf(original, STAMP, StampStyle(pages="all"))
    for page in range(2):
        before = _page_streams(original, page)
        after = _page_streams(stamped, page)
        # q, the page's own streams untouched (still compressed as they were), Q + the stamp
        assert after[1:-1] == before
        assert after[0].strip() == b"q" and after[-1].lstrip().startswith(b"Q")


def test_the_qr_code_is_one_path_and_the_frame_is_drawn_once_per_layout():
    import pikepdf

    from docarchive.stamping import _frame, _qr_runs

    _frame.cache_clear()
    stamped = [
        stamp_pdf(page_pdf(), Stamp(STAMP.title, (f"العدد: م.و/ت/{n}/2026",), qr=f"{n}|{CODE}"))
        for n in range(1, 6)
    ]
    info = _frame.cache_info()
    assert (info.misses, info.hits) == (1, 4)  # five documents, one layout: drawn once
    with pikepdf.open(io.BytesIO(stamped[0])) as doc:
        xobjects = doc.pages[0].resources.XObject
        (stamp,) = [xobjects[k] for k in xobjects if k.startswith("/DocarchiveStamp")]
        ops = stamp.read_bytes().split()
    _, runs = _qr_runs(f"1|{CODE}")
    assert ops.count(b"re") == len(runs)  # one rectangle per run of dark modules
    assert ops.count(b"f") == 1  # filled once, as one path
    for n, pdf in enumerate(stamped, start=1):  # each document its own number and QR
        assert "العدد: م.و/ت" in page_text(pdf)
        image = render(pdf)
        assert [r.text for r in zxingcpp.read_barcodes(image)] == [f"{n}|{CODE}"]


def test_a_stamp_over_every_page_of_a_long_document():
    stamped = stamp_pdf(page_pdf(pages=40), STAMP, StampStyle(pages="all"))
    for n in (0, 19, 39):
        assert ink_box(render(stamped, n)) is not None
        assert f"page {n + 1}" in page_text(stamped, n)
        assert "التاريخ: 2026/11/22" in page_text(stamped, n)
