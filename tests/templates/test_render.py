"""Rendering DOCX templates: the built-in ones, user templates, the sandbox, broken input."""

from __future__ import annotations

import io
import os
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from docx.oxml.ns import qn
from tplhelpers import (
    KINDS,
    all_paragraphs,
    all_texts,
    example,
    png,
    render_kind,
    user_template,
)

from docarchive import Limits, MissingFieldError, TemplateError
from docarchive.templates import builtin_templates, docx_text, render_docx, template_fields

W_RTL = qn("w:rtl")


# -- the built-in templates -------------------------------------------------------------------


def test_the_four_kinds_are_built_in():
    assert set(KINDS) <= set(builtin_templates())


@pytest.mark.parametrize("kind", KINDS)
def test_builtin_renders_every_placeholder(kind: str):
    data = render_kind(kind)
    doc = Document(io.BytesIO(data))
    texts = [p.text for p in all_paragraphs(doc)]
    footer = doc.sections[0].footer.paragraphs[0].text
    everything = "\n".join([*texts, footer])
    assert "{{" not in everything and "{%" not in everything and "}}" not in everything
    source = example(kind)
    assert source["subject"] in everything
    assert source["number"] in everything
    assert source["signatory"]["name"] in texts and source["signatory"]["title"] in texts
    for copy in source["copies"]:
        assert any(copy in t for t in texts), copy
    assert source["office"] in footer


@pytest.mark.parametrize("kind", ["circular", "decision", "assignment"])
def test_arabic_builtins_are_right_to_left(kind: str):
    doc = Document(io.BytesIO(render_kind(kind)))
    assert doc.sections[0]._sectPr.find(qn("w:bidi")) is not None
    checked = 0
    for paragraph in all_paragraphs(doc):
        if not paragraph.text.strip():
            continue
        ppr = paragraph._p.pPr
        assert ppr is not None and ppr.find(qn("w:bidi")) is not None, paragraph.text
        # jc=right would render left-aligned in LibreOffice's bidi paragraphs
        jc = ppr.find(qn("w:jc"))
        assert jc is None or jc.get(qn("w:val")) == "center", paragraph.text
        for run in paragraph.runs:
            rpr = run._r.rPr
            assert rpr.find(W_RTL) is not None, run.text
            assert rpr.find(qn("w:rFonts")).get(qn("w:cs")) == "Amiri"
            assert rpr.find(qn("w:szCs")) is not None
            assert rpr.find(qn("w:lang")).get(qn("w:bidi")) == "ar-IQ"
            checked += 1
    assert checked > 20
    for table in doc.tables:
        assert table._tbl.tblPr.find(qn("w:bidiVisual")) is not None


def test_the_english_letter_is_left_to_right():
    doc = Document(io.BytesIO(render_kind("letter_en")))
    assert doc.sections[0]._sectPr.find(qn("w:bidi")) is None
    for paragraph in all_paragraphs(doc):
        ppr = paragraph._p.pPr
        assert ppr is None or ppr.find(qn("w:bidi")) is None, paragraph.text
        for run in paragraph.runs:
            assert run._r.rPr.find(W_RTL) is None
    texts = all_texts(render_kind("letter_en"))
    assert "Date: 22 November 2026" in texts
    assert "Dear Sir or Madam," in texts and "Yours faithfully," in texts
    assert f"Subject: {example('letter_en')['subject']}" in texts


def test_letterhead_has_number_date_and_hijri_date():
    texts = all_texts(render_kind("circular"))
    assert "العدد: م.و/ت/7/2026" in texts
    assert "التاريخ: 2026/11/22" in texts
    assert "الموافق: ١٤٤٨/٠٦/١٢ هـ" in texts
    # "جمهورية العراق — وزارة التخطيط" is two letterhead lines
    assert "جمهورية العراق" in texts and "وزارة التخطيط" in texts


def test_circular_layout(circular_data: dict[str, Any]):
    texts = all_texts(render_kind("circular", **circular_data))
    assert f"م/ {circular_data['subject']}" in texts
    body = [texts.index(b) for b in circular_data["body"]]
    assert body == sorted(body)
    assert "- كتاب مكتب الوزير (٣٤١٢/م.و) في 2026/09/14" in texts


