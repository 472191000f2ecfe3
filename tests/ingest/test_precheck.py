"""Checks on raw bytes before any parser runs (docarchive.ingest.precheck), each against
a reference: Pillow for declared image sizes, the stdlib email parser for MIME depth."""

from __future__ import annotations

import io
from email import policy
from email.message import EmailMessage

import hostile
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from docarchive import LimitExceededError, Limits
from docarchive.ingest.mail import _PARSER, _depth
from docarchive.ingest.precheck import (
    check_image,
    check_mail,
    check_pdf,
    image_size,
    mime_depth,
    pdf_depth,
)

sizes = st.tuples(st.integers(1, 300), st.integers(1, 300))


@settings(max_examples=40, deadline=None)
@given(size=sizes, fmt=st.sampled_from(["PNG", "JPEG", "TIFF", "GIF"]))
def test_the_declared_size_is_the_one_pillow_reads(size: tuple[int, int], fmt: str):
    from PIL import Image

    out = io.BytesIO()
    Image.new("L", size, 200).save(out, fmt)
    data = out.getvalue()
    assert image_size(data) == Image.open(io.BytesIO(data)).size == size


def test_a_multi_page_tiff_declares_its_largest_page():
    from PIL import Image

    out = io.BytesIO()
    pages = [Image.new("1", (40, 30)), Image.new("1", (500, 700)), Image.new("1", (60, 60))]
    pages[0].save(out, "TIFF", save_all=True, append_images=pages[1:], compression="group4")
    assert image_size(out.getvalue()) == (500, 700)


@given(st.binary(max_size=200))
def test_garbage_never_raises(data: bytes):
    for head in (b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*", b"GIF89a"):
        image_size(head + data)
    pdf_depth(b"%PDF-1.4\n" + data)
    mime_depth(b"Content-Type: multipart/mixed; boundary=x\n\n" + data)


def test_declared_sizes_over_the_limit_are_refused_before_decoding():
    with pytest.raises(LimitExceededError, match="scan_pixels is 10000000000"):
        check_image(hostile.png_declaring(100_000, 100_000), Limits())
    check_image(hostile.png_declaring(1000, 1000), Limits())
    with pytest.raises(LimitExceededError, match="scan_pixels is 10000000000"):
        check_pdf(hostile.huge_image_pdf(100_000, 100_000), Limits())
    check_pdf(hostile.huge_image_pdf(2480, 3508), Limits())  # A4 at 300 dpi
    with pytest.raises(LimitExceededError, match="pdf_pages is 1000000000"):
        check_pdf(hostile.huge_count(), Limits())


def test_pdf_nesting_skips_strings_streams_and_comments():
    assert pdf_depth(hostile.deep_nesting(40)) == 41  # the page's dictionary, then 40 arrays
    tricky = hostile.pdf(
        hostile.CATALOG,
        b"<< /Type /Pages /Kids [] /Count 0 /T (a [[[[ ( nested ) \\( string) >>",
        b"<< /Length 10 >>\nstream\n[[[[[[[[[[\nendstream",
        b"% a comment [[[[[[[[\n<< /A [ 1 ] >>",
    )
    assert pdf_depth(tricky) == 2
    with pytest.raises(LimitExceededError, match="pdf_depth is 501"):
        check_pdf(hostile.deep_nesting(500), Limits())


def _nested(shape: list[int]) -> bytes:
    """A message with multiparts nested as ``shape`` says: each entry the number of text
    parts beside the next multipart, one level down."""

    def build(level: int) -> EmailMessage:
        part = EmailMessage(policy=policy.SMTP)
        if level == len(shape):
            part.set_content("يرجى الاطلاع واتخاذ ما يلزم.")
            return part
        part.make_mixed()
        for n in range(shape[level]):
            leaf = EmailMessage(policy=policy.SMTP)
            leaf.set_content(f"الفقرة {n + 1}")
            part.attach(leaf)
        part.attach(build(level + 1))
        return part

    msg = build(0)
    msg["From"] = "مديرية التخطيط <planning@mop.gov.iq>"
    msg["Subject"] = "تعميم"
    return msg.as_bytes()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 3), max_size=8))
def test_mime_depth_agrees_with_the_stdlib_parser(shape: list[int]):
    data = _nested(shape)
    assert mime_depth(data.lower()) == _depth(_PARSER.parsebytes(data)) == len(shape) + 1


def test_deep_mime_is_refused_before_parsing():
    with pytest.raises(LimitExceededError, match="mime_depth is 5001"):
        check_mail(hostile.nested_mail(5000), Limits())
    check_mail(hostile.nested_mail(10), Limits())


def test_real_pdfs_pass_the_checks(make_pdf):
    """No false alarm on what offices send: the example scans, a text PDF, one encrypted."""
    from pathlib import Path

    scans = Path(__file__).resolve().parents[2] / "examples" / "data" / "scans"
    text = make_pdf("report.pdf", ["Ministry of Planning", "No. 2291/MO"]).read_bytes()
    pdfs = [p.read_bytes() for p in scans.glob("*.pdf")]
    pdfs += [text, hostile.encrypted(text, user="s", owner="o")]
    for data in pdfs:
        check_pdf(data, Limits())
        assert pdf_depth(data) < 10
