"""Stamps on PDF pages: the outgoing stamp of an issued document, the incoming stamp
(ختم الوارد) of a scan, and the verification code a stamp's QR carries.

A stamp is drawn with reportlab — Arabic text shaped (arabic-reshaper) and put in
visual order (python-bidi), in the Amiri font the package ships, so it looks the
same on every machine — and placed on the page by qpdf (pikepdf) as a form
XObject, leaving the page's own content streams untouched (never decoded, never
rewritten) and its text layer as it was. A rotated page keeps its ``/Rotate``;
the stamp is placed upright in the corner a reader sees.

What stays the same from document to document is drawn once per layout and kept
(:func:`_frame`: the white ground, the border, the title in Amiri Bold and the
seal, for one page size, style, title, seal and number of lines); each document
draws only its own lines (number, dates, code: :func:`_lines_pdf`) and its QR
code, written straight into the content stream as one filled path of one
rectangle per run of dark modules (:func:`_qr_ops`).

The verification code is ``<record id>-<HMAC>``: an HMAC-SHA256, keyed with the
archive's stamp key, over the record's id, number and the SHA-256 of its
original document. Anyone holding the code can ask the archive whether it is
genuine (:meth:`docarchive.Archive.check_code`); nobody without the key can make
one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import itertools
import zlib
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import ConfigurationError, DocArchiveError, LimitExceededError
from .limits import Limits, check

__all__ = [
    "POSITIONS",
    "Stamp",
    "StampStyle",
    "parse_code",
    "stamp_pdf",
    "verification_code",
    "visual",
]

POSITIONS = ("top-left", "top-right", "bottom-left", "bottom-right")
MM = 72 / 25.4
INK = (0.05, 0.18, 0.55)  # stamp-pad blue


@dataclass(frozen=True)
class StampStyle:
    """Where and how big a stamp is, and on which pages."""

    position: str = "bottom-left"
    margin_mm: float = 10.0
    width_mm: float = 70.0
    pages: str = "first"  # or "all"

    def __post_init__(self) -> None:
        if self.position not in POSITIONS:
            raise ConfigurationError(
                f"stamp position must be one of {', '.join(POSITIONS)}, not {self.position!r}"
            )
        if self.pages not in ("first", "all"):
            raise ConfigurationError(f"stamp pages must be 'first' or 'all', not {self.pages!r}")
        if not (0 <= self.margin_mm <= 50 and 20 <= self.width_mm <= 200):
            raise ConfigurationError("stamp margin must be 0..50 mm and width 20..200 mm")


@dataclass(frozen=True)
class Stamp:
    """What a stamp says: a title, lines of text (logical order), a QR payload, a seal."""

    title: str
    lines: tuple[str, ...] = ()
    qr: str | None = None
    seal_png: bytes | None = field(default=None, repr=False)


# -- text -----------------------------------------------------------------------------------


def visual(text: str) -> str:
    """Arabic in logical order → shaped glyphs in visual (left-to-right drawing) order."""
    import arabic_reshaper
    from bidi.algorithm import get_display

    return str(get_display(arabic_reshaper.reshape(text), base_dir="R"))


@cache
def _fonts() -> tuple[str, str]:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    folder = resources.files("docarchive") / "fonts"
    for name, file in (("Amiri", "Amiri-Regular.ttf"), ("Amiri-Bold", "Amiri-Bold.ttf")):
        pdfmetrics.registerFont(TTFont(name, str(Path(str(folder / file)))))
    return "Amiri", "Amiri-Bold"


# -- verification codes ---------------------------------------------------------------------


def verification_code(key: bytes, record_id: str, number: str, sha256: str) -> str:
    """``<record id>-<20 base32 characters of HMAC-SHA256(key, id|number|sha256)>``."""
    mac = hmac.new(key, f"{record_id}|{number}|{sha256}".encode(), hashlib.sha256).digest()
    return f"{record_id}-{base64.b32encode(mac).decode()[:20]}"


def parse_code(code: str) -> tuple[str, str]:
    """Split a verification code into (record id, MAC); ValueError when malformed."""
    record_id, sep, mac = code.strip().partition("-")
    if not sep or not record_id.isalnum() or len(mac) != 20 or not mac.isalnum():
        raise ValueError("not a docarchive verification code")
    return record_id, mac.upper()


# -- drawing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Box:
    """Where the stamp's parts go on a page of a given size."""

    x: float
    y: float
    w: float
    h: float
    pad: float
    scale: float
    title_size: float
    size: float
    leading: float


def _box(width: float, height: float, lines: int, qr: bool, style: StampStyle) -> _Box:
    margin = style.margin_mm * MM
    box_w = min(style.width_mm * MM, width - 2 * margin)
    scale = box_w / (style.width_mm * MM)
    pad, title_size, size = 4 * scale, 10 * scale, 8 * scale
    leading = size * 1.35
    text_h = title_size * 1.4 + leading * lines
    qr_side = max(text_h, 18 * MM * scale) if qr else 0.0
    box_h = max(text_h, qr_side) + 2 * pad
    box_h = min(box_h, height - 2 * margin)
    x = margin if style.position.endswith("left") else width - margin - box_w
    y = height - margin - box_h if style.position.startswith("top") else margin
    return _Box(x, y, box_w, box_h, pad, scale, title_size, size, leading)


