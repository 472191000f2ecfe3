"""Stamping benchmark: docarchive.stamp_pdf against a bare pypdf merge of the same overlay.

    python bench/bench_stamp.py [PAGES]

Both sides stamp every page of the same PDF. The baseline builds the overlay
once with the same drawing code and merges it with pypdf — the least any
stamping can do; docarchive's path adds its checks (limits, encryption,
rotation) and its per-page-size overlay cache. Target: ≥ 0.5× the baseline.
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


def main(pages: int = 200) -> None:
    pdf = document(pages)
    code = verification_code(b"k" * 32, "5ed7f3aecb5e44fb9117", "م.و/ت/12/2026", "a" * 64)
    stamp = Stamp(
        "مكتب الوزير — صادر",
        ("العدد: م.و/ت/12/2026", "التاريخ: 2026/11/22"),
        qr=f"م.و/ت/12/2026|{code}",
    )
    style = StampStyle(pages="all")
    w, h = A4
    stamp_pdf(pdf, stamp, style)  # warm up fonts
    best_bare = best_ours = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        bare(pdf, _overlay(w, h, stamp, style))
        best_bare = min(best_bare, time.perf_counter() - t0)
        t0 = time.perf_counter()
        stamp_pdf(pdf, stamp, style)
        best_ours = min(best_ours, time.perf_counter() - t0)
    print(f"{pages} A4 pages, best of 3")
    print(f"bare pypdf merge   {pages / best_bare:8.1f} pages/s")
    print(f"docarchive stamp   {pages / best_ours:8.1f} pages/s")
    print(f"ratio              {best_bare / best_ours:8.2f}x of the bare merge (target >= 0.5)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
