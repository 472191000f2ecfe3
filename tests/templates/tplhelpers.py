"""Helpers for the template tests: example data, a PNG, PDF text."""

from __future__ import annotations

import io
import json
import re
import struct
import subprocess
import unicodedata
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docx import Document
from docx.table import Table
from docx.text.paragraph import Paragraph

from docarchive import Limits
from docarchive.templates import builtin_templates, render_docx

EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples" / "data"
KINDS = ("circular", "decision", "assignment", "letter_en")
NUMBERS = {
    "circular": "م.و/ت/7/2026",
    "decision": "م.و/ق/12/2026",
    "assignment": "م.و/ح/31/2026",
    "letter_en": "M.O/L/45/2026",
}
BIDI_CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def example(kind: str) -> dict[str, Any]:
    """The example data of ``kind``, with the number and date the archive would add."""
    data: dict[str, Any] = json.loads((EXAMPLES / f"{kind}.json").read_text("utf-8"))
    data.setdefault("number", NUMBERS[kind])
    data.setdefault("date", "2026/11/22")
    data.setdefault("ministry", "جمهورية العراق — وزارة التخطيط")
    data.setdefault("office", "مكتب الوزير")
    return data


def render_kind(kind: str, **extra: Any) -> bytes:
    return render_docx(builtin_templates()[kind], {**example(kind), **extra}, Limits())


def png(width: int = 12, height: int = 8, rgb: tuple[int, int, int] = (20, 90, 50)) -> bytes:
    """A small valid PNG, written by hand."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(tag + data))
        return struct.pack(">I", len(data)) + tag + data + crc

    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def user_template(
    folder: Path, *paragraphs: str | list[str], name: str = "user.docx", **parts: str
) -> Path:
    """A .docx in ``folder`` whose paragraphs are ``paragraphs`` (a list of runs splits one);
    ``header=`` and ``footer=`` fill the section's header and footer."""
    doc = Document()
    for text in paragraphs:
        p = doc.add_paragraph()
        for run in [text] if isinstance(text, str) else text:
            p.add_run(run)
    section = doc.sections[0]
    if "header" in parts:
        section.header.paragraphs[0].add_run(parts["header"])
    if "footer" in parts:
        section.footer.paragraphs[0].add_run(parts["footer"])
    path = folder / name
    doc.save(str(path))
    return path


def all_paragraphs(doc: Any) -> Iterator[Paragraph]:
    """Body paragraphs and the paragraphs of every table cell, nested tables too."""

    def walk(container: Any) -> Iterator[Paragraph]:
        for item in container.iter_inner_content():
            if isinstance(item, Paragraph):
                yield item
            elif isinstance(item, Table):
                for row in item.rows:
                    for cell in row.cells:
                        yield from walk(cell)

    yield from walk(doc)


def all_texts(data: bytes) -> list[str]:
    doc = Document(io.BytesIO(data))
    return [p.text for p in all_paragraphs(doc)]


def pdf_text(pdf: Path) -> str:
    """pdftotext's text, bidi controls stripped, NFKC-normalized, spaces collapsed."""
    out = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, check=True)
    text = unicodedata.normalize("NFKC", BIDI_CONTROLS.sub("", out.stdout.decode("utf-8")))
    return re.sub(r"\s+", " ", text)


# -- reading a PDF the way a person reads it -------------------------------------------------

_XHTML = "{http://www.w3.org/1999/xhtml}"
_ARABIC = re.compile(r"[\u0600-\u06ff\ufb50-\ufdff\ufe70-\ufeff]")
_LTR = re.compile(r"[0-9A-Za-z٠-٩]")
_LTR_RUN = re.compile(r"[0-9A-Za-z٠-٩]+(?:[/.,:\-][0-9A-Za-z٠-٩]+)*|[^0-9A-Za-z٠-٩]+")


@dataclass(frozen=True)
class Word:
    """One word as pdftotext -bbox sees it: its box and its letters in visual order."""

    x0: float
    x1: float
    y0: float
    y1: float
    text: str


def pdf_lines(pdf: Path, page: int | None = 1) -> list[list[Word]]:
    """The words of each line on ``page`` (None: every page), from pdftotext -bbox-layout."""
    pages = ["-f", str(page), "-l", str(page)] if page else []
    out = subprocess.run(
        ["pdftotext", "-bbox-layout", *pages, str(pdf), "-"], capture_output=True, check=True
    ).stdout
    root = ET.fromstring(out)
    return [
        [
            Word(*(float(w.get(k) or 0) for k in ("xMin", "xMax", "yMin", "yMax")), w.text or "")
            for w in line.iter(f"{_XHTML}word")
        ]
        for line in root.iter(f"{_XHTML}line")
    ]


def is_arabic(words: list[Word]) -> bool:
    return any(_ARABIC.search(w.text) for w in words)


def read_line(words: list[Word]) -> str:
    """A line read as a person reads it, from the glyph positions alone.

    An Arabic line is read from its right: words by falling x, each word's letters
    (visual order) reversed except runs of digits and Latin, which read left to right.
    So the result is the logical text only if the PDF lays the line out right to left.
    """
    arabic = is_arabic(words)
    ordered = sorted(words, key=lambda w: -w.x1 if arabic else w.x0)
    texts = [
        "".join(r if _LTR.match(r) else r[::-1] for r in reversed(_LTR_RUN.findall(w.text)))
        if arabic
        else w.text
        for w in ordered
    ]
    out = texts[0] if texts else ""
    for before, after, text in zip(ordered, ordered[1:], texts[1:], strict=False):
        gap = (before.x0 - after.x1) if arabic else (after.x0 - before.x1)
        out += ("" if gap < 1.0 else " ") + text
    out = unicodedata.normalize("NFKC", out)
    return re.sub(r" (?=[\u064b-\u0652])", "", out)  # NFKC spaces out isolated tanween
