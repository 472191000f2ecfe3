"""Stamping benchmark: docarchive.stamp_pdf against a bare pypdf merge of the same overlay.

    python bench/bench_stamp.py [PAGES] [DOCUMENTS]

1. Every page of one PDF of PAGES A4 pages (default 200). The baseline draws the overlay
   once with the same drawing code (:func:`docarchive.stamping._overlay`, not timed) and
   merges it onto every page with pypdf's ``merge_page`` — the least a pypdf stamper can
   do. docarchive's path does everything: its checks (limits, encryption), drawing the
   document's lines and QR code, the layout's cached frame, placing it on each page
   (qpdf, through pikepdf) and writing the file. Target: ≥ 2× the baseline.
2. DOCUMENTS one-page documents (default 50), each with its own stamp (number, code):
   a stamp drawn per document and merged with pypdf, against ``stamp_pdf``.

Both sides run in the same process, interleaved, best of 3.
"""

from __future__ import annotations

import io
import sys
import time

from pypdf import PdfReader, PdfWriter
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from docarchive.stamping import Stamp, StampStyle, _overlay, stamp_pdf, verification_code


def document(pages: int) -> bytes:
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    for n in range(pages):
        for line in range(40):
            pdf.drawString(72, 780 - 18 * line, f"Page {n + 1}, line {line + 1} of the report")
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def bare(pdf: bytes, overlay_pdf: bytes) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    overlay = PdfReader(io.BytesIO(overlay_pdf)).pages[0]
    for page in writer.pages:
        page.merge_page(overlay)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def stamp_of(n: int) -> Stamp:
    number = f"م.و/ت/{n}/2026"
    code = verification_code(b"k" * 32, f"5ed7f3aecb5e44fb{n:04d}", number, "a" * 64)
    return Stamp(
        "مكتب الوزير — صادر",
        (f"العدد: {number}", "التاريخ: 2026/11/22", "الموافق: ١٤٤٨/٠٦/١٢ هـ"),
        qr=f"{number}|{code}",
    )


def best(func: object, rounds: int = 3) -> float:
    assert callable(func)
    spent = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        func()
        spent = min(spent, time.perf_counter() - started)
    return spent


def main(pages: int = 200, documents: int = 50) -> None:
    w, h = A4
    pdf = document(pages)
    stamp = stamp_of(12)
    style = StampStyle(pages="all")
    overlay = _overlay(w, h, stamp, style)
    stamp_pdf(pdf, stamp, style)  # warm up: fonts, imports
    bare(document(1), overlay)
    spent_bare = best(lambda: bare(pdf, overlay))
    spent_ours = best(lambda: stamp_pdf(pdf, stamp, style))
    print(f"1. every page of {pages} A4 pages, best of 3")
    print(f"   bare pypdf merge (overlay drawn once)  {pages / spent_bare:8.1f} pages/s")
    print(f"   docarchive stamp_pdf                   {pages / spent_ours:8.1f} pages/s")
    print(f"   ratio  {spent_bare / spent_ours:6.2f}x the bare merge (target >= 2)")

    one = document(1)
    stamps = [stamp_of(n) for n in range(1, documents + 1)]
    first = StampStyle()

    def per_document_pypdf() -> None:
        for s in stamps:
            bare(one, _overlay(w, h, s, first))

    def per_document_ours() -> None:
        for s in stamps:
            stamp_pdf(one, s, first)

    spent_bare = best(per_document_pypdf)
    spent_ours = best(per_document_ours)
    print(f"2. {documents} one-page documents, each its own stamp, best of 3")
    print(f"   overlay drawn + pypdf merge   {1000 * spent_bare / documents:7.1f} ms/doc")
    print(f"   docarchive stamp_pdf          {1000 * spent_ours / documents:7.1f} ms/doc")
    print(f"   ratio  {spent_bare / spent_ours:6.2f}x")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