def test_decision_articles_and_members_table():
    data = example("decision")
    doc = Document(io.BytesIO(render_kind("decision")))
    texts = [p.text for p in all_paragraphs(doc)]
    assert data["preamble"] in texts
    assert [t for t in texts if t in data["articles"]] == data["articles"]
    (members,) = [t for t in doc.tables if t.rows[0].cells[0].text == "ت"]
    rows = [[c.text for c in row.cells] for row in members.rows]
    assert rows[0] == ["ت", "الاسم", "الصفة", "الجهة"]
    assert rows[1:] == [
        [str(i), m["name"], m["role"], m["department"]]
        for i, m in enumerate(data["members"], start=1)
    ]
    assert members.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None  # repeats on page 2


def test_decision_numbers_unnumbered_articles_and_drops_an_empty_members_table():
    articles = ["تشكيل لجنة.", "يُنفذ هذا القرار من تاريخ صدوره."]
    doc = Document(io.BytesIO(render_kind("decision", articles=articles, members=[])))
    texts = [p.text for p in all_paragraphs(doc)]
    assert "أولاً: تشكيل لجنة." in texts and "ثانياً: يُنفذ هذا القرار من تاريخ صدوره." in texts
    assert "أعضاء اللجنة:" not in texts
    assert not any(t.rows[0].cells[0].text == "ت" for t in doc.tables)


def test_assignment_amounts_words_and_duration():
    data = example("assignment")
    doc = Document(io.BytesIO(render_kind("assignment")))
    texts = [p.text for p in all_paragraphs(doc)]
    (items,) = [t for t in doc.tables if t.rows[0].cells[0].text == "ت"]
    rows = [[c.text for c in row.cells] for row in items.rows]
    assert rows[1] == ["1", data["items"][0]["description"], "640", "215,000", "137,600,000"]
    assert rows[-1][-1] == "387,500,000" and rows[-1][0] == "المجموع الكلي"
    assert len(rows) == len(data["items"]) + 2
    words = "ثلاثمائة وسبعة وثمانون مليوناً وخمسمائة ألف دينار عراقي لا غير"
    assert f"المبلغ كتابةً: {words}" in texts
    assert "مدة التنفيذ: ١٢٠ يوماً تبدأ من تاريخ توقيع العقد." in texts
    assert "إشارة إلى المناقصة العامة المرقمة (23/2026)" in "\n".join(texts)
    assert "والمعلن عنها بتاريخ 2026/05/04" in "\n".join(texts)


def test_assignment_computes_line_totals_and_takes_given_words():
    items = [{"description": "ورق طباعة", "quantity": 300, "unit_price": 7500}]
    out = render_kind(
        "assignment", items=items, total_amount=2250000, total_in_words="كما هو", currency="IQD"
    )
    doc = Document(io.BytesIO(out))
    (table,) = [t for t in doc.tables if t.rows[0].cells[0].text == "ت"]
    assert [c.text for c in table.rows[1].cells] == ["1", "ورق طباعة", "300", "7,500", "2,250,000"]
    assert table.rows[0].cells[4].text == "المبلغ (IQD)"
    assert "المبلغ كتابةً: كما هو" in [p.text for p in all_paragraphs(doc)]


def test_logo_and_signature_images(tmp_path: Path):
    (tmp_path / "logo.png").write_bytes(png())
    data = example("circular")
    out = render_docx(
        builtin_templates()["circular"],
        {**data, "logo": "logo.png", "signature": {"image": png(30, 10), "width_mm": 35}},
        Limits(),
        image_dir=tmp_path,
    )
    doc = Document(io.BytesIO(out))
    shapes = doc.inline_shapes
    assert len(shapes) == 2
    assert round(shapes[0].height.mm) == 22 and round(shapes[1].width.mm) == 35
    without = Document(io.BytesIO(render_kind("circular")))
    assert len(without.inline_shapes) == 0


def test_missing_field_is_named():
    data = {k: v for k, v in example("circular").items() if k != "body"}
    with pytest.raises(MissingFieldError, match="template 'circular.docx' needs the field 'body'"):
        render_docx(builtin_templates()["circular"], data, Limits())


