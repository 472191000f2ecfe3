"""Write the built-in .docx templates into docarchive/templates/builtin/.

    python tools/build_templates.py

The templates are committed; run this after changing their design. Arabic
paragraphs are right-to-left (w:bidi), runs are marked w:rtl with the
complex-script font and size set, and alignment is left to the bidi default
(w:jc="right" renders left-aligned in LibreOffice's bidi paragraphs).
"""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt
from docx.text.paragraph import Paragraph

OUT = Path(__file__).resolve().parent.parent / "docarchive" / "templates" / "builtin"
FONT = "Amiri"


def _rtl_paragraph(p: Paragraph) -> None:
    ppr = p._p.get_or_add_pPr()
    bidi = OxmlElement("w:bidi")
    ppr.insert(0, bidi)


def _rtl_run(run, size: float, bold: bool = False) -> None:  # type: ignore[no-untyped-def]
    run.font.size = Pt(size)
    run.font.bold = bold
    rpr = run._r.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:ascii", "w:hAnsi", "w:cs"):
        fonts.set(qn(attr), FONT)
    if bold:
        rpr.append(OxmlElement("w:bCs"))
    szcs = OxmlElement("w:szCs")
    szcs.set(qn("w:val"), str(int(size * 2)))
    rpr.append(szcs)
    rtl = OxmlElement("w:rtl")
    rpr.append(rtl)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:bidi"), "ar-IQ")
    rpr.append(lang)


def para(
    doc,
    text: str,
    size: float = 14,
    bold: bool = False,
    center: bool = False,  # type: ignore[no-untyped-def]
    space_after: float = 4,
) -> Paragraph:
    p = doc.add_paragraph()
    _rtl_paragraph(p)
    if center:
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.paragraph_format.space_after = Pt(space_after)
    run = p.add_run(text)
    _rtl_run(run, size, bold)
    return p


def circular() -> None:
    doc = Document()
    section = doc.sections[0]
    section.right_margin = section.left_margin = Pt(64)
    sect = section._sectPr
    sect.append(OxmlElement("w:bidi"))
    para(doc, "{{ ministry }}", 16, bold=True, center=True, space_after=0)
    para(doc, "{{ office }}", 15, bold=True, center=True, space_after=12)
    para(doc, "العدد: {{ number }}", 13, bold=True, space_after=0)
    para(doc, "التاريخ: {{ date }}", 13, bold=True, space_after=12)
    para(doc, "تعميم", 18, bold=True, center=True, space_after=10)
    para(doc, "إلى/", 14, bold=True, space_after=0)
    para(doc, "{%p for r in recipients %}", 14)
    para(doc, "{{ r }}", 14, space_after=0)
    para(doc, "{%p endfor %}", 14)
    para(doc, "م/ {{ subject }}", 14, bold=True, center=True, space_after=10)
    para(doc, "تحية طيبة...", 14)
    para(doc, "{%p for paragraph in body %}", 14)
    para(doc, "{{ paragraph }}", 14, space_after=8)
    para(doc, "{%p endfor %}", 14)
    para(doc, "{%p if references %}", 14)
    para(doc, "المراجع:", 13, bold=True, space_after=0)
    para(doc, "{%p for ref in references %}", 13)
    para(doc, "{{ ref.title }} ({{ ref.number }}) في {{ ref.date }}", 13, space_after=0)
    para(doc, "{%p endfor %}", 13)
    para(doc, "{%p endif %}", 13)
    para(doc, "مع التقدير.", 14, space_after=24)
    para(doc, "{{ signatory.name }}", 14, bold=True, space_after=0)
    para(doc, "{{ signatory.title }}", 14, space_after=18)
    para(doc, "{%p if copies %}", 12)
    para(doc, "نسخة منه إلى:", 12, bold=True, space_after=0)
    para(doc, "{%p for c in copies %}", 12)
    para(doc, "- {{ c }}", 12, space_after=0)
    para(doc, "{%p endfor %}", 12)
    para(doc, "{%p endif %}", 12)
    OUT.mkdir(parents=True, exist_ok=True)
    doc.save(str(OUT / "circular.docx"))


if __name__ == "__main__":
    circular()
    print(f"wrote {OUT / 'circular.docx'}")
