"""Stamps on PDF pages: the outgoing stamp of an issued document, the incoming stamp
(ختم الوارد) of a scan, and the verification code a stamp's QR carries.

A stamp is drawn on a transparent overlay with reportlab — Arabic text shaped
(arabic-reshaper) and put in visual order (python-bidi), in the Amiri font the
package ships, so it looks the same on every machine — and pypdf merges the
overlay onto the page, leaving the page's own content and text layer as they
were. Rotated pages are first given upright content (``/Rotate`` moved into the
content stream) so the stamp lands where a reader sees the corner.

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
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

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


def _overlay(width: float, height: float, stamp: Stamp, style: StampStyle) -> bytes:
    """A one-page PDF of the page's size with the stamp in its corner."""
    from reportlab.graphics import renderPDF
    from reportlab.graphics.barcode.qr import QrCodeWidget
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    regular, bold = _fonts()
    margin = style.margin_mm * MM
    box_w = min(style.width_mm * MM, width - 2 * margin)
    scale = box_w / (style.width_mm * MM)
    pad, title_size, size = 4 * scale, 10 * scale, 8 * scale
    leading = size * 1.35
    text_h = title_size * 1.4 + leading * len(stamp.lines)
    qr_side = max(text_h, 18 * MM * scale) if stamp.qr else 0.0
    box_h = max(text_h, qr_side) + 2 * pad
    box_h = min(box_h, height - 2 * margin)
    x = margin if style.position.endswith("left") else width - margin - box_w
    y = height - margin - box_h if style.position.startswith("top") else margin

    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=(width, height), invariant=True)
    pdf.setStrokeColorRGB(*INK)
    pdf.setFillColorRGB(*INK)
    pdf.setLineWidth(1.2 * scale)
    pdf.saveState()  # a nearly opaque white ground keeps the stamp legible over page text
    pdf.setFillColorRGB(1, 1, 1)
    pdf.setFillAlpha(0.88)
    pdf.roundRect(x, y, box_w, box_h, 3 * scale, stroke=0, fill=1)
    pdf.restoreState()
    pdf.roundRect(x, y, box_w, box_h, 3 * scale, stroke=1, fill=0)
    if stamp.seal_png:
        seal = ImageReader(io.BytesIO(stamp.seal_png))
        side = box_h - 2 * pad
        pdf.drawImage(
            seal,
            x + box_w / 2 - side / 2,
            y + pad,
            side,
            side,
            mask="auto",
            preserveAspectRatio=True,
        )
    text_right = x + box_w - pad
    if stamp.qr:
        side = box_h - 2 * pad
        widget = QrCodeWidget(stamp.qr, barLevel="M")
        x0, y0, x1, y1 = widget.getBounds()
        drawing = Drawing(side, side, transform=[side / (x1 - x0), 0, 0, side / (y1 - y0), 0, 0])
        drawing.add(widget)
        renderPDF.draw(drawing, pdf, x + pad, y + pad)
    top = y + box_h - pad - title_size
    pdf.setFont(bold, title_size)
    pdf.drawRightString(text_right, top, visual(stamp.title))
    pdf.setFont(regular, size)
    for i, line in enumerate(stamp.lines):
        pdf.drawRightString(text_right, top - title_size * 0.4 - leading * (i + 1), visual(line))
    pdf.showPage()
    pdf.save()
    return out.getvalue()


def stamp_pdf(
    pdf: bytes, stamp: Stamp, style: StampStyle | None = None, limits: Limits | None = None
) -> bytes:
    """``pdf`` with ``stamp`` merged onto its first (or every) page."""
    from pypdf import PdfReader, PdfWriter, Transformation
    from pypdf.errors import PyPdfError

    style = style or StampStyle()
    limits = limits or Limits()
    try:
        reader = PdfReader(io.BytesIO(pdf))
        if reader.is_encrypted:
            raise DocArchiveError("cannot stamp an encrypted PDF")
        check(limits, "pdf_pages", len(reader.pages))
        writer = PdfWriter(clone_from=reader)
        overlays: dict[tuple[float, float], object] = {}
        for index, page in enumerate(writer.pages):
            if style.pages == "first" and index > 0:
                break
            if page.rotation % 360:
                page.transfer_rotation_to_content()
            box = page.mediabox
            size = (round(float(box.width), 2), round(float(box.height), 2))
            if size not in overlays:
                overlays[size] = PdfReader(io.BytesIO(_overlay(*size, stamp, style))).pages[0]
            page.merge_transformed_page(
                overlays[size],  # type: ignore[arg-type]
                Transformation().translate(float(box.left), float(box.bottom)),
            )
        out = io.BytesIO()
        writer.write(out)
    except LimitExceededError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DocArchiveError(f"cannot stamp the PDF: {exc}") from exc
    return out.getvalue()