def test_missing_attribute_is_named_with_its_path():
    data = example("assignment")
    data["tender"] = {"number": "1/2026", "title": "x"}
    with pytest.raises(MissingFieldError, match="needs the field 'tender.announced'"):
        render_docx(builtin_templates()["assignment"], data, Limits())


def test_missing_field_inside_a_loop_is_named():
    data = example("decision")
    data["members"] = [{"name": "علي", "role": "عضواً"}]
    with pytest.raises(MissingFieldError, match="needs the field 'department'"):
        render_docx(builtin_templates()["decision"], data, Limits())


def test_copies_and_references_are_optional(circular_data: dict[str, Any]):
    lean = {k: v for k, v in example("circular").items() if k not in ("copies", "references")}
    text = docx_text(render_docx(builtin_templates()["circular"], lean, Limits()))
    assert "نسخة منه إلى" not in text and "المراجع" not in text
    text = docx_text(render_kind("circular", copies=[], references=[]))
    assert "نسخة منه إلى" not in text and "المراجع" not in text
    text = docx_text(render_kind("circular", **circular_data))
    assert "نسخة منه إلى" in text and "الإضبارة العامة" in text


@pytest.mark.parametrize(
    ("kind", "needs"),
    [
        ("circular", {"body", "recipients", "signatory.name", "signatory.title", "subject"}),
        ("letter_en", {"body", "recipient.name", "signatory.name", "signatory.title", "subject"}),
    ],
)
def test_builtin_fields(kind: str, needs: set[str]):
    fields = template_fields(builtin_templates()[kind])
    assert set(fields.needs) - {"date", "ministry", "number", "office"} == needs
    assert {"copies", "logo", "signature"} <= set(fields.optional)


# -- user templates ---------------------------------------------------------------------------


def test_user_template_fields_required_optional_and_paths(tmp_path: Path):
    path = user_template(
        tmp_path,
        "{{ to.name }} {{ to.office|default('') }}",
        "{% if cc is defined %}{{ cc }}{% endif %}",
        "{{ note|default('') }} {{ items.items() }}",
        "{% for r in rows %}{{ r.x }}{% endfor %}",
        "{{ title if title is defined else 'untitled' }}",
        "{% if to.office is defined %}{{ to.office.name }}{% endif %}",
        "{{ rows[0].x }} {{ cc is defined and cc.y }}",
    )
    fields = template_fields(path)
    assert fields.required == ("items", "rows", "to")
    assert fields.optional == ("cc", "note", "title")
    assert fields.paths == ("to.name",)
    assert fields.needs == ("items", "rows", "to.name")


def test_user_template_with_loops_conditionals_and_split_runs(tmp_path: Path):
    path = user_template(
        tmp_path,
        ["إلى/ {{ t", "o }}"],  # Word split the placeholder across two runs
        ["{", "{ subject }", "}"],
        "{% for x in items %}{{ x }}، {% endfor %}",
        "{% if urgent %}عاجل{% else %}اعتيادي{% endif %}",
    )
    data = {"to": "قسم العقود", "subject": "م/ عقد", "items": ["أ", "ب"], "urgent": True}
    text = docx_text(render_docx(path, data, Limits()))
    assert "إلى/ قسم العقود" in text and "م/ عقد" in text
    assert "أ، ب،" in text and "عاجل" in text