def _canvas(out: io.BytesIO, width: float, height: float) -> Any:
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(out, pagesize=(width, height), invariant=True)
    pdf.setStrokeColorRGB(*INK)
    pdf.setFillColorRGB(*INK)
    return pdf


def _draw_frame(pdf: Any, box: _Box, title: str, seal_png: bytes | None) -> None:
    from reportlab.lib.utils import ImageReader

    _, bold = _fonts()
    pdf.setLineWidth(1.2 * box.scale)
    pdf.saveState()  # a nearly opaque white ground keeps the stamp legible over page text
    pdf.setFillColorRGB(1, 1, 1)
    pdf.setFillAlpha(0.88)
    pdf.roundRect(box.x, box.y, box.w, box.h, 3 * box.scale, stroke=0, fill=1)
    pdf.restoreState()
    pdf.roundRect(box.x, box.y, box.w, box.h, 3 * box.scale, stroke=1, fill=0)
    if seal_png:
        side = box.h - 2 * box.pad
        pdf.drawImage(
            ImageReader(io.BytesIO(seal_png)),
            box.x + box.w / 2 - side / 2,
            box.y + box.pad,
            side,
            side,
            mask="auto",
            preserveAspectRatio=True,
        )
    top = box.y + box.h - box.pad - box.title_size
    pdf.setFont(bold, box.title_size)
    pdf.drawRightString(box.x + box.w - box.pad, top, visual(title))


def _draw_lines(pdf: Any, box: _Box, lines: tuple[str, ...]) -> None:
    regular, _ = _fonts()
    top = box.y + box.h - box.pad - box.title_size
    pdf.setFont(regular, box.size)
    for i, line in enumerate(lines):
        pdf.drawRightString(
            box.x + box.w - box.pad,
            top - box.title_size * 0.4 - box.leading * (i + 1),
            visual(line),
        )


@lru_cache(maxsize=64)
def _frame(
    width: float,
    height: float,
    style: StampStyle,
    lines: int,
    qr: bool,
    title: str,
    seal_png: bytes | None,
) -> bytes:
    """A one-page PDF of what a layout's stamps share: ground, border, title and seal."""
    out = io.BytesIO()
    pdf = _canvas(out, width, height)
    _draw_frame(pdf, _box(width, height, lines, qr, style), title, seal_png)
    pdf.showPage()
    pdf.save()
    return out.getvalue()


def _lines_pdf(width: float, height: float, stamp: Stamp, style: StampStyle) -> bytes:
    """A one-page PDF of one document's own lines (number, dates, code)."""
    out = io.BytesIO()
    pdf = _canvas(out, width, height)
    _draw_lines(pdf, _box(width, height, len(stamp.lines), bool(stamp.qr), style), stamp.lines)
    pdf.showPage()
    pdf.save()
    return out.getvalue()


QUIET = 4  # modules of white around a QR code


def _qr_runs(payload: str) -> tuple[int, list[tuple[int, int, int]]]:
    """The QR code of ``payload`` (level M): its module count and its dark runs, each
    ``(row, first column, length)``."""
    from reportlab.graphics.barcode import qrencoder

    code = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
    code.addData(payload)
    code.make()
    runs = []
    for r, row in enumerate(code.modules):
        c = 0
        for dark, group in itertools.groupby(bool(m) for m in row):
            n = sum(1 for _ in group)
            if dark:
                runs.append((r, c, n))
            c += n
    return code.getModuleCount(), runs


def _qr_geometry(box: _Box, count: int) -> tuple[float, float, float, float]:
    """Left, top, module size and side of the QR code in its stamp."""
    side = box.h - 2 * box.pad
    module = side / (count + 2 * QUIET)
    return box.x + box.pad, box.y + box.pad + side, module, side


def _qr_ops(payload: str, box: _Box) -> bytes:
    """The QR code as content-stream operators: one path, one rectangle per dark run, one
    fill."""
    count, runs = _qr_runs(payload)
    left, top, m, _ = _qr_geometry(box, count)
    ops = [b"q %.4f %.4f %.4f rg" % INK]
    ops += [
        b"%.3f %.3f %.3f %.3f re" % (left + (c + QUIET) * m, top - (r + QUIET + 1) * m, n * m, m)
        for r, c, n in runs
    ]
    ops.append(b"f Q\n")
    return b"\n".join(ops)


