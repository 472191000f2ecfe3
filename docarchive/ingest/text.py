"""Text of an attached file, for the search index: PDF, DOCX, plain text, CSV, HTML.

The file's type comes from its bytes (see :func:`~docarchive.ingest.scans.sniff`),
not from the name or the type the sender declared. Extraction never refuses
the file itself: a PDF that is encrypted or over the page limit, a DOCX over
the decompression limits (a zip bomb), an image that would need OCR, all come
back with no text, ``searchable=False`` and the reason, and the caller keeps
the bytes as they are.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from dataclasses import dataclass, replace
from html.parser import HTMLParser
from pathlib import Path

from ..errors import IngestError, TemplateError
from ..limits import Limits
from ..templates import check_docx, docx_text
from .failures import one_line, reason_for
from .scans import Scan, _read_image, _read_pdf, sniff

__all__ = ["Extracted", "decode_text", "extract_text", "html_to_text"]

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_TEXT_TYPES = {"application/json", "application/xml", "application/csv", "application/x-csv"}
_TEXT_SUFFIXES = (".txt", ".csv", ".tsv", ".text", ".md", ".json", ".xml", ".log")
_BIDI = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))


@dataclass(frozen=True)
class Extracted:
    """What could be read from one file: its text, its real type, and why not, if not."""

    text: str
    media_type: str
    searchable: bool
    reason: str = ""
    pages: int | None = None


def extract_text(
    data: bytes, declared: str, name: str, limits: Limits, charset: str | None = None
) -> Extracted:
    """Text of ``data``; ``declared`` is the sender's content type, ``name`` the file name,
    ``charset`` the declared character set of a text file.

    All three are hints only: the bytes decide. A mismatch (a "PDF" that is a GIF) is
    reported in ``reason``. Never raises for the file's content: whatever a parser raises
    (PDFium, Pillow, python-docx, a codec) comes back as the reason.
    """
    declared = (declared or "application/octet-stream").lower()
    sniffed, label = sniff(data[:1024])
    try:
        found = _extract(data, declared, sniffed, label, name, limits, charset)
    except Exception as exc:  # any parser's exception: no text, and why
        return Extracted("", sniffed, False, reason_for(exc, f"broken {label}"))
    # a library's message may quote the file's own bytes (a zip member's name): one line
    return replace(found, reason=one_line(found.reason)) if found.reason else found


def _extract(
    data: bytes,
    declared: str,
    sniffed: str,
    label: str,
    name: str,
    limits: Limits,
    charset: str | None,
) -> Extracted:
    lower = name.lower()
    if sniffed == "application/pdf":  # its text layer, or OCR of its pages
        try:
            return _from_scan(_read_pdf(Path(name), data, limits, True), limits)
        except IngestError as exc:
            return Extracted("", sniffed, False, exc.reason)
    if sniffed == "application/zip" and (declared == DOCX or lower.endswith(".docx")):
        return _docx(data, name, limits)
    if declared == "application/pdf" or lower.endswith(".pdf"):
        return Extracted("", sniffed, False, f"declared a PDF, but its content is {label}")
    if sniffed.startswith("image/") and sniffed != "image/gif":  # a scan attached: OCR
        try:
            return _from_scan(_read_image(Path(name), data, sniffed, label, limits, True), limits)
        except IngestError as exc:
            return Extracted("", sniffed, False, exc.reason)
    if sniffed != "application/octet-stream":
        return Extracted("", sniffed, False, f"no text is extracted from a {label}")
    is_html = declared == "text/html" or lower.endswith((".html", ".htm"))
    if declared.startswith("text/") or declared in _TEXT_TYPES or lower.endswith(_TEXT_SUFFIXES):
        decoded = decode_text(data, charset)
        if decoded is None:
            return Extracted("", "application/octet-stream", False, "binary data, not text")
        text = html_to_text(decoded) if is_html else decoded
        media = declared if declared.startswith("text/") else "text/plain"
        return Extracted(_cap(text, limits), media, True)
    return Extracted("", declared, False, f"no text is extracted from {declared}")


def _from_scan(scan: Scan, limits: Limits) -> Extracted:
    """The text the scan reader found (text layer or OCR), or why there is none."""
    if scan.text.strip():
        return Extracted(_cap(scan.text, limits), scan.media_type, True, "", scan.pages)
    return Extracted("", scan.media_type, False, scan.reason or "no text found", scan.pages)


def _docx(data: bytes, name: str, limits: Limits) -> Extracted:
    try:
        check_docx(data, name, limits)
        text = docx_text(data)
    except TemplateError as exc:
        reason = str(exc).removeprefix(f"{name}: ")
        return Extracted("", DOCX, False, reason)
    except Exception as exc:  # python-docx raises many kinds on broken parts
        return Extracted("", DOCX, False, f"broken .docx file: {exc}")
    return Extracted(_cap(text, limits), DOCX, True)


def _cap(text: str, limits: Limits) -> str:
    return text[: limits.indexed_text_chars]


def decode_text(data: bytes, charset: str | None) -> str | None:
    """Bytes of a text file as str: BOM, then the declared charset, then UTF-8, then
    Windows-1256 (Arabic Windows, still common in offices, decodes any byte); None for
    binary data."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return _clean(data.decode("utf-16"))
        except UnicodeDecodeError:
            return None
    if b"\x00" in data[:8192]:
        return None
    candidates = [c for c in (charset, "utf-8-sig", "cp1256") if c]
    for encoding in candidates:
        try:
            return _clean(data.decode(encoding))
        except (LookupError, UnicodeDecodeError):
            continue
    return _clean(data.decode("utf-8", "replace"))  # pragma: no cover (cp1256 takes any byte)


def _clean(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_BIDI)
    return unicodedata.normalize("NFC", text)


_BLOCK = {
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "fieldset",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
    "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul",
}  # fmt: skip
_SKIP = {"script", "style", "head", "title", "template", "noscript", "svg", "object", "iframe"}


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skipping.append(tag)
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            if tag in self.skipping:
                while self.skipping and self.skipping.pop() != tag:
                    pass
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


_SPACES = re.compile(r"[ \t\f\v\u00a0]+")


def html_to_text(html: str) -> str:
    """The readable text of an HTML body: no scripts, styles or markup; one line per block."""
    parser = _TextParser()
    try:
        parser.feed(html)
        parser.close()
    except AssertionError:  # html.parser's last resort on hopeless markup
        pass
    lines = (_SPACES.sub(" ", line).strip() for line in "".join(parser.parts).splitlines())
    return _clean("\n".join(line for line in lines if line))