def test_user_template_with_a_table_row_loop(tmp_path: Path):
    doc = Document()
    table = doc.add_table(rows=4, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "الاسم", "المبلغ"
    table.rows[1].cells[0].text = "{%tr for r in rows %}"
    table.rows[2].cells[0].text, table.rows[2].cells[1].text = "{{ r.name }}", "{{ r.n|amount }}"
    table.rows[3].cells[0].text = "{%tr endfor %}"
    path = tmp_path / "table.docx"
    doc.save(str(path))
    rows = [{"name": "علي", "n": 1500000}, {"name": "زينب", "n": 75}]
    out = Document(io.BytesIO(render_docx(path, {"rows": rows}, Limits())))
    cells = [[c.text for c in row.cells] for row in out.tables[0].rows]
    assert cells == [["الاسم", "المبلغ"], ["علي", "1,500,000"], ["زينب", "75"]]


def test_user_template_headers_footers_and_images(tmp_path: Path):
    path = user_template(
        tmp_path,
        "{{ body }}",
        "{{ signature }}",
        header="{{ logo }} {{ office }}",
        footer="{{ office }} — {{ date|hijri('long') }}",
    )
    (tmp_path / "seal.png").write_bytes(png(40, 40))
    data = {
        "body": "نص الكتاب",
        "office": "مكتب الوزير",
        "date": "2026-11-22",
        "logo": tmp_path / "seal.png",
        "signature": {"image": "seal.png", "height_mm": 15},
    }
    out = render_docx(path, data, Limits(), image_dir=tmp_path)
    doc = Document(io.BytesIO(out))
    section = doc.sections[0]
    assert "مكتب الوزير" in section.header.paragraphs[0].text
    assert section.footer.paragraphs[0].text == "مكتب الوزير — ١٢ جمادى الآخرة ١٤٤٨ هـ"
    assert len(doc.inline_shapes) == 1  # the signature in the body
    header_xml = section.header._element.xml
    assert "<pic:pic" in header_xml  # the logo in the header
    with zipfile.ZipFile(io.BytesIO(out)) as zf:
        assert any(n.startswith("word/media/") for n in zf.namelist())


def test_image_errors_are_one_line(tmp_path: Path):
    path = user_template(tmp_path, "{{ logo }}")
    with pytest.raises(TemplateError, match=r"user.docx: logo: an image must be the name of"):
        render_docx(path, {"logo": "nowhere.png"}, Limits(), image_dir=tmp_path)
    (tmp_path / "fake.png").write_bytes(b"not an image at all")
    with pytest.raises(TemplateError, match="logo: not an image Word can show"):
        render_docx(path, {"logo": "fake.png"}, Limits(), image_dir=tmp_path)
    with pytest.raises(TemplateError, match=r"logo: refused: scan_pixels is 96"):
        render_docx(path, {"logo": png()}, Limits(scan_pixels=50))


def test_a_changed_template_file_is_read_again(tmp_path: Path):
    path = user_template(tmp_path, "first {{ x }}")
    assert "first 1" in docx_text(render_docx(path, {"x": 1}, Limits()))
    other = user_template(tmp_path, "second {{ x }}", name="other.docx")
    path.write_bytes(other.read_bytes())
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert "second 1" in docx_text(render_docx(path, {"x": 1}, Limits()))


def test_data_with_markup_characters_is_escaped(tmp_path: Path):
    path = user_template(tmp_path, "{{ x }}")
    text = docx_text(render_docx(path, {"x": "<w:p> & </w:body> \"'"}, Limits()))
    assert text == "<w:p> & </w:body> \"'"


def test_a_filter_refusing_a_value_names_the_template(tmp_path: Path):
    path = user_template(tmp_path, "{{ x|amount }}")
    with pytest.raises(TemplateError, match=r"user.docx: filter amount: not a number: 'abc'"):
        render_docx(path, {"x": "abc"}, Limits())


def test_templates_as_bytes(tmp_path: Path):
    data = user_template(tmp_path, "{{ x }}").read_bytes()
    assert docx_text(render_docx(data, {"x": "نص"}, Limits())) == "نص"
    with pytest.raises(MissingFieldError, match="'letter.docx' needs the field 'x'"):
        render_docx(data, {}, Limits(), name="letter.docx")


# -- the sandbox and limits -------------------------------------------------------------------


@pytest.mark.parametrize(
    "attack",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{{ name.__class__.__base__.__subclasses__() }}",
        "{{ lipsum.__globals__['os'].listdir('/') }}",
        "{{ items.append(1) }}",
        "{{ 'x' * 1000000000 }}",
        "{{ [name] * 100000000 }}",
        "{{ 2 ** 10000000 }}",
        "{{ '%999999999d' % 1 }}",
        "{{ '{:>999999999}'.format(1) }}",
        "{{ 'x'.ljust(1000000000) }}",
        "{{ 'x'|center(1000000000) }}",
    ],
)
def test_templates_render_in_a_sandbox(tmp_path: Path, attack: str):
    path = user_template(tmp_path, "الاسم: {{ name }}", attack)
    started = time.perf_counter()
    with pytest.raises(TemplateError, match="user.docx: refused by the template sandbox"):
        render_docx(path, {"name": "علي", "items": []}, Limits())
    assert time.perf_counter() - started < 5


