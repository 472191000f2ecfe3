"""Write the built-in .docx templates into docarchive/templates/builtin/.

    python tools/build_templates.py

The templates are committed; run this after changing their design. Four kinds:
circular (تعميم), decision (قرار وزاري), assignment (كتاب إحالة) and letter_en
(an English official letter). Each has a letterhead (ministry, office, an
optional logo), a number/date block, the subject line, the body, a signatory
block and the copies-to list.

Arabic, the way Word and LibreOffice both show it right:
- paragraphs are right-to-left (``w:bidi``) and carry no ``w:jc`` unless they
  are centred: in a bidi paragraph ``w:jc="right"`` renders *left*-aligned in
  LibreOffice (it reads left/right as start/end), so text is left to the bidi
  default, which is the right margin;
- runs are ``w:rtl`` with the complex-script font and size (``w:rFonts w:cs``,
  ``w:szCs``, ``w:bCs``) and ``w:lang w:bidi="ar-IQ"``;
- tables are ``w:bidiVisual``: their first column is on the right;
- the font is Amiri (Arabic and Latin; Debian's fonts-hosny-amiri).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

OUT = Path(__file__).resolve().parent.parent / "docarchive" / "templates" / "builtin"
FONT = "Amiri"
WIDTH_MM = 170  # A4 less 20 mm margins


def _el(tag: str, **attrs: str) -> Any:
    el = OxmlElement(tag)
    for key, value in attrs.items():
        el.set(qn(f"w:{key}"), value)
    return el


class Builder:
    """A document in one language: Arabic (right to left) or English."""

    def __init__(self, arabic: bool = True) -> None:
        self.arabic = arabic
        self.doc = Document()
        section = self.doc.sections[0]
        section.page_width, section.page_height = Mm(210), Mm(297)
        section.left_margin = section.right_margin = Mm(20)
        section.top_margin, section.bottom_margin = Mm(15), Mm(15)
        section.header_distance = section.footer_distance = Mm(8)
        if arabic:
            section._sectPr.append(_el("w:bidi"))
        self._defaults()

    def _defaults(self) -> None:
        """Normal style: Amiri 13 pt, Arabic (or English) language, tight spacing."""
        style = self.doc.styles["Normal"]
        style.font.name = FONT
        style.font.size = Pt(13)
        rpr = style.element.get_or_add_rPr()
        fonts = rpr.find(qn("w:rFonts"))
        for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
            fonts.set(qn(attr), FONT)
        rpr.append(_el("w:szCs", val="26"))
        rpr.append(_el("w:lang", val="ar-IQ" if self.arabic else "en-GB", bidi="ar-IQ"))
        fmt = style.paragraph_format
        fmt.space_before, fmt.space_after = Pt(0), Pt(4)
        fmt.line_spacing = 1.0
        if self.arabic:
            style.element.get_or_add_pPr().insert(0, _el("w:bidi"))

    # -- paragraphs and runs ------------------------------------------------------------------

    def run(self, p: Paragraph, text: str, size: float, bold: bool = False, **kw: Any) -> None:
        run = p.add_run(text)
        run.font.size = Pt(size)
        run.font.bold = bold
        run.font.underline = kw.get("underline", False)
        rpr = run._r.get_or_add_rPr()
        fonts = rpr.find(qn("w:rFonts"))
        if fonts is None:
            fonts = _el("w:rFonts")
            rpr.insert(0, fonts)
        for attr in ("w:ascii", "w:hAnsi", "w:cs"):
            fonts.set(qn(attr), FONT)
        if bold:
            rpr.append(_el("w:bCs"))
        rpr.append(_el("w:szCs", val=str(int(size * 2))))
        if self.arabic:
            rpr.append(_el("w:rtl"))
            rpr.append(_el("w:lang", val="ar-IQ", bidi="ar-IQ"))
        else:
            rpr.append(_el("w:lang", val="en-GB"))

    def para(
        self,
        text: str,
        size: float = 13,
        bold: bool = False,
        *,
        center: bool = False,
        end: bool = False,
        after: float = 4,
        before: float = 0,
        indent_mm: float = 0,
        hanging_mm: float = 0,
        underline: bool = False,
        into: _Cell | None = None,
        keep: bool = False,
    ) -> Paragraph:
        """A paragraph; Arabic ones are bidi and start-aligned unless centred."""
        if into is not None:  # a new cell has one bare paragraph: use it first
            first = into.paragraphs[0]
            fresh = len(into.paragraphs) == 1 and first._p.pPr is None and not first.runs
            p = first if fresh else into.add_paragraph()
        else:
            p = self.doc.add_paragraph()
        if self.arabic:
            p._p.get_or_add_pPr().insert(0, _el("w:bidi"))
        if center:
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        elif end and not self.arabic:
            p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        fmt = p.paragraph_format
        fmt.space_after, fmt.space_before = Pt(after), Pt(before)
        if indent_mm:
            fmt.first_line_indent = Mm(indent_mm)
        if hanging_mm:
            # start indent and a hanging first line: "أولاً:" stands out, the text aligns
            fmt.first_line_indent = Mm(-hanging_mm)
            ind = p._p.get_or_add_pPr().get_or_add_ind()
            ind.set(qn("w:start" if self.arabic else "w:left"), str(int(hanging_mm * 56.7)))
        if keep:
            fmt.keep_with_next = True
        if text:
            self.run(p, text, size, bold, underline=underline)
        return p

    def tag(self, text: str, into: _Cell | None = None) -> None:
        """A paragraph holding only a docxtpl paragraph tag ({%p ... %}); it is removed."""
        self.para(text, 6, after=0, into=into)

    def rule(self) -> None:
        """A thin line under the letterhead (a paragraph's bottom border)."""
        p = self.para("", 4, after=10)
        pbdr = _el("w:pBdr")
        pbdr.append(_el("w:bottom", val="double", sz="6", space="1", color="1F3864"))
        p._p.get_or_add_pPr().append(pbdr)

    # -- tables -------------------------------------------------------------------------------

    def table(self, rows: int, widths_mm: list[float], *, borders: bool) -> Table:
        table = self.doc.add_table(rows=rows, cols=len(widths_mm))
        table.autofit = False
        if borders:
            table.style = self.doc.styles["Table Grid"]
        tblpr = table._tbl.tblPr
        if self.arabic:
            tblpr.append(_el("w:bidiVisual"))
        tblpr.append(_el("w:tblLayout", type="fixed"))
        if borders:
            cellmar = _el("w:tblCellMar")
            for side in ("top", "bottom"):
                cellmar.append(_el(f"w:{side}", w="40", type="dxa"))
            for side in ("start", "end", "left", "right"):
                cellmar.append(_el(f"w:{side}", w="90", type="dxa"))
            tblpr.append(cellmar)
        for row in table.rows:
            for cell, width in zip(row.cells, widths_mm, strict=True):
                cell.width = Mm(width)
                cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
        grid = table._tbl.tblGrid
        for col, width in zip(grid.findall(qn("w:gridCol")), widths_mm, strict=True):
            col.set(qn("w:w"), str(int(width * 56.7)))
        return table

    @staticmethod
    def shade(cell: _Cell, fill: str = "D9E2F3") -> None:
        cell._tc.get_or_add_tcPr().append(_el("w:shd", val="clear", color="auto", fill=fill))

    @staticmethod
    def header_row(table: Table) -> None:
        trpr = table.rows[0]._tr.get_or_add_trPr()
        trpr.append(_el("w:tblHeader"))

    # -- the parts every template has ---------------------------------------------------------

    def letterhead(self) -> None:
        """Ministry and office | logo | number and date; a rule below."""
        t = self.table(1, [66, 38, 66], borders=False)
        right, middle, left = t.rows[0].cells
        if self.arabic:
            self.tag("{%p for line in ministry|lines %}", into=right)
            self.para("{{ line }}", 14, True, center=True, after=0, into=right)
            self.tag("{%p endfor %}", into=right)
            self.para("{{ office }}", 13, True, center=True, after=0, into=right)
            self.para("العدد: {{ number }}", 12, True, after=2, into=left)
            self.para("التاريخ: {{ date }}", 12, True, after=2, into=left)
            self.para("الموافق: {{ date|hijri }}", 12, True, after=0, into=left)
        else:
            self.tag("{%p for line in ministry|lines %}", into=right)
            self.para("{{ line }}", 12, True, after=0, into=right)
            self.tag("{%p endfor %}", into=right)
            self.para("{{ office }}", 12, True, after=0, into=right)
            self.para("Ref.: {{ number }}", 11, True, end=True, after=2, into=left)
            self.para("Date: {{ date|date('%d %B %Y') }}", 11, True, end=True, after=0, into=left)
        self.para(
            "{% if logo is defined and logo %}{{ logo }}{% endif %}",
            10,
            center=True,
            after=0,
            into=middle,
        )
        self.rule()

    def subject(self, size: float = 14) -> None:
        if self.arabic:
            self.para("م/ {{ subject }}", size, True, center=True, after=10, underline=True)
        else:
            self.para("Subject: {{ subject }}", 12, True, after=10, before=6)

    def body(self, var: str = "body", indent: bool = True) -> None:
        self.tag(f"{{%p for paragraph in {var} %}}")
        self.para(
            "{{ paragraph }}",
            13 if self.arabic else 11.5,
            after=6,
            indent_mm=10 if indent and self.arabic else 0,
        )
        self.tag("{%p endfor %}")

    def signatory(self, closing: str) -> None:
        """The closing line, then name and title: on the left in Arabic, the start in English."""
        if closing:
            self.para(closing, 13 if self.arabic else 11.5, after=14, before=6, keep=True)
        else:
            self.para("", 6, after=14)
        if self.arabic:
            t = self.table(1, [90, 80], borders=False)
            cell = t.rows[0].cells[1]  # bidiVisual: the second column is on the left
            center = True
        else:
            t = self.table(1, [80, 90], borders=False)
            cell = t.rows[0].cells[0]
            center = False
        self.para(
            "{% if signature is defined and signature %}{{ signature }}{% endif %}",
            10,
            center=center,
            after=0,
            into=cell,
        )
        size = 13 if self.arabic else 11.5
        self.para("{{ signatory.name }}", size, True, center=center, after=0, into=cell)
        self.para("{{ signatory.title }}", size, center=center, after=0, into=cell)

    def copies(self) -> None:
        self.tag("{%p if copies is defined and copies %}")
        label = "نسخة منه إلى:" if self.arabic else "Copies to:"
        size = 11 if self.arabic else 10
        self.para(label, size, True, after=0, before=14, underline=True, keep=True)
        self.tag("{%p for c in copies %}")
        self.para("- {{ c }}" if self.arabic else "– {{ c }}", size, after=0, keep=True)
        self.tag("{%p endfor %}")
        self.tag("{%p endif %}")

    def footer(self, text: str) -> None:
        """A footer: ``text`` (Jinja works in footers too) and the page number."""
        section = self.doc.sections[0]
        p = section.footer.paragraphs[0]
        if self.arabic:
            p._p.get_or_add_pPr().insert(0, _el("w:bidi"))
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        self.run(p, f"{text} — {'صفحة' if self.arabic else 'page'} ", 9)
        field = _el("w:fldSimple", instr="PAGE")
        p._p.append(field)
        self.run(p, "1", 9)
        field.append(p.runs[-1]._r)

    def save(self, kind: str) -> Path:
        OUT.mkdir(parents=True, exist_ok=True)
        path = OUT / f"{kind}.docx"
        props = self.doc.core_properties
        props.author, props.title, props.comments = "docarchive", kind, ""
        self.doc.save(str(path))
        return path


# -- the four templates ---------------------------------------------------------------------


def circular() -> Path:
    b = Builder()
    b.letterhead()
    b.para("تعميم", 18, True, center=True, after=8)
    b.para("إلى/", 13, True, after=0)
    b.tag("{%p for r in recipients %}")
    b.para("{{ r }}", 13, True, after=0, indent_mm=8)
    b.tag("{%p endfor %}")
    b.para("", 6, after=4)
    b.subject()
    b.para("تحية طيبة...", 13, after=6)
    b.body()
    b.tag("{%p if references is defined and references %}")
    b.para("المراجع:", 12, True, after=0, before=4)
    b.tag("{%p for ref in references %}")
    b.para("- {{ ref.title }} ({{ ref.number }}) في {{ ref.date|date }}", 12, after=0)
    b.tag("{%p endfor %}")
    b.tag("{%p endif %}")
    b.signatory("مع التقدير.")
    b.copies()
    b.footer("{{ office }}")
    return b.save("circular")


def decision() -> Path:
    b = Builder()
    b.letterhead()
    b.para("قرار وزاري", 18, True, center=True, after=6)
    b.subject()
    b.para("{{ preamble }}", 13, after=8, indent_mm=10)
    b.tag("{%p for a in articles %}")
    b.para("{{ a|article(loop.index) }}", 13, after=6)
    b.tag("{%p endfor %}")
    b.tag("{%p if members is defined and members %}")
    b.para("أعضاء اللجنة:", 13, True, after=4, before=4, keep=True)
    t = b.table(4, [12, 58, 34, 66], borders=True)
    b.header_row(t)
    for cell, text in zip(t.rows[0].cells, ("ت", "الاسم", "الصفة", "الجهة"), strict=True):
        b.shade(cell)
        b.para(text, 12, True, center=True, after=0, into=cell)
    b.para("{%tr for m in members %}", 6, after=0, into=t.rows[1].cells[0])
    row = t.rows[2].cells
    b.para("{{ loop.index }}", 12, center=True, after=0, into=row[0])
    b.para("{{ m.name }}", 12, after=0, into=row[1])
    b.para("{{ m.role }}", 12, center=True, after=0, into=row[2])
    b.para("{{ m.department }}", 12, after=0, into=row[3])
    b.para("{%tr endfor %}", 6, after=0, into=t.rows[3].cells[0])
    b.tag("{%p endif %}")
    b.signatory("")
    b.copies()
    b.footer("{{ office }}")
    return b.save("decision")


def assignment() -> Path:
    b = Builder()
    b.letterhead()
    b.para("كتاب إحالة", 17, True, center=True, after=6)
    b.para("إلى/ {{ contractor.name }}", 13, True, after=0)
    b.tag("{%p if contractor.address is defined %}")
    b.para("{{ contractor.address }}", 12, after=0, indent_mm=8)
    b.tag("{%p endif %}")
    b.para("", 6, after=4)
    b.subject()
    b.para("تحية طيبة...", 13, after=6)
    b.para(
        "إشارة إلى المناقصة العامة المرقمة ({{ tender.number }}) الخاصة بـ{{ tender.title }}"
        " والمعلن عنها بتاريخ {{ tender.announced|date }}، نود إعلامكم بما يأتي:",
        13,
        after=6,
        indent_mm=10,
    )
    b.body()
    currency = "{{ currency|default('دينار عراقي') }}"
    t = b.table(5, [11, 69, 18, 36, 36], borders=True)
    b.header_row(t)
    heads = ("ت", "المادة", "الكمية", f"سعر الوحدة ({currency})", f"المبلغ ({currency})")
    for cell, text in zip(t.rows[0].cells, heads, strict=True):
        b.shade(cell)
        b.para(text, 11.5, True, center=True, after=0, into=cell)
    b.para("{%tr for i in items %}", 6, after=0, into=t.rows[1].cells[0])
    row = t.rows[2].cells
    b.para("{{ i.no|default(loop.index) }}", 12, center=True, after=0, into=row[0])
    b.para("{{ i.description }}", 12, after=0, into=row[1])
    b.para("{{ i.quantity|amount }}", 12, center=True, after=0, into=row[2])
    b.para("{{ i.unit_price|amount }}", 12, center=True, after=0, into=row[3])
    b.para(
        "{{ (i.total if i.total is defined else i.quantity * i.unit_price)|amount }}",
        12,
        center=True,
        after=0,
        into=row[4],
    )
    b.para("{%tr endfor %}", 6, after=0, into=t.rows[3].cells[0])
    total = t.rows[4].cells
    label = total[0].merge(total[3])
    b.shade(label, "F2F2F2")
    b.shade(total[4], "F2F2F2")
    b.para("المجموع الكلي", 12, True, center=True, after=0, into=label)
    b.para("{{ total_amount|amount }}", 12, True, center=True, after=0, into=total[4])
    b.para(
        "المبلغ كتابةً: {{ total_in_words|default("
        "(total_amount|amount_words(currency|default('دينار عراقي'))) ~ ' لا غير') }}",
        13,
        True,
        after=4,
        before=6,
    )
    b.para("مدة التنفيذ: {{ duration_days|days }} تبدأ من تاريخ توقيع العقد.", 13, True, after=6)
    b.signatory("مع التقدير.")
    b.copies()
    b.footer("{{ office }}")
    return b.save("assignment")


def letter_en() -> Path:
    b = Builder(arabic=False)
    b.letterhead()
    b.para("To: {{ recipient.name }}", 11.5, True, after=0)
    b.tag("{%p if recipient.organisation is defined %}")
    b.para("{{ recipient.organisation }}", 11.5, after=0)
    b.tag("{%p endif %}")
    b.subject()
    b.para("{{ greeting|default('Dear Sir or Madam,') }}", 11.5, after=6)
    b.body(indent=False)
    b.signatory("{{ closing|default('Yours faithfully,') }}")
    b.copies()
    b.footer("{{ office }}")
    return b.save("letter_en")


def report_overdue() -> Path:
    """The follow-up reports (overdue business, a department's open items, the incoming
    register): a title, then one six-column table per department (``groups``), each row
    a ``cells`` list under the six ``headers``; see docarchive.followup.report_context."""
    b = Builder()
    b.letterhead()
    b.para("{{ title }}", 16, True, center=True, after=2)
    b.para("{{ subtitle }}", 13, True, center=True, after=8)
    widths = [9, 60, 22, 22, 17, 40]
    b.tag("{%p for g in groups %}")
    b.tag("{%p if g.name %}")
    b.para("{{ g.name }}", 13, True, after=2, before=6, underline=True, keep=True)
    b.tag("{%p endif %}")
    t = b.table(4, widths, borders=True)
    b.header_row(t)
    for i, cell in enumerate(t.rows[0].cells):
        b.shade(cell)
        b.para(f"{{{{ headers[{i}] }}}}", 10.5, True, center=True, after=0, into=cell)
    b.para("{%tr for r in g.rows %}", 6, after=0, into=t.rows[1].cells[0])
    for i, cell in enumerate(t.rows[2].cells):
        b.para(f"{{{{ r.cells[{i}] }}}}", 10.5, center=i != 1, after=0, into=cell)
    b.para("{%tr endfor %}", 6, after=0, into=t.rows[3].cells[0])
    b.tag("{%p endfor %}")
    b.para("المجموع: {{ total }}", 13, True, after=4, before=8)
    b.footer("{{ office }}")
    return b.save("report_overdue")


BUILDERS: dict[str, Callable[[], Path]] = {
    "circular": circular,
    "decision": decision,
    "assignment": assignment,
    "letter_en": letter_en,
    "report_overdue": report_overdue,
}

if __name__ == "__main__":
    for build in BUILDERS.values():
        print(f"wrote {build()}")
