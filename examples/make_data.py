"""Regenerate the example scans in examples/data/scans/ (needs reportlab: pip install -e .[dev]).

    python examples/make_data.py

The files are committed, so the demo and the tests do not need reportlab; this
script documents how they were made and makes them again.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent / "data" / "scans"

REPORT_LINES = [
    "Ministry of Planning - Minister's Office",
    "No. 2291/MO    Date: 2026-10-05",
    "Subject: Monthly report on the investment budget",
    "",
    "The Follow-up Department reports that 11 of 58 projects in the investment",
    "budget are behind schedule. Expenditure for the third quarter reached",
    "61 percent of the annual allocation. The delays concern mainly the",
    "electronic archiving project and the rehabilitation of the Basra office.",
    "",
    "The department recommends a meeting with the contractors before the end",
    "of the month and a revised schedule for each delayed project.",
    "",
    "Director of Follow-up",
]


def text_pdf(path: Path, lines: list[str]) -> None:
    """A one-page PDF with a real text layer, as an office printer-scanner writes it."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path), pagesize=A4, invariant=True)
    pdf.setTitle("Monthly report")
    y = 780
    for line in lines:
        pdf.setFont("Helvetica-Bold" if y == 780 else "Helvetica", 12)
        pdf.drawString(72, y, line)
        y -= 20
    pdf.save()


if __name__ == "__main__":
    HERE.mkdir(parents=True, exist_ok=True)
    text_pdf(HERE / "monthly_report.pdf", REPORT_LINES)
    print(f"wrote {HERE / 'monthly_report.pdf'}")