def test_rendered_output_is_capped(tmp_path: Path):
    path = user_template(tmp_path, "{% for i in range(100000) %}{{ text }}{% endfor %}")
    with pytest.raises(TemplateError, match=r"user.docx: refused: docx_member_bytes is \d+"):
        render_docx(path, {"text": "نص طويل " * 10}, Limits(docx_member_bytes=500_000))


def test_five_thousand_table_rows_render():
    data = example("assignment")
    data["items"] = [
        {"no": i, "description": f"مادة رقم {i}", "quantity": i, "unit_price": 1000}
        for i in range(1, 5001)
    ]
    data["total_amount"] = sum(i * 1000 for i in range(1, 5001))
    started = time.perf_counter()
    out = render_docx(builtin_templates()["assignment"], data, Limits())
    assert time.perf_counter() - started < 60
    doc = Document(io.BytesIO(out))
    (table,) = [t for t in doc.tables if t.rows[0].cells[0].text == "ت"]
    assert len(table.rows) == 5002
    assert [c.text for c in table.rows[5000].cells][-1] == "5,000,000"
    assert table.rows[-1].cells[-1].text == "12,502,500,000"


def test_broken_templates_get_one_line(tmp_path: Path):
    not_zip = tmp_path / "not_zip.docx"
    not_zip.write_bytes(b"this is plain text")
    with pytest.raises(TemplateError, match=r"not_zip.docx: not a .docx file \(not a zip"):
        render_docx(not_zip, {}, Limits())
    truncated = tmp_path / "truncated.docx"
    truncated.write_bytes(user_template(tmp_path, "x").read_bytes()[:500])
    with pytest.raises(TemplateError, match="truncated.docx: broken .docx file"):
        render_docx(truncated, {}, Limits())
    other_zip = tmp_path / "other.docx"
    with zipfile.ZipFile(other_zip, "w") as zf:
        zf.writestr("hello.txt", "hi")
    with pytest.raises(TemplateError, match="no word/document.xml"):
        render_docx(other_zip, {}, Limits())
    bad_xml = tmp_path / "bad_xml.docx"
    with zipfile.ZipFile(bad_xml, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<<< not xml")
    with pytest.raises(TemplateError, match="bad_xml.docx: cannot read the template"):
        render_docx(bad_xml, {}, Limits())
    bad_syntax = user_template(tmp_path, "{{ name ", name="syntax.docx")
    with pytest.raises(TemplateError, match="syntax.docx: template syntax error"):
        render_docx(bad_syntax, {}, Limits())
    with pytest.raises(TemplateError, match="cannot read the template: No such file"):
        render_docx(tmp_path / "absent.docx", {}, Limits())


def test_zip_bombs_are_refused(tmp_path: Path):
    bomb = tmp_path / "bomb.docx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("word/document.xml", "<w:document/>")
        zf.writestr("word/media/zeros.bin", b"\0" * (5 * 1024 * 1024))
    assert bomb.stat().st_size < 20_000
    with pytest.raises(TemplateError, match="docx_member_bytes is .* over the limit"):
        render_docx(bomb, {}, Limits(docx_member_bytes=1024 * 1024))
    with pytest.raises(TemplateError, match="docx_total_bytes is .* over the limit"):
        render_docx(bomb, {}, Limits(docx_total_bytes=2 * 1024 * 1024))
    many = tmp_path / "many.docx"
    with zipfile.ZipFile(many, "w") as zf:
        zf.writestr("word/document.xml", "<w:document/>")
        for i in range(60):
            zf.writestr(f"word/m{i}.xml", "")
    with pytest.raises(TemplateError, match="docx_members is 61, over the limit of 50"):
        render_docx(many, {}, Limits(docx_members=50))
    with pytest.raises(TemplateError, match="input_bytes is .* over the limit of 1000"):
        render_docx(bomb, {}, Limits(input_bytes=1000))
