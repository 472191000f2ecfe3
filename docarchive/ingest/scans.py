"""Read a paper scan: recognise its type from its bytes, extract its text under limits.

The file's name and extension are never trusted: the type comes from the
content's magic bytes. A PDF's own text layer is read with PDFium (pypdfium2),
which, unlike pypdf, keeps runs of digits in Arabic text in logical order.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ..errors import IngestError, LimitExceededError
from ..limits import Limits, check

__all__ = ["Scan", "read_scan", "sniff"]

_MAGIC: list[tuple[bytes, str, str]] = [
    (b"%PDF-", "application/pdf", "PDF"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "PNG image"),
    (b"\xff\xd8\xff", "image/jpeg", "JPEG image"),
    (b"II*\x00", "image/tiff", "TIFF image"),
    (b"MM\x00*", "image/tiff", "TIFF image"),
    (b"GIF87a", "image/gif", "GIF image"),
    (b"GIF89a", "image/gif", "GIF image"),
    (b"PK\x03\x04", "application/zip", "zip archive"),
]
_BIDI_CONTROLS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u200e\u200f\ufeff"))


@dataclass(frozen=True)
class Scan:
    """A scan's bytes, type and text, ready to archive."""

    path: Path
    data: bytes
    media_type: str
    text: str
    pages: int
    has_text_layer: bool


def sniff(head: bytes) -> tuple[str, str]:
    """(media type, description) from the first bytes of a file."""
    for magic, media_type, label in _MAGIC:
        if head.startswith(magic):
            return media_type, label
    # PDFs may carry junk before the header; the spec tolerates up to 1 KiB
    if b"%PDF-" in head[:1024]:
        return "application/pdf", "PDF"
    return "application/octet-stream", "unrecognised data"


def read_scan(path: str | Path, limits: Limits) -> Scan:
    """Read and check one scan; IngestError names the file and the reason."""
    path = Path(path)
    name = str(path)
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise IngestError(name, "not a regular file")
        check(limits, "input_bytes", size)
        data = path.read_bytes()
    except FileNotFoundError:
        raise IngestError(name, "no such file") from None
    except PermissionError:
        raise IngestError(name, "permission denied") from None
    except IsADirectoryError:
        raise IngestError(name, "is a folder, not a file") from None
    except LimitExceededError as exc:
        raise IngestError(name, str(exc)) from exc
    if not data:
        raise IngestError(name, "empty file (0 bytes)")
    media_type, label = sniff(data[:1024])
    if media_type == "application/pdf":
        text, pages = _pdf_text(name, data, limits)
        return Scan(path, data, media_type, text, pages, has_text_layer=bool(text.strip()))
    claimed = path.suffix.lower().lstrip(".")
    if claimed == "pdf":
        raise IngestError(name, f"not a PDF: its content is {label}")
    if media_type.startswith("image/"):
        raise IngestError(name, f"{label}: image scans are not supported yet (needs OCR)")
    raise IngestError(name, f"unsupported file type ({label})")


def _pdf_text(name: str, data: bytes, limits: Limits) -> tuple[str, int]:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        reason = str(exc).replace("Failed to load document", "cannot open the PDF")
        if "password" in reason.lower():
            reason = "the PDF is encrypted with a password"
        raise IngestError(name, f"broken PDF: {reason}") from exc
    try:
        pages = len(pdf)
        try:
            check(limits, "pdf_pages", pages)
        except LimitExceededError as exc:
            raise IngestError(name, str(exc)) from exc
        texts: list[str] = []
        total = 0
        for index in range(pages):
            page = pdf[index]
            try:
                textpage = page.get_textpage()
                try:
                    text = textpage.get_text_range()
                finally:
                    textpage.close()
            except pdfium.PdfiumError as exc:
                raise IngestError(name, f"broken PDF: page {index + 1}: {exc}") from exc
            finally:
                page.close()
            text = unicodedata.normalize("NFC", text.translate(_BIDI_CONTROLS)).replace(
                "\r\n", "\n"
            )
            texts.append(text)
            total += len(text)
            if total > limits.indexed_text_chars:
                break
        return "\n\f".join(texts), pages
    finally:
        pdf.close()