def _overlay(width: float, height: float, stamp: Stamp, style: StampStyle) -> bytes:
    """The whole stamp as a one-page PDF of the page's size, drawn in one go by reportlab
    (what a merge of an overlay page starts from; :func:`stamp_pdf` composes the same
    drawing from its cached and per-document parts instead)."""
    box = _box(width, height, len(stamp.lines), bool(stamp.qr), style)
    out = io.BytesIO()
    pdf = _canvas(out, width, height)
    _draw_frame(pdf, box, stamp.title, stamp.seal_png)
    if stamp.qr:
        count, runs = _qr_runs(stamp.qr)
        left, top, m, _ = _qr_geometry(box, count)
        path = pdf.beginPath()
        for r, c, n in runs:
            path.rect(left + (c + QUIET) * m, top - (r + QUIET + 1) * m, n * m, m)
        pdf.drawPath(path, stroke=0, fill=1)
    _draw_lines(pdf, box, stamp.lines)
    pdf.showPage()
    pdf.save()
    return out.getvalue()


# -- placing --------------------------------------------------------------------------------


def _form(doc: Any, width: float, height: float, stamp: Stamp, style: StampStyle) -> Any:
    """The stamp of a page of ``width`` x ``height`` (as the reader sees it), as a form
    XObject of ``doc``: the layout's cached frame, this document's lines, its QR code."""
    import pikepdf

    box = _box(width, height, len(stamp.lines), bool(stamp.qr), style)
    parts = {}
    frame = _frame(
        width, height, style, len(stamp.lines), bool(stamp.qr), stamp.title, stamp.seal_png
    )
    for name, data in (("/F", frame), ("/L", _lines_pdf(width, height, stamp, style))):
        with pikepdf.open(io.BytesIO(data)) as part:
            parts[name] = doc.copy_foreign(part.pages[0].as_form_xobject())
    content = b"q /F Do Q\n" + (_qr_ops(stamp.qr, box) if stamp.qr else b"") + b"q /L Do Q\n"
    form = pikepdf.Stream(doc, zlib.compress(content))
    form.Filter = pikepdf.Name.FlateDecode
    form.Type = pikepdf.Name.XObject
    form.Subtype = pikepdf.Name.Form
    form.BBox = pikepdf.Array([0, 0, width, height])
    form.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(F=parts["/F"], L=parts["/L"]))
    return form


def _place(doc: Any, page: Any, form: Any, rect: Any) -> None:
    """Draw ``form`` over ``page`` filling ``rect``, upright whatever the page's rotation;
    the page's own content streams are kept as they are, bracketed by q … Q."""
    import pikepdf

    xobjects = page.resources.get(pikepdf.Name.XObject)
    taken = set(xobjects.keys()) if isinstance(xobjects, pikepdf.Dictionary) else set()
    n = 1
    while f"/DocarchiveStamp{n}" in taken:
        n += 1
    name = page.add_resource(form, pikepdf.Name.XObject, pikepdf.Name(f"/DocarchiveStamp{n}"))
    placement = page.calc_form_xobject_placement(
        form, name, rect, invert_transformations=True, allow_shrink=True, allow_expand=True
    )
    contents = page.obj.get(pikepdf.Name.Contents)
    if contents is None:
        streams = []
    elif isinstance(contents, pikepdf.Array):
        streams = list(contents)
    else:
        streams = [contents]
    page.obj.Contents = pikepdf.Array(
        [doc.make_stream(b"q\n"), *streams, doc.make_stream(b"\nQ\n" + placement)]
    )


def stamp_pdf(
    pdf: bytes, stamp: Stamp, style: StampStyle | None = None, limits: Limits | None = None
) -> bytes:
    """``pdf`` with ``stamp`` placed on its first (or every) page."""
    import pikepdf

    style = style or StampStyle()
    limits = limits or Limits()
    try:
        with pikepdf.open(io.BytesIO(pdf)) as doc:
            if doc.is_encrypted:
                raise DocArchiveError("cannot stamp an encrypted PDF")
            check(limits, "pdf_pages", len(doc.pages))
            forms: dict[tuple[float, float], Any] = {}
            for index, page in enumerate(doc.pages):
                if style.pages == "first" and index > 0:
                    break
                rect = pikepdf.Rectangle(page.cropbox)
                width, height = abs(float(rect.width)), abs(float(rect.height))
                if int(page.obj.get(pikepdf.Name.Rotate, 0)) % 180:
                    width, height = height, width
                size = (round(width, 2), round(height, 2))
                if size not in forms:
                    forms[size] = _form(doc, *size, stamp, style)
                _place(doc, page, forms[size], rect)
            out = io.BytesIO()
            doc.save(
                out,
                # the page's own streams are copied as they are: never decoded
                stream_decode_level=pikepdf.StreamDecodeLevel.none,
                compress_streams=False,
                deterministic_id=True,
            )
    except pikepdf.PasswordError:
        raise DocArchiveError("cannot stamp an encrypted PDF") from None
    except (DocArchiveError, LimitExceededError):
        raise
    except (pikepdf.PdfError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DocArchiveError(f"cannot stamp the PDF: {exc}") from exc
    return out.getvalue()
